//! Stock Loongson-3 Linux booted by the firmware through LEFI.
//!
//! Both of Debian's Loongson-3 kernels (the release's 6.1 and the
//! backports' 6.12, which relocates itself at random) with an initramfs
//! from fw_cfg at every memory size from 512 MiB to 4 GiB; from a BLS entry
//! on a virtio-blk disk; under `-smp 3`; the memory Linux is given against
//! QEMU's own `-kernel` boot at every size from 512 MiB to 4 GiB; and the
//! bad initrds and command lines the firmware must refuse with a message of
//! its own instead of handing Linux something it would crash on.
//!
//! The kernels and initramfs are `cargo xtask fetch-linux`'s fixture, found
//! through `TIANSHAN_LINUX` (a directory with `vmlinuz`,
//! `vmlinuz-backports` and `initramfs.cpio.gz`), which `cargo xtask test` sets when the fixture
//! exists; without it, it runs these tests not at all (`--skip linux_`),
//! so every test here is named `linux_*`. The initramfs's `/init` prints
//! [`INIT_MARKER`], `cpus: N`, the `MemTotal` line of `/proc/meminfo` and
//! `cmdline: <contents of /proc/cmdline>`, then runs `poweroff -f`.
//!
//! Linux takes 3-5 s of host time to reach `/init` under TCG when QEMU has
//! the host to itself; several run at once here, so each wait allows
//! [`LINUX_DEADLINE`].

use std::path::PathBuf;
use std::time::Duration;
use tianshan_qemu_tests::disk::mbr_fat16;
use tianshan_qemu_tests::{Machine, MachineConfig, image_dir, scratch_file};
use tianshan_ymodem::send::{self, SendOptions};

/// What `/init` prints first: Linux reached userspace from our initramfs.
const INIT_MARKER: &str = "TIANSHAN-INIT-OK";
/// Printed by `/init` only if `poweroff -f` returned.
const POWEROFF_FAILED: &str = "TIANSHAN-INIT-POWEROFF-FAILED";
/// Linux's first console line (`linux_banner`, init/version.c).
const LINUX_BANNER: &str = "Linux version ";
/// Linux's last line before it calls the firmware's power-off entry
/// (kernel/reboot.c, `kernel_power_off`).
const LINUX_POWER_DOWN: &str = "reboot: Power down";
/// The prompts that mean the firmware booted something else: the ROM's
/// Tianshan kernel, or its own shell.
const KERNEL_PROMPT: &str = "tianshan> ";
const FIRMWARE_PROMPT: &str = "tianshan-fw> ";
/// Deadline of every wait that includes booting Linux.
const LINUX_DEADLINE: Duration = Duration::from_secs(120);

/// The options every test passes; `/proc/cmdline` must carry them.
const OPTIONS: &str = "console=ttyS0 tianshan.test=linux";

const FWCFG_KERNEL: &str = "opt/tianshan/kernel";
const FWCFG_INITRD: &str = "opt/tianshan/initrd";
const FWCFG_CMDLINE: &str = "opt/tianshan/cmdline";

/// Linux's `COMMAND_LINE_SIZE` on MIPS (arch/mips/include/uapi/asm/setup.h):
/// the command line, with its terminating NUL, must fit in this.
const COMMAND_LINE_SIZE: usize = 4096;

/// The fetched kernels and initramfs.
struct Fixture {
    /// The release's kernel (6.1 on bookworm).
    vmlinuz: PathBuf,
    /// The backports' kernel (6.12 on bookworm), with KASLR.
    vmlinuz_backports: PathBuf,
    initramfs: PathBuf,
}

/// Which of the fixture's kernels a test boots.
#[derive(Clone, Copy)]
enum Kernel {
    Release,
    Backports,
}

/// `TIANSHAN_LINUX`'s kernel and initramfs; panics (this is a test) with
/// what to do when the variable or the files are missing.
fn fixture() -> Fixture {
    let Some(dir) = std::env::var_os("TIANSHAN_LINUX").map(PathBuf::from) else {
        panic!(
            "TIANSHAN_LINUX is not set: run the Linux tests through `cargo xtask test` after `cargo xtask fetch-linux` \
             (or set it to a directory holding vmlinuz and initramfs.cpio.gz)"
        );
    };
    let f = Fixture {
        vmlinuz: dir.join("vmlinuz"),
        vmlinuz_backports: dir.join("vmlinuz-backports"),
        initramfs: dir.join("initramfs.cpio.gz"),
    };
    for file in [&f.vmlinuz, &f.vmlinuz_backports, &f.initramfs] {
        assert!(file.is_file(), "TIANSHAN_LINUX: {} is missing; run `cargo xtask fetch-linux`", file.display());
    }
    f
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ROM with `config` as its configuration and the fixture's release
/// kernel in fw_cfg, with `initrd` as `opt/tianshan/initrd` and `cmdline`
/// as `opt/tianshan/cmdline`.
fn fwcfg_linux(test: &str, config: &str, initrd: PathBuf, cmdline: &str) -> MachineConfig {
    fwcfg_kernel(test, Kernel::Release, config, initrd, cmdline)
}

/// [`fwcfg_linux`] with the fixture's `kernel`.
fn fwcfg_kernel(test: &str, kernel: Kernel, config: &str, initrd: PathBuf, cmdline: &str) -> MachineConfig {
    let f = fixture();
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.config_file(scratch_file(test, "config", config.as_bytes()));
    let vmlinuz = match kernel {
        Kernel::Release => f.vmlinuz,
        Kernel::Backports => f.vmlinuz_backports,
    };
    cfg.fw_cfg_files.push((FWCFG_KERNEL.into(), vmlinuz));
    cfg.fw_cfg_files.push((FWCFG_INITRD.into(), initrd));
    cfg.fw_cfg_strings.push((FWCFG_CMDLINE.into(), cmdline.into()));
    cfg
}

/// The fixture's release kernel from fw_cfg with [`OPTIONS`], `bootorder = fwcfg`.
fn fwcfg_boot(test: &str, memory: &str, cpus: u32) -> MachineConfig {
    fwcfg_boot_kernel(test, Kernel::Release, memory, cpus)
}

/// [`fwcfg_boot`] with the fixture's `kernel`.
fn fwcfg_boot_kernel(test: &str, kernel: Kernel, memory: &str, cpus: u32) -> MachineConfig {
    let config = "bootdelay = 0\nbootorder = fwcfg\n";
    let mut cfg = fwcfg_kernel(test, kernel, config, fixture().initramfs, OPTIONS);
    cfg.memory = memory.into();
    cfg.cpus = cpus;
    cfg
}

/// The ROM with `disk` attached and `bootdelay = 0` (default order:
/// fwcfg, which has no kernel, then disk, then rom).
fn disk_boot(test: &str, disk: &[u8]) -> MachineConfig {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.config_file(scratch_file(test, "config", b"bootdelay = 0\n"));
    cfg.disks.push(scratch_file(test, "disk.img", disk));
    cfg
}

/// A disk whose FAT16 partition holds the fixture as `/vmlinuz` and
/// `/initramfs.cpio.gz` and the BLS entry `/loader/entries/linux.conf`.
fn bls_disk(entry: &str) -> Vec<u8> {
    let f = fixture();
    let (kernel, initramfs) = (read(&f.vmlinuz), read(&f.initramfs));
    mbr_fat16(&[
        ("loader/entries/linux.conf", entry.as_bytes()),
        ("vmlinuz", &kernel),
        ("initramfs.cpio.gz", &initramfs),
    ])
}

/// Waits for Linux's banner and `/init`'s marker; fails at once, naming
/// what happened, if the firmware booted its own kernel or shell instead.
fn expect_linux_init(m: &mut Machine) {
    for wanted in [LINUX_BANNER, INIT_MARKER] {
        let seen = [wanted, KERNEL_PROMPT, FIRMWARE_PROMPT];
        let got = m.expect_any_within(&seen, LINUX_DEADLINE);
        assert!(got == 0, "the firmware did not boot Linux: {:?} came before {wanted:?}", seen[got]);
    }
}

/// What `/init` reports after the marker.
struct InitReport {
    cpus: u32,
    mem_total_kib: u64,
    cmdline: String,
}

/// Reads `/init`'s report, then checks that Linux powered the machine off
/// and QEMU exited with status 0.
fn init_report_and_power_off(m: &mut Machine) -> InitReport {
    let cpus = m.expect_line_within("cpus: ", LINUX_DEADLINE);
    let cpus = cpus.trim().parse().unwrap_or_else(|_| panic!("/init's CPU count {cpus:?} is not a number"));
    let mem = m.expect_line_within("MemTotal:", LINUX_DEADLINE);
    let mem_total_kib = mem
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("MemTotal line {mem:?} has no number of kB"));
    let cmdline = m.expect_line_within("cmdline: ", LINUX_DEADLINE);
    m.expect_within(LINUX_POWER_DOWN, LINUX_DEADLINE);
    let status = m.wait_exit(LINUX_DEADLINE);
    m.refute(POWEROFF_FAILED);
    assert_eq!(status.code(), Some(0), "QEMU's exit after Linux's power-off: {status}");
    InitReport { cpus, mem_total_kib, cmdline }
}

/// QEMU loongson3-virt has RAM at PA 0..256 MiB and the rest from
/// 0x9000_0000; the LEFI memory map leaves out the top 16 MiB of the low
/// part, which holds the firmware, its tables and the argv block (QEMU's
/// own map: 240 MiB low, `-m` − 256 MiB high; lefi-boot-protocol.md §5.5,
/// §7). So Linux can be given at most `-m` − 16 MiB.
const BOOT_DATA_HOLE_MIB: u64 = 16;
/// What Linux keeps of its own image after boot: code, rodata, rwdata and
/// bss. Debian's 6.1 loongson-3 kernel logs "11342K kernel code, 1782K
/// rwdata, 3164K rodata, 2688K init, 545K bss": 16.4 MiB without the init
/// sections it frees. Counted as 16 MiB for the upper bound.
const KERNEL_RESIDENT_MIB: u64 = 16;
/// Early reservations besides the image, for the lower bound: the page
/// array (64 bytes per 16 KiB page, 4 MiB per GiB), the hash tables sized
/// from RAM, per-CPU areas. QEMU's own `-kernel` boot of the fixture gives
/// MemTotal 943040 kB at 1 GiB and 2994624 kB at 3 GiB, i.e. 72 MiB and
/// 116 MiB of them (about 50 MiB + 22 MiB per GiB); allowing 64 MiB + 32
/// MiB per GiB leaves more than 25 MiB of slack at 1 GiB and 44 MiB at 3 GiB
/// for a firmware that keeps a little more, while a memory map that
/// missed or doubled a region (hundreds of MiB) fails.
const EARLY_FIXED_MIB: u64 = 64;
const EARLY_PER_GIB_MIB: u64 = 32;

/// The range `MemTotal` (kB, i.e. KiB) must fall in when the machine has
/// `mib` MiB of RAM.
fn mem_total_bounds_kib(mib: u64) -> (u64, u64) {
    let given = mib - BOOT_DATA_HOLE_MIB;
    let high = given - KERNEL_RESIDENT_MIB;
    let low = high - EARLY_FIXED_MIB - EARLY_PER_GIB_MIB * mib.div_ceil(1024);
    (low * 1024, high * 1024)
}

fn assert_mem_total(report: &InitReport, mib: u64) {
    let (low, high) = mem_total_bounds_kib(mib);
    assert!(
        (low..=high).contains(&report.mem_total_kib),
        "MemTotal {} kB with -m {mib}M: expected {low}..={high} kB (RAM less the 16 MiB boot-data hole, \
         the kernel image and early reservations)",
        report.mem_total_kib
    );
}

fn assert_options(report: &InitReport, options: &str) {
    assert!(report.cmdline.contains(options), "/proc/cmdline {:?} lacks our options {options:?}", report.cmdline);
}

/// The first physical address a CKSEG0 kernel does not reach before it
/// reserves its initrd (tianshan_lefi::initrd): the firmware must place the
/// initrd at or above it.
const KERNEL_REACH_END: u64 = 512 << 20;
/// Linux's line naming where it found the initrd (arch/mips/kernel/setup.c).
const LINUX_INITRD_LINE: &str = "Initial ramdisk at: ";
/// Linux's complaint when the initrd it was given is not an archive
/// (init/initramfs.c): something wrote over it.
const INITRAMFS_CORRUPT: &str = "Initramfs unpacking failed";

/// Boots `kernel` with the fixture's initramfs from fw_cfg at `mib` MiB and
/// checks that the firmware placed the initrd out of the kernel's reach,
/// that Linux found it there intact and reached `/init`, and that it was
/// given its memory.
fn boot_with_initramfs(test: &str, kernel: Kernel, mib: u64) {
    let mut m = Machine::start(&fwcfg_boot_kernel(test, kernel, &format!("{mib}M"), 1));
    let handoff = m.expect_line_within("handoff: Linux via LEFI", LINUX_DEADLINE);
    let at = handoff
        .split("initrd at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| panic!("the handoff line names no initrd address: {handoff:?}"));
    assert!(
        at >= KERNEL_REACH_END,
        "initrd placed at {at:#x}, within the kernel's reach (below {KERNEL_REACH_END:#x})"
    );
    m.expect_within(LINUX_BANNER, LINUX_DEADLINE);
    let found = m.expect_line_within(LINUX_INITRD_LINE, LINUX_DEADLINE);
    assert!(found.contains(&format!("{at:x}")), "Linux found the initrd at {found:?}, the firmware put it at {at:#x}");
    let got = m.expect_any_within(&[INIT_MARKER, INITRAMFS_CORRUPT], LINUX_DEADLINE);
    assert!(got == 0, "Linux found the initrd overwritten: {}", m.transcript());
    let report = init_report_and_power_off(&mut m);
    assert_eq!(report.cpus, 1);
    assert_mem_total(&report, mib);
    assert_options(&report, OPTIONS);
}

/// One test per kernel and memory size, so they run side by side and each
/// failure names its case.
macro_rules! initramfs_matrix {
    ($($name:ident: $kernel:ident at $mib:literal;)*) => {$(
        #[test]
        fn $name() {
            boot_with_initramfs(stringify!($name), Kernel::$kernel, $mib);
        }
    )*};
}

initramfs_matrix! {
    linux_6_1_initramfs_at_512m: Release at 512;
    linux_6_1_initramfs_at_1g: Release at 1024;
    linux_6_1_initramfs_at_2g: Release at 2048;
    linux_6_1_initramfs_at_3g: Release at 3072;
    linux_6_1_initramfs_at_4g: Release at 4096;
    linux_6_12_initramfs_at_512m: Backports at 512;
    linux_6_12_initramfs_at_1g: Backports at 1024;
    linux_6_12_initramfs_at_2g: Backports at 2048;
    linux_6_12_initramfs_at_3g: Backports at 3072;
    linux_6_12_initramfs_at_4g: Backports at 4096;
}

/// Under `-smp 3` QEMU 10.0 wires the cores so that Linux can run only
/// the two upper ones (lefi-boot-protocol.md §13): the firmware starts it
/// on the middle core with the first reserved. Multi-threaded TCG, as §14
/// advises for more than one CPU: with one host thread taking turns
/// between the three vCPUs this boot takes about 90 s of host time.
#[test]
fn linux_fwcfg_smp3_runs_two_cpus() {
    let mut cfg = fwcfg_boot("linux_fwcfg_smp3_runs_two_cpus", "1G", 3);
    cfg.extra.extend(["-accel", "tcg,thread=multi"].map(String::from));
    let mut m = Machine::start(&cfg);
    expect_linux_init(&mut m);
    let report = init_report_and_power_off(&mut m);
    assert_eq!(report.cpus, 2, "CPUs Linux runs under -smp 3");
    assert_options(&report, OPTIONS);
}

#[test]
fn linux_disk_bls_entry_boots_with_its_options() {
    let options = "console=ttyS0 tianshan.test=disk";
    let entry = format!(
        "title   Debian GNU/Linux (Loongson-3)\nlinux   /vmlinuz\ninitrd  /initramfs.cpio.gz\noptions {options}\n"
    );
    let mut m = Machine::start(&disk_boot("linux_disk_bls_entry_boots_with_its_options", &bls_disk(&entry)));
    m.expect_within("boot: fwcfg: no opt/tianshan/kernel in fw_cfg", LINUX_DEADLINE);
    m.expect_within("boot: disk: disk0p1: FAT16 file system", LINUX_DEADLINE);
    expect_linux_init(&mut m);
    let report = init_report_and_power_off(&mut m);
    assert_eq!(report.cpus, 1);
    assert_mem_total(&report, 1024);
    assert_options(&report, options);
}

/// After a refused Linux boot, the next source (the ROM's kernel) boots.
fn expect_rom_kernel(m: &mut Machine) {
    m.expect_within("loader: rom:kernel:", LINUX_DEADLINE);
    m.expect_within(KERNEL_PROMPT, LINUX_DEADLINE);
    m.refute(LINUX_BANNER);
}

#[test]
fn linux_empty_initrd_falls_through() {
    let empty = scratch_file("linux_empty_initrd_falls_through", "initrd-empty", b"");
    let cfg = fwcfg_linux("linux_empty_initrd_falls_through", "bootdelay = 0\n", empty, OPTIONS);
    let mut m = Machine::start(&cfg);
    m.expect_line_with(&["boot: fwcfg:", "initrd", "empty"], LINUX_DEADLINE);
    expect_rom_kernel(&mut m);
}

#[test]
fn linux_missing_bls_initrd_falls_through() {
    let entry = "title Linux\nlinux /vmlinuz\ninitrd /missing-initrd.img\noptions console=ttyS0\n";
    let mut m = Machine::start(&disk_boot("linux_missing_bls_initrd_falls_through", &bls_disk(entry)));
    // The message names the initrd, not the kernel, as the missing file.
    m.expect_line_with(&["boot: ", "initrd", "/missing-initrd.img", "not found"], LINUX_DEADLINE);
    expect_rom_kernel(&mut m);
}

/// A command line that the generic limit (4095 bytes) accepts but that no
/// longer fits Linux's once the firmware adds `rd_start=… rd_size=…`.
#[test]
fn linux_cmdline_too_long_for_argv_falls_through() {
    let test = "linux_cmdline_too_long_for_argv_falls_through";
    let mut cmdline = format!("{OPTIONS} tianshan.pad=");
    cmdline.extend(std::iter::repeat_n('x', COMMAND_LINE_SIZE - 8 - cmdline.len()));
    assert_eq!(cmdline.len(), COMMAND_LINE_SIZE - 8);
    let mut m = Machine::start(&fwcfg_linux(test, "bootdelay = 0\n", fixture().initramfs, &cmdline));
    m.expect_line_with(&["boot: fwcfg:", "command line"], LINUX_DEADLINE);
    // The ROM's kernel takes up to 4095 bytes: it boots with this one.
    expect_rom_kernel(&mut m);
}

/// A BLS entry whose options exceed 4095 bytes: that entry is refused, the
/// ROM's kernel boots (with the configured command line, empty here).
#[test]
fn linux_bls_cmdline_over_4095_bytes_falls_through() {
    let mut options = String::from("console=ttyS0 tianshan.pad=");
    options.extend(std::iter::repeat_n('y', 5000 - options.len()));
    let entry = format!("title Linux\nlinux /vmlinuz\ninitrd /initramfs.cpio.gz\noptions {options}\n");
    let mut m = Machine::start(&disk_boot("linux_bls_cmdline_over_4095_bytes_falls_through", &bls_disk(&entry)));
    m.expect_line_with(&["boot: disk: /loader/entries/linux.conf", "command line"], LINUX_DEADLINE);
    expect_rom_kernel(&mut m);
}

/// QEMU's own boot of the fixture: `-kernel -initrd -append`, no firmware.
fn qemu_direct_boot(memory: &str) -> MachineConfig {
    let f = fixture();
    let mut cfg = MachineConfig::rom(f.vmlinuz);
    cfg.kernel = cfg.rom.take();
    // QEMU has no fw_cfg device when it loads the kernel itself.
    cfg.fw_cfg_strings.clear();
    cfg.initrd = Some(f.initramfs);
    cfg.append = Some(OPTIONS.into());
    cfg.memory = memory.into();
    cfg
}

/// What Linux was given: bytes of usable RAM its LEFI memory map declares
/// (the sum of its `Node 0, mem_type:N [start], 0x<bytes> bytes usable`
/// lines, arch/mips/loongson64/numa.c), and `/init`'s MemTotal in kB.
fn memory_linux_got(cfg: &MachineConfig) -> (u64, u64) {
    let mut m = Machine::start(cfg);
    expect_linux_init(&mut m);
    let report = init_report_and_power_off(&mut m);
    let declared = m
        .transcript()
        .lines()
        .filter(|l| l.contains("mem_type:") && l.ends_with("bytes usable"))
        .map(|l| {
            let bytes = l.split_whitespace().rev().nth(2).unwrap_or_else(|| panic!("size in {l:?}"));
            u64::from_str_radix(bytes.trim_start_matches("0x").trim_end_matches(','), 16)
                .unwrap_or_else(|_| panic!("size {bytes:?} in {l:?}"))
        })
        .sum();
    assert!(declared > 0, "Linux printed no usable memory-map entries");
    (declared, report.mem_total_kib)
}

/// Through the firmware (from fw_cfg) Linux must be given at least what
/// QEMU's own boot gives it at the same `-m`: QEMU declares 240 MiB at 0
/// and `-m` − 256 MiB at 0x9000_0000, so the firmware may withhold only
/// the 16 MiB at 0x0F00_0000 that QEMU keeps too; the scratch region the
/// files were loaded into must be Linux's again.
fn linux_gets_at_least_qemus_own_boot(mib: u64) {
    let test = format!("linux_memory_at_{mib}m_is_at_least_qemus");
    let ours = memory_linux_got(&fwcfg_boot(&test, &format!("{mib}M"), 1));
    let qemu = memory_linux_got(&qemu_direct_boot(&format!("{mib}M")));
    assert_eq!(qemu.0, (mib - BOOT_DATA_HOLE_MIB) << 20, "QEMU's own map at -m {mib}M (lefi-boot-protocol.md §5.5)");
    assert!(ours.0 >= qemu.0, "-m {mib}M: the firmware declares {} bytes usable, QEMU's own boot {}", ours.0, qemu.0);
    assert!(
        ours.1 >= qemu.1,
        "-m {mib}M: MemTotal {} kB through the firmware, {} kB with QEMU's -kernel",
        ours.1,
        qemu.1
    );
}

#[test]
fn linux_memory_at_512m_is_at_least_qemus() {
    linux_gets_at_least_qemus_own_boot(512);
}

#[test]
fn linux_memory_at_1g_is_at_least_qemus() {
    linux_gets_at_least_qemus_own_boot(1024);
}

#[test]
fn linux_memory_at_2g_is_at_least_qemus() {
    linux_gets_at_least_qemus_own_boot(2048);
}

#[test]
fn linux_memory_at_3g_is_at_least_qemus() {
    linux_gets_at_least_qemus_own_boot(3072);
}

#[test]
fn linux_memory_at_4g_is_at_least_qemus() {
    linux_gets_at_least_qemus_own_boot(4096);
}

#[test]
fn mem_total_bounds_hold_qemus_own_figures() {
    // QEMU's own -kernel boot of the fixture (see EARLY_FIXED_MIB).
    let (qemu_1g, qemu_3g) = (943_040, 2_994_624);
    let (low_1g, high_1g) = mem_total_bounds_kib(1024);
    let (low_3g, high_3g) = mem_total_bounds_kib(3072);
    assert!((low_1g..=high_1g).contains(&qemu_1g), "{low_1g}..={high_1g}");
    assert!((low_3g..=high_3g).contains(&qemu_3g), "{low_3g}..={high_3g}");
    // 1 GiB is told from 3 GiB either way.
    assert!(!(low_3g..=high_3g).contains(&qemu_1g) && !(low_1g..=high_1g).contains(&qemu_3g));
}

/// Debian's 6.12 kernel and the initramfs sent by YMODEM to the
/// firmware's `loady` from the host side of the serial line, booted with
/// the command line given to `loady`.
#[test]
fn linux_by_ymodem_with_initrd() {
    let f = fixture();
    let (kernel, initramfs) = (read(&f.vmlinuz_backports), read(&f.initramfs));
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    // fw_cfg only, and it holds no kernel: the firmware lands in its shell.
    let config = b"bootdelay = 0\nbootorder = fwcfg\n";
    cfg.config_file(scratch_file("linux_by_ymodem_with_initrd", "config", config));
    let mut m = Machine::start(&cfg);
    m.expect(FIRMWARE_PROMPT);
    m.send_line(&format!("loady {OPTIONS}"));
    m.expect("start the send now (Ctrl-C cancels)");
    let options = SendOptions { start_timeout: Duration::from_secs(20), ..SendOptions::default() };
    send::send_batch(&mut m, &[("vmlinuz", &kernel), ("initramfs.cpio.gz", &initramfs)], &options)
        .expect("YMODEM send");
    m.expect(&format!("loady: received vmlinuz ({} bytes)", kernel.len()));
    m.expect(&format!("loady: received initramfs.cpio.gz ({} bytes)", initramfs.len()));
    let rate = m.expect_line_with(&["loady: ", " bytes in ", " KiB/s)"], LINUX_DEADLINE);
    println!("{rate}");
    expect_linux_init(&mut m);
    let report = init_report_and_power_off(&mut m);
    assert!(report.cmdline.contains(OPTIONS), "/proc/cmdline {:?} lacks {OPTIONS:?}", report.cmdline);
}

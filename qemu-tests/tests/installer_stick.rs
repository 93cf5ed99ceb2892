//! The Debian installer USB stick: PMON's `boot.cfg` at the root of an MBR +
//! FAT32 disk, `(usb0,0)` paths, `args nil`, and no command line anywhere.
//!
//! `debian-installer-12-netboot-mips64el` ships `loongson-3/boot.cfg`,
//! `initrd.gz` and `vmlinuz-<abi>-loongson-3`, to be copied to the root of a
//! FAT stick; its `boot.cfg` is [`INSTALLER_BOOT_CFG`]'s text with the
//! package's kernel file name. Each test lays a disk out the same way:
//!
//! - with the Tianshan kernel ELF renamed to the stick's kernel file name
//!   (needs nothing fetched): the entry is found at `/boot.cfg`, `usb0`
//!   names the stick, and the kernel gets an empty command line, no `nil`
//!   and no added console (a Tianshan kernel takes its console from the
//!   boot info);
//! - `linux_*`, with `cargo xtask fetch-linux`'s kernel and initramfs
//!   (`TIANSHAN_LINUX`): Linux reaches `/init` with the firmware's
//!   `console=ttyS0,115200` as its only console;
//! - `linux_installer_*`, with the real installer files `cargo xtask
//!   fetch-installer` extracts (`TIANSHAN_INSTALLER`): the installer's
//!   "Select a language" screen appears on the serial line. `cargo xtask
//!   test` skips it when they are missing.
//!
//! No test gives the machine a fw_cfg command line; the stick tests keep
//! only a `bootdelay = 0` configuration, and the installer test has no
//! fw_cfg file at all (the default three-second countdown runs).

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tianshan_qemu_tests::disk::{MIB, fat_volume, mbr_disk};
use tianshan_qemu_tests::{CONFIG_FILE, Machine, MachineConfig, gzip, image, image_dir, scratch_file};

/// The stick's `boot.cfg` as the package ships it, with `{kernel}` for the
/// kernel's file name (tab-indented, as in the package).
const INSTALLER_BOOT_CFG: &str = "default 0\ntimeout 0\nshowmenu 0\n\ntitle Boot d-i\n\
                                  \tkernel (usb0,0)/{kernel}\n\tinitrd (usb0,0)/initrd.gz\n\targs nil\n";
/// The kernel file name in the package this test suite was written against.
const KERNEL_FILE: &str = "vmlinuz-6.1.0-50-loongson-3";
/// MBR partition type of a FAT32 file system addressed by LBA, as Debian's
/// instructions format the stick.
const MBR_FAT32_LBA: u8 = 0x0C;
/// The line the firmware prints when it adds its console.
const ADDED_CONSOLE: &str =
    "boot: no console= on the command line; adding console=ttyS0,115200 (the firmware's console)";
/// The firmware's lines for the stick's one entry.
const ENTRY: &str = "boot: disk: /boot.cfg: entry 0 'Boot d-i'";
/// What the fixture's `/init` prints first, then its command line.
const INIT_MARKER: &str = "TIANSHAN-INIT-OK";
const INIT_CMDLINE: &str = "cmdline: ";
/// The installer's first question (debian-installer's localechooser).
const SELECT_A_LANGUAGE: &str = "Select a language";
/// Deadline of a wait that includes Linux reaching `/init`.
const LINUX_DEADLINE: Duration = Duration::from_secs(120);
/// Deadline for the installer's first screen: Linux, then a 28 MB initrd
/// unpacked and the installer started, under TCG on a shared host.
const INSTALLER_DEADLINE: Duration = Duration::from_secs(600);

/// `boot.cfg` for a kernel file called `kernel`.
fn boot_cfg(kernel: &str) -> String {
    INSTALLER_BOOT_CFG.replace("{kernel}", kernel)
}

/// An MBR disk with one FAT32 partition holding the stick's three files at
/// its root, sized to fit them.
fn stick(kernel_file: &str, kernel: &[u8], initrd: &[u8]) -> Vec<u8> {
    const MIN_FAT32: usize = 40 * MIB;
    const SLACK: usize = 8 * MIB;
    let cfg = boot_cfg(kernel_file);
    let size = (kernel.len() + initrd.len() + SLACK).next_multiple_of(MIB).max(MIN_FAT32);
    let files: [(&str, &[u8]); 3] = [("boot.cfg", cfg.as_bytes()), (kernel_file, kernel), ("initrd.gz", initrd)];
    mbr_disk(&[(MBR_FAT32_LBA, &fat_volume(size, fatfs::FatType::Fat32, &files))])
}

/// A file of a fetched fixture: `$env/name`; panics (this is a test) with
/// what to run when it is missing.
fn fixture_file(env: &str, fetch: &str, name: &str) -> PathBuf {
    let Some(dir) = std::env::var_os(env).map(PathBuf::from) else {
        panic!("{env} is not set: run this test through `cargo xtask test` after `cargo xtask {fetch}`");
    };
    let path = dir.join(name);
    assert!(path.is_file(), "{env}: {} is missing; run `cargo xtask {fetch}`", path.display());
    path
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ROM with `disk` as its only disk and `bootdelay = 0`.
fn machine(test: &str, disk: &[u8]) -> Machine {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.config_file(scratch_file(test, "config", b"bootdelay = 0\n"));
    cfg.disks.push(scratch_file(test, "stick.img", disk));
    Machine::start(&cfg)
}

#[test]
fn installer_stick_layout_boots_a_tianshan_kernel_with_no_arguments() {
    let kernel = image("kernel.stripped.elf");
    let initrd = gzip(b"an initrd a Tianshan kernel does not take");
    let disk = stick(KERNEL_FILE, &kernel, &initrd);
    let mut m = machine("installer_stick_layout_boots_a_tianshan_kernel_with_no_arguments", &disk);
    m.expect("boot: disk: disk0p1: FAT32 file system");
    m.expect(&format!("{ENTRY}: kernel disk0p1:/{KERNEL_FILE} ({} bytes)", kernel.len()));
    m.expect(&format!("{ENTRY}: initrd (usb0,0)/initrd.gz ({} bytes)", initrd.len()));
    m.expect(&format!("boot: disk0p1:/{KERNEL_FILE}: initrd ignored (a Tianshan kernel takes none)"));
    m.expect("Tianshan kernel 0.1.0");
    m.expect("tianshan> ");
    // The kernel prints its command line only when there is one: `args nil`
    // must give none, and no console is added for a Tianshan kernel.
    m.refute("command line: ");
    m.refute("adding console=");
    m.refute("no boot entries");
}

#[test]
fn a_device_that_is_not_the_stick_is_reported() {
    let kernel = image("kernel.stripped.elf");
    let cfg =
        "title Second disk\n\tkernel (wd1,0)/vmlinux\n\ntitle Stick\n\tkernel (usb0,0)/vmlinux\n\targs which=stick\n";
    let volume = fat_volume(40 * MIB, fatfs::FatType::Fat32, &[("boot.cfg", cfg.as_bytes()), ("vmlinux", &kernel)]);
    let disk = mbr_disk(&[(MBR_FAT32_LBA, &volume)]);
    let mut m = machine("a_device_that_is_not_the_stick_is_reported", &disk);
    m.expect(
        "boot: disk: /boot.cfg: line 2: kernel path '(wd1,0)/vmlinux' is unusable: only unit 0 (wd0, sd0, usb0, \
         cd0) names the disk holding boot.cfg; entry skipped",
    );
    m.expect("boot: disk: /boot.cfg: entry 1 'Stick': kernel disk0p1:/vmlinux");
    m.expect("command line: which=stick");
    m.expect("tianshan> ");
}

#[test]
fn boot_boot_cfg_is_read_before_the_root_one() {
    let kernel = image("kernel.stripped.elf");
    let files: [(&str, &[u8]); 3] = [
        ("boot/boot.cfg", b"title Installed\n\tkernel (wd0,0)/vmlinux\n\targs which=installed\n"),
        ("boot.cfg", b"title Stick\n\tkernel (usb0,0)/vmlinux\n\targs which=stick\n"),
        ("vmlinux", &kernel),
    ];
    let disk = mbr_disk(&[(MBR_FAT32_LBA, &fat_volume(40 * MIB, fatfs::FatType::Fat32, &files))]);
    let mut m = machine("boot_boot_cfg_is_read_before_the_root_one", &disk);
    m.expect("boot: disk: /boot/boot.cfg: entry 0 'Installed': kernel disk0p1:/vmlinux");
    m.expect("command line: which=installed");
    m.expect("tianshan> ");
    m.refute("which=stick");
}

#[test]
fn linux_stick_layout_gets_the_firmware_console() {
    let vmlinuz = read(&fixture_file("TIANSHAN_LINUX", "fetch-linux", "vmlinuz"));
    let initramfs = read(&fixture_file("TIANSHAN_LINUX", "fetch-linux", "initramfs.cpio.gz"));
    let disk = stick(KERNEL_FILE, &vmlinuz, &initramfs);
    let mut m = machine("linux_stick_layout_gets_the_firmware_console", &disk);
    m.expect(&format!("{ENTRY}: kernel disk0p1:/{KERNEL_FILE} ({} bytes)", vmlinuz.len()));
    m.expect(&format!("{ENTRY}: initrd (usb0,0)/initrd.gz ({} bytes)", initramfs.len()));
    m.expect(ADDED_CONSOLE);
    m.expect_within(INIT_MARKER, LINUX_DEADLINE);
    let cmdline = m.expect_line_within(INIT_CMDLINE, LINUX_DEADLINE);
    let consoles: Vec<&str> = cmdline.split_whitespace().filter(|a| a.starts_with("console=")).collect();
    assert_eq!(consoles, ["console=ttyS0,115200"], "/proc/cmdline: {cmdline}");
    assert!(!cmdline.split_whitespace().any(|a| a == "nil"), "/proc/cmdline: {cmdline}");
}

#[test]
fn linux_installer_shows_select_a_language() {
    let dir = fixture_file("TIANSHAN_INSTALLER", "fetch-installer", "boot.cfg");
    let dir = dir.parent().expect("boot.cfg is in a folder").to_path_buf();
    let kernel_file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("vmlinuz-"))
        .unwrap_or_else(|| panic!("{}: no vmlinuz-* in it; run `cargo xtask fetch-installer`", dir.display()));
    let shipped = String::from_utf8_lossy(&read(&dir.join("boot.cfg"))).into_owned();
    // The layout this file describes is the package's own.
    assert_eq!(shipped, boot_cfg(&kernel_file), "the package's boot.cfg changed");
    let vmlinuz = read(&dir.join(&kernel_file));
    let initrd = read(&dir.join("initrd.gz"));
    let disk = stick(&kernel_file, &vmlinuz, &initrd);
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    // No fw_cfg file at all: no command line, no configuration.
    cfg.fw_cfg_strings.retain(|(name, _)| name != CONFIG_FILE);
    cfg.disks.push(scratch_file("linux_installer_shows_select_a_language", "stick.img", &disk));
    let started = Instant::now();
    let mut m = Machine::start(&cfg);
    m.expect_within(&format!("{ENTRY}: kernel disk0p1:/{kernel_file}"), LINUX_DEADLINE);
    m.expect(ADDED_CONSOLE);
    m.expect_within(SELECT_A_LANGUAGE, INSTALLER_DEADLINE);
    eprintln!("installer: \"{SELECT_A_LANGUAGE}\" after {:.1} s of wall time", started.elapsed().as_secs_f64());
}

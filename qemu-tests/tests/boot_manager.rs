//! The firmware's boot manager: fw_cfg kernels (plain and gzip), bad
//! kernels falling through to the next source, the configuration file, the
//! countdown, and the shell's boot-setting commands.

use std::time::Duration;
use tianshan_elf::synth::SynthElf;
use tianshan_qemu_tests::{CONFIG_FILE, Machine, MachineConfig, gzip, image, image_dir, scratch_file};

const FWCFG_KERNEL: &str = "opt/tianshan/kernel";

fn config() -> MachineConfig {
    MachineConfig::rom(image_dir().join("firmware.rom"))
}

fn with_fwcfg_kernel(test: &str, kernel: &[u8]) -> MachineConfig {
    let mut cfg = config();
    cfg.fw_cfg_files.push((FWCFG_KERNEL.into(), scratch_file(test, "kernel", kernel)));
    cfg
}

#[test]
fn boots_a_kernel_from_fw_cfg() {
    let kernel = image("kernel.elf");
    let mut m = Machine::start(&with_fwcfg_kernel("boots_a_kernel_from_fw_cfg", &kernel));
    m.expect(&format!("boot: fwcfg: opt/tianshan/kernel ({} bytes)", kernel.len()));
    m.expect("loader: fwcfg:opt/tianshan/kernel:");
    m.expect("Tianshan kernel 0.1.0");
    m.expect("tianshan> ");
    m.refute("loader: rom:kernel");
}

#[test]
fn boots_a_gzip_kernel_from_fw_cfg() {
    let kernel = image("kernel.stripped.elf");
    let z = gzip(&kernel);
    let mut m = Machine::start(&with_fwcfg_kernel("boots_a_gzip_kernel_from_fw_cfg", &z));
    m.expect(&format!("loader: gzip image, {} bytes decompressed to {}", z.len(), kernel.len()));
    m.expect("tianshan> ");
}

/// A bad fw_cfg kernel is reported, then the ROM's kernel boots.
fn falls_through(test: &str, kernel: &[u8], message: &str) {
    let mut m = Machine::start(&with_fwcfg_kernel(test, kernel));
    m.expect(message);
    m.expect("boot: fwcfg: kernel refused");
    m.expect("boot: disk: no virtio-blk disk");
    m.expect("loader: rom:kernel:");
    m.expect("tianshan> ");
}

#[test]
fn random_bytes_fall_through() {
    let junk: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    falls_through("random_bytes_fall_through", &junk, "boot: fwcfg:opt/tianshan/kernel: not an ELF file (starts ");
}

#[test]
fn truncated_elf_falls_through() {
    let mut k = image("kernel.stripped.elf");
    k.truncate(k.len() / 3);
    falls_through("truncated_elf_falls_through", &k, "run past the end of the file");
}

#[test]
fn x86_64_elf_falls_through() {
    let mut e = SynthElf::single(0xFFFF_FFFF_8020_0000, &[0; 64]);
    e.machine = 62;
    falls_through("x86_64_elf_falls_through", &e.build(), "ELF machine 62 (x86-64) is not MIPS (8)");
}

#[test]
fn segment_over_firmware_falls_through() {
    let e = SynthElf::single(0xFFFF_FFFF_8F00_0000, &[0; 64]);
    falls_through(
        "segment_over_firmware_falls_through",
        &e.build(),
        "overlaps firmware memory at 0xf000000..0xfe00000",
    );
}

#[test]
fn empty_file_falls_through() {
    falls_through("empty_file_falls_through", &[], "boot: fwcfg:opt/tianshan/kernel: file is empty");
}

#[test]
fn corrupt_gzip_falls_through() {
    let mut z = gzip(&image("kernel.stripped.elf"));
    let mid = z.len() / 2;
    z[mid] ^= 0x55;
    let mut m = Machine::start(&with_fwcfg_kernel("corrupt_gzip_falls_through", &z));
    m.expect("boot: fwcfg: gzip");
    m.expect("loader: rom:kernel:");
}

#[test]
fn config_with_garbage_lines() {
    let text = "# test config\nbootdelay = 0\nthis is garbage\nbootdelya = 4\nbootorder = rom, fwcfg\nbootdelay = soon\ncmdline = tianshan.cfg=1\n";
    let mut cfg = config();
    cfg.config_file(scratch_file("config_with_garbage_lines", "config", text.as_bytes()));
    let mut m = Machine::start(&cfg);
    m.expect("config: opt/tianshan/config line 3: expected 'key = value', found 'this is garbage'");
    m.expect("config: opt/tianshan/config line 4: unknown key 'bootdelya'");
    m.expect("config: opt/tianshan/config line 6: bootdelay 'soon' is not a number of seconds");
    // The good lines apply: rom first (no fwcfg attempt), no countdown,
    // and the configured command line.
    m.expect("loader: rom:kernel:");
    m.expect("command line: tianshan.cfg=1");
    m.expect("tianshan> ");
    m.refute("autoboot in");
    m.refute("boot: fwcfg:");
}

#[test]
fn countdown_interrupted_by_a_key() {
    let mut cfg = config();
    cfg.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
    cfg.fw_cfg_strings.push((CONFIG_FILE.into(), "bootdelay=5".into()));
    let mut m = Machine::start(&cfg);
    m.expect("autoboot in 5 s; press any key for the firmware shell");
    m.send_line("");
    m.expect("autoboot cancelled");
    m.expect("tianshan-fw> ");
    m.refute("Tianshan kernel");
}

#[test]
fn nothing_to_boot_lands_in_the_shell() {
    let mut cfg = config();
    cfg.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
    cfg.fw_cfg_strings.push((CONFIG_FILE.into(), "bootorder=fwcfg".into()));
    let mut m = Machine::start(&cfg);
    m.expect("boot: fwcfg: no opt/tianshan/kernel in fw_cfg");
    m.expect("No bootable kernel; entering the firmware shell.");
    m.expect("tianshan-fw> ");
    m.send_line("printenv");
    m.expect("bootorder = fwcfg");
    m.send_line("setenv bootdelay forever");
    m.expect("setenv: bootdelay 'forever' is not a number of seconds");
    m.send_line("setenv bootorder rom,rom");
    m.expect("setenv: ");
    m.send_line("bootorder rom");
    m.send_line("setenv cmdline hello from setenv");
    m.send_line("printenv");
    m.expect("bootorder = rom");
    m.expect("cmdline   = hello from setenv");
    m.send_line("boot nowhere");
    m.expect("boot: unknown source 'nowhere' (fwcfg, disk or rom)");
    m.send_line("boot");
    m.expect("loader: rom:kernel:");
    m.expect("command line: hello from setenv");
    m.expect("tianshan> ");
}

#[test]
fn shell_inspects_the_machine() {
    let mut cfg = config();
    cfg.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
    cfg.fw_cfg_strings.push((CONFIG_FILE.into(), "bootorder=fwcfg".into()));
    let disk = scratch_file("shell_inspects_the_machine", "disk.img", &vec![0u8; 1 << 20]);
    cfg.disks.push(disk);
    let mut m = Machine::start(&cfg);
    m.expect("devices: 2 PCI functions");
    m.expect("tianshan-fw> ");
    m.send_line("lspci");
    m.expect("00:00.0 1b36:0008");
    m.expect("1af4:1001");
    m.expect("BAR0 io 0x4");
    m.send_line("fwcfg");
    m.expect("opt/tianshan/config");
    m.send_line("m 0x100000 0x12345678");
    m.expect("0x00100000 <- 0x12345678");
    m.send_line("d 0x100000 16");
    m.expect("0000100000: 78 56 34 12");
    m.send_line("d 0x1fe001e0");
    m.expect("d: 0x1fe001e0..0x1fe002e0 is not inside one RAM region (see memmap); device space is not read");
    m.send_line("m 0xf000000 1");
    m.expect("m: 0xf000000 is firmware memory; refusing to change it");
    m.send_line("m 0x100002 1");
    m.expect("m: address 0x100002 is not 4-byte aligned");
    m.send_line("d nowhere");
    m.expect("d: address 'nowhere' is not a number (decimal or 0x hex)");
    m.send_line("d");
    m.expect("usage: d <phys-addr> [length]");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn secondary_cores_park_on_their_mailboxes() {
    let mut cfg = config();
    cfg.cpus = 4;
    cfg.config_file(scratch_file("secondary_cores_park", "config", b"bootdelay=0\nbootorder=fwcfg\n"));
    let mut m = Machine::start(&cfg);
    m.expect("smp: 3 other cores told to park on their IPI mailboxes (reversed numbering: block = N-1-CPUNum)");
    m.expect("tianshan-fw> ");
    // Under single-threaded TCG a spinning core keeps the host thread for
    // up to 100 ms, so give the others a few chances to report.
    for attempt in 0..20 {
        m.send_line("cpus");
        m.expect("boot core (running the firmware)");
        m.expect("tianshan-fw> ");
        let t = m.transcript();
        let last = t.rsplit("tianshan-fw> cpus").next().unwrap_or("");
        if last.matches("parked on its mailbox").count() == 3 {
            assert!(last.contains("      3          0  boot core"), "{last}");
            return;
        }
        assert!(attempt < 19, "cores never all parked:\n{last}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_elf_without_the_tianshan_note_is_booted_as_linux() {
    // A valid MIPS64 image (an endless loop) without the Tianshan note is
    // taken for Linux: LEFI tables, then the jump.
    let loop_forever = [0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00]; // b . ; nop
    let e = SynthElf::single(0xFFFF_FFFF_8100_0000, &loop_forever);
    let mut m = Machine::start(&with_fwcfg_kernel("an_elf_without_the_tianshan_note", &e.build()));
    m.expect("loader: fwcfg:opt/tianshan/kernel: 128 bytes, 1 segment");
    m.expect(
        "handoff: Linux via LEFI at 0xfe00000, 1 of 1 CPU for Linux, boot core EBase 0, entering 0xffffffff81000000",
    );
    std::thread::sleep(Duration::from_millis(300));
    m.refute("Tianshan kernel");
}

#[test]
fn setenv_keeps_the_other_configured_settings() {
    let mut cfg = config();
    cfg.config_file(scratch_file("setenv_keeps", "config", b"bootdelay=0\nbootorder=fwcfg\ncmdline = from.file=1\n"));
    let mut m = Machine::start(&cfg);
    m.expect("tianshan-fw> ");
    m.send_line("setenv bootdelay 7");
    m.send_line("printenv");
    m.expect("bootdelay = 7");
    m.expect("bootorder = fwcfg");
    m.expect("cmdline   = from.file=1");
}

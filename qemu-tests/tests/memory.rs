//! The memory the Tianshan kernel is handed, at every size QEMU is run with.
//!
//! The firmware loads boot files into a scratch region at the top of RAM
//! (up to 128 MiB) and must give it back: the kernel's `meminfo` must show
//! all RAM but the firmware-resident 16 MiB at 0x0F00_0000..0x1000_0000
//! (14 MiB of firmware RAM, where the parked cores' code and stacks stay,
//! and the 2 MiB handoff area with the boot-info block) and the kernel's
//! own pages. Nothing else is still needed once the kernel runs: a
//! Tianshan kernel takes no initrd, and the boot-info block lies in the
//! handoff area.

use tianshan_qemu_tests::{Machine, MachineConfig, image_dir};

/// The firmware's RAM and the handoff area (boards/qemu-loongson3-virt/src/layout.rs).
const FIRMWARE_KIB: u64 = 14 * 1024;
const BOOT_INFO_KIB: u64 = 2 * 1024;
/// The kernel's segments are carved in whole pages.
const PAGE: u64 = 4096;

/// Parses `0x<hex>`.
fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{s:?} is not 0x hex"))
}

/// The number before `what` in `line` (`... usable 2080496 KiB, ...`).
fn kib_after(line: &str, what: &str) -> u64 {
    let rest = line.split(what).nth(1).unwrap_or_else(|| panic!("no {what:?} in {line:?}"));
    rest.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line:?}: {what} figure"))
}

/// Boots the ROM's kernel with `-m <mib>M` and checks `meminfo`'s figures.
fn kernel_is_handed_all_but_the_firmware(mib: u64) {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.memory = format!("{mib}M");
    let mut m = Machine::start(&cfg);
    m.expect(&format!("platform: {mib} MiB RAM"));
    // "loader: rom:kernel: N bytes, 3 segments, 0x200000..0x243950, entry ..."
    let loaded = m.expect_line_within("loader: rom:kernel: ", tianshan_qemu_tests::DEFAULT_TIMEOUT);
    let span = loaded.split(", ").find(|p| p.contains("..")).unwrap_or_else(|| panic!("no span in {loaded:?}"));
    let (lo, hi) = span.split_once("..").map(|(a, b)| (hex(a), hex(b))).expect("lo..hi");
    let kernel_pages_kib = (hi.next_multiple_of(PAGE) - lo) >> 10;
    m.expect("tianshan> ");
    m.send_line("meminfo");
    let line = m.expect_line_within("total ", tianshan_qemu_tests::DEFAULT_TIMEOUT);
    let total = line.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).expect("total figure");
    let (usable, kernel) = (kib_after(&line, "usable "), kib_after(&line, "kernel "));
    assert_eq!(total, mib * 1024, "{line}");
    assert_eq!(kib_after(&line, "firmware "), FIRMWARE_KIB, "firmware-resident RAM only: {line}");
    assert_eq!(kib_after(&line, "boot info "), BOOT_INFO_KIB, "{line}");
    assert!(kernel > 0 && kernel <= kernel_pages_kib, "kernel {kernel} KiB, its segments span {kernel_pages_kib} KiB");
    assert_eq!(
        usable,
        total - FIRMWARE_KIB - BOOT_INFO_KIB - kernel,
        "usable must be all RAM but the firmware-resident 16 MiB and the kernel: {line}"
    );
    m.send_line("poweroff");
}

#[test]
fn kernel_memory_at_512m() {
    kernel_is_handed_all_but_the_firmware(512);
}

#[test]
fn kernel_memory_at_1g() {
    kernel_is_handed_all_but_the_firmware(1024);
}

#[test]
fn kernel_memory_at_2g() {
    kernel_is_handed_all_but_the_firmware(2048);
}

#[test]
fn kernel_memory_at_3g() {
    kernel_is_handed_all_but_the_firmware(3072);
}

#[test]
fn kernel_memory_at_4g() {
    kernel_is_handed_all_but_the_firmware(4096);
}

#[test]
fn kernel_memory_beyond_4g() {
    kernel_is_handed_all_but_the_firmware(6144);
}

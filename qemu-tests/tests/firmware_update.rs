//! `update`: a new ROM sent by YMODEM is checked, written to the boot
//! flash (on QEMU a virtio-blk disk with the serial `tianshan-flash`) and
//! runs at the next start; images that are not a ROM for this board are
//! refused with the reason and the flash is left as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig, image, scratch_file};
use tianshan_rom_image::{PayloadKind, RomBuilder};
use tianshan_ymodem::send::{self, SendOptions};

const BOARD: &str = "qemu-loongson3-virt";
const VERSION: &str = concat!("Tianshan firmware ", env!("CARGO_PKG_VERSION"));
const FLASH_SERIAL: &str = "tianshan-flash";
/// A 2 MiB ROM crosses QEMU's console in well under a minute.
const TRANSFER: Duration = Duration::from_secs(120);

/// A ROM whose embedded kernel is not one (so it stops at the shell),
/// with or without an identity.
fn shell_rom(identity: Option<&str>) -> Vec<u8> {
    let b = RomBuilder::new(image("firmware.bin"), image("firmware.rom").len()).payload(
        "kernel",
        PayloadKind::Kernel,
        b"not a kernel".to_vec(),
    );
    match identity {
        Some(board) => b.identity(board, VERSION),
        None => b,
    }
    .build()
    .expect("ROM fits")
}

/// The machine started from `rom`, with `flash` as its boot flash device.
fn machine(rom: PathBuf, flash: &Path) -> Machine {
    let mut cfg = MachineConfig::rom(rom);
    cfg.extra.extend([
        "-drive".to_string(),
        format!("file={},if=none,format=raw,id=flash", flash.display()),
        "-device".to_string(),
        format!("virtio-blk-pci,drive=flash,serial={FLASH_SERIAL}"),
    ]);
    let mut m = Machine::start(&cfg);
    m.expect("tianshan-fw> ");
    m
}

fn options() -> SendOptions {
    SendOptions { start_timeout: Duration::from_secs(20), ..SendOptions::default() }
}

/// Runs `update`, sends `image` and waits for the shell to come back.
fn update(m: &mut Machine, name: &str, image: &[u8]) {
    m.send_line("update");
    println!("{}", m.expect_line_with(&["update: boot flash is disk0 (virtio-blk "], TRANSFER));
    m.expect("start the send now (Ctrl-C cancels)");
    send::send_batch(m, &[(name, image)], &options()).expect("YMODEM send");
    m.expect(&format!("loady: received {name} ({} bytes)", image.len()));
    println!("{}", m.expect_line_with(&["loady: ", " bytes in "], TRANSFER));
}

#[test]
fn update_writes_the_new_rom_and_it_boots() {
    let test = "update_writes_the_new_rom_and_it_boots";
    let old = shell_rom(Some(BOARD));
    let rom = scratch_file(test, "old.rom", &old);
    let flash = scratch_file(test, "flash.img", &old);
    // The new ROM is the build's own: its kernel boots.
    let new = image("firmware.rom");
    let mut m = machine(rom, &flash);
    update(&mut m, "firmware.rom", &new);
    m.expect(&format!("update: firmware.rom: {VERSION} for {BOARD}, 2 payload(s) and the firmware part intact"));
    m.expect(&format!("update: writing {} bytes to the boot flash", new.len()));
    m.expect_within(&format!("update: written and read back intact; `reset` starts {VERSION}"), TRANSFER);
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
    let written = std::fs::read(&flash).expect("read the flash image");
    assert!(written == new, "the flash holds the new ROM");
    // The next start runs what the flash holds.
    let mut next = Machine::start(&MachineConfig::rom(flash.clone()));
    next.expect("loader: rom:kernel:");
    next.expect("tianshan> ");
}

/// Sends `image`, expects `reason`, and checks the flash is unchanged.
fn refused(test: &str, image: &[u8], reason: &str) {
    let old = shell_rom(Some(BOARD));
    let rom = scratch_file(test, "old.rom", &old);
    let flash = scratch_file(test, "flash.img", &old);
    let mut m = machine(rom, &flash);
    update(&mut m, "new.rom", image);
    m.expect(&format!("update: refused, the flash is unchanged: {reason}"));
    m.expect("tianshan-fw> ");
    m.send_line("poweroff");
    m.wait_exit(Duration::from_secs(20));
    assert!(std::fs::read(&flash).expect("read the flash image") == old, "the flash is unchanged");
}

#[test]
fn update_refuses_a_rom_for_another_board() {
    refused(
        "update_refuses_a_rom_for_another_board",
        &shell_rom(Some("qemu-la464-virt")),
        &format!("the image is not for this board ({BOARD})"),
    );
}

#[test]
fn update_refuses_a_rom_without_identity() {
    refused(
        "update_refuses_a_rom_without_identity",
        &shell_rom(None),
        "the image has no identity record (payload kind 4), so the board it is for cannot be told",
    );
}

#[test]
fn update_refuses_a_wrong_size() {
    let mut short = image("firmware.rom");
    short.truncate(1 << 20);
    refused(
        "update_refuses_a_wrong_size",
        &short,
        "the image is 1048576 bytes but this board's flash is 2097152 (a ROM image is exactly the flash's size)",
    );
}

#[test]
fn update_refuses_a_damaged_firmware_part() {
    let mut bad = image("firmware.rom");
    bad[0x1000] ^= 0x01;
    let dir = (4096..bad.len()).step_by(4096).find(|&o| bad[o..].starts_with(b"TSROMDIR")).expect("directory");
    refused(
        "update_refuses_a_damaged_firmware_part",
        &bad,
        &format!("the firmware part (0..{dir:#x}) is corrupt: CRC-32 "),
    );
}

#[test]
fn update_refuses_a_damaged_payload() {
    let mut bad = image("firmware.rom");
    let dir = (4096..bad.len()).step_by(4096).find(|&o| bad[o..].starts_with(b"TSROMDIR")).expect("directory");
    let kernel_offset = u32::from_le_bytes(bad[dir + 32 + 20..dir + 32 + 24].try_into().unwrap()) as usize;
    bad[kernel_offset + 100] ^= 0x80;
    refused("update_refuses_a_damaged_payload", &bad, "payload 0 is corrupt: CRC-32 ");
}

#[test]
fn update_without_a_boot_flash_says_so() {
    let rom = scratch_file("update_without_a_boot_flash_says_so", "old.rom", &shell_rom(Some(BOARD)));
    let mut m = Machine::start(&MachineConfig::rom(rom));
    m.expect("tianshan-fw> ");
    m.send_line("update");
    m.expect("update: no boot flash: no virtio-blk disk has the serial tianshan-flash");
    m.expect("tianshan-fw> ");
    m.refute("start the send now");
}

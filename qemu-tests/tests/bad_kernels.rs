//! A damaged or wrong kernel in the ROM image gets a precise message from
//! the firmware, then the firmware shell: never a hang or a silent reset
//! (QEMU runs with -no-reboot, so a reset would end the test early).

use std::time::Duration;
use tianshan_elf::synth::SynthElf;
use tianshan_qemu_tests::{Machine, MachineConfig, image, scratch_file};
use tianshan_rom_image::{Directory, PayloadKind, RomBuilder};

/// A ROM with the real firmware and `kernel` as its kernel payload.
fn rom_with_kernel(test: &str, kernel: Vec<u8>) -> std::path::PathBuf {
    let firmware = image("firmware.bin");
    let flash = image("firmware.rom").len();
    let rom =
        RomBuilder::new(firmware, flash).payload("kernel", PayloadKind::Kernel, kernel).build().expect("ROM fits");
    scratch_file(test, "firmware.rom", &rom)
}

/// Boots `rom`, expects `message`, then the firmware shell, and checks the
/// shell still works and powers off cleanly.
fn expect_refusal(rom: &std::path::Path, message: &str) {
    let mut m = Machine::start(&MachineConfig::rom(rom));
    m.expect(message);
    m.expect("No bootable kernel; entering the firmware shell.");
    m.expect("tianshan-fw> ");
    m.refute("Tianshan kernel");
    m.send_line("version");
    m.expect("Tianshan firmware 0.1.0 on qemu-loongson3-virt");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

/// KSEG0 address of a physical address.
const fn kseg0(pa: u64) -> u64 {
    0xFFFF_FFFF_8000_0000 + pa
}

#[test]
fn random_bytes() {
    let junk: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let rom = rom_with_kernel("random_bytes", junk);
    expect_refusal(&rom, "boot: rom:kernel: not an ELF file (starts ");
}

#[test]
fn empty_file() {
    let rom = rom_with_kernel("empty_file", Vec::new());
    expect_refusal(&rom, "boot: rom:kernel: file is empty");
}

#[test]
fn truncated_elf() {
    let mut kernel = image("kernel.stripped.elf");
    kernel.truncate(kernel.len() / 2);
    let rom = rom_with_kernel("truncated_elf", kernel);
    expect_refusal(&rom, "run past the end of the file");
}

#[test]
fn x86_64_elf() {
    let mut elf = SynthElf::single(kseg0(0x20_0000), &[0; 64]);
    elf.machine = 62;
    let rom = rom_with_kernel("x86_64_elf", elf.build());
    expect_refusal(&rom, "boot: rom:kernel: ELF machine 62 (x86-64) is not MIPS (8)");
}

#[test]
fn segment_over_the_firmware() {
    let rom = rom_with_kernel("segment_over_the_firmware", SynthElf::single(kseg0(0x0EFF_F000), &[0; 0x2000]).build());
    expect_refusal(
        &rom,
        "boot: rom:kernel: segment 0 (0xefff000..0xf001000) overlaps firmware memory at 0xf000000..0xfe00000",
    );
}

#[test]
fn segment_outside_ram() {
    // KSEG0 reaches PA 0x1000_0000..0x2000_0000, which holds devices, not RAM.
    let rom = rom_with_kernel("segment_outside_ram", SynthElf::single(kseg0(0x1400_0000), &[0; 16]).build());
    expect_refusal(&rom, "boot: rom:kernel: segment 0 (0x14000000..0x14000010) lies outside RAM");
}

#[test]
fn flipped_bit_in_the_flash() {
    let mut rom = image("firmware.rom");
    let dir_offset = tianshan_rom_image::align_up(image("firmware.bin").len());
    let entry = Directory::parse(&rom, dir_offset).expect("good ROM").find(PayloadKind::Kernel).expect("kernel");
    rom[entry.offset as usize + 1000] ^= 0x04;
    let path = scratch_file("flipped_bit_in_the_flash", "firmware.rom", &rom);
    expect_refusal(&path, "boot: rom: boot ROM: payload 0 is corrupt: CRC-32 0x");
}

#[test]
fn flash_without_a_directory() {
    let firmware = image("firmware.bin");
    let mut rom = vec![0xFF; image("firmware.rom").len()];
    rom[..firmware.len()].copy_from_slice(&firmware);
    let path = scratch_file("flash_without_a_directory", "firmware.rom", &rom);
    expect_refusal(&path, "boot: rom: boot ROM: no payload directory at ROM offset 0x");
}

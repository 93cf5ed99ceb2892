//! The firmware shell that a failed boot lands in.

use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig, image, scratch_file};
use tianshan_rom_image::{PayloadKind, RomBuilder};

fn shell() -> Machine {
    let firmware = image("firmware.bin");
    let rom = RomBuilder::new(firmware, image("firmware.rom").len())
        .payload("kernel", PayloadKind::Kernel, b"not a kernel".to_vec())
        .build()
        .expect("ROM fits");
    let path = scratch_file("firmware_shell", "firmware.rom", &rom);
    let mut m = Machine::start(&MachineConfig::rom(path));
    m.expect("tianshan-fw> ");
    m
}

#[test]
fn commands_and_usage() {
    let mut m = shell();
    m.send_line("help");
    for cmd in ["version", "memmap", "timing", "boot", "reset", "poweroff"] {
        m.expect(cmd);
    }
    m.send_line("memmap");
    m.expect("0x000000000f000000 0x000000000fe00000    14336 K  firmware");
    m.expect("0x000000000fe00000 0x0000000010000000     2048 K  boot-info");
    m.send_line("timing");
    m.expect("reset");
    m.expect("platform");
    m.send_line("boot");
    m.expect("boot: rom:kernel: not an ELF file");
    m.send_line("memmap extra");
    m.expect("usage: memmap");
    m.send_line("xyzzy");
    m.expect("unknown command 'xyzzy'; type 'help' for the list");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn reset_restarts_the_machine() {
    let mut m = shell();
    // QEMU runs with -no-reboot: a guest reset ends it, with status 0.
    m.send_line("reset");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn unexpected_exceptions_dump_registers_and_return_to_the_shell() {
    let mut m = shell();
    m.send_line("exception break");
    m.expect("*** unexpected exception in firmware");
    m.expect("exception: breakpoint (ExcCode 9)");
    m.expect("  epc 0x");
    m.expect("    ra 0x");
    m.expect("*** dropping to the firmware shell");
    m.expect("tianshan-fw> ");
    // A load from an unmapped address: a TLB miss naming the address.
    m.send_line("exception tlb");
    m.expect("exception: TLB miss on load/fetch (ExcCode 2)");
    m.expect("badvaddr 0x0000000000000010");
    m.expect("tianshan-fw> ");
    // Faults in a row start the shell on a fresh stack each time: many of
    // them must not exhaust it.
    for _ in 0..40 {
        m.send_line("exception break");
        m.expect("*** dropping to the firmware shell");
        m.expect("tianshan-fw> ");
    }
    m.send_line("exception");
    m.expect("usage: exception <break|tlb>");
    m.send_line("version");
    m.expect("Tianshan firmware");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

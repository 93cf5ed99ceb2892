//! Boot-path tests: the good ROM reaches the kernel shell, the shell works,
//! and power-off ends QEMU with status 0.

use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig, image_dir};

fn boot_to_prompt() -> Machine {
    let mut m = Machine::start(&MachineConfig::rom(image_dir().join("firmware.rom")));
    m.expect("Tianshan firmware 0.1.0 on qemu-loongson3-virt");
    m.expect("platform: 1024 MiB RAM, 1 CPU, 800 MHz");
    m.expect("loader: rom:kernel:");
    m.expect("Tianshan kernel 0.1.0 on qemu-loongson3-virt");
    m.expect("tianshan> ");
    m
}

#[test]
fn banner_and_prompt() {
    let mut m = boot_to_prompt();
    m.refute("tianshan-fw>");
    m.send_line("help");
    for cmd in ["help", "version", "meminfo", "poweroff"] {
        m.expect(cmd);
    }
    m.expect("tianshan> ");
}

#[test]
fn shell_commands_answer() {
    let mut m = boot_to_prompt();
    m.send_line("version");
    m.expect("Tianshan kernel 0.1.0 on qemu-loongson3-virt");
    m.expect("started by Tianshan firmware 0.1.0");
    m.send_line("meminfo");
    m.expect("kernel");
    m.expect("firmware");
    m.expect("total 1048576 KiB: usable ");
    m.send_line("frobnicate now");
    m.expect("unknown command 'frobnicate'; type 'help' for the list");
    m.send_line("meminfo please");
    m.expect("usage: meminfo");
    // Backspace editing: "versiom" corrected to "version".
    m.send_line("versiom\x08n");
    m.expect("started by Tianshan firmware");
}

#[test]
fn poweroff_exits_qemu_with_status_0() {
    let mut m = boot_to_prompt();
    m.send_line("poweroff");
    let status = m.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "QEMU exit status after poweroff");
}

#[test]
fn memory_size_follows_qemu() {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.memory = "3G".into();
    let mut m = Machine::start(&cfg);
    m.expect("platform: 3072 MiB RAM");
    m.expect("tianshan> ");
    m.send_line("meminfo");
    // The high region starts after the low alias and ends at 0x8000_0000 +
    // 3 GiB, all usable (the scratch region at its top is given back);
    // every byte counts once. tests/memory.rs checks the figures per size.
    m.expect("0x0000000090000000 0x0000000140000000 ");
    m.expect("total 3145728 KiB");
}

#[test]
fn command_line_reaches_the_kernel() {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.fw_cfg_strings.push(("opt/tianshan/cmdline".into(), "console=ttyS0 tianshan.test=42".into()));
    let mut m = Machine::start(&cfg);
    m.expect("command line: console=ttyS0 tianshan.test=42");
    m.expect("tianshan> ");
}

#[test]
fn kernel_refuses_to_run_without_boot_info() {
    // QEMU's own -kernel boot enters the kernel with a0 = argc, not the
    // Tianshan handoff magic: the kernel must say so and stop.
    let mut cfg = MachineConfig::rom(image_dir().join("kernel.elf"));
    cfg.kernel = cfg.rom.take();
    // QEMU creates no fw_cfg device with -kernel.
    cfg.fw_cfg_strings.clear();
    let mut m = Machine::start(&cfg);
    m.expect("kernel: not started by Tianshan firmware: a0 = 0x2, expected the handoff magic");
    m.expect("kernel: halted");
    std::thread::sleep(Duration::from_millis(300));
    m.refute("tianshan> ");
}

#[test]
fn counter_is_calibrated_against_the_rtc() {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.extra = ["-icount", "shift=0,sleep=off", "-rtc", "clock=vm"].iter().map(|s| s.to_string()).collect();
    let mut m = Machine::start(&cfg);
    // Under -icount the RTC and Count share the virtual clock: exact.
    m.expect("platform: counter 400 MHz, measured 400.0 MHz against the RTC");
}

//! The kernel's shell commands, its fault paths, and its interrupt routing
//! on multi-core machines.

use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig, image_dir};

fn config() -> MachineConfig {
    MachineConfig::rom(image_dir().join("firmware.rom"))
}

fn boot(cfg: &MachineConfig) -> Machine {
    let mut m = Machine::start(cfg);
    m.expect("tianshan> ");
    m
}

#[test]
fn ps_lists_the_shell_and_idle_tasks() {
    let mut m = boot(&config());
    m.send_line("ps");
    m.expect("name");
    m.expect("shell");
    m.expect("running");
    m.expect("boot stack");
    m.expect("idle");
    m.expect("/16384");
    m.expect("tianshan> ");
}

#[test]
fn uptime_irqs_and_date() {
    let mut m = boot(&config());
    m.send_line("uptime");
    m.expect("up 0:00:");
    m.expect("ticks at 1000 Hz");
    m.send_line("irqs");
    m.expect("timer");
    // Every byte typed so far came in through the UART interrupt.
    m.expect("io0 uart");
    m.send_line("date");
    m.expect("20");
    m.expect(" UTC");
    let t = m.transcript();
    let uart_line = t.lines().find(|l| l.contains("io0 uart")).expect("uart line");
    let count: u64 = uart_line.split_whitespace().last().and_then(|n| n.parse().ok()).expect("a count");
    // Two lines were typed before `irqs` ran; a line may arrive in one burst.
    assert!(count >= 2, "UART interrupts counted: {count}");
}

#[test]
fn hz_comes_from_the_command_line() {
    let mut cfg = config();
    cfg.fw_cfg_strings.push(("opt/tianshan/cmdline".into(), "hz=250".into()));
    let mut m = boot(&cfg);
    m.send_line("uptime");
    m.expect("ticks at 250 Hz");
}

#[test]
fn stack_overflow_stops_only_that_task() {
    let mut m = boot(&config());
    m.send_line("crash overflow");
    m.expect("task 2 'overflow' overflowed its 16384-byte stack");
    m.expect("ended: Faulted; the kernel is still running");
    m.expect("tianshan> ");
    m.send_line("version");
    m.expect("Tianshan kernel 0.1.0");
}

#[test]
fn kernel_fault_dumps_registers_and_halts() {
    let mut m = boot(&config());
    m.send_line("crash badaddr");
    // Queued console output goes out before the fault report.
    m.expect("crash: loading from unmapped address 0x10\r\n");
    m.expect("*** kernel fault in task 0 'shell'");
    m.expect("exception: TLB miss on load/fetch (ExcCode 2)");
    m.expect("badvaddr 0x0000000000000010");
    m.expect("backtrace (best effort): 0x");
    m.expect("*** kernel halted");
    std::thread::sleep(Duration::from_millis(300));
    m.refute("resetting");
}

#[test]
fn panic_policy_reset_resets() {
    let mut cfg = config();
    cfg.fw_cfg_strings.push(("opt/tianshan/cmdline".into(), "panic=reset:1".into()));
    let mut m = boot(&cfg);
    m.send_line("crash badaddr");
    m.expect("*** resetting in 1 s");
    // QEMU runs with -no-reboot: the reset ends it.
    assert_eq!(m.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn bad_panic_policy_is_reported() {
    let mut cfg = config();
    cfg.fw_cfg_strings.push(("opt/tianshan/cmdline".into(), "panic=sometimes".into()));
    let mut m = boot(&cfg);
    let _ = &mut m;
    assert!(m.transcript().contains("kernel: ignoring panic=sometimes (use halt, reset or reset:SECONDS)"));
}

/// QEMU 10.0.2 wires the boot core (EBase 0) to LIOINTC core N-1; console
/// input only works if the kernel routes the UART there.
fn console_works_with_cpus(cpus: u32) {
    let mut cfg = config();
    cfg.cpus = cpus;
    let mut m = boot(&cfg);
    m.send_line("version");
    m.expect("started by Tianshan firmware");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn console_interrupts_with_two_cpus() {
    console_works_with_cpus(2);
}

#[test]
fn console_interrupts_with_four_cpus() {
    console_works_with_cpus(4);
}

#[test]
fn crash_needs_a_known_kind() {
    let mut m = boot(&config());
    m.send_line("crash");
    m.expect("usage: crash badaddr|overflow");
    m.send_line("crash sideways");
    m.expect("usage: crash badaddr|overflow");
}

#[test]
fn devices_come_from_the_boot_info() {
    let mut cfg = config();
    let disk = tianshan_qemu_tests::scratch_file("devices_come_from_the_boot_info", "disk.img", &vec![0u8; 1 << 20]);
    cfg.disks.push(disk);
    let mut m = boot(&cfg);
    m.send_line("devices");
    m.expect("00:00.0  1b36:0008 060000");
    // The virtio-blk function: its interrupt arrives on LIOINTC input 2 + (slot + INTA - 1) mod 4.
    m.expect("00:01.0  1af4:1001 010000    3");
    m.expect("2 devices (from the boot info)");
    assert!(m.transcript().contains("boot info v1.1"), "the banner names the block's version");
}

/// The `tx interrupts` figure of the `irqs` command's console line.
fn tx_interrupts(m: &mut Machine) -> u64 {
    m.send_line("irqs");
    let rest = m.expect_line_within("console: ", Duration::from_secs(30));
    m.expect("tianshan> ");
    let (n, _) = rest.split_once(" tx interrupts, ").unwrap_or_else(|| panic!("console line: {rest:?}"));
    let polled = rest.split(", ").nth(2).and_then(|p| p.split_whitespace().next()).and_then(|n| n.parse::<u64>().ok());
    assert_eq!(polled, Some(0), "output that fits the ring was sent polled: {rest:?}");
    n.parse().unwrap_or_else(|_| panic!("console line: {rest:?}"))
}

/// Console output goes through the transmit ring and the UART's THRE
/// interrupt: `help`, run several times, arrives complete, byte for byte
/// the same each time, lines in order, '\n' sent as "\r\n".
#[test]
fn long_output_arrives_intact_through_transmit_interrupts() {
    const COMMANDS: [&str; 13] = [
        "help", "version", "ps", "uptime", "meminfo", "irqs", "devices", "date", "bench", "boottime", "crash",
        "reboot", "poweroff",
    ];
    const RUNS: usize = 4;
    const ECHO: &str = "tianshan> help\r\n";
    let mut m = boot(&config());
    let before = tx_interrupts(&mut m);
    for _ in 0..RUNS {
        m.send_line("help");
        // The prompt before it was consumed already: match the echo.
        m.expect("help\r\n");
        m.expect("tianshan> ");
    }
    let after = tx_interrupts(&mut m);
    let t = m.transcript();
    let blocks: Vec<&str> =
        t.split(ECHO).skip(1).map(|rest| rest.split("tianshan> ").next().expect("a block")).collect();
    assert_eq!(blocks.len(), RUNS, "help outputs found");
    for block in &blocks {
        assert_eq!(block, &blocks[0], "help printed differently from one run to the next");
    }
    let help = blocks[0];
    // Several FIFO-fuls (16 bytes each), so the interrupt had to move most of it.
    assert!(help.len() > 10 * 16, "help is only {} bytes", help.len());
    assert_eq!(help.matches('\n').count(), help.matches("\r\n").count(), "a line ended without CR");
    let lines: Vec<&str> = help.lines().collect();
    assert_eq!(lines.len(), COMMANDS.len(), "help lines: {lines:#?}");
    for (line, cmd) in lines.iter().zip(COMMANDS) {
        let first = line.split_whitespace().next();
        assert!(line.starts_with("  ") && first == Some(cmd), "expected {cmd:?} next, got {line:?}");
        assert!(line.len() > 24 && line.is_ascii(), "help line damaged: {line:?}");
    }
    // Each run starts with the FIFO idle and writes pieces longer than
    // the FIFO, so each takes at least one THRE interrupt.
    assert!(after >= before + RUNS as u64, "tx interrupts {before} before, {after} after {RUNS} x help");
    m.send_line("poweroff");
    m.expect("powering off\r\n");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

/// `reboot` says so before the reset ends QEMU (run with -no-reboot).
#[test]
fn reboot_prints_its_message_first() {
    let mut m = boot(&config());
    m.send_line("reboot");
    m.expect("rebooting\r\n");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

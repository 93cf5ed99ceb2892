//! `cargo xtask bench`: figures, not pass/fail tests.
//!
//! Every run uses QEMU's `-icount shift=0,sleep=off -rtc clock=vm`: each
//! guest instruction is one nanosecond of virtual time and CP0 Count runs
//! at 400 MHz, so Count × 2.5 is an exact, repeatable instruction count.

use crate::board::Board;
use crate::build::{echo, images};
use crate::{Result, fail, qemu};
use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig};

/// QEMU arguments that make time deterministic.
const ICOUNT: [&str; 4] = ["-icount", "shift=0,sleep=off", "-rtc", "clock=vm"];

/// A target for one kernel figure: name as the kernel prints it, limit.
const KERNEL_TARGETS: [(&str, u64); 3] = [("yield switch", 400), ("channel round trip", 1000), ("irq entry+exit", 300)];

/// Runs the named benchmark.
pub fn run(board: &Board, what: &str) -> Result<()> {
    match what {
        "kernel" => kernel(board),
        other => fail!("unknown benchmark '{other}' (available: kernel)"),
    }
}

fn machine(board: &Board, rom: &std::path::Path) -> Result<Machine> {
    let binary = qemu::ensure_installed(board)?;
    let mut cfg = MachineConfig::rom(rom);
    cfg.qemu = Some((binary, board.qemu.args.clone()));
    cfg.extra = ICOUNT.iter().map(|s| s.to_string()).collect();
    echo(&cfg.command());
    Ok(Machine::start(&cfg))
}

/// Parses `bench: <name> <number>` lines.
fn figures(transcript: &str) -> Vec<(String, u64)> {
    transcript
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("bench: "))
        .filter_map(|rest| {
            let (name, n) = rest.rsplit_once(' ')?;
            Some((name.trim().to_string(), n.parse().ok()?))
        })
        .collect()
}

fn kernel(board: &Board) -> Result<()> {
    let images = images(board)?;
    let mut m = machine(board, &images.rom)?;
    m.expect_within("tianshan> ", Duration::from_secs(60));
    m.send_line("bench");
    m.expect_within("kernel entry to prompt", Duration::from_secs(300));
    m.expect("tianshan> ");
    m.send_line("poweroff");
    m.wait_exit(Duration::from_secs(30));
    let figs = figures(&m.transcript());
    if figs.is_empty() {
        fail!("the kernel printed no figures");
    }
    println!("kernel benchmarks, guest instructions per operation (QEMU -icount shift=0):");
    for (name, n) in &figs {
        let target = KERNEL_TARGETS.iter().find(|(t, _)| t == name).map(|(_, limit)| *limit);
        let verdict = match target {
            Some(limit) if *n <= limit => format!("target <= {limit}: met"),
            Some(limit) => format!("target <= {limit}: NOT met"),
            None => String::new(),
        };
        println!("  {name:<28} {n:>10}  {verdict}");
    }
    let picks: Vec<u64> = figs.iter().filter(|(n, _)| n.starts_with("pick, ")).map(|(_, v)| *v).collect();
    if let (Some(lo), Some(hi)) = (picks.iter().min(), picks.iter().max()) {
        let spread = (hi - lo) as f64 * 100.0 / *lo as f64;
        println!(
            "  pick cost spread 2..1024 ready tasks: {spread:.1}% (target within 10%: {})",
            if spread <= 10.0 { "met" } else { "NOT met" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::figures;

    #[test]
    fn parses_figure_lines() {
        let t = "bench: figures in guest instructions (exact)\r\nbench: yield switch                  265\r\nbench: pick, 2 ready 31\n";
        assert_eq!(figures(t), vec![("yield switch".to_string(), 265), ("pick, 2 ready".to_string(), 31)]);
    }
}

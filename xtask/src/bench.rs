//! `cargo xtask bench`: figures, not pass/fail tests.
//!
//! Every run uses QEMU's `-icount shift=0,sleep=off -rtc clock=vm`: each
//! guest instruction is one nanosecond of virtual time and CP0 Count runs
//! at 400 MHz, so Count × 2.5 is an exact, repeatable instruction count.

mod linux;

use crate::board::Board;
use crate::build::{echo, images};
use crate::{Result, fail, qemu};
use std::time::Duration;
use tianshan_qemu_tests::disk::mbr_fat16_fitting;
use tianshan_qemu_tests::{Machine, MachineConfig};

/// QEMU arguments that make time deterministic.
const ICOUNT: [&str; 4] = ["-icount", "shift=0,sleep=off", "-rtc", "clock=vm"];

/// A target for one kernel figure: name as the kernel prints it, limit.
const KERNEL_TARGETS: [(&str, u64); 3] = [("yield switch", 400), ("channel round trip", 1000), ("irq entry+exit", 300)];

/// Runs the named benchmark.
pub fn run(board: &Board, what: &str) -> Result<()> {
    match what {
        "kernel" => kernel(board),
        "boot" => boot(board),
        "linux" => linux::run(board),
        other => fail!("unknown benchmark '{other}' (available: kernel, boot, linux)"),
    }
}

fn machine(board: &Board, rom: &std::path::Path) -> Result<Machine> {
    machine_with(board, MachineConfig::rom(rom))
}

fn machine_with(board: &Board, mut cfg: MachineConfig) -> Result<Machine> {
    let binary = qemu::ensure_installed(board)?;
    cfg.qemu = Some((binary, board.qemu.args.clone()));
    cfg.extra.extend(ICOUNT.iter().map(|s| s.to_string()));
    echo(&cfg.command());
    Ok(Machine::start(&cfg))
}

/// Size of the large kernel the fw_cfg load is measured with.
const LARGE_KERNEL: usize = 5 << 20;
/// Target for the firmware's own work (its size budget is in board.toml).
const FIRMWARE_WORK_TARGET: u64 = 1_000_000;

/// Boots with `cfg`, runs `boottime`, returns (phase, instructions) rows.
fn boottime(board: &Board, cfg: MachineConfig) -> Result<Vec<(String, u64)>> {
    let mut m = machine_with(board, cfg)?;
    m.expect_within("tianshan> ", Duration::from_secs(120));
    m.send_line("boottime");
    m.expect_within("firmware-total", Duration::from_secs(30));
    m.expect("tianshan> ");
    m.send_line("poweroff");
    m.wait_exit(Duration::from_secs(30));
    let rows = m
        .transcript()
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("boottime: "))
        .filter_map(|rest| {
            let mut w = rest.split_whitespace();
            let name = w.next()?.to_string();
            let insns = w.nth(2)?.parse().ok()?;
            Some((name, insns))
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        fail!("the kernel printed no boot timings");
    }
    Ok(rows)
}

fn get(rows: &[(String, u64)], name: &str) -> u64 {
    rows.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v)
}

fn boot(board: &Board) -> Result<()> {
    let images = images(board)?;
    let dir = crate::root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config-rom");
    std::fs::write(&config, "bootdelay = 0\n")?;
    let mut cfg = MachineConfig::rom(&images.rom);
    cfg.config_file(config);
    let rom_rows = boottime(board, cfg)?;

    let mut kernel = std::fs::read(images.dir.join("kernel.stripped.elf"))?;
    kernel.resize(LARGE_KERNEL.max(kernel.len()), 0);
    let large = dir.join("kernel-5MiB.elf");
    std::fs::write(&large, &kernel)?;
    let config = dir.join("config-fwcfg");
    std::fs::write(&config, "bootdelay = 0\nbootorder = fwcfg\n")?;
    let mut cfg = MachineConfig::rom(&images.rom);
    cfg.config_file(config);
    cfg.fw_cfg_files.push(("opt/tianshan/kernel".into(), large));
    let fw_rows = boottime(board, cfg)?;

    // The same kernel from a virtio-blk disk: MBR, FAT16, a BLS entry.
    let entry = b"title Tianshan (cargo xtask bench boot)\nlinux /kernel.elf\n";
    let disk = dir.join("disk-5MiB.img");
    std::fs::write(&disk, mbr_fat16_fitting(&[("loader/entries/tianshan.conf", entry), ("kernel.elf", &kernel)]))?;
    let config = dir.join("config-disk");
    std::fs::write(&config, "bootdelay = 0\nbootorder = disk\n")?;
    let mut cfg = MachineConfig::rom(&images.rom);
    cfg.config_file(config);
    cfg.disks.push(disk);
    let disk_rows = boottime(board, cfg)?;

    println!("boot benchmarks, guest instructions (QEMU -icount shift=0), bootdelay 0:");
    println!("  reset to kernel entry, embedded kernel, by phase (each row: since the previous one):");
    for (name, n) in &rom_rows {
        println!("    {name:<22} {n:>12}");
    }
    let total = get(&rom_rows, "firmware-total");
    let payload = get(&rom_rows, "loader");
    let own = total.saturating_sub(payload);
    println!(
        "  firmware's own work (reset to entry, less the loader's payload read, CRC check and copy): {own} (target < {FIRMWARE_WORK_TARGET}: {})",
        if own < FIRMWARE_WORK_TARGET { "met" } else { "NOT met" }
    );
    for (source, rows) in [("fw_cfg", &fw_rows), ("virtio-blk (FAT16, BLS entry)", &disk_rows)] {
        println!(
            "  loading a {} MiB kernel from {source} (read, validate, copy): {} instructions",
            LARGE_KERNEL >> 20,
            get(rows, "loader")
        );
    }
    // The build already failed if the firmware outgrew its budget.
    println!("  ROM image without payload against the board's budget: {}", images.stages[0]);
    Ok(())
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

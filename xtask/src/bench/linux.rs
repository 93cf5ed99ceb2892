//! `cargo xtask bench linux`: Linux through the firmware vs QEMU's -kernel.
//!
//! Measured from QEMU start to `/init`'s marker. The same kernel, initrd
//! and options (`cargo xtask fetch-linux`'s fixture) boot three ways in one
//! run, `-m 1G -smp 1`:
//!
//! * QEMU's `-kernel -initrd -append` (no firmware at all: QEMU loads the
//!   ELF and initrd itself and enters Linux through its own LEFI tables);
//! * the firmware from a virtio-blk disk: an MBR, a FAT16 partition with
//!   the kernel, the initrd and `/loader/entries/linux.conf`
//!   (`bootorder = disk`);
//! * the firmware from fw_cfg: `opt/tianshan/kernel`, `opt/tianshan/initrd`,
//!   `opt/tianshan/cmdline` (`bootorder = fwcfg`).
//!
//! Two figures each, with the ratio to `-kernel`:
//!
//! * guest instructions, counted by QEMU, under `-icount shift=0,sleep=off
//!   -rtc clock=vm -no-shutdown`. `/init` prints the marker, its CPU
//!   count, MemTotal and command line, and powers off; QEMU then stops
//!   instead of exiting and QMP `query-replay` reads its instruction
//!   counter. The count therefore runs a few million instructions past the
//!   marker (the same `/init` work on every path, under 0.3 % of the
//!   total). It repeats to within the few ten thousand a vCPU spins
//!   between the power-off request and QEMU stopping it, except where the
//!   guest polls a device that QEMU serves in host time (virtio-blk
//!   requests complete asynchronously): so each path runs [`RUNS`] times
//!   and the table gives the fewest and the spread. A Linux timestamp
//!   would not do: Linux's clock starts with Linux, so it leaves out the
//!   firmware that is being measured.
//! * wall time from starting QEMU to seeing the marker on the serial line,
//!   QEMU running freely (no `-icount`): the shortest of [`RUNS`] runs,
//!   the paths taking turns (other work on the host only ever adds time,
//!   so the shortest run is the least disturbed).
//!
//! Targets (on instructions, the exact figure; the time ratio is judged
//! the same way for information): disk at most [`DISK_TARGET`] × `-kernel`,
//! fw_cfg at most [`FWCFG_TARGET`] ×. A missed target is printed as `NOT
//! met`; it does not fail the command.

use super::ICOUNT;
use crate::board::Board;
use crate::build::{echo, images};
use crate::qmp::Qmp;
use crate::{Result, fail, linux, qemu, root};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tianshan_qemu_tests::disk::{MIB, mbr_fat16_fitting};
use tianshan_qemu_tests::{Machine, MachineConfig};

/// What the fixture's `/init` prints first.
const MARKER: &str = linux::INIT_MARKER;
/// The firmware's prompts: it booted its own kernel or stopped in its shell.
const NOT_LINUX: [&str; 2] = ["tianshan> ", "tianshan-fw> "];
/// The command line of every path (QEMU and the firmware add `rd_start=`
/// and `rd_size=` in front).
const OPTIONS: &str = "console=ttyS0 tianshan.bench=linux";
/// Runs per path and figure.
const RUNS: usize = 3;
/// Longest wait for one boot.
const DEADLINE: Duration = Duration::from_secs(300);
/// Targets: instructions (and time) relative to QEMU's `-kernel`.
const DISK_TARGET: f64 = 1.05;
const FWCFG_TARGET: f64 = 1.15;

/// One way to boot the fixture.
struct BootPath {
    /// Short name (file names, QMP socket).
    tag: &'static str,
    /// What the table calls it.
    label: &'static str,
    /// Ratio to `-kernel` this path must stay within, if any.
    target: Option<f64>,
    config: MachineConfig,
}

/// The three paths, `-kernel` first.
fn paths(board: &Board, vmlinuz: &Path, initramfs: &Path) -> Result<Vec<BootPath>> {
    let images = images(board)?;
    let binary = qemu::ensure_installed(board)?;
    let dir = root().join("target/bench/linux");
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error(format!("{}: {e}", dir.display())))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| crate::Error(format!("{}: {e}", path.display())))?;
        Ok(path)
    };
    let read = |path: &Path| std::fs::read(path).map_err(|e| crate::Error(format!("{}: {e}", path.display())));

    let mut direct = MachineConfig::rom(vmlinuz);
    direct.kernel = direct.rom.take();
    // QEMU has no fw_cfg device when it loads the kernel itself.
    direct.fw_cfg_strings.clear();
    direct.initrd = Some(initramfs.to_path_buf());
    direct.append = Some(OPTIONS.into());

    let (kernel, initrd) = (read(vmlinuz)?, read(initramfs)?);
    let entry = format!(
        "title   Linux (cargo xtask bench linux)\nlinux   /vmlinuz\ninitrd  /initramfs.cpio.gz\noptions {OPTIONS}\n"
    );
    let disk_image = mbr_fat16_fitting(&[
        ("loader/entries/linux.conf", entry.as_bytes()),
        ("vmlinuz", &kernel),
        ("initramfs.cpio.gz", &initrd),
    ]);
    let mut disk = MachineConfig::rom(&images.rom);
    disk.config_file(write("config-disk", b"bootdelay = 0\nbootorder = disk\n")?);
    disk.disks.push(write("disk.img", &disk_image)?);

    let mut fwcfg = MachineConfig::rom(&images.rom);
    fwcfg.config_file(write("config-fwcfg", b"bootdelay = 0\nbootorder = fwcfg\n")?);
    fwcfg.fw_cfg_files.push(("opt/tianshan/kernel".into(), vmlinuz.to_path_buf()));
    fwcfg.fw_cfg_files.push(("opt/tianshan/initrd".into(), initramfs.to_path_buf()));
    fwcfg.fw_cfg_strings.push(("opt/tianshan/cmdline".into(), OPTIONS.into()));

    let mut paths = vec![
        BootPath { tag: "direct", label: "QEMU -kernel (no firmware)", target: None, config: direct },
        BootPath { tag: "disk", label: "firmware, virtio-blk BLS", target: Some(DISK_TARGET), config: disk },
        BootPath { tag: "fwcfg", label: "firmware, fw_cfg", target: Some(FWCFG_TARGET), config: fwcfg },
    ];
    for p in &mut paths {
        p.config.qemu = Some((binary.clone(), board.qemu.args.clone()));
    }
    Ok(paths)
}

/// Waits for the marker; fails, with the firmware's `boot:` lines, if the
/// firmware booted something else.
fn wait_for_marker(m: &mut Machine, path: &BootPath) -> Result<()> {
    let mut expected = vec![MARKER];
    expected.extend(NOT_LINUX);
    let got = m.expect_any_within(&expected, DEADLINE);
    if got != 0 {
        let transcript = m.transcript();
        let boot: Vec<&str> = transcript.lines().filter(|l| l.starts_with("boot: ")).collect();
        fail!(
            "{}: the firmware did not boot Linux ({:?} came before {MARKER:?}); its boot lines:\n  {}",
            path.label,
            expected[got],
            boot.join("\n  ")
        );
    }
    Ok(())
}

/// Wall time from starting QEMU to the marker.
fn wall_time(path: &BootPath) -> Result<Duration> {
    echo(&path.config.command());
    let start = Instant::now();
    let mut m = Machine::start(&path.config);
    wait_for_marker(&mut m, path)?;
    // Dropping the machine ends QEMU; the rest of the boot is not measured.
    Ok(start.elapsed())
}

/// Guest instructions from QEMU start to Linux's power-off request.
fn instructions(path: &BootPath) -> Result<u64> {
    let socket = std::env::temp_dir().join(format!("tianshan-bench-{}-{}.qmp", std::process::id(), path.tag));
    let _ = std::fs::remove_file(&socket);
    let mut cfg = path.config.clone();
    cfg.extra.extend(ICOUNT.iter().map(|s| s.to_string()));
    cfg.extra.extend(["-no-shutdown".into(), "-qmp".into(), format!("unix:{},server=on,wait=off", socket.display())]);
    echo(&cfg.command());
    let mut m = Machine::start(&cfg);
    wait_for_marker(&mut m, path)?;
    let counted = (|| {
        let mut qmp = Qmp::connect(&socket, Duration::from_secs(10))?;
        let state = qmp.wait_stopped(DEADLINE)?;
        if state != "shutdown" {
            fail!("{}: QEMU stopped in state '{state}', not after Linux's power-off", path.label);
        }
        let n = qmp.icount()?;
        qmp.quit()?;
        Ok(n)
    })();
    let _ = std::fs::remove_file(&socket);
    counted
}

fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target { "met" } else { "NOT met" }
}

/// Runs the benchmark and prints the table.
pub fn run(board: &Board) -> Result<()> {
    let Some((vmlinuz, initramfs)) = linux::fetched() else {
        fail!("bench linux needs the Linux fixture: run `cargo xtask fetch-linux` first");
    };
    let paths = paths(board, &vmlinuz, &initramfs)?;

    // The paths take turns, so a busy moment on the host is shared.
    let mut counts = vec![Vec::new(); paths.len()];
    let mut times = vec![Vec::new(); paths.len()];
    for _ in 0..RUNS {
        for (path, n) in paths.iter().zip(&mut counts) {
            n.push(instructions(path)?);
        }
    }
    for _ in 0..RUNS {
        for (path, t) in paths.iter().zip(&mut times) {
            t.push(wall_time(path)?);
        }
    }
    let fewest = |runs: &Vec<u64>| *runs.iter().min().expect("RUNS is not 0");
    let spreads: Vec<u64> =
        counts.iter().map(|runs| runs.iter().max().expect("RUNS is not 0") - fewest(runs)).collect();
    let counts: Vec<u64> = counts.iter().map(fewest).collect();
    let times: Vec<Duration> = times.into_iter().map(|t| t.into_iter().min().expect("RUNS is not 0")).collect();

    let rel = |p: &Path| p.strip_prefix(root()).unwrap_or(p).display().to_string();
    let mib = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / MIB as f64).unwrap_or(0.0);
    println!("Linux boot, QEMU start to {MARKER} (-m 1G -smp 1):");
    println!(
        "  kernel {} ({:.1} MiB), initrd {} ({:.1} MiB), options '{OPTIONS}'",
        rel(&vmlinuz),
        mib(&vmlinuz),
        rel(&initramfs),
        mib(&initramfs)
    );
    println!(
        "  {:<28} {:>18} {:>10} {:>12} {:>7} {:>11} {:>7}  target",
        "path", "guest instructions", "spread", "extra", "ratio", "wall time", "ratio"
    );
    let (base_n, base_t) = (counts[0] as f64, times[0].as_secs_f64());
    for (((path, n), spread), t) in paths.iter().zip(&counts).zip(&spreads).zip(&times) {
        let (rn, rt) = (*n as f64 / base_n, t.as_secs_f64() / base_t);
        let target = match path.target {
            Some(limit) => {
                format!("<= {limit:.2}: instructions {}, time {}", verdict(rn, limit), verdict(rt, limit))
            }
            None => String::from("(baseline)"),
        };
        let extra = *n as i64 - counts[0] as i64;
        println!(
            "  {:<28} {n:>18} {spread:>10} {extra:>+12} {rn:>7.3} {:>9.2} s {rt:>7.3}  {target}",
            path.label,
            t.as_secs_f64()
        );
    }
    println!(
        "  instructions: QEMU's counter under -icount shift=0 (QMP query-replay) when Linux powers off, \
         just after /init printed the marker; fewest of {RUNS} runs, spread = most - fewest"
    );
    println!("  wall time: to the marker without -icount, best of {RUNS} runs");
    Ok(())
}

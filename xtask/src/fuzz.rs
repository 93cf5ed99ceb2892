//! `cargo xtask fuzz`: seed corpora from real tools, then libFuzzer runs.
//!
//! The targets live in `fuzz/` (a cargo-fuzz project with its own
//! workspace). This module installs what a fresh machine lacks (cargo-fuzz
//! from crates.io; as root, the Debian packages with mkfs.vfat, mcopy,
//! sgdisk, sfdisk and mkfs.ext4), builds the seed corpora into
//! `target/fuzz/seeds/` when they are absent, builds the targets (release,
//! with debug assertions and overflow checks, no sanitizer: the parsers are
//! safe Rust, so a sanitizer would only slow them), runs one target or all,
//! and prints per target the executions, exec/s, corpus size and crashes.
//! A crash makes the command fail with the crash file's path.
//!
//! Disk targets read `fuzz/src/disk.rs`'s sparse format; `sparse` below is
//! its encoder, which keeps a 34 MiB FAT32 image to a few KiB of input.

use crate::build::{cargo, echo, run_echoed};
use crate::{Result, fail, root};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USAGE: &str = "usage: cargo xtask fuzz [TARGET] [--time SECONDS] [--runs N]";
/// Seconds per target when neither `--time` nor `--runs` is given.
const DEFAULT_SECONDS: u64 = 60;
/// Seconds one input may take before libFuzzer calls it a hang.
const INPUT_TIMEOUT_SECONDS: u64 = 10;
/// Memory a target may use before libFuzzer calls it a leak or blow-up.
const RSS_LIMIT_MB: u64 = 2048;
/// The Debian packages the disk seeds are made with, and a tool of each.
const SEED_PACKAGES: [(&str, &str); 5] = [
    ("dosfstools", "mkfs.vfat"),
    ("mtools", "mcopy"),
    ("gdisk", "sgdisk"),
    ("fdisk", "sfdisk"),
    ("e2fsprogs", "mkfs.ext4"),
];
/// Sector size of the sparse format.
const SECTOR: usize = 512;
/// Longest record the sparse format's u16 length allows, in whole sectors.
const MAX_RECORD: usize = 127 * SECTOR;
const MIB: u64 = 1 << 20;

/// One fuzz target: its name (a `fuzz/fuzz_targets/` file) and its
/// libFuzzer `-max_len` (room for its largest seed, small enough to stay fast).
struct Target {
    name: &'static str,
    max_len: usize,
}

const TARGETS: [Target; 11] = [
    Target { name: "elf", max_len: 4096 },
    Target { name: "gzip", max_len: 16384 },
    Target { name: "gpt", max_len: 8192 },
    Target { name: "mbr", max_len: 8192 },
    Target { name: "fat", max_len: 65536 },
    Target { name: "ext", max_len: 65536 },
    Target { name: "bls", max_len: 4096 },
    Target { name: "pmon", max_len: 4096 },
    Target { name: "config", max_len: 4096 },
    Target { name: "bootinfo", max_len: 8192 },
    Target { name: "lefi", max_len: 4096 },
];

/// How long each target runs.
enum Budget {
    Seconds(u64),
    Runs(u64),
}

/// What one run found.
struct Outcome {
    name: &'static str,
    executions: u64,
    seconds: f64,
    exec_per_second: u64,
    corpus: usize,
    crash: Option<String>,
}

/// `cargo xtask fuzz [TARGET] [--time S] [--runs N]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut only = None;
    let mut budget = Budget::Seconds(DEFAULT_SECONDS);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> Result<u64> {
            let v = it.next().ok_or(crate::Error(format!("{what} needs a number\n{USAGE}")))?;
            v.parse().map_err(|_| crate::Error(format!("{what} {v}: not a number\n{USAGE}")))
        };
        match a.as_str() {
            "--time" => budget = Budget::Seconds(number("--time")?),
            "--runs" => budget = Budget::Runs(number("--runs")?),
            name if !name.starts_with('-') && only.is_none() => {
                let Some(t) = TARGETS.iter().find(|t| t.name == name) else {
                    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
                    fail!("no fuzz target '{name}' (targets: {})", names.join(", "));
                };
                only = Some(t);
            }
            other => fail!("unknown option '{other}'\n{USAGE}"),
        }
    }
    let targets: Vec<&Target> = match only {
        Some(t) => vec![t],
        None => TARGETS.iter().collect(),
    };
    ensure_cargo_fuzz()?;
    let seeds = seeds()?;
    let mut build = cargo();
    build.current_dir(fuzz_dir()).args(["fuzz", "build", "--release", "--debug-assertions", "--sanitizer", "none"]);
    if let [t] = targets.as_slice() {
        build.arg(t.name);
    }
    run_echoed(&mut build)?;
    let mut outcomes = Vec::new();
    for t in targets {
        outcomes.push(run_target(t, &budget, &seeds)?);
    }
    report(&outcomes);
    let crashes: Vec<String> =
        outcomes.iter().filter_map(|o| o.crash.as_ref().map(|c| format!("{}: {c}", o.name))).collect();
    if !crashes.is_empty() {
        fail!("{} target(s) crashed:\n  {}", crashes.len(), crashes.join("\n  "));
    }
    Ok(())
}

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// Where runs keep their corpora, logs and crash files (git-ignored).
fn work_dir() -> PathBuf {
    root().join("target/fuzz")
}

/// Installs cargo-fuzz from crates.io when `cargo fuzz` is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    let present = cargo().args(["fuzz", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if present.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    eprintln!("xtask: cargo-fuzz is missing; installing it from crates.io (a few minutes, once)");
    run_echoed(cargo().args(["install", "cargo-fuzz", "--locked"]))
}

/// True when `tool` is on PATH (or in /usr/sbin, where mkfs lives).
fn have(tool: &str) -> bool {
    let in_sbin = ["/usr/sbin", "/sbin"].iter().any(|d| Path::new(d).join(tool).exists());
    in_sbin
        || Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Installs the seed tools' packages (as root), or says how.
fn ensure_seed_tools() -> Result<()> {
    let missing: Vec<&str> = SEED_PACKAGES.iter().filter(|(_, tool)| !have(tool)).map(|(p, _)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !crate::qemu::is_root() {
        fail!("the fuzz seeds need {}: sudo apt-get install {}", missing.join(", "), missing.join(" "));
    }
    eprintln!("xtask: the fuzz seeds need {}; installing Debian's packages", missing.join(", "));
    run_echoed(Command::new("apt-get").args(["update", "-q"]))?;
    run_echoed(Command::new("apt-get").args(["install", "-y", "-q"]).args(&missing))
}

/// Runs a seed tool, echoed, failing on a non-zero exit.
fn tool(program: &str, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::null());
    run_echoed(&mut cmd)
}

/// A file of `size` zero bytes (what truncate makes).
fn blank_image(path: &Path, size: u64) -> Result<()> {
    let file = std::fs::File::create(path)?;
    file.set_len(size)?;
    Ok(())
}

/// Encodes a disk image in `fuzz/src/disk.rs`'s sparse format: the size in
/// sectors, then one record per run of non-zero sectors.
fn sparse(image: &[u8]) -> Vec<u8> {
    let sectors = image.len().div_ceil(SECTOR);
    let mut out = (sectors as u32).to_le_bytes().to_vec();
    let nonzero = |i: usize| image[i * SECTOR..((i + 1) * SECTOR).min(image.len())].iter().any(|&b| b != 0);
    let mut i = 0;
    while i < sectors {
        if !nonzero(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < sectors && nonzero(i) && (i + 1 - start) * SECTOR <= MAX_RECORD {
            i += 1;
        }
        let bytes = &image[start * SECTOR..(i * SECTOR).min(image.len())];
        out.extend_from_slice(&((start * SECTOR) as u32).to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// The seed directories of every target: `target/fuzz/seeds/<target>`,
/// built when absent, and the committed `fuzz/seeds/<target>` text seeds.
fn seeds() -> Result<PathBuf> {
    let dir = work_dir().join("seeds");
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    ensure_seed_tools()?;
    let scratch = work_dir().join("seed-scratch");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    for t in &TARGETS {
        std::fs::create_dir_all(dir.join(t.name))?;
    }
    let tree = sample_tree(&scratch)?;
    fat_seeds(&scratch, &tree, &dir.join("fat"))?;
    ext_seeds(&scratch, &tree, &dir.join("ext"))?;
    table_seeds(&scratch, &dir.join("gpt"), &dir.join("mbr"))?;
    elf_gzip_seeds(&dir.join("elf"), &dir.join("gzip"))?;
    bootinfo_seeds(&dir.join("bootinfo"))?;
    std::fs::remove_dir_all(&scratch)?;
    std::fs::write(dir.join(".complete"), b"")?;
    for t in &TARGETS {
        let n = std::fs::read_dir(dir.join(t.name))?.count();
        eprintln!("xtask: {n} seed(s) for {} in {}", t.name, dir.join(t.name).display());
    }
    Ok(dir)
}

/// A small boot tree: kernel, BLS entry, boot.cfg, long names, nesting,
/// an empty file, a file large enough for indirect blocks, and links.
fn sample_tree(scratch: &Path) -> Result<PathBuf> {
    let tree = scratch.join("tree");
    let kernel: Vec<u8> = (0..14 * 1024u32).map(|i| (i % 251) as u8 + 1).collect();
    let files: [(&str, &[u8]); 7] = [
        ("boot/vmlinuz-6.1.0-loongson-3", &kernel),
        ("boot/boot.cfg", b"default 0\ntimeout 3\ntitle Debian\n  kernel (wd0,0)/boot/vmlinuz\n  args console=ttyS0\n"),
        ("loader/entries/debian.conf", b"title Debian\nlinux /boot/vmlinuz-6.1.0-loongson-3\noptions root=/dev/vda2\n"),
        ("tianshan.cfg", b"bootdelay = 0\nbootorder = disk, rom\n"),
        ("A file with a long name.txt", b"long file names are stored in several entries\n"),
        ("deep/er/and/deeper/leaf", b"leaf\n"),
        ("empty", b""),
    ];
    for (path, data) in files {
        let at = tree.join(path);
        std::fs::create_dir_all(at.parent().expect("a file has a directory"))?;
        std::fs::write(at, data)?;
    }
    std::os::unix::fs::symlink("boot/vmlinuz-6.1.0-loongson-3", tree.join("vmlinuz"))?;
    let long_target = format!("deep/er/and/deeper/{}/../leaf", "x".repeat(40));
    std::os::unix::fs::symlink(long_target, tree.join("slow-link"))?;
    Ok(tree)
}

fn fat_seeds(scratch: &Path, tree: &Path, out: &Path) -> Result<()> {
    // (FAT type, image size, sectors per cluster): FAT32 needs 65525 clusters.
    for (bits, size, cluster) in [("12", MIB, "1"), ("16", 16 * MIB, "4"), ("32", 34 * MIB, "1")] {
        let image = scratch.join(format!("fat{bits}.img"));
        blank_image(&image, size)?;
        let path = image.to_str().expect("UTF-8 path");
        tool("mkfs.vfat", &["-F", bits, "-s", cluster, "-n", "TIANSHAN", path])?;
        let mut mcopy = Command::new("mcopy");
        mcopy.args(["-s", "-i", path]);
        for entry in std::fs::read_dir(tree)? {
            let entry = entry?.path();
            if !entry.is_symlink() {
                mcopy.arg(entry);
            }
        }
        mcopy.arg("::");
        run_echoed(&mut mcopy)?;
        std::fs::write(out.join(format!("fat{bits}")), sparse(&std::fs::read(&image)?))?;
    }
    Ok(())
}

fn ext_seeds(scratch: &Path, tree: &Path, out: &Path) -> Result<()> {
    let tree = tree.to_str().expect("UTF-8 path");
    let variants: [(&str, &[&str], u64); 7] = [
        ("ext2-1k", &["-t", "ext2", "-b", "1024"], 2 * MIB),
        ("ext3-1k", &["-t", "ext3", "-b", "1024", "-J", "size=1"], 4 * MIB),
        ("ext4-1k", &["-t", "ext4", "-b", "1024", "-O", "^has_journal"], 2 * MIB),
        ("ext4-4k", &["-t", "ext4", "-b", "4096", "-O", "^has_journal"], 4 * MIB),
        ("ext4-blockmap", &["-t", "ext4", "-b", "1024", "-O", "^has_journal,^extents,^64bit"], 2 * MIB),
        (
            "ext4-metabg",
            &["-t", "ext4", "-b", "1024", "-I", "128", "-O", "^has_journal,meta_bg,^resize_inode"],
            2 * MIB,
        ),
        ("ext4-inline", &["-t", "ext4", "-b", "1024", "-O", "^has_journal,inline_data"], 2 * MIB),
    ];
    for (name, options, size) in variants {
        let image = scratch.join(format!("{name}.img"));
        blank_image(&image, size)?;
        let path = image.to_str().expect("UTF-8 path");
        let mut args = vec!["-q", "-F", "-N", "64", "-E", "nodiscard,root_owner=0:0", "-d", tree];
        args.extend_from_slice(options);
        args.push(path);
        tool("mkfs.ext4", &args)?;
        std::fs::write(out.join(name), sparse(&std::fs::read(&image)?))?;
    }
    Ok(())
}

/// Runs sfdisk with `script` on its standard input.
fn sfdisk(image: &str, script: &str) -> Result<()> {
    let mut cmd = Command::new("sfdisk");
    cmd.args(["-q", image]).stdin(Stdio::piped()).stdout(Stdio::null());
    echo(&cmd);
    let mut child = cmd.spawn()?;
    child.stdin.take().expect("piped").write_all(script.as_bytes())?;
    if !child.wait()?.success() {
        fail!("sfdisk failed on {image}");
    }
    Ok(())
}

fn table_seeds(scratch: &Path, gpt: &Path, mbr: &Path) -> Result<()> {
    let image = scratch.join("gpt.img");
    let path = image.to_str().expect("UTF-8 path");
    blank_image(&image, 4 * MIB)?;
    tool(
        "sgdisk",
        &[
            "-n",
            "1:2048:+1M",
            "-t",
            "1:ef00",
            "-c",
            "1:EFI system",
            "-n",
            "2:0:+1M",
            "-t",
            "2:8300",
            "-c",
            "2:root",
            "-n",
            "3:0:0",
            "-t",
            "3:8200",
            path,
        ],
    )?;
    let table = std::fs::read(&image)?;
    std::fs::write(gpt.join("gpt"), sparse(&table))?;
    // The same disk with its primary header wiped: the backup must be read.
    let mut damaged = table.clone();
    damaged[SECTOR..2 * SECTOR].fill(0);
    std::fs::write(gpt.join("gpt-backup-only"), sparse(&damaged))?;
    // Hybrid: sgdisk's protective MBR, so the MBR target sees one too.
    std::fs::write(mbr.join("gpt-protective"), sparse(&table))?;
    let scripts = [
        ("mbr-primary", "label: dos\nstart=2048, size=2048, type=c, bootable\nstart=4096, size=2048, type=83\n"),
        (
            "mbr-logical",
            "label: dos\nstart=2048, size=1024, type=c\nstart=3072, type=5\nstart=4096, size=1024, type=83\n\
             start=6144, size=1024, type=83\nstart=8192, type=82\n",
        ),
    ];
    for (name, script) in scripts {
        let image = scratch.join(format!("{name}.img"));
        blank_image(&image, 8 * MIB)?;
        let path = image.to_str().expect("UTF-8 path");
        sfdisk(path, script)?;
        std::fs::write(mbr.join(name), sparse(&std::fs::read(&image)?))?;
    }
    Ok(())
}

/// A gzip seed: name, contents, FNAME, FCOMMENT, and whether it has FEXTRA.
type GzipSeed<'a> = (&'a str, &'a [u8], Option<&'a str>, Option<&'a str>, bool);

fn elf_gzip_seeds(elf: &Path, gzip: &Path) -> Result<()> {
    use flate2::{Compression, GzBuilder};
    use tianshan_elf::synth::{SynthElf, SynthSegment};
    const KERNEL_BASE: u64 = 0xFFFF_FFFF_8020_0000;
    // `jr ra; nop` and padding: contents do not matter, only the headers.
    let code: Vec<u8> = [0x08, 0x00, 0xE0, 0x03, 0, 0, 0, 0].repeat(32);
    let plain = SynthElf::single(KERNEL_BASE, &code);
    let mut noted = SynthElf::single(KERNEL_BASE, &code);
    noted.notes.push((b"Tianshan\0".to_vec(), 1, 1u32.to_le_bytes().to_vec()));
    noted.segments.push(SynthSegment { vaddr: KERNEL_BASE + 0x10_0000, data: vec![7; 64], mem_size: 0x2000, flags: 6 });
    let images = [("plain", plain.build()), ("two-segments-note", noted.build())];
    for (name, bytes) in &images {
        std::fs::write(elf.join(name), bytes)?;
    }
    let text = b"Tianshan boots Loongson machines under QEMU.\n".repeat(64);
    let gzips: [GzipSeed<'_>; 4] = [
        ("empty", b"", None, None, false),
        ("text-named", &text, Some("tianshan.txt"), None, false),
        ("text-comment-extra", &text, None, Some("a comment"), true),
        ("kernel", &images[1].1, Some("vmlinux"), None, false),
    ];
    for (name, data, file_name, comment, extra) in gzips {
        let mut builder = GzBuilder::new();
        if let Some(n) = file_name {
            builder = builder.filename(n);
        }
        if let Some(c) = comment {
            builder = builder.comment(c);
        }
        if extra {
            builder = builder.extra(b"TS\x02\x00hi".to_vec());
        }
        let mut encoder = builder.write(Vec::new(), Compression::best());
        encoder.write_all(data)?;
        std::fs::write(gzip.join(name), encoder.finish()?)?;
    }
    Ok(())
}

fn bootinfo_seeds(out: &Path) -> Result<()> {
    use tianshan_bootinfo::{BootInfoWriter, Console, Device, MemoryKind, MemoryMap, Phase};
    let mut map = MemoryMap::new();
    map.add(0, 0x1000_0000, MemoryKind::Usable)?;
    map.add(0x9000_0000, 0x3000_0000, MemoryKind::Usable)?;
    map.carve(0x0F00_0000, 0x0100_0000, MemoryKind::Firmware)?;
    let devices = [Device {
        bdf: 0x0800,
        vendor: 0x1AF4,
        device: 0x1042,
        class: 0x01_0000,
        irq: 3,
        mem_base: 0x4000_0000,
        mem_size: 0x4000,
    }];
    let timings = [(Phase::Reset, 100), (Phase::Platform, 2000), (Phase::Handoff, 90_000)];
    let writer = BootInfoWriter {
        memory_map: &map,
        cmdline: "console=ttyS0",
        board: "qemu-loongson3-virt",
        firmware_version: "tianshan 0.1.0",
        console: Console::Ns16550 { base: 0x1FE0_01E0, reg_shift: 0 },
        counter_hz: 400_000_000,
        timings: &timings,
        cpu_count: 4,
        boot_cpu: 0,
        devices: &devices,
    };
    let mut block = vec![0u8; writer.size()];
    let n = writer.write(&mut block).map_err(|e| crate::Error(e.to_string()))?;
    std::fs::write(out.join("qemu"), &block[..n])?;
    Ok(())
}

/// Runs one target under `nice`, its corpus in `target/fuzz/corpus/<t>`.
fn run_target(t: &Target, budget: &Budget, seeds: &Path) -> Result<Outcome> {
    let corpus = work_dir().join("corpus").join(t.name);
    let artifacts = work_dir().join("artifacts").join(t.name);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    let binary = fuzz_dir().join("target/x86_64-unknown-linux-gnu/release").join(t.name);
    let log = work_dir().join(format!("{}.log", t.name));
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "10"]).arg(&binary).arg(&corpus).arg(seeds.join(t.name));
    let committed = fuzz_dir().join("seeds").join(t.name);
    if committed.is_dir() {
        cmd.arg(committed);
    }
    cmd.arg(format!("-max_len={}", t.max_len))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1");
    match budget {
        Budget::Seconds(s) => cmd.arg(format!("-max_total_time={s}")),
        Budget::Runs(n) => cmd.arg(format!("-runs={n}")),
    };
    echo(&cmd);
    cmd.stdout(Stdio::null()).stderr(std::fs::File::create(&log)?);
    let started = std::time::Instant::now();
    let status = cmd.status().map_err(|e| crate::Error(format!("cannot start {}: {e}", binary.display())))?;
    let seconds = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&std::fs::read(&log)?).into_owned();
    let stat = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("stat::{key}:"))).and_then(|v| v.trim().parse().ok())
    };
    let crash = text
        .lines()
        .find_map(|l| l.split_once("Test unit written to ").map(|(_, path)| path.trim().to_string()))
        .or_else(|| (!status.success()).then(|| format!("exited with {status}; see {}", log.display())));
    let executions = stat("number_of_executed_units").unwrap_or(0);
    let outcome = Outcome {
        name: t.name,
        executions,
        seconds,
        exec_per_second: stat("average_exec_per_sec").unwrap_or(0),
        corpus: std::fs::read_dir(&corpus)?.count(),
        crash,
    };
    if let Some(c) = &outcome.crash {
        eprintln!("xtask: {} crashed: {c}\n(libFuzzer's log: {})", t.name, log.display());
    }
    Ok(outcome)
}

fn report(outcomes: &[Outcome]) {
    println!("{:<10} {:>12} {:>9} {:>9} {:>8} {:>8}", "target", "executions", "seconds", "exec/s", "corpus", "crashes");
    for o in outcomes {
        println!(
            "{:<10} {:>12} {:>9.1} {:>9} {:>8} {:>8}",
            o.name,
            o.executions,
            o.seconds,
            o.exec_per_second,
            o.corpus,
            usize::from(o.crash.is_some())
        );
    }
}

//! `cargo xtask test`: host unit tests, the in-kernel self-tests in QEMU and
//! the QEMU integration tests, summed into one `N passed, N failed` line.

use crate::board::Board;
use crate::build::{cargo, echo, images};
use crate::{Result, installer, linux, qemu};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the self-test run may take before it counts as hung.
const SELFTEST_DEADLINE: Duration = Duration::from_secs(120);

/// Where the QEMU tests find `cargo xtask fetch-linux`'s kernel and
/// initramfs (qemu-tests/tests/linux_boot.rs).
const LINUX_FIXTURE_ENV: &str = "TIANSHAN_LINUX";
/// Every test that boots that fixture is named so: without the fixture
/// they are filtered out (`--skip`), neither run nor counted.
const LINUX_TEST_PREFIX: &str = "linux_";

/// Where the QEMU tests find `cargo xtask fetch-installer`'s stick files
/// (qemu-tests/tests/installer_stick.rs).
const INSTALLER_FIXTURE_ENV: &str = "TIANSHAN_INSTALLER";
/// The tests that boot the real installer; skipped without its files.
const INSTALLER_TEST_PREFIX: &str = "linux_installer_";

#[derive(Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
    }
}

/// Sums libtest's `test result: ... N passed; M failed;` lines.
fn parse_libtest(line: &str, c: &mut Counts) {
    let Some(rest) = line.strip_prefix("test result: ") else { return };
    for part in rest.split([';', '.']) {
        let mut words = part.split_whitespace();
        if let (Some(n), Some(what)) = (words.next(), words.next())
            && let Ok(n) = n.parse::<u64>()
        {
            match what {
                "passed" => c.passed += n,
                "failed" => c.failed += n,
                _ => {}
            }
        }
    }
}

/// Runs a cargo test command, echoing its output and counting results.
/// A command that fails without reporting a failed test (it did not
/// build, say) counts as one failure.
fn cargo_test(label: &str, mut cmd: Command) -> Result<Counts> {
    echo(&cmd);
    let mut child = cmd.stdout(Stdio::piped()).spawn()?;
    let mut counts = Counts::default();
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        parse_libtest(&line, &mut counts);
    }
    let status = child.wait()?;
    if !status.success() && counts.failed == 0 {
        eprintln!("xtask: {label}: cargo test failed ({status}) without a test failure: counted as 1 failed");
        counts.failed = 1;
    }
    Ok(counts)
}

/// Parses the self-test summary `selftest: N passed, M failed`.
fn parse_selftest(transcript: &str) -> Option<Counts> {
    let line = transcript.lines().rev().find_map(|l| l.trim_end().strip_prefix("selftest: "))?;
    let (p, f) = line.split_once(" passed, ")?;
    Some(Counts { passed: p.parse().ok()?, failed: f.strip_suffix(" failed")?.parse().ok()? })
}

/// Boots the self-test ROM and reads its verdict.
fn selftest(board: &Board, qemu_bin: &std::path::Path, rom: &std::path::Path) -> Result<Counts> {
    let mut cmd = qemu::command(board, qemu_bin);
    // Deterministic time: every instruction is 1 ns of virtual time, so
    // the timing self-tests measure the kernel, not the host's load.
    cmd.args(["-icount", "shift=0,sleep=off", "-rtc", "clock=vm"]);
    cmd.args(["-serial", "stdio", "-monitor", "none", "-semihosting", "-no-reboot", "-bios"]).arg(rom);
    echo(&cmd);
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > SELFTEST_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let transcript = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    print!("{transcript}");
    let counts = parse_selftest(&transcript);
    Ok(match (status, counts) {
        (Some(s), Some(c)) if s.success() == (c.failed == 0) => c,
        (Some(s), Some(c)) => {
            eprintln!("xtask: self-tests reported {} failed but QEMU exited with {s}", c.failed);
            Counts { passed: c.passed, failed: c.failed.max(1) }
        }
        (None, c) => {
            eprintln!("xtask: self-tests did not finish within {SELFTEST_DEADLINE:?}; QEMU killed");
            Counts { passed: c.map_or(0, |c| c.passed), failed: 1 }
        }
        (Some(s), None) => {
            eprintln!("xtask: self-tests printed no summary; QEMU exited with {s}");
            Counts { passed: 0, failed: 1 }
        }
    })
}

/// Runs every test suite and prints the total.
pub fn run(board: &Board) -> Result<()> {
    let mut total = Counts::default();

    println!("== host unit tests");
    let mut host = cargo();
    host.arg("test");
    total += cargo_test("host tests", host)?;

    println!("== building images");
    let images = images(board)?;
    images.report();
    let qemu_bin = qemu::ensure_installed(board)?;

    println!("== in-kernel self-tests (QEMU)");
    total += selftest(board, &qemu_bin, &images.selftest_rom)?;

    println!("== QEMU integration tests");
    let mut q = cargo();
    q.args(["test", "--package", "tianshan-qemu-tests"])
        .env("TIANSHAN_IMAGES", &images.dir)
        .env("TIANSHAN_QEMU", &qemu_bin)
        .env("TIANSHAN_QEMU_ARGS", board.qemu.args.join(" "));
    match (linux::fixture_dir(), installer::fixture_dir()) {
        (None, _) => {
            println!("linux: skipped (run `cargo xtask fetch-linux` to fetch the kernel)");
            q.args(["--", "--skip", LINUX_TEST_PREFIX]);
        }
        (Some(dir), installer) => {
            q.env(LINUX_FIXTURE_ENV, dir);
            match installer {
                Some(files) => {
                    q.env(INSTALLER_FIXTURE_ENV, files);
                }
                None => {
                    println!("installer: skipped (run `cargo xtask fetch-installer` to fetch it)");
                    q.args(["--", "--skip", INSTALLER_TEST_PREFIX]);
                }
            }
        }
    }
    total += cargo_test("QEMU tests", q)?;

    println!();
    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        crate::fail!("{} test(s) failed", total.failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_summaries() {
        let mut c = Counts::default();
        parse_libtest(
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            &mut c,
        );
        parse_libtest("test result: FAILED. 3 passed; 2 failed; 0 ignored", &mut c);
        parse_libtest("running 5 tests", &mut c);
        assert_eq!((c.passed, c.failed), (15, 2));
    }

    #[test]
    fn parses_selftest_summary() {
        let t = "selftest: a ... ok\nselftest: 7 passed, 1 failed\r\n";
        let c = parse_selftest(t).unwrap();
        assert_eq!((c.passed, c.failed), (7, 1));
        assert!(parse_selftest("selftest: garbage").is_none());
    }
}

//! `cargo xtask`: build, run, test and check Tianshan with one command each.
//!
//! Every cargo and QEMU command it runs is echoed first (prefixed `$`), so
//! it can be copied and run by hand.

mod bench;
mod board;
mod build;
mod cpio;
mod fuzz;
mod installer;
mod linux;
mod qemu;
mod qmp;
mod stage;
mod test;
mod toolchain;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  build [--board NAME]            build firmware and kernel, write the ROM image
  run [--board NAME] [--gdb] [-- QEMU-ARGS...]
                                  build, then boot the ROM in QEMU on this terminal
  test [--board NAME]             host tests, in-kernel self-tests, QEMU tests
  check                           rustfmt and clippy, host and target
  bench kernel [--board NAME]     kernel benchmarks in guest instructions (QEMU -icount)
  bench boot [--board NAME]       firmware phases from reset to kernel entry (QEMU -icount)
  bench linux [--board NAME]      Linux to /init through the firmware (disk, fw_cfg) and
                                  through QEMU's -kernel: instructions, time, ratios
  install-qemu [--board NAME]     install the board's QEMU if it is missing
  fuzz [TARGET] [--time S] [--runs N]
                                  libFuzzer runs of the parser fuzz targets in fuzz/ (all, or
                                  one; 60 s each unless told), seeds built from real images
  fetch-linux                     download Debian's mips64el Loongson-3 kernel and busybox,
                                  build a test initramfs (all in target/linux/)
  fetch-installer                 download Debian's mips64el installer and extract its
                                  Loongson-3 USB stick files (target/linux/installer/)

The default board is qemu-loongson3-virt.";

/// Failure of an xtask step, with the message to print.
#[derive(Debug)]
pub struct Error(String);

impl<E: std::fmt::Display> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.to_string())
    }
}

/// Result type of every xtask step.
pub type Result<T> = std::result::Result<T, Error>;

/// Makes an `Error` from format arguments.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::Error(format!($($arg)*))) };
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

struct Options {
    board: String,
    gdb: bool,
    passthrough: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options { board: board::DEFAULT.to_string(), gdb: false, passthrough: Vec::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--board" => opts.board = it.next().ok_or(Error("--board needs a name".into()))?.clone(),
            "--gdb" => opts.gdb = true,
            "--" => {
                opts.passthrough = it.cloned().collect();
                break;
            }
            other => fail!("unknown option '{other}'\n\n{USAGE}"),
        }
    }
    Ok(opts)
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else { fail!("{USAGE}") };
    // Everything that compiles needs the components rust-toolchain.toml
    // names; add the missing ones before the first build starts.
    if matches!(cmd.as_str(), "build" | "run" | "test" | "check" | "bench" | "fuzz") {
        toolchain::ensure()?;
    }
    match cmd.as_str() {
        "build" => {
            let o = parse(rest)?;
            let b = board::load(&o.board)?;
            let images = build::images(&b)?;
            images.report();
            Ok(())
        }
        "run" => {
            let o = parse(rest)?;
            let b = board::load(&o.board)?;
            let images = build::images(&b)?;
            let binary = qemu::ensure_installed(&b)?;
            qemu::run_interactive(&b, &binary, &images, o.gdb, &o.passthrough)
        }
        "test" => {
            let o = parse(rest)?;
            test::run(&board::load(&o.board)?)
        }
        "check" => build::check(&board::load(board::DEFAULT)?),
        "bench" => {
            let Some((what, rest)) = rest.split_first() else { fail!("usage: cargo xtask bench <kernel|boot|linux>") };
            let o = parse(rest)?;
            bench::run(&board::load(&o.board)?, what)
        }
        "install-qemu" => {
            let o = parse(rest)?;
            qemu::ensure_installed(&board::load(&o.board)?).map(|_| ())
        }
        "fuzz" => fuzz::run(rest),
        "fetch-linux" => {
            if let Some(extra) = rest.first() {
                fail!("fetch-linux takes no options (got '{extra}')\n\n{USAGE}");
            }
            linux::fetch()?.report();
            Ok(())
        }
        "fetch-installer" => {
            if let Some(extra) = rest.first() {
                fail!("fetch-installer takes no options (got '{extra}')\n\n{USAGE}");
            }
            installer::fetch().map(|_| ())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => fail!("unknown command '{other}'\n\n{USAGE}"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error(msg)) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

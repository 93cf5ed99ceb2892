//! Building the firmware and kernel for a board and writing its ROM image.

use crate::board::{Board, StageSize, check_budgets, kib};
use crate::{Result, fail, root};
use std::path::{Path, PathBuf};
use std::process::Command;
use tianshan_rom_image::{PayloadKind, RomBuilder};

/// A bare-metal target specification: the file, and its stem, which cargo
/// names its output directory after.
#[derive(Clone, Copy)]
struct Target {
    spec: &'static str,
    name: &'static str,
    /// Features of the standard library crates built with `-Zbuild-std`.
    std_features: &'static str,
}

/// The kernel's target (and the default one of `cargo xtask check`).
const KERNEL_TARGET: Target = Target {
    spec: "linker/mips64el-tianshan-none.json",
    name: "mips64el-tianshan-none",
    std_features: "compiler-builtins-mem",
};
/// The firmware's target: the same CPU and ABI, code generation tuned for
/// the flash budget (linker/README.md). core's `optimize_for_size` picks
/// its small variants of sorting and number formatting (3 KiB).
const FIRMWARE_TARGET: Target = Target {
    spec: "linker/mips64el-tianshan-fw.json",
    name: "mips64el-tianshan-fw",
    std_features: "compiler-builtins-mem,optimize_for_size",
};

/// Runs a command after echoing it; fails with its status.
pub fn run_echoed(cmd: &mut Command) -> Result<()> {
    echo(cmd);
    let status = cmd.status().map_err(|e| crate::Error(format!("cannot start {:?}: {e}", cmd.get_program())))?;
    if !status.success() {
        fail!("{:?} failed ({status})", cmd.get_program());
    }
    Ok(())
}

/// Prints a command the way a shell user would type it.
pub fn echo(cmd: &Command) {
    let mut line = String::from("$");
    for (k, v) in cmd.get_envs() {
        line +=
            &format!(" {}={}", k.to_string_lossy(), v.map(|v| v.to_string_lossy().into_owned()).unwrap_or_default());
    }
    line += &format!(" {}", cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.contains(' ') || a.contains('\'') || a.is_empty() {
            line += &format!(" '{}'", a.replace('\'', "'\\''"));
        } else {
            line += &format!(" {a}");
        }
    }
    eprintln!("{line}");
}

/// `cargo` as invoked by the user (the toolchain rust-toolchain.toml picks).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Adds the bare-metal target flags to a cargo command.
fn target_args(cmd: &mut Command, target: Target) {
    cmd.args(["--target", target.spec, "-Zbuild-std=core,alloc"])
        .arg(format!("-Zbuild-std-features={}", target.std_features))
        .arg("-Zjson-target-spec");
}

/// Profile the firmware is built with (size first: see Cargo.toml).
const FIRMWARE_PROFILE: &str = "firmware";
/// Profile the kernel is built with.
const KERNEL_PROFILE: &str = "release";

/// Compiler flags of the firmware build, for the flash budget: no
/// file/line/column strings in panic locations (8 KiB; panic messages
/// stay), and derived `Debug` output that names the type or variant only
/// (1.5 KiB; it shows in `unwrap` panics, never in the firmware's own
/// messages, which use `Display`).
const FIRMWARE_RUSTFLAGS: &str = "-Zlocation-detail=none -Zfmt-debug=shallow";

/// How one binary is built.
struct BinBuild<'a> {
    bin: &'a str,
    target: Target,
    profile: &'a str,
    /// Own target directory (flags or features differ from the default
    /// build, so sharing one would rebuild everything on every switch).
    target_dir: Option<&'a str>,
    rustflags: Option<&'a str>,
    selftest: bool,
}

/// Builds one binary of the board's crate; returns its path.
fn build_binary(board: &Board, b: &BinBuild<'_>) -> Result<PathBuf> {
    let target_dir = root().join(b.target_dir.unwrap_or("target"));
    let mut cmd = cargo();
    cmd.args(["build", "--package", &board.package, "--bin", b.bin, "--profile", b.profile]);
    target_args(&mut cmd, b.target);
    if b.target_dir.is_some() {
        cmd.arg("--target-dir").arg(&target_dir);
    }
    if b.selftest {
        cmd.args(["--features", "selftest"]);
    }
    if let Some(flags) = b.rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    run_echoed(&mut cmd)?;
    Ok(target_dir.join(b.target.name).join(b.profile).join(b.bin))
}

/// Builds the board's binaries; returns (firmware ELF, kernel ELF).
fn build_binaries(board: &Board, selftest: bool) -> Result<(PathBuf, PathBuf)> {
    let firmware = build_binary(
        board,
        &BinBuild {
            bin: "firmware",
            target: FIRMWARE_TARGET,
            profile: FIRMWARE_PROFILE,
            target_dir: Some("target/firmware"),
            rustflags: Some(FIRMWARE_RUSTFLAGS),
            selftest: false,
        },
    )?;
    let kernel = build_binary(
        board,
        &BinBuild {
            bin: "kernel",
            target: KERNEL_TARGET,
            profile: KERNEL_PROFILE,
            target_dir: selftest.then_some("target/selftest"),
            rustflags: None,
            selftest,
        },
    )?;
    Ok((firmware, kernel))
}

/// The flash contents the firmware ELF describes: every loadable segment
/// placed at its load (physical) address relative to the ROM's base.
pub fn flat_rom(elf: &[u8], rom_base: u64, flash_size: usize) -> Result<Vec<u8>> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(elf)?;
    let endian = header.endian()?;
    let mut image = Vec::new();
    for ph in header.program_headers(endian, elf)? {
        if ph.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let data = ph.data(endian, elf).map_err(|()| crate::Error("firmware segment runs past the file".into()))?;
        if data.is_empty() {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let offset = paddr.wrapping_sub(rom_base) as usize;
        if offset.checked_add(data.len()).is_none_or(|end| end > flash_size) {
            fail!("firmware segment at {paddr:#x} ({} bytes) is not inside the flash at {rom_base:#x}", data.len());
        }
        if image.len() < offset + data.len() {
            image.resize(offset + data.len(), tianshan_rom_image::ERASED);
        }
        image[offset..offset + data.len()].copy_from_slice(data);
    }
    Ok(image)
}

/// Host triple, for finding llvm-tools.
pub fn host_triple() -> Result<String> {
    let out = Command::new("rustc").current_dir(root()).arg("-vV").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or(crate::Error("rustc -vV printed no host triple".into()))
}

/// Path of a tool from the toolchain's llvm-tools component.
pub fn llvm_tool(name: &str) -> Result<PathBuf> {
    let out = Command::new("rustc").current_dir(root()).args(["--print", "sysroot"]).output()?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let path = Path::new(&sysroot).join("lib/rustlib").join(host_triple()?).join("bin").join(name);
    if !path.exists() {
        fail!("{} not found: the llvm-tools component is missing (rustup component add llvm-tools)", path.display());
    }
    Ok(path)
}

/// What `build` produced for a board.
pub struct Images {
    pub dir: PathBuf,
    pub rom: PathBuf,
    pub selftest_rom: PathBuf,
    pub firmware_elf: PathBuf,
    pub kernel_elf: PathBuf,
    firmware_len: usize,
    kernel_payload_len: usize,
    flash_size: usize,
    /// Each stage's size against the board's budget for it.
    pub stages: Vec<StageSize>,
}

/// Writes `name` in `dir`, returning its path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| crate::Error(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// Makes the embedded copy of a kernel: symbols and debug info stripped.
fn strip(kernel: &Path, out: &Path) -> Result<Vec<u8>> {
    let mut cmd = Command::new(llvm_tool("llvm-objcopy")?);
    cmd.arg("--strip-all").arg(kernel).arg(out);
    run_echoed(&mut cmd)?;
    Ok(std::fs::read(out)?)
}

/// Builds everything and writes the images (normal and self-test).
pub fn images(board: &Board) -> Result<Images> {
    let dir = board.image_dir();
    std::fs::create_dir_all(&dir)?;
    let (fw_elf, kernel_elf) = build_binaries(board, false)?;
    let (_, selftest_elf) = build_binaries(board, true)?;

    let fw_elf_bytes = std::fs::read(&fw_elf)?;
    let flat = flat_rom(&fw_elf_bytes, board.rom_base, board.flash_size)?;
    let packed = crate::stage::pack(&flat, &fw_elf_bytes, board.rom_base)?;
    println!(
        "main stage: {} packed into {} ({:.0}%) by LZ4; the reset code unpacks it into RAM",
        kib(packed.stage_len),
        kib(packed.packed_len),
        100.0 * packed.packed_len as f64 / packed.stage_len as f64
    );
    let firmware = packed.image;
    write(&dir, "firmware.bin", &firmware)?;
    let firmware_elf = write(&dir, "firmware.elf", &std::fs::read(&fw_elf)?)?;
    let kernel_copy = write(&dir, "kernel.elf", &std::fs::read(&kernel_elf)?)?;
    write(&dir, "kernel-selftest.elf", &std::fs::read(&selftest_elf)?)?;

    let payload = strip(&kernel_elf, &dir.join("kernel.stripped.elf"))?;
    let selftest_payload = strip(&selftest_elf, &dir.join("kernel-selftest.stripped.elf"))?;
    // The identity lets the firmware's `update` tell a ROM for this board
    // (docs/firmware-update.md); the firmware's own version string.
    let version = format!("Tianshan firmware {}", env!("CARGO_PKG_VERSION"));
    let rom = RomBuilder::new(firmware.clone(), board.flash_size)
        .payload("kernel", PayloadKind::Kernel, payload.clone())
        .identity(&board.name, &version)
        .build()?;
    let stages = board.budget.stages(firmware.len(), payload.len(), selftest_payload.len());
    check_budgets(&stages, &board.name)?;
    let selftest_rom = RomBuilder::new(firmware.clone(), board.flash_size)
        .payload("kernel", PayloadKind::Kernel, selftest_payload)
        .identity(&board.name, &version)
        .build()?;
    Ok(Images {
        rom: write(&dir, "firmware.rom", &rom)?,
        selftest_rom: write(&dir, "selftest.rom", &selftest_rom)?,
        firmware_elf,
        kernel_elf: kernel_copy,
        dir,
        firmware_len: firmware.len(),
        kernel_payload_len: payload.len(),
        flash_size: board.flash_size,
        stages: stages.to_vec(),
    })
}

impl Images {
    /// Prints what was built and how big it is.
    pub fn report(&self) {
        let rel = |p: &Path| p.strip_prefix(root()).unwrap_or(p).display().to_string();
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as usize).unwrap_or(0);
        let used = self.firmware_len + self.kernel_payload_len;
        println!("built for this board:");
        println!(
            "  {:<50} {:>12}  flash image: firmware {}, kernel payload {}, {} free",
            rel(&self.rom),
            kib(size(&self.rom)),
            kib(self.firmware_len),
            kib(self.kernel_payload_len),
            kib(self.flash_size.saturating_sub(used))
        );
        println!(
            "  {:<50} {:>12}  the same with the self-test kernel",
            rel(&self.selftest_rom),
            kib(size(&self.selftest_rom))
        );
        println!(
            "  {:<50} {:>12}  firmware with symbols (for gdb)",
            rel(&self.firmware_elf),
            kib(size(&self.firmware_elf))
        );
        println!("  {:<50} {:>12}  kernel with symbols (for gdb)", rel(&self.kernel_elf), kib(size(&self.kernel_elf)));
        println!("firmware size without payload: {} ({} bytes)", kib(self.firmware_len), self.firmware_len);
        println!("budgets (board.toml [budget]):");
        for stage in &self.stages {
            println!("  {stage}");
        }
    }
}

/// rustfmt and clippy on the host crates, the fuzz targets and the target build.
pub fn check(board: &Board) -> Result<()> {
    run_echoed(cargo().args(["fmt", "--all", "--check"]))?;
    run_echoed(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    // The QEMU tests are host code outside the default members.
    run_echoed(cargo().args(["clippy", "--package", "tianshan-qemu-tests", "--all-targets", "--", "-D", "warnings"]))?;
    // The fuzz targets are a workspace of their own (fuzz/Cargo.toml).
    let fuzz = ["--manifest-path", "fuzz/Cargo.toml"];
    run_echoed(cargo().args(["fmt"]).args(fuzz).arg("--check"))?;
    run_echoed(cargo().args(["clippy"]).args(fuzz).args(["--bins", "--", "-D", "warnings"]))?;
    let mut cmd = cargo();
    cmd.args(["clippy", "--package", &board.package, "--bins", "--release"]);
    target_args(&mut cmd, KERNEL_TARGET);
    cmd.args(["--", "-D", "warnings"]);
    run_echoed(&mut cmd)
}

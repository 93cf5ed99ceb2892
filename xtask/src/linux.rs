//! `cargo xtask fetch-linux`: Debian's Loongson-3 kernel and a busybox initramfs.
//!
//! A fixture for booting stock Linux. With apt and the machine's own Debian
//! sources (no host name is written anywhere), it downloads the mips64el
//! `linux-image-<abi>-loongson-3` package that the release's
//! `linux-image-loongson-3` meta-package names, and `busybox-static`; then it
//! extracts `/boot/vmlinuz-*` and `/bin/busybox` with `dpkg-deb -x` and
//! builds a gzip-compressed newc initramfs whose `/init` prints
//! [`INIT_MARKER`], the CPU count, `MemTotal` and the command line, then
//! powers off.
//!
//! Two kernels: the release's (`<codename>`, `-updates`, `-security`; 6.1
//! on bookworm) as `vmlinuz`, and the newer one Debian offers the release
//! in `<codename>-backports` (6.12 on bookworm) as `vmlinuz-backports`;
//! users run both, and they differ where it matters to a firmware (6.12
//! relocates itself at random, KASLR). Busybox comes from the release.
//! When apt knows no backports suite, one is derived from the machine's own
//! Debian source, as `install-qemu` does. Everything lives in
//! `target/linux/`; a run that finds the `.deb` files in
//! `target/linux/debs/` and `target/linux/debs-backports/` downloads
//! nothing (delete a folder to fetch its current packages again). The
//! initramfs is rebuilt on every run: it is cheap and follows this file.

use crate::build::{echo, run_echoed};
use crate::cpio::{self, CpioError};
use crate::qemu::{is_root, os_release};
use crate::{Result, fail, root};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's name for the architecture of Loongson-3 userland and kernels.
const ARCH: &str = "mips64el";
/// The meta-package that depends on the current kernel ABI's image package.
const KERNEL_META_PACKAGE: &str = "linux-image-loongson-3";
const KERNEL_PACKAGE_PREFIX: &str = "linux-image-";
const KERNEL_PACKAGE_SUFFIX: &str = "-loongson-3";
/// A statically linked busybox: the initramfs needs no shared libraries.
const BUSYBOX_PACKAGE: &str = "busybox-static";
/// apt's source entries in deb822 format.
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
/// Where a derived mips64el source entry is written, when the machine's
/// entries are restricted to other architectures.
const ARCH_SOURCES: &str = "/etc/apt/sources.list.d/tianshan-mips64el.sources";

/// File names of the fixture in `target/linux/`.
const VMLINUZ: &str = "vmlinuz";
const VMLINUZ_BACKPORTS: &str = "vmlinuz-backports";
const INITRAMFS: &str = "initramfs.cpio.gz";

/// The line `/init` prints first: the kernel reached userspace.
pub const INIT_MARKER: &str = "TIANSHAN-INIT-OK";
/// Busybox applets `/init` runs, linked in `/bin`.
const APPLETS: &[&str] = &["sh", "mount", "grep", "cat", "poweroff"];
/// Character device number of `/dev/console` (Linux `devices.txt`: 5:1).
const CONSOLE_MAJOR: u32 = 5;
const CONSOLE_MINOR: u32 = 1;

/// `/init`: what the kernel found, then power off. `poweroff -f` skips
/// init's shutdown sequence (there is no init system to ask).
const INIT_SCRIPT: &str = "#!/bin/sh
# Tianshan's Linux boot check (cargo xtask fetch-linux): prints what the
# kernel found, then powers the machine off.
export PATH=/bin
mount -t proc proc /proc
echo TIANSHAN-INIT-OK
echo \"cpus: $(grep -c ^processor /proc/cpuinfo)\"
grep MemTotal /proc/meminfo
echo \"cmdline: $(cat /proc/cmdline)\"
poweroff -f
echo TIANSHAN-INIT-POWEROFF-FAILED
";

/// What `fetch-linux` produced.
pub struct Fixture {
    pub vmlinuz: PathBuf,
    pub vmlinuz_backports: PathBuf,
    pub initramfs: PathBuf,
    pub busybox: PathBuf,
    /// The downloaded packages as (name, version).
    pub packages: Vec<(String, String)>,
    /// False when everything came from the cache.
    pub downloaded: bool,
}

/// Splits `<name>_<version>_<arch>.deb` (apt's file name; `:` of an epoch
/// is written `%3a`).
pub fn parse_deb_file_name(file: &str) -> Option<(String, String, String)> {
    let stem = file.strip_suffix(".deb")?;
    let mut parts = stem.split('_');
    let (name, version, arch) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_string(), version.replace("%3a", ":"), arch.to_string()))
}

/// True for `linux-image-<abi>-loongson-3` (not the meta-package, not -dbg).
fn is_kernel_package(name: &str) -> bool {
    name != KERNEL_META_PACKAGE
        && name.strip_prefix(KERNEL_PACKAGE_PREFIX).and_then(|n| n.strip_suffix(KERNEL_PACKAGE_SUFFIX)).is_some()
}

/// Which suites of a release a package version may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suites {
    /// `<codename>`, `<codename>-updates`, `<codename>-security`.
    Release,
    /// `<codename>-backports`.
    Backports,
}

impl Suites {
    fn names(self, codename: &str) -> Vec<String> {
        match self {
            Suites::Release => {
                vec![codename.to_string(), format!("{codename}-updates"), format!("{codename}-security")]
            }
            Suites::Backports => vec![format!("{codename}-backports")],
        }
    }
}

/// The newest version of a package in `suites` of `codename`, from
/// `apt-cache madison` output (newest first); source entries are skipped.
pub fn suite_version(madison: &str, codename: &str, suites: Suites) -> Option<String> {
    let release_suites = suites.names(codename);
    madison.lines().find_map(|line| {
        let mut cols = line.split('|').map(str::trim);
        let (_, version, source) = (cols.next()?, cols.next()?, cols.next()?);
        let words: Vec<&str> = source.split_whitespace().collect();
        let suite = words.get(1)?.split('/').next()?;
        (words.last() == Some(&"Packages") && release_suites.iter().any(|s| s == suite)).then(|| version.to_string())
    })
}

/// The kernel image package named in the meta-package's `Depends:` field.
pub fn kernel_package_from_depends(depends: &str) -> Option<String> {
    depends
        .split([',', '|'])
        .map(|dep| dep.trim().split([' ', '(', ':']).next().unwrap_or(""))
        .find(|name| is_kernel_package(name))
        .map(str::to_string)
}

/// The value of a `Field:` line in apt-cache or deb822 text (names are
/// case-insensitive).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (key, value) = line.split_once(':')?;
    key.eq_ignore_ascii_case(name).then(|| value.trim())
}

/// Copies of the deb822 stanzas for `codename`'s suites (`<codename>`,
/// `<codename>-updates`, ...) whose `Architectures:` line leaves `arch` out, each limited to
/// `arch`; `None` when no stanza restricts the architecture. Mirror, suites,
/// components and keyring stay the machine's. The copy drops the `all`
/// architecture and every index but `Packages`, which the original stanza
/// already fetches (apt warns about targets configured twice otherwise).
pub fn derive_arch_stanzas(sources: &str, codename: &str, arch: &str) -> Option<String> {
    let derived: Vec<String> = sources
        .split("\n\n")
        .filter(|stanza| {
            let value = |name: &str| stanza.lines().find_map(|l| field(l, name));
            let words = |name: &str| value(name).unwrap_or("").split_whitespace().collect::<Vec<_>>();
            words("Types").contains(&"deb")
                && value("Enabled").is_none_or(|v| !v.eq_ignore_ascii_case("no"))
                && words("Suites").iter().any(|s| s.split('-').next() == Some(codename))
                && value("Architectures").is_some_and(|a| !a.split_whitespace().any(|a| a == arch))
        })
        .map(|stanza| {
            let lines: Vec<String> = stanza
                .lines()
                .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
                .filter(|l| {
                    ["Architectures-Add", "Architectures-Remove", "Targets"].iter().all(|f| field(l, f).is_none())
                })
                .map(|l| {
                    if field(l, "Architectures").is_some() {
                        format!("Architectures: {arch}\nArchitectures-Remove: all\nTargets: Packages")
                    } else if field(l, "Types").is_some() {
                        "Types: deb".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            lines.join("\n") + "\n"
        })
        .collect();
    (!derived.is_empty()).then(|| derived.join("\n"))
}

/// The initramfs, uncompressed: `/init`, busybox and its applet links,
/// `/dev/console` and the `/proc` mount point.
pub fn build_initramfs(busybox: &[u8]) -> std::result::Result<Vec<u8>, CpioError> {
    let mut cpio = cpio::Writer::new();
    cpio.dir("bin", 0o755)?;
    cpio.file("bin/busybox", 0o755, busybox)?;
    for applet in APPLETS {
        cpio.symlink(&format!("bin/{applet}"), "busybox")?;
    }
    // Linux's built-in initramfs has /dev/console too; carrying it here keeps
    // init's console working on a kernel built without that default.
    cpio.dir("dev", 0o755)?;
    cpio.char_device("dev/console", 0o600, CONSOLE_MAJOR, CONSOLE_MINOR)?;
    cpio.dir("proc", 0o555)?;
    cpio.file("init", 0o755, INIT_SCRIPT.as_bytes())?;
    Ok(cpio.finish())
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// Runs a command (echoed) and returns its standard output; fails with its
/// exit status and standard error.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    echo(cmd);
    let out = cmd.output().map_err(|e| crate::Error(format!("cannot start {:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        fail!(
            "{:?} {:?} failed ({}): {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn foreign_architectures() -> Result<Vec<String>> {
    let text = output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    Ok(text.split_whitespace().map(str::to_string).collect())
}

/// The release version of `package` for `ARCH`, if apt knows one.
fn candidate(package: &str, codename: &str) -> Result<Option<String>> {
    candidate_in(package, codename, Suites::Release)
}

/// The version of `package` for `ARCH` in `suites`, if apt knows one.
fn candidate_in(package: &str, codename: &str, suites: Suites) -> Result<Option<String>> {
    let madison = output(Command::new("apt-cache").args(["madison", &format!("{package}:{ARCH}")]))?;
    Ok(suite_version(&madison, codename, suites))
}

pub(crate) fn apt_update() -> Result<()> {
    run_echoed(Command::new("apt-get").args(["update", "-q"]))
}

/// Makes apt know the release's mips64el packages: adds the architecture
/// and updates the lists as root; without root, fails with the commands to
/// run unless the lists are already there (`apt-get download` needs no root).
/// Returns the release's version of the kernel meta-package.
fn prepare_apt(codename: &str) -> Result<String> {
    if !Path::new("/etc/debian_version").exists() {
        fail!("fetch-linux needs Debian's apt and dpkg (there is no /etc/debian_version here)");
    }
    let has_arch = foreign_architectures()?.iter().any(|a| a == ARCH);
    if !is_root() {
        if has_arch && let Some(version) = candidate(KERNEL_META_PACKAGE, codename)? {
            return Ok(version);
        }
        let add = if has_arch { String::new() } else { format!("    sudo dpkg --add-architecture {ARCH}\n") };
        fail!(
            "apt does not know Debian's {ARCH} packages yet, and setting that up takes root. Run:\n\
             {add}    sudo apt-get update\n\
             then `cargo xtask fetch-linux` again (the download itself needs no root)"
        );
    }
    if !has_arch {
        run_echoed(Command::new("dpkg").args(["--add-architecture", ARCH]))?;
    }
    apt_update()?;
    if let Some(version) = candidate(KERNEL_META_PACKAGE, codename)? {
        return Ok(version);
    }
    // No mips64el lists for the release: the usual cause is an
    // `Architectures:` line in the machine's sources. Add a copy for mips64el.
    if Path::new(ARCH_SOURCES).exists() {
        fail!(
            "apt has no {ARCH} {KERNEL_META_PACKAGE} in {codename} even with {ARCH_SOURCES}: \
             does the mirror carry {ARCH}? (see `apt-cache policy {KERNEL_META_PACKAGE}:{ARCH}`)"
        );
    }
    let mut derived = String::new();
    let mut from = Vec::new();
    for entry in std::fs::read_dir(SOURCES_DIR).map_err(|e| crate::Error(format!("{SOURCES_DIR}: {e}")))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "sources") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| crate::Error(format!("{}: {e}", path.display())))?;
        if let Some(stanzas) = derive_arch_stanzas(&text, codename, ARCH) {
            derived += &if derived.is_empty() { stanzas } else { format!("\n{stanzas}") };
            from.push(path.display().to_string());
        }
    }
    if derived.is_empty() {
        fail!(
            "after `apt-get update`, apt has no {ARCH} {KERNEL_META_PACKAGE} in {codename}, and no \
             {SOURCES_DIR}/*.sources entry restricts Architectures. Check /etc/apt/sources.list for \
             `[arch=...]` options and `apt-cache policy {KERNEL_META_PACKAGE}:{ARCH}`"
        );
    }
    eprintln!(
        "xtask: the Debian sources are limited to other architectures; writing {ARCH_SOURCES} (derived from {})",
        from.join(", ")
    );
    std::fs::write(ARCH_SOURCES, derived).map_err(|e| crate::Error(format!("{ARCH_SOURCES}: {e}")))?;
    apt_update()?;
    candidate(KERNEL_META_PACKAGE, codename)?.ok_or(crate::Error(format!(
        "apt still has no {ARCH} {KERNEL_META_PACKAGE} in {codename} after adding {ARCH_SOURCES}"
    )))
}

fn codename() -> Result<String> {
    os_release("VERSION_CODENAME")
        .ok_or(crate::Error("/etc/os-release has no VERSION_CODENAME: which Debian release is this?".into()))
}

/// The kernel image package the meta-package's `meta_version` depends on.
fn kernel_package(meta_version: &str) -> Result<String> {
    let meta = output(Command::new("apt-cache").args([
        "show",
        "--no-all-versions",
        &format!("{KERNEL_META_PACKAGE}:{ARCH}={meta_version}"),
    ]))?;
    let depends = meta.lines().find_map(|l| field(l, "Depends")).unwrap_or("");
    kernel_package_from_depends(depends).ok_or(crate::Error(format!(
        "{KERNEL_META_PACKAGE} {meta_version} depends on no {KERNEL_PACKAGE_PREFIX}*{KERNEL_PACKAGE_SUFFIX} (Depends: {depends})"
    )))
}

/// Downloads the release's kernel and busybox packages into `debs`,
/// replacing what was there.
fn download(debs: &Path) -> Result<()> {
    let codename = codename()?;
    let meta_version = prepare_apt(&codename)?;
    let kernel = kernel_package(&meta_version)?;
    let mut wanted = Vec::new();
    for package in [kernel.as_str(), BUSYBOX_PACKAGE] {
        let version = candidate(package, &codename)?
            .ok_or(crate::Error(format!("apt knows no {package}:{ARCH} in {codename}")))?;
        wanted.push(format!("{package}:{ARCH}={version}"));
    }
    download_into(debs, &wanted)
}

/// Downloads the kernel of `<codename>-backports` into `debs`, replacing
/// what was there; adds the backports source first when apt has none.
fn download_backports(debs: &Path) -> Result<()> {
    let codename = codename()?;
    if is_root() {
        crate::qemu::ensure_backports_source(&codename)?;
    }
    prepare_apt(&codename)?;
    let meta_version =
        candidate_in(KERNEL_META_PACKAGE, &codename, Suites::Backports)?.ok_or(crate::Error(format!(
            "apt knows no {KERNEL_META_PACKAGE}:{ARCH} in {codename}-backports{}",
            if is_root() {
                ""
            } else {
                " (adding that suite to apt's sources takes root: run fetch-linux as root once)"
            }
        )))?;
    let kernel = kernel_package(&meta_version)?;
    let version = candidate_in(&kernel, &codename, Suites::Backports)?
        .ok_or(crate::Error(format!("apt knows no {kernel}:{ARCH} in {codename}-backports")))?;
    download_into(debs, &[format!("{kernel}:{ARCH}={version}")])
}

/// `apt-get download`s `wanted` (`name:arch=version`) into `debs`,
/// replacing what was there.
fn download_into(debs: &Path, wanted: &[String]) -> Result<()> {
    // Download into a fresh folder and move the files over only when apt
    // succeeded, so a failed run never leaves a partial cache.
    let staging = debs.with_file_name("download");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| crate::Error(format!("{}: {e}", staging.display())))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| crate::Error(format!("{}: {e}", staging.display())))?;
    let mut cmd = Command::new("apt-get");
    if is_root() {
        // apt would otherwise try its unprivileged `_apt` user, which cannot
        // write here, and warn before falling back to root anyway.
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    cmd.arg("download").args(wanted).current_dir(&staging);
    run_echoed(&mut cmd).map_err(|crate::Error(e)| {
        crate::Error(format!("{e}\n(if apt could not find a file, its lists are old: run `apt-get update` as root)"))
    })?;
    if debs.exists() {
        std::fs::remove_dir_all(debs).map_err(|e| crate::Error(format!("{}: {e}", debs.display())))?;
    }
    std::fs::rename(&staging, debs)
        .map_err(|e| crate::Error(format!("moving {} to {}: {e}", staging.display(), debs.display())))?;
    Ok(())
}

/// The cached kernel package in `debs` as (path, name, version).
fn cached_kernel(debs: &Path) -> Option<CachedDeb> {
    std::fs::read_dir(debs).ok()?.filter_map(|e| e.ok()).find_map(|entry| {
        let (name, version, arch) = parse_deb_file_name(&entry.file_name().to_string_lossy())?;
        (arch == ARCH && is_kernel_package(&name)).then(|| (entry.path(), name, version))
    })
}

/// The cached kernel and busybox packages: (kernel, busybox), each as
/// (path, name, version); `None` unless both are there.
type CachedDeb = (PathBuf, String, String);
fn cached_debs(debs: &Path) -> Option<(CachedDeb, CachedDeb)> {
    let (mut kernel, mut busybox) = (None, None);
    for entry in std::fs::read_dir(debs).ok()?.filter_map(|e| e.ok()) {
        let Some((name, version, arch)) = parse_deb_file_name(&entry.file_name().to_string_lossy()) else {
            continue;
        };
        if arch != ARCH {
            continue;
        }
        if is_kernel_package(&name) {
            kernel = Some((entry.path(), name, version));
        } else if name == BUSYBOX_PACKAGE {
            busybox = Some((entry.path(), name, version));
        }
    }
    Some((kernel?, busybox?))
}

/// Extracts `deb` into a scratch folder, hands it to `take`, removes it.
pub(crate) fn with_extracted<T>(deb: &Path, scratch: &Path, take: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).map_err(|e| crate::Error(format!("{}: {e}", scratch.display())))?;
    }
    run_echoed(Command::new("dpkg-deb").arg("-x").arg(deb).arg(scratch))?;
    let result = take(scratch);
    std::fs::remove_dir_all(scratch).map_err(|e| crate::Error(format!("{}: {e}", scratch.display())))?;
    result
}

pub(crate) fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map_err(|e| crate::Error(format!("copying {} to {}: {e}", from.display(), to.display())))?;
    Ok(())
}

/// `/boot/vmlinuz-*` in the extracted kernel package `deb`.
fn boot_image(tree: &Path, deb: &Path) -> Result<PathBuf> {
    let boot = tree.join("boot");
    std::fs::read_dir(&boot)
        .map_err(|e| crate::Error(format!("{}: no /boot in it ({e})", deb.display())))?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        .map(|e| e.path())
        .ok_or(crate::Error(format!("{}: no /boot/vmlinuz-* in it", deb.display())))
}

/// One line on what a kernel file is: ELF class, byte order, machine, entry
/// and loadable segments, or why it is not an ELF64 little-endian MIPS file.
pub fn describe_kernel(bytes: &[u8]) -> String {
    use object::read::elf::{FileHeader, ProgramHeader};
    if !bytes.starts_with(b"\x7fELF") {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return format!("not an ELF file (starts with {})", head.join(" "));
    }
    let Ok(header) = object::elf::FileHeader64::<object::Endianness>::parse(bytes) else {
        return "an ELF file, but not a valid ELF64 one".into();
    };
    let Ok(endian) = header.endian() else { return "an ELF64 file of unknown byte order".into() };
    let order = if endian == object::Endianness::Little { "little-endian" } else { "big-endian" };
    let machine = header.e_machine(endian);
    if machine != object::elf::EM_MIPS {
        return format!("ELF64 {order}, machine {machine} (not MIPS)");
    }
    let loads: Vec<String> = header
        .program_headers(endian, bytes)
        .unwrap_or(&[])
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .map(|ph| {
            format!(
                "PT_LOAD at {:#x} filesz {:#x} memsz {:#x}",
                ph.p_vaddr(endian),
                ph.p_filesz(endian),
                ph.p_memsz(endian)
            )
        })
        .collect();
    let loads = if loads.is_empty() { "no PT_LOAD segment".to_string() } else { loads.join(", ") };
    format!("ELF64 {order} MIPS, entry {:#x}, {loads}", header.e_entry(endian))
}

/// Where `fetch` writes the fixture.
pub(crate) fn dir() -> PathBuf {
    root().join("target/linux")
}

/// The release kernel and initramfs `fetch` wrote, if they and the
/// backports kernel are there.
pub fn fetched() -> Option<(PathBuf, PathBuf)> {
    let (vmlinuz, initramfs) = (dir().join(VMLINUZ), dir().join(INITRAMFS));
    let all = [&vmlinuz, &initramfs, &dir().join(VMLINUZ_BACKPORTS)].iter().all(|p| p.is_file());
    all.then_some((vmlinuz, initramfs))
}

/// The folder holding `fetch`'s kernels and initramfs, if all are there.
pub fn fixture_dir() -> Option<PathBuf> {
    fetched().map(|_| dir())
}

/// `cargo xtask fetch-linux`.
pub fn fetch() -> Result<Fixture> {
    let dir = dir();
    let debs = dir.join("debs");
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error(format!("{}: {e}", dir.display())))?;
    let downloaded = cached_debs(&debs).is_none();
    if downloaded {
        download(&debs)?;
    }
    let Some((kernel_deb, busybox_deb)) = cached_debs(&debs) else {
        fail!("apt-get download finished but {} lacks the {ARCH} kernel or busybox .deb", debs.display());
    };

    let vmlinuz = dir.join(VMLINUZ);
    let busybox = dir.join("busybox");
    let scratch = dir.join("extract");
    if downloaded || !vmlinuz.is_file() {
        with_extracted(&kernel_deb.0, &scratch, |tree| copy(&boot_image(tree, &kernel_deb.0)?, &vmlinuz))?;
    }
    if downloaded || !busybox.is_file() {
        with_extracted(&busybox_deb.0, &scratch, |tree| copy(&tree.join("bin/busybox"), &busybox))?;
    }

    let debs_backports = dir.join("debs-backports");
    let downloaded_backports = cached_kernel(&debs_backports).is_none();
    if downloaded_backports {
        download_backports(&debs_backports)?;
    }
    let Some(backports_deb) = cached_kernel(&debs_backports) else {
        fail!("apt-get download finished but {} lacks the {ARCH} kernel .deb", debs_backports.display());
    };
    let vmlinuz_backports = dir.join(VMLINUZ_BACKPORTS);
    if downloaded_backports || !vmlinuz_backports.is_file() {
        with_extracted(&backports_deb.0, &scratch, |tree| {
            copy(&boot_image(tree, &backports_deb.0)?, &vmlinuz_backports)
        })?;
    }

    let busybox_bytes = std::fs::read(&busybox).map_err(|e| crate::Error(format!("{}: {e}", busybox.display())))?;
    let initramfs = dir.join(INITRAMFS);
    let compressed = gzip(&build_initramfs(&busybox_bytes)?)?;
    std::fs::write(&initramfs, compressed).map_err(|e| crate::Error(format!("{}: {e}", initramfs.display())))?;
    Ok(Fixture {
        vmlinuz,
        vmlinuz_backports,
        initramfs,
        busybox,
        packages: vec![
            (kernel_deb.1, kernel_deb.2),
            (backports_deb.1, backports_deb.2),
            (busybox_deb.1, busybox_deb.2),
        ],
        downloaded: downloaded || downloaded_backports,
    })
}

impl Fixture {
    /// Prints where the files are, what they are and how to boot them.
    pub fn report(&self) {
        let rel = |p: &Path| p.strip_prefix(root()).unwrap_or(p).display().to_string();
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mib = |p: &Path| format!("{:.1} MiB", size(p) as f64 / (1024.0 * 1024.0));
        let packages: Vec<String> = self.packages.iter().map(|(n, v)| format!("{n} {v}")).collect();
        println!(
            "Linux test fixture ({}): {} ({ARCH})",
            if self.downloaded { "downloaded now" } else { "cached, nothing downloaded" },
            packages.join(", ")
        );
        for vmlinuz in [&self.vmlinuz, &self.vmlinuz_backports] {
            let kernel = std::fs::read(vmlinuz).map(|b| describe_kernel(&b)).unwrap_or_else(|e| e.to_string());
            println!("  {:<30} {:>9}  {} bytes, {kernel}", rel(vmlinuz), mib(vmlinuz), size(vmlinuz));
        }
        println!(
            "  {:<30} {:>9}  gzip newc cpio: /init prints {INIT_MARKER}, CPUs, MemTotal, cmdline, then powers off",
            rel(&self.initramfs),
            mib(&self.initramfs)
        );
        println!("  {:<30} {:>9}  static busybox", rel(&self.busybox), mib(&self.busybox));
        println!("Boot them with QEMU's own loader:");
        println!(
            "    qemu-system-mips64el -M loongson3-virt -m 1G -nographic -no-reboot -kernel {} -initrd {} -append console=ttyS0",
            rel(&self.vmlinuz),
            rel(&self.initramfs)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::tests::parse;

    #[test]
    fn deb_file_names() {
        assert_eq!(
            parse_deb_file_name("busybox-static_1%3a1.35.0-4+deb12u1+b1_mips64el.deb"),
            Some(("busybox-static".into(), "1:1.35.0-4+deb12u1+b1".into(), "mips64el".into()))
        );
        assert_eq!(
            parse_deb_file_name("linux-image-6.1.0-50-loongson-3_6.1.176-1_mips64el.deb").unwrap().0,
            "linux-image-6.1.0-50-loongson-3"
        );
        assert_eq!(parse_deb_file_name("notes.txt"), None);
        assert_eq!(parse_deb_file_name("a_b.deb"), None);
        assert!(is_kernel_package("linux-image-6.1.0-50-loongson-3"));
        assert!(!is_kernel_package("linux-image-loongson-3"));
        assert!(!is_kernel_package("linux-image-6.1.0-50-loongson-3-dbg"));
    }

    const MADISON: &str = "\
linux-image-loongson-3:mips64el | 6.12.95-1~bpo12+1 | http://mirror.example/debian bookworm-backports/main mips64el Packages
linux-image-loongson-3:mips64el |  6.1.176-1 | http://mirror.example/debian bookworm/main mips64el Packages
linux-image-loongson-3:mips64el |  6.1.170-1 | http://mirror.example/debian bookworm/main Sources
";

    #[test]
    fn release_version_skips_backports_and_sources() {
        assert_eq!(suite_version(MADISON, "bookworm", Suites::Release).as_deref(), Some("6.1.176-1"));
        assert_eq!(suite_version(MADISON, "trixie", Suites::Release), None);
        assert_eq!(suite_version("", "bookworm", Suites::Release), None);
        let security =
            "p:mips64el | 6.1.180-1 | http://mirror.example/debian-security bookworm-security/main mips64el Packages\n";
        assert_eq!(
            suite_version(&format!("{security}{MADISON}"), "bookworm", Suites::Release).as_deref(),
            Some("6.1.180-1")
        );
    }

    #[test]
    fn backports_version_takes_only_the_backports_suite() {
        assert_eq!(suite_version(MADISON, "bookworm", Suites::Backports).as_deref(), Some("6.12.95-1~bpo12+1"));
        assert_eq!(suite_version(MADISON, "trixie", Suites::Backports), None);
        // A release-only listing has no backports version.
        let release_only: String =
            MADISON.lines().filter(|l| !l.contains("backports")).map(|l| format!("{l}\n")).collect();
        assert_eq!(suite_version(&release_only, "bookworm", Suites::Backports), None);
    }

    #[test]
    fn kernel_package_from_the_meta_package() {
        assert_eq!(
            kernel_package_from_depends("linux-image-6.1.0-50-loongson-3 (= 6.1.176-1)").as_deref(),
            Some("linux-image-6.1.0-50-loongson-3")
        );
        assert_eq!(
            kernel_package_from_depends(
                "initramfs-tools | linux-initramfs-tool, linux-image-6.12.95+deb12-loongson-3:mips64el"
            )
            .as_deref(),
            Some("linux-image-6.12.95+deb12-loongson-3")
        );
        assert_eq!(kernel_package_from_depends("linux-image-loongson-3, kmod"), None);
        assert_eq!(kernel_package_from_depends(""), None);
    }

    const SOURCES: &str = "Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nArchitectures: amd64 i386\nTargets: Packages Translations\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: trixie\nComponents: main\nArchitectures: amd64\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n";

    #[test]
    fn derives_a_mips64el_entry_from_restricted_stanzas() {
        assert_eq!(
            derive_arch_stanzas(SOURCES, "bookworm", "mips64el").as_deref(),
            Some(
                "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nArchitectures: mips64el\nArchitectures-Remove: all\nTargets: Packages\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            )
        );
        // Unrestricted, already including mips64el, or disabled: nothing to derive.
        let open = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n";
        assert_eq!(derive_arch_stanzas(open, "bookworm", "mips64el"), None);
        assert_eq!(
            derive_arch_stanzas(&format!("{open}Architectures: amd64 mips64el\n"), "bookworm", "mips64el"),
            None
        );
        assert_eq!(
            derive_arch_stanzas(&format!("{open}Architectures: amd64\nEnabled: no\n"), "bookworm", "mips64el"),
            None
        );
    }

    #[test]
    fn initramfs_holds_init_busybox_console_and_proc() {
        let busybox = b"\x7fELF busybox stand-in";
        let entries = parse(&build_initramfs(busybox).unwrap());
        let find = |name: &str| entries.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no {name}"));
        let init = find("init");
        assert_eq!(init.header.mode, 0o100_755);
        let script = std::str::from_utf8(&init.data).unwrap();
        assert!(script.starts_with("#!/bin/sh\n"));
        for needed in
            [INIT_MARKER, "mount -t proc proc /proc", "/proc/cpuinfo", "MemTotal", "/proc/cmdline", "poweroff -f"]
        {
            assert!(script.contains(needed), "/init lacks {needed:?}");
        }
        assert_eq!(find("bin/busybox").data, busybox);
        for applet in APPLETS {
            let link = find(&format!("bin/{applet}"));
            assert_eq!((link.header.mode, link.data.as_slice()), (0o120_777, &b"busybox"[..]));
        }
        let console = &find("dev/console").header;
        assert_eq!((console.mode, console.rdevmajor, console.rdevminor), (0o020_600, 5, 1));
        assert_eq!(find("proc").header.mode, 0o040_555);
        // Each directory comes before what it holds.
        let pos = |name: &str| entries.iter().position(|e| e.name == name).unwrap();
        assert!(pos("bin") < pos("bin/busybox") && pos("dev") < pos("dev/console"));
    }

    #[test]
    fn initramfs_gzip_round_trips() {
        use std::io::Read;
        let raw = build_initramfs(b"busybox").unwrap();
        let packed = gzip(&raw).unwrap();
        assert_eq!(&packed[..2], &[0x1f, 0x8b]);
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice()).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, raw);
    }

    #[test]
    fn describes_kernels() {
        assert_eq!(describe_kernel(b"MZ\0\0rest"), "not an ELF file (starts with 4d 5a 00 00)");
        assert_eq!(describe_kernel(b"\x7fELF"), "an ELF file, but not a valid ELF64 one");
        // A minimal ELF64 little-endian MIPS header with no program headers.
        let mut elf = vec![0u8; 64];
        elf[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        elf[16] = 2; // ET_EXEC
        elf[18] = 8; // EM_MIPS
        elf[20] = 1; // EV_CURRENT
        elf[24..32].copy_from_slice(&0xffff_ffff_8149_0000u64.to_le_bytes());
        elf[52] = 64; // e_ehsize
        assert_eq!(describe_kernel(&elf), "ELF64 little-endian MIPS, entry 0xffffffff81490000, no PT_LOAD segment");
    }
}

//! `cargo xtask fetch-installer`: Debian's installer for a Loongson-3 USB stick.
//!
//! Downloads `debian-installer-12-netboot-mips64el` (an `Architecture: all`
//! package) with apt and the machine's own Debian sources, as `fetch-linux`
//! does (no host name is written anywhere), and extracts its `loongson-3/`
//! files, the ones Debian tells users to copy to the root of a FAT stick:
//! `boot.cfg`, `initrd.gz` and `vmlinuz-<abi>-loongson-3`. They go to
//! `target/linux/installer/`, where `cargo xtask test` finds them for
//! `qemu-tests/tests/installer_stick.rs` (`TIANSHAN_INSTALLER`); the
//! package is cached in `target/linux/installer-debs/` (delete it to fetch
//! the current one again).

use crate::build::run_echoed;
use crate::linux::{Suites, apt_update, copy, dir, output, parse_deb_file_name, suite_version, with_extracted};
use crate::qemu::{is_root, os_release};
use crate::{Result, fail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The installer images for 64-bit little-endian MIPS machines.
const PACKAGE: &str = "debian-installer-12-netboot-mips64el";
/// Where the package keeps the stick's files.
const STICK_FILES: &str = "usr/lib/debian-installer/images/12/mips64el/loongson-3";
/// The stick's menu and initrd; the kernel is the one `vmlinuz-*` file.
const BOOT_CFG: &str = "boot.cfg";
const INITRD: &str = "initrd.gz";
const KERNEL_PREFIX: &str = "vmlinuz-";
/// Folders under `target/linux/`: the files, and the cached package.
const FILES_DIR: &str = "installer";
const DEBS_DIR: &str = "installer-debs";

/// The extracted stick files, if `fetch` wrote them.
pub fn fixture_dir() -> Option<PathBuf> {
    let files = dir().join(FILES_DIR);
    files.join(BOOT_CFG).is_file().then_some(files)
}

/// The cached package file and its version, if there is one.
fn cached_deb(debs: &Path) -> Option<(PathBuf, String)> {
    std::fs::read_dir(debs).ok()?.filter_map(|e| e.ok()).find_map(|entry| {
        let (name, version, _) = parse_deb_file_name(&entry.file_name().to_string_lossy())?;
        (name == PACKAGE).then(|| (entry.path(), version))
    })
}

/// Downloads the release's version of the package into `debs`.
fn download(debs: &Path) -> Result<()> {
    let codename = os_release("VERSION_CODENAME")
        .ok_or(crate::Error("/etc/os-release has no VERSION_CODENAME: which Debian release is this?".into()))?;
    let madison = || output(Command::new("apt-cache").args(["madison", PACKAGE]));
    let mut version = suite_version(&madison()?, &codename, Suites::Release);
    if version.is_none() && is_root() {
        apt_update()?;
        version = suite_version(&madison()?, &codename, Suites::Release);
    }
    let Some(version) = version else {
        fail!(
            "apt knows no {PACKAGE} in {codename}: run `sudo apt-get update`, then `cargo xtask fetch-installer` again"
        );
    };
    std::fs::create_dir_all(debs).map_err(|e| crate::Error(format!("{}: {e}", debs.display())))?;
    let mut cmd = Command::new("apt-get");
    if is_root() {
        // As in fetch-linux: apt's `_apt` user cannot write here.
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    cmd.arg("download").arg(format!("{PACKAGE}={version}")).current_dir(debs);
    run_echoed(&mut cmd)
}

/// `cargo xtask fetch-installer`: returns the folder with the stick's files.
pub fn fetch() -> Result<PathBuf> {
    let debs = dir().join(DEBS_DIR);
    if cached_deb(&debs).is_none() {
        download(&debs)?;
    }
    let Some((deb, version)) = cached_deb(&debs) else {
        fail!("apt-get download finished but {} holds no {PACKAGE} .deb", debs.display());
    };
    let files = dir().join(FILES_DIR);
    if files.exists() {
        std::fs::remove_dir_all(&files).map_err(|e| crate::Error(format!("{}: {e}", files.display())))?;
    }
    std::fs::create_dir_all(&files).map_err(|e| crate::Error(format!("{}: {e}", files.display())))?;
    with_extracted(&deb, &dir().join("installer-extract"), |tree| {
        let stick = tree.join(STICK_FILES);
        let kernel = std::fs::read_dir(&stick)
            .map_err(|e| crate::Error(format!("{}: no {STICK_FILES} in it ({e})", deb.display())))?
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with(KERNEL_PREFIX))
            .ok_or(crate::Error(format!("{}: no {STICK_FILES}/{KERNEL_PREFIX}* in it", deb.display())))?;
        copy(&kernel.path(), &files.join(kernel.file_name()))?;
        copy(&stick.join(BOOT_CFG), &files.join(BOOT_CFG))?;
        copy(&stick.join(INITRD), &files.join(INITRD))
    })?;
    println!("Debian installer stick files ({PACKAGE} {version}), to copy to the root of a FAT stick:");
    for entry in std::fs::read_dir(&files)?.filter_map(|e| e.ok()) {
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        println!(
            "  {:<50} {size:>10} bytes",
            entry.path().strip_prefix(crate::root()).unwrap_or(&entry.path()).display()
        );
    }
    Ok(files)
}

//! Finding (or installing) QEMU and starting it for a board.

use crate::board::Board;
use crate::build::{Images, echo, run_echoed};
use crate::{Result, fail, root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a derived backports source entry is written.
const BACKPORTS_SOURCES: &str = "/etc/apt/sources.list.d/tianshan-backports.sources";
/// The machine's Debian source file (deb822 format).
const DEBIAN_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";

fn find_in_path(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(binary)).find(|p| p.is_file())
}

pub fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_string()))
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false)
}

/// True when the installed qemu-utils came from `<codename>-backports`;
/// QEMU's system emulators must then come from there too, or their
/// versions (and shared data files) would not match.
fn qemu_utils_from_backports() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "qemu-utils"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("~bpo"))
        .unwrap_or(false)
}

/// Derives a `<codename>-backports` stanza from the machine's own deb822
/// Debian source (the stanza whose suites include the release itself),
/// so the mirror and keyring are the machine's.
pub fn derive_backports_stanza(debian_sources: &str, codename: &str) -> Option<String> {
    let stanza = debian_sources.split("\n\n").find(|stanza| {
        stanza
            .lines()
            .any(|l| l.strip_prefix("Suites:").is_some_and(|suites| suites.split_whitespace().any(|s| s == codename)))
    })?;
    let lines: Vec<String> = stanza
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| if l.starts_with("Suites:") { format!("Suites: {codename}-backports") } else { l.to_string() })
        .collect();
    Some(lines.join("\n") + "\n")
}

fn backports_configured(codename: &str) -> bool {
    let needle = format!("{codename}-backports");
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    files.iter().any(|f| {
        std::fs::read_to_string(f)
            .is_ok_and(|t| t.lines().any(|l| !l.trim_start().starts_with('#') && l.contains(&needle)))
    })
}

/// Makes apt know `<codename>-backports`: when no source names it, writes
/// [`BACKPORTS_SOURCES`], derived from the machine's own Debian source
/// (root only). Returns true if it wrote the file (apt's lists then need
/// an update).
pub fn ensure_backports_source(codename: &str) -> Result<bool> {
    if backports_configured(codename) {
        return Ok(false);
    }
    let sources = std::fs::read_to_string(DEBIAN_SOURCES)
        .map_err(|e| crate::Error(format!("cannot read {DEBIAN_SOURCES} to derive {codename}-backports: {e}")))?;
    let stanza = derive_backports_stanza(&sources, codename)
        .ok_or(crate::Error(format!("{DEBIAN_SOURCES} has no stanza for {codename} to derive backports from")))?;
    eprintln!("xtask: writing {BACKPORTS_SOURCES} (derived from {DEBIAN_SOURCES})");
    std::fs::write(BACKPORTS_SOURCES, stanza)
        .map_err(|e| crate::Error(format!("{BACKPORTS_SOURCES}: {e} (adding a source takes root)")))?;
    Ok(true)
}

/// The QEMU binary for `board`, installing its Debian package if needed
/// (and possible).
pub fn ensure_installed(board: &Board) -> Result<PathBuf> {
    if let Some(p) = find_in_path(&board.qemu.binary) {
        return Ok(p);
    }
    let package = &board.qemu.debian_package;
    let debian = Path::new("/etc/debian_version").exists();
    let codename = os_release("VERSION_CODENAME");
    let backports = debian && qemu_utils_from_backports();
    let install_cmd = match (&codename, backports) {
        (Some(c), true) => format!("apt-get install -y -t {c}-backports {package}"),
        _ => format!("apt-get install -y {package}"),
    };
    if !debian || !is_root() {
        fail!(
            "{} is not installed. Install it with:\n    sudo apt-get update && sudo {install_cmd}{}",
            board.qemu.binary,
            if backports { "\n(from backports, to match the installed qemu-utils)" } else { "" }
        );
    }
    eprintln!("xtask: {} is missing; installing Debian's {package}", board.qemu.binary);
    if let (Some(c), true) = (&codename, backports) {
        ensure_backports_source(c)?;
    }
    run_echoed(Command::new("apt-get").args(["update", "-q"]))?;
    let mut install = Command::new("apt-get");
    install.env("DEBIAN_FRONTEND", "noninteractive").args(install_cmd.split_whitespace().skip(1));
    run_echoed(&mut install)?;
    find_in_path(&board.qemu.binary)
        .ok_or(crate::Error(format!("{package} installed but {} is still missing", board.qemu.binary)))
}

/// QEMU with the board's machine arguments.
pub fn command(board: &Board, binary: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(&board.qemu.args).current_dir(root());
    cmd
}

/// Boots the ROM with the serial console on this terminal.
pub fn run_interactive(board: &Board, binary: &Path, images: &Images, gdb: bool, extra: &[String]) -> Result<()> {
    let mut cmd = command(board, binary);
    cmd.args(["-serial", "mon:stdio", "-bios"]).arg(&images.rom);
    if gdb {
        cmd.args(["-s", "-S"]);
    }
    cmd.args(extra);
    let rel = |p: &Path| p.strip_prefix(root()).unwrap_or(p).display().to_string();
    eprintln!(
        "xtask: booting {} on {}. Quit QEMU with Ctrl-A then x (Ctrl-A h lists the other keys).",
        rel(&images.rom),
        board.name
    );
    if gdb {
        eprintln!("xtask: QEMU is stopped at the reset vector with its GDB stub on :1234. Attach with:");
        eprintln!(
            "    gdb-multiarch {} -ex 'set architecture {}' -ex 'set endian little' -ex 'add-symbol-file {}' -ex 'target remote :1234'",
            rel(&images.firmware_elf),
            board.qemu.gdb_arch,
            rel(&images.kernel_elf)
        );
        eprintln!("    (Debian package gdb-multiarch; 'continue' starts the machine)");
    }
    echo(&cmd);
    let status = cmd.status()?;
    if !status.success() {
        fail!("QEMU exited with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::derive_backports_stanza;

    const SOURCES: &str = "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n";

    #[test]
    fn derives_backports_from_the_release_stanza() {
        let s = derive_backports_stanza(SOURCES, "bookworm").unwrap();
        assert_eq!(
            s,
            "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        assert_eq!(derive_backports_stanza(SOURCES, "trixie"), None);
    }
}

//! Parsed boot configurations written back as text, for round-trip checks.
//!
//! Each printer writes one line per setting the parse kept, in the file's
//! own syntax, so that parsing the printed text must give the same
//! settings (the targets `config`, `bls` and `pmon` check exactly that).

use std::fmt::Write as _;
use tianshan_bootcfg::bls::BlsEntry;
use tianshan_bootcfg::config::{DefaultEntry, FirmwareConfig};
use tianshan_bootcfg::pmon::{BootCfg, PmonPath};

/// `key = value` lines for every setting of `config`.
pub fn firmware_config(config: &FirmwareConfig<'_>) -> String {
    let mut out = String::new();
    let order: Vec<&str> = config.boot_order.as_slice().iter().map(|s| s.name()).collect();
    writeln!(out, "bootdelay = {}", config.boot_delay_seconds).unwrap();
    writeln!(out, "bootorder = {}", order.join(", ")).unwrap();
    match config.default_entry {
        Some(DefaultEntry::Index(index)) => writeln!(out, "default = {index}").unwrap(),
        Some(DefaultEntry::Title(title)) => writeln!(out, "default = {title}").unwrap(),
        None => {}
    }
    if let Some(cmdline) = config.cmdline {
        writeln!(out, "cmdline = {cmdline}").unwrap();
    }
    writeln!(out, "console = {}", config.console.name()).unwrap();
    out
}

/// `key value` lines for every field of `entry`.
pub fn bls_entry(entry: &BlsEntry<'_>) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            writeln!(out, "{key} {value}").unwrap();
        }
    };
    line("title", entry.title);
    line("version", entry.version);
    line("machine-id", entry.machine_id);
    line("sort-key", entry.sort_key);
    line("linux", Some(entry.linux));
    line("devicetree", entry.devicetree);
    line("devicetree-overlay", entry.devicetree_overlay);
    line("architecture", entry.architecture);
    line("efi", entry.efi);
    for initrd in entry.initrds() {
        line("initrd", Some(initrd));
    }
    for options in entry.options() {
        line("options", Some(options));
    }
    out
}

/// A PMON path in the form `split_path` takes apart into `path` again.
fn pmon_path(path: &PmonPath<'_>) -> String {
    match (path.device, path.filesystem) {
        (Some(device), Some(filesystem)) => {
            let letter = path.partition.map(|p| char::from(b'a' + p)).map(String::from).unwrap_or_default();
            format!("/dev/fs/{filesystem}@{device}{letter}/{}", path.path)
        }
        (Some(device), None) => match path.partition {
            Some(partition) => format!("({device},{partition})/{}", path.path),
            None => format!("({device})/{}", path.path),
        },
        // A plain path must not start with `/dev/` (a device, not a file):
        // a second slash keeps `dev/...` a file name.
        _ if path.path.starts_with("dev/") => format!("//{}", path.path),
        _ => format!("/{}", path.path),
    }
}

/// A `boot.cfg` with the kept entries, `default` counted among them.
pub fn boot_cfg(config: &BootCfg<'_>) -> String {
    let mut out = String::new();
    if let Some(timeout) = config.timeout_seconds {
        writeln!(out, "timeout {timeout}").unwrap();
    }
    if let Some(show) = config.show_menu {
        writeln!(out, "showmenu {}", u8::from(show)).unwrap();
    }
    writeln!(out, "default {}", config.default_index()).unwrap();
    for entry in config.entries().iter() {
        writeln!(out, "title {}", entry.title).unwrap();
        writeln!(out, "  kernel {}", pmon_path(&entry.kernel)).unwrap();
        if let Some(initrd) = &entry.initrd {
            writeln!(out, "  initrd {}", pmon_path(initrd)).unwrap();
        }
        if let Some(args) = entry.args {
            writeln!(out, "  args {args}").unwrap();
        }
    }
    out
}

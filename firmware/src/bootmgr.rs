//! Boot manager: the configuration, the countdown, and the ordered boot
//! options.
//!
//! Sources, tried in `bootorder` (default `fwcfg,disk,rom`):
//!
//! * `fwcfg`: `opt/tianshan/kernel` from QEMU's fw_cfg;
//! * `disk`: boot entries on the virtio-blk disks (`disk::boot`: BLS
//!   `/loader/entries/*.conf` and PMON `/boot/boot.cfg` on FAT or ext);
//! * `rom`: the kernel embedded in the ROM image.
//!
//! The command line is `opt/tianshan/cmdline` when the machine has that
//! fw_cfg file (like QEMU's own `-append`), else a disk entry's own, else
//! the configured `cmdline`.
//!
//! A source that has nothing to boot, or whose kernel is refused, is
//! reported in one line and the next is tried; when none is left the
//! caller runs the shell. The configuration comes from
//! `opt/tianshan/config` or, when fw_cfg has none, from `/tianshan.cfg` on
//! the first disk file system that has one (format:
//! `tianshan_bootcfg::config`); bad lines are reported with the file and
//! their line numbers and the good ones still apply.

use crate::board::Board;
use crate::loader::{self, BootError, EMBEDDED_KERNEL};
use crate::platform::Platform;
use crate::scratch::{Scratch, split_file};
use crate::timing::Timeline;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use spin::Mutex;
use tianshan_bootcfg::config::{self, BootSource, FirmwareConfig};
use tianshan_bootinfo::Phase;
use tianshan_drivers::{console, print, println};

/// fw_cfg file: the kernel to boot.
pub const FWCFG_KERNEL: &str = "opt/tianshan/kernel";
/// fw_cfg file: the initrd (for Linux).
pub const FWCFG_INITRD: &str = "opt/tianshan/initrd";
/// fw_cfg file: the kernel command line.
pub const FWCFG_CMDLINE: &str = "opt/tianshan/cmdline";
/// fw_cfg file: the firmware configuration.
pub const FWCFG_CONFIG: &str = "opt/tianshan/config";
/// The firmware configuration on a disk, when fw_cfg has none.
pub const DISK_CONFIG: &str = "/tianshan.cfg";
/// Longest configuration file read.
const MAX_CONFIG: u32 = 64 * 1024;

static SETTINGS: Mutex<Option<FirmwareConfig<'static>>> = Mutex::new(None);
/// Where the configuration was read from (`None`: the defaults).
static CONFIG_ORIGIN: Mutex<Option<String>> = Mutex::new(None);
/// The configuration file as read, which `setenv` lines are appended to.
static CONFIG_TEXT: Mutex<&'static [u8]> = Mutex::new(b"");

/// The configuration file's text as it was read at boot.
pub fn config_text() -> &'static [u8] {
    *CONFIG_TEXT.lock()
}

/// Where the configuration in force was read from, for `printenv`.
pub fn config_origin() -> String {
    CONFIG_ORIGIN.lock().clone().unwrap_or_else(|| String::from("the defaults"))
}

/// The settings in force (the configuration, as changed by `setenv`).
pub fn settings() -> FirmwareConfig<'static> {
    SETTINGS.lock().unwrap_or_default()
}

/// Replaces the settings in force.
pub fn set_settings(c: FirmwareConfig<'static>) {
    *SETTINGS.lock() = Some(c);
}

/// Reads and applies `opt/tianshan/config`, or when fw_cfg has none
/// `/tianshan.cfg` from a disk, reporting bad lines.
pub fn load_config<B: Board + 'static>(board: &B) {
    let mut origin = String::from(FWCFG_CONFIG);
    let text: &'static [u8] = match board.fw_cfg_size(FWCFG_CONFIG) {
        Ok(Some(size)) if size > MAX_CONFIG => {
            println!("config: {FWCFG_CONFIG} is {size} bytes, more than {MAX_CONFIG}; using defaults");
            b""
        }
        Ok(Some(size)) => {
            let mut buf = vec![0u8; size as usize];
            match board.fw_cfg_read(FWCFG_CONFIG, &mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    buf.leak()
                }
                Err(e) => {
                    println!("config: cannot read {FWCFG_CONFIG}: {e}; using defaults");
                    b""
                }
            }
        }
        Ok(None) | Err(_) => match crate::disk::fs::find_file::<B>(DISK_CONFIG, u64::from(MAX_CONFIG)) {
            None => b"",
            Some((place, Ok(text))) => {
                origin = format!("{place}:{DISK_CONFIG}");
                println!("config: {origin} ({} bytes)", text.len());
                text.leak()
            }
            Some((place, Err(e))) => {
                println!("config: {place}:{DISK_CONFIG}: {e}; using defaults");
                b""
            }
        },
    };
    if !text.is_empty() {
        *CONFIG_ORIGIN.lock() = Some(origin.clone());
    }
    *CONFIG_TEXT.lock() = text;
    let parsed = config::parse_bytes(text);
    for d in parsed.diagnostics.iter() {
        println!("config: {origin} {d}");
    }
    if parsed.diagnostics.overflowed() > 0 {
        println!("config: {} more problems not shown", parsed.diagnostics.overflowed());
    }
    set_settings(parsed.value);
}

/// How autoboot ended (when it returns at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A key was pressed during the countdown.
    Cancelled,
    /// Every source was tried and none booted.
    Exhausted,
}

/// Counts down `bootdelay` seconds; true if a key interrupted it.
fn countdown<B: Board>(board: &B, platform: &Platform, seconds: u32) -> bool {
    print!("autoboot in {seconds} s; press any key for the firmware shell ");
    let per_second = platform.counter_hz.max(1);
    for left in (1..=seconds).rev() {
        let start = board.counter();
        while u64::from(board.counter().wrapping_sub(start)) < per_second {
            if console::try_read().is_some() {
                println!();
                println!("autoboot cancelled");
                return true;
            }
        }
        print!("{} ", left - 1);
    }
    println!();
    false
}

/// Tries every source in order. Returns only if nothing booted.
pub fn autoboot<B: Board + 'static>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    timeline: &mut Timeline,
) -> Outcome {
    let cfg = settings();
    if cfg.boot_delay_seconds > 0 && countdown(board, platform, cfg.boot_delay_seconds) {
        return Outcome::Cancelled;
    }
    for &source in cfg.boot_order.as_slice() {
        let err = boot_source(board, platform, scratch, source, timeline);
        println!("boot: {}: {err}", source.name());
    }
    Outcome::Exhausted
}

/// Boots from `source`, loading into `scratch`. Returns only on failure.
pub fn boot_source<B: Board + 'static>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    source: BootSource,
    timeline: &mut Timeline,
) -> BootError {
    match source {
        BootSource::FwCfg => boot_fwcfg(board, platform, scratch, timeline),
        BootSource::Rom => boot_rom(board, platform, scratch, timeline),
        BootSource::Disk => crate::disk::boot::boot(board, platform, scratch, timeline),
    }
}

fn configured_cmdline() -> String {
    String::from(settings().cmdline.unwrap_or(""))
}

/// `opt/tianshan/cmdline`, when the machine has that fw_cfg file.
fn fwcfg_cmdline_override<B: Board>(board: &B) -> Result<Option<String>, BootError> {
    let Some(size) = board.fw_cfg_size(FWCFG_CMDLINE).map_err(BootError::Platform)? else {
        return Ok(None);
    };
    if size as usize >= B::MAX_CMDLINE {
        return Err(BootError::CmdlineTooLong { len: size as usize, max: B::MAX_CMDLINE - 1 });
    }
    let mut buf = vec![0u8; size as usize];
    let n = board.fw_cfg_read(FWCFG_CMDLINE, &mut buf).map_err(BootError::Platform)?;
    buf.truncate(n);
    String::from_utf8(buf).map(Some).map_err(|_| BootError::CmdlineNotUtf8)
}

fn fwcfg_cmdline<B: Board>(board: &B) -> Result<String, BootError> {
    Ok(fwcfg_cmdline_override(board)?.unwrap_or_else(configured_cmdline))
}

/// The command line for a disk boot entry whose own is `options`:
/// `opt/tianshan/cmdline` if present, else `options`, else the configured
/// `cmdline`.
pub fn entry_cmdline<B: Board>(board: &B, options: Option<&str>) -> Result<String, BootError> {
    Ok(match fwcfg_cmdline_override(board)? {
        Some(c) => c,
        None => options.map_or_else(configured_cmdline, String::from),
    })
}

fn boot_fwcfg<B: Board>(board: &B, platform: &Platform, scratch: &mut Scratch, timeline: &mut Timeline) -> BootError {
    let size = match board.fw_cfg_size(FWCFG_KERNEL) {
        Ok(Some(size)) => size as usize,
        Ok(None) => return BootError::NotPresent("no opt/tianshan/kernel in fw_cfg"),
        Err(e) => return BootError::Platform(e),
    };
    let cmdline = match fwcfg_cmdline(board) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let (file, rest) = match split_file(scratch.bytes(), size) {
        Ok(parts) => parts,
        Err(e) => return e,
    };
    // The choice is made; reading and checking the payload is the loader's.
    timeline.mark(Phase::BootManager, board.counter());
    match board.fw_cfg_read(FWCFG_KERNEL, file) {
        Ok(n) if n == size => {}
        Ok(n) => return BootError::ShortRead { read: n, size },
        Err(e) => return BootError::Platform(e),
    }
    println!("boot: fwcfg: {FWCFG_KERNEL} ({size} bytes)");
    // The initrd, if any, right after the kernel file.
    let (initrd, rest) = match board.fw_cfg_size(FWCFG_INITRD) {
        Ok(None) => (None, rest),
        Ok(Some(isize)) => {
            let isize = isize as usize;
            let (initrd, rest) = match split_file(rest, isize) {
                Ok(parts) => parts,
                Err(e) => return e,
            };
            match board.fw_cfg_read(FWCFG_INITRD, initrd) {
                Ok(n) if n == isize => {}
                Ok(n) => return BootError::ShortRead { read: n, size: isize },
                Err(e) => return BootError::Platform(e),
            }
            println!("boot: fwcfg: {FWCFG_INITRD} ({isize} bytes)");
            (Some(&*initrd), rest)
        }
        Err(e) => return BootError::Platform(e),
    };
    let image = match loader::unpack(file, rest) {
        Ok(image) => image,
        Err(e) => return e,
    };
    loader::boot_image(board, platform, "fwcfg:opt/tianshan/kernel", image, &cmdline, initrd, timeline)
}

fn boot_rom<B: Board>(board: &B, platform: &Platform, scratch: &mut Scratch, timeline: &mut Timeline) -> BootError {
    // The choice is made; reading and checking the payload is the loader's.
    timeline.mark(Phase::BootManager, board.counter());
    let file = match loader::embedded_kernel(board) {
        Ok(image) => image,
        Err(e) => return e,
    };
    let image = match loader::unpack(file, scratch.bytes()) {
        Ok(image) => image,
        Err(e) => return e,
    };
    let cmdline = match fwcfg_cmdline(board) {
        Ok(c) => c,
        Err(e) => return e,
    };
    loader::boot_image(board, platform, EMBEDDED_KERNEL, image, &cmdline, None, timeline)
}

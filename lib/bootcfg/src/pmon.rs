//! PMON `boot.cfg` menus, as Loongson's PMON firmware reads from `/boot/boot.cfg`.
//!
//! The file is looked for at each path of [`BOOT_CFG_PATHS`] on a partition:
//! `/boot/boot.cfg`, where installed systems keep it, then `/boot.cfg`,
//! where Debian's installer stick has it (the `loongson-3` files of
//! `debian-installer-12-netboot-mips64el` go to the root of a FAT stick).
//!
//! ```text
//! default 0
//! timeout 3
//! showmenu 1
//!
//! title   Debian GNU/Linux (6.1.0-loongson-3)
//!         kernel (wd0,0)/vmlinuz-6.1.0-loongson-3
//!         initrd (wd0,0)/initrd.img-6.1.0-loongson-3
//!         args   console=ttyS0,115200 root=/dev/sda2
//! ```
//!
//! - Global keys: `default N` (the entry to boot, counted from 0 in file
//!   order), `timeout N` (seconds), `showmenu 0|1`.
//! - `title <text>` starts an entry; the `kernel`, `initrd` and `args` lines
//!   after it (usually indented, which is not required) belong to it. `args`
//!   is the rest of the line, verbatim, except that `args nil` ([`NO_ARGS`])
//!   is PMON's way to write "no arguments" and gives an empty command line.
//! - The key is the first word (any ASCII case); white space separates it
//!   from the value. Lines whose first non-blank character is `#` are
//!   comments.
//! - An entry without a usable `kernel` (or with an unusable `initrd`) is
//!   reported and skipped; `default` still counts it, as PMON does, so it
//!   keeps pointing at the same title. A `default` past the last title, or
//!   naming a skipped entry, is reported and falls back to the first entry.
//!
//! Paths carry a PMON device: `(wd0,0)/vmlinuz` (disk `wd0`, partition 0),
//! `/dev/fs/ext2@wd0b/boot/vmlinux` (partition `b`, the second), or none
//! (`/boot/vmlinuz`, on the partition holding `boot.cfg`). [`split_path`]
//! takes them apart.
//!
//! Devices: the firmware reads `boot.cfg` from one disk and can only load
//! from that disk, so a device must name it. Unit 0 of a disk kind PMON
//! knows ([`DISK_KINDS`]: `wd` IDE/SATA, `sd` SCSI, `usb` USB storage, `cd`
//! CD-ROM) does, whatever kind the disk really is: QEMU gives us virtio-blk
//! disks, while a stick's file says `usb0` and an installed system's
//! `wd0`. Another unit (`wd1`) or kind (`fd0`) cannot be mapped: the path
//! is reported unusable ([`PathError::OtherUnit`], [`PathError::NotADisk`])
//! and its entry skipped. [`own_disk`] is that rule.

use core::fmt;

use crate::list::{Diagnostic, Diagnostics, FixedList, Parsed};
use crate::text::{self, Excerpt, Names, NumberError, Utf8Fault};

/// Where a partition's `boot.cfg` is looked for, in order; the first found
/// is read.
pub const BOOT_CFG_PATHS: [&str; 2] = ["/boot/boot.cfg", "/boot.cfg"];
/// The `args` value that means "no arguments".
pub const NO_ARGS: &str = "nil";
/// The disk kinds whose unit 0 names the disk holding `boot.cfg`.
pub const DISK_KINDS: [&str; 4] = ["wd", "sd", "usb", "cd"];
/// The unit number that names the disk holding `boot.cfg`.
const OWN_UNIT: &str = "0";
/// Most entries kept from one file.
pub const MAX_ENTRIES: usize = 32;
/// Longest `timeout` accepted (one hour).
pub const MAX_TIMEOUT_SECONDS: u32 = 3600;
/// Prefix of PMON's file-system device paths: `/dev/fs/<type>@<device>/...`.
const DEV_FS_PREFIX: &str = "/dev/fs/";
/// Prefix of PMON's other device paths (`/dev/ram@...`), which are not files.
const DEV_PREFIX: &str = "/dev/";
/// Separates the file-system type from the device in a `/dev/fs/` path.
const FILESYSTEM_DEVICE_SEPARATOR: char = '@';
/// Marks a network address (`tftp://host/vmlinux`).
const URL_MARKER: &str = "://";
/// Opens and closes the device in `(wd0,0)/path`.
const DEVICE_OPEN: char = '(';
const DEVICE_CLOSE: char = ')';
/// Separates device from partition in `(wd0,0)`.
const PARTITION_SEPARATOR: char = ',';
/// Separates path components.
const PATH_SEPARATOR: char = '/';
/// `/dev/fs/ext2@wd0a` is the first partition, `wd0b` the second, and so on.
const FIRST_PARTITION_LETTER: u8 = b'a';
/// `showmenu` values.
const SHOW_MENU_OFF: &str = "0";
const SHOW_MENU_ON: &str = "1";

/// The keys, in the case the file usually uses.
mod key {
    pub const DEFAULT: &str = "default";
    pub const TIMEOUT: &str = "timeout";
    pub const SHOW_MENU: &str = "showmenu";
    pub const TITLE: &str = "title";
    pub const KERNEL: &str = "kernel";
    pub const INITRD: &str = "initrd";
    pub const ARGS: &str = "args";
}

const KNOWN_KEYS: Names =
    Names(&[key::DEFAULT, key::TIMEOUT, key::SHOW_MENU, key::TITLE, key::KERNEL, key::INITRD, key::ARGS]);

/// A PMON path taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmonPath<'a> {
    /// The device as PMON names it (`wd0`, `usb0`, `cd0`); `None` for a plain
    /// path, which is on the partition holding `boot.cfg`.
    pub device: Option<&'a str>,
    /// The file-system type of a `/dev/fs/<type>@` path (`ext2`, `vfat`).
    pub filesystem: Option<&'a str>,
    /// The partition, counted from 0; `None` when the path does not say
    /// (PMON then uses the first).
    pub partition: Option<u8>,
    /// The file, relative to the root of the partition: no leading `/`.
    pub path: &'a str,
}

/// Why a PMON path cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// Nothing at all.
    Empty,
    /// `tftp://` and the like.
    NetworkAddress,
    /// `(wd0,0` with no `)`.
    UnclosedDevice,
    /// A device that is not letters then a unit number.
    BadDevice,
    /// A partition that is not a number from 0 to 255.
    BadPartition,
    /// `/dev/fs/` not followed by `<type>@<device>`.
    MissingDevice,
    /// `/dev/fs/@wd0`: no file-system type.
    EmptyFilesystem,
    /// `/dev/ram@...` and other devices that hold no file system.
    NotFileSystem,
    /// A device, but no file after it.
    NoFile,
    /// A disk kind of [`DISK_KINDS`] with a unit other than 0.
    OtherUnit,
    /// A device whose kind is not in [`DISK_KINDS`].
    NotADisk,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Empty => "the path is empty",
            PathError::NetworkAddress => "network addresses are not supported, only disk paths",
            PathError::UnclosedDevice => "no ')' closes the device",
            PathError::BadDevice => "the device is not a name and unit number such as wd0 or usb0",
            PathError::BadPartition => "the partition is not a number from 0 to 255",
            PathError::MissingDevice => "'/dev/fs/' is not followed by '<type>@<device>'",
            PathError::EmptyFilesystem => "no file-system type before '@'",
            PathError::NotFileSystem => "only '/dev/fs/<type>@<device>/...' device paths name files",
            PathError::NoFile => "it names no file",
            PathError::OtherUnit => "only unit 0 (wd0, sd0, usb0, cd0) names the disk holding boot.cfg",
            PathError::NotADisk => "the device is not a disk (wd0, sd0, usb0 or cd0 names the disk holding boot.cfg)",
        })
    }
}

impl core::error::Error for PathError {}

/// Splits a PMON path into device, partition and the path within the file
/// system, which is relative to the partition's root:
///
/// | path                              | device | partition | path               |
/// |-----------------------------------|--------|-----------|--------------------|
/// | `(wd0,0)/boot/vmlinuz`            | `wd0`  | 0         | `boot/vmlinuz`     |
/// | `(usb0,1)/vmlinux`                | `usb0` | 1         | `vmlinux`          |
/// | `(cd0)/vmlinux`                   | `cd0`  | none      | `vmlinux`          |
/// | `/dev/fs/ext2@wd0/boot/vmlinux`   | `wd0`  | none      | `boot/vmlinux`     |
/// | `/dev/fs/ext2@wd0b/boot/vmlinux`  | `wd0`  | 1         | `boot/vmlinux`     |
/// | `/boot/vmlinuz`                   | none   | none      | `boot/vmlinuz`     |
pub fn split_path(path: &str) -> Result<PmonPath<'_>, PathError> {
    let path = path.trim();
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.contains(URL_MARKER) {
        return Err(PathError::NetworkAddress);
    }
    if let Some(rest) = path.strip_prefix(DEVICE_OPEN) {
        let (inside, file) = rest.split_once(DEVICE_CLOSE).ok_or(PathError::UnclosedDevice)?;
        let (device, partition) = match inside.split_once(PARTITION_SEPARATOR) {
            Some((device, partition)) => (device.trim(), Some(parse_partition(partition.trim())?)),
            None => (inside.trim(), None),
        };
        if unit_name_len(device) != Some(device.len()) {
            return Err(PathError::BadDevice);
        }
        return Ok(PmonPath { device: Some(device), filesystem: None, partition, path: within(file)? });
    }
    if let Some(rest) = path.strip_prefix(DEV_FS_PREFIX) {
        let (filesystem, rest) = rest.split_once(FILESYSTEM_DEVICE_SEPARATOR).ok_or(PathError::MissingDevice)?;
        if filesystem.contains(PATH_SEPARATOR) {
            return Err(PathError::MissingDevice);
        }
        if filesystem.is_empty() {
            return Err(PathError::EmptyFilesystem);
        }
        let (spec, file) = rest.split_once(PATH_SEPARATOR).unwrap_or((rest, ""));
        let (device, partition) = split_device_letter(spec)?;
        return Ok(PmonPath { device: Some(device), filesystem: Some(filesystem), partition, path: within(file)? });
    }
    if path.starts_with(DEV_PREFIX) {
        return Err(PathError::NotFileSystem);
    }
    Ok(PmonPath { device: None, filesystem: None, partition: None, path: within(path)? })
}

/// Checks that `device` (`usb0`) names the disk holding `boot.cfg`: unit 0
/// of a kind in [`DISK_KINDS`], in any ASCII case. See the module
/// documentation.
pub fn own_disk(device: &str) -> Result<(), PathError> {
    let letters = device.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (kind, unit) = device.split_at_checked(letters).ok_or(PathError::BadDevice)?;
    if !DISK_KINDS.iter().any(|known| known.eq_ignore_ascii_case(kind)) {
        return Err(PathError::NotADisk);
    }
    if unit != OWN_UNIT {
        return Err(PathError::OtherUnit);
    }
    Ok(())
}

/// [`split_path`], then [`own_disk`] for a path that names a device.
pub fn split_own_path(path: &str) -> Result<PmonPath<'_>, PathError> {
    let split = split_path(path)?;
    split.device.map_or(Ok(()), own_disk)?;
    Ok(split)
}

/// The file part without leading slashes; it must name something.
fn within(file: &str) -> Result<&str, PathError> {
    let file = file.trim_start_matches(PATH_SEPARATOR);
    if file.is_empty() { Err(PathError::NoFile) } else { Ok(file) }
}

fn parse_partition(text: &str) -> Result<u8, PathError> {
    text::parse_decimal(text, u64::from(u8::MAX))
        .ok()
        .and_then(|partition| u8::try_from(partition).ok())
        .ok_or(PathError::BadPartition)
}

/// Length of the `letters digits` device name at the start of `spec`
/// (`wd0` in `wd0b`), or `None` if it does not start with one.
fn unit_name_len(spec: &str) -> Option<usize> {
    let letters = spec.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digits = spec.bytes().skip(letters).take_while(u8::is_ascii_digit).count();
    (letters > 0 && digits > 0).then_some(letters + digits)
}

/// Splits `wd0b` into `wd0` and partition 1; `wd0` has no partition letter.
fn split_device_letter(spec: &str) -> Result<(&str, Option<u8>), PathError> {
    let name_len = unit_name_len(spec).ok_or(PathError::BadDevice)?;
    let device = spec.get(..name_len).ok_or(PathError::BadDevice)?;
    match spec.as_bytes().get(name_len..).unwrap_or_default() {
        [] => Ok((device, None)),
        [letter @ b'a'..=b'z'] => Ok((device, Some(letter - FIRST_PARTITION_LETTER))),
        _ => Err(PathError::BadDevice),
    }
}

/// One menu entry that can be booted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmonEntry<'a> {
    /// The `title` text.
    pub title: &'a str,
    /// Line number of the `title` line.
    pub line: usize,
    /// Position among all titles in the file, counted from 0: the number
    /// `default` uses for this entry, even when earlier entries were skipped.
    pub title_index: usize,
    /// The `kernel` path.
    pub kernel: PmonPath<'a>,
    /// The `initrd` path.
    pub initrd: Option<PmonPath<'a>>,
    /// The `args` line: the kernel command line (empty for `args nil`).
    pub args: Option<&'a str>,
}

/// A parsed `boot.cfg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootCfg<'a> {
    /// `timeout`: seconds before booting the default entry.
    pub timeout_seconds: Option<u32>,
    /// `showmenu`: whether to show the menu.
    pub show_menu: Option<bool>,
    default_index: usize,
    entries: FixedList<PmonEntry<'a>, MAX_ENTRIES>,
}

impl<'a> BootCfg<'a> {
    /// The usable entries, in file order.
    pub fn entries(&self) -> &FixedList<PmonEntry<'a>, MAX_ENTRIES> {
        &self.entries
    }

    /// Index into [`BootCfg::entries`] of the entry to boot by default.
    pub fn default_index(&self) -> usize {
        self.default_index
    }

    /// The entry to boot by default; `None` when no entry is usable.
    pub fn default_entry(&self) -> Option<&PmonEntry<'a>> {
        self.entries.get(self.default_index)
    }
}

/// Why a line of `boot.cfg` was ignored, or an entry skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    /// The line is not UTF-8.
    NotUtf8(Utf8Fault),
    /// A key PMON menus do not have.
    UnknownKey(Excerpt<'a>),
    /// `kernel`, `initrd` or `args` before any `title`.
    OutsideEntry(Excerpt<'a>),
    /// `default` or `timeout` that is not digits.
    NotANumber {
        /// The key, as written.
        key: Excerpt<'a>,
        /// The value, as written.
        value: Excerpt<'a>,
    },
    /// `timeout` above [`MAX_TIMEOUT_SECONDS`].
    TimeoutTooLong(Excerpt<'a>),
    /// `showmenu` other than 0 or 1.
    BadShowMenu(Excerpt<'a>),
    /// `title` with no text (the entry is still started).
    EmptyTitle,
    /// A `kernel` or `initrd` path that cannot be used; the entry is skipped.
    BadPath {
        /// `kernel` or `initrd`, as written.
        key: Excerpt<'a>,
        /// The path, as written.
        path: Excerpt<'a>,
        /// What is wrong with it.
        error: PathError,
    },
    /// An entry without a `kernel` line; skipped.
    NoKernel(Excerpt<'a>),
    /// An entry beyond [`MAX_ENTRIES`]; ignored.
    TooManyEntries(Excerpt<'a>),
    /// `default` beyond the last title; the first entry is used.
    DefaultOutOfRange {
        /// The value, as written.
        value: Excerpt<'a>,
        /// How many titles the file has.
        titles: usize,
    },
    /// `default` names an entry that was skipped; the first entry is used.
    DefaultSkipped(usize),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotUtf8(fault) => write!(f, "{fault}; line ignored"),
            Problem::UnknownKey(found) => write!(f, "unknown key '{found}' (known: {KNOWN_KEYS})"),
            Problem::OutsideEntry(found) => write!(f, "'{found}' is outside an entry (no 'title' line before it)"),
            Problem::NotANumber { key, value } => write!(f, "{key} '{value}' is not a number"),
            Problem::TimeoutTooLong(value) => {
                write!(f, "timeout {value} is more than the maximum of {MAX_TIMEOUT_SECONDS} seconds")
            }
            Problem::BadShowMenu(value) => {
                write!(f, "showmenu '{value}' is neither {SHOW_MENU_OFF} nor {SHOW_MENU_ON}")
            }
            Problem::EmptyTitle => write!(f, "'title' has no text"),
            Problem::BadPath { key, path, error } => {
                write!(f, "{key} path '{path}' is unusable: {error}; entry skipped")
            }
            Problem::NoKernel(title) => write!(f, "entry '{title}' has no 'kernel' line; skipped"),
            Problem::TooManyEntries(title) => write!(f, "more than {MAX_ENTRIES} entries; '{title}' ignored"),
            Problem::DefaultOutOfRange { value, titles: 0 } => {
                write!(f, "default {value} is out of range: the file has no entries")
            }
            Problem::DefaultOutOfRange { value, titles } => write!(
                f,
                "default {value} is out of range: the {titles} entries are numbered 0 to {}; using the first entry",
                titles - 1
            ),
            Problem::DefaultSkipped(index) => {
                write!(f, "default {index} names an entry that was skipped; using the first entry")
            }
        }
    }
}

/// An entry being read: started by `title`, closed by the next one.
struct Draft<'a> {
    title: &'a str,
    line: usize,
    title_index: usize,
    kernel: Option<PmonPath<'a>>,
    initrd: Option<PmonPath<'a>>,
    args: Option<&'a str>,
    /// A path was unusable (and reported): the entry is skipped.
    broken: bool,
}

/// The `default` line, resolved once all titles are known.
struct RequestedDefault<'a> {
    line: usize,
    value: Excerpt<'a>,
    /// `None` when the number is too large for any index.
    index: Option<usize>,
}

/// Everything gathered while reading the lines.
struct Reader<'a> {
    config: BootCfg<'a>,
    diagnostics: Diagnostics<Problem<'a>>,
    draft: Option<Draft<'a>>,
    titles: usize,
    default: Option<RequestedDefault<'a>>,
}

impl<'a> Reader<'a> {
    fn report(&mut self, line: usize, problem: Problem<'a>) {
        self.diagnostics.push_or_count(Diagnostic { line, problem });
    }

    /// Applies one line, or says why it was ignored.
    fn apply(&mut self, line: usize, key: &'a str, value: &'a str) -> Result<(), Problem<'a>> {
        let Some(known) = KNOWN_KEYS.0.iter().copied().find(|known| known.eq_ignore_ascii_case(key)) else {
            return Err(Problem::UnknownKey(Excerpt::new(key)));
        };
        match known {
            key::DEFAULT => {
                let index = match text::parse_decimal(value, u64::MAX) {
                    Ok(index) => usize::try_from(index).ok(),
                    Err(NumberError::TooLarge) => None,
                    Err(NumberError::NotANumber) => {
                        return Err(Problem::NotANumber { key: Excerpt::new(key), value: Excerpt::new(value) });
                    }
                };
                self.default = Some(RequestedDefault { line, value: Excerpt::new(value), index });
            }
            key::TIMEOUT => {
                let seconds =
                    text::parse_decimal(value, u64::from(MAX_TIMEOUT_SECONDS)).map_err(|error| match error {
                        NumberError::NotANumber => {
                            Problem::NotANumber { key: Excerpt::new(key), value: Excerpt::new(value) }
                        }
                        NumberError::TooLarge => Problem::TimeoutTooLong(Excerpt::new(value)),
                    })?;
                self.config.timeout_seconds = u32::try_from(seconds).ok();
            }
            key::SHOW_MENU => {
                self.config.show_menu = Some(match value {
                    SHOW_MENU_OFF => false,
                    SHOW_MENU_ON => true,
                    _ => return Err(Problem::BadShowMenu(Excerpt::new(value))),
                });
            }
            key::TITLE => {
                self.finish_entry();
                self.draft = Some(Draft {
                    title: value,
                    line,
                    title_index: self.titles,
                    kernel: None,
                    initrd: None,
                    args: None,
                    broken: false,
                });
                self.titles += 1;
                if value.is_empty() {
                    return Err(Problem::EmptyTitle);
                }
            }
            _ => {
                let Some(draft) = self.draft.as_mut() else {
                    return Err(Problem::OutsideEntry(Excerpt::new(key)));
                };
                if known == key::ARGS {
                    draft.args = Some(if value == NO_ARGS { "" } else { value });
                    return Ok(());
                }
                let path = split_own_path(value).map_err(|error| {
                    draft.broken = true;
                    Problem::BadPath { key: Excerpt::new(key), path: Excerpt::new(value), error }
                })?;
                if known == key::KERNEL {
                    draft.kernel = Some(path);
                } else {
                    draft.initrd = Some(path);
                }
            }
        }
        Ok(())
    }

    /// Closes the entry being read: keeps it if usable, else reports why not
    /// (unless an unusable path already did).
    fn finish_entry(&mut self) {
        let Some(draft) = self.draft.take() else { return };
        if draft.broken {
            return;
        }
        let Some(kernel) = draft.kernel else {
            self.report(draft.line, Problem::NoKernel(Excerpt::new(draft.title)));
            return;
        };
        let entry = PmonEntry {
            title: draft.title,
            line: draft.line,
            title_index: draft.title_index,
            kernel,
            initrd: draft.initrd,
            args: draft.args,
        };
        if self.config.entries.push(entry).is_err() {
            self.report(draft.line, Problem::TooManyEntries(Excerpt::new(draft.title)));
        }
    }

    /// Turns the `default` line into an index into the kept entries.
    fn resolve_default(&mut self) {
        let Some(requested) = self.default.take() else { return };
        let titles = self.titles;
        let problem = match requested.index {
            // `default 0` in a file without entries says nothing wrong.
            Some(0) if titles == 0 => return,
            Some(index) if index < titles => {
                match self.config.entries.iter().position(|entry| entry.title_index == index) {
                    Some(position) => {
                        self.config.default_index = position;
                        return;
                    }
                    None => Problem::DefaultSkipped(index),
                }
            }
            _ => Problem::DefaultOutOfRange { value: requested.value, titles },
        };
        self.report(requested.line, problem);
    }
}

/// Parses a `boot.cfg` known to be UTF-8. See the module documentation.
pub fn parse(text: &str) -> Parsed<BootCfg<'_>, Problem<'_>> {
    parse_bytes(text.as_bytes())
}

/// Parses a `boot.cfg` read as bytes; a line that is not UTF-8 is reported
/// (line and column) and ignored.
pub fn parse_bytes(input: &[u8]) -> Parsed<BootCfg<'_>, Problem<'_>> {
    let mut reader = Reader {
        config: BootCfg { timeout_seconds: None, show_menu: None, default_index: 0, entries: FixedList::new() },
        diagnostics: Diagnostics::new(),
        draft: None,
        titles: 0,
        default: None,
    };
    for line in text::lines(input) {
        let outcome = match line.text {
            Err(unreadable) => Err(Problem::NotUtf8(unreadable.fault)),
            Ok(line_text) => match text::content(line_text) {
                Some(content) => {
                    let (key, value) = text::split_key_value(content);
                    reader.apply(line.number, key, value)
                }
                None => Ok(()),
            },
        };
        if let Err(problem) = outcome {
            reader.report(line.number, problem);
        }
    }
    reader.finish_entry();
    reader.resolve_default();
    Parsed { value: reader.config, diagnostics: reader.diagnostics }
}

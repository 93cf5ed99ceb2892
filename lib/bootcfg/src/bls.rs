//! Boot Loader Specification type #1 entries (`/loader/entries/*.conf`).
//!
//! Format and order follow the UAPI Group's Boot Loader Specification,
//! <https://uapi-group.org/specifications/specs/boot_loader_specification/>
//! (sections "Type #1 Boot Loader Specification Entries" and "Sorting"):
//!
//! ```text
//! # /loader/entries/6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3.conf
//! title        Debian GNU/Linux 12
//! sort-key     debian
//! machine-id   6a9857a393724b7a981ebb5b8495b9ea
//! version      6.1.0-loongson-3
//! options      root=/dev/vda2 rw
//! options      console=ttyS0,115200
//! linux        /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/linux
//! initrd       /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/initrd
//! ```
//!
//! - The first word of a line is the key; white space separates it from the
//!   value, which is the rest of the line. Keys are lower case.
//! - Lines whose first non-blank character is `#` are comments.
//! - `initrd` and `options` may repeat: initrds are loaded in order (up to
//!   [`MAX_INITRDS`]), options are joined with one space (up to
//!   [`MAX_OPTIONS_LINES`] lines). Any other key given twice keeps its last
//!   value.
//! - Paths (`linux`, `initrd`, `devicetree`) are relative to the root of the
//!   partition holding the entry, whether or not they start with `/`; they are
//!   returned as written.
//! - An entry without `linux` is an error ([`BlsError`]); an unknown key, a
//!   key without a value or a malformed `machine-id` is a diagnostic.
//!
//! [`compare_entries`] orders entries as the specification's "Sorting"
//! section says, for a menu with the newest, best entry first.

use core::cmp::Ordering;
use core::fmt;

use crate::list::{Diagnostic, Diagnostics, FixedList, Parsed};
use crate::text::{self, Excerpt, Names, Utf8Fault};
pub use crate::version::compare_versions;

/// Most `initrd` lines kept per entry.
pub const MAX_INITRDS: usize = 4;
/// Most `options` lines kept per entry.
pub const MAX_OPTIONS_LINES: usize = 8;
/// Suffix of entry file names, dropped to form the entry's id.
pub const ENTRY_SUFFIX: &str = ".conf";
/// A machine ID is this many lower-case hexadecimal digits.
const MACHINE_ID_DIGITS: usize = 32;
/// Starts the boot-counting suffix of a file name (`name+3-1.conf`).
const BOOT_COUNT_MARK: char = '+';
/// Separates tries left from tries done in the boot-counting suffix.
const TRIES_DONE_MARK: char = '-';
/// Put between `options` lines when they are joined.
const OPTIONS_SEPARATOR: &str = " ";

/// The keys, as written in entries.
mod key {
    pub const TITLE: &str = "title";
    pub const VERSION: &str = "version";
    pub const MACHINE_ID: &str = "machine-id";
    pub const SORT_KEY: &str = "sort-key";
    pub const LINUX: &str = "linux";
    pub const INITRD: &str = "initrd";
    pub const OPTIONS: &str = "options";
    pub const DEVICETREE: &str = "devicetree";
    pub const DEVICETREE_OVERLAY: &str = "devicetree-overlay";
    pub const ARCHITECTURE: &str = "architecture";
    pub const EFI: &str = "efi";
}

const KNOWN_KEYS: Names = Names(&[
    key::TITLE,
    key::VERSION,
    key::MACHINE_ID,
    key::SORT_KEY,
    key::LINUX,
    key::INITRD,
    key::OPTIONS,
    key::DEVICETREE,
    key::DEVICETREE_OVERLAY,
    key::ARCHITECTURE,
    key::EFI,
]);

/// One boot entry. Strings borrow the file's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlsEntry<'a> {
    /// The file's name as the caller gave it (`<id>.conf`); it identifies the
    /// entry and breaks ties when sorting.
    pub file_name: &'a str,
    /// `title`: what the menu shows.
    pub title: Option<&'a str>,
    /// `version`: usually the kernel's, used for sorting.
    pub version: Option<&'a str>,
    /// `machine-id`: the installed OS's machine ID.
    pub machine_id: Option<&'a str>,
    /// `sort-key`: groups entries of one OS when sorting.
    pub sort_key: Option<&'a str>,
    /// `linux`: the kernel image.
    pub linux: &'a str,
    /// `devicetree`: a device-tree blob to pass to the kernel.
    pub devicetree: Option<&'a str>,
    /// `devicetree-overlay`: overlays, separated by spaces.
    pub devicetree_overlay: Option<&'a str>,
    /// `architecture`: the entry is hidden on other architectures.
    pub architecture: Option<&'a str>,
    /// `efi`: an EFI program (this firmware cannot start one).
    pub efi: Option<&'a str>,
    initrds: FixedList<&'a str, MAX_INITRDS>,
    options: FixedList<&'a str, MAX_OPTIONS_LINES>,
}

impl<'a> BlsEntry<'a> {
    /// The file name without [`ENTRY_SUFFIX`].
    pub fn id(&self) -> &'a str {
        self.file_name.strip_suffix(ENTRY_SUFFIX).unwrap_or(self.file_name)
    }

    /// The title, or the id when the entry has none.
    pub fn title_or_id(&self) -> &'a str {
        self.title.unwrap_or_else(|| self.id())
    }

    /// The `initrd` paths, in the order to load them.
    pub fn initrds(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.initrds.iter().copied()
    }

    /// The `options` lines, in order; the kernel command line is these
    /// pieces joined by one space ([`BlsEntry::command_line`]).
    pub fn options(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.options.iter().copied()
    }

    /// The kernel command line: every `options` line, joined by one space.
    /// `Display` writes it; [`CommandLine::copy_to`] fills a buffer.
    pub fn command_line(&self) -> CommandLine<'_, 'a> {
        CommandLine { pieces: &self.options }
    }

    /// The boot-counting state encoded in the file name, if any.
    pub fn boot_counter(&self) -> Option<BootCounter> {
        BootCounter::from_id(self.id())
    }

    /// True when boot counting has run out of tries: such an entry sorts
    /// after all others.
    pub fn is_bad(&self) -> bool {
        self.boot_counter().is_some_and(|counter| counter.is_bad())
    }

    /// True when the entry may be shown on `architecture` (compared without
    /// regard to ASCII case); an entry without `architecture` suits any.
    pub fn matches_architecture(&self, architecture: &str) -> bool {
        self.architecture.is_none_or(|wanted| wanted.eq_ignore_ascii_case(architecture))
    }

    /// Applies one known key, or says why the line was ignored.
    fn apply(&mut self, linux: &mut Option<&'a str>, key: &'a str, value: &'a str) -> Result<(), Problem<'a>> {
        if !KNOWN_KEYS.contains(key) {
            return Err(Problem::UnknownKey(Excerpt::new(key)));
        }
        if value.is_empty() {
            return Err(Problem::MissingValue(Excerpt::new(key)));
        }
        match key {
            key::TITLE => self.title = Some(value),
            key::VERSION => self.version = Some(value),
            key::SORT_KEY => self.sort_key = Some(value),
            key::LINUX => *linux = Some(value),
            key::DEVICETREE => self.devicetree = Some(value),
            key::DEVICETREE_OVERLAY => self.devicetree_overlay = Some(value),
            key::ARCHITECTURE => self.architecture = Some(value),
            key::EFI => self.efi = Some(value),
            key::MACHINE_ID => {
                self.machine_id = Some(value);
                if !is_machine_id(value) {
                    return Err(Problem::BadMachineId(Excerpt::new(value)));
                }
            }
            key::INITRD => {
                self.initrds.push(value).map_err(|_| Problem::TooManyInitrds(Excerpt::new(value)))?;
            }
            key::OPTIONS => {
                self.options.push(value).map_err(|_| Problem::TooManyOptions(Excerpt::new(value)))?;
            }
            _ => return Err(Problem::UnknownKey(Excerpt::new(key))),
        }
        Ok(())
    }
}

fn is_machine_id(value: &str) -> bool {
    value.len() == MACHINE_ID_DIGITS && value.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// An entry's kernel command line: its `options` lines joined by one space.
#[derive(Clone, Copy, Debug)]
pub struct CommandLine<'e, 'a> {
    pieces: &'e FixedList<&'a str, MAX_OPTIONS_LINES>,
}

impl CommandLine<'_, '_> {
    /// Length in bytes of the joined command line.
    pub fn len(&self) -> usize {
        let separators = self.pieces.len().saturating_sub(1) * OPTIONS_SEPARATOR.len();
        self.pieces.iter().map(|piece| piece.len()).sum::<usize>() + separators
    }

    /// True when the entry has no `options` line.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Writes the command line to the start of `buffer`; returns its length.
    pub fn copy_to(&self, buffer: &mut [u8]) -> Result<usize, CommandLineTooLong> {
        let needed = self.len();
        let too_long = CommandLineTooLong { needed, available: buffer.len() };
        let mut written = 0;
        for (index, piece) in self.pieces.iter().enumerate() {
            let separator = if index == 0 { "" } else { OPTIONS_SEPARATOR };
            for part in [separator, piece] {
                let end = written + part.len();
                buffer.get_mut(written..end).ok_or(too_long)?.copy_from_slice(part.as_bytes());
                written = end;
            }
        }
        Ok(written)
    }
}

impl fmt::Display for CommandLine<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, piece) in self.pieces.iter().enumerate() {
            if index > 0 {
                f.write_str(OPTIONS_SEPARATOR)?;
            }
            f.write_str(piece)?;
        }
        Ok(())
    }
}

/// The buffer given to [`CommandLine::copy_to`] is too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandLineTooLong {
    /// Bytes the command line needs.
    pub needed: usize,
    /// Bytes the buffer has.
    pub available: usize,
}

impl fmt::Display for CommandLineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the kernel command line needs {} bytes, the buffer has {}", self.needed, self.available)
    }
}

impl core::error::Error for CommandLineTooLong {}

/// Boot counting, from a file name such as `name+2-1.conf` (per the
/// specification's "Boot counting" section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootCounter {
    /// Attempts still to make (`2` above); `0` marks the entry bad.
    pub tries_left: u32,
    /// Attempts that failed so far (`1` above; `0` when absent).
    pub tries_done: u32,
}

impl BootCounter {
    /// True when no tries are left.
    pub fn is_bad(&self) -> bool {
        self.tries_left == 0
    }

    /// Reads `+LEFT` or `+LEFT-DONE` at the end of an entry id.
    fn from_id(id: &str) -> Option<Self> {
        let (_, counters) = id.rsplit_once(BOOT_COUNT_MARK)?;
        let (left, done) = match counters.split_once(TRIES_DONE_MARK) {
            Some((left, done)) => (left, Some(done)),
            None => (counters, None),
        };
        let count = |digits: &str| {
            text::parse_decimal(digits, u64::from(u32::MAX)).ok().and_then(|count| u32::try_from(count).ok())
        };
        let tries_done = match done {
            Some(done) => count(done)?,
            None => 0,
        };
        Some(BootCounter { tries_left: count(left)?, tries_done })
    }
}

/// Why a line of an entry was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    /// The line is not UTF-8.
    NotUtf8(Utf8Fault),
    /// A key the specification does not define.
    UnknownKey(Excerpt<'a>),
    /// A known key with nothing after it.
    MissingValue(Excerpt<'a>),
    /// An `initrd` line beyond [`MAX_INITRDS`].
    TooManyInitrds(Excerpt<'a>),
    /// An `options` line beyond [`MAX_OPTIONS_LINES`].
    TooManyOptions(Excerpt<'a>),
    /// A `machine-id` that is not 32 lower-case hexadecimal digits (kept
    /// anyway: it still sorts and identifies).
    BadMachineId(Excerpt<'a>),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotUtf8(fault) => write!(f, "{fault}; line ignored"),
            Problem::UnknownKey(found) => write!(f, "unknown key '{found}' (known: {KNOWN_KEYS})"),
            Problem::MissingValue(found) => write!(f, "'{found}' has no value"),
            Problem::TooManyInitrds(path) => {
                write!(f, "more than {MAX_INITRDS} 'initrd' lines; '{path}' ignored")
            }
            Problem::TooManyOptions(options) => {
                write!(f, "more than {MAX_OPTIONS_LINES} 'options' lines; '{options}' ignored")
            }
            Problem::BadMachineId(value) => {
                write!(f, "machine-id '{value}' is not {MACHINE_ID_DIGITS} lower-case hexadecimal digits")
            }
        }
    }
}

/// Why a file is not a usable entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlsError {
    /// No `linux` line at all.
    NoLinux,
    /// No `linux` line, only `efi`, which this firmware cannot start.
    EfiOnly,
    /// The only `linux` line is not UTF-8.
    LinuxNotUtf8 {
        /// Line number of the `linux` line.
        line: usize,
        /// Where it stops being UTF-8.
        fault: Utf8Fault,
    },
}

impl fmt::Display for BlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlsError::NoLinux => write!(f, "entry has no 'linux' line"),
            BlsError::EfiOnly => {
                write!(f, "entry has no 'linux' line, only 'efi', which this firmware cannot start")
            }
            BlsError::LinuxNotUtf8 { line, fault } => write!(f, "line {line}: the 'linux' line has {fault}"),
        }
    }
}

impl core::error::Error for BlsError {}

/// Parses an entry known to be UTF-8; `file_name` is the entry's file name
/// (`<id>.conf`), kept for identification and sorting.
pub fn parse<'a>(file_name: &'a str, text: &'a str) -> Result<Parsed<BlsEntry<'a>, Problem<'a>>, BlsError> {
    parse_bytes(file_name, text.as_bytes())
}

/// Parses an entry read as bytes; a line that is not UTF-8 is reported (line
/// and column) and ignored.
pub fn parse_bytes<'a>(file_name: &'a str, input: &'a [u8]) -> Result<Parsed<BlsEntry<'a>, Problem<'a>>, BlsError> {
    let mut entry = BlsEntry {
        file_name,
        title: None,
        version: None,
        machine_id: None,
        sort_key: None,
        linux: "",
        devicetree: None,
        devicetree_overlay: None,
        architecture: None,
        efi: None,
        initrds: FixedList::new(),
        options: FixedList::new(),
    };
    let mut linux = None;
    let mut unreadable_linux = None;
    let mut diagnostics = Diagnostics::new();
    for line in text::lines(input) {
        let outcome = match line.text {
            Err(unreadable) => {
                let (key, _) = text::split_key_value(unreadable.readable_prefix.trim_start());
                // Only a key followed by white space is known to be complete.
                let key_complete = unreadable.readable_prefix.trim_start().len() > key.len();
                if key_complete && key == key::LINUX && unreadable_linux.is_none() {
                    unreadable_linux = Some(BlsError::LinuxNotUtf8 { line: line.number, fault: unreadable.fault });
                }
                Err(Problem::NotUtf8(unreadable.fault))
            }
            Ok(line_text) => match text::content(line_text) {
                Some(content) => {
                    let (key, value) = text::split_key_value(content);
                    entry.apply(&mut linux, key, value)
                }
                None => Ok(()),
            },
        };
        if let Err(problem) = outcome {
            diagnostics.push_or_count(Diagnostic { line: line.number, problem });
        }
    }
    match linux {
        Some(linux) => {
            entry.linux = linux;
            Ok(Parsed { value: entry, diagnostics })
        }
        None => {
            Err(unreadable_linux.unwrap_or(if entry.efi.is_some() { BlsError::EfiOnly } else { BlsError::NoLinux }))
        }
    }
}

/// Orders entries for a menu, first shown first, per the specification's
/// "Sorting" section:
///
/// 1. entries marked bad by boot counting go last;
/// 2. when both have `sort-key`: by `sort-key`, then `machine-id` (byte order,
///    a missing one first), then `version`, newest first;
/// 3. an entry with `sort-key` goes before one without;
/// 4. then by id (file name without `.conf`), highest version first; and,
///    so that the order is total, by file name bytes.
pub fn compare_entries(a: &BlsEntry<'_>, b: &BlsEntry<'_>) -> Ordering {
    a.is_bad()
        .cmp(&b.is_bad())
        .then_with(|| match (a.sort_key, b.sort_key) {
            (Some(a_key), Some(b_key)) => a_key
                .cmp(b_key)
                .then_with(|| a.machine_id.unwrap_or_default().cmp(b.machine_id.unwrap_or_default()))
                .then_with(|| compare_versions(b.version.unwrap_or_default(), a.version.unwrap_or_default())),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| compare_versions(b.id(), a.id()))
        .then_with(|| a.file_name.cmp(b.file_name))
}

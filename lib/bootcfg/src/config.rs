//! Tianshan's firmware configuration: one `key = value` setting per line.
//!
//! The boot manager reads this file from the fw_cfg item
//! `opt/tianshan/config` under QEMU, or from `/tianshan.cfg` on a disk.
//!
//! # Format
//!
//! ```text
//! # Tianshan firmware configuration
//! bootdelay = 5
//! bootorder = disk, fwcfg
//! default   = Debian GNU/Linux
//! cmdline   = console=ttyS0,115200 root=/dev/vda2 rw
//! console   = serial
//! ```
//!
//! | key         | value                                                       | default          |
//! |-------------|-------------------------------------------------------------|------------------|
//! | `bootdelay` | seconds of countdown, `0..=3600`; `0` boots at once         | `3`              |
//! | `bootorder` | comma-separated sources from `fwcfg`, `disk`, `rom`         | `fwcfg,disk,rom` |
//! | `default`   | disk entry to prefer: its index (digits, from 0) or title   | none             |
//! | `cmdline`   | default kernel command line: the rest of the line, verbatim | none             |
//! | `console`   | `serial`                                                    | `serial`         |
//!
//! - Spaces around `=` are optional; the value is what follows the first `=`,
//!   without surrounding white space. Keys are lower case.
//! - `#` starts a comment only as the first non-blank character of a line:
//!   a `#` inside a value (a command line) is kept.
//! - Blank lines are ignored; lines may end in `\n` or `\r\n`.
//! - A later line overrides an earlier one with the same key.
//! - A line that cannot be used (unknown key, bad value, no `=`, not UTF-8)
//!   never stops parsing: it becomes a [`Diagnostic`]
//!   naming the line, and the setting keeps its earlier value. A `bootorder`
//!   that names an unknown source or one source twice is rejected whole.
//!
//! ```
//! use tianshan_bootcfg::config::{self, BootSource};
//!
//! let parsed = config::parse("bootdelay = 0\nbootorder = disk,rom\nbootdelya = 2\n");
//! assert_eq!(parsed.value.boot_delay_seconds, 0);
//! assert_eq!(parsed.value.boot_order.as_slice(), &[BootSource::Disk, BootSource::Rom]);
//! let first = parsed.diagnostics.get(0).unwrap();
//! assert!(first.to_string().starts_with("line 3: unknown key 'bootdelya'"));
//! ```

use core::fmt;

use crate::list::{Diagnostic, Diagnostics, Parsed};
use crate::text::{self, Excerpt, Names, NumberError, Utf8Fault};

/// Countdown before booting when `bootdelay` is not given.
pub const DEFAULT_BOOT_DELAY_SECONDS: u32 = 3;
/// Longest countdown `bootdelay` accepts (one hour).
pub const MAX_BOOT_DELAY_SECONDS: u32 = 3600;
/// Separates a key from its value.
const KEY_VALUE_SEPARATOR: char = '=';
/// Separates the sources in a `bootorder` value.
const SOURCE_SEPARATOR: char = ',';

/// The keys, as written in the file.
mod key {
    pub const BOOT_DELAY: &str = "bootdelay";
    pub const BOOT_ORDER: &str = "bootorder";
    pub const DEFAULT: &str = "default";
    pub const CMDLINE: &str = "cmdline";
    pub const CONSOLE: &str = "console";
}

const KNOWN_KEYS: Names = Names(&[key::BOOT_DELAY, key::BOOT_ORDER, key::DEFAULT, key::CMDLINE, key::CONSOLE]);

/// Where the boot manager looks for something to boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BootSource {
    /// A kernel handed over by QEMU through fw_cfg (`-kernel`).
    FwCfg,
    /// Boot entries on a disk.
    Disk,
    /// A payload in the boot ROM.
    Rom,
}

impl BootSource {
    /// Every source, in the default boot order.
    pub const ALL: [BootSource; 3] = [BootSource::FwCfg, BootSource::Disk, BootSource::Rom];

    /// The source's name in the file.
    pub const fn name(self) -> &'static str {
        match self {
            BootSource::FwCfg => "fwcfg",
            BootSource::Disk => "disk",
            BootSource::Rom => "rom",
        }
    }

    /// The source called `name` in the file (exact, lower case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.name() == name)
    }
}

impl fmt::Display for BootSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Prints the names of [`BootSource::ALL`], for messages.
struct KnownSources;

impl fmt::Display for KnownSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, source) in BootSource::ALL.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(source.name())?;
        }
        Ok(())
    }
}

/// The sources to try, in order, each at most once.
///
/// Since a source may not repeat, the list never needs more room than there
/// are sources.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BootOrder {
    sources: [BootSource; BootSource::ALL.len()],
    len: usize,
}

impl BootOrder {
    /// The sources, first to try first.
    pub fn as_slice(&self) -> &[BootSource] {
        self.sources.get(..self.len).unwrap_or_default()
    }

    /// True when `source` is to be tried at all.
    pub fn contains(&self, source: BootSource) -> bool {
        self.as_slice().contains(&source)
    }

    /// Parses `fwcfg, disk`: a non-empty list of distinct known sources.
    fn parse(value: &str) -> Result<Self, Problem<'_>> {
        if value.is_empty() {
            return Err(Problem::BootOrderEmpty);
        }
        let mut order = BootOrder { sources: BootSource::ALL, len: 0 };
        for item in value.split(SOURCE_SEPARATOR).map(str::trim) {
            if item.is_empty() {
                return Err(Problem::EmptyBootSource);
            }
            let source = BootSource::from_name(item).ok_or(Problem::UnknownBootSource(Excerpt::new(item)))?;
            if order.contains(source) {
                return Err(Problem::DuplicateBootSource(source));
            }
            // Distinct known sources always fit; a full list means a repeat.
            let slot = order.sources.get_mut(order.len).ok_or(Problem::DuplicateBootSource(source))?;
            *slot = source;
            order.len += 1;
        }
        Ok(order)
    }
}

impl Default for BootOrder {
    fn default() -> Self {
        BootOrder { sources: BootSource::ALL, len: BootSource::ALL.len() }
    }
}

impl fmt::Debug for BootOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The disk entry the `default` key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultEntry<'a> {
    /// Position in the boot menu, counted from 0 (a value of digits only).
    Index(usize),
    /// An entry title, compared by the boot manager.
    Title(&'a str),
}

impl<'a> DefaultEntry<'a> {
    fn parse(value: &'a str) -> Result<Self, Problem<'a>> {
        if value.is_empty() {
            return Err(Problem::DefaultEmpty);
        }
        if !value.bytes().all(|byte| byte.is_ascii_digit()) {
            return Ok(DefaultEntry::Title(value));
        }
        text::parse_decimal(value, u64::MAX)
            .ok()
            .and_then(|index| usize::try_from(index).ok())
            .map(DefaultEntry::Index)
            .ok_or(Problem::DefaultIndexTooLarge(Excerpt::new(value)))
    }
}

/// Where the firmware prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Console {
    /// The board's serial port.
    #[default]
    Serial,
}

impl Console {
    /// Every console, for messages and lookup.
    pub const ALL: [Console; 1] = [Console::Serial];

    /// The console's name in the file.
    pub const fn name(self) -> &'static str {
        match self {
            Console::Serial => "serial",
        }
    }

    /// The console called `name` in the file (exact, lower case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|console| console.name() == name)
    }
}

/// The firmware settings: defaults, overridden by the file's good lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareConfig<'a> {
    /// `bootdelay`: seconds of countdown; 0 boots at once, with no countdown.
    pub boot_delay_seconds: u32,
    /// `bootorder`: where to look for something to boot.
    pub boot_order: BootOrder,
    /// `default`: the disk entry to prefer.
    pub default_entry: Option<DefaultEntry<'a>>,
    /// `cmdline`: the kernel command line when an entry gives none.
    pub cmdline: Option<&'a str>,
    /// `console`: where the firmware prints.
    pub console: Console,
}

impl Default for FirmwareConfig<'_> {
    fn default() -> Self {
        FirmwareConfig {
            boot_delay_seconds: DEFAULT_BOOT_DELAY_SECONDS,
            boot_order: BootOrder::default(),
            default_entry: None,
            cmdline: None,
            console: Console::default(),
        }
    }
}

/// Why a line of the configuration was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    /// The line is not UTF-8.
    NotUtf8(Utf8Fault),
    /// No `=`, or nothing before it.
    NotKeyValue(Excerpt<'a>),
    /// A key this firmware does not know (often a typo).
    UnknownKey(Excerpt<'a>),
    /// `bootdelay` is not digits.
    BootDelayNotNumber(Excerpt<'a>),
    /// `bootdelay` is more than [`MAX_BOOT_DELAY_SECONDS`].
    BootDelayTooLong(Excerpt<'a>),
    /// `bootorder` has no value.
    BootOrderEmpty,
    /// `bootorder` has an empty item (`disk,,rom` or a trailing comma).
    EmptyBootSource,
    /// `bootorder` names a source that does not exist.
    UnknownBootSource(Excerpt<'a>),
    /// `bootorder` names a source twice.
    DuplicateBootSource(BootSource),
    /// `default` has no value.
    DefaultEmpty,
    /// `default` is an index too large to be one.
    DefaultIndexTooLarge(Excerpt<'a>),
    /// `console` names a console that does not exist.
    UnknownConsole(Excerpt<'a>),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotUtf8(fault) => write!(f, "{fault}; line ignored"),
            Problem::NotKeyValue(found) => write!(f, "expected 'key = value', found '{found}'"),
            Problem::UnknownKey(found) => write!(f, "unknown key '{found}' (known: {KNOWN_KEYS})"),
            Problem::BootDelayNotNumber(value) => write!(f, "bootdelay '{value}' is not a number of seconds"),
            Problem::BootDelayTooLong(value) => {
                write!(f, "bootdelay {value} is more than the maximum of {MAX_BOOT_DELAY_SECONDS} seconds")
            }
            Problem::BootOrderEmpty => write!(f, "bootorder lists no boot source (known: {KnownSources})"),
            Problem::EmptyBootSource => {
                write!(f, "bootorder has an empty item (a doubled comma, or a comma at either end)")
            }
            Problem::UnknownBootSource(value) => {
                write!(f, "bootorder: unknown boot source '{value}' (known: {KnownSources})")
            }
            Problem::DuplicateBootSource(source) => write!(f, "bootorder lists '{source}' more than once"),
            Problem::DefaultEmpty => write!(f, "default needs an entry index or title"),
            Problem::DefaultIndexTooLarge(value) => write!(f, "default index {value} is too large"),
            Problem::UnknownConsole(value) => {
                write!(f, "console '{value}' is not supported (known: {})", Console::Serial.name())
            }
        }
    }
}

/// Parses a configuration known to be UTF-8. See the module documentation.
pub fn parse(text: &str) -> Parsed<FirmwareConfig<'_>, Problem<'_>> {
    parse_bytes(text.as_bytes())
}

/// Parses a configuration read as bytes; a line that is not UTF-8 is
/// reported (line and column) and ignored like any other bad line.
pub fn parse_bytes(input: &[u8]) -> Parsed<FirmwareConfig<'_>, Problem<'_>> {
    let mut config = FirmwareConfig::default();
    let mut diagnostics = Diagnostics::new();
    for line in text::lines(input) {
        let outcome = match line.text {
            Err(unreadable) => Err(Problem::NotUtf8(unreadable.fault)),
            Ok(line_text) => text::content(line_text).map_or(Ok(()), |content| apply(&mut config, content)),
        };
        if let Err(problem) = outcome {
            diagnostics.push_or_count(Diagnostic { line: line.number, problem });
        }
    }
    Parsed { value: config, diagnostics }
}

/// Applies one `key = value` line, or says why it cannot be.
fn apply<'a>(config: &mut FirmwareConfig<'a>, content: &'a str) -> Result<(), Problem<'a>> {
    let Some((key, value)) = content.split_once(KEY_VALUE_SEPARATOR) else {
        return Err(Problem::NotKeyValue(Excerpt::new(content)));
    };
    let (key, value) = (key.trim(), value.trim());
    match key {
        "" => return Err(Problem::NotKeyValue(Excerpt::new(content))),
        key::BOOT_DELAY => config.boot_delay_seconds = parse_boot_delay(value)?,
        key::BOOT_ORDER => config.boot_order = BootOrder::parse(value)?,
        key::DEFAULT => config.default_entry = Some(DefaultEntry::parse(value)?),
        key::CMDLINE => config.cmdline = Some(value),
        key::CONSOLE => {
            config.console = Console::from_name(value).ok_or(Problem::UnknownConsole(Excerpt::new(value)))?;
        }
        _ => return Err(Problem::UnknownKey(Excerpt::new(key))),
    }
    Ok(())
}

fn parse_boot_delay(value: &str) -> Result<u32, Problem<'_>> {
    let seconds = text::parse_decimal(value, u64::from(MAX_BOOT_DELAY_SECONDS)).map_err(|error| match error {
        NumberError::NotANumber => Problem::BootDelayNotNumber(Excerpt::new(value)),
        NumberError::TooLarge => Problem::BootDelayTooLong(Excerpt::new(value)),
    })?;
    u32::try_from(seconds).map_err(|_| Problem::BootDelayTooLong(Excerpt::new(value)))
}

//! Line splitting, UTF-8 checks, quoting and numbers shared by the parsers.
//!
//! Every parser walks its input with [`lines`], so the line rules (endings,
//! byte-order mark, NUL padding, comments) are the same for all formats and
//! line numbers in diagnostics always count the same way: from 1, one per
//! `\n`.

use core::fmt::{self, Write as _};

/// Most characters of offending input a diagnostic quotes.
pub const EXCERPT_MAX_CHARS: usize = 40;
/// What a truncated excerpt ends with (ASCII, for serial consoles).
const TRUNCATION_MARK: &str = "...";
/// UTF-8 encoding of U+FEFF, which some editors put at the start of a file.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";
/// Padding that fixed-size reads (fw_cfg, sectors) leave after the text.
const PADDING: u8 = 0;
/// First non-blank character of a comment line.
const COMMENT: char = '#';

/// Offending input quoted in a message, cut to [`EXCERPT_MAX_CHARS`].
///
/// `Display` prints the text with control characters escaped (`\t`,
/// `\u{1b}`), so a diagnostic never moves the cursor of the console it is
/// printed on, and ends a truncated excerpt with `...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Excerpt<'a> {
    text: &'a str,
    truncated: bool,
}

impl<'a> Excerpt<'a> {
    /// Quotes `text`, keeping at most [`EXCERPT_MAX_CHARS`] characters.
    pub fn new(text: &'a str) -> Self {
        match text.char_indices().nth(EXCERPT_MAX_CHARS) {
            Some((cut, _)) => Self { text: text.get(..cut).unwrap_or(text), truncated: true },
            None => Self { text, truncated: false },
        }
    }

    /// The quoted text (without the truncation mark).
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// True when the input was longer than what is quoted.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.text.chars() {
            if c.is_control() {
                for escaped in c.escape_default() {
                    f.write_char(escaped)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        if self.truncated {
            f.write_str(TRUNCATION_MARK)?;
        }
        Ok(())
    }
}

/// Where a line stops being UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Fault {
    /// Column of the first bad byte, counted in bytes from 1.
    pub column: usize,
    /// The first bad byte.
    pub byte: u8,
}

impl fmt::Display for Utf8Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid UTF-8 at column {} (byte {:#04x})", self.column, self.byte)
    }
}

/// A line that is not UTF-8: the fault and the readable text before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unreadable<'a> {
    pub fault: Utf8Fault,
    pub readable_prefix: &'a str,
}

/// One line of input, without its line ending.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line<'a> {
    /// Line number, counted from 1.
    pub number: usize,
    pub text: Result<&'a str, Unreadable<'a>>,
}

/// Splits `input` into lines ending in `\n` or `\r\n`, each checked for UTF-8
/// on its own so one bad line does not hide the others.
///
/// A UTF-8 byte-order mark at the start and NUL padding at the end are
/// dropped first.
pub(crate) fn lines(input: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let input = input.strip_prefix(BYTE_ORDER_MARK).unwrap_or(input);
    let end = input.iter().rposition(|&byte| byte != PADDING).map_or(0, |last| last + 1);
    let input = input.get(..end).unwrap_or_default();
    input.split(|&byte| byte == b'\n').enumerate().map(|(index, raw)| {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = core::str::from_utf8(raw).map_err(|error| {
            let valid = error.valid_up_to();
            Unreadable {
                fault: Utf8Fault { column: valid + 1, byte: raw.get(valid).copied().unwrap_or_default() },
                readable_prefix: raw.get(..valid).and_then(|prefix| core::str::from_utf8(prefix).ok()).unwrap_or(""),
            }
        });
        Line { number: index + 1, text }
    })
}

/// The meaningful part of a line: `None` for blank lines and comments,
/// otherwise the line without surrounding white space.
pub(crate) fn content(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    (!trimmed.is_empty() && !trimmed.starts_with(COMMENT)).then_some(trimmed)
}

/// Splits `key value…` at the first run of white space; the value is the
/// rest of the line (empty when there is none).
pub(crate) fn split_key_value(content: &str) -> (&str, &str) {
    match content.split_once(char::is_whitespace) {
        Some((key, value)) => (key, value.trim()),
        None => (content, ""),
    }
}

/// Why text is not an acceptable decimal number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Empty, or something other than ASCII digits.
    NotANumber,
    /// Digits only, but more than the maximum.
    TooLarge,
}

/// Parses ASCII digits (no sign, no spaces) into a value at most `max`.
pub(crate) fn parse_decimal(text: &str, max: u64) -> Result<u64, NumberError> {
    const RADIX: u64 = 10;
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(NumberError::NotANumber);
    }
    let mut value: u64 = 0;
    for byte in text.bytes() {
        value = value
            .checked_mul(RADIX)
            .and_then(|value| value.checked_add(u64::from(byte - b'0')))
            .ok_or(NumberError::TooLarge)?;
    }
    if value > max { Err(NumberError::TooLarge) } else { Ok(value) }
}

/// A list of names printed as `a, b, c` (the known keys of a format).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Names(pub &'static [&'static str]);

impl Names {
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name)
    }
}

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, name) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

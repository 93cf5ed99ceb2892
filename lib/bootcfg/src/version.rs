//! Version comparison per the UAPI Group's Version Format Specification.
//!
//! <https://uapi-group.org/specifications/specs/version_format_specification/>,
//! which the Boot Loader Specification uses to order entries. In short: only
//! ASCII letters, digits and `~ - ^ .` count (anything else only separates);
//! runs of digits compare as numbers, so `6.1.10` > `6.1.9`; runs of letters
//! compare byte by byte (`B` < `a`); and at the same position `~` sorts below
//! everything, even the end of the string (`1~rc1` < `1`), then the end of
//! the string, then `-`, `^` and `.`.
//!
//! Where the text leaves room (a run of digits against a run of letters),
//! this follows systemd's `strverscmp_improved()`, which the specification
//! names as its implementation: the digits compare higher (`1.0` > `1.a`).

use core::cmp::Ordering;

/// Starts a suffix that sorts below everything (`1.0~rc1` < `1.0`).
const PRE_RELEASE: u8 = b'~';
/// Separates version from release (`123-4`).
const RELEASE: u8 = b'-';
/// Starts a patch-level suffix (`123^post1`).
const PATCH: u8 = b'^';
/// Separates parts of a component (`6.1`).
const POINT: u8 = b'.';

/// Compares two version strings; `Greater` means `a` is the newer version.
///
/// Any strings may be compared, and the order is consistent for sorting,
/// though distinct strings may compare equal (`1_` and `1`: the underscore
/// only separates).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        a = skip_separators(a);
        b = skip_separators(b);

        let order = compare_marker(&mut a, &mut b, PRE_RELEASE);
        if order.is_ne() {
            return order;
        }
        if a.is_empty() || b.is_empty() {
            return (!a.is_empty()).cmp(&!b.is_empty());
        }
        for marker in [RELEASE, PATCH, POINT] {
            let order = compare_marker(&mut a, &mut b, marker);
            if order.is_ne() {
                return order;
            }
        }

        let (a_digits, b_digits) = (leading(a, u8::is_ascii_digit), leading(b, u8::is_ascii_digit));
        let (a_run, b_run, order) = if !a_digits.is_empty() || !b_digits.is_empty() {
            // A run of digits is newer than no digits at all.
            let order =
                (!a_digits.is_empty()).cmp(&!b_digits.is_empty()).then_with(|| compare_numbers(a_digits, b_digits));
            (a_digits, b_digits, order)
        } else {
            // Byte order puts `A..Z` below `a..z`; a longer run is newer.
            let (a_letters, b_letters) = (leading(a, u8::is_ascii_alphabetic), leading(b, u8::is_ascii_alphabetic));
            (a_letters, b_letters, a_letters.cmp(b_letters))
        };
        if order.is_ne() {
            return order;
        }
        a = a.get(a_run.len()..).unwrap_or_default();
        b = b.get(b_run.len()..).unwrap_or_default();
    }
}

/// Drops leading bytes that are neither letters, digits nor markers.
fn skip_separators(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|&byte| is_version_byte(byte)).unwrap_or(text.len());
    text.get(start..).unwrap_or_default()
}

fn is_version_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || [PRE_RELEASE, RELEASE, PATCH, POINT].contains(&byte)
}

/// When exactly one side starts with `marker`, that side is older (`Less`
/// when it is `a`). When both do, both markers are consumed.
fn compare_marker(a: &mut &[u8], b: &mut &[u8], marker: u8) -> Ordering {
    let (a_has, b_has) = (a.first() == Some(&marker), b.first() == Some(&marker));
    if a_has && b_has {
        *a = a.get(1..).unwrap_or_default();
        *b = b.get(1..).unwrap_or_default();
    }
    // `false < true`: the side without the marker is the newer one.
    (!a_has).cmp(&!b_has)
}

/// The longest prefix of `text` whose bytes satisfy `class`.
fn leading(text: &[u8], class: fn(&u8) -> bool) -> &[u8] {
    let end = text.iter().position(|byte| !class(byte)).unwrap_or(text.len());
    text.get(..end).unwrap_or_default()
}

/// Compares runs of ASCII digits by value, of any length, without parsing.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (without_leading_zeros(a), without_leading_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn without_leading_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().position(|&digit| digit != b'0').unwrap_or(digits.len());
    digits.get(start..).unwrap_or_default()
}

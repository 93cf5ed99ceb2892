//! Linux command lines: does one name a `console=`, and where to add one.
//!
//! A device tree's `/chosen/stdout-path` gives Linux a console only when the
//! command line names none (Linux `drivers/of/base.c`, `of_console_check`,
//! which gives way when `console_set_on_cmdline` is set by `console=` in
//! `kernel/printk/printk.c`). The firmware does the same through LEFI, which
//! has no such field: when the line names no console it adds its own
//! ([`add_console`]).
//!
//! The rules follow how Linux reads the line:
//! - Arguments are split at white space (`isspace` in `lib/ctype.c`: space,
//!   tab, `\n`, `\v`, `\f`, `\r`), except inside double quotes, which may
//!   also open an argument (`next_arg` in `lib/cmdline.c`). A quote left
//!   open runs to the end of the line, as in Linux.
//! - A lone `--` ends the kernel's arguments; what follows is for init
//!   (`parse_args` in `kernel/params.c`). A `console=` there does not
//!   count, and an added console goes before the `--`.
//! - An argument names a console when it starts with `console=` (after an
//!   opening quote), the prefix `__setup("console=", ...)` matches. So
//!   `console=` with an empty value counts (the user chose), while
//!   `console` alone, `earlycon=...`, `xconsole=...` and `foo=console=...`
//!   do not.

/// What an argument that names a console starts with.
pub const CONSOLE_PREFIX: &str = "console=";
/// The argument after which the rest of the line is for init.
pub const END_OF_KERNEL_ARGUMENTS: &str = "--";
/// Linux's double quote, which groups white space into an argument.
const QUOTE: u8 = b'"';
/// Closes a quote the line leaves open.
const CLOSING_QUOTE: &str = "\"";
/// Separates an added argument from its neighbours.
const SPACE: &str = " ";

/// White space as Linux's `isspace` sees it in a command line (ASCII part).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// `text` from `start` to `end`, or nothing if that is not a slice of it.
/// The callers cut at ASCII bytes, which are character boundaries.
fn cut(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// `text` without Linux white space at its start.
fn trim_start(text: &str) -> &str {
    cut(text, text.bytes().take_while(|&b| is_space(b)).count(), text.len())
}

/// `text` without Linux white space at its end.
fn trim_end(text: &str) -> &str {
    cut(text, 0, text.len() - text.bytes().rev().take_while(|&b| is_space(b)).count())
}

/// One argument of a command line and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argument<'a> {
    /// Byte offset of the argument in the line.
    pub start: usize,
    /// The argument as written, quotes included.
    pub text: &'a str,
}

/// The arguments of `cmdline`, in order, split as Linux splits them.
pub fn arguments(cmdline: &str) -> impl Iterator<Item = Argument<'_>> {
    let bytes = cmdline.as_bytes();
    let mut at = 0;
    core::iter::from_fn(move || {
        while bytes.get(at).copied().is_some_and(is_space) {
            at += 1;
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        let mut quoted = false;
        while let Some(&byte) = bytes.get(at) {
            if byte == QUOTE {
                quoted = !quoted;
            } else if is_space(byte) && !quoted {
                break;
            }
            at += 1;
        }
        Some(Argument { start, text: cut(cmdline, start, at) })
    })
}

/// An argument without the quote that opens it and the one that closes it
/// (Linux's `next_arg` drops both).
fn unquoted(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = usize::from(bytes.first() == Some(&QUOTE));
    let end = if start == 1 && bytes.len() > 1 && bytes.last() == Some(&QUOTE) { bytes.len() - 1 } else { bytes.len() };
    cut(text, start, end)
}

/// Where the kernel's part of a line ends (at a lone `--`, or the end),
/// and whether it names a console.
fn scan(cmdline: &str) -> (usize, bool) {
    let mut console = false;
    for argument in arguments(cmdline) {
        let text = unquoted(argument.text);
        if text == END_OF_KERNEL_ARGUMENTS {
            return (argument.start, console);
        }
        console |= text.starts_with(CONSOLE_PREFIX);
    }
    (cmdline.len(), console)
}

/// True when the kernel's arguments of `cmdline` name a console.
pub fn names_console(cmdline: &str) -> bool {
    scan(cmdline).1
}

/// `cmdline` with `console=<console>` added, as pieces to concatenate; `None`
/// when it already names a console. The console goes after the kernel's
/// last argument, before a `--`, one space from each neighbour; white space
/// around the kernel's part is dropped (init's part after `--` is kept as
/// written). A quote the kernel's part leaves open is closed first, or it
/// would swallow the console; Linux reads the argument the same either way
/// (`next_arg` drops a closing quote).
///
/// `add_console("quiet -- single", "ttyS0,115200")` gives the pieces of
/// `quiet console=ttyS0,115200 -- single`.
pub fn add_console<'a>(cmdline: &'a str, console: &'a str) -> Option<[&'a str; 7]> {
    let (kernel_end, named) = scan(cmdline);
    if named {
        return None;
    }
    let head = trim_start(cut(cmdline, 0, kernel_end));
    // Init's part stays as written: it may end inside a quote of its own.
    let tail = trim_start(cut(cmdline, kernel_end, cmdline.len()));
    // Every quote toggles, wherever it is, so an odd count leaves one open;
    // white space inside that quote belongs to its argument.
    let open = head.bytes().filter(|&b| b == QUOTE).count() % 2 == 1;
    let (head, close) = if open { (head, CLOSING_QUOTE) } else { (trim_end(head), "") };
    let before = if head.is_empty() { "" } else { SPACE };
    let after = if tail.is_empty() { "" } else { SPACE };
    Some([head, close, before, CONSOLE_PREFIX, console, after, tail])
}

//! Console shell building blocks shared by the firmware and the kernel.
//!
//! `LineEditor` turns received bytes into edited lines (backspace, ^U,
//! ^C, overlong lines); `Command` tables and `dispatch` map a line to a
//! handler or to a usage message; `parse_u64` reads the numbers commands
//! take. All of it is pure logic: the caller does the I/O.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// Longest line the editor keeps.
pub const MAX_LINE: usize = 256;
/// Most arguments a command line may have.
pub const MAX_ARGS: usize = 16;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7F;
const CTRL_C: u8 = 0x03;
const CTRL_U: u8 = 0x15;
const BELL: u8 = 0x07;

/// What the terminal should show after a byte was fed in.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit<'a> {
    /// Nothing to show.
    None,
    /// Echo these bytes.
    Echo(&'a [u8]),
    /// A line is complete (without its terminator); echo a newline.
    Line(&'a str),
    /// The line was abandoned (^C); show `^C` and a fresh prompt.
    Cancelled,
}

/// A line editor over a fixed buffer.
pub struct LineEditor {
    buf: [u8; MAX_LINE],
    len: usize,
    /// Set after a line ended with CR, so the LF of a CRLF pair is skipped.
    after_cr: bool,
    /// Set when the pending line is complete and must be cleared on the next byte.
    done: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty editor.
    pub const fn new() -> Self {
        LineEditor { buf: [0; MAX_LINE], len: 0, after_cr: false, done: false }
    }

    /// Feeds one received byte.
    pub fn feed(&mut self, byte: u8) -> Edit<'_> {
        if self.done {
            self.len = 0;
            self.done = false;
        }
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        match byte {
            b'\r' | b'\n' => {
                if byte == b'\n' && after_cr {
                    return Edit::None;
                }
                self.after_cr = byte == b'\r';
                self.done = true;
                // Invalid UTF-8 cannot enter the buffer (see below), but be
                // safe: a line that does not decode is an empty line.
                Edit::Line(core::str::from_utf8(&self.buf[..self.len]).unwrap_or(""))
            }
            BACKSPACE | DELETE => {
                if self.len == 0 {
                    return Edit::None;
                }
                self.len -= 1;
                Edit::Echo(b"\x08 \x08")
            }
            CTRL_U => {
                let erased = self.len;
                self.len = 0;
                if erased == 0 { Edit::None } else { Edit::Echo(b"\r\x1b[K") }
            }
            CTRL_C => {
                self.len = 0;
                Edit::Cancelled
            }
            0x20..=0x7E => {
                if self.len == MAX_LINE {
                    return Edit::Echo(&[BELL]);
                }
                self.buf[self.len] = byte;
                self.len += 1;
                Edit::Echo(&self.buf[self.len - 1..self.len])
            }
            // Other control bytes and non-ASCII are ignored.
            _ => Edit::None,
        }
    }

    /// Reads bytes from `getc` (which returns `None` while nothing is
    /// waiting) until a line is complete, echoing through `echo`; returns
    /// the line, or `""` if it was cancelled with ^C.
    pub fn read_line(&mut self, mut getc: impl FnMut() -> Option<u8>, mut echo: impl FnMut(&[u8])) -> &str {
        loop {
            let Some(byte) = getc() else {
                core::hint::spin_loop();
                continue;
            };
            match self.feed(byte) {
                Edit::None => {}
                Edit::Echo(bytes) => echo(bytes),
                Edit::Cancelled => {
                    echo(b"^C\r\n");
                    return "";
                }
                Edit::Line(_) => break,
            }
        }
        echo(b"\r\n");
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// The text typed so far on the current line.
    pub fn pending(&self) -> &str {
        if self.done { "" } else { core::str::from_utf8(&self.buf[..self.len]).unwrap_or("") }
    }
}

/// A line split into words.
pub struct Args<'a> {
    words: [&'a str; MAX_ARGS],
    len: usize,
}

impl<'a> Args<'a> {
    /// Splits `line` at whitespace; `None` if it has more than `MAX_ARGS` words.
    pub fn split(line: &'a str) -> Option<Self> {
        let mut args = Args { words: [""; MAX_ARGS], len: 0 };
        for w in line.split_ascii_whitespace() {
            if args.len == MAX_ARGS {
                return None;
            }
            args.words[args.len] = w;
            args.len += 1;
        }
        Some(args)
    }
    /// All words, command name first.
    pub fn all(&self) -> &[&'a str] {
        &self.words[..self.len]
    }
}

/// A shell command: its name, argument synopsis and one-line help.
pub struct Command<C> {
    /// What the user types.
    pub name: &'static str,
    /// Argument synopsis for the usage message, e.g. `<addr> [count]`.
    pub args: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The handler; `args[0]` is the command name.
    pub run: fn(&mut C, &[&str]) -> Result<(), CommandError>,
}

/// Why a command did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Wrong number or form of arguments: print the usage line.
    Usage,
    /// The arguments were well-formed but the command failed; it printed why.
    Failed,
}

/// Outcome of `dispatch`.
pub enum Dispatch<'a, 'c, C> {
    /// Blank line.
    Empty,
    /// The command ran (successfully or after printing its own error).
    Ran(&'c Command<C>, Result<(), CommandError>),
    /// No such command.
    Unknown(&'a str),
    /// Too many words on the line.
    TooManyArgs,
}

/// Runs the command `line` names from `commands`.
pub fn dispatch<'a, 'c, C>(commands: &'c [Command<C>], ctx: &mut C, line: &'a str) -> Dispatch<'a, 'c, C> {
    let Some(args) = Args::split(line) else { return Dispatch::TooManyArgs };
    let Some(&name) = args.all().first() else { return Dispatch::Empty };
    match commands.iter().find(|c| c.name == name) {
        Some(cmd) => Dispatch::Ran(cmd, (cmd.run)(ctx, args.all())),
        None => Dispatch::Unknown(name),
    }
}

/// Runs one line and reports what went wrong, if anything, to `out`.
pub fn run_line<C>(commands: &[Command<C>], ctx: &mut C, line: &str, out: &mut dyn fmt::Write) {
    let _ = match dispatch(commands, ctx, line) {
        Dispatch::Empty | Dispatch::Ran(_, Ok(())) | Dispatch::Ran(_, Err(CommandError::Failed)) => Ok(()),
        Dispatch::Ran(cmd, Err(CommandError::Usage)) => writeln!(out, "{}", Usage(cmd)),
        Dispatch::Unknown(name) => writeln!(out, "unknown command '{name}'; type 'help' for the list"),
        Dispatch::TooManyArgs => writeln!(out, "too many arguments (at most {})", MAX_ARGS - 1),
    };
}

/// Formats `usage: name args` for a command.
pub struct Usage<'a, C>(pub &'a Command<C>);

impl<C> fmt::Display for Usage<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.args.is_empty() {
            write!(f, "usage: {}", self.0.name)
        } else {
            write!(f, "usage: {} {}", self.0.name, self.0.args)
        }
    }
}

/// Formats the `help` listing of a command table.
pub struct HelpList<'a, C>(pub &'a [Command<C>]);

impl<C> fmt::Display for HelpList<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0 {
            let synopsis_len = c.name.len() + if c.args.is_empty() { 0 } else { c.args.len() + 1 };
            write!(f, "  {}", c.name)?;
            if !c.args.is_empty() {
                write!(f, " {}", c.args)?;
            }
            writeln!(f, "{:width$}  {}", "", c.help, width = 22usize.saturating_sub(synopsis_len))?;
        }
        Ok(())
    }
}

/// Why a number did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberError;

/// Parses a decimal or `0x` hexadecimal u64 (underscores allowed).
pub fn parse_u64(s: &str) -> Result<u64, NumberError> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    let mut value: u64 = 0;
    let mut any = false;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix).ok_or(NumberError)?;
        value = value.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(u64::from(d))).ok_or(NumberError)?;
        any = true;
    }
    if any { Ok(value) } else { Err(NumberError) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(ed: &mut LineEditor, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            if let Edit::Line(l) = ed.feed(b) {
                lines.push(l.to_string());
            }
        }
        lines
    }

    #[test]
    fn edits_lines() {
        let mut ed = LineEditor::new();
        assert_eq!(feed_all(&mut ed, b"helq\x08p\r\n"), vec!["help"]);
        assert_eq!(feed_all(&mut ed, b"ver\x7frsion\n"), vec!["version"]);
        assert_eq!(feed_all(&mut ed, b"\r\n\r\n"), vec!["", ""], "CRLF counts once");
        assert_eq!(feed_all(&mut ed, b"junk\x15meminfo\r"), vec!["meminfo"]);
        assert_eq!(feed_all(&mut ed, b"abc\x03"), Vec::<String>::new());
        assert_eq!(ed.pending(), "");
        assert_eq!(feed_all(&mut ed, b"x\xc3\xa9y\r"), vec!["xy"], "non-ASCII ignored");
    }

    #[test]
    fn backspace_on_empty_line_and_echo() {
        let mut ed = LineEditor::new();
        assert_eq!(ed.feed(BACKSPACE), Edit::None);
        assert_eq!(ed.feed(b'a'), Edit::Echo(b"a"));
        assert_eq!(ed.feed(BACKSPACE), Edit::Echo(b"\x08 \x08"));
        assert_eq!(ed.pending(), "");
    }

    #[test]
    fn overlong_lines_ring_the_bell() {
        let mut ed = LineEditor::new();
        for _ in 0..MAX_LINE {
            ed.feed(b'a');
        }
        assert_eq!(ed.feed(b'b'), Edit::Echo(&[BELL]));
        assert_eq!(ed.feed(b'\r'), Edit::Line(&"a".repeat(MAX_LINE)));
    }

    struct Ctx {
        seen: Vec<String>,
    }

    fn echo(ctx: &mut Ctx, args: &[&str]) -> Result<(), CommandError> {
        if args.len() < 2 {
            return Err(CommandError::Usage);
        }
        ctx.seen.push(args[1..].join(" "));
        Ok(())
    }

    const COMMANDS: &[Command<Ctx>] = &[Command { name: "echo", args: "<text>...", help: "print text", run: echo }];

    #[test]
    fn dispatches() {
        let mut ctx = Ctx { seen: vec![] };
        assert!(matches!(dispatch(COMMANDS, &mut ctx, "  echo  a b "), Dispatch::Ran(c, Ok(())) if c.name == "echo"));
        assert_eq!(ctx.seen, vec!["a b"]);
        assert!(matches!(dispatch(COMMANDS, &mut ctx, "echo"), Dispatch::Ran(_, Err(CommandError::Usage))));
        assert!(matches!(dispatch(COMMANDS, &mut ctx, "frob 1"), Dispatch::Unknown("frob")));
        assert!(matches!(dispatch(COMMANDS, &mut ctx, "   "), Dispatch::Empty));
        let many = "echo ".to_string() + &"x ".repeat(MAX_ARGS);
        assert!(matches!(dispatch(COMMANDS, &mut ctx, &many), Dispatch::TooManyArgs));
        assert_eq!(Usage(&COMMANDS[0]).to_string(), "usage: echo <text>...");
        assert!(HelpList(COMMANDS).to_string().starts_with("  echo <text>..."));
    }

    #[test]
    fn reads_a_line_with_echo() {
        let mut ed = LineEditor::new();
        let mut input = b"ls\x08\x08help\r".iter().copied();
        let mut echoed = Vec::new();
        let line = ed.read_line(|| input.next(), |b| echoed.extend_from_slice(b)).to_string();
        assert_eq!(line, "help");
        assert_eq!(echoed, b"ls\x08 \x08\x08 \x08help\r\n");
        let mut input = b"x\x03".iter().copied();
        assert_eq!(ed.read_line(|| input.next(), |_| {}), "");
    }

    #[test]
    fn run_line_reports_problems() {
        let mut ctx = Ctx { seen: vec![] };
        let mut out = String::new();
        run_line(COMMANDS, &mut ctx, "echo", &mut out);
        run_line(COMMANDS, &mut ctx, "bogus", &mut out);
        run_line(COMMANDS, &mut ctx, "echo hi", &mut out);
        assert_eq!(out, "usage: echo <text>...\nunknown command 'bogus'; type 'help' for the list\n");
        assert_eq!(ctx.seen, vec!["hi"]);
    }

    #[test]
    fn parses_numbers() {
        assert_eq!(parse_u64("0x1fe0_01e0"), Ok(0x1FE0_01E0));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert_eq!(parse_u64("0xFFFFFFFFFFFFFFFF"), Ok(u64::MAX));
        assert_eq!(parse_u64("0x1_0000_0000_0000_0000"), Err(NumberError));
        assert_eq!(parse_u64("0x"), Err(NumberError));
        assert_eq!(parse_u64("12z"), Err(NumberError));
        assert_eq!(parse_u64(""), Err(NumberError));
    }
}

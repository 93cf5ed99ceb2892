//! Tests of console detection and insertion on Linux command lines.

use super::Rng;
use crate::cmdline::{Argument, add_console, arguments, names_console};

const CONSOLE: &str = "ttyS0,115200";

/// The line `add_console` makes, or `None` when it adds nothing.
fn added(cmdline: &str) -> Option<String> {
    add_console(cmdline, CONSOLE).map(|pieces| pieces.concat())
}

#[test]
fn arguments_split_at_white_space_outside_quotes() {
    let texts: Vec<&str> = arguments(" a\tb\n\"c d\" e=\"f g\"h  \r\x0b\x0ci").map(|a| a.text).collect();
    assert_eq!(texts, ["a", "b", "\"c d\"", "e=\"f g\"h", "i"]);
    assert_eq!(
        arguments("x  yz").collect::<Vec<_>>(),
        [Argument { start: 0, text: "x" }, Argument { start: 3, text: "yz" }]
    );
    assert_eq!(arguments("").count(), 0);
    assert_eq!(arguments(" \t ").count(), 0);
    // An open quote runs to the end, as in Linux.
    assert_eq!(arguments("a \"b c").map(|a| a.text).collect::<Vec<_>>(), ["a", "\"b c"]);
}

#[test]
fn what_counts_as_naming_a_console() {
    for line in [
        "console=ttyS0",
        "quiet console=tty0 splash",
        "console=",
        "\"console=ttyS0,115200\"",
        "console=\"ttyS0\"",
        "root=/dev/sda1\tconsole=ttyS0",
        "console=ttyS0 -- single",
    ] {
        assert!(names_console(line), "{line:?}");
    }
    for line in [
        "",
        "nil",
        "console",
        "earlycon",
        "earlycon=uart8250,mmio,0x1fe001e0",
        "xconsole=ttyS0",
        "foo=console=ttyS0",
        "init=/bin/sh console=ttyS0x".trim_end_matches("console=ttyS0x"),
        "\"a console=ttyS0\"",
        "quiet -- console=ttyS0",
        "quiet \"--\" console=ttyS0",
        "CONSOLE=ttyS0",
    ] {
        assert!(!names_console(line), "{line:?}");
    }
}

#[test]
fn the_console_is_added_after_the_kernel_arguments() {
    assert_eq!(added("").as_deref(), Some("console=ttyS0,115200"));
    assert_eq!(added("  \t").as_deref(), Some("console=ttyS0,115200"));
    assert_eq!(added("quiet").as_deref(), Some("quiet console=ttyS0,115200"));
    assert_eq!(added(" quiet splash \n").as_deref(), Some("quiet splash console=ttyS0,115200"));
    assert_eq!(added("earlycon").as_deref(), Some("earlycon console=ttyS0,115200"));
    assert_eq!(added("quiet -- single").as_deref(), Some("quiet console=ttyS0,115200 -- single"));
    assert_eq!(added("-- console=tty0").as_deref(), Some("console=ttyS0,115200 -- console=tty0"));
    assert_eq!(added("a -- b -- c").as_deref(), Some("a console=ttyS0,115200 -- b -- c"));
    assert_eq!(added("a \"b -- c\" d").as_deref(), Some("a \"b -- c\" d console=ttyS0,115200"));
    assert_eq!(added("a \"unclosed --").as_deref(), Some("a \"unclosed --\" console=ttyS0,115200"));
    assert_eq!(added("键 quiet").as_deref(), Some("键 quiet console=ttyS0,115200"));
    assert_eq!(added("console=tty0"), None);
    assert_eq!(added("quiet console= splash"), None);
}

#[test]
fn hostile_lines_never_panic_and_keep_every_argument() {
    const LINES: usize = 2000;
    const MAX_PIECES: usize = 24;
    const PIECES: &[&str] =
        &[" ", "\t", "\"", "--", "-", "console", "=", "console=", "earlycon", "x", "键", "\r\n", "\u{a0}", "\0"];
    let mut rng = Rng(0x434d_444c_494e_4531);
    for _ in 0..LINES {
        let line: String = (0..rng.below(MAX_PIECES)).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        for argument in arguments(&line) {
            assert_eq!(&line[argument.start..][..argument.text.len()], argument.text, "{line:?}");
            assert!(!argument.text.is_empty(), "{line:?}");
        }
        match added(&line) {
            None => assert!(names_console(&line), "{line:?}"),
            Some(result) => {
                assert!(names_console(&result), "{line:?} -> {result:?}");
                // The original arguments survive, in order, around the new
                // one (up to the quote that closes an open one).
                let unquoted = |line: &str| -> Vec<String> {
                    arguments(line)
                        .map(|a| a.text.replace('"', ""))
                        .filter(|a| a != "console=ttyS0,115200" && !a.is_empty())
                        .collect()
                };
                let (before, after) = (unquoted(&line), unquoted(&result));
                assert_eq!(before, after, "{line:?} -> {result:?}");
            }
        }
    }
}

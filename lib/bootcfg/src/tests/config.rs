//! Tests of the Tianshan firmware configuration parser.

use super::messages;
use crate::config::{self, BootSource, Console, DefaultEntry, FirmwareConfig};
use crate::{EXCERPT_MAX_CHARS, MAX_DIAGNOSTICS};

const KNOWN: &str = "(known: bootdelay, bootorder, default, cmdline, console)";

#[test]
fn empty_and_comment_only_files_give_the_defaults() {
    for text in ["", "\n\n", "# only a comment\n   # indented comment\n\t\n"] {
        let parsed = config::parse(text);
        assert_eq!(parsed.value, FirmwareConfig::default(), "{text:?}");
        assert!(parsed.diagnostics.is_empty(), "{text:?}");
    }
    let defaults = FirmwareConfig::default();
    assert_eq!(defaults.boot_delay_seconds, 3);
    assert_eq!(defaults.boot_order.as_slice(), &[BootSource::FwCfg, BootSource::Disk, BootSource::Rom]);
    assert_eq!(defaults.default_entry, None);
    assert_eq!(defaults.cmdline, None);
    assert_eq!(defaults.console, Console::Serial);
}

#[test]
fn full_file_sets_every_key() {
    let parsed = config::parse(
        "# Tianshan firmware configuration\n\
         bootdelay = 5\n\
         bootorder = disk, fwcfg\n\
         default   = Debian GNU/Linux\n\
         cmdline   = console=ttyS0,115200 root=/dev/vda2 rw\n\
         console   = serial\n",
    );
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    let config = parsed.value;
    assert_eq!(config.boot_delay_seconds, 5);
    assert_eq!(config.boot_order.as_slice(), &[BootSource::Disk, BootSource::FwCfg]);
    assert!(!config.boot_order.contains(BootSource::Rom));
    assert_eq!(config.default_entry, Some(DefaultEntry::Title("Debian GNU/Linux")));
    assert_eq!(config.cmdline, Some("console=ttyS0,115200 root=/dev/vda2 rw"));
    assert_eq!(config.console, Console::Serial);
}

#[test]
fn garbage_lines_are_reported_and_good_lines_still_apply() {
    let text = "# line 1\n\
                bootdelay = 5\n\
                bootorder = disk, fwcfg\n\
                bootdelya = 2\n\
                cmdline = console=ttyS0 root=/dev/vda2 # kept: not a comment\n\
                \n\
                bootdelay = abc\n\
                default = 1\n\
                garbage\n\
                console=serial\n";
    let parsed = config::parse(text);
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            format!("line 4: unknown key 'bootdelya' {KNOWN}"),
            "line 7: bootdelay 'abc' is not a number of seconds".to_string(),
            "line 9: expected 'key = value', found 'garbage'".to_string(),
        ]
    );
    let config = parsed.value;
    assert_eq!(config.boot_delay_seconds, 5, "the rejected line 7 keeps line 2's value");
    assert_eq!(config.boot_order.as_slice(), &[BootSource::Disk, BootSource::FwCfg]);
    assert_eq!(config.cmdline, Some("console=ttyS0 root=/dev/vda2 # kept: not a comment"));
    assert_eq!(config.default_entry, Some(DefaultEntry::Index(1)));
    assert_eq!(config.console, Console::Serial);
}

#[test]
fn crlf_tabs_trailing_spaces_and_comments() {
    let parsed = config::parse(
        "\t# comment with CRLF\r\nbootdelay\t=\t7   \r\nbootorder=rom ,  disk\t\r\n  cmdline =  quiet  splash  \r\n\r\n",
    );
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    assert_eq!(parsed.value.boot_delay_seconds, 7);
    assert_eq!(parsed.value.boot_order.as_slice(), &[BootSource::Rom, BootSource::Disk]);
    assert_eq!(parsed.value.cmdline, Some("quiet  splash"), "inner spaces kept, outer ones dropped");
}

#[test]
fn bootdelay_bounds() {
    assert_eq!(config::parse("bootdelay = 0").value.boot_delay_seconds, 0);
    assert_eq!(config::parse("bootdelay=3600").value.boot_delay_seconds, 3600);
    assert_eq!(config::parse("bootdelay = 007").value.boot_delay_seconds, 7);
    let cases = [
        ("bootdelay = 3601", "line 1: bootdelay 3601 is more than the maximum of 3600 seconds"),
        (
            "bootdelay = 99999999999999999999999",
            "line 1: bootdelay 99999999999999999999999 is more than the maximum of 3600 seconds",
        ),
        ("bootdelay = -1", "line 1: bootdelay '-1' is not a number of seconds"),
        ("bootdelay = +5", "line 1: bootdelay '+5' is not a number of seconds"),
        ("bootdelay = 5s", "line 1: bootdelay '5s' is not a number of seconds"),
        ("bootdelay = 1 0", "line 1: bootdelay '1 0' is not a number of seconds"),
        ("bootdelay =", "line 1: bootdelay '' is not a number of seconds"),
    ];
    for (text, message) in cases {
        let parsed = config::parse(text);
        assert_eq!(messages(&parsed.diagnostics), [message], "{text:?}");
        assert_eq!(parsed.value.boot_delay_seconds, config::DEFAULT_BOOT_DELAY_SECONDS, "{text:?}");
    }
}

#[test]
fn bad_bootorder_is_rejected_whole_and_keeps_the_earlier_value() {
    let cases = [
        ("bootorder = disk, disk", "line 2: bootorder lists 'disk' more than once"),
        ("bootorder = rom,fwcfg,rom", "line 2: bootorder lists 'rom' more than once"),
        ("bootorder = disk, usb", "line 2: bootorder: unknown boot source 'usb' (known: fwcfg, disk, rom)"),
        ("bootorder = Disk", "line 2: bootorder: unknown boot source 'Disk' (known: fwcfg, disk, rom)"),
        ("bootorder = disk,,rom", "line 2: bootorder has an empty item (a doubled comma, or a comma at either end)"),
        ("bootorder = disk,", "line 2: bootorder has an empty item (a doubled comma, or a comma at either end)"),
        ("bootorder =", "line 2: bootorder lists no boot source (known: fwcfg, disk, rom)"),
    ];
    for (bad, message) in cases {
        let text = format!("bootorder = rom\n{bad}\n");
        let parsed = config::parse(&text);
        assert_eq!(messages(&parsed.diagnostics), [message], "{bad:?}");
        assert_eq!(parsed.value.boot_order.as_slice(), &[BootSource::Rom], "{bad:?}");
    }
}

#[test]
fn later_lines_override_earlier_ones() {
    let parsed =
        config::parse("bootdelay = 1\ncmdline = first\nbootdelay = 2\ncmdline = second\ndefault = 3\ndefault = x");
    assert!(parsed.diagnostics.is_empty());
    assert_eq!(parsed.value.boot_delay_seconds, 2);
    assert_eq!(parsed.value.cmdline, Some("second"));
    assert_eq!(parsed.value.default_entry, Some(DefaultEntry::Title("x")));
}

#[test]
fn default_is_an_index_when_all_digits_else_a_title() {
    let default_of = |text: &'static str| config::parse(text).value.default_entry;
    assert_eq!(default_of("default = 0"), Some(DefaultEntry::Index(0)));
    assert_eq!(default_of("default = 12"), Some(DefaultEntry::Index(12)));
    assert_eq!(default_of("default = 6.1"), Some(DefaultEntry::Title("6.1")));
    assert_eq!(default_of("default = Debian GNU/Linux"), Some(DefaultEntry::Title("Debian GNU/Linux")));

    let empty = config::parse("default =");
    assert_eq!(messages(&empty.diagnostics), ["line 1: default needs an entry index or title"]);
    let huge = config::parse("default = 123456789012345678901234567890");
    assert_eq!(messages(&huge.diagnostics), ["line 1: default index 123456789012345678901234567890 is too large"]);
    assert_eq!(huge.value.default_entry, None);
}

#[test]
fn cmdline_keeps_equals_signs_and_may_be_empty() {
    assert_eq!(
        config::parse("cmdline = root=/dev/vda2 init=/bin/sh").value.cmdline,
        Some("root=/dev/vda2 init=/bin/sh")
    );
    assert_eq!(config::parse("cmdline =").value.cmdline, Some(""));
}

#[test]
fn unknown_console_and_missing_key() {
    let parsed = config::parse("console = vga\n= serial\nCONSOLE = serial\n");
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 1: console 'vga' is not supported (known: serial)".to_string(),
            "line 2: expected 'key = value', found '= serial'".to_string(),
            format!("line 3: unknown key 'CONSOLE' {KNOWN}"),
        ]
    );
}

#[test]
fn non_utf8_line_is_reported_with_line_and_column_and_skipped() {
    let parsed = config::parse_bytes(b"bootdelay = 1\nbootorder = di\xffsk\nconsole = serial\ncmdline = \xc3\n");
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 2: invalid UTF-8 at column 15 (byte 0xff); line ignored",
            "line 4: invalid UTF-8 at column 11 (byte 0xc3); line ignored",
        ]
    );
    assert_eq!(parsed.value.boot_delay_seconds, 1);
    assert_eq!(parsed.value.boot_order, Default::default());
    assert_eq!(parsed.value.cmdline, None);
}

#[test]
fn byte_order_mark_and_nul_padding_are_ignored() {
    let parsed = config::parse_bytes(b"\xef\xbb\xbfbootdelay = 9\r\ncmdline = quiet\n\0\0\0\0\0\0");
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    assert_eq!(parsed.value.boot_delay_seconds, 9);
    assert_eq!(parsed.value.cmdline, Some("quiet"));
}

#[test]
fn quoted_text_is_truncated_and_escaped() {
    let long_key = "k".repeat(60);
    let text = format!("{long_key} = 1");
    let parsed = config::parse(&text);
    let expected_key = format!("{}...", "k".repeat(EXCERPT_MAX_CHARS));
    assert_eq!(messages(&parsed.diagnostics), [format!("line 1: unknown key '{expected_key}' {KNOWN}")]);

    // Truncation counts characters, not bytes, and never splits one.
    let wide = "键".repeat(50);
    let parsed = config::parse(&wide);
    let expected = format!("line 1: expected 'key = value', found '{}...'", "键".repeat(EXCERPT_MAX_CHARS));
    assert_eq!(messages(&parsed.diagnostics), [expected]);

    // Control characters cannot reach the console raw.
    let parsed = config::parse("bootdelay = \u{1b}[2J\tx");
    assert_eq!(messages(&parsed.diagnostics), ["line 1: bootdelay '\\u{1b}[2J\\tx' is not a number of seconds"]);
}

#[test]
fn diagnostics_beyond_the_capacity_are_counted() {
    let text: String = (1..=20).map(|n| format!("garbage{n}\n")).collect();
    let parsed = config::parse(&text);
    assert_eq!(parsed.diagnostics.len(), MAX_DIAGNOSTICS);
    assert_eq!(parsed.diagnostics.overflowed(), 20 - MAX_DIAGNOSTICS);
    let last = parsed.diagnostics.iter().last().expect("16 diagnostics");
    assert_eq!(last.to_string(), "line 16: expected 'key = value', found 'garbage16'");
}

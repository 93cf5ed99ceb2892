//! Tests of Boot Loader Specification entry parsing and ordering.

use super::messages;
use crate::bls::{self, BlsEntry, BlsError, BootCounter, CommandLineTooLong, compare_entries};

const MACHINE_ID: &str = "6a9857a393724b7a981ebb5b8495b9ea";
const KNOWN: &str = "(known: title, version, machine-id, sort-key, linux, initrd, options, devicetree, \
                     devicetree-overlay, architecture, efi)";

/// Parses an entry that must be valid; diagnostics are returned as text.
fn entry<'a>(file_name: &'a str, text: &'a str) -> (BlsEntry<'a>, Vec<String>) {
    let parsed = bls::parse(file_name, text).unwrap_or_else(|error| panic!("{file_name}: {error}"));
    let diagnostics = messages(&parsed.diagnostics);
    (parsed.value, diagnostics)
}

#[test]
fn complete_entry() {
    let text = "# /loader/entries/6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3.conf\n\
                title        Debian GNU/Linux 12 (bookworm)\n\
                sort-key     debian\n\
                machine-id   6a9857a393724b7a981ebb5b8495b9ea\n\
                version      6.1.0-loongson-3\n\
                options      root=/dev/vda2 rw\n\
                architecture mips64el\n\
                linux        /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/linux\n\
                initrd       /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/initrd\n\
                devicetree   6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/ls3a.dtb\n\
                devicetree-overlay /o/a.dtbo /o/b.dtbo\n";
    let file_name = "6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3.conf";
    let (entry, diagnostics) = entry(file_name, text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(entry.id(), "6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3");
    assert_eq!(entry.title, Some("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(entry.title_or_id(), "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(entry.sort_key, Some("debian"));
    assert_eq!(entry.machine_id, Some(MACHINE_ID));
    assert_eq!(entry.version, Some("6.1.0-loongson-3"));
    assert_eq!(entry.linux, "/6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/linux");
    assert_eq!(entry.initrds().collect::<Vec<_>>(), ["/6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/initrd"]);
    assert_eq!(entry.devicetree, Some("6a9857a393724b7a981ebb5b8495b9ea/6.1.0-loongson-3/ls3a.dtb"));
    assert_eq!(entry.devicetree_overlay, Some("/o/a.dtbo /o/b.dtbo"));
    assert_eq!(entry.command_line().to_string(), "root=/dev/vda2 rw");
    assert_eq!(entry.boot_counter(), None);
    assert!(!entry.is_bad());
    assert!(entry.matches_architecture("MIPS64EL"));
    assert!(!entry.matches_architecture("loongarch64"));
}

#[test]
fn minimal_entry_uses_the_id_as_title() {
    let (entry, diagnostics) = entry("plain.conf", "linux /vmlinuz");
    assert!(diagnostics.is_empty());
    assert_eq!(entry.title_or_id(), "plain");
    assert_eq!(entry.initrds().count(), 0);
    assert!(entry.command_line().is_empty());
    assert_eq!(entry.command_line().len(), 0);
    assert_eq!(entry.command_line().to_string(), "");
    assert!(entry.matches_architecture("anything"), "no architecture line suits every machine");
}

#[test]
fn options_repeat_and_join_with_one_space() {
    let (entry, _) = entry(
        "o.conf",
        "options root=/dev/vda2\nlinux /vmlinuz\noptions   console=ttyS0,115200  \noptions\tquiet  splash\n",
    );
    assert_eq!(entry.options().collect::<Vec<_>>(), ["root=/dev/vda2", "console=ttyS0,115200", "quiet  splash"]);
    let joined = "root=/dev/vda2 console=ttyS0,115200 quiet  splash";
    let command_line = entry.command_line();
    assert_eq!(command_line.to_string(), joined);
    assert_eq!(command_line.len(), joined.len());

    let mut buffer = [0xAA_u8; 64];
    let written = command_line.copy_to(&mut buffer).expect("fits");
    assert_eq!(&buffer[..written], joined.as_bytes());
    assert_eq!(buffer[written], 0xAA, "nothing written past the end");

    let mut small = [0_u8; 10];
    let error = command_line.copy_to(&mut small).unwrap_err();
    assert_eq!(error, CommandLineTooLong { needed: joined.len(), available: 10 });
    assert_eq!(error.to_string(), "the kernel command line needs 49 bytes, the buffer has 10");
}

#[test]
fn initrd_repeats_in_order_up_to_four() {
    let (entry, diagnostics) =
        entry("i.conf", "linux /k\ninitrd /i1\ninitrd /i2\ninitrd /i3\ninitrd /i4\ninitrd /i5\n");
    assert_eq!(entry.initrds().collect::<Vec<_>>(), ["/i1", "/i2", "/i3", "/i4"]);
    assert_eq!(diagnostics, ["line 6: more than 4 'initrd' lines; '/i5' ignored"]);
}

#[test]
fn too_many_options_lines_are_reported() {
    let text: String = (1..=9).map(|n| format!("options o{n}\n")).collect::<String>() + "linux /k\n";
    let (entry, diagnostics) = entry("many.conf", &text);
    assert_eq!(entry.options().count(), bls::MAX_OPTIONS_LINES);
    assert_eq!(diagnostics, ["line 9: more than 8 'options' lines; 'o9' ignored"]);
}

#[test]
fn entry_without_linux_is_an_error() {
    let error = bls::parse("x.conf", "title Nothing to boot\noptions quiet\n").unwrap_err();
    assert_eq!(error, BlsError::NoLinux);
    assert_eq!(error.to_string(), "entry has no 'linux' line");

    let error = bls::parse("x.conf", "title EFI\nefi /EFI/tool.efi\n").unwrap_err();
    assert_eq!(error, BlsError::EfiOnly);
    assert_eq!(error.to_string(), "entry has no 'linux' line, only 'efi', which this firmware cannot start");

    assert_eq!(bls::parse("empty.conf", "").unwrap_err(), BlsError::NoLinux);
    assert_eq!(bls::parse("x.conf", "linux\n").unwrap_err(), BlsError::NoLinux, "a 'linux' without a path");
}

#[test]
fn unreadable_linux_line_is_named_in_the_error() {
    let error = bls::parse_bytes("u.conf", b"title T\nlinux /boot/\xfevmlinuz\n").unwrap_err();
    assert_eq!(error, BlsError::LinuxNotUtf8 { line: 2, fault: crate::Utf8Fault { column: 13, byte: 0xfe } });
    assert_eq!(error.to_string(), "line 2: the 'linux' line has invalid UTF-8 at column 13 (byte 0xfe)");

    // A readable 'linux' line elsewhere makes the entry usable.
    let parsed = bls::parse_bytes("u.conf", b"linux /boot/\xfevmlinuz\r\nlinux /boot/vmlinuz\r\n").expect("usable");
    assert_eq!(parsed.value.linux, "/boot/vmlinuz");
    assert_eq!(messages(&parsed.diagnostics), ["line 1: invalid UTF-8 at column 13 (byte 0xfe); line ignored"]);
}

#[test]
fn unknown_keys_missing_values_and_bad_machine_ids_are_diagnostics() {
    let (entry, diagnostics) =
        entry("d.conf", "linux /k\nfoo bar\ntitle\nmachine-id 6A9857A3\nTitle Upper case keys are unknown\n");
    assert_eq!(
        diagnostics,
        [
            format!("line 2: unknown key 'foo' {KNOWN}"),
            "line 3: 'title' has no value".to_string(),
            "line 4: machine-id '6A9857A3' is not 32 lower-case hexadecimal digits".to_string(),
            format!("line 5: unknown key 'Title' {KNOWN}"),
        ]
    );
    assert_eq!(entry.title, None);
    assert_eq!(entry.machine_id, Some("6A9857A3"), "kept: it still sorts");
}

#[test]
fn crlf_tabs_trailing_spaces_comments_and_overrides() {
    let (entry, diagnostics) = entry(
        "c.conf",
        "\u{feff}# comment\r\n\ttitle\tOld  \r\n  # indented comment\r\ntitle New Title   \r\nlinux\t\t/vmlinuz \r\n\r\n",
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(entry.title, Some("New Title"));
    assert_eq!(entry.linux, "/vmlinuz");
}

#[test]
fn boot_counting_from_the_file_name() {
    let counter = |file_name: &'static str| entry(file_name, "linux /k").0.boot_counter();
    assert_eq!(counter("a+3.conf"), Some(BootCounter { tries_left: 3, tries_done: 0 }));
    assert_eq!(counter("a-6.1+1-2.conf"), Some(BootCounter { tries_left: 1, tries_done: 2 }));
    assert_eq!(counter("a+0-5.conf"), Some(BootCounter { tries_left: 0, tries_done: 5 }));
    assert!(entry("a+0-5.conf", "linux /k").0.is_bad());
    for no_counter in ["a.conf", "a+x.conf", "a+3-.conf", "a+-1.conf", "a+99999999999.conf"] {
        assert_eq!(counter(no_counter), None, "{no_counter}");
    }
}

#[test]
fn entries_sort_as_the_specification_says() {
    let debian = |version: &str, machine_id: &str| {
        format!("sort-key debian\nmachine-id {machine_id}\nversion {version}\nlinux /k\n")
    };
    let aaa = "a".repeat(32);
    let bbb = "b".repeat(32);
    let sources = [
        ("deb-6.1.10.conf", debian("6.1.10", &aaa)),
        ("deb-6.1.9.conf", debian("6.1.9", &aaa)),
        ("deb2-6.6.1.conf", debian("6.6.1", &bbb)),
        ("deb-rc.conf", debian("6.1.10~rc1", &aaa)),
        ("arch.conf", "sort-key arch\nversion 5.0\nlinux /k\n".to_string()),
        ("arch-bad+0-3.conf", "sort-key arch\nversion 9.0\nlinux /k\n".to_string()),
        ("zz-6.1.2.conf", "linux /k\n".to_string()),
        ("zz-6.1.12.conf", "linux /k\n".to_string()),
        ("deb-nomachine.conf", "sort-key debian\nversion 1\nlinux /k\n".to_string()),
    ];
    let mut entries: Vec<BlsEntry<'_>> =
        sources.iter().map(|(name, text)| bls::parse(name, text).expect("valid").value).collect();
    // Start from a scrambled order; the result must not depend on it.
    entries.reverse();
    entries.swap(0, 4);
    entries.sort_by(compare_entries);
    let order: Vec<&str> = entries.iter().map(BlsEntry::id).collect();
    assert_eq!(
        order,
        [
            "arch",          // sort-key "arch" < "debian"
            "deb-nomachine", // no machine-id sorts before any
            "deb-6.1.10",    // same machine-id: newest version first
            "deb-rc",        // 6.1.10~rc1 is older than 6.1.10, newer than 6.1.9
            "deb-6.1.9",
            "deb2-6.6.1", // machine-id bbb… after aaa…
            "zz-6.1.12",  // no sort-key: after those with one, by file name, newest first
            "zz-6.1.2",
            "arch-bad+0-3", // bad entries last, whatever their keys
        ]
    );
}

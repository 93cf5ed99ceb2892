//! Tests of PMON `boot.cfg` parsing and PMON path splitting.

use super::messages;
use crate::pmon::{self, PathError, PmonPath, split_path};

const KNOWN: &str = "(known: default, timeout, showmenu, title, kernel, initrd, args)";

const DEBIAN: &str = "default 0\n\
                      timeout 3\n\
                      showmenu 1\n\
                      \n\
                      title   Debian GNU/Linux (6.1.0-loongson-3)\n\
                      \x20       kernel (wd0,0)/vmlinuz-6.1.0-loongson-3\n\
                      \x20       initrd (wd0,0)/initrd.img-6.1.0-loongson-3\n\
                      \x20       args   console=ttyS0,115200 root=/dev/sda2 rd_start=... \n";

fn disk(device: &'static str, partition: Option<u8>, path: &'static str) -> PmonPath<'static> {
    PmonPath { device: Some(device), filesystem: None, partition, path }
}

#[test]
fn the_usual_file() {
    let parsed = pmon::parse(DEBIAN);
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    let config = parsed.value;
    assert_eq!(config.timeout_seconds, Some(3));
    assert_eq!(config.show_menu, Some(true));
    assert_eq!(config.entries().len(), 1);
    assert_eq!(config.default_index(), 0);
    let entry = config.default_entry().expect("one entry");
    assert_eq!(entry.title, "Debian GNU/Linux (6.1.0-loongson-3)");
    assert_eq!(entry.line, 5);
    assert_eq!(entry.title_index, 0);
    assert_eq!(entry.kernel, disk("wd0", Some(0), "vmlinuz-6.1.0-loongson-3"));
    assert_eq!(entry.initrd, Some(disk("wd0", Some(0), "initrd.img-6.1.0-loongson-3")));
    assert_eq!(entry.args, Some("console=ttyS0,115200 root=/dev/sda2 rd_start=..."));
}

#[test]
fn split_path_handles_every_device_form() {
    assert_eq!(split_path("(wd0,0)/boot/vmlinuz"), Ok(disk("wd0", Some(0), "boot/vmlinuz")));
    assert_eq!(split_path("(usb0,1)/vmlinux"), Ok(disk("usb0", Some(1), "vmlinux")));
    assert_eq!(
        split_path("/boot/vmlinuz"),
        Ok(PmonPath { device: None, filesystem: None, partition: None, path: "boot/vmlinuz" })
    );
    assert_eq!(split_path("boot/vmlinuz").map(|path| path.path), Ok("boot/vmlinuz"));
    assert_eq!(split_path("(cd0)/vmlinux"), Ok(disk("cd0", None, "vmlinux")));
    assert_eq!(split_path("( wd1 , 12 )//boot//vmlinux "), Ok(disk("wd1", Some(12), "boot//vmlinux")));
    assert_eq!(
        split_path("/dev/fs/ext2@wd0/boot/vmlinux"),
        Ok(PmonPath { device: Some("wd0"), filesystem: Some("ext2"), partition: None, path: "boot/vmlinux" })
    );
    assert_eq!(
        split_path("/dev/fs/ext2@wd0b/boot/vmlinux"),
        Ok(PmonPath { device: Some("wd0"), filesystem: Some("ext2"), partition: Some(1), path: "boot/vmlinux" })
    );
    assert_eq!(
        split_path("/dev/fs/vfat@usb0e/vmlinuz"),
        Ok(PmonPath { device: Some("usb0"), filesystem: Some("vfat"), partition: Some(4), path: "vmlinuz" })
    );
}

#[test]
fn split_path_rejects_what_is_not_a_file_on_a_disk() {
    let cases = [
        ("", PathError::Empty, "the path is empty"),
        ("   ", PathError::Empty, "the path is empty"),
        ("(wd0,0/vmlinuz", PathError::UnclosedDevice, "no ')' closes the device"),
        ("(wd0,x)/vmlinuz", PathError::BadPartition, "the partition is not a number from 0 to 255"),
        ("(wd0,256)/vmlinuz", PathError::BadPartition, "the partition is not a number from 0 to 255"),
        ("(wd0,)/vmlinuz", PathError::BadPartition, "the partition is not a number from 0 to 255"),
        ("(,0)/vmlinuz", PathError::BadDevice, "the device is not a name and unit number such as wd0 or usb0"),
        ("(wd,0)/vmlinuz", PathError::BadDevice, "the device is not a name and unit number such as wd0 or usb0"),
        ("(0,0)/vmlinuz", PathError::BadDevice, "the device is not a name and unit number such as wd0 or usb0"),
        ("(wd0,0)", PathError::NoFile, "it names no file"),
        ("(wd0,0)/", PathError::NoFile, "it names no file"),
        ("/", PathError::NoFile, "it names no file"),
        ("/dev/fs/ext2@wd0", PathError::NoFile, "it names no file"),
        ("/dev/fs/ext2wd0/boot/vmlinux", PathError::MissingDevice, "'/dev/fs/' is not followed by '<type>@<device>'"),
        ("/dev/fs/@wd0/vmlinux", PathError::EmptyFilesystem, "no file-system type before '@'"),
        (
            "/dev/fs/ext2@wd0bb/vmlinux",
            PathError::BadDevice,
            "the device is not a name and unit number such as wd0 or usb0",
        ),
        ("/dev/ram@0x80000000", PathError::NotFileSystem, "only '/dev/fs/<type>@<device>/...' device paths name files"),
        ("tftp://10.0.2.2/vmlinux", PathError::NetworkAddress, "network addresses are not supported, only disk paths"),
    ];
    for (path, error, message) in cases {
        assert_eq!(split_path(path), Err(error), "{path:?}");
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn several_entries_default_and_skipped_ones() {
    let text = "default 2\n\
                title First\n\
                \tkernel (wd0,0)/vmlinuz-1\n\
                title No kernel here\n\
                \targs quiet\n\
                title Third\n\
                \tkernel /dev/fs/ext2@wd0/boot/vmlinux\n\
                \targs console=tty root=/dev/sda1\n";
    let parsed = pmon::parse(text);
    assert_eq!(messages(&parsed.diagnostics), ["line 4: entry 'No kernel here' has no 'kernel' line; skipped"]);
    let config = parsed.value;
    let titles: Vec<&str> = config.entries().iter().map(|entry| entry.title).collect();
    assert_eq!(titles, ["First", "Third"]);
    // `default 2` counts titles in the file, including the skipped one.
    assert_eq!(config.default_index(), 1);
    let default = config.default_entry().expect("default");
    assert_eq!(default.title, "Third");
    assert_eq!(default.title_index, 2);
    assert_eq!(default.initrd, None);
    assert_eq!(default.args, Some("console=tty root=/dev/sda1"));
    assert_eq!(config.timeout_seconds, None);
    assert_eq!(config.show_menu, None);
}

#[test]
fn default_naming_a_skipped_entry_falls_back_to_the_first() {
    let parsed = pmon::parse("title A\nkernel /a\ntitle B\ntitle C\nkernel /c\ndefault 1\n");
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 3: entry 'B' has no 'kernel' line; skipped",
            "line 6: default 1 names an entry that was skipped; using the first entry",
        ]
    );
    assert_eq!(parsed.value.default_index(), 0);
    assert_eq!(parsed.value.default_entry().map(|entry| entry.title), Some("A"));
}

#[test]
fn default_out_of_range_falls_back_to_the_first() {
    let two = "title A\nkernel /a\ntitle B\nkernel /b\n";
    for (default, message) in [
        ("default 2", "line 5: default 2 is out of range: the 2 entries are numbered 0 to 1; using the first entry"),
        (
            "default 99999999999999999999999",
            "line 5: default 99999999999999999999999 is out of range: the 2 entries are numbered 0 to 1; \
             using the first entry",
        ),
        ("default one", "line 5: default 'one' is not a number"),
    ] {
        let text = format!("{two}{default}\n");
        let parsed = pmon::parse(&text);
        assert_eq!(messages(&parsed.diagnostics), [message], "{default}");
        assert_eq!(parsed.value.default_index(), 0);
    }
    let empty = pmon::parse("default 3\n");
    assert_eq!(messages(&empty.diagnostics), ["line 1: default 3 is out of range: the file has no entries"]);
    assert_eq!(empty.value.default_entry(), None);
    assert!(pmon::parse("default 0\n").diagnostics.is_empty(), "default 0 without entries is not a mistake");
}

#[test]
fn keys_outside_entries_unknown_keys_and_bad_values() {
    let text = "kernel (wd0,0)/early\n\
                timeout soon\n\
                timeout 9999\n\
                showmenu yes\n\
                color blue\n\
                title\n\
                kernel (wd0,0)/vmlinuz\n";
    let parsed = pmon::parse(text);
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 1: 'kernel' is outside an entry (no 'title' line before it)".to_string(),
            "line 2: timeout 'soon' is not a number".to_string(),
            "line 3: timeout 9999 is more than the maximum of 3600 seconds".to_string(),
            "line 4: showmenu 'yes' is neither 0 nor 1".to_string(),
            format!("line 5: unknown key 'color' {KNOWN}"),
            "line 6: 'title' has no text".to_string(),
        ]
    );
    let config = parsed.value;
    assert_eq!(config.timeout_seconds, None);
    assert_eq!(config.show_menu, None);
    assert_eq!(config.entries().len(), 1, "an untitled entry with a kernel is still bootable");
    assert_eq!(config.entries().get(0).map(|entry| entry.title), Some(""));
}

#[test]
fn unusable_paths_skip_the_entry() {
    let text = "title Bad kernel\n\
                kernel (wd0,0/vmlinuz\n\
                title Bad initrd\n\
                kernel (wd0,0)/vmlinuz\n\
                initrd tftp://10.0.2.2/initrd\n\
                title Good\n\
                kernel (wd0,1)/vmlinuz\n";
    let parsed = pmon::parse(text);
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 2: kernel path '(wd0,0/vmlinuz' is unusable: no ')' closes the device; entry skipped",
            "line 5: initrd path 'tftp://10.0.2.2/initrd' is unusable: network addresses are not supported, \
             only disk paths; entry skipped",
        ]
    );
    let titles: Vec<&str> = parsed.value.entries().iter().map(|entry| entry.title).collect();
    assert_eq!(titles, ["Good"]);
}

#[test]
fn crlf_tabs_comments_and_key_case() {
    let text = "# boot.cfg written on Windows\r\nDefault 1\r\nTimeOut\t5  \r\nshowmenu 0\r\n\r\n\
                title\tOne\r\n\tkernel\t(wd0,0)/one\r\n   # a comment inside an entry\r\n\
                TITLE Two  \r\n\tKERNEL /dev/fs/ext2@wd0/boot/two\r\n\tARGS  quiet  splash \r\n";
    let parsed = pmon::parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    let config = parsed.value;
    assert_eq!(config.timeout_seconds, Some(5));
    assert_eq!(config.show_menu, Some(false));
    assert_eq!(config.default_index(), 1);
    let two = config.default_entry().expect("entry two");
    assert_eq!(two.title, "Two");
    assert_eq!(two.kernel.path, "boot/two");
    assert_eq!(two.args, Some("quiet  splash"));
}

#[test]
fn non_utf8_lines_are_reported() {
    let parsed = pmon::parse_bytes(b"title A\n  kernel (wd0,0)/vmlin\xffuz\ntitle B\n  kernel /b\n");
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 2: invalid UTF-8 at column 23 (byte 0xff); line ignored",
            "line 1: entry 'A' has no 'kernel' line; skipped",
        ]
    );
    assert_eq!(parsed.value.entries().len(), 1);
}

#[test]
fn entries_beyond_the_capacity_are_reported() {
    let text: String = (0..=pmon::MAX_ENTRIES).map(|n| format!("title E{n}\nkernel /k{n}\n")).collect();
    let parsed = pmon::parse(&text);
    assert_eq!(parsed.value.entries().len(), pmon::MAX_ENTRIES);
    assert_eq!(parsed.value.entries().overflowed(), 1);
    assert_eq!(messages(&parsed.diagnostics), ["line 65: more than 32 entries; 'E32' ignored"]);
}

/// `loongson-3/boot.cfg` of `debian-installer-12-netboot-mips64el`, byte for
/// byte (tab-indented, `args nil`).
const DEBIAN_INSTALLER: &str = "default 0\ntimeout 0\nshowmenu 0\n\ntitle Boot d-i\n\
                                \tkernel (usb0,0)/vmlinuz-6.1.0-50-loongson-3\n\
                                \tinitrd (usb0,0)/initrd.gz\n\targs nil\n";

#[test]
fn the_installer_stick_file() {
    let parsed = pmon::parse(DEBIAN_INSTALLER);
    assert!(parsed.diagnostics.is_empty(), "{:?}", messages(&parsed.diagnostics));
    let config = parsed.value;
    assert_eq!(config.timeout_seconds, Some(0));
    assert_eq!(config.show_menu, Some(false));
    let entry = config.default_entry().expect("one entry");
    assert_eq!(entry.title, "Boot d-i");
    assert_eq!(entry.kernel, disk("usb0", Some(0), "vmlinuz-6.1.0-50-loongson-3"));
    assert_eq!(entry.initrd, Some(disk("usb0", Some(0), "initrd.gz")));
    // PMON's "no arguments": an empty command line, not the word.
    assert_eq!(entry.args, Some(""));
}

#[test]
fn nil_is_no_arguments_only_on_its_own() {
    let with = |args: &str| {
        let text = format!("title T\nkernel /vmlinux\nargs {args}\n");
        let parsed = pmon::parse(&text);
        parsed.value.default_entry().expect("entry").args.map(String::from)
    };
    assert_eq!(with("nil"), Some(String::new()));
    assert_eq!(with("  nil  "), Some(String::new()));
    assert_eq!(with("nil quiet"), Some("nil quiet".into()));
    assert_eq!(with("nilx"), Some("nilx".into()));
    assert_eq!(with("NIL"), Some("NIL".into()));
    assert_eq!(with("quiet nil"), Some("quiet nil".into()));
}

#[test]
fn boot_cfg_is_looked_for_where_pmon_and_the_installer_put_it() {
    assert_eq!(pmon::BOOT_CFG_PATHS, ["/boot/boot.cfg", "/boot.cfg"]);
}

#[test]
fn unit_0_of_every_disk_kind_names_this_disk() {
    for device in ["wd0", "sd0", "usb0", "cd0", "USB0", "Wd0"] {
        assert_eq!(pmon::own_disk(device), Ok(()), "{device}");
    }
    for device in ["wd1", "usb2", "sd00", "cd10", "wd", "wd0x", "wd99999999999999999999999"] {
        assert_eq!(pmon::own_disk(device), Err(PathError::OtherUnit), "{device}");
    }
    for device in ["fd0", "tftp0", "nand0", "", "0", "usbx0", "ü0", "wdusb0"] {
        assert_eq!(pmon::own_disk(device), Err(PathError::NotADisk), "{device:?}");
    }
    assert_eq!(PathError::OtherUnit.to_string(), "only unit 0 (wd0, sd0, usb0, cd0) names the disk holding boot.cfg");
    assert_eq!(
        PathError::NotADisk.to_string(),
        "the device is not a disk (wd0, sd0, usb0 or cd0 names the disk holding boot.cfg)"
    );
}

#[test]
fn devices_that_are_not_this_disk_skip_their_entry() {
    let text = "title Second disk\n\
                kernel (wd1,0)/vmlinuz\n\
                title Floppy initrd\n\
                kernel (usb0,0)/vmlinuz\n\
                initrd /dev/fs/fat@fd0/initrd.gz\n\
                title Stick\n\
                kernel /dev/fs/vfat@usb0a/vmlinuz\n\
                initrd (cd0)/initrd.gz\n\
                title Plain\n\
                kernel /vmlinuz\n";
    let parsed = pmon::parse(text);
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "line 2: kernel path '(wd1,0)/vmlinuz' is unusable: only unit 0 (wd0, sd0, usb0, cd0) names the \
             disk holding boot.cfg; entry skipped",
            "line 5: initrd path '/dev/fs/fat@fd0/initrd.gz' is unusable: the device is not a disk (wd0, sd0, \
             usb0 or cd0 names the disk holding boot.cfg); entry skipped",
        ]
    );
    let titles: Vec<&str> = parsed.value.entries().iter().map(|entry| entry.title).collect();
    assert_eq!(titles, ["Stick", "Plain"]);
    // split_path itself still takes any device apart; the parser applies the rule.
    assert_eq!(split_path("(wd1,0)/vmlinuz"), Ok(disk("wd1", Some(0), "vmlinuz")));
    assert_eq!(pmon::split_own_path("(wd1,0)/vmlinuz"), Err(PathError::OtherUnit));
    assert_eq!(pmon::split_own_path("/vmlinuz").map(|p| p.path), Ok("vmlinuz"));
}

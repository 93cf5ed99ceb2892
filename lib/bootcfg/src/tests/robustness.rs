//! Hostile input: every parser on truncated and pseudo-random bytes.
//!
//! Each input goes through all three parsers (a firmware may well hand a
//! PMON file to the BLS parser), and the results are checked for the
//! promises the crate makes (the command-line functions get the same input
//! as a kernel command line): no panic, diagnostics that point at a line of
//! the input and print, bounded lists, a default that exists.

use core::cmp::Ordering;
use core::fmt::Display;

use super::Rng;
use crate::bls::{self, BlsEntry, compare_entries};
use crate::{Diagnostics, cmdline, compare_versions, config, pmon};

const CONFIG_SAMPLE: &[u8] = "\u{feff}# Tianshan\r\nbootdelay = 5\nbootorder = disk, fwcfg\nbootdelya = 2\n\
    default = Debian 键盘\ncmdline = console=ttyS0,115200 # kept\n\tgarbage\nconsole=serial\n"
    .as_bytes();
const BLS_SAMPLE: &[u8] = "# entry\ntitle  Debian GNU/Linux 12 (键)\r\nsort-key debian\nmachine-id \
    6a9857a393724b7a981ebb5b8495b9ea\nversion 6.1.0-loongson-3\noptions root=/dev/vda2\noptions quiet\n\
    linux /6a98/6.1.0/linux\ninitrd /6a98/6.1.0/initrd\nfoo bar\n"
    .as_bytes();
const PMON_SAMPLE: &[u8] = "default 1\ntimeout 3\nshowmenu 1\n\ntitle   Debian (6.1.0-loongson-3)\n\
    \tkernel (wd0,0)/vmlinuz-6.1.0\n\tinitrd (wd0,0)/initrd.img-6.1.0\n\targs   console=ttyS0,115200 键\r\n\
    title Old\n\tkernel /dev/fs/ext2@wd0b/boot/vmlinux\nbogus line\n"
    .as_bytes();

/// Pieces random inputs are built from, so they reach deep parser states.
const TOKENS: &[&[u8]] = &[
    b"bootdelay",
    b"bootorder",
    b"default",
    b"cmdline",
    b"console",
    b"title",
    b"linux",
    b"initrd",
    b"options",
    b"sort-key",
    b"machine-id",
    b"version",
    b"efi",
    b"kernel",
    b"args",
    b"timeout",
    b"showmenu",
    b"fwcfg",
    b"disk",
    b"rom",
    b"serial",
    b" = ",
    b"=",
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\r",
    b"#",
    b",",
    b"0",
    b"1",
    b"42",
    b"3601",
    b"99999999999999999999",
    b"(wd0,0)",
    b"(usb0,",
    b"(wd1,0)",
    b"nil",
    b"--",
    b"\"",
    b")",
    b"/",
    b"/dev/fs/ext2@wd0b",
    b"@",
    b"~",
    b"^",
    b"-",
    b".",
    b"+0-1",
    b".conf",
    b"\xff",
    b"\xe9\x94",
    "键".as_bytes(),
    b"\0",
    b"\xef\xbb\xbf",
];

/// Lines `input` has at most, as the parsers count them.
fn line_count(input: &[u8]) -> usize {
    input.iter().filter(|&&byte| byte == b'\n').count() + 1
}

fn check_diagnostics<P: Display>(input: &[u8], diagnostics: &Diagnostics<P>) {
    let lines = line_count(input);
    for diagnostic in diagnostics {
        assert!((1..=lines).contains(&diagnostic.line), "line {} of {lines} in {input:?}", diagnostic.line);
        let message = diagnostic.to_string();
        assert!(message.starts_with(&format!("line {}: ", diagnostic.line)), "{message}");
        assert!(message.len() > "line 1: ".len(), "{message}");
    }
    assert!(diagnostics.len() <= crate::MAX_DIAGNOSTICS);
}

/// Runs every parser on `input` and checks what each promises.
fn check_all(input: &[u8]) {
    let parsed = config::parse_bytes(input);
    check_diagnostics(input, &parsed.diagnostics);
    assert!(parsed.value.boot_delay_seconds <= config::MAX_BOOT_DELAY_SECONDS);
    assert!(!parsed.value.boot_order.as_slice().is_empty());

    match bls::parse_bytes("fuzz+1-2.conf", input) {
        Ok(parsed) => {
            check_diagnostics(input, &parsed.diagnostics);
            assert!(!parsed.value.linux.is_empty());
            assert!(parsed.value.initrds().count() <= bls::MAX_INITRDS);
            let command_line = parsed.value.command_line();
            assert_eq!(command_line.to_string().len(), command_line.len());
        }
        Err(error) => {
            if let bls::BlsError::LinuxNotUtf8 { line, .. } = error {
                assert!((1..=line_count(input)).contains(&line));
            }
            assert!(!error.to_string().is_empty());
        }
    }

    if let Ok(text) = core::str::from_utf8(input) {
        let with_console = cmdline::add_console(text, "ttyS0").map(|pieces| pieces.concat());
        assert!(cmdline::names_console(with_console.as_deref().unwrap_or(text)), "{text:?}");
    }

    let parsed = pmon::parse_bytes(input);
    check_diagnostics(input, &parsed.diagnostics);
    let boot_cfg = &parsed.value;
    assert!(boot_cfg.entries().len() <= pmon::MAX_ENTRIES);
    if boot_cfg.entries().is_empty() {
        assert_eq!(boot_cfg.default_index(), 0);
    } else {
        assert!(boot_cfg.default_entry().is_some());
    }
    for entry in boot_cfg.entries() {
        assert!(!entry.kernel.path.is_empty() && !entry.kernel.path.starts_with('/'), "{entry:?}");
    }
}

#[test]
fn every_prefix_of_the_samples_parses() {
    for sample in [CONFIG_SAMPLE, BLS_SAMPLE, PMON_SAMPLE] {
        for end in 0..=sample.len() {
            check_all(&sample[..end]);
        }
    }
}

#[test]
fn the_samples_give_the_expected_results() {
    // Guards the prefix test: the full samples must exercise real paths.
    assert_eq!(config::parse_bytes(CONFIG_SAMPLE).diagnostics.len(), 2);
    let entry = bls::parse_bytes("s.conf", BLS_SAMPLE).expect("sample entry");
    assert_eq!(entry.value.command_line().to_string(), "root=/dev/vda2 quiet");
    let boot_cfg = pmon::parse_bytes(PMON_SAMPLE);
    assert_eq!(boot_cfg.value.entries().len(), 2);
    assert_eq!(boot_cfg.value.default_entry().map(|entry| entry.title), Some("Old"));
}

/// A random input: raw bytes, or a sequence of tokens.
fn random_input(rng: &mut Rng) -> Vec<u8> {
    const MAX_BYTES: usize = 200;
    const MAX_TOKENS: usize = 80;
    let mut input = Vec::new();
    if rng.below(2) == 0 {
        for _ in 0..rng.below(MAX_BYTES) {
            input.push(rng.next() as u8);
        }
    } else {
        for _ in 0..rng.below(MAX_TOKENS) {
            input.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
        }
    }
    input
}

#[test]
fn pseudo_random_bytes_parse() {
    const INPUTS: usize = 600;
    let mut rng = Rng(0x7143_5348_414e_0001);
    for _ in 0..INPUTS {
        let input = random_input(&mut rng);
        check_all(&input);
        if let Ok(text) = core::str::from_utf8(&input) {
            // Whatever the path, a success is a file within a partition.
            if let Ok(path) = pmon::split_path(text) {
                assert!(!path.path.is_empty() && !path.path.starts_with('/'), "{text:?}");
            }
        }
    }
}

#[test]
fn version_order_is_consistent_on_random_strings() {
    const STRINGS: usize = 300;
    let mut rng = Rng(0x5645_5253_494f_4e21);
    let strings: Vec<String> =
        (0..STRINGS).map(|_| String::from_utf8_lossy(&random_input(&mut rng)).chars().take(24).collect()).collect();
    for a in &strings {
        assert_eq!(compare_versions(a, a), Ordering::Equal, "{a:?}");
    }
    for pair in strings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(compare_versions(a, b), compare_versions(b, a).reverse(), "{a:?} {b:?}");
    }
    let mut sorted = strings.clone();
    sorted.sort_by(|a, b| compare_versions(a, b));
    // A consistent order: everything after an element is not lower than it.
    for (i, a) in sorted.iter().enumerate().step_by(7) {
        for b in &sorted[i..] {
            assert_ne!(compare_versions(a, b), Ordering::Greater, "{a:?} sorted before {b:?}");
        }
    }
}

#[test]
fn entry_order_is_consistent_on_random_entries() {
    const ENTRIES: usize = 200;
    const NAMES: &[&str] = &["a.conf", "a+0.conf", "b-6.1.9.conf", "b-6.1.10.conf", "c+2-1.conf", "6.1~rc1.conf"];
    let mut rng = Rng(0x454e_5452_4945_5321);
    let pieces =
        ["sort-key a\n", "sort-key b\n", "machine-id x\n", "version 6.1.9\n", "version 6.1.10\n", "version 7\n"];
    let texts: Vec<(usize, String)> = (0..ENTRIES)
        .map(|_| {
            let mut text = String::from("linux /k\n");
            for piece in pieces {
                if rng.below(2) == 0 {
                    text.push_str(piece);
                }
            }
            (rng.below(NAMES.len()), text)
        })
        .collect();
    let mut entries: Vec<BlsEntry<'_>> =
        texts.iter().map(|(name, text)| bls::parse(NAMES[*name], text).expect("has linux").value).collect();
    entries.sort_by(compare_entries);
    for (i, a) in entries.iter().enumerate() {
        for b in &entries[i..] {
            assert_ne!(compare_entries(a, b), Ordering::Greater);
        }
        if i > 0 {
            assert!(!entries[i - 1].is_bad() || a.is_bad(), "bad entries are last");
        }
    }
}

//! Fuzz target: PMON `boot.cfg` menus and device paths (`pmon::parse_bytes`).
//!
//! Input: a `boot.cfg`'s bytes. Properties: the menu parsed from it,
//! printed back with only its kept entries (`tianshan_fuzz::print::boot_cfg`)
//! and parsed again, has the same settings, entries and default entry, and
//! draws no diagnostic (but a kept, empty title's); the default index
//! names an entry when there is one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tianshan_bootcfg::pmon::{self, BootCfg, Problem};
use tianshan_fuzz::print::boot_cfg;

/// What printing keeps: settings, default entry, and each entry less its
/// line number and title count (which depend on the skipped entries).
fn settings<'a>(c: &BootCfg<'a>) -> impl PartialEq + std::fmt::Debug + use<'a> {
    let entries: Vec<_> = c.entries().iter().map(|e| (e.title, e.kernel, e.initrd, e.args)).collect();
    (c.timeout_seconds, c.show_menu, c.default_entry().map(|e| e.title), entries)
}

fuzz_target!(|data: &[u8]| {
    let parsed = pmon::parse_bytes(data);
    for diagnostic in parsed.diagnostics.iter() {
        let _ = diagnostic.to_string();
    }
    let menu = &parsed.value;
    assert_eq!(menu.default_entry().is_some(), !menu.entries().is_empty(), "default index names no entry");
    let text = boot_cfg(menu);
    let again = pmon::parse(&text);
    assert_eq!(settings(&again.value), settings(menu), "menu changed on a round trip through\n{text}");
    // An entry with an empty title is kept (and reported again); nothing
    // else may be.
    let problems: Vec<String> =
        again.diagnostics.iter().filter(|d| !matches!(d.problem, Problem::EmptyTitle)).map(|d| d.to_string()).collect();
    assert!(problems.is_empty(), "the printed menu draws {problems:?}:\n{text}");
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = pmon::split_path(s);
    }
});

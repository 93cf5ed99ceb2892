//! Fuzz target: the firmware configuration (`key = value`, `config::parse`).
//!
//! Input: a configuration file's bytes. Properties: the settings parsed
//! from it, printed back (`tianshan_fuzz::print::firmware_config`) and
//! parsed again, are the same settings, and the printed file draws no
//! diagnostic; every diagnostic of the input prints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tianshan_bootcfg::config;
use tianshan_fuzz::print::firmware_config;

fuzz_target!(|data: &[u8]| {
    let parsed = config::parse_bytes(data);
    for diagnostic in parsed.diagnostics.iter() {
        let _ = diagnostic.to_string();
    }
    let text = firmware_config(&parsed.value);
    let again = config::parse(&text);
    assert_eq!(again.value, parsed.value, "settings changed on a round trip through\n{text}");
    let problems: Vec<String> = again.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(problems.is_empty(), "the printed file draws {problems:?}:\n{text}");
});

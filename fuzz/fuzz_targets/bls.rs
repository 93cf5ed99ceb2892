//! Fuzz target: Boot Loader Specification entries (`bls::parse_bytes`).
//!
//! Input: an entry file's bytes (named `fuzz.conf`). Properties: an entry
//! parsed from it, printed back (`tianshan_fuzz::print::bls_entry`) and
//! parsed again, has the same fields and draws no diagnostic (but a kept,
//! malformed `machine-id`'s); its command
//! line's `len` is what it prints and what `copy_to` copies; it sorts equal
//! to itself.
#![no_main]

use core::cmp::Ordering;
use libfuzzer_sys::fuzz_target;
use tianshan_bootcfg::bls::{self, BlsEntry, Problem};
use tianshan_fuzz::print::bls_entry;

const FILE_NAME: &str = "fuzz.conf";
/// Room for any command line the fuzzer makes (it is refused if longer).
const COMMAND_LINE_ROOM: usize = 4096;

/// Every field, the lists as vectors (a list's overflow count is not kept
/// by printing, so the lists are compared by their items).
fn fields<'a>(e: &BlsEntry<'a>) -> impl PartialEq + std::fmt::Debug + use<'a> {
    (
        (e.file_name, e.title, e.version, e.machine_id, e.sort_key, e.linux),
        (e.devicetree, e.devicetree_overlay, e.architecture, e.efi),
        e.initrds().collect::<Vec<_>>(),
        e.options().collect::<Vec<_>>(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = bls::parse_bytes(FILE_NAME, data) else { return };
    for diagnostic in parsed.diagnostics.iter() {
        let _ = diagnostic.to_string();
    }
    let entry = &parsed.value;
    let _ =
        (entry.id(), entry.title_or_id(), entry.boot_counter(), entry.is_bad(), entry.matches_architecture("mips64"));
    assert_eq!(bls::compare_entries(entry, entry), Ordering::Equal);
    let line = entry.command_line();
    let printed = line.to_string();
    assert_eq!(printed.len(), line.len(), "command line length is not its printed length");
    let mut room = [0u8; COMMAND_LINE_ROOM];
    if let Ok(n) = line.copy_to(&mut room) {
        assert_eq!(&room[..n], printed.as_bytes(), "copy_to copies another command line");
    }
    let text = bls_entry(entry);
    let again = bls::parse(FILE_NAME, &text).unwrap_or_else(|e| panic!("printed entry refused ({e}):\n{text}"));
    assert_eq!(fields(&again.value), fields(entry), "fields changed on a round trip through\n{text}");
    // A malformed machine-id is kept (and reported again); nothing else may be.
    let problems: Vec<String> = again
        .diagnostics
        .iter()
        .filter(|d| !matches!(d.problem, Problem::BadMachineId(_)))
        .map(|d| d.to_string())
        .collect();
    assert!(problems.is_empty(), "the printed entry draws {problems:?}:\n{text}");
});

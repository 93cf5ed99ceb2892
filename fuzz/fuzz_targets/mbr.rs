//! Fuzz target: classic MBRs and their chains of extended boot records.
//!
//! Input: `tianshan_fuzz::disk`'s sparse image. Properties:
//! `tianshan_fuzz::table::check_table` (partitions non-empty, on the disk,
//! disjoint, distinct numbers, each readable to its last block and no
//! further). The `gpt` and `mbr` targets share the check and differ in
//! their seed corpora (sgdisk images for `gpt`, sfdisk ones for `mbr`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tianshan_fuzz::disk::SparseDisk;
use tianshan_fuzz::table::check_table;

fuzz_target!(|data: &[u8]| {
    if let Some(mut disk) = SparseDisk::from_input(data) {
        check_table(&mut disk);
    }
});

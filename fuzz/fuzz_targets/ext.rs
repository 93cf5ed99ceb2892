//! Fuzz target: the ext2/3/4 reader (extents, block maps, dirs, links).
//!
//! Input: `tianshan_fuzz::disk`'s sparse image of a whole-disk volume.
//! Properties: `tianshan_fuzz::walk::check_ext` (every file reads back
//! exactly its directory size, lookup finds what listing found, files are
//! not directories and directories not files).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tianshan_fuzz::disk::SparseDisk;
use tianshan_fuzz::walk::check_ext;

fuzz_target!(|data: &[u8]| {
    if let Some(mut disk) = SparseDisk::from_input(data) {
        check_ext(&mut disk);
    }
});

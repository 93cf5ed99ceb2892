//! Shared pieces of the fuzz targets: sparse disk, checkers, printers.
//!
//! Each target in `fuzz_targets/` feeds libFuzzer's bytes to one parser and
//! then checks what that parser promises (see docs/fuzzing.md for the list).
//! What more than one target needs lives here: `disk` turns an input into a
//! `BlockDevice` (the disk targets' input format), `table` checks a
//! partition table, `walk` a mounted FAT or ext volume file by file, and
//! `print` writes parsed boot configurations back as text so a target can
//! parse them again and compare.

pub mod disk;
pub mod print;
pub mod table;
pub mod walk;

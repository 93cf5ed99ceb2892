//! Read-only FAT and ext2/3/4 readers over a `BlockDevice`, host-testable.
//!
//! `fat` reads FAT12/16/32 with long names; `ext` reads ext2, ext3 and ext4
//! (extents, block maps, symbolic links). Both read through
//! `tianshan_partition::BlockDevice`, usually a `PartitionReader` over one
//! partition, and treat the disk as hostile input: every number read from
//! it is range-checked and every loop bounded, and damage is an error,
//! never a panic. The firmware (`firmware/src/disk/fs.rs`) puts the two
//! behind one interface over its virtio disks; the host tests and the fuzz
//! targets (`fuzz/`) drive them over in-memory images.
//!
//! The non-generic functions are `#[inline]`, so they are compiled in the
//! crate that reads (with the generic ones) rather than here: the firmware
//! then keeps one copy of each helper they share (`String::push`, say), and
//! its ROM stays as small as when these files were firmware modules (with
//! them compiled here it grew 80 bytes; with `#[inline]` it is 272 smaller).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod ext;
pub mod fat;
#[cfg(test)]
mod tests;

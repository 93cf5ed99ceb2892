//! The block-device trait, and one partition seen as a block device of its own.
//!
//! `BlockDevice` is what the partition reader needs from a disk; the firmware
//! implements it over virtio-blk. `PartitionReader` narrows a device to one
//! partition: block 0 is the partition's first block, and a read that would
//! leave the partition is refused before it reaches the disk, so filesystem
//! code given a `PartitionReader` cannot touch its neighbours.

use crate::table::{Partition, PartitionProblem};
use core::fmt;

/// The sector size this crate parses tables for (virtio-blk's unit, and the
/// logical block size that MBR and GPT on such disks assume).
pub const SECTOR_SIZE: usize = 512;

/// A disk read in whole blocks.
pub trait BlockDevice {
    /// What a failed read reports.
    type Error: fmt::Debug + fmt::Display;

    /// Bytes per block. The partition-table reader accepts only `SECTOR_SIZE`.
    const BLOCK_SIZE: usize = SECTOR_SIZE;

    /// Number of blocks on the device.
    fn block_count(&self) -> u64;

    /// Reads `buf.len() / BLOCK_SIZE` blocks starting at `lba` into `buf`,
    /// whose length is a multiple of `BLOCK_SIZE`.
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Self::Error>;
}

/// A borrowed device is a device, so a `PartitionReader` can wrap `&mut disk`.
impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    type Error = D::Error;
    const BLOCK_SIZE: usize = D::BLOCK_SIZE;

    fn block_count(&self) -> u64 {
        (**self).block_count()
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Self::Error> {
        (**self).read_blocks(lba, buf)
    }
}

/// Why a read through a `PartitionReader` failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionIoError<E> {
    /// The read would cover blocks outside the partition.
    OutOfRange {
        /// Partition number (1-based, as Linux numbers them).
        partition: u32,
        /// First block asked for, relative to the partition.
        lba: u64,
        /// Number of blocks asked for.
        blocks: u64,
        /// Size of the partition in blocks.
        partition_blocks: u64,
    },
    /// The buffer is not a whole number of blocks.
    PartialBlock {
        /// Buffer length in bytes.
        len: usize,
        /// The device's block size.
        block_size: usize,
    },
    /// The disk itself failed.
    Device(E),
}

impl<E: fmt::Display> fmt::Display for PartitionIoError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionIoError::OutOfRange { partition, lba, blocks, partition_blocks } => write!(
                f,
                "read of {blocks} block(s) at LBA {lba} is outside partition {partition} ({partition_blocks} blocks)"
            ),
            PartitionIoError::PartialBlock { len, block_size } => {
                write!(f, "read buffer of {len} bytes is not a multiple of the {block_size}-byte block size")
            }
            PartitionIoError::Device(e) => write!(f, "disk read failed: {e}"),
        }
    }
}

/// One partition of a device, readable as a device whose block 0 is the
/// partition's first block.
pub struct PartitionReader<D> {
    device: D,
    partition: u32,
    first_lba: u64,
    block_count: u64,
}

impl<D: BlockDevice> PartitionReader<D> {
    /// Narrows `device` to `partition`, which must lie within the device.
    pub fn new(device: D, partition: &Partition) -> Result<Self, PartitionProblem> {
        Self::from_range(device, partition.index, partition.first_lba, partition.block_count)
    }

    /// Narrows `device` to `block_count` blocks from `first_lba`, reported as
    /// partition number `index` in errors.
    pub fn from_range(device: D, index: u32, first_lba: u64, block_count: u64) -> Result<Self, PartitionProblem> {
        let disk_blocks = device.block_count();
        match first_lba.checked_add(block_count) {
            Some(end) if end <= disk_blocks => Ok(PartitionReader { device, partition: index, first_lba, block_count }),
            _ => Err(PartitionProblem::BeyondDisk { index, first_lba, block_count, disk_blocks }),
        }
    }

    /// The partition's first block on the underlying device.
    pub fn first_lba(&self) -> u64 {
        self.first_lba
    }

    /// Gives the underlying device back.
    pub fn into_inner(self) -> D {
        self.device
    }
}

impl<D: BlockDevice> BlockDevice for PartitionReader<D> {
    type Error = PartitionIoError<D::Error>;
    const BLOCK_SIZE: usize = D::BLOCK_SIZE;

    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Self::Error> {
        let block_size = D::BLOCK_SIZE;
        if block_size == 0 || !buf.len().is_multiple_of(block_size) {
            return Err(PartitionIoError::PartialBlock { len: buf.len(), block_size });
        }
        let blocks = (buf.len() / block_size) as u64;
        let out_of_range =
            PartitionIoError::OutOfRange { partition: self.partition, lba, blocks, partition_blocks: self.block_count };
        match lba.checked_add(blocks) {
            Some(end) if end <= self.block_count => {}
            _ => return Err(out_of_range),
        }
        // `from_range` checked first_lba + block_count, so this cannot fail; checked all the same.
        let disk_lba = self.first_lba.checked_add(lba).ok_or(out_of_range)?;
        self.device.read_blocks(disk_lba, buf).map_err(PartitionIoError::Device)
    }
}

//! Partition tables (GPT and MBR) read from a block device, for boot menus.
//!
//! `read_partition_table` reads sector 0 and decides what the disk holds:
//! a protective MBR and a GPT (`gpt`), a classic MBR with extended partitions
//! (`mbr`), or no table at all (`Error::NoPartitionTable`, after which the
//! caller may try a filesystem on the whole disk; `check_fat_boot_sector`
//! says why sector 0 is or is not a FAT boot sector). `PartitionReader` then
//! presents one partition as a `BlockDevice` for filesystem code.
//!
//! The disk is hostile input: every number read from it is range-checked with
//! checked arithmetic, every loop over on-disk structures has a fixed bound,
//! and nothing panics. A bad entry is left out of the table and described by
//! a `Diagnostic`; only a disk whose table cannot be read at all is an `Error`.
//! No heap: tables live in fixed arrays (`MAX_PARTITIONS`), sectors on the stack.
//! Only 512-byte blocks are supported (virtio-blk's sector).
#![cfg_attr(not(test), no_std)]

mod device;
mod gpt;
mod guid;
mod mbr;
mod table;
#[cfg(test)]
mod tests;

pub use device::{BlockDevice, PartitionIoError, PartitionReader, SECTOR_SIZE};
pub use gpt::{
    GPT_MAJOR_REVISION, GPT_MIN_ENTRY_SIZE, GPT_MIN_HEADER_SIZE, GPT_PRIMARY_HEADER_LBA, GPT_SIGNATURE, GptProblem,
    MAX_ENTRY_ARRAY_BYTES,
};
pub use guid::Guid;
pub use mbr::{
    FIRST_LOGICAL_INDEX, FatBootSector, MAX_EBR_LINKS, MBR_EXTENDED_TYPES, MBR_SIGNATURE, MBR_SIGNATURE_OFFSET,
    MBR_TYPE_GPT_PROTECTIVE, NotFat, check_fat_boot_sector, has_boot_signature, looks_like_fat_boot_sector,
};
pub use table::{
    Diagnostic, GPT_NAME_UNITS, MAX_DIAGNOSTICS, MAX_PARTITIONS, MBR_TYPE_EFI_SYSTEM, MBR_TYPE_LINUX, Partition,
    PartitionKind, PartitionName, PartitionProblem, PartitionTable, TableKind, mbr_type_name,
};

use core::fmt;
use mbr::Sector0;

/// Why a disk has no partition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTableReason {
    /// Sector 0 does not end in 0x55AA (and LBA 1 holds no valid GPT).
    NoSignature {
        /// The two bytes at offset 510.
        found: [u8; 2],
    },
    /// Sector 0 is a FAT boot sector with no plausible partition entries:
    /// the whole disk is one FAT filesystem (a "superfloppy").
    FatBootSector,
    /// A partition record's boot indicator is neither 0x00 nor 0x80, so the
    /// sector is not an MBR (it may be another filesystem's boot sector).
    BadBootIndicator {
        /// Record number, 1..=4.
        entry: u8,
        /// The boot indicator found.
        status: u8,
    },
}

impl fmt::Display for NoTableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoTableReason::NoSignature { found: [a, b] } => {
                write!(f, "no 0x55AA signature at byte 510 of sector 0; found 0x{a:02x}{b:02x}")
            }
            NoTableReason::FatBootSector => {
                write!(f, "sector 0 is a FAT boot sector: the whole disk is one filesystem")
            }
            NoTableReason::BadBootIndicator { entry, status } => {
                write!(f, "MBR entry {entry} has boot indicator 0x{status:02x}, not 0x00 or 0x80")
            }
        }
    }
}

/// Why a disk's partition table could not be read. `E` is the device's I/O error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The device failed to read a block.
    Io {
        /// The block being read.
        lba: u64,
        /// The device's error.
        error: E,
    },
    /// The device's block size is not `SECTOR_SIZE`.
    UnsupportedBlockSize {
        /// The device's block size.
        block_size: usize,
    },
    /// The device has no blocks.
    EmptyDisk,
    /// The disk has no partition table; it may hold one filesystem.
    NoPartitionTable(NoTableReason),
    /// Sector 0 announces a GPT but neither header is usable.
    Gpt {
        /// What is wrong with the primary header (LBA 1).
        primary: GptProblem,
        /// What is wrong with the backup header (last LBA).
        backup: GptProblem,
    },
}

impl<E> Error<E> {
    /// True when the disk simply has no table (try a whole-disk filesystem).
    pub fn is_no_partition_table(&self) -> bool {
        matches!(self, Error::NoPartitionTable(_))
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { lba, error } => write!(f, "reading LBA {lba}: {error}"),
            Error::UnsupportedBlockSize { block_size } => {
                write!(f, "block size {block_size} is not supported (only {SECTOR_SIZE})")
            }
            Error::EmptyDisk => write!(f, "disk has no blocks"),
            Error::NoPartitionTable(reason) => write!(f, "disk has no partition table ({reason})"),
            Error::Gpt { primary, backup } => {
                write!(f, "no usable GPT: primary: {primary}; backup: {backup}")
            }
        }
    }
}

/// Reads block `lba` into `sector` (callers keep `lba` below the disk size).
pub(crate) fn read_sector<D: BlockDevice>(
    device: &mut D,
    lba: u64,
    sector: &mut [u8; SECTOR_SIZE],
) -> Result<(), Error<D::Error>> {
    device.read_blocks(lba, sector).map_err(|error| Error::Io { lba, error })
}

/// Reads the partition table of `device`.
///
/// Reads sector 0; with a protective MBR (a 0xEE entry) reads the GPT,
/// falling back to the backup header when the primary is unusable; with a
/// classic MBR reads its entries and follows extended partitions. Without a
/// 0x55AA signature it still accepts a valid GPT at LBA 1 (with a diagnostic).
pub fn read_partition_table<D: BlockDevice>(device: &mut D) -> Result<PartitionTable, Error<D::Error>> {
    if D::BLOCK_SIZE != SECTOR_SIZE {
        return Err(Error::UnsupportedBlockSize { block_size: D::BLOCK_SIZE });
    }
    let disk_blocks = device.block_count();
    if disk_blocks == 0 {
        return Err(Error::EmptyDisk);
    }
    let mut sector = [0u8; SECTOR_SIZE];
    read_sector(device, 0, &mut sector)?;
    match mbr::classify(&sector, disk_blocks) {
        Sector0::Protective => gpt::read_gpt(device, disk_blocks, true),
        Sector0::Mbr { also_fat } => mbr::read_mbr(device, &sector, disk_blocks, also_fat),
        Sector0::NoTable(reason) => {
            if matches!(reason, NoTableReason::NoSignature { .. }) && disk_blocks > GPT_PRIMARY_HEADER_LBA {
                let mut header = [0u8; SECTOR_SIZE];
                read_sector(device, GPT_PRIMARY_HEADER_LBA, &mut header)?;
                if gpt::has_signature(&header) {
                    match gpt::read_gpt(device, disk_blocks, false) {
                        Err(Error::Gpt { .. }) => {}
                        other => return other,
                    }
                }
            }
            Err(Error::NoPartitionTable(reason))
        }
    }
}

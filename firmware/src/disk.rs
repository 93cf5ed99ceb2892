//! Disks: virtio-blk devices, their partitions and file systems.
//!
//! Used by the boot manager's `disk` source (`boot`), its configuration
//! file (`fs::find_file`) and the shell's `ls` and `cat`, on the
//! virtio-blk functions PCI discovery found.
//!
//! Disks are numbered in PCI discovery order (`disk0`, `disk1`, ...), their
//! file systems named `disk0p1` (partition 1, as Linux numbers it) or
//! `disk0` (a whole-disk file system without a partition table). A file
//! system is FAT (`fat`) or ext2/3/4 (`ext`), both read-only readers of
//! the `tianshan-fs` crate (`lib/fs`); `fs` tells them apart and gives both
//! one interface.
//!
//! A `Disk` is open only while it is used: dropping it resets the device
//! (virtio status 0), so it does no DMA once the firmware moves on, and in
//! particular none after the handoff (spec §14.3 step 5). The file systems
//! on a disk share it as a `SharedDisk`, which `close` resets and the next
//! read opens again, so a mounted file system outlives a close.

pub mod boot;
pub mod fs;

// The readers live in `lib/fs` (host-tested and fuzzed there).
pub use tianshan_fs::{ext, fat};

use crate::board::Board;
use crate::devices;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};
use core::fmt;
use tianshan_drivers::virtio_blk::{VirtioBlk, VirtioBlkError, is_virtio_blk};
use tianshan_partition::{BlockDevice, NoTableReason, PartitionIoError, PartitionReader, PartitionTable};

/// An error reading a partition (or whole-disk file system) of a disk.
pub type PartitionError = PartitionIoError<VirtioBlkError>;

/// Why a disk could not be used.
#[derive(Clone, Debug)]
pub enum DiskError {
    /// PCI discovery did not run (no PCI host).
    NoPci,
    /// There is no disk with this number.
    NoDisk {
        /// The number asked for.
        index: usize,
        /// How many virtio-blk functions discovery found.
        found: usize,
    },
    /// The function's BARs could not be assigned, so it is left off.
    Disabled {
        /// The disk's number.
        index: usize,
        /// Where it is.
        bdf: tianshan_pci::Bdf,
    },
    /// The device did not come up.
    Device {
        /// The disk's number.
        index: usize,
        /// Why.
        error: VirtioBlkError,
    },
    /// The partition table could not be read (or there is none).
    Table {
        /// The disk's number.
        index: usize,
        /// Why.
        error: tianshan_partition::Error<VirtioBlkError>,
    },
    /// No partition holds a FAT or ext file system.
    NoFileSystem {
        /// The disk's number.
        index: usize,
        /// Partitions tried.
        tried: usize,
    },
    /// The disk was asked for while a read of it was under way (a
    /// firmware bug, reported rather than a panic).
    InUse {
        /// The disk's number.
        index: usize,
    },
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::NoPci => write!(f, "no disk: PCI discovery did not run"),
            DiskError::NoDisk { index: 0, found: 0 } => write!(f, "no disk: PCI discovery found no virtio-blk device"),
            DiskError::NoDisk { index, found } => {
                write!(f, "no disk{index}: PCI discovery found {found} virtio-blk device(s)")
            }
            DiskError::Disabled { index, bdf } => {
                write!(f, "disk{index}: virtio-blk {bdf} is disabled (its BARs could not be assigned)")
            }
            DiskError::Device { index, error } => write!(f, "disk{index}: {error}"),
            DiskError::Table { index, error } => write!(f, "disk{index}: {error}"),
            DiskError::NoFileSystem { index, tried } => {
                write!(f, "disk{index}: none of its {tried} partition(s) holds a FAT or ext file system")
            }
            DiskError::InUse { index } => write!(f, "disk{index} is already being read"),
        }
    }
}

/// The virtio-blk functions discovery found, in order (`disk0` first).
pub fn functions() -> Result<Vec<tianshan_pci::PciFunction>, DiskError> {
    let pci = devices::pci().ok_or(DiskError::NoPci)?;
    Ok(pci.devices.iter().filter(|f| is_virtio_blk(f.vendor, f.device)).copied().collect())
}

/// One open virtio-blk disk, read in 512-byte sectors.
pub struct Disk<B: Board> {
    index: usize,
    device: VirtioBlk<B::DmaHal>,
}

impl<B: Board> Disk<B> {
    /// Opens disk number `index`.
    pub fn open(index: usize) -> Result<Self, DiskError> {
        let all = functions()?;
        let function = *all.get(index).ok_or(DiskError::NoDisk { index, found: all.len() })?;
        if !function.is_enabled() {
            return Err(DiskError::Disabled { index, bdf: function.bdf });
        }
        let device = devices::with_ecam(|ecam| VirtioBlk::open(ecam, function.bdf))
            .ok_or(DiskError::NoPci)?
            .map_err(|error| DiskError::Device { index, error })?;
        Ok(Disk { index, device })
    }

    /// The disk's number.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The device's serial (`-device virtio-blk-pci,serial=...`), if it
    /// reports one.
    pub fn serial(&mut self) -> Option<String> {
        let mut id = [0u8; 20];
        let n = self.device.serial(&mut id).ok()?;
        let id = &id[..n.min(id.len())];
        let end = id.iter().position(|&b| b == 0).unwrap_or(id.len());
        core::str::from_utf8(&id[..end]).ok().filter(|s| !s.is_empty()).map(String::from)
    }

    /// Writes whole sectors at `lba`.
    pub fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), VirtioBlkError> {
        self.device.write(lba, buf)
    }

    /// One line about the device: `virtio-blk 00:01.0, 131072 sectors (64 MiB)`.
    pub fn describe(&self) -> String {
        let sectors = self.device.capacity();
        format!("virtio-blk {}, {sectors} sectors ({} MiB)", self.device.bdf(), sectors >> 11)
    }
}

impl<B: Board> BlockDevice for Disk<B> {
    type Error = VirtioBlkError;

    fn block_count(&self) -> u64 {
        self.device.capacity()
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Self::Error> {
        self.device.read(lba, buf)
    }
}

/// Where a file system may be: a partition, or the whole disk.
#[derive(Clone, Debug)]
pub struct Place {
    /// `disk0p1`, or `disk0` for the whole disk.
    pub name: String,
    /// Partition number as Linux counts (1-based); 0 for the whole disk.
    pub partition: u32,
    /// First sector.
    pub first_lba: u64,
    /// Sectors.
    pub blocks: u64,
}

impl Place {
    /// The place as a device of its own.
    pub fn reader<'d, B: Board>(
        &self,
        disk: &'d mut Disk<B>,
    ) -> Result<PartitionReader<&'d mut Disk<B>>, PartitionError> {
        let capacity = disk.block_count();
        PartitionReader::from_range(disk, self.partition, self.first_lba, self.blocks).map_err(|_| {
            // The table was checked against the disk's size; only a disk
            // that shrank since gets here.
            PartitionIoError::Device(VirtioBlkError::OutOfRange { lba: self.first_lba, sectors: self.blocks, capacity })
        })
    }
}

/// The places on `disk` that may hold a file system, in table order, and
/// the table (if any) for its notes. A disk without a table is one place
/// only when sector 0 is a FAT boot sector or an ext superblock is at byte
/// 1024 (`mkfs.ext4` on the whole disk).
pub fn places<B: Board>(disk: &mut Disk<B>) -> Result<(Vec<Place>, Option<PartitionTable>), DiskError> {
    let index = disk.index;
    match tianshan_partition::read_partition_table(disk) {
        Ok(table) => {
            let places = table
                .partitions()
                .iter()
                .map(|p| Place {
                    name: format!("disk{index}p{}", p.index),
                    partition: p.index,
                    first_lba: p.first_lba,
                    blocks: p.block_count,
                })
                .collect();
            Ok((places, Some(table)))
        }
        Err(tianshan_partition::Error::NoPartitionTable(why))
            if why == NoTableReason::FatBootSector || holds_ext_superblock(disk) =>
        {
            let place = Place { name: format!("disk{index}"), partition: 0, first_lba: 0, blocks: disk.block_count() };
            Ok((alloc::vec![place], None))
        }
        Err(error) => Err(DiskError::Table { index, error }),
    }
}

/// True when the whole disk is an ext file system (its superblock magic is
/// at byte 1080).
fn holds_ext_superblock<B: Board>(disk: &mut Disk<B>) -> bool {
    let mut sector = [0u8; tianshan_partition::SECTOR_SIZE];
    let lba = ext::SUPERBLOCK_OFFSET / tianshan_partition::SECTOR_SIZE as u64;
    disk.read_blocks(lba, &mut sector).is_ok() && ext::ExtKind::of_superblock(&sector).is_some()
}

/// Disk `index`, shared by the file systems on it: open from `open` until
/// `close` (which resets the device), then opened again by the next read.
pub struct SharedDisk<B: Board> {
    index: usize,
    disk: Rc<RefCell<Option<Disk<B>>>>,
}

impl<B: Board> Clone for SharedDisk<B> {
    fn clone(&self) -> Self {
        SharedDisk { index: self.index, disk: Rc::clone(&self.disk) }
    }
}

impl<B: Board> SharedDisk<B> {
    /// Opens disk number `index`.
    pub fn open(index: usize) -> Result<Self, DiskError> {
        let disk = Disk::open(index)?;
        Ok(SharedDisk { index, disk: Rc::new(RefCell::new(Some(disk))) })
    }

    /// The disk's number.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Closes the disk: the device is reset and does no more DMA until
    /// the next read opens it again.
    pub fn close(&self) {
        // Only `with` borrows the slot, for the length of one read, and
        // nothing closes the disk from inside a read: it is free now.
        drop(self.disk.borrow_mut().take());
    }

    /// Runs `f` on the disk, opening it first if it was closed.
    pub fn with<R>(&self, f: impl FnOnce(&mut Disk<B>) -> R) -> Result<R, DiskError> {
        Ok(f(&mut *self.opened()?))
    }

    /// The disk, opened if it was closed. Kept out of line: inlined into
    /// `with`'s eleven callers it cost 2.5 KiB of firmware.
    #[inline(never)]
    fn opened(&self) -> Result<RefMut<'_, Disk<B>>, DiskError> {
        let index = self.index;
        let mut slot = self.disk.try_borrow_mut().map_err(|_| DiskError::InUse { index })?;
        if slot.is_none() {
            *slot = Some(Disk::open(self.index)?);
        }
        // The slot holds a disk now, so this keeps the borrow.
        RefMut::filter_map(slot, Option::as_mut).map_err(|_| DiskError::InUse { index })
    }
}

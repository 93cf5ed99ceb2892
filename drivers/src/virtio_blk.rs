//! virtio-blk over PCI, through `virtio-drivers`: open, read sectors, reset.
//!
//! The firmware enumerates PCI and assigns BARs first (the device must
//! decode memory and be a bus master); this driver only reads the virtio
//! capabilities, negotiates, and polls one request queue (no interrupts).
//! Sources: virtio 1.2 §4.1 (PCI transport), §5.2 (block device);
//! `shared/specs/loongson3-virt.md` §14.3–14.4.
//!
//! Dropping a `VirtioBlk` resets the device (device status 0) and only then
//! frees its queue, so it stops all DMA (spec §14.3 step 5): drop it before
//! handing the machine to a kernel.

use core::fmt;
use tianshan_pci::Bdf;
use virtio_drivers::Hal;
use virtio_drivers::device::blk::{SECTOR_SIZE, VirtIOBlk};
use virtio_drivers::transport::pci::bus::{DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, VirtioPciError};

use crate::ecam::Ecam;

/// PCI vendor ID of virtio devices (virtio 1.2 §4.1.2).
pub const VIRTIO_VENDOR_ID: u16 = 0x1AF4;
/// Device ID of a transitional virtio-blk (legacy I/O BAR plus modern
/// capabilities): QEMU's default `virtio-blk-pci` (§14.2).
pub const VIRTIO_BLK_TRANSITIONAL: u16 = 0x1001;
/// Device ID of a modern-only virtio-blk (0x1040 + device type 2).
pub const VIRTIO_BLK_MODERN: u16 = 0x1042;
/// Largest transfer in one request: QEMU splits nothing this size, and a
/// multi-megabyte kernel still needs only tens of requests.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Bytes per sector: virtio-blk addresses 512-byte sectors whatever the
/// medium's block size (virtio 1.2 §5.2.6).
pub const SECTOR_BYTES: usize = SECTOR_SIZE;

/// True for the IDs of a virtio-blk function.
pub fn is_virtio_blk(vendor: u16, device: u16) -> bool {
    vendor == VIRTIO_VENDOR_ID && (device == VIRTIO_BLK_TRANSITIONAL || device == VIRTIO_BLK_MODERN)
}

/// Why a virtio-blk device could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtioBlkError {
    /// The PCI transport could not be set up (capabilities, BARs).
    Transport {
        /// The function.
        bdf: Bdf,
        /// What `virtio-drivers` reported.
        error: VirtioPciError,
    },
    /// Feature negotiation or queue setup failed.
    Init {
        /// The function.
        bdf: Bdf,
        /// What `virtio-drivers` reported.
        error: virtio_drivers::Error,
    },
    /// A read request failed.
    Read {
        /// First sector of the failed request.
        lba: u64,
        /// Sectors in it.
        sectors: u64,
        /// What `virtio-drivers` reported.
        error: virtio_drivers::Error,
    },
    /// A write request failed.
    Write {
        /// First sector of the failed request.
        lba: u64,
        /// Sectors in it.
        sectors: u64,
        /// What `virtio-drivers` reported.
        error: virtio_drivers::Error,
    },
    /// The device is read-only (QEMU `readonly=on`, `VIRTIO_BLK_F_RO`).
    ReadOnly,
    /// The device's identity (serial) could not be read.
    Identity(virtio_drivers::Error),
    /// A read or write would run past the end of the disk.
    OutOfRange {
        /// First sector asked for.
        lba: u64,
        /// Sectors asked for.
        sectors: u64,
        /// Sectors on the disk.
        capacity: u64,
    },
    /// The buffer is not a whole number of sectors.
    PartialSector {
        /// Buffer length in bytes.
        len: usize,
    },
}

impl fmt::Display for VirtioBlkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtioBlkError::Transport { bdf, error } => write!(f, "virtio-blk {bdf}: PCI transport: {error}"),
            VirtioBlkError::Init { bdf, error } => write!(f, "virtio-blk {bdf}: device setup failed: {error}"),
            VirtioBlkError::Read { lba, sectors, error } => {
                write!(f, "reading {sectors} sector(s) at LBA {lba}: {error}")
            }
            VirtioBlkError::Write { lba, sectors, error } => {
                write!(f, "writing {sectors} sector(s) at LBA {lba}: {error}")
            }
            VirtioBlkError::ReadOnly => write!(f, "the disk is read-only"),
            VirtioBlkError::Identity(error) => write!(f, "reading the disk's serial: {error}"),
            VirtioBlkError::OutOfRange { lba, sectors, capacity } => {
                write!(f, "access of {sectors} sector(s) at LBA {lba} is past the end of the disk ({capacity} sectors)")
            }
            VirtioBlkError::PartialSector { len } => {
                write!(f, "buffer of {len} bytes is not a multiple of {SECTOR_BYTES}")
            }
        }
    }
}

/// One virtio-blk device, ready for polled reads. `H` gives DMA memory and
/// translates addresses (the board's).
pub struct VirtioBlk<H: Hal> {
    blk: VirtIOBlk<H, PciTransport>,
    bdf: Bdf,
}

impl<H: Hal> VirtioBlk<H> {
    /// Brings up the virtio-blk function at `bdf`, whose BARs are assigned
    /// and whose memory decoding and bus mastering are on.
    pub fn open(ecam: &mut Ecam, bdf: Bdf) -> Result<Self, VirtioBlkError> {
        let mut root = PciRoot::new(ecam.virtio_access());
        let function = DeviceFunction { bus: bdf.bus, device: bdf.device, function: bdf.function };
        let transport =
            PciTransport::new::<H, _>(&mut root, function).map_err(|error| VirtioBlkError::Transport { bdf, error })?;
        let blk = VirtIOBlk::new(transport).map_err(|error| VirtioBlkError::Init { bdf, error })?;
        Ok(VirtioBlk { blk, bdf })
    }

    /// Where the device is.
    pub fn bdf(&self) -> Bdf {
        self.bdf
    }

    /// Size in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.blk.capacity()
    }

    /// Reads `buf.len() / 512` sectors from `lba` into `buf`, in requests
    /// of at most `MAX_REQUEST_BYTES`. `buf` must be in memory the board's
    /// `Hal` can translate (firmware RAM or the scratch region).
    pub fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), VirtioBlkError> {
        self.check_range(lba, buf.len())?;
        let mut at = lba;
        for chunk in buf.chunks_mut(MAX_REQUEST_BYTES) {
            let n = (chunk.len() / SECTOR_BYTES) as u64;
            // `at` < capacity, which fits the request's 64-bit sector field;
            // `usize` is 64 bits on this target.
            self.blk.read_blocks(at as usize, chunk).map_err(|error| VirtioBlkError::Read {
                lba: at,
                sectors: n,
                error,
            })?;
            at += n;
        }
        Ok(())
    }

    /// Writes `buf` (a whole number of sectors) at `lba`, in requests of
    /// at most `MAX_REQUEST_BYTES`, each complete when this returns (the
    /// driver polls for the device's answer). Same memory rule as `read`.
    pub fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), VirtioBlkError> {
        if self.blk.readonly() {
            return Err(VirtioBlkError::ReadOnly);
        }
        self.check_range(lba, buf.len())?;
        let mut at = lba;
        for chunk in buf.chunks(MAX_REQUEST_BYTES) {
            let n = (chunk.len() / SECTOR_BYTES) as u64;
            // As in `read`: `at` < capacity fits the request's field.
            self.blk.write_blocks(at as usize, chunk).map_err(|error| VirtioBlkError::Write {
                lba: at,
                sectors: n,
                error,
            })?;
            at += n;
        }
        Ok(())
    }

    /// The device's serial (QEMU `-device virtio-blk-pci,serial=...`), at
    /// most 20 bytes (virtio 1.2 §5.2.6, `VIRTIO_BLK_T_GET_ID`).
    pub fn serial(&mut self, id: &mut [u8; 20]) -> Result<usize, VirtioBlkError> {
        self.blk.device_id(id).map_err(VirtioBlkError::Identity)
    }

    fn check_range(&self, lba: u64, len: usize) -> Result<(), VirtioBlkError> {
        if !len.is_multiple_of(SECTOR_BYTES) {
            return Err(VirtioBlkError::PartialSector { len });
        }
        let sectors = (len / SECTOR_BYTES) as u64;
        let capacity = self.capacity();
        if lba.checked_add(sectors).is_none_or(|end| end > capacity) {
            return Err(VirtioBlkError::OutOfRange { lba, sectors, capacity });
        }
        Ok(())
    }
}

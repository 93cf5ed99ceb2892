//! The disk targets' input format: a sparse disk image, as `BlockDevice`.
//!
//! Real images are mostly zeros (a 33 MiB FAT32 volume holds a few KiB of
//! data), so the fuzzer does not mutate them byte for byte. An input is:
//!
//! ```text
//! u32 LE   disk size in 512-byte sectors (at most MAX_SECTORS)
//! then records, to the end of the input:
//!   u32 LE byte offset on the disk
//!   u16 LE length n
//!   n bytes written there (fewer if the input ends first)
//! ```
//!
//! Everything not written reads as zero; bytes past the disk's end are
//! dropped. `cargo xtask fuzz` builds the seed corpora in this format from
//! images that mkfs.vfat, mkfs.ext4, sgdisk and sfdisk made (xtask/src/fuzz.rs
//! is the encoder).

use std::collections::HashMap;
use std::fmt;
use tianshan_partition::{BlockDevice, SECTOR_SIZE};

/// The largest disk an input may describe: 2^21 sectors (1 GiB), enough for
/// FAT32 with 512-byte clusters and for ext4 with several block groups.
pub const MAX_SECTORS: u64 = 1 << 21;
/// Bytes of the size field and of a record's header.
const SIZE_FIELD: usize = 4;
const RECORD_HEADER: usize = 6;

/// A read outside the disk.
#[derive(Debug)]
pub struct OutOfDisk {
    /// First sector asked for.
    pub lba: u64,
    /// Sectors asked for.
    pub sectors: u64,
    /// The disk's size in sectors.
    pub disk_sectors: u64,
}

impl fmt::Display for OutOfDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sector(s) at {} are past the end of the {}-sector disk",
            self.sectors, self.lba, self.disk_sectors
        )
    }
}

/// A disk of `sectors` sectors holding the records' bytes, zero elsewhere.
pub struct SparseDisk {
    sectors: u64,
    written: HashMap<u64, Box<[u8; SECTOR_SIZE]>>,
}

impl SparseDisk {
    /// Decodes an input (see the module documentation); `None` when it is
    /// too short to name a size.
    pub fn from_input(data: &[u8]) -> Option<SparseDisk> {
        let size = u32::from_le_bytes(data.get(..SIZE_FIELD)?.try_into().ok()?);
        let mut disk = SparseDisk { sectors: u64::from(size).min(MAX_SECTORS), written: HashMap::new() };
        let mut rest = &data[SIZE_FIELD..];
        while rest.len() >= RECORD_HEADER {
            let offset = u64::from(u32::from_le_bytes(rest[..4].try_into().ok()?));
            let len = usize::from(u16::from_le_bytes(rest[4..6].try_into().ok()?));
            let bytes = &rest[RECORD_HEADER..(RECORD_HEADER + len).min(rest.len())];
            disk.write(offset, bytes);
            rest = &rest[RECORD_HEADER + bytes.len()..];
        }
        Some(disk)
    }

    /// The disk's size in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.sectors * SECTOR_SIZE as u64
    }

    fn write(&mut self, offset: u64, mut bytes: &[u8]) {
        let sector_size = SECTOR_SIZE as u64;
        let mut at = offset;
        while !bytes.is_empty() && at < self.len_bytes() {
            let within = (at % sector_size) as usize;
            let n = bytes.len().min(SECTOR_SIZE - within);
            let sector = self.written.entry(at / sector_size).or_insert_with(|| Box::new([0; SECTOR_SIZE]));
            sector[within..within + n].copy_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            at += n as u64;
        }
    }
}

impl BlockDevice for SparseDisk {
    type Error = OutOfDisk;

    fn block_count(&self) -> u64 {
        self.sectors
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), OutOfDisk> {
        // The readers promise whole sectors (BlockDevice's contract).
        assert_eq!(buf.len() % SECTOR_SIZE, 0, "a reader asked for a partial sector");
        let sectors = (buf.len() / SECTOR_SIZE) as u64;
        if lba.checked_add(sectors).is_none_or(|end| end > self.sectors) {
            return Err(OutOfDisk { lba, sectors, disk_sectors: self.sectors });
        }
        for (i, chunk) in buf.chunks_exact_mut(SECTOR_SIZE).enumerate() {
            match self.written.get(&(lba + i as u64)) {
                Some(sector) => chunk.copy_from_slice(&sector[..]),
                None => chunk.fill(0),
            }
        }
        Ok(())
    }
}

//! ext2/ext3/ext4 file systems, read through the `ext4-view` crate.
//!
//! `ext4-view` (1.0, `no_std` + `alloc`, no unsafe code) validates the
//! superblock, block group descriptors and journal when it loads a file
//! system and checks every block number, extent and directory entry it
//! follows, returning `Ext4Error::Corrupt` rather than panicking; it also
//! verifies metadata checksums where the file system has them. It reads
//! through `Ext4Read`, which `PartitionBytes` implements over a partition
//! of a `SharedDisk`, so the disk can be closed (reset) between reads and
//! is opened again by the next one. Its block cache (a few hundred KiB at
//! most) is on the heap; file contents are read straight into the
//! caller's buffer (the scratch region, for kernels).
//!
//! Which of ext2, ext3 and ext4 a file system is follows the superblock's
//! feature flags, as `blkid` tells them apart (Linux
//! `Documentation/filesystems/ext4/super.rst` for the offsets).

use super::{DiskError, PartitionError, Place, SharedDisk};
use crate::board::Board;
use alloc::boxed::Box;
use core::fmt;
use ext4_view::{Ext4, Ext4Error, Ext4Read};
use tianshan_partition::{BlockDevice, SECTOR_SIZE};

/// Byte offset of the superblock in the file system.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// `s_magic`, relative to the superblock.
const S_MAGIC: usize = 0x38;
/// Its value.
const EXT_MAGIC: u16 = 0xEF53;
/// Feature words, relative to the superblock.
const S_FEATURE_COMPAT: usize = 0x5C;
const S_FEATURE_INCOMPAT: usize = 0x60;
const S_FEATURE_RO_COMPAT: usize = 0x64;
/// `COMPAT_HAS_JOURNAL`: ext3 or later.
const COMPAT_HAS_JOURNAL: u32 = 0x4;
/// Incompatible features only ext4 has: extents, 64-bit, flexible block
/// groups, metadata checksum seed.
const INCOMPAT_EXT4: u32 = 0x40 | 0x80 | 0x200 | 0x2000;
/// Read-only features only ext4 has: huge files, group descriptor
/// checksums, large directories, large inodes, metadata checksums.
const RO_COMPAT_EXT4: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;

/// Which ext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtKind {
    /// No journal, no ext4 features.
    Ext2,
    /// A journal, no ext4 features.
    Ext3,
    /// Any ext4 feature (extents, 64-bit, metadata checksums, ...).
    Ext4,
}

impl ExtKind {
    /// The kind of the superblock at the start of `sb` (at least its first
    /// 0x68 bytes), or `None` when its magic is not ext's.
    pub fn of_superblock(sb: &[u8]) -> Option<ExtKind> {
        let word = |at: usize| sb.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let magic = sb.get(S_MAGIC..S_MAGIC + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        if magic != Some(EXT_MAGIC) {
            return None;
        }
        Some(if word(S_FEATURE_INCOMPAT) & INCOMPAT_EXT4 != 0 || word(S_FEATURE_RO_COMPAT) & RO_COMPAT_EXT4 != 0 {
            ExtKind::Ext4
        } else if word(S_FEATURE_COMPAT) & COMPAT_HAS_JOURNAL != 0 {
            ExtKind::Ext3
        } else {
            ExtKind::Ext2
        })
    }
}

impl fmt::Display for ExtKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtKind::Ext2 => "ext2",
            ExtKind::Ext3 => "ext3",
            ExtKind::Ext4 => "ext4",
        })
    }
}

/// Why an ext operation failed: what `ext4-view` said, and of which kind
/// of file system.
#[derive(Debug)]
pub struct ExtError {
    /// The file system's kind.
    pub kind: ExtKind,
    /// What failed.
    pub error: Ext4Error,
}

impl fmt::Display for ExtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind;
        match &self.error {
            // The disk's own error (`ReadError`), without the crate's
            // "io error: " prefix.
            Ext4Error::Io(e) => write!(f, "{e}"),
            Ext4Error::Corrupt(c) => write!(f, "corrupt {kind} file system: {c}"),
            Ext4Error::Incompatible(i) => write!(f, "{kind} file system not supported: {i}"),
            e => write!(f, "{e}"),
        }
    }
}

/// Why `PartitionBytes` could not read: the error `ext4-view` carries back.
enum ReadError {
    /// The disk could not be opened again.
    Disk(DiskError),
    /// The read failed or fell outside the partition.
    Read(PartitionError),
    /// The byte range ends past the partition.
    Past { start: u64, len: usize, size: u64 },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Disk(e) => write!(f, "{e}"),
            ReadError::Read(e) => write!(f, "{e}"),
            ReadError::Past { start, len, size } => {
                write!(f, "read of {len} bytes at byte {start} is past the end of the {size}-byte partition")
            }
        }
    }
}

// `core::error::Error` needs `Debug`; the `Display` text serves, where a
// derived `Debug` would pull every disk error's `Debug` into the flash.
impl fmt::Debug for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::error::Error for ReadError {}

/// A partition of a shared disk as the bytes `ext4-view` reads.
struct PartitionBytes<B: Board> {
    disk: SharedDisk<B>,
    place: Place,
}

impl<B: Board> PartitionBytes<B> {
    fn read_at(&mut self, start: u64, dst: &mut [u8]) -> Result<(), ReadError> {
        let size = self.place.blocks.saturating_mul(SECTOR_SIZE as u64);
        let past = || ReadError::Past { start, len: dst.len(), size };
        if start.checked_add(dst.len() as u64).is_none_or(|end| end > size) {
            return Err(past());
        }
        let place = &self.place;
        self.disk
            .with(|disk| {
                let mut reader = place.reader(disk)?;
                read_bytes(&mut reader, start, dst)
            })
            .map_err(ReadError::Disk)?
            .map_err(ReadError::Read)
    }
}

impl<B: Board> Ext4Read for PartitionBytes<B> {
    fn read(&mut self, start_byte: u64, dst: &mut [u8]) -> Result<(), Box<dyn core::error::Error + Send + Sync>> {
        self.read_at(start_byte, dst).map_err(|e| Box::new(e) as _)
    }
}

/// Reads `dst.len()` bytes from byte `start` of `dev`: whole sectors
/// straight into `dst`, a partial first or last sector through a bounce
/// buffer (`ext4-view` reads whole blocks, so that is rare).
fn read_bytes<D: BlockDevice>(dev: &mut D, start: u64, dst: &mut [u8]) -> Result<(), D::Error> {
    let sector = SECTOR_SIZE as u64;
    let mut lba = start / sector;
    let mut done = 0;
    let head = (start % sector) as usize;
    if head != 0 {
        let mut bounce = [0u8; SECTOR_SIZE];
        dev.read_blocks(lba, &mut bounce)?;
        let n = (SECTOR_SIZE - head).min(dst.len());
        dst[..n].copy_from_slice(&bounce[head..head + n]);
        done = n;
        lba += 1;
    }
    let whole = (dst.len() - done) / SECTOR_SIZE * SECTOR_SIZE;
    if whole > 0 {
        dev.read_blocks(lba, &mut dst[done..done + whole])?;
        done += whole;
        lba += (whole / SECTOR_SIZE) as u64;
    }
    if done < dst.len() {
        let mut bounce = [0u8; SECTOR_SIZE];
        dev.read_blocks(lba, &mut bounce)?;
        let n = dst.len() - done;
        dst[done..].copy_from_slice(&bounce[..n]);
    }
    Ok(())
}

/// A loaded ext file system.
pub struct Volume {
    fs: Ext4,
    kind: ExtKind,
}

/// A file or directory: whether it is a directory, and its size.
pub struct Found {
    /// True for a directory.
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
}

impl Volume {
    /// Loads the ext file system of kind `kind` at `place` on `disk`.
    pub fn mount<B: Board + 'static>(disk: &SharedDisk<B>, place: &Place, kind: ExtKind) -> Result<Volume, ExtError> {
        let bytes = PartitionBytes { disk: disk.clone(), place: place.clone() };
        let fs = Ext4::load(Box::new(bytes)).map_err(|error| ExtError { kind, error })?;
        Ok(Volume { fs, kind })
    }

    /// ext2, ext3 or ext4.
    pub fn kind(&self) -> ExtKind {
        self.kind
    }

    fn error(&self, error: Ext4Error) -> ExtError {
        ExtError { kind: self.kind, error }
    }

    /// Finds `path` (absolute; symbolic links are followed).
    pub fn lookup(&self, path: &str) -> Result<Found, ExtError> {
        let m = self.fs.metadata(path).map_err(|e| self.error(e))?;
        Ok(Found { is_dir: m.is_dir(), size: m.len() })
    }

    /// Calls `f` with the path, name and `Found` of each entry of
    /// directory `dir` (without `.` and `..`; links are not followed).
    pub fn list(
        &self,
        dir: ext4_view::Path<'_>,
        f: &mut dyn FnMut(ext4_view::PathBuf, &str, Found),
    ) -> Result<(), ExtError> {
        for entry in self.fs.read_dir(dir).map_err(|e| self.error(e))? {
            let entry = entry.map_err(|e| self.error(e))?;
            let name = entry.file_name();
            let name = alloc::format!("{}", name.display());
            if name == "." || name == ".." {
                continue;
            }
            let m = entry.metadata().map_err(|e| self.error(e))?;
            f(entry.path(), &name, Found { is_dir: m.is_dir(), size: m.len() });
        }
        Ok(())
    }

    /// Reads the first `min(file size, buf.len())` bytes of the file at
    /// `path` into `buf`; returns how many.
    pub fn read(&self, path: ext4_view::Path<'_>, buf: &mut [u8]) -> Result<usize, ExtError> {
        let mut file = self.fs.open(path).map_err(|e| self.error(e))?;
        let mut done = 0;
        while done < buf.len() {
            match file.read_bytes(&mut buf[done..]).map_err(|e| self.error(e))? {
                0 => break,
                n => done += n,
            }
        }
        Ok(done)
    }
}

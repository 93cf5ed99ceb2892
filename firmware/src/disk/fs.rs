//! File systems on disks, FAT or ext2/3/4, behind one interface.
//!
//! `FileSystem::mount` tells them apart by their first sectors: a FAT boot
//! sector at byte 0 (`tianshan_partition::check_fat_boot_sector`) is FAT
//! (`fat`); otherwise the ext magic 0xEF53 at byte 1080 (the superblock at
//! 1024, `s_magic` at 0x38) is ext (`ext`); anything else is reported with
//! FAT's reason for refusing it. The boot manager (`boot`), its
//! configuration file (`find_file`) and the shell's `ls` and `cat` use
//! only this module's `FileSystem`, `Node` and `FsError`.
//!
//! Names compare without regard to case on FAT and exactly on ext; ext
//! follows symbolic links.

use super::ext::{self, ExtError, ExtKind};
use super::fat::{self, FatError, FatKind};
use super::{DiskError, PartitionError, Place, SharedDisk, places};
use crate::board::Board;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use tianshan_partition::{BlockDevice, SECTOR_SIZE, check_fat_boot_sector};

/// Which file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsKind {
    /// FAT12, FAT16 or FAT32.
    Fat(FatKind),
    /// ext2, ext3 or ext4.
    Ext(ExtKind),
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsKind::Fat(k) => write!(f, "{k}"),
            FsKind::Ext(k) => write!(f, "{k}"),
        }
    }
}

/// Why a file-system operation failed.
#[derive(Debug)]
pub enum FsError {
    /// The disk could not be opened again (boxed: it is large and rare).
    Disk(Box<DiskError>),
    /// Reading the partition failed.
    Io(PartitionError),
    /// The FAT file system is not one, or is damaged.
    Fat(FatError<PartitionError>),
    /// The ext file system is damaged, not supported, or its disk failed.
    Ext(ExtError<PartitionError>),
    /// A path component does not exist.
    NotFound,
    /// A path component before the last is a file.
    NotADirectory,
    /// A directory was given where a file is needed.
    IsADirectory,
    /// A file is larger than the caller reads.
    TooLarge {
        /// The file's size.
        size: u64,
        /// The most the caller reads.
        max: u64,
    },
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Disk(e) => write!(f, "{e}"),
            FsError::Io(e) => write!(f, "{e}"),
            FsError::Fat(e) => write!(f, "{e}"),
            FsError::Ext(e) => write!(f, "{e}"),
            FsError::NotFound => write!(f, "file not found"),
            FsError::NotADirectory => write!(f, "not a directory"),
            FsError::IsADirectory => write!(f, "is a directory"),
            FsError::TooLarge { size, max } => write!(f, "{size} bytes, more than the {max} read"),
        }
    }
}

impl From<DiskError> for FsError {
    fn from(e: DiskError) -> Self {
        FsError::Disk(Box::new(e))
    }
}

impl From<PartitionError> for FsError {
    fn from(e: PartitionError) -> Self {
        FsError::Io(e)
    }
}

impl From<FatError<PartitionError>> for FsError {
    fn from(e: FatError<PartitionError>) -> Self {
        match e {
            FatError::NotFound => FsError::NotFound,
            FatError::NotADirectory => FsError::NotADirectory,
            FatError::IsADirectory => FsError::IsADirectory,
            e => FsError::Fat(e),
        }
    }
}

impl From<ExtError<PartitionError>> for FsError {
    fn from(e: ExtError<PartitionError>) -> Self {
        match e {
            ExtError::NotFound => FsError::NotFound,
            ExtError::NotADirectory => FsError::NotADirectory,
            ExtError::IsADirectory => FsError::IsADirectory,
            ExtError::Io(e) => FsError::Io(e),
            e => FsError::Ext(e),
        }
    }
}

/// A file or directory found on a file system.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its name (the last path component; `/` for the root).
    pub name: String,
    /// True for a directory.
    pub is_dir: bool,
    /// Size in bytes (0 for FAT directories).
    pub size: u64,
    at: At,
}

/// Where a node is, as its file system finds it again.
#[derive(Clone, Debug)]
enum At {
    Fat(fat::Node),
    Ext(ext::Node),
}

/// A mounted volume (FAT's holds a one-sector cache, so it is boxed).
enum Volume {
    Fat(Box<fat::Volume>),
    Ext(ext::Volume),
}

/// A mounted file system on a shared disk.
pub struct FileSystem<B: Board> {
    /// The disk.
    pub disk: SharedDisk<B>,
    /// Where on it.
    pub place: Place,
    volume: Volume,
}

impl<B: Board + 'static> FileSystem<B> {
    /// Mounts the file system at `place` on `disk`, FAT or ext by what its
    /// first sectors hold.
    pub fn mount(disk: &SharedDisk<B>, place: &Place) -> Result<Self, FsError> {
        let volume = disk.with(|d| -> Result<Volume, FsError> {
            let mut reader = place.reader(d)?;
            let mut sector = [0u8; SECTOR_SIZE];
            reader.read_blocks(0, &mut sector)?;
            if check_fat_boot_sector(&sector).is_err() {
                // A partition too small for a superblock is simply not ext.
                let at = ext::SUPERBLOCK_OFFSET / SECTOR_SIZE as u64;
                if reader.read_blocks(at, &mut sector).is_ok() && ExtKind::of_superblock(&sector).is_some() {
                    return Ok(Volume::Ext(ext::Volume::mount(&mut reader)?));
                }
            }
            // A FAT boot sector, or neither: FAT's mount says which (and
            // what is wrong with the boot sector).
            Ok(Volume::Fat(Box::new(fat::Volume::mount(&mut reader)?)))
        })??;
        Ok(FileSystem { disk: disk.clone(), place: place.clone(), volume })
    }

    /// Mounts the first file system on disk `index`; `note` hears about
    /// places that hold none.
    pub fn first(index: usize, note: &mut dyn FnMut(&Place, &FsError)) -> Result<Self, DiskError> {
        let disk = SharedDisk::<B>::open(index)?;
        let (places, _) = disk.with(|d| places(d))??;
        let tried = places.len();
        for place in places {
            match FileSystem::mount(&disk, &place) {
                Ok(fs) => return Ok(fs),
                Err(e) => note(&place, &e),
            }
        }
        Err(DiskError::NoFileSystem { index, tried })
    }

    /// FAT12/16/32 or ext2/3/4.
    pub fn kind(&self) -> FsKind {
        match &self.volume {
            Volume::Fat(v) => FsKind::Fat(v.kind()),
            Volume::Ext(v) => FsKind::Ext(v.kind()),
        }
    }

    /// Finds `path` (from the root; `/`-separated, empty components
    /// skipped).
    pub fn lookup(&mut self, path: &str) -> Result<Node, FsError> {
        let place = &self.place;
        match &mut self.volume {
            Volume::Fat(v) => {
                let node = self.disk.with(|d| -> Result<_, FsError> {
                    let mut reader = place.reader(d)?;
                    Ok(v.lookup(&mut reader, path)?)
                })??;
                Ok(Node { name: node.name.clone(), is_dir: node.is_dir, size: node.size.into(), at: At::Fat(node) })
            }
            Volume::Ext(v) => {
                let node = self.disk.with(|d| -> Result<_, FsError> {
                    let mut reader = place.reader(d)?;
                    Ok(v.lookup(&mut reader, path)?)
                })??;
                Ok(Node { name: node.name.clone(), is_dir: node.is_dir, size: node.size, at: At::Ext(node) })
            }
        }
    }

    /// Calls `f` for each entry of directory `dir` (without `.` and `..`).
    pub fn list(&mut self, dir: &Node, f: &mut dyn FnMut(&Node)) -> Result<(), FsError> {
        let place = &self.place;
        match (&mut self.volume, &dir.at) {
            (Volume::Fat(v), At::Fat(node)) => self.disk.with(|d| -> Result<_, FsError> {
                let mut reader = place.reader(d)?;
                Ok(v.list(&mut reader, node, &mut |n| {
                    let at = At::Fat(n.clone());
                    f(&Node { name: n.name.clone(), is_dir: n.is_dir, size: n.size.into(), at })
                })?)
            })?,
            (Volume::Ext(v), At::Ext(node)) => self.disk.with(|d| -> Result<_, FsError> {
                let mut reader = place.reader(d)?;
                Ok(v.list(&mut reader, node, &mut |n| {
                    let at = At::Ext(n.clone());
                    f(&Node { name: n.name.clone(), is_dir: n.is_dir, size: n.size, at })
                })?)
            })?,
            // A node of one file system given to another.
            _ => Err(FsError::NotFound),
        }
    }

    /// Reads the first `min(file size, buf.len())` bytes of `file` into
    /// `buf`; returns how many. Reading a whole FAT file also checks that
    /// its cluster chain ends where its size says.
    pub fn read(&mut self, file: &Node, buf: &mut [u8]) -> Result<usize, FsError> {
        if file.is_dir {
            return Err(FsError::IsADirectory);
        }
        let place = &self.place;
        match (&mut self.volume, &file.at) {
            (Volume::Fat(v), At::Fat(node)) => self.disk.with(|d| -> Result<_, FsError> {
                let mut reader = place.reader(d)?;
                Ok(v.read(&mut reader, node, buf)?)
            })?,
            (Volume::Ext(v), At::Ext(node)) => self.disk.with(|d| -> Result<_, FsError> {
                let mut reader = place.reader(d)?;
                Ok(v.read(&mut reader, node, buf)?)
            })?,
            _ => Err(FsError::NotFound),
        }
    }

    /// The whole of a file of at most `max` bytes.
    pub fn read_to_vec(&mut self, file: &Node, max: u64) -> Result<Vec<u8>, FsError> {
        if file.is_dir {
            return Err(FsError::IsADirectory);
        }
        if file.size > max {
            return Err(FsError::TooLarge { size: file.size, max });
        }
        // size <= max, which the callers keep small.
        let mut data = alloc::vec![0u8; file.size as usize];
        let n = self.read(file, &mut data)?;
        data.truncate(n);
        Ok(data)
    }

    /// The file at `path` if there is one (`Ok(None)` when not), whole, if
    /// it is at most `max` bytes.
    pub fn read_file(&mut self, path: &str, max: u64) -> Result<Option<Vec<u8>>, FsError> {
        let node = match self.lookup(path) {
            Err(FsError::NotFound) => return Ok(None),
            other => other?,
        };
        self.read_to_vec(&node, max).map(Some)
    }
}

/// The first file system, over every disk in order and each disk's
/// partitions in table order, that has the file `path`: its place's name
/// and the file (or why it could not be read). Disks and places that hold
/// no file system are passed over without a word (the `disk` boot source
/// reports them); every disk is closed again before this returns.
pub fn find_file<B: Board + 'static>(path: &str, max: u64) -> Option<(String, Result<Vec<u8>, FsError>)> {
    let count = super::functions().map_or(0, |f| f.len());
    for index in 0..count {
        let Ok(disk) = SharedDisk::<B>::open(index) else { continue };
        let Ok(Ok((places, _))) = disk.with(|d| places(d)) else { continue };
        for place in &places {
            let Ok(mut fs) = FileSystem::mount(&disk, place) else { continue };
            match fs.read_file(path, max) {
                Ok(None) => {}
                Ok(Some(text)) => return Some((place.name.clone(), Ok(text))),
                Err(e) => return Some((place.name.clone(), Err(e))),
            }
        }
    }
    None
}

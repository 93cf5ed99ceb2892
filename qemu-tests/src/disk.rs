//! Disk images for virtio-blk boots: FAT file systems in an MBR.
//!
//! The FAT formatting and file writing are the `fatfs` crate's; the MBR is
//! written here. Shared by the disk-boot and Linux tests and by `cargo
//! xtask bench linux`. Each function panics, naming what failed, when the
//! files do not fit: the sizes are the caller's to choose.

use std::io::{Cursor, Write};

/// Bytes per sector of every image made here.
pub const SECTOR: usize = 512;
/// Partitions start at 1 MiB, as partitioning tools place them.
pub const FIRST_LBA: usize = 2048;
/// One mebibyte.
pub const MIB: usize = 1 << 20;
/// MBR partition type of a FAT16 file system addressed by LBA.
pub const MBR_FAT16_LBA: u8 = 0x0E;

/// A FAT file system of `size` bytes holding `files` (directories are
/// created as needed).
pub fn fat_volume(size: usize, fat_type: fatfs::FatType, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut volume = vec![0u8; size];
    fatfs::format_volume(Cursor::new(&mut volume), fatfs::FormatVolumeOptions::new().fat_type(fat_type))
        .unwrap_or_else(|e| panic!("formatting a {size}-byte {fat_type:?} volume: {e}"));
    {
        let fs = fatfs::FileSystem::new(Cursor::new(&mut volume), fatfs::FsOptions::new()).expect("mount FAT");
        let root = fs.root_dir();
        for (path, data) in files {
            let mut dir = root.clone();
            let components: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let (name, parents) = components.split_last().expect("a file name");
            for parent in parents {
                dir = dir.open_dir(parent).or_else(|_| dir.create_dir(parent)).expect("create directory");
            }
            let mut file = dir.create_file(name).unwrap_or_else(|e| panic!("creating {path}: {e}"));
            file.write_all(data)
                .unwrap_or_else(|e| panic!("writing {path} ({} bytes) to a {size}-byte volume: {e}", data.len()));
        }
    }
    volume
}

/// A disk with an MBR and one partition per `(type, volume)`.
pub fn mbr_disk(partitions: &[(u8, &[u8])]) -> Vec<u8> {
    let mut disk = vec![0u8; FIRST_LBA * SECTOR];
    for (i, (type_byte, volume)) in partitions.iter().enumerate() {
        let start = disk.len() / SECTOR;
        let count = volume.len().div_ceil(SECTOR);
        disk.extend_from_slice(volume);
        disk.resize((start + count) * SECTOR, 0);
        let entry = &mut disk[446 + 16 * i..][..16];
        entry[0] = 0x00;
        entry[1..4].copy_from_slice(&[0xFE, 0xFF, 0xFF]);
        entry[4] = *type_byte;
        entry[5..8].copy_from_slice(&[0xFE, 0xFF, 0xFF]);
        entry[8..12].copy_from_slice(&(start as u32).to_le_bytes());
        entry[12..16].copy_from_slice(&(count as u32).to_le_bytes());
    }
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk
}

/// A 16 MiB FAT16 partition in an MBR with these files.
pub fn mbr_fat16(files: &[(&str, &[u8])]) -> Vec<u8> {
    mbr_fat16_sized(16 * MIB, files)
}

/// A FAT16 partition of `size` bytes in an MBR with these files.
pub fn mbr_fat16_sized(size: usize, files: &[(&str, &[u8])]) -> Vec<u8> {
    mbr_disk(&[(MBR_FAT16_LBA, &fat_volume(size, fatfs::FatType::Fat16, files))])
}

/// A FAT16 partition in an MBR just large enough for these files: their
/// bytes and 4 MiB for the file system's own structures, in whole MiB, and
/// at least FAT16's 16 MiB.
pub fn mbr_fat16_fitting(files: &[(&str, &[u8])]) -> Vec<u8> {
    let bytes: usize = files.iter().map(|(_, data)| data.len()).sum();
    let size = (bytes + 4 * MIB).div_ceil(MIB).max(16) * MIB;
    mbr_fat16_sized(size, files)
}

/// A disk image in memory, read in whole sectors: the block device the
/// firmware's file-system readers are tested on.
pub struct MemDisk(pub Vec<u8>);

/// A read of sector `.0` or beyond the end of a `MemDisk`.
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfRange(pub u64);

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LBA {} is past the end", self.0)
    }
}

impl tianshan_partition::BlockDevice for MemDisk {
    type Error = OutOfRange;

    fn block_count(&self) -> u64 {
        (self.0.len() / SECTOR) as u64
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        assert!(!buf.is_empty() && buf.len().is_multiple_of(SECTOR), "read of {} bytes", buf.len());
        let start = usize::try_from(lba).ok().and_then(|l| l.checked_mul(SECTOR)).ok_or(OutOfRange(lba))?;
        let src = start.checked_add(buf.len()).and_then(|end| self.0.get(start..end)).ok_or(OutOfRange(lba))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// An e2fsprogs tool (`mkfs.ext4`, `debugfs`, `e2fsck`): on the PATH, or in
/// the sbin directories a non-root PATH may leave out.
pub fn e2fs_tool(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(std::path::PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: install e2fsprogs (apt-get install e2fsprogs)"))
}

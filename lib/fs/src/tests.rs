//! Host tests: small FAT and ext images built here, and fuzzing's regressions.
//!
//! The builders write fields at the offsets the specifications give (the
//! FAT BPB and directory entry, the ext2 superblock, group descriptor and
//! inode), spelled out as literals rather than taken from the readers, so a
//! wrong offset in a reader shows up as a failure. Each regression test
//! names the fuzz target that found the input (docs/fuzzing.md lists them).

use crate::{ext, fat};
use tianshan_partition::{BlockDevice, SECTOR_SIZE};

/// A read past the end of a `MemDisk`.
#[derive(Debug)]
struct PastEnd;

impl core::fmt::Display for PastEnd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "read past the end of the disk")
    }
}

/// A disk over a byte vector.
struct MemDisk(Vec<u8>);

impl BlockDevice for MemDisk {
    type Error = PastEnd;

    fn block_count(&self) -> u64 {
        (self.0.len() / SECTOR_SIZE) as u64
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), PastEnd> {
        let at = lba as usize * SECTOR_SIZE;
        buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(PastEnd)?);
        Ok(())
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------------------
// FAT12: 128 sectors, one reserved, two one-sector FATs, a one-sector root
// directory (16 entries) at sector 3, data from sector 4.

const FAT_SECTORS: usize = 128;
const FAT_ROOT_SECTOR: usize = 3;

fn fat12_with_root(entries: &[[u8; 32]]) -> MemDisk {
    let mut d = vec![0u8; FAT_SECTORS * SECTOR_SIZE];
    d[..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
    d[3..11].copy_from_slice(b"TIANSHAN");
    put16(&mut d, 11, 512); // BPB_BytsPerSec
    d[13] = 1; // BPB_SecPerClus
    put16(&mut d, 14, 1); // BPB_RsvdSecCnt
    d[16] = 2; // BPB_NumFATs
    put16(&mut d, 17, 16); // BPB_RootEntCnt
    put16(&mut d, 19, FAT_SECTORS as u16); // BPB_TotSec16
    d[21] = 0xF8; // BPB_Media
    put16(&mut d, 22, 1); // BPB_FATSz16
    d[510..512].copy_from_slice(&[0x55, 0xAA]);
    for fat in [1, 2] {
        d[fat * SECTOR_SIZE..fat * SECTOR_SIZE + 3].copy_from_slice(&[0xF8, 0xFF, 0xFF]);
    }
    for (i, e) in entries.iter().enumerate() {
        let at = FAT_ROOT_SECTOR * SECTOR_SIZE + 32 * i;
        d[at..at + 32].copy_from_slice(e);
    }
    MemDisk(d)
}

/// A short directory entry: 11-byte name, attributes, size, no cluster.
fn short_entry(name: &[u8; 11], attr: u8, size: u32) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    put32(&mut e, 28, size);
    e
}

fn fat_names(disk: &mut MemDisk) -> Vec<String> {
    let mut volume = fat::Volume::mount(disk).expect("the image mounts");
    assert_eq!(volume.kind(), fat::FatKind::Fat12);
    let root = volume.lookup(disk, "/").expect("root");
    let mut names = Vec::new();
    volume.list(disk, &root, &mut |n| names.push(n.name.clone())).expect("list");
    names
}

#[test]
fn fat_lists_a_short_entry() {
    let mut disk = fat12_with_root(&[short_entry(b"README  TXT", 0x20, 0)]);
    assert_eq!(fat_names(&mut disk), ["README.TXT"]);
}

/// Found by the `fat` fuzz target: an entry whose name is all spaces was
/// listed with an empty name, which no lookup can find. FAT spec §6.1 calls
/// a first name byte of 0x20 invalid; such entries are now passed over.
#[test]
fn fat_skips_an_entry_whose_name_starts_with_a_space() {
    let mut disk = fat12_with_root(&[short_entry(b"           ", 0x20, 5), short_entry(b"README  TXT", 0x20, 0)]);
    assert_eq!(fat_names(&mut disk), ["README.TXT"]);
}

// ---------------------------------------------------------------------------
// ext2: 64 blocks of 1 KiB, one group, 16 inodes of 128 bytes; the group
// descriptor in block 2, the inode table from block 5.

const EXT_BLOCK: usize = 1024;
const EXT_INODE_TABLE: usize = 5;

fn ext2_with_root_mode(mode: u16) -> MemDisk {
    let mut d = vec![0u8; 64 * EXT_BLOCK];
    let sb = 1024;
    put32(&mut d, sb, 16); // s_inodes_count
    put32(&mut d, sb + 0x4, 64); // s_blocks_count_lo
    put32(&mut d, sb + 0x14, 1); // s_first_data_block
    put32(&mut d, sb + 0x18, 0); // s_log_block_size: 1 KiB
    put32(&mut d, sb + 0x20, 8192); // s_blocks_per_group
    put32(&mut d, sb + 0x28, 16); // s_inodes_per_group
    put16(&mut d, sb + 0x38, 0xEF53); // s_magic
    put32(&mut d, sb + 0x4C, 1); // s_rev_level: dynamic
    put16(&mut d, sb + 0x58, 128); // s_inode_size
    put32(&mut d, 2 * EXT_BLOCK + 0x8, EXT_INODE_TABLE as u32); // bg_inode_table_lo
    let root = EXT_INODE_TABLE * EXT_BLOCK + 128; // inode 2
    put16(&mut d, root, mode); // i_mode
    MemDisk(d)
}

#[test]
fn ext_root_directory_is_found() {
    let mut disk = ext2_with_root_mode(0x41ED);
    let volume = ext::Volume::mount(&mut disk).expect("the image mounts");
    assert_eq!(volume.kind(), ext::ExtKind::Ext2);
    let root = volume.lookup(&mut disk, "/").expect("root");
    assert!(root.is_dir);
    assert_eq!(root.inode, 2);
}

/// Found by the `ext` fuzz target: a root inode that is a regular file was
/// returned by `lookup("/")` as the root, a directory that is not one. It
/// is now reported as damage to inode 2.
#[test]
fn ext_refuses_a_root_that_is_not_a_directory() {
    let mut disk = ext2_with_root_mode(0x81A4);
    let volume = ext::Volume::mount(&mut disk).expect("the superblock is fine");
    let error = volume.lookup(&mut disk, "/").expect_err("root is a file");
    assert!(
        matches!(error, ext::ExtError::Corrupt(_, ext::Corrupt::Inode { inode: 2, .. })),
        "unexpected error: {error}"
    );
    assert!(error.to_string().contains("not a directory"), "message: {error}");
    assert!(volume.lookup(&mut disk, "/boot/vmlinuz").is_err());
}

/// Block of the root directory's one data block in `ext2_with_root_entries`.
const EXT_ROOT_DIR_BLOCK: usize = 20;

/// `ext2_with_root_mode` with a root directory (a block map of one block)
/// holding `entries` (inode, name), each a regular empty file.
fn ext2_with_root_entries(entries: &[(u32, &[u8])]) -> MemDisk {
    let MemDisk(mut d) = ext2_with_root_mode(0x41ED);
    let root = EXT_INODE_TABLE * EXT_BLOCK + 128;
    put32(&mut d, root + 0x4, EXT_BLOCK as u32); // i_size_lo
    put32(&mut d, root + 0x1C, (EXT_BLOCK / SECTOR_SIZE) as u32); // i_blocks_lo, in sectors
    put32(&mut d, root + 0x28, EXT_ROOT_DIR_BLOCK as u32); // i_block[0]
    let mut at = EXT_ROOT_DIR_BLOCK * EXT_BLOCK;
    for (i, (inode, name)) in entries.iter().enumerate() {
        let last = i + 1 == entries.len();
        let rec_len =
            if last { EXT_ROOT_DIR_BLOCK * EXT_BLOCK + EXT_BLOCK - at } else { (8 + name.len()).next_multiple_of(4) };
        put32(&mut d, at, *inode); // inode
        put16(&mut d, at + 4, rec_len as u16); // rec_len
        put16(&mut d, at + 6, name.len() as u16); // name_len (no filetype feature)
        d[at + 8..at + 8 + name.len()].copy_from_slice(name);
        let file = EXT_INODE_TABLE * EXT_BLOCK + (*inode as usize - 1) * 128;
        put16(&mut d, file, 0x81A4); // i_mode: a regular file
        at += rec_len;
    }
    MemDisk(d)
}

fn ext_names(disk: &mut MemDisk) -> Vec<String> {
    let volume = ext::Volume::mount(disk).expect("the image mounts");
    let root = volume.lookup(disk, "/").expect("root");
    let mut names = Vec::new();
    volume.list(disk, &root, &mut |n| names.push(n.name.clone())).expect("list");
    names
}

#[test]
fn ext_lists_root_entries() {
    let mut disk = ext2_with_root_entries(&[(12, b"vmlinuz"), (13, b"initrd")]);
    assert_eq!(ext_names(&mut disk), ["vmlinuz", "initrd"]);
    let volume = ext::Volume::mount(&mut disk).expect("mounts");
    assert_eq!(volume.lookup(&mut disk, "/initrd").expect("found").inode, 13);
}

/// Found by the `ext` fuzz target: a directory entry with a zero-length
/// name was listed with an empty name, which no lookup can find. Such
/// entries are now passed over, like unused ones.
#[test]
fn ext_skips_an_entry_without_a_name() {
    let mut disk = ext2_with_root_entries(&[(12, b""), (13, b"initrd")]);
    assert_eq!(ext_names(&mut disk), ["initrd"]);
}

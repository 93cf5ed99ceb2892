//! A read-only ext2/ext3/ext4 reader over a `BlockDevice`.
//!
//! Why not a crate: `ext4-view` (checked, no unsafe) cost about 69 KiB of
//! flash, a quarter of the firmware's budget; booting needs only lookup,
//! directory listing and file reads, which are small when done here.
//!
//! What it reads: the superblock (1, 2 or 4..64 KiB blocks), 32- and 64-byte
//! group descriptors (`64bit`), `meta_bg` descriptor placement, inodes of
//! any size, extent trees of any depth (up to the format's 5) and ext2/3
//! block maps (direct, indirect, double and triple indirect), directories
//! scanned linearly (an htree directory's index blocks look like empty
//! entries, so they are passed over), fast and slow symbolic links (at most
//! `MAX_LINKS` followed per lookup). It refuses, naming the feature, the
//! incompatible features it does not read: compression, an external
//! journal device, dirdata, inline data, encryption and unknown bits. The
//! journal is not replayed (a file system that needs recovery is read as it
//! stands) and checksums are not verified.
//!
//! Safety on disk data: every block number is checked against the block
//! count before it is read, every offset against its block, every loop is
//! bounded by a size taken from the disk and already range-checked, and
//! arithmetic on disk values is checked or widened; a damaged structure
//! gives a one-line `Corrupt` error naming the inode, never a panic.
//!
//! Source for every offset: the Linux kernel's "ext4 Data Structures and
//! Algorithms" (`Documentation/filesystems/ext4/`, kernel.org): §super.rst
//! (superblock), §group_descr.rst, §inodes.rst, §ifork.rst (extent tree and
//! block map), §directory.rst, §blockgroup.rst (meta_bg, sparse_super).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use tianshan_partition::{BlockDevice, SECTOR_SIZE};

/// Byte offset of the superblock in the file system.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Bytes of the superblock read.
const SUPERBLOCK_SIZE: usize = 1024;

// Superblock fields (super.rst).
const S_INODES_COUNT: usize = 0x0;
const S_BLOCKS_COUNT_LO: usize = 0x4;
const S_FIRST_DATA_BLOCK: usize = 0x14;
const S_LOG_BLOCK_SIZE: usize = 0x18;
const S_BLOCKS_PER_GROUP: usize = 0x20;
const S_INODES_PER_GROUP: usize = 0x28;
const S_MAGIC: usize = 0x38;
const S_REV_LEVEL: usize = 0x4C;
const S_INODE_SIZE: usize = 0x58;
const S_FEATURE_COMPAT: usize = 0x5C;
const S_FEATURE_INCOMPAT: usize = 0x60;
const S_FEATURE_RO_COMPAT: usize = 0x64;
const S_DESC_SIZE: usize = 0xFE;
const S_FIRST_META_BG: usize = 0x104;
const S_BLOCKS_COUNT_HI: usize = 0x150;
const S_BACKUP_BGS: usize = 0x24C;
/// `s_magic`'s value.
const EXT_MAGIC: u16 = 0xEF53;
/// Largest `s_log_block_size`: 64 KiB blocks.
const MAX_LOG_BLOCK_SIZE: u32 = 6;
/// Inode size of revision 0 file systems.
const GOOD_OLD_INODE_SIZE: u32 = 128;

const COMPAT_HAS_JOURNAL: u32 = 0x4;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const INCOMPAT_FILETYPE: u32 = 0x2;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
/// Incompatible features read here: filetype, recover (the journal is not
/// replayed), meta_bg, extents, 64bit, mmp, flex_bg, ea_inode (extended
/// attributes only), csum_seed (checksums are not checked), largedir,
/// casefold (names are compared as stored).
const INCOMPAT_READ: u32 = 0x2 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | 0x20000;
/// Names of the incompatible features refused, by bit.
const INCOMPAT_NAMES: [(u32, &str); 5] = [
    (0x1, "compression"),
    (0x8, "journal_dev (an external journal, no files)"),
    (0x1000, "dirdata"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
];
/// Incompatible features only ext4 has: extents, 64-bit, flexible block
/// groups, metadata checksum seed.
const INCOMPAT_EXT4: u32 = 0x40 | 0x80 | 0x200 | 0x2000;
/// Read-only features only ext4 has: huge files, group descriptor
/// checksums, large directories, large inodes, metadata checksums.
const RO_COMPAT_EXT4: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;

// Group descriptor fields (group_descr.rst).
const BG_INODE_TABLE_LO: usize = 0x8;
const BG_INODE_TABLE_HI: usize = 0x28;
const DESC_SIZE_32: u32 = 32;
const DESC_SIZE_64_MIN: u32 = 64;

// Inode fields (inodes.rst).
const I_MODE: usize = 0x0;
const I_SIZE_LO: usize = 0x4;
const I_BLOCKS_LO: usize = 0x1C;
const I_FLAGS: usize = 0x20;
const I_BLOCK: usize = 0x28;
const I_BLOCK_LEN: usize = 60;
const I_FILE_ACL_LO: usize = 0x68;
const I_SIZE_HIGH: usize = 0x6C;
const S_IFMT: u16 = 0xF000;
const S_IFDIR: u16 = 0x4000;
const S_IFLNK: u16 = 0xA000;
const EXT4_ENCRYPT_FL: u32 = 0x800;
const EXT4_EXTENTS_FL: u32 = 0x80000;
const EXT4_INLINE_DATA_FL: u32 = 0x1000_0000;
/// The root directory's inode.
const ROOT_INODE: u32 = 2;

// Extent tree (ifork.rst).
const EH_MAGIC: u16 = 0xF30A;
const EXTENT_ENTRY: usize = 12;
/// The format's limit on `eh_depth`.
const MAX_EXTENT_DEPTH: u16 = 5;
/// `ee_len` above this marks an uninitialised extent (reads as zeros).
const EXT_INIT_MAX_LEN: u16 = 32768;

// Block map (ifork.rst): 12 direct pointers, then indirect, double, triple.
const DIRECT_BLOCKS: u64 = 12;

// Directory entries (directory.rst).
const DIRENT_HEADER: usize = 8;

/// Most symbolic links followed while looking up one path (Linux allows 40).
const MAX_LINKS: u32 = 16;
/// Longest symbolic link target read (PATH_MAX).
const MAX_LINK_LEN: u64 = 4096;

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
    #[inline]
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

/// What is wrong with a damaged file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corrupt {
    /// A superblock field is impossible: which, and its value.
    Superblock(&'static str, u64),
    /// `s_inodes_per_group` is 0.
    NoInodesPerGroup,
    /// A directory entry names an inode number outside the file system.
    InodeNumber(u32),
    /// Group `group`'s inode table is at block `block`, past the end.
    InodeTable { group: u32, block: u64 },
    /// An inode's block (extent, block map pointer) is past the end.
    Block { inode: u32, block: u64 },
    /// An inode's extent tree has a bad node: what is wrong.
    Extent { inode: u32, what: &'static str },
    /// An inode's directory entry at `offset` in logical block `block` is
    /// malformed.
    Dirent { inode: u32, block: u64, offset: usize },
    /// A directory has a hole at logical block `block`.
    DirHole { inode: u32, block: u64 },
    /// Something else about an inode: what.
    Inode { inode: u32, what: &'static str },
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corrupt::Superblock(what, v) => write!(f, "superblock: {what} {v} is out of range"),
            Corrupt::NoInodesPerGroup => write!(f, "inodes per block group is zero"),
            Corrupt::InodeNumber(i) => write!(f, "inode number {i} is out of range"),
            Corrupt::InodeTable { group, block } => {
                write!(f, "block group {group}: inode table at block {block} is past the end")
            }
            Corrupt::Block { inode, block } => write!(f, "inode {inode}: block {block} is past the end"),
            Corrupt::Extent { inode, what } => write!(f, "extent in inode {inode} {what}"),
            Corrupt::Dirent { inode, block, offset } => {
                write!(f, "directory inode {inode}: bad entry at byte {offset} of block {block}")
            }
            Corrupt::DirHole { inode, block } => write!(f, "directory inode {inode}: hole at block {block}"),
            Corrupt::Inode { inode, what } => write!(f, "inode {inode}: {what}"),
        }
    }
}

/// What the reader does not support.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// An incompatible feature (`s_feature_incompat` bit), by name.
    Feature(&'static str),
    /// Unknown incompatible feature bits.
    UnknownFeatures(u32),
    /// An inode's data is inline or encrypted.
    Inode { inode: u32, what: &'static str },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Feature(name) => write!(f, "feature {name}"),
            Unsupported::UnknownFeatures(bits) => write!(f, "unknown incompatible features {bits:#x}"),
            Unsupported::Inode { inode, what } => write!(f, "inode {inode}: {what}"),
        }
    }
}

/// Why an ext operation failed.
#[derive(Debug)]
pub enum ExtError<E> {
    /// The device failed.
    Io(E),
    /// A path component does not exist.
    NotFound,
    /// A path component before the last is not a directory.
    NotADirectory,
    /// A directory was given where a file is needed.
    IsADirectory,
    /// More than `MAX_LINKS` symbolic links in one lookup.
    TooManyLinks,
    /// The file system is damaged.
    Corrupt(ExtKind, Corrupt),
    /// The file system or a file uses what is not read here.
    Unsupported(ExtKind, Unsupported),
}

impl<E: fmt::Display> fmt::Display for ExtError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtError::Io(e) => write!(f, "{e}"),
            ExtError::NotFound => write!(f, "file not found"),
            ExtError::NotADirectory => write!(f, "not a directory"),
            ExtError::IsADirectory => write!(f, "is a directory"),
            ExtError::TooManyLinks => write!(f, "more than {MAX_LINKS} symbolic links"),
            ExtError::Corrupt(kind, c) => write!(f, "corrupt {kind} file system: {c}"),
            ExtError::Unsupported(kind, u) => write!(f, "{kind} file system not supported: {u}"),
        }
    }
}

/// A file, directory or link found on the volume.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its name (the last path component; `/` for the root).
    pub name: String,
    /// True for a directory.
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Its inode number.
    pub inode: u32,
}

/// An inode's fields this reader uses.
struct Inode {
    number: u32,
    mode: u16,
    size: u64,
    flags: u32,
    /// `i_blocks_lo` less an extended-attribute block: 0 for a fast link.
    data_sectors: u64,
    block: [u8; I_BLOCK_LEN],
}

impl Inode {
    #[inline]
    fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    #[inline]
    fn is_link(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
}

/// A run of logical blocks: `len` blocks at physical block `phys`, or a
/// hole (zeros) when `phys` is 0.
struct Run {
    phys: u64,
    len: u64,
}

#[inline]
fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

#[inline]
fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether `n` is a power of `base` (`n` ≥ 1).
#[inline]
fn is_power_of(mut n: u32, base: u32) -> bool {
    while n > 1 && n.is_multiple_of(base) {
        n /= base;
    }
    n == 1
}

/// A mounted ext file system (its geometry from the superblock).
pub struct Volume {
    kind: ExtKind,
    block_size: u64,
    blocks_count: u64,
    first_data_block: u64,
    blocks_per_group: u64,
    inodes_count: u32,
    inodes_per_group: u32,
    inode_size: u64,
    desc_size: u64,
    groups: u64,
    compat: u32,
    incompat: u32,
    ro_compat: u32,
    first_meta_bg: u64,
    backup_bgs: [u32; 2],
}

type Result<T, E> = core::result::Result<T, ExtError<E>>;

impl Volume {
    /// Reads and checks the superblock of the file system on `dev`.
    pub fn mount<D: BlockDevice>(dev: &mut D) -> Result<Volume, D::Error> {
        let mut sb = [0u8; SUPERBLOCK_SIZE];
        dev.read_blocks(SUPERBLOCK_OFFSET / SECTOR_SIZE as u64, &mut sb).map_err(ExtError::Io)?;
        let kind = ExtKind::of_superblock(&sb)
            .ok_or(ExtError::Corrupt(ExtKind::Ext2, Corrupt::Superblock("magic", le16(&sb, S_MAGIC).into())))?;
        let bad = |what, v: u64| ExtError::Corrupt(kind, Corrupt::Superblock(what, v));
        let incompat = le32(&sb, S_FEATURE_INCOMPAT);
        for (bit, name) in INCOMPAT_NAMES {
            if incompat & bit != 0 {
                return Err(ExtError::Unsupported(kind, Unsupported::Feature(name)));
            }
        }
        if incompat & !INCOMPAT_READ != 0 {
            return Err(ExtError::Unsupported(kind, Unsupported::UnknownFeatures(incompat & !INCOMPAT_READ)));
        }
        let log = le32(&sb, S_LOG_BLOCK_SIZE);
        if log > MAX_LOG_BLOCK_SIZE {
            return Err(bad("log block size", log.into()));
        }
        let block_size = 1024u64 << log;
        let mut blocks_count = u64::from(le32(&sb, S_BLOCKS_COUNT_LO));
        if incompat & INCOMPAT_64BIT != 0 {
            blocks_count |= u64::from(le32(&sb, S_BLOCKS_COUNT_HI)) << 32;
        }
        let first_data_block = u64::from(le32(&sb, S_FIRST_DATA_BLOCK));
        if first_data_block >= blocks_count {
            return Err(bad("first data block", first_data_block));
        }
        // Byte addresses of blocks must fit in 64 bits.
        if blocks_count.checked_mul(block_size).is_none() {
            return Err(bad("block count", blocks_count));
        }
        let blocks_per_group = u64::from(le32(&sb, S_BLOCKS_PER_GROUP));
        if blocks_per_group == 0 || blocks_per_group > 8 * block_size {
            return Err(bad("blocks per group", blocks_per_group));
        }
        let inodes_per_group = le32(&sb, S_INODES_PER_GROUP);
        if inodes_per_group == 0 {
            return Err(ExtError::Corrupt(kind, Corrupt::NoInodesPerGroup));
        }
        if u64::from(inodes_per_group) > 8 * block_size {
            return Err(bad("inodes per group", inodes_per_group.into()));
        }
        let groups = (blocks_count - first_data_block).div_ceil(blocks_per_group);
        let inodes_count = le32(&sb, S_INODES_COUNT);
        if u64::from(inodes_count) > groups * u64::from(inodes_per_group) || inodes_count < ROOT_INODE {
            return Err(bad("inode count", inodes_count.into()));
        }
        let inode_size =
            if le32(&sb, S_REV_LEVEL) == 0 { GOOD_OLD_INODE_SIZE } else { u32::from(le16(&sb, S_INODE_SIZE)) };
        if inode_size < GOOD_OLD_INODE_SIZE || !inode_size.is_power_of_two() || u64::from(inode_size) > block_size {
            return Err(bad("inode size", inode_size.into()));
        }
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            let d = u32::from(le16(&sb, S_DESC_SIZE));
            if d < DESC_SIZE_64_MIN || !d.is_power_of_two() || u64::from(d) > block_size {
                return Err(bad("group descriptor size", d.into()));
            }
            d
        } else {
            DESC_SIZE_32
        };
        Ok(Volume {
            kind,
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_count,
            inodes_per_group,
            inode_size: inode_size.into(),
            desc_size: desc_size.into(),
            groups,
            compat: le32(&sb, S_FEATURE_COMPAT),
            incompat,
            ro_compat: le32(&sb, S_FEATURE_RO_COMPAT),
            first_meta_bg: le32(&sb, S_FIRST_META_BG).into(),
            backup_bgs: [le32(&sb, S_BACKUP_BGS), le32(&sb, S_BACKUP_BGS + 4)],
        })
    }

    /// ext2, ext3 or ext4.
    #[inline]
    pub fn kind(&self) -> ExtKind {
        self.kind
    }

    fn corrupt<E>(&self, c: Corrupt) -> ExtError<E> {
        ExtError::Corrupt(self.kind, c)
    }

    /// Reads whole blocks from `block` into `buf` (a multiple of the block
    /// size); `inode` is named if they are past the end.
    fn read_blocks<D: BlockDevice>(&self, dev: &mut D, inode: u32, block: u64, buf: &mut [u8]) -> Result<(), D::Error> {
        let count = buf.len() as u64 / self.block_size;
        if block == 0 || block.checked_add(count).is_none_or(|end| end > self.blocks_count) {
            return Err(self.corrupt(Corrupt::Block { inode, block }));
        }
        let lba = block * (self.block_size / SECTOR_SIZE as u64);
        dev.read_blocks(lba, buf).map_err(ExtError::Io)
    }

    /// Whether block group `group` holds a superblock copy (and so a
    /// descriptor copy): blockgroup.rst, sparse_super and sparse_super2.
    #[inline]
    fn group_has_super(&self, group: u64) -> bool {
        let Ok(g) = u32::try_from(group) else { return false };
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.contains(&g);
        }
        if g <= 1 || self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        g % 2 == 1 && (is_power_of(g, 3) || is_power_of(g, 5) || is_power_of(g, 7))
    }

    /// The block holding group `group`'s descriptor, and its byte offset.
    #[inline]
    fn descriptor_at(&self, group: u64) -> (u64, u64) {
        let per_block = self.block_size / self.desc_size;
        let index = group / per_block;
        let offset = group % per_block * self.desc_size;
        if self.incompat & INCOMPAT_META_BG != 0 && index >= self.first_meta_bg {
            // The first group of each meta group holds its descriptors,
            // after the superblock copy if it has one.
            let first = index * per_block;
            let start = self.first_data_block + first * self.blocks_per_group;
            (start + u64::from(self.group_has_super(first)), offset)
        } else {
            (self.first_data_block + 1 + index, offset)
        }
    }

    /// Reads inode `number`.
    fn inode<D: BlockDevice>(&self, dev: &mut D, scratch: &mut [u8], number: u32) -> Result<Inode, D::Error> {
        if number == 0 || number > self.inodes_count {
            return Err(self.corrupt(Corrupt::InodeNumber(number)));
        }
        let group = u64::from((number - 1) / self.inodes_per_group);
        let index = u64::from((number - 1) % self.inodes_per_group);
        if group >= self.groups {
            return Err(self.corrupt(Corrupt::InodeNumber(number)));
        }
        let (desc_block, desc_offset) = self.descriptor_at(group);
        self.read_blocks(dev, number, desc_block, scratch)?;
        let d = desc_offset as usize;
        let mut table = u64::from(le32(scratch, d + BG_INODE_TABLE_LO));
        if self.desc_size >= u64::from(DESC_SIZE_64_MIN) {
            table |= u64::from(le32(scratch, d + BG_INODE_TABLE_HI)) << 32;
        }
        let byte = index * self.inode_size;
        let block = table.checked_add(byte / self.block_size);
        let Some(block) = block.filter(|&b| b != 0 && b < self.blocks_count) else {
            return Err(self.corrupt(Corrupt::InodeTable { group: group as u32, block: table }));
        };
        self.read_blocks(dev, number, block, scratch)?;
        let raw = &scratch[(byte % self.block_size) as usize..];
        let mut block = [0u8; I_BLOCK_LEN];
        block.copy_from_slice(&raw[I_BLOCK..I_BLOCK + I_BLOCK_LEN]);
        let mut data_sectors = u64::from(le32(raw, I_BLOCKS_LO));
        if le32(raw, I_FILE_ACL_LO) != 0 {
            data_sectors = data_sectors.saturating_sub(self.block_size / SECTOR_SIZE as u64);
        }
        let inode = Inode {
            number,
            mode: le16(raw, I_MODE),
            size: u64::from(le32(raw, I_SIZE_LO)) | u64::from(le32(raw, I_SIZE_HIGH)) << 32,
            flags: le32(raw, I_FLAGS),
            data_sectors,
            block,
        };
        let unsupported = |what| Err(ExtError::Unsupported(self.kind, Unsupported::Inode { inode: number, what }));
        if inode.flags & EXT4_INLINE_DATA_FL != 0 {
            return unsupported("data stored inline (inline_data)");
        }
        if inode.flags & EXT4_ENCRYPT_FL != 0 {
            return unsupported("encrypted");
        }
        Ok(inode)
    }

    /// Where logical block `lblock` of `inode` is, and how many blocks
    /// after it (at most `want`) follow it on the disk.
    fn map<D: BlockDevice>(
        &self,
        dev: &mut D,
        scratch: &mut [u8],
        inode: &Inode,
        lblock: u64,
        want: u64,
    ) -> Result<Run, D::Error> {
        if inode.flags & EXT4_EXTENTS_FL != 0 {
            self.map_extent(dev, scratch, inode, lblock, want)
        } else {
            self.map_indirect(dev, scratch, inode, lblock, want)
        }
    }

    /// `map` through an extent tree (ifork.rst, "Extent Tree").
    fn map_extent<D: BlockDevice>(
        &self,
        dev: &mut D,
        scratch: &mut [u8],
        inode: &Inode,
        lblock: u64,
        want: u64,
    ) -> Result<Run, D::Error> {
        let bad = |what| self.corrupt(Corrupt::Extent { inode: inode.number, what });
        let mut in_root = true;
        let mut depth_above = MAX_EXTENT_DEPTH + 1;
        loop {
            let node: &[u8] = if in_root { &inode.block } else { scratch };
            // ext4_extent_header: magic, entries, max, depth, generation.
            if le16(node, 0) != EH_MAGIC {
                return Err(bad("has invalid magic"));
            }
            let entries = usize::from(le16(node, 2));
            let max = usize::from(le16(node, 4));
            let depth = le16(node, 6);
            if max > (node.len() - EXTENT_ENTRY) / EXTENT_ENTRY || entries > max {
                return Err(bad("has more entries than its node holds"));
            }
            if depth > MAX_EXTENT_DEPTH || (!in_root && depth + 1 != depth_above) {
                return Err(bad("has a bad tree depth"));
            }
            // The last entry starting at or before `lblock`, and the start
            // of the one after it.
            let entry = |i: usize| &node[EXTENT_ENTRY * (i + 1)..EXTENT_ENTRY * (i + 2)];
            let mut found = None;
            let mut next = u64::MAX;
            for i in 0..entries {
                let start = u64::from(le32(entry(i), 0));
                if start <= lblock {
                    found = Some(i);
                } else {
                    next = next.min(start);
                }
            }
            let hole = |next: u64| Ok(Run { phys: 0, len: next.saturating_sub(lblock).clamp(1, want.max(1)) });
            let Some(i) = found else { return hole(next) };
            let e = entry(i);
            if depth == 0 {
                // ext4_extent: ee_block, ee_len, ee_start_hi, ee_start_lo.
                let start = u64::from(le32(e, 0));
                let mut len = le16(e, 4);
                let uninit = len > EXT_INIT_MAX_LEN;
                if uninit {
                    len -= EXT_INIT_MAX_LEN;
                }
                let phys = u64::from(le32(e, 8)) | u64::from(le16(e, 6)) << 32;
                let len = u64::from(len);
                if phys.checked_add(len).is_none_or(|end| phys == 0 || end > self.blocks_count) {
                    return Err(self.corrupt(Corrupt::Block { inode: inode.number, block: phys }));
                }
                let skip = lblock - start;
                if skip >= len {
                    return hole(next);
                }
                let len = (len - skip).min(want.max(1));
                return Ok(Run { phys: if uninit { 0 } else { phys + skip }, len });
            }
            // ext4_extent_idx: ei_block, ei_leaf_lo, ei_leaf_hi.
            let child = u64::from(le32(e, 4)) | u64::from(le16(e, 8)) << 32;
            depth_above = depth;
            in_root = false;
            self.read_blocks(dev, inode.number, child, scratch)?;
        }
    }

    /// `map` through a block map (ifork.rst, "Direct/Indirect Block
    /// Addressing").
    fn map_indirect<D: BlockDevice>(
        &self,
        dev: &mut D,
        scratch: &mut [u8],
        inode: &Inode,
        lblock: u64,
        want: u64,
    ) -> Result<Run, D::Error> {
        let per = self.block_size / 4;
        // Which i_block slot, and the index at each indirect level.
        let (slot, levels, mut index) = if lblock < DIRECT_BLOCKS {
            (lblock, 0, lblock)
        } else if lblock - DIRECT_BLOCKS < per {
            (12, 1, lblock - DIRECT_BLOCKS)
        } else if lblock - DIRECT_BLOCKS - per < per * per {
            (13, 2, lblock - DIRECT_BLOCKS - per)
        } else if lblock - DIRECT_BLOCKS - per - per * per < per * per * per {
            (14, 3, lblock - DIRECT_BLOCKS - per - per * per)
        } else {
            return Err(self.corrupt(Corrupt::Inode { inode: inode.number, what: "size is past the block map" }));
        };
        let mut table: &[u8] = &inode.block;
        let mut at = slot;
        for level in (0..levels).rev() {
            let ptr = u64::from(le32(table, at as usize * 4));
            if ptr == 0 {
                return Ok(Run { phys: 0, len: 1 });
            }
            self.read_blocks(dev, inode.number, ptr, scratch)?;
            table = scratch;
            let span = per.pow(level);
            at = index / span;
            index %= span;
        }
        let entries = (table.len() / 4) as u64;
        let phys = u64::from(le32(table, at as usize * 4));
        if phys == 0 {
            return Ok(Run { phys: 0, len: 1 });
        }
        if phys >= self.blocks_count {
            return Err(self.corrupt(Corrupt::Block { inode: inode.number, block: phys }));
        }
        // Direct pointers run up to slot 12 only.
        let end = if levels == 0 { DIRECT_BLOCKS } else { entries };
        let mut len = 1;
        while len < want && at + len < end && u64::from(le32(table, (at + len) as usize * 4)) == phys + len {
            len += 1;
        }
        Ok(Run { phys, len })
    }

    /// Reads the first `min(size, buf.len())` bytes of `inode`'s data into
    /// `buf`; returns how many.
    fn read_data<D: BlockDevice>(
        &self,
        dev: &mut D,
        scratch: &mut [u8],
        inode: &Inode,
        buf: &mut [u8],
    ) -> Result<usize, D::Error> {
        let want = usize::try_from(inode.size).unwrap_or(usize::MAX).min(buf.len());
        let bs = self.block_size as usize;
        let mut done = 0usize;
        while done < want {
            let lblock = (done / bs) as u64;
            let blocks = (want - done).div_ceil(bs) as u64;
            let run = self.map(dev, scratch, inode, lblock, blocks)?;
            let bytes = usize::try_from(run.len).unwrap_or(usize::MAX).saturating_mul(bs).min(want - done);
            let dst = &mut buf[done..done + bytes];
            if run.phys == 0 {
                if inode.is_dir() {
                    return Err(self.corrupt(Corrupt::DirHole { inode: inode.number, block: lblock }));
                }
                dst.fill(0);
            } else {
                let whole = bytes / bs * bs;
                if whole > 0 {
                    self.read_blocks(dev, inode.number, run.phys, &mut dst[..whole])?;
                }
                if whole < bytes {
                    self.read_blocks(dev, inode.number, run.phys + (whole / bs) as u64, scratch)?;
                    dst[whole..].copy_from_slice(&scratch[..bytes - whole]);
                }
            }
            done += bytes;
        }
        Ok(done)
    }

    /// The target of symbolic link `inode`.
    fn link_target<D: BlockDevice>(&self, dev: &mut D, scratch: &mut [u8], inode: &Inode) -> Result<Vec<u8>, D::Error> {
        if inode.size > MAX_LINK_LEN || inode.size == 0 {
            return Err(
                self.corrupt(Corrupt::Inode { inode: inode.number, what: "link target length is out of range" })
            );
        }
        // A fast link (no data blocks) keeps its target in i_block.
        if inode.data_sectors == 0 {
            let target = inode.block.get(..inode.size as usize);
            return target.map(Vec::from).ok_or(
                self.corrupt(Corrupt::Inode { inode: inode.number, what: "fast link target is longer than i_block" }),
            );
        }
        let mut target = vec![0u8; inode.size as usize];
        self.read_data(dev, scratch, inode, &mut target)?;
        Ok(target)
    }

    /// Calls `f` with the name and inode number of each entry of directory
    /// `dir` (including `.` and `..`) until it returns true.
    fn scan<D: BlockDevice>(
        &self,
        dev: &mut D,
        dir: &Inode,
        f: &mut dyn FnMut(&[u8], u32) -> bool,
    ) -> Result<(), D::Error> {
        let bs = self.block_size as usize;
        let mut scratch = vec![0u8; bs];
        let mut block = vec![0u8; bs];
        let blocks = dir.size / self.block_size;
        for lblock in 0..blocks {
            let run = self.map(dev, &mut scratch, dir, lblock, 1)?;
            if run.phys == 0 {
                return Err(self.corrupt(Corrupt::DirHole { inode: dir.number, block: lblock }));
            }
            self.read_blocks(dev, dir.number, run.phys, &mut block)?;
            // ext4_dir_entry_2: inode, rec_len, name_len, file_type, name
            // (name_len is 16 bits without the filetype feature).
            let mut at = 0;
            while at < bs {
                let bad = || self.corrupt(Corrupt::Dirent { inode: dir.number, block: lblock, offset: at });
                let ino = le32(&block, at);
                let rec_len = usize::from(le16(&block, at + 4));
                let name_len = if self.incompat & INCOMPAT_FILETYPE != 0 {
                    usize::from(block.get(at + 6).copied().unwrap_or(0))
                } else {
                    usize::from(le16(&block, at + 6))
                };
                if rec_len < DIRENT_HEADER
                    || !rec_len.is_multiple_of(4)
                    || rec_len > bs - at
                    || name_len + DIRENT_HEADER > rec_len
                {
                    return Err(bad());
                }
                // An entry without a name cannot be looked up (e2fsck calls
                // it damage); like an unused one (inode 0), it is passed over.
                if ino != 0 && name_len > 0 && f(&block[at + DIRENT_HEADER..at + DIRENT_HEADER + name_len], ino) {
                    return Ok(());
                }
                at += rec_len;
            }
        }
        Ok(())
    }

    /// Follows `path` from the root, and every link on the way. Returns the
    /// inode and the last component's name.
    fn resolve<D: BlockDevice>(&self, dev: &mut D, path: &str) -> Result<(Inode, String), D::Error> {
        let mut scratch = vec![0u8; self.block_size as usize];
        let root = self.inode(dev, &mut scratch, ROOT_INODE)?;
        if !root.is_dir() {
            return Err(ExtError::Corrupt(
                self.kind,
                Corrupt::Inode { inode: ROOT_INODE, what: "the root is not a directory" },
            ));
        }
        // Components still to look up, last first.
        let mut todo: Vec<Vec<u8>> =
            path.split('/').filter(|c| !c.is_empty()).rev().map(|c| c.as_bytes().to_vec()).collect();
        let name = path.rsplit('/').find(|c| !c.is_empty()).map_or_else(|| String::from("/"), String::from);
        let mut links = 0;
        let mut current = root;
        while let Some(component) = todo.pop() {
            if !current.is_dir() {
                return Err(ExtError::NotADirectory);
            }
            let mut found = None;
            self.scan(dev, &current, &mut |n, ino| {
                let hit = n == component.as_slice();
                if hit {
                    found = Some(ino);
                }
                hit
            })?;
            let number = found.ok_or(ExtError::NotFound)?;
            let next = self.inode(dev, &mut scratch, number)?;
            if next.is_link() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ExtError::TooManyLinks);
                }
                let target = self.link_target(dev, &mut scratch, &next)?;
                // A relative target starts from the link's directory,
                // which `current` still is.
                if target.first() == Some(&b'/') {
                    current = self.inode(dev, &mut scratch, ROOT_INODE)?;
                }
                todo.extend(target.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(<[u8]>::to_vec));
                continue;
            }
            current = next;
        }
        Ok((current, name))
    }

    /// Finds `path` (from the root, `/`-separated; links are followed).
    pub fn lookup<D: BlockDevice>(&self, dev: &mut D, path: &str) -> Result<Node, D::Error> {
        let (inode, name) = self.resolve(dev, path)?;
        Ok(Node { name, is_dir: inode.is_dir(), size: inode.size, inode: inode.number })
    }

    /// Calls `f` for each entry of directory `dir` (without `.` and `..`;
    /// links are not followed).
    pub fn list<D: BlockDevice>(&self, dev: &mut D, dir: &Node, f: &mut dyn FnMut(&Node)) -> Result<(), D::Error> {
        let mut scratch = vec![0u8; self.block_size as usize];
        let inode = self.inode(dev, &mut scratch, dir.inode)?;
        if !inode.is_dir() {
            return Err(ExtError::NotADirectory);
        }
        let mut entries = Vec::new();
        self.scan(dev, &inode, &mut |name, ino| {
            if name != b"." && name != b".." {
                entries.push((String::from_utf8_lossy(name).into_owned(), ino));
            }
            false
        })?;
        for (name, number) in entries {
            let i = self.inode(dev, &mut scratch, number)?;
            f(&Node { name, is_dir: i.is_dir(), size: i.size, inode: number });
        }
        Ok(())
    }

    /// Reads the first `min(file size, buf.len())` bytes of `file` into
    /// `buf`; returns how many. A link reads as its target.
    pub fn read<D: BlockDevice>(&self, dev: &mut D, file: &Node, buf: &mut [u8]) -> Result<usize, D::Error> {
        let mut scratch = vec![0u8; self.block_size as usize];
        let inode = self.inode(dev, &mut scratch, file.inode)?;
        if inode.is_dir() {
            return Err(ExtError::IsADirectory);
        }
        if inode.is_link() {
            let target = self.link_target(dev, &mut scratch, &inode)?;
            let n = target.len().min(buf.len());
            buf[..n].copy_from_slice(&target[..n]);
            return Ok(n);
        }
        self.read_data(dev, &mut scratch, &inode, buf)
    }
}

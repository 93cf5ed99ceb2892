//! A read-only FAT12/16/32 reader with long file names, over a `BlockDevice`.
//!
//! Why not a crate: `embedded-sdmmc` 0.10, the well-kept no_std FAT crate,
//! does not read FAT12, divides by the boot sector's sectors-per-cluster
//! without checking it (a corrupt volume panics), walks directory cluster
//! chains without a bound (a looped FAT hangs the boot), opens files by
//! 8.3 name only, and finds volumes only through an MBR it parses itself
//! (no GPT, no whole-disk filesystem); `fatfs` needs `std` or the
//! unmaintained `core_io`. Reading is the small part of FAT, so the
//! firmware does it here, checked: the boot sector's geometry is validated
//! before any other sector is read; every cluster number read from a FAT is
//! range-checked; a file's chain must be exactly as long as its size says
//! (a loop or a cut chain is reported, never followed forever); directory
//! walks are bounded by the FAT limit of 65536 entries and detect loops
//! (Brent's algorithm). Nothing here panics on disk data.
//!
//! Source: Microsoft "FAT: General Overview of On-Disk Format" 1.03
//! (BPB fields, the cluster-count rule for the FAT type, FAT entry values,
//! directory entries, long-name entries and their checksum).
//!
//! Only 512-byte logical sectors (the disk's sector) are read.

use alloc::string::String;
use core::fmt;
use core::ops::ControlFlow;
use tianshan_partition::{BlockDevice, NotFat, SECTOR_SIZE, check_fat_boot_sector};

// Boot sector (BPB) offsets (FAT spec §3.1–3.3).
const BPB_BYTS_PER_SEC: usize = 11;
const BPB_SEC_PER_CLUS: usize = 13;
const BPB_RSVD_SEC_CNT: usize = 14;
const BPB_NUM_FATS: usize = 16;
const BPB_ROOT_ENT_CNT: usize = 17;
const BPB_TOT_SEC16: usize = 19;
const BPB_FAT_SZ16: usize = 22;
const BPB_TOT_SEC32: usize = 32;
const BPB_FAT_SZ32: usize = 36;
const BPB_ROOT_CLUS: usize = 44;

/// Below this many clusters a volume is FAT12, below `FAT16_MAX_CLUSTERS`
/// FAT16, else FAT32 (FAT spec §3.5: the count alone decides).
const FAT12_MAX_CLUSTERS: u64 = 4085;
const FAT16_MAX_CLUSTERS: u64 = 65525;
/// Most clusters FAT32's 28-bit entries can number.
const FAT32_MAX_CLUSTERS: u64 = 0x0FFF_FFF5;
/// The first data cluster's number.
const FIRST_CLUSTER: u32 = 2;

// Directory entries (FAT spec §6).
const DIR_ENTRY_SIZE: usize = 32;
const DIR_NAME_LEN: usize = 11;
const DIR_ATTR: usize = 11;
const DIR_NT_RES: usize = 12;
const DIR_FST_CLUS_HI: usize = 20;
const DIR_FST_CLUS_LO: usize = 26;
const DIR_FILE_SIZE: usize = 28;
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_LONG_NAME: u8 = 0x0F;
const ATTR_LONG_NAME_MASK: u8 = 0x3F;
/// First name byte of a free entry, and of the end of the directory.
const ENTRY_FREE: u8 = 0xE5;
const ENTRY_END: u8 = 0x00;
/// A first name byte of 0x05 stands for 0xE5 (a real character).
const ENTRY_KANJI_E5: u8 = 0x05;
/// A first name byte of 0x20 (a space) makes the entry invalid (FAT spec
/// §6.1): its 8.3 name would be empty, so it is passed over.
const ENTRY_INVALID_SPACE: u8 = b' ';
/// DIR_NTRes bits: base name / extension shown in lower case.
const NT_LOWER_BASE: u8 = 0x08;
const NT_LOWER_EXT: u8 = 0x10;
/// FAT spec §6: a directory has at most 65536 entries.
const MAX_DIR_ENTRIES: u64 = 65536;

// Long-name entries (FAT spec §7).
const LDIR_ORD: usize = 0;
const LDIR_CHKSUM: usize = 13;
const LDIR_LAST: u8 = 0x40;
const LDIR_ORD_MASK: u8 = 0x1F;
const LFN_UNITS_PER_ENTRY: usize = 13;
/// Offsets of the 13 UTF-16 units of a long-name entry.
const LFN_UNIT_OFFSETS: [usize; LFN_UNITS_PER_ENTRY] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
/// 255 characters need 20 entries.
const LFN_MAX_ENTRIES: usize = 20;

/// Which FAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatKind {
    /// 12-bit entries.
    Fat12,
    /// 16-bit entries.
    Fat16,
    /// 28-bit entries in 32 bits.
    Fat32,
}

impl FatKind {
    #[inline]
    fn entry_bits(self) -> u64 {
        match self {
            FatKind::Fat12 => 12,
            FatKind::Fat16 => 16,
            FatKind::Fat32 => 32,
        }
    }

    /// FAT entry value marking a bad cluster; values above it end a chain.
    #[inline]
    fn bad_marker(self) -> u32 {
        match self {
            FatKind::Fat12 => 0xFF7,
            FatKind::Fat16 => 0xFFF7,
            FatKind::Fat32 => 0x0FFF_FFF7,
        }
    }
}

impl fmt::Display for FatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FatKind::Fat12 => "FAT12",
            FatKind::Fat16 => "FAT16",
            FatKind::Fat32 => "FAT32",
        })
    }
}

/// What is wrong with a boot sector that passed the basic FAT checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadGeometry {
    /// Logical sectors other than 512 bytes.
    SectorSize {
        /// BPB_BytsPerSec.
        bytes: u16,
    },
    /// Both total-sector fields are 0.
    NoSectors,
    /// Both FAT-size fields are 0.
    NoFatSize,
    /// Reserved sectors, FATs and root directory leave no data area.
    NoDataArea {
        /// First sector after the metadata.
        data_start: u64,
        /// Sectors in the volume.
        total: u64,
    },
    /// The boot sector claims more sectors than the partition has.
    PastPartition {
        /// Sectors the boot sector claims.
        total: u64,
        /// Sectors in the partition.
        blocks: u64,
    },
    /// FAT32 with a FAT12/16-style root directory, or FAT12/16 without one.
    RootEntries {
        /// The type the cluster count gives.
        kind: FatKind,
        /// BPB_RootEntCnt.
        entries: u16,
    },
    /// More clusters than FAT32 entries can number.
    TooManyClusters {
        /// The cluster count.
        clusters: u64,
    },
    /// The FATs are too small for the volume's clusters.
    FatTooSmall {
        /// The type.
        kind: FatKind,
        /// FAT entries the clusters need (clusters + 2).
        needed: u64,
        /// Entries one FAT holds.
        room: u64,
    },
    /// FAT32's root directory cluster is not a data cluster.
    RootCluster {
        /// BPB_RootClus.
        cluster: u32,
        /// One past the last data cluster.
        end: u32,
    },
}

impl fmt::Display for BadGeometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BadGeometry::SectorSize { bytes } => {
                write!(f, "{bytes}-byte sectors are not supported (only {SECTOR_SIZE})")
            }
            BadGeometry::NoSectors => write!(f, "total sector count is 0"),
            BadGeometry::NoFatSize => write!(f, "FAT size is 0 sectors"),
            BadGeometry::NoDataArea { data_start, total } => write!(
                f,
                "reserved sectors, FATs and root directory end at sector {data_start}, leaving no data area in {total} sectors"
            ),
            BadGeometry::PastPartition { total, blocks } => {
                write!(f, "boot sector claims {total} sectors but the partition has {blocks}")
            }
            BadGeometry::RootEntries { kind, entries } => match kind {
                FatKind::Fat32 => write!(f, "FAT32 volume with {entries} root directory entries (must be 0)"),
                _ => write!(f, "{kind} volume with 0 root directory entries"),
            },
            BadGeometry::TooManyClusters { clusters } => {
                write!(f, "{clusters} clusters, more than FAT32 can number ({FAT32_MAX_CLUSTERS})")
            }
            BadGeometry::FatTooSmall { kind, needed, room } => {
                write!(f, "{kind} needs {needed} FAT entries for its clusters, but a FAT holds {room}")
            }
            BadGeometry::RootCluster { cluster, end } => {
                write!(f, "root directory cluster {cluster} is outside the data clusters 2..{end}")
            }
        }
    }
}

/// What is wrong with a cluster chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadChain {
    /// A file or directory starts outside the data clusters.
    Start {
        /// The first cluster.
        cluster: u32,
        /// One past the last data cluster.
        end: u32,
    },
    /// A FAT entry points outside the data clusters (0 is a free cluster).
    Link {
        /// The cluster whose entry it is.
        cluster: u32,
        /// The entry's value.
        next: u32,
        /// One past the last data cluster.
        end: u32,
    },
    /// A cluster in the chain is marked bad.
    BadCluster {
        /// The cluster.
        cluster: u32,
    },
    /// The chain comes back to a cluster it passed.
    Loop {
        /// The chain's first cluster.
        start: u32,
    },
    /// The chain ends before the file's size is covered.
    TooShort {
        /// The chain's first cluster.
        start: u32,
        /// Clusters found.
        found: u64,
        /// Clusters the size needs.
        needed: u64,
    },
    /// The chain goes on after the file's last cluster.
    TooLong {
        /// The chain's first cluster.
        start: u32,
        /// Clusters the size needs.
        needed: u64,
        /// The file's last cluster.
        last: u32,
        /// What its entry holds instead of end-of-chain.
        next: u32,
    },
    /// A directory longer than FAT's 65536 entries.
    DirectoryTooLong {
        /// The directory's first cluster.
        start: u32,
    },
}

impl fmt::Display for BadChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BadChain::Start { cluster, end } => {
                write!(f, "first cluster {cluster} is outside the data clusters 2..{end}")
            }
            BadChain::Link { cluster, next: 0, .. } => write!(f, "cluster {cluster} links to a free cluster"),
            BadChain::Link { cluster, next, end } => {
                write!(f, "cluster {cluster} links to cluster {next}, outside the data clusters 2..{end}")
            }
            BadChain::BadCluster { cluster } => write!(f, "cluster {cluster} is marked bad"),
            BadChain::Loop { start } => write!(f, "the cluster chain from cluster {start} loops"),
            BadChain::TooShort { start, found, needed } => write!(
                f,
                "the cluster chain from cluster {start} ends after {found} cluster(s); the size needs {needed}"
            ),
            BadChain::TooLong { start, needed, last, next } => write!(
                f,
                "the cluster chain from cluster {start} goes on after its {needed} cluster(s): \
                 cluster {last} links to {next}, not end-of-chain"
            ),
            BadChain::DirectoryTooLong { start } => {
                write!(f, "the directory at cluster {start} has more than {MAX_DIR_ENTRIES} entries")
            }
        }
    }
}

/// Why a FAT operation failed. `E` is the device's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FatError<E> {
    /// The device failed.
    Io(E),
    /// Sector 0 is not a FAT boot sector.
    NotFat(NotFat),
    /// The boot sector's geometry is impossible.
    Geometry(BadGeometry),
    /// A cluster chain is damaged.
    Chain(BadChain),
    /// A path component does not exist.
    NotFound,
    /// A path component before the last is a file.
    NotADirectory,
    /// A directory was given where a file is needed.
    IsADirectory,
}

impl<E: fmt::Display> fmt::Display for FatError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FatError::Io(e) => write!(f, "{e}"),
            FatError::NotFat(why) => write!(f, "not a FAT file system ({why})"),
            FatError::Geometry(why) => write!(f, "corrupt FAT boot sector: {why}"),
            FatError::Chain(why) => write!(f, "corrupt FAT: {why}"),
            FatError::NotFound => write!(f, "file not found"),
            FatError::NotADirectory => write!(f, "not a directory"),
            FatError::IsADirectory => write!(f, "is a directory"),
        }
    }
}

impl<E> From<BadChain> for FatError<E> {
    #[inline]
    fn from(c: BadChain) -> Self {
        FatError::Chain(c)
    }
}

/// A file or directory found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The long name, or the 8.3 name when there is none.
    pub name: String,
    /// True for a directory.
    pub is_dir: bool,
    /// Size in bytes (0 for directories).
    pub size: u32,
    /// First cluster; 0 for an empty file, or for the root in `..`.
    pub cluster: u32,
}

impl Node {
    #[inline]
    fn root() -> Node {
        Node { name: String::from("/"), is_dir: true, size: 0, cluster: 0 }
    }
}

/// Where a directory's entries are.
#[derive(Clone, Copy, Debug)]
enum DirLocation {
    /// FAT12/16: the fixed root directory region.
    FixedRoot,
    /// A cluster chain.
    Chain(u32),
}

/// A mounted FAT volume: its geometry and a one-sector FAT cache. It holds
/// no device: every operation takes the device, so the caller can close
/// the device (and reset it) between operations.
pub struct Volume {
    kind: FatKind,
    sectors_per_cluster: u64,
    fat_start: u64,
    root_start: u64,
    root_sectors: u64,
    data_start: u64,
    /// One past the last data cluster's number.
    cluster_end: u32,
    root_cluster: u32,
    cache_lba: Option<u64>,
    cache: [u8; SECTOR_SIZE],
}

#[inline]
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline]
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The checksum of an 8.3 name that long-name entries carry (FAT spec §7.2).
#[inline]
fn short_name_checksum(name: &[u8]) -> u8 {
    name.iter().fold(0u8, |sum, &b| (sum >> 1).wrapping_add(sum << 7).wrapping_add(b))
}

/// `NAME    EXT` as `name.ext`, honouring the lower-case flags.
#[inline]
fn short_name(entry: &[u8]) -> String {
    let lower_base = entry[DIR_NT_RES] & NT_LOWER_BASE != 0;
    let lower_ext = entry[DIR_NT_RES] & NT_LOWER_EXT != 0;
    let mut out = String::new();
    let push = |out: &mut String, bytes: &[u8], lower: bool| {
        let len = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        for (i, &b) in bytes[..len].iter().enumerate() {
            let b = if i == 0 && b == ENTRY_KANJI_E5 { ENTRY_FREE } else { b };
            let c = char::from(b);
            out.push(if lower { c.to_ascii_lowercase() } else { c });
        }
    };
    push(&mut out, &entry[..8], lower_base);
    if entry[8..DIR_NAME_LEN].iter().any(|&b| b != b' ') {
        out.push('.');
        push(&mut out, &entry[8..DIR_NAME_LEN], lower_ext);
    }
    out
}

/// Case-insensitive name comparison, as FAT compares names.
#[inline]
pub fn names_match(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// Long-name entries seen so far, waiting for their short entry.
struct LongName {
    units: [u16; LFN_MAX_ENTRIES * LFN_UNITS_PER_ENTRY],
    /// The order number the next entry must have; 0 when none is pending.
    expect: u8,
    checksum: u8,
    count: usize,
}

impl LongName {
    #[inline]
    fn new() -> Self {
        LongName { units: [0; LFN_MAX_ENTRIES * LFN_UNITS_PER_ENTRY], expect: 0, checksum: 0, count: 0 }
    }

    #[inline]
    fn reset(&mut self) {
        self.expect = 0;
    }

    #[inline]
    fn add(&mut self, entry: &[u8]) {
        let ord = entry[LDIR_ORD] & LDIR_ORD_MASK;
        let checksum = entry[LDIR_CHKSUM];
        if entry[LDIR_ORD] & LDIR_LAST != 0 {
            if ord == 0 || usize::from(ord) > LFN_MAX_ENTRIES {
                self.reset();
                return;
            }
            self.count = usize::from(ord);
            self.checksum = checksum;
        } else if self.expect == 0 || ord + 1 != self.expect || checksum != self.checksum {
            // Out of sequence: an orphan, ignored as FAT says.
            self.reset();
            return;
        }
        let base = (usize::from(ord) - 1) * LFN_UNITS_PER_ENTRY;
        for (i, &off) in LFN_UNIT_OFFSETS.iter().enumerate() {
            self.units[base + i] = le16(entry, off);
        }
        self.expect = ord;
    }

    /// The long name for the short entry `entry`, if the pending entries
    /// are complete and belong to it.
    #[inline]
    fn take(&mut self, entry: &[u8]) -> Option<String> {
        let complete = self.expect == 1 && self.checksum == short_name_checksum(&entry[..DIR_NAME_LEN]);
        self.reset();
        if !complete {
            return None;
        }
        let all = &self.units[..self.count * LFN_UNITS_PER_ENTRY];
        let len = all.iter().position(|&u| u == 0 || u == 0xFFFF).unwrap_or(all.len());
        let name: String =
            char::decode_utf16(all[..len].iter().copied()).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
        (!name.is_empty()).then_some(name)
    }
}

/// Follows a chain one link at a time, checking each link and detecting
/// loops (Brent's algorithm: a loop is found within a few times its length).
struct ChainWalk {
    start: u32,
    tortoise: u32,
    power: u64,
    steps: u64,
}

impl ChainWalk {
    #[inline]
    fn new(start: u32) -> Self {
        ChainWalk { start, tortoise: start, power: 1, steps: 0 }
    }

    #[inline]
    fn step(&mut self, next: u32) -> Result<(), BadChain> {
        if next == self.tortoise {
            return Err(BadChain::Loop { start: self.start });
        }
        self.steps += 1;
        if self.steps == self.power {
            self.tortoise = next;
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        Ok(())
    }
}

impl Volume {
    /// Reads and checks the boot sector of the volume on `dev`.
    pub fn mount<D: BlockDevice>(dev: &mut D) -> Result<Volume, FatError<D::Error>> {
        let mut bs = [0u8; SECTOR_SIZE];
        dev.read_blocks(0, &mut bs).map_err(FatError::Io)?;
        check_fat_boot_sector(&bs).map_err(FatError::NotFat)?;
        let geometry = |g| FatError::Geometry(g);
        let bytes = le16(&bs, BPB_BYTS_PER_SEC);
        if usize::from(bytes) != SECTOR_SIZE {
            return Err(geometry(BadGeometry::SectorSize { bytes }));
        }
        let sectors_per_cluster = u64::from(bs[BPB_SEC_PER_CLUS]);
        if sectors_per_cluster == 0 {
            // check_fat_boot_sector refuses 0 (not a power of two); kept
            // so the division below can never be by zero.
            return Err(FatError::NotFat(NotFat::SectorsPerCluster(0)));
        }
        let reserved = u64::from(le16(&bs, BPB_RSVD_SEC_CNT));
        let fats = u64::from(bs[BPB_NUM_FATS]);
        let root_entries = le16(&bs, BPB_ROOT_ENT_CNT);
        let total = match le16(&bs, BPB_TOT_SEC16) {
            0 => u64::from(le32(&bs, BPB_TOT_SEC32)),
            n => u64::from(n),
        };
        if total == 0 {
            return Err(geometry(BadGeometry::NoSectors));
        }
        let fat_size = match le16(&bs, BPB_FAT_SZ16) {
            0 => u64::from(le32(&bs, BPB_FAT_SZ32)),
            n => u64::from(n),
        };
        if fat_size == 0 {
            return Err(geometry(BadGeometry::NoFatSize));
        }
        let root_sectors = (u64::from(root_entries) * DIR_ENTRY_SIZE as u64).div_ceil(SECTOR_SIZE as u64);
        // All factors are below 2^32, so none of this can overflow u64.
        let root_start = reserved + fats * fat_size;
        let data_start = root_start + root_sectors;
        if data_start >= total {
            return Err(geometry(BadGeometry::NoDataArea { data_start, total }));
        }
        let blocks = dev.block_count();
        if total > blocks {
            return Err(geometry(BadGeometry::PastPartition { total, blocks }));
        }
        let clusters = (total - data_start) / sectors_per_cluster;
        let kind = if clusters < FAT12_MAX_CLUSTERS {
            FatKind::Fat12
        } else if clusters < FAT16_MAX_CLUSTERS {
            FatKind::Fat16
        } else {
            FatKind::Fat32
        };
        if (kind == FatKind::Fat32) != (root_entries == 0) {
            return Err(geometry(BadGeometry::RootEntries { kind, entries: root_entries }));
        }
        if clusters > FAT32_MAX_CLUSTERS {
            return Err(geometry(BadGeometry::TooManyClusters { clusters }));
        }
        let needed = clusters + u64::from(FIRST_CLUSTER);
        let room = fat_size * SECTOR_SIZE as u64 * 8 / kind.entry_bits();
        if room < needed {
            return Err(geometry(BadGeometry::FatTooSmall { kind, needed, room }));
        }
        // needed <= FAT32_MAX_CLUSTERS + 2 < 2^32.
        let cluster_end = needed as u32;
        let root_cluster = if kind == FatKind::Fat32 { le32(&bs, BPB_ROOT_CLUS) } else { 0 };
        if kind == FatKind::Fat32 && !(FIRST_CLUSTER..cluster_end).contains(&root_cluster) {
            return Err(geometry(BadGeometry::RootCluster { cluster: root_cluster, end: cluster_end }));
        }
        Ok(Volume {
            kind,
            sectors_per_cluster,
            fat_start: reserved,
            root_start,
            root_sectors,
            data_start,
            cluster_end,
            root_cluster,
            cache_lba: None,
            cache: [0; SECTOR_SIZE],
        })
    }

    /// FAT12, FAT16 or FAT32.
    #[inline]
    pub fn kind(&self) -> FatKind {
        self.kind
    }

    #[inline]
    fn cluster_bytes(&self) -> u64 {
        self.sectors_per_cluster * SECTOR_SIZE as u64
    }

    #[inline]
    fn check_start(&self, cluster: u32) -> Result<(), BadChain> {
        if (FIRST_CLUSTER..self.cluster_end).contains(&cluster) {
            Ok(())
        } else {
            Err(BadChain::Start { cluster, end: self.cluster_end })
        }
    }

    /// First sector of data cluster `cluster` (already range-checked).
    #[inline]
    fn cluster_lba(&self, cluster: u32) -> u64 {
        self.data_start + u64::from(cluster - FIRST_CLUSTER) * self.sectors_per_cluster
    }

    /// Byte `offset` of the first FAT.
    fn fat_byte<D: BlockDevice>(&mut self, dev: &mut D, offset: u64) -> Result<u8, FatError<D::Error>> {
        let lba = self.fat_start + offset / SECTOR_SIZE as u64;
        if self.cache_lba != Some(lba) {
            self.cache_lba = None;
            dev.read_blocks(lba, &mut self.cache).map_err(FatError::Io)?;
            self.cache_lba = Some(lba);
        }
        Ok(self.cache[(offset % SECTOR_SIZE as u64) as usize])
    }

    /// The next cluster after `cluster` (a valid data cluster), or `None`
    /// at the end of the chain.
    fn next<D: BlockDevice>(&mut self, dev: &mut D, cluster: u32) -> Result<Option<u32>, FatError<D::Error>> {
        let c = u64::from(cluster);
        let value = match self.kind {
            FatKind::Fat12 => {
                let off = c + c / 2;
                let pair = u16::from_le_bytes([self.fat_byte(dev, off)?, self.fat_byte(dev, off + 1)?]);
                u32::from(if cluster.is_multiple_of(2) { pair & 0x0FFF } else { pair >> 4 })
            }
            FatKind::Fat16 => {
                let off = c * 2;
                u32::from(u16::from_le_bytes([self.fat_byte(dev, off)?, self.fat_byte(dev, off + 1)?]))
            }
            FatKind::Fat32 => {
                let off = c * 4;
                let mut b = [0u8; 4];
                for (i, byte) in b.iter_mut().enumerate() {
                    *byte = self.fat_byte(dev, off + i as u64)?;
                }
                u32::from_le_bytes(b) & 0x0FFF_FFFF
            }
        };
        let bad = self.kind.bad_marker();
        if value > bad {
            Ok(None)
        } else if value == bad {
            Err(BadChain::BadCluster { cluster }.into())
        } else if !(FIRST_CLUSTER..self.cluster_end).contains(&value) {
            Err(BadChain::Link { cluster, next: value, end: self.cluster_end }.into())
        } else {
            Ok(Some(value))
        }
    }

    /// Calls `f` for each used entry of the directory at `dir` (with `.`
    /// and `..`), until it breaks. Long names are attached when valid.
    fn walk_dir<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        dir: DirLocation,
        f: &mut dyn FnMut(Node) -> ControlFlow<()>,
    ) -> Result<(), FatError<D::Error>> {
        let mut lfn = LongName::new();
        let mut sector = [0u8; SECTOR_SIZE];
        let mut visit = |sector: &[u8; SECTOR_SIZE], lfn: &mut LongName| -> ControlFlow<()> {
            for entry in sector.chunks_exact(DIR_ENTRY_SIZE) {
                let attr = entry[DIR_ATTR];
                match entry[0] {
                    ENTRY_END => return ControlFlow::Break(()),
                    ENTRY_FREE | ENTRY_INVALID_SPACE => lfn.reset(),
                    _ if attr & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME => lfn.add(entry),
                    _ if attr & ATTR_VOLUME_ID != 0 => lfn.reset(),
                    _ => {
                        let name = lfn.take(entry).unwrap_or_else(|| short_name(entry));
                        let cluster =
                            (u32::from(le16(entry, DIR_FST_CLUS_HI)) << 16) | u32::from(le16(entry, DIR_FST_CLUS_LO));
                        let is_dir = attr & ATTR_DIRECTORY != 0;
                        let size = if is_dir { 0 } else { le32(entry, DIR_FILE_SIZE) };
                        f(Node { name, is_dir, size, cluster })?;
                    }
                }
            }
            ControlFlow::Continue(())
        };
        match dir {
            DirLocation::FixedRoot => {
                for i in 0..self.root_sectors {
                    dev.read_blocks(self.root_start + i, &mut sector).map_err(FatError::Io)?;
                    if visit(&sector, &mut lfn).is_break() {
                        break;
                    }
                }
            }
            DirLocation::Chain(start) => {
                self.check_start(start)?;
                let mut walk = ChainWalk::new(start);
                let mut cluster = start;
                let mut entries = 0u64;
                let per_sector = (SECTOR_SIZE / DIR_ENTRY_SIZE) as u64;
                'chain: loop {
                    for i in 0..self.sectors_per_cluster {
                        if entries >= MAX_DIR_ENTRIES {
                            return Err(BadChain::DirectoryTooLong { start }.into());
                        }
                        dev.read_blocks(self.cluster_lba(cluster) + i, &mut sector).map_err(FatError::Io)?;
                        entries += per_sector;
                        if visit(&sector, &mut lfn).is_break() {
                            break 'chain;
                        }
                    }
                    match self.next(dev, cluster)? {
                        Some(next) => {
                            walk.step(next)?;
                            cluster = next;
                        }
                        None => break,
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn location(&self, node: &Node) -> DirLocation {
        match (node.cluster, self.kind) {
            (0, FatKind::Fat32) => DirLocation::Chain(self.root_cluster),
            (0, _) => DirLocation::FixedRoot,
            (c, _) => DirLocation::Chain(c),
        }
    }

    /// Finds `path` (`/`-separated from the root; empty and `.` components
    /// are skipped; names compare without regard to case).
    pub fn lookup<D: BlockDevice>(&mut self, dev: &mut D, path: &str) -> Result<Node, FatError<D::Error>> {
        let mut node = Node::root();
        for component in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if !node.is_dir {
                return Err(FatError::NotADirectory);
            }
            let dir = self.location(&node);
            let mut found = None;
            self.walk_dir(dev, dir, &mut |entry| {
                if names_match(&entry.name, component) {
                    found = Some(entry);
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            node = found.ok_or(FatError::NotFound)?;
        }
        Ok(node)
    }

    /// Calls `f` for each entry of directory `dir` (without `.` and `..`).
    pub fn list<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        dir: &Node,
        f: &mut dyn FnMut(&Node),
    ) -> Result<(), FatError<D::Error>> {
        if !dir.is_dir {
            return Err(FatError::NotADirectory);
        }
        let location = self.location(dir);
        self.walk_dir(dev, location, &mut |entry| {
            if entry.name != "." && entry.name != ".." {
                f(&entry);
            }
            ControlFlow::Continue(())
        })
    }

    /// Reads the first `min(file size, buf.len())` bytes of `file` into
    /// `buf`; returns how many. Reading the whole file also checks that its
    /// chain ends exactly where its size says.
    pub fn read<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        file: &Node,
        buf: &mut [u8],
    ) -> Result<usize, FatError<D::Error>> {
        if file.is_dir {
            return Err(FatError::IsADirectory);
        }
        let size = u64::from(file.size);
        let want = size.min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let whole_file = want as u64 == size;
        let start = file.cluster;
        self.check_start(start)?;
        let cluster_bytes = self.cluster_bytes();
        let needed = size.div_ceil(cluster_bytes);
        let to_read = (want as u64).div_ceil(cluster_bytes);
        let mut done = 0usize;
        // A run of consecutive clusters is read with one request.
        let mut run_start = start;
        let mut run_len = 1u64;
        let mut cluster = start;
        // Clusters visited so far, `cluster` included.
        let mut walked = 1u64;
        let mut walk = ChainWalk::new(start);
        loop {
            let last = walked == to_read;
            let next = if !last || whole_file { self.next(dev, cluster)? } else { None };
            match next {
                None if !last => return Err(BadChain::TooShort { start, found: walked, needed }.into()),
                Some(next) if last => return Err(BadChain::TooLong { start, needed, last: cluster, next }.into()),
                _ => {}
            }
            let contiguous = next.is_some_and(|n| u64::from(n) == u64::from(cluster) + 1);
            if last || !contiguous {
                let lba = self.cluster_lba(run_start);
                let bytes = (run_len * cluster_bytes).min((want - done) as u64) as usize;
                self.read_bytes(dev, lba, &mut buf[done..done + bytes])?;
                done += bytes;
                run_len = 0;
            }
            // Not the last cluster to read, so `next` is Some (checked above).
            let Some(next) = next.filter(|_| !last) else { return Ok(done) };
            walk.step(next)?;
            if run_len == 0 {
                run_start = next;
            }
            cluster = next;
            run_len += 1;
            walked += 1;
        }
    }

    /// Reads `buf.len()` bytes from sector `lba` on: whole sectors straight
    /// into `buf`, a final partial sector through a bounce buffer.
    fn read_bytes<D: BlockDevice>(&mut self, dev: &mut D, lba: u64, buf: &mut [u8]) -> Result<(), FatError<D::Error>> {
        let whole = buf.len() / SECTOR_SIZE * SECTOR_SIZE;
        if whole > 0 {
            dev.read_blocks(lba, &mut buf[..whole]).map_err(FatError::Io)?;
        }
        if whole < buf.len() {
            let mut sector = [0u8; SECTOR_SIZE];
            dev.read_blocks(lba + (whole / SECTOR_SIZE) as u64, &mut sector).map_err(FatError::Io)?;
            let rest = buf.len() - whole;
            buf[whole..].copy_from_slice(&sector[..rest]);
        }
        Ok(())
    }
}

//! The parsed partition table: partitions, their types, and what was wrong.
//!
//! A `PartitionTable` holds at most `MAX_PARTITIONS` partitions and
//! `MAX_DIAGNOSTICS` diagnostics in fixed arrays (no heap). Every partition in
//! it has passed `PartitionTable::push`: it is non-empty, lies on the disk, and
//! overlaps no other listed partition. Entries that fail are left out and
//! described by a `Diagnostic`, so one bad entry does not hide the others.

use crate::device::SECTOR_SIZE;
use crate::gpt::GptProblem;
use crate::guid::Guid;
use core::fmt;

/// Most partitions a table keeps: a standard GPT's 128 entries all fit.
pub const MAX_PARTITIONS: usize = 128;
/// Most diagnostics a table keeps; later ones are only counted.
pub const MAX_DIAGNOSTICS: usize = 16;
/// UTF-16 code units in a GPT partition name (72 bytes, UEFI 2.10 §5.3.3).
pub const GPT_NAME_UNITS: usize = 36;

/// Which kind of table the disk has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// GUID Partition Table (UEFI 2.10 §5.3).
    Gpt {
        /// The disk's GUID from the header that was used.
        disk_guid: Guid,
        /// True when the primary header was unusable and the backup was read.
        used_backup: bool,
    },
    /// Classic MBR with optional extended partitions (UEFI 2.10 §5.2.1).
    Mbr {
        /// The 32-bit disk signature at byte 440 of sector 0.
        disk_signature: u32,
    },
}

/// A GPT partition name: up to 36 UTF-16LE code units, NUL-terminated when shorter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PartitionName {
    units: [u16; GPT_NAME_UNITS],
}

impl PartitionName {
    /// The empty name.
    pub const EMPTY: PartitionName = PartitionName { units: [0; GPT_NAME_UNITS] };

    /// The name stored in these 72 on-disk bytes (little-endian UTF-16).
    pub fn from_le_bytes(bytes: &[u8; 2 * GPT_NAME_UNITS]) -> PartitionName {
        let mut units = [0u16; GPT_NAME_UNITS];
        for (unit, pair) in units.iter_mut().zip(bytes.chunks_exact(2)) {
            *unit = u16::from_le_bytes([pair[0], pair[1]]);
        }
        PartitionName { units }
    }

    /// The code units before the first NUL.
    pub fn as_utf16(&self) -> &[u16] {
        let len = self.units.iter().position(|&u| u == 0).unwrap_or(GPT_NAME_UNITS);
        &self.units[..len]
    }

    /// True when the name has no characters.
    pub fn is_empty(&self) -> bool {
        self.as_utf16().is_empty()
    }

    /// The characters of the name; an unpaired surrogate reads as U+FFFD.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        char::decode_utf16(self.as_utf16().iter().copied()).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    /// True when the name is exactly `text`.
    pub fn matches(&self, text: &str) -> bool {
        self.chars().eq(text.chars())
    }
}

impl fmt::Display for PartitionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        self.chars().try_for_each(|c| f.write_char(c))
    }
}

impl fmt::Debug for PartitionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// What the table says about a partition beyond where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// A GPT entry (UEFI 2.10 §5.3.3).
    Gpt {
        /// Partition type GUID.
        type_guid: Guid,
        /// This partition's own GUID.
        unique_guid: Guid,
        /// Attribute bits (bit 0: required, bit 2: legacy BIOS bootable, 48..63: type-specific).
        attributes: u64,
        /// The partition name.
        name: PartitionName,
    },
    /// An MBR primary or logical partition (UEFI 2.10 §5.2.1).
    Mbr {
        /// The OS type byte.
        type_byte: u8,
        /// Boot indicator 0x80.
        bootable: bool,
        /// True for a logical partition inside an extended partition.
        logical: bool,
    },
}

/// One partition: where it is and what the table says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Partition number, 1-based as Linux numbers them: the GPT entry slot
    /// plus one, MBR primaries 1..=4, logical partitions from 5 in chain order.
    pub index: u32,
    /// First block on the disk.
    pub first_lba: u64,
    /// Number of blocks (at least 1).
    pub block_count: u64,
    /// Type and table-specific fields.
    pub kind: PartitionKind,
}

/// MBR type bytes of FAT variants (the type bytes that UEFI 2.10 §5.2.2 and common
/// practice use: FAT12, FAT16 <32M, FAT16, FAT32, FAT32 LBA, FAT16 LBA, EFI System).
const MBR_FAT_TYPES: [u8; 7] = [0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E, MBR_TYPE_EFI_SYSTEM];
/// MBR OS type of an EFI System Partition (UEFI 2.10 §5.2.2).
pub const MBR_TYPE_EFI_SYSTEM: u8 = 0xEF;
/// MBR OS type of a Linux filesystem (Linux's partition type list).
pub const MBR_TYPE_LINUX: u8 = 0x83;

/// A name for a well-known MBR type byte.
pub fn mbr_type_name(type_byte: u8) -> Option<&'static str> {
    Some(match type_byte {
        0x01 => "FAT12",
        0x04 => "FAT16 <32M",
        0x05 => "Extended",
        0x06 => "FAT16",
        0x07 => "NTFS/exFAT",
        0x0B => "FAT32",
        0x0C => "FAT32 (LBA)",
        0x0E => "FAT16 (LBA)",
        0x0F => "Extended (LBA)",
        0x82 => "Linux swap",
        0x83 => "Linux",
        0x85 => "Linux extended",
        0x8E => "Linux LVM",
        0xEE => "GPT protective",
        0xEF => "EFI System",
        0xFD => "Linux raid autodetect",
        _ => return None,
    })
}

impl Partition {
    /// Last block (inclusive).
    pub fn last_lba(&self) -> u64 {
        // block_count >= 1 and first_lba + block_count <= disk size, checked by `push`.
        self.first_lba.saturating_add(self.block_count).saturating_sub(1)
    }

    /// One past the last block.
    pub fn end_lba(&self) -> u64 {
        self.first_lba.saturating_add(self.block_count)
    }

    /// Size in bytes (saturating; a real partition is far below 16 EiB).
    pub fn size_bytes(&self) -> u64 {
        self.block_count.saturating_mul(SECTOR_SIZE as u64)
    }

    /// The GPT name, for GPT partitions with a non-empty name.
    pub fn name(&self) -> Option<&PartitionName> {
        match &self.kind {
            PartitionKind::Gpt { name, .. } if !name.is_empty() => Some(name),
            _ => None,
        }
    }

    /// A name for the partition's type, when it is a well-known one.
    pub fn type_name(&self) -> Option<&'static str> {
        match self.kind {
            PartitionKind::Gpt { type_guid, .. } => type_guid.type_name(),
            PartitionKind::Mbr { type_byte, .. } => mbr_type_name(type_byte),
        }
    }

    /// True for an EFI System Partition (GPT type or MBR type 0xEF).
    pub fn is_efi_system(&self) -> bool {
        match self.kind {
            PartitionKind::Gpt { type_guid, .. } => type_guid == Guid::EFI_SYSTEM,
            PartitionKind::Mbr { type_byte, .. } => type_byte == MBR_TYPE_EFI_SYSTEM,
        }
    }

    /// True for a Linux filesystem partition (GPT Linux filesystem or MBR type 0x83).
    pub fn is_linux_filesystem(&self) -> bool {
        match self.kind {
            PartitionKind::Gpt { type_guid, .. } => type_guid == Guid::LINUX_FILESYSTEM,
            PartitionKind::Mbr { type_byte, .. } => type_byte == MBR_TYPE_LINUX,
        }
    }

    /// True when the type says the partition holds (or usually holds) FAT:
    /// MBR FAT types and 0xEF; GPT EFI System and Microsoft basic data (which may
    /// also be NTFS or exFAT: the filesystem code still checks the boot sector).
    pub fn is_fat(&self) -> bool {
        match self.kind {
            PartitionKind::Gpt { type_guid, .. } => {
                type_guid == Guid::EFI_SYSTEM || type_guid == Guid::MICROSOFT_BASIC_DATA
            }
            PartitionKind::Mbr { type_byte, .. } => MBR_FAT_TYPES.contains(&type_byte),
        }
    }

    /// True when `self` and `other` share at least one block.
    pub fn overlaps(&self, other: &Partition) -> bool {
        self.first_lba < other.end_lba() && other.first_lba < self.end_lba()
    }
}

/// Writes a byte count with a binary unit: `64 MiB`, `1.5 GiB`, `512 bytes`.
pub(crate) struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let bytes = self.0;
        let mut unit = 0;
        while unit + 1 < UNITS.len() && bytes >> (10 * (unit + 1)) != 0 {
            unit += 1;
        }
        let shift = 10 * unit;
        let whole = bytes >> shift;
        let rest = bytes - (whole << shift);
        if rest == 0 {
            write!(f, "{whole} {}", UNITS[unit])
        } else {
            let tenths = (u128::from(rest) * 10) >> shift;
            write!(f, "{whole}.{tenths} {}", UNITS[unit])
        }
    }
}

/// One line: `1  start 2048  size 64 MiB  EFI System  "boot"`.
impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  start {}  size {}  ", self.index, self.first_lba, Size(self.size_bytes()))?;
        match (self.type_name(), self.kind) {
            (Some(name), _) => f.write_str(name)?,
            (None, PartitionKind::Gpt { type_guid, .. }) => write!(f, "type {type_guid}")?,
            (None, PartitionKind::Mbr { type_byte, .. }) => write!(f, "type 0x{type_byte:02x}")?,
        }
        match self.kind {
            PartitionKind::Gpt { name, .. } => {
                if !name.is_empty() {
                    write!(f, "  \"{name}\"")?;
                }
            }
            PartitionKind::Mbr { bootable, logical, .. } => {
                if logical {
                    f.write_str("  logical")?;
                }
                if bootable {
                    f.write_str("  bootable")?;
                }
            }
        }
        Ok(())
    }
}

/// Why one table entry was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionProblem {
    /// The entry has a type but no blocks.
    ZeroSize {
        /// Partition number.
        index: u32,
        /// Where it would start.
        first_lba: u64,
    },
    /// A GPT entry whose last LBA comes before its first.
    Reversed {
        /// Partition number.
        index: u32,
        /// First LBA as stored.
        first_lba: u64,
        /// Last LBA as stored (inclusive).
        last_lba: u64,
    },
    /// The partition does not end within the disk (or its end overflows).
    BeyondDisk {
        /// Partition number.
        index: u32,
        /// First LBA.
        first_lba: u64,
        /// Size in blocks.
        block_count: u64,
        /// The disk's size in blocks.
        disk_blocks: u64,
    },
    /// A GPT partition outside the header's usable range (UEFI 2.10 §5.3.2).
    OutsideUsable {
        /// Partition number.
        index: u32,
        /// First LBA.
        first_lba: u64,
        /// Last LBA (inclusive).
        last_lba: u64,
        /// FirstUsableLBA from the header.
        first_usable: u64,
        /// LastUsableLBA from the header.
        last_usable: u64,
    },
    /// The partition covers the block holding its own table (MBR or EBR).
    CoversTable {
        /// Partition number.
        index: u32,
        /// LBA of the table sector.
        table_lba: u64,
    },
    /// A logical partition not inside its extended partition.
    OutsideExtended {
        /// Partition number.
        index: u32,
        /// First LBA.
        first_lba: u64,
        /// Size in blocks.
        block_count: u64,
        /// The extended partition's first LBA.
        extended_first: u64,
        /// One past the extended partition's last LBA.
        extended_end: u64,
    },
    /// The partition shares blocks with one listed earlier.
    Overlaps {
        /// Partition number.
        index: u32,
        /// First LBA.
        first_lba: u64,
        /// One past the last LBA.
        end_lba: u64,
        /// The earlier partition's number.
        other: u32,
        /// Its first LBA.
        other_first: u64,
        /// One past its last LBA.
        other_end: u64,
    },
}

impl fmt::Display for PartitionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PartitionProblem::ZeroSize { index, first_lba } => {
                write!(f, "partition {index} (at LBA {first_lba}) has a type but a size of 0 blocks")
            }
            PartitionProblem::Reversed { index, first_lba, last_lba } => {
                write!(f, "partition {index} ends (last LBA {last_lba}) before it starts (first LBA {first_lba})")
            }
            PartitionProblem::BeyondDisk { index, first_lba, block_count, disk_blocks } => {
                write!(f, "partition {index} (LBA {first_lba}..")?;
                match first_lba.checked_add(block_count) {
                    Some(end) => write!(f, "{end}")?,
                    None => write!(f, "{first_lba}+{block_count}, past 2^64")?,
                }
                write!(f, ") extends past the end of the disk ({disk_blocks} blocks)")
            }
            PartitionProblem::OutsideUsable { index, first_lba, last_lba, first_usable, last_usable } => write!(
                f,
                "partition {index} (LBA {first_lba}..={last_lba}) is outside the GPT usable range \
                 {first_usable}..={last_usable}"
            ),
            PartitionProblem::CoversTable { index, table_lba } => {
                write!(f, "partition {index} covers its own partition table at LBA {table_lba}")
            }
            PartitionProblem::OutsideExtended { index, first_lba, block_count, extended_first, extended_end } => {
                write!(
                    f,
                    "logical partition {index} (LBA {first_lba}, {block_count} blocks) is outside its extended partition (LBA {extended_first}..{extended_end})"
                )
            }
            PartitionProblem::Overlaps { index, first_lba, end_lba, other, other_first, other_end } => write!(
                f,
                "partition {index} (LBA {first_lba}..{end_lba}) overlaps partition {other} \
                 (LBA {other_first}..{other_end})"
            ),
        }
    }
}

/// Something wrong or unusual about the table that did not stop it being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagnostic {
    /// An entry was left out of the table.
    Skipped(PartitionProblem),
    /// The primary GPT was unusable; the backup was read instead.
    PrimaryGptInvalid {
        /// What was wrong with the primary.
        problem: GptProblem,
        /// Where the backup header that was used lives.
        backup_lba: u64,
    },
    /// The primary GPT is fine but its backup header is not.
    BackupGptInvalid {
        /// What was wrong with the backup.
        problem: GptProblem,
    },
    /// The primary GPT header's AlternateLBA is not the disk's last block
    /// (the disk was resized, or the table was written for another disk).
    BackupNotAtEnd {
        /// AlternateLBA from the primary header.
        alternate_lba: u64,
        /// The disk's last LBA.
        last_lba: u64,
    },
    /// A valid GPT was found although sector 0 has no protective MBR.
    GptWithoutProtectiveMbr,
    /// An MBR partition list was used although sector 0 also parses as a FAT boot sector.
    MbrAlsoLooksLikeFat,
    /// An EBR sector lacks the 0x55AA signature; the chain ends there.
    EbrWithoutSignature {
        /// LBA of the EBR.
        lba: u64,
    },
    /// An EBR's link points outside its extended partition; the chain ends there.
    EbrLinkOutside {
        /// LBA of the EBR holding the link.
        lba: u64,
        /// Where the link points.
        next_lba: u64,
        /// The extended partition's first LBA.
        extended_first: u64,
        /// One past its last LBA.
        extended_end: u64,
    },
    /// The EBR chain came back to an EBR already read; the chain ends there.
    EbrLoop {
        /// The EBR that was reached a second time.
        lba: u64,
    },
    /// The EBR chain has more links than `MAX_EBR_LINKS`; the rest is ignored.
    EbrChainTooLong {
        /// The limit that was reached.
        limit: usize,
    },
    /// More partitions than `MAX_PARTITIONS`; the later ones are left out.
    TooManyPartitions {
        /// How many were left out.
        dropped: usize,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Diagnostic::Skipped(problem) => write!(f, "{problem}; ignored"),
            Diagnostic::PrimaryGptInvalid { problem, backup_lba } => {
                write!(f, "primary GPT is invalid ({problem}); using the backup GPT header at LBA {backup_lba}")
            }
            Diagnostic::BackupGptInvalid { problem } => write!(f, "backup GPT is invalid: {problem}"),
            Diagnostic::BackupNotAtEnd { alternate_lba, last_lba } => write!(
                f,
                "primary GPT header places the backup at LBA {alternate_lba}, not at the disk's last LBA {last_lba}"
            ),
            Diagnostic::GptWithoutProtectiveMbr => {
                write!(f, "GPT found, but sector 0 has no protective MBR (no 0x55AA signature)")
            }
            Diagnostic::MbrAlsoLooksLikeFat => {
                write!(f, "sector 0 also parses as a FAT boot sector; its MBR partition entries were used")
            }
            Diagnostic::EbrWithoutSignature { lba } => {
                write!(f, "EBR at LBA {lba} has no 0x55AA signature; logical partitions end there")
            }
            Diagnostic::EbrLinkOutside { lba, next_lba, extended_first, extended_end } => write!(
                f,
                "EBR at LBA {lba} links to LBA {next_lba}, outside its extended partition \
                 (LBA {extended_first}..{extended_end}); logical partitions end there"
            ),
            Diagnostic::EbrLoop { lba } => {
                write!(f, "EBR chain loops back to LBA {lba}; logical partitions end there")
            }
            Diagnostic::EbrChainTooLong { limit } => {
                write!(f, "EBR chain is longer than {limit} links; the rest is ignored")
            }
            Diagnostic::TooManyPartitions { dropped } => {
                write!(f, "{dropped} partition(s) beyond the first {MAX_PARTITIONS} were ignored")
            }
        }
    }
}

const NO_PARTITION: Partition = Partition {
    index: 0,
    first_lba: 0,
    block_count: 0,
    kind: PartitionKind::Mbr { type_byte: 0, bootable: false, logical: false },
};

/// A disk's partitions, in table order, and the diagnostics found reading them.
#[derive(Clone, Debug)]
pub struct PartitionTable {
    kind: TableKind,
    disk_blocks: u64,
    partitions: [Partition; MAX_PARTITIONS],
    count: usize,
    dropped_partitions: usize,
    diagnostics: [Diagnostic; MAX_DIAGNOSTICS],
    diagnostic_count: usize,
    dropped_diagnostics: usize,
}

impl PartitionTable {
    pub(crate) fn new(kind: TableKind, disk_blocks: u64) -> PartitionTable {
        PartitionTable {
            kind,
            disk_blocks,
            partitions: [NO_PARTITION; MAX_PARTITIONS],
            count: 0,
            dropped_partitions: 0,
            diagnostics: [Diagnostic::GptWithoutProtectiveMbr; MAX_DIAGNOSTICS],
            diagnostic_count: 0,
            dropped_diagnostics: 0,
        }
    }

    /// Which kind of table this is.
    pub fn kind(&self) -> TableKind {
        self.kind
    }

    /// The disk's size in blocks when it was read.
    pub fn disk_blocks(&self) -> u64 {
        self.disk_blocks
    }

    /// The partitions that passed every check, in table order.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions[..self.count]
    }

    /// The partition Linux would number `index` (`sda<index>`).
    pub fn partition(&self, index: u32) -> Option<&Partition> {
        self.partitions().iter().find(|p| p.index == index)
    }

    /// The first EFI System Partition.
    pub fn efi_system_partition(&self) -> Option<&Partition> {
        self.partitions().iter().find(|p| p.is_efi_system())
    }

    /// What was wrong or unusual, in the order found.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics[..self.diagnostic_count]
    }

    /// Diagnostics that did not fit in `MAX_DIAGNOSTICS`.
    pub fn dropped_diagnostics(&self) -> usize {
        self.dropped_diagnostics
    }

    pub(crate) fn diagnose(&mut self, diagnostic: Diagnostic) {
        if self.diagnostic_count < MAX_DIAGNOSTICS {
            self.diagnostics[self.diagnostic_count] = diagnostic;
            self.diagnostic_count += 1;
        } else {
            self.dropped_diagnostics = self.dropped_diagnostics.saturating_add(1);
        }
    }

    /// Adds `partition` if it is non-empty, on the disk and overlaps no listed
    /// partition; otherwise records why not.
    pub(crate) fn push(&mut self, partition: Partition) {
        if let Err(problem) = self.check(&partition) {
            self.diagnose(Diagnostic::Skipped(problem));
        } else if self.count < MAX_PARTITIONS {
            self.partitions[self.count] = partition;
            self.count += 1;
        } else {
            self.dropped_partitions = self.dropped_partitions.saturating_add(1);
        }
    }

    fn check(&self, p: &Partition) -> Result<(), PartitionProblem> {
        let index = p.index;
        if p.block_count == 0 {
            return Err(PartitionProblem::ZeroSize { index, first_lba: p.first_lba });
        }
        match p.first_lba.checked_add(p.block_count) {
            Some(end) if end <= self.disk_blocks => {}
            _ => {
                return Err(PartitionProblem::BeyondDisk {
                    index,
                    first_lba: p.first_lba,
                    block_count: p.block_count,
                    disk_blocks: self.disk_blocks,
                });
            }
        }
        if let Some(other) = self.partitions().iter().find(|o| o.overlaps(p)) {
            return Err(PartitionProblem::Overlaps {
                index,
                first_lba: p.first_lba,
                end_lba: p.end_lba(),
                other: other.index,
                other_first: other.first_lba,
                other_end: other.end_lba(),
            });
        }
        Ok(())
    }

    /// Records how many partitions did not fit, once all entries are read.
    pub(crate) fn finish(&mut self) {
        if self.dropped_partitions > 0 {
            self.diagnose(Diagnostic::TooManyPartitions { dropped: self.dropped_partitions });
        }
    }
}

/// A summary line, one line per partition, then one per diagnostic.
impl fmt::Display for PartitionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TableKind::Gpt { disk_guid, used_backup } => {
                write!(f, "GPT disk {disk_guid}")?;
                if used_backup {
                    f.write_str(" (from the backup header)")?;
                }
            }
            TableKind::Mbr { disk_signature } => write!(f, "MBR disk signature 0x{disk_signature:08x}")?,
        }
        writeln!(f, ", {} blocks, {} partition(s)", self.disk_blocks, self.count)?;
        for partition in self.partitions() {
            writeln!(f, "{partition}")?;
        }
        for diagnostic in self.diagnostics() {
            writeln!(f, "note: {diagnostic}")?;
        }
        if self.dropped_diagnostics > 0 {
            writeln!(f, "note: {} more diagnostic(s) not kept", self.dropped_diagnostics)?;
        }
        Ok(())
    }
}

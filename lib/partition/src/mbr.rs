//! Classic MBR: four primary entries, the extended-partition EBR chain, and
//! the test that tells an MBR from a FAT boot sector.
//!
//! Layout from UEFI 2.10 §5.2.1 (Legacy MBR) and §5.2.2 (OS types). The EBR
//! chain is a linked list on disk, so the walk keeps every EBR it has read and
//! stops on a repeat (`Diagnostic::EbrLoop`) or after `MAX_EBR_LINKS` links,
//! and refuses links that leave the extended partition. A FAT superfloppy's
//! boot sector also ends in 0x55AA; `check_fat_boot_sector` looks at its BPB.

use crate::device::{BlockDevice, SECTOR_SIZE};
use crate::table::{Diagnostic, Partition, PartitionKind, PartitionProblem, PartitionTable, TableKind};
use crate::{Error, NoTableReason, read_sector};
use core::fmt;

/// Offset of the boot signature (UEFI 2.10 §5.2.1, table "Legacy MBR", Signature).
pub const MBR_SIGNATURE_OFFSET: usize = 510;
/// The boot signature bytes 0x55, 0xAA (UEFI 2.10 §5.2.1).
pub const MBR_SIGNATURE: [u8; 2] = [0x55, 0xAA];
/// Offset of the four partition records (UEFI 2.10 §5.2.1, PartitionRecord).
pub const MBR_ENTRIES_OFFSET: usize = 446;
/// Size of one partition record (UEFI 2.10 §5.2.1, table "Legacy MBR Partition Record").
pub const MBR_ENTRY_SIZE: usize = 16;
/// Number of primary partition records.
pub const MBR_ENTRY_COUNT: usize = 4;
/// Offset of the unique MBR disk signature (UEFI 2.10 §5.2.1, UniqueMBRDiskSignature).
pub const MBR_DISK_SIGNATURE_OFFSET: usize = 440;
/// BootIndicator of a bootable ("active") partition (UEFI 2.10 §5.2.1).
pub const MBR_BOOT_ACTIVE: u8 = 0x80;
/// OS type of a GPT protective partition (UEFI 2.10 §5.2.3).
pub const MBR_TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// OS types of an extended partition: CHS, LBA, and Linux's (UEFI 2.10 §5.2.2 lists
/// none; these are the DOS and Linux conventions).
pub const MBR_EXTENDED_TYPES: [u8; 3] = [0x05, 0x0F, 0x85];
/// Most EBRs followed in one extended partition; a longer chain is hostile or broken.
pub const MAX_EBR_LINKS: usize = 128;
/// Number Linux gives the first logical partition.
pub const FIRST_LOGICAL_INDEX: u32 = 5;

// Partition record fields (UEFI 2.10 §5.2.1, table "Legacy MBR Partition Record").
const REC_BOOT_INDICATOR: usize = 0;
const REC_OS_TYPE: usize = 4;
const REC_STARTING_LBA: usize = 8;
const REC_SIZE_IN_LBA: usize = 12;

// FAT boot sector fields (Microsoft FAT specification, "Boot Sector and BPB").
const BS_JMP_BOOT: usize = 0;
const BPB_BYTS_PER_SEC: usize = 11;
const BPB_SEC_PER_CLUS: usize = 13;
const BPB_RSVD_SEC_CNT: usize = 14;
const BPB_NUM_FATS: usize = 16;
const BPB_MEDIA: usize = 21;
/// BPB_BytsPerSec range: 512 to 4096, a power of two.
const FAT_MIN_SECTOR: u16 = 512;
const FAT_MAX_SECTOR: u16 = 4096;

/// One partition record.
#[derive(Clone, Copy, Debug)]
struct MbrEntry {
    status: u8,
    type_byte: u8,
    start: u32,
    count: u32,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn entries(sector: &[u8; SECTOR_SIZE]) -> [MbrEntry; MBR_ENTRY_COUNT] {
    core::array::from_fn(|i| {
        let rec = &sector[MBR_ENTRIES_OFFSET + i * MBR_ENTRY_SIZE..][..MBR_ENTRY_SIZE];
        MbrEntry {
            status: rec[REC_BOOT_INDICATOR],
            type_byte: rec[REC_OS_TYPE],
            start: le_u32(rec, REC_STARTING_LBA),
            count: le_u32(rec, REC_SIZE_IN_LBA),
        }
    })
}

fn is_extended(type_byte: u8) -> bool {
    MBR_EXTENDED_TYPES.contains(&type_byte)
}

/// True when the sector ends in the 0x55AA boot signature.
pub fn has_boot_signature(sector: &[u8]) -> bool {
    sector.get(MBR_SIGNATURE_OFFSET..MBR_SIGNATURE_OFFSET + 2) == Some(&MBR_SIGNATURE[..])
}

/// The BPB fields that made a sector pass `check_fat_boot_sector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FatBootSector {
    /// BPB_BytsPerSec.
    pub bytes_per_sector: u16,
    /// BPB_SecPerClus.
    pub sectors_per_cluster: u8,
    /// BPB_RsvdSecCnt.
    pub reserved_sectors: u16,
    /// BPB_NumFATs.
    pub fat_count: u8,
    /// BPB_Media.
    pub media: u8,
}

/// Why a sector is not a FAT boot sector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotFat {
    /// Fewer than 512 bytes given.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// No 0x55AA at byte 510.
    NoSignature,
    /// BS_jmpBoot is not a jump (0xEB or 0xE9).
    NoJump {
        /// The first byte.
        first: u8,
    },
    /// BPB_BytsPerSec is not a power of two in 512..=4096.
    BytesPerSector(u16),
    /// BPB_SecPerClus is not a power of two.
    SectorsPerCluster(u8),
    /// BPB_RsvdSecCnt is 0.
    NoReservedSectors,
    /// BPB_NumFATs is not 1 or 2.
    FatCount(u8),
    /// BPB_Media is not 0xF0 or 0xF8..=0xFF.
    Media(u8),
}

impl fmt::Display for NotFat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NotFat::TooShort { len } => write!(f, "boot sector is {len} bytes, shorter than {SECTOR_SIZE}"),
            NotFat::NoSignature => write!(f, "no 0x55AA signature at byte {MBR_SIGNATURE_OFFSET}"),
            NotFat::NoJump { first } => write!(f, "first byte 0x{first:02x} is not a jump (0xeb or 0xe9)"),
            NotFat::BytesPerSector(n) => {
                write!(f, "bytes per sector {n} is not a power of two in {FAT_MIN_SECTOR}..={FAT_MAX_SECTOR}")
            }
            NotFat::SectorsPerCluster(n) => write!(f, "sectors per cluster {n} is not a power of two"),
            NotFat::NoReservedSectors => write!(f, "reserved sector count is 0"),
            NotFat::FatCount(n) => write!(f, "number of FATs {n} is not 1 or 2"),
            NotFat::Media(m) => write!(f, "media byte 0x{m:02x} is not 0xf0 or 0xf8..=0xff"),
        }
    }
}

/// Checks whether `sector` (sector 0 of a disk) is a FAT boot sector: the
/// 0x55AA signature, a jump instruction, and a plausible BPB.
pub fn check_fat_boot_sector(sector: &[u8]) -> Result<FatBootSector, NotFat> {
    if sector.len() < SECTOR_SIZE {
        return Err(NotFat::TooShort { len: sector.len() });
    }
    if !has_boot_signature(sector) {
        return Err(NotFat::NoSignature);
    }
    let first = sector[BS_JMP_BOOT];
    if first != 0xEB && first != 0xE9 {
        return Err(NotFat::NoJump { first });
    }
    let bytes_per_sector = u16::from_le_bytes([sector[BPB_BYTS_PER_SEC], sector[BPB_BYTS_PER_SEC + 1]]);
    if !bytes_per_sector.is_power_of_two() || !(FAT_MIN_SECTOR..=FAT_MAX_SECTOR).contains(&bytes_per_sector) {
        return Err(NotFat::BytesPerSector(bytes_per_sector));
    }
    let sectors_per_cluster = sector[BPB_SEC_PER_CLUS];
    if !sectors_per_cluster.is_power_of_two() {
        return Err(NotFat::SectorsPerCluster(sectors_per_cluster));
    }
    let reserved_sectors = u16::from_le_bytes([sector[BPB_RSVD_SEC_CNT], sector[BPB_RSVD_SEC_CNT + 1]]);
    if reserved_sectors == 0 {
        return Err(NotFat::NoReservedSectors);
    }
    let fat_count = sector[BPB_NUM_FATS];
    if fat_count != 1 && fat_count != 2 {
        return Err(NotFat::FatCount(fat_count));
    }
    let media = sector[BPB_MEDIA];
    if media != 0xF0 && media < 0xF8 {
        return Err(NotFat::Media(media));
    }
    Ok(FatBootSector { bytes_per_sector, sectors_per_cluster, reserved_sectors, fat_count, media })
}

/// True when `sector` passes `check_fat_boot_sector`.
pub fn looks_like_fat_boot_sector(sector: &[u8]) -> bool {
    check_fat_boot_sector(sector).is_ok()
}

/// What sector 0 holds.
pub(crate) enum Sector0 {
    /// An MBR with a 0xEE (GPT protective) entry.
    Protective,
    /// A classic MBR; `also_fat` when it also parses as a FAT boot sector.
    Mbr { also_fat: bool },
    /// No partition table.
    NoTable(NoTableReason),
}

/// Decides what sector 0 of a `disk_blocks`-block disk holds.
pub(crate) fn classify(sector: &[u8; SECTOR_SIZE], disk_blocks: u64) -> Sector0 {
    if !has_boot_signature(sector) {
        let found = [sector[MBR_SIGNATURE_OFFSET], sector[MBR_SIGNATURE_OFFSET + 1]];
        return Sector0::NoTable(NoTableReason::NoSignature { found });
    }
    let records = entries(sector);
    if records.iter().any(|e| e.type_byte == MBR_TYPE_GPT_PROTECTIVE) {
        return Sector0::Protective;
    }
    let fat = looks_like_fat_boot_sector(sector);
    let bad_status = records.iter().position(|e| e.status != 0 && e.status != MBR_BOOT_ACTIVE);
    let plausible = records
        .iter()
        .filter(|e| {
            let end = u64::from(e.start) + u64::from(e.count);
            e.type_byte != 0 && e.start != 0 && e.count != 0 && end <= disk_blocks
        })
        .count();
    if fat && (bad_status.is_some() || plausible == 0) {
        return Sector0::NoTable(NoTableReason::FatBootSector);
    }
    if let Some(i) = bad_status {
        // i < MBR_ENTRY_COUNT.
        let entry = i as u8 + 1;
        return Sector0::NoTable(NoTableReason::BadBootIndicator { entry, status: records[i].status });
    }
    Sector0::Mbr { also_fat: fat }
}

/// Reads the partitions of an MBR disk whose sector 0 is `sector`.
pub(crate) fn read_mbr<D: BlockDevice>(
    device: &mut D,
    sector: &[u8; SECTOR_SIZE],
    disk_blocks: u64,
    also_fat: bool,
) -> Result<PartitionTable, Error<D::Error>> {
    let disk_signature = le_u32(sector, MBR_DISK_SIGNATURE_OFFSET);
    let mut table = PartitionTable::new(TableKind::Mbr { disk_signature }, disk_blocks);
    if also_fat {
        table.diagnose(Diagnostic::MbrAlsoLooksLikeFat);
    }
    let mut extended = [(0u64, 0u64); MBR_ENTRY_COUNT];
    let mut extended_count = 0;
    for (i, e) in entries(sector).iter().enumerate() {
        // i < MBR_ENTRY_COUNT.
        let index = i as u32 + 1;
        if e.type_byte == 0 {
            continue;
        }
        let first_lba = u64::from(e.start);
        let block_count = u64::from(e.count);
        if e.count != 0 && e.start == 0 {
            table.diagnose(Diagnostic::Skipped(PartitionProblem::CoversTable { index, table_lba: 0 }));
            continue;
        }
        if !is_extended(e.type_byte) {
            let bootable = e.status == MBR_BOOT_ACTIVE;
            let kind = PartitionKind::Mbr { type_byte: e.type_byte, bootable, logical: false };
            table.push(Partition { index, first_lba, block_count, kind });
            continue;
        }
        // Two u32s: the sum fits in a u64.
        let end = first_lba + block_count;
        if block_count == 0 {
            table.diagnose(Diagnostic::Skipped(PartitionProblem::ZeroSize { index, first_lba }));
        } else if end > disk_blocks {
            let problem = PartitionProblem::BeyondDisk { index, first_lba, block_count, disk_blocks };
            table.diagnose(Diagnostic::Skipped(problem));
        } else {
            extended[extended_count] = (first_lba, end);
            extended_count += 1;
        }
    }
    let mut next_index = FIRST_LOGICAL_INDEX;
    for &(first, end) in &extended[..extended_count] {
        walk_ebr_chain(device, &mut table, first, end, &mut next_index)?;
    }
    table.finish();
    Ok(table)
}

/// Follows the EBR chain of the extended partition `extended_first..extended_end`
/// (already checked to lie on the disk), numbering logical partitions from `next_index`.
fn walk_ebr_chain<D: BlockDevice>(
    device: &mut D,
    table: &mut PartitionTable,
    extended_first: u64,
    extended_end: u64,
    next_index: &mut u32,
) -> Result<(), Error<D::Error>> {
    let mut visited = [0u64; MAX_EBR_LINKS];
    let mut visited_count = 0;
    let mut sector = [0u8; SECTOR_SIZE];
    let mut ebr = extended_first;
    loop {
        if visited[..visited_count].contains(&ebr) {
            table.diagnose(Diagnostic::EbrLoop { lba: ebr });
            return Ok(());
        }
        if visited_count == MAX_EBR_LINKS {
            table.diagnose(Diagnostic::EbrChainTooLong { limit: MAX_EBR_LINKS });
            return Ok(());
        }
        visited[visited_count] = ebr;
        visited_count += 1;
        read_sector(device, ebr, &mut sector)?;
        if !has_boot_signature(&sector) {
            table.diagnose(Diagnostic::EbrWithoutSignature { lba: ebr });
            return Ok(());
        }
        let mut next = None;
        for e in entries(&sector) {
            if e.type_byte == 0 {
                continue;
            }
            if is_extended(e.type_byte) {
                // Links are relative to the extended partition's start.
                next = next.or(Some(extended_first.checked_add(u64::from(e.start))));
                continue;
            }
            let index = *next_index;
            // Data entries are relative to their own EBR.
            let first_lba = ebr.checked_add(u64::from(e.start));
            let block_count = u64::from(e.count);
            if e.count == 0 {
                let problem = PartitionProblem::ZeroSize { index, first_lba: first_lba.unwrap_or(u64::MAX) };
                table.diagnose(Diagnostic::Skipped(problem));
                continue;
            }
            *next_index = next_index.saturating_add(1);
            if e.start == 0 {
                table.diagnose(Diagnostic::Skipped(PartitionProblem::CoversTable { index, table_lba: ebr }));
                continue;
            }
            let inside = first_lba.and_then(|f| f.checked_add(block_count)).is_some_and(|end| end <= extended_end);
            let Some(first_lba) = first_lba.filter(|_| inside) else {
                let problem = PartitionProblem::OutsideExtended {
                    index,
                    first_lba: first_lba.unwrap_or(u64::MAX),
                    block_count,
                    extended_first,
                    extended_end,
                };
                table.diagnose(Diagnostic::Skipped(problem));
                continue;
            };
            let kind =
                PartitionKind::Mbr { type_byte: e.type_byte, bootable: e.status == MBR_BOOT_ACTIVE, logical: true };
            table.push(Partition { index, first_lba, block_count, kind });
        }
        match next {
            None => return Ok(()),
            Some(Some(next_lba)) if (extended_first..extended_end).contains(&next_lba) => ebr = next_lba,
            Some(next_lba) => {
                table.diagnose(Diagnostic::EbrLinkOutside {
                    lba: ebr,
                    next_lba: next_lba.unwrap_or(u64::MAX),
                    extended_first,
                    extended_end,
                });
                return Ok(());
            }
        }
    }
}

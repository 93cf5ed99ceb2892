//! GUID Partition Table: header checks, entry array CRC, backup fallback.
//!
//! Layout and rules from UEFI 2.10 §5.3. A header is trusted only after its
//! signature, revision, size, CRC, MyLBA, usable range, entry size and entry
//! array placement are checked and the entry array's CRC matches; only then
//! are entries read. The entry array is streamed one sector at a time (no
//! heap), its size bounded by `MAX_ENTRY_ARRAY_BYTES` so a header claiming
//! 2^32 entries costs one header read, not terabytes of I/O.

use crate::device::{BlockDevice, SECTOR_SIZE};
use crate::guid::Guid;
use crate::table::{Diagnostic, GPT_NAME_UNITS, Partition, PartitionKind, PartitionName, PartitionProblem};
use crate::table::{PartitionTable, TableKind};
use crate::{Error, read_sector};
use core::fmt;

/// "EFI PART", the header's first 8 bytes (UEFI 2.10 §5.3.2, Signature).
pub const GPT_SIGNATURE: [u8; 8] = *b"EFI PART";
/// Major revision this reader understands: 1 (revision 1.0 is 0x00010000, UEFI 2.10 §5.3.2).
pub const GPT_MAJOR_REVISION: u16 = 1;
/// Smallest valid HeaderSize (UEFI 2.10 §5.3.2: "must be greater than or equal to 92").
pub const GPT_MIN_HEADER_SIZE: u32 = 92;
/// Smallest valid SizeOfPartitionEntry (UEFI 2.10 §5.3.2: 128 times a power of two).
pub const GPT_MIN_ENTRY_SIZE: u32 = 128;
/// Entry sizes must be a multiple of this (UEFI 2.10 §5.3.2).
pub const GPT_ENTRY_SIZE_ALIGN: u32 = 8;
/// LBA of the primary header (UEFI 2.10 §5.3.1).
pub const GPT_PRIMARY_HEADER_LBA: u64 = 1;
/// Largest entry array read: 1 MiB, 8192 standard entries, 64 times the usual 16 KiB.
/// A bound of ours, not the spec's; it keeps a hostile header's I/O small.
pub const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;
/// A GPT disk needs at least the protective MBR, the primary header and the backup header.
const MIN_GPT_DISK_BLOCKS: u64 = 3;

// Header field offsets (UEFI 2.10 §5.3.2, table "GPT Header").
const HDR_SIGNATURE: usize = 0;
const HDR_REVISION: usize = 8;
const HDR_HEADER_SIZE: usize = 12;
const HDR_HEADER_CRC: usize = 16;
const HDR_MY_LBA: usize = 24;
const HDR_ALTERNATE_LBA: usize = 32;
const HDR_FIRST_USABLE: usize = 40;
const HDR_LAST_USABLE: usize = 48;
const HDR_DISK_GUID: usize = 56;
const HDR_ENTRIES_LBA: usize = 72;
const HDR_NUM_ENTRIES: usize = 80;
const HDR_ENTRY_SIZE: usize = 84;
const HDR_ENTRIES_CRC: usize = 88;

// Entry field offsets (UEFI 2.10 §5.3.3, table "GPT Partition Entry").
const ENT_TYPE_GUID: usize = 0;
const ENT_UNIQUE_GUID: usize = 16;
const ENT_FIRST_LBA: usize = 32;
const ENT_LAST_LBA: usize = 40;
const ENT_ATTRIBUTES: usize = 48;
const ENT_NAME: usize = 56;
/// Bytes of an entry this reader looks at (the rest of a larger entry is only CRCed).
const ENTRY_BYTES: usize = GPT_MIN_ENTRY_SIZE as usize;

/// Why one GPT header (with its entry array) cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GptProblem {
    /// The disk is too small to hold a GPT.
    DiskTooSmall {
        /// The disk's size in blocks.
        disk_blocks: u64,
    },
    /// No "EFI PART" signature.
    Signature {
        /// Where the header was read.
        lba: u64,
        /// The 8 bytes found instead.
        found: [u8; 8],
    },
    /// A major revision other than 1.
    Revision {
        /// Where the header was read.
        lba: u64,
        /// The revision found.
        revision: u32,
    },
    /// HeaderSize below 92 or above the block size.
    HeaderSize {
        /// Where the header was read.
        lba: u64,
        /// The size found.
        size: u32,
    },
    /// The header CRC does not match.
    HeaderCrc {
        /// Where the header was read.
        lba: u64,
        /// CRC stored in the header.
        stored: u32,
        /// CRC computed over the header with the CRC field zeroed.
        computed: u32,
    },
    /// MyLBA is not where the header was read.
    MyLba {
        /// Where the header was read.
        lba: u64,
        /// MyLBA from the header.
        my_lba: u64,
    },
    /// The usable range is empty, off the disk, or covers the header or LBA 0.
    UsableRange {
        /// Where the header was read.
        lba: u64,
        /// FirstUsableLBA.
        first_usable: u64,
        /// LastUsableLBA.
        last_usable: u64,
        /// The disk's size in blocks.
        disk_blocks: u64,
    },
    /// SizeOfPartitionEntry is below 128 or not a multiple of 8.
    EntrySize {
        /// Where the header was read.
        lba: u64,
        /// The size found.
        size: u32,
    },
    /// NumberOfPartitionEntries times SizeOfPartitionEntry exceeds `MAX_ENTRY_ARRAY_BYTES`.
    EntryArrayTooLarge {
        /// Where the header was read.
        lba: u64,
        /// NumberOfPartitionEntries.
        entries: u32,
        /// SizeOfPartitionEntry.
        entry_size: u32,
    },
    /// The entry array runs off the disk.
    EntryArrayBeyondDisk {
        /// Where the header was read.
        lba: u64,
        /// PartitionEntryLBA.
        entries_lba: u64,
        /// Blocks the array occupies.
        blocks: u64,
        /// The disk's size in blocks.
        disk_blocks: u64,
    },
    /// The entry array covers LBA 0, the header itself, or the usable range.
    EntryArrayOverlaps {
        /// Where the header was read.
        lba: u64,
        /// PartitionEntryLBA.
        entries_lba: u64,
        /// Blocks the array occupies.
        blocks: u64,
        /// What it overlaps.
        what: &'static str,
    },
    /// The entry array CRC does not match.
    EntriesCrc {
        /// Where the header was read.
        lba: u64,
        /// PartitionEntryArrayCRC32 from the header.
        stored: u32,
        /// CRC computed over the array.
        computed: u32,
    },
}

impl fmt::Display for GptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GptProblem::DiskTooSmall { disk_blocks } => {
                write!(f, "disk of {disk_blocks} blocks is too small for a GPT (needs {MIN_GPT_DISK_BLOCKS})")
            }
            GptProblem::Signature { lba, found } => {
                write!(f, "GPT header at LBA {lba} has signature ")?;
                for b in found {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ", not \"EFI PART\"")
            }
            GptProblem::Revision { lba, revision } => write!(
                f,
                "GPT header at LBA {lba} has revision 0x{revision:08x}; only major revision {GPT_MAJOR_REVISION} is understood"
            ),
            GptProblem::HeaderSize { lba, size } => {
                write!(f, "GPT header at LBA {lba} has size {size}, outside {GPT_MIN_HEADER_SIZE}..={SECTOR_SIZE}")
            }
            GptProblem::HeaderCrc { lba, stored, computed } => write!(
                f,
                "GPT header CRC 0x{stored:08x} (header at LBA {lba}) does not match computed 0x{computed:08x}"
            ),
            GptProblem::MyLba { lba, my_lba } => {
                write!(f, "GPT header read at LBA {lba} says it is at LBA {my_lba}")
            }
            GptProblem::UsableRange { lba, first_usable, last_usable, disk_blocks } => write!(
                f,
                "GPT header at LBA {lba} has usable range {first_usable}..={last_usable}, which does not fit a \
                 {disk_blocks}-block disk beside its headers"
            ),
            GptProblem::EntrySize { lba, size } => write!(
                f,
                "GPT header at LBA {lba} has partition entry size {size}; it must be at least \
                 {GPT_MIN_ENTRY_SIZE} and a multiple of {GPT_ENTRY_SIZE_ALIGN}"
            ),
            GptProblem::EntryArrayTooLarge { lba, entries, entry_size } => write!(
                f,
                "GPT header at LBA {lba} claims {entries} entries of {entry_size} bytes ({} bytes), more than the \
                 {MAX_ENTRY_ARRAY_BYTES}-byte limit",
                u64::from(entries) * u64::from(entry_size)
            ),
            GptProblem::EntryArrayBeyondDisk { lba, entries_lba, blocks, disk_blocks } => write!(
                f,
                "GPT header at LBA {lba} places its entry array at LBA {entries_lba} ({blocks} blocks), past the \
                 end of the disk ({disk_blocks} blocks)"
            ),
            GptProblem::EntryArrayOverlaps { lba, entries_lba, blocks, what } => write!(
                f,
                "GPT header at LBA {lba} places its entry array at LBA {entries_lba} ({blocks} blocks), over {what}"
            ),
            GptProblem::EntriesCrc { lba, stored, computed } => write!(
                f,
                "GPT entry array CRC 0x{stored:08x} (header at LBA {lba}) does not match computed 0x{computed:08x}"
            ),
        }
    }
}

/// The header fields used after validation.
#[derive(Clone, Copy, Debug)]
struct GptHeader {
    my_lba: u64,
    alternate_lba: u64,
    first_usable: u64,
    last_usable: u64,
    disk_guid: Guid,
    entries_lba: u64,
    num_entries: u32,
    entry_size: u32,
    entries_crc: u32,
    /// Blocks the entry array occupies.
    entry_blocks: u64,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn guid_at(b: &[u8], at: usize) -> Guid {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&b[at..at + 16]);
    Guid::from_bytes(bytes)
}

/// True when `sector` starts with the GPT header signature.
pub(crate) fn has_signature(sector: &[u8; SECTOR_SIZE]) -> bool {
    sector[HDR_SIGNATURE..HDR_SIGNATURE + 8] == GPT_SIGNATURE
}

/// Checks the header in `sector`, read from `lba`, against a disk of `disk_blocks`.
fn parse_header(sector: &[u8; SECTOR_SIZE], lba: u64, disk_blocks: u64) -> Result<GptHeader, GptProblem> {
    if !has_signature(sector) {
        let mut found = [0u8; 8];
        found.copy_from_slice(&sector[HDR_SIGNATURE..HDR_SIGNATURE + 8]);
        return Err(GptProblem::Signature { lba, found });
    }
    let revision = le_u32(sector, HDR_REVISION);
    if (revision >> 16) as u16 != GPT_MAJOR_REVISION {
        return Err(GptProblem::Revision { lba, revision });
    }
    let size = le_u32(sector, HDR_HEADER_SIZE);
    if size < GPT_MIN_HEADER_SIZE || size as usize > SECTOR_SIZE {
        return Err(GptProblem::HeaderSize { lba, size });
    }
    let stored = le_u32(sector, HDR_HEADER_CRC);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sector[..HDR_HEADER_CRC]);
    hasher.update(&[0; 4]);
    hasher.update(&sector[HDR_HEADER_CRC + 4..size as usize]);
    let computed = hasher.finalize();
    if stored != computed {
        return Err(GptProblem::HeaderCrc { lba, stored, computed });
    }
    let my_lba = le_u64(sector, HDR_MY_LBA);
    if my_lba != lba {
        return Err(GptProblem::MyLba { lba, my_lba });
    }
    let first_usable = le_u64(sector, HDR_FIRST_USABLE);
    let last_usable = le_u64(sector, HDR_LAST_USABLE);
    let usable_ok = first_usable > GPT_PRIMARY_HEADER_LBA
        && first_usable <= last_usable
        && last_usable < disk_blocks
        && !(first_usable..=last_usable).contains(&lba);
    if !usable_ok {
        return Err(GptProblem::UsableRange { lba, first_usable, last_usable, disk_blocks });
    }
    let entry_size = le_u32(sector, HDR_ENTRY_SIZE);
    if entry_size < GPT_MIN_ENTRY_SIZE || !entry_size.is_multiple_of(GPT_ENTRY_SIZE_ALIGN) {
        return Err(GptProblem::EntrySize { lba, size: entry_size });
    }
    let num_entries = le_u32(sector, HDR_NUM_ENTRIES);
    let too_large = GptProblem::EntryArrayTooLarge { lba, entries: num_entries, entry_size };
    let array_bytes = u64::from(num_entries).checked_mul(u64::from(entry_size)).ok_or(too_large)?;
    if array_bytes > MAX_ENTRY_ARRAY_BYTES {
        return Err(too_large);
    }
    let entry_blocks = array_bytes.div_ceil(SECTOR_SIZE as u64);
    let entries_lba = le_u64(sector, HDR_ENTRIES_LBA);
    if entry_blocks > 0 {
        let entries_end = match entries_lba.checked_add(entry_blocks) {
            Some(end) if end <= disk_blocks => end,
            _ => {
                return Err(GptProblem::EntryArrayBeyondDisk { lba, entries_lba, blocks: entry_blocks, disk_blocks });
            }
        };
        let covers = |x: u64| (entries_lba..entries_end).contains(&x);
        let what = if covers(0) {
            Some("LBA 0 (the protective MBR)")
        } else if covers(lba) {
            Some("its own header")
        } else if entries_lba <= last_usable && first_usable < entries_end {
            Some("the usable partition range")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(GptProblem::EntryArrayOverlaps { lba, entries_lba, blocks: entry_blocks, what });
        }
    }
    Ok(GptHeader {
        my_lba,
        alternate_lba: le_u64(sector, HDR_ALTERNATE_LBA),
        first_usable,
        last_usable,
        disk_guid: guid_at(sector, HDR_DISK_GUID),
        entries_lba,
        num_entries,
        entry_size,
        entries_crc: le_u32(sector, HDR_ENTRIES_CRC),
        entry_blocks,
    })
}

/// Streams the entry array of `header`, calling `visit` with each entry's slot
/// number and first 128 bytes, and returns the CRC of the whole array.
fn walk_entries<D: BlockDevice>(
    device: &mut D,
    header: &GptHeader,
    mut visit: impl FnMut(u32, &[u8; ENTRY_BYTES]),
) -> Result<u32, Error<D::Error>> {
    let entry_size = u64::from(header.entry_size);
    // Bounded by MAX_ENTRY_ARRAY_BYTES in `parse_header`.
    let total = u64::from(header.num_entries) * entry_size;
    let mut hasher = crc32fast::Hasher::new();
    let mut sector = [0u8; SECTOR_SIZE];
    let mut entry = [0u8; ENTRY_BYTES];
    let mut offset = 0u64;
    for block in 0..header.entry_blocks {
        // In range: `parse_header` checked entries_lba + entry_blocks <= disk size.
        read_sector(device, header.entries_lba + block, &mut sector)?;
        let take = (total - offset).min(SECTOR_SIZE as u64) as usize;
        hasher.update(&sector[..take]);
        let mut pos = 0usize;
        while pos < take {
            let at = offset + pos as u64;
            let in_entry = at % entry_size;
            let slot = at / entry_size;
            let run = (entry_size - in_entry).min((take - pos) as u64) as usize;
            if in_entry < ENTRY_BYTES as u64 {
                let start = in_entry as usize;
                let copy = run.min(ENTRY_BYTES - start);
                entry[start..start + copy].copy_from_slice(&sector[pos..pos + copy]);
                if start + copy == ENTRY_BYTES {
                    // slot < num_entries, a u32.
                    visit(u32::try_from(slot).unwrap_or(u32::MAX), &entry);
                }
            }
            pos += run;
        }
        offset += take as u64;
    }
    Ok(hasher.finalize())
}

/// Reads and checks the header at `lba` and its entry array's CRC.
fn load<D: BlockDevice>(
    device: &mut D,
    lba: u64,
    disk_blocks: u64,
) -> Result<Result<GptHeader, GptProblem>, Error<D::Error>> {
    let mut sector = [0u8; SECTOR_SIZE];
    read_sector(device, lba, &mut sector)?;
    let header = match parse_header(&sector, lba, disk_blocks) {
        Ok(header) => header,
        Err(problem) => return Ok(Err(problem)),
    };
    let computed = walk_entries(device, &header, |_, _| {})?;
    if computed != header.entries_crc {
        return Ok(Err(GptProblem::EntriesCrc { lba, stored: header.entries_crc, computed }));
    }
    Ok(Ok(header))
}

/// Turns one used entry into a partition, or records why it is left out.
fn add_entry(table: &mut PartitionTable, header: &GptHeader, slot: u32, entry: &[u8; ENTRY_BYTES]) {
    let type_guid = guid_at(entry, ENT_TYPE_GUID);
    if type_guid.is_zero() {
        return;
    }
    let index = slot.saturating_add(1);
    let first_lba = le_u64(entry, ENT_FIRST_LBA);
    let last_lba = le_u64(entry, ENT_LAST_LBA);
    if last_lba < first_lba {
        table.diagnose(Diagnostic::Skipped(PartitionProblem::Reversed { index, first_lba, last_lba }));
        return;
    }
    // Saturates only for 0..=u64::MAX, which the disk-end check below refuses anyway.
    let block_count = (last_lba - first_lba).saturating_add(1);
    let disk_blocks = table.disk_blocks();
    if last_lba >= disk_blocks {
        let problem = PartitionProblem::BeyondDisk { index, first_lba, block_count, disk_blocks };
        table.diagnose(Diagnostic::Skipped(problem));
        return;
    }
    if first_lba < header.first_usable || last_lba > header.last_usable {
        let problem = PartitionProblem::OutsideUsable {
            index,
            first_lba,
            last_lba,
            first_usable: header.first_usable,
            last_usable: header.last_usable,
        };
        table.diagnose(Diagnostic::Skipped(problem));
        return;
    }
    let mut name_bytes = [0u8; 2 * GPT_NAME_UNITS];
    name_bytes.copy_from_slice(&entry[ENT_NAME..ENT_NAME + 2 * GPT_NAME_UNITS]);
    table.push(Partition {
        index,
        first_lba,
        block_count,
        kind: PartitionKind::Gpt {
            type_guid,
            unique_guid: guid_at(entry, ENT_UNIQUE_GUID),
            attributes: le_u64(entry, ENT_ATTRIBUTES),
            name: PartitionName::from_le_bytes(&name_bytes),
        },
    });
}

/// Reads the GPT: the primary header, or the backup at the disk's last LBA
/// when the primary is unusable. `protective_mbr` says whether sector 0 had one.
pub(crate) fn read_gpt<D: BlockDevice>(
    device: &mut D,
    disk_blocks: u64,
    protective_mbr: bool,
) -> Result<PartitionTable, Error<D::Error>> {
    if disk_blocks < MIN_GPT_DISK_BLOCKS {
        let problem = GptProblem::DiskTooSmall { disk_blocks };
        return Err(Error::Gpt { primary: problem, backup: problem });
    }
    let last_lba = disk_blocks - 1;
    let (header, primary_problem) = match load(device, GPT_PRIMARY_HEADER_LBA, disk_blocks)? {
        Ok(header) => (header, None),
        Err(primary) => match load(device, last_lba, disk_blocks)? {
            Ok(header) => (header, Some(primary)),
            Err(backup) => return Err(Error::Gpt { primary, backup }),
        },
    };
    let kind = TableKind::Gpt { disk_guid: header.disk_guid, used_backup: primary_problem.is_some() };
    let mut table = PartitionTable::new(kind, disk_blocks);
    if !protective_mbr {
        table.diagnose(Diagnostic::GptWithoutProtectiveMbr);
    }
    match primary_problem {
        Some(problem) => table.diagnose(Diagnostic::PrimaryGptInvalid { problem, backup_lba: header.my_lba }),
        None => {
            if header.alternate_lba != last_lba {
                table.diagnose(Diagnostic::BackupNotAtEnd { alternate_lba: header.alternate_lba, last_lba });
            }
            let mut sector = [0u8; SECTOR_SIZE];
            read_sector(device, last_lba, &mut sector)?;
            if let Err(problem) = parse_header(&sector, last_lba, disk_blocks) {
                table.diagnose(Diagnostic::BackupGptInvalid { problem });
            }
        }
    }
    let computed = walk_entries(device, &header, |slot, entry| add_entry(&mut table, &header, slot, entry))?;
    if computed != header.entries_crc {
        // The array changed between the CRC pass and this one: trust neither.
        let problem = GptProblem::EntriesCrc { lba: header.my_lba, stored: header.entries_crc, computed };
        return Err(Error::Gpt { primary: problem, backup: problem });
    }
    table.finish();
    Ok(table)
}

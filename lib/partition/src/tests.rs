//! Host tests: GPT, MBR and FAT images built here, hostile variants, fuzzing.
//!
//! The image builders write fields at the offsets the specs give (UEFI 2.10
//! §5.2 and §5.3, the FAT BPB), spelled out here as literals rather than taken
//! from the parser, so a wrong offset in the parser shows up as a failure.

use crate::*;
use std::fmt::Write as _;

const SECTOR: usize = 512;

// ---------------------------------------------------------------------------
// In-memory disk

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MemDiskError {
    lba: u64,
    blocks: u64,
    disk_blocks: u64,
}

impl std::fmt::Display for MemDiskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} block(s) at LBA {} are past the end of the {}-block disk",
            self.blocks, self.lba, self.disk_blocks
        )
    }
}

/// A disk over a `Vec<u8>` that counts reads and refuses out-of-range ones.
#[derive(Clone)]
struct MemDisk {
    data: Vec<u8>,
    reads: usize,
}

impl MemDisk {
    fn new(blocks: u64) -> MemDisk {
        MemDisk { data: vec![0; blocks as usize * SECTOR], reads: 0 }
    }

    fn sector_mut(&mut self, lba: u64) -> &mut [u8] {
        let at = lba as usize * SECTOR;
        &mut self.data[at..at + SECTOR]
    }

    fn write(&mut self, lba: u64, bytes: &[u8]) {
        let at = lba as usize * SECTOR;
        self.data[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

impl BlockDevice for MemDisk {
    type Error = MemDiskError;

    fn block_count(&self) -> u64 {
        (self.data.len() / SECTOR) as u64
    }

    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), MemDiskError> {
        self.reads += 1;
        let blocks = (buf.len() / SECTOR) as u64;
        let disk_blocks = self.block_count();
        let err = MemDiskError { lba, blocks, disk_blocks };
        let end = lba.checked_add(blocks).ok_or(err)?;
        if end > disk_blocks || !buf.len().is_multiple_of(SECTOR) {
            return Err(err);
        }
        let at = lba as usize * SECTOR;
        buf.copy_from_slice(&self.data[at..at + buf.len()]);
        Ok(())
    }
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------------------
// MBR builder (UEFI 2.10 §5.2.1: records at 446, 16 bytes each; signature at 510)

fn mbr_record(sector: &mut [u8], slot: usize, status: u8, type_byte: u8, start: u32, count: u32) {
    let at = 446 + 16 * slot;
    sector[at] = status;
    sector[at + 4] = type_byte;
    put_u32(sector, at + 8, start);
    put_u32(sector, at + 12, count);
}

fn sign(sector: &mut [u8]) {
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

// ---------------------------------------------------------------------------
// GPT builder (UEFI 2.10 §5.3.2 header, §5.3.3 entries)

struct GptPart {
    slot: usize,
    type_guid: Guid,
    first: u64,
    last: u64,
    attributes: u64,
    name: &'static str,
}

fn part(slot: usize, type_guid: Guid, first: u64, last: u64, name: &'static str) -> GptPart {
    GptPart { slot, type_guid, first, last, attributes: 0, name }
}

const DISK_GUID: Guid =
    Guid::from_fields(0x1234_5678, 0x9ABC, 0xDEF0, [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]);

fn unique_guid(slot: usize) -> Guid {
    Guid::from_fields(0xA000_0000 + slot as u32, 0x1111, 0x2222, [3, 3, 3, 3, 3, 3, 3, slot as u8])
}

#[derive(Clone, Copy)]
struct GptLayout {
    disk_blocks: u64,
    num_entries: u32,
    entry_size: u32,
}

impl GptLayout {
    fn array_bytes(&self) -> usize {
        self.num_entries as usize * self.entry_size as usize
    }
    fn array_blocks(&self) -> u64 {
        self.array_bytes().div_ceil(SECTOR) as u64
    }
    fn first_usable(&self) -> u64 {
        2 + self.array_blocks()
    }
    fn backup_entries_lba(&self) -> u64 {
        self.disk_blocks - 1 - self.array_blocks()
    }
    fn last_usable(&self) -> u64 {
        self.backup_entries_lba() - 1
    }
    fn last_lba(&self) -> u64 {
        self.disk_blocks - 1
    }
}

/// Recomputes the header CRC over HeaderSize bytes with the CRC field zeroed.
fn fix_header_crc(header: &mut [u8]) {
    let size = (u32::from_le_bytes(header[12..16].try_into().unwrap()) as usize).min(SECTOR);
    put_u32(header, 16, 0);
    let crc = crc32fast::hash(&header[..size]);
    put_u32(header, 16, crc);
}

fn gpt_header(layout: &GptLayout, my_lba: u64, alternate: u64, entries_lba: u64, entries_crc: u32) -> Vec<u8> {
    let mut h = vec![0u8; SECTOR];
    h[0..8].copy_from_slice(b"EFI PART");
    put_u32(&mut h, 8, 0x0001_0000);
    put_u32(&mut h, 12, 92);
    put_u64(&mut h, 24, my_lba);
    put_u64(&mut h, 32, alternate);
    put_u64(&mut h, 40, layout.first_usable());
    put_u64(&mut h, 48, layout.last_usable());
    h[56..72].copy_from_slice(&DISK_GUID.to_bytes());
    put_u64(&mut h, 72, entries_lba);
    put_u32(&mut h, 80, layout.num_entries);
    put_u32(&mut h, 84, layout.entry_size);
    put_u32(&mut h, 88, entries_crc);
    fix_header_crc(&mut h);
    h
}

fn build_gpt_with(layout: GptLayout, parts: &[GptPart]) -> MemDisk {
    let mut disk = MemDisk::new(layout.disk_blocks);
    // Protective MBR (UEFI 2.10 §5.2.3): one 0xEE record from LBA 1 over the disk.
    let count = u32::try_from(layout.disk_blocks - 1).unwrap_or(u32::MAX);
    mbr_record(disk.sector_mut(0), 0, 0, 0xEE, 1, count);
    sign(disk.sector_mut(0));
    let mut array = vec![0u8; layout.array_blocks() as usize * SECTOR];
    for p in parts {
        let e = &mut array[p.slot * layout.entry_size as usize..][..layout.entry_size as usize];
        e[0..16].copy_from_slice(&p.type_guid.to_bytes());
        e[16..32].copy_from_slice(&unique_guid(p.slot).to_bytes());
        put_u64(e, 32, p.first);
        put_u64(e, 40, p.last);
        put_u64(e, 48, p.attributes);
        for (i, unit) in p.name.encode_utf16().enumerate() {
            put_u16(e, 56 + 2 * i, unit);
        }
        // Bytes past the 128 the spec defines: only the CRC covers them.
        for b in e[128..].iter_mut() {
            *b = 0x5A;
        }
    }
    let crc = crc32fast::hash(&array[..layout.array_bytes()]);
    disk.write(2, &array);
    disk.write(layout.backup_entries_lba(), &array);
    disk.write(1, &gpt_header(&layout, 1, layout.last_lba(), 2, crc));
    let backup = gpt_header(&layout, layout.last_lba(), 1, layout.backup_entries_lba(), crc);
    disk.write(layout.last_lba(), &backup);
    disk
}

const GPT_DISK_BLOCKS: u64 = 8192;

fn standard_layout() -> GptLayout {
    GptLayout { disk_blocks: GPT_DISK_BLOCKS, num_entries: 128, entry_size: 128 }
}

/// An 8192-block disk: EFI System "boot" at 2048..=4095, Linux "root" at 4096..=8158.
fn two_partition_gpt() -> MemDisk {
    build_gpt_with(
        standard_layout(),
        &[
            part(0, Guid::EFI_SYSTEM, 2048, 4095, "boot"),
            part(1, Guid::LINUX_FILESYSTEM, 4096, standard_layout().last_usable(), "root"),
        ],
    )
}

/// Changes header fields at `lba` with `edit`, then makes the header CRC right again.
fn patch_header(disk: &mut MemDisk, lba: u64, edit: impl FnOnce(&mut [u8])) {
    let h = disk.sector_mut(lba);
    edit(h);
    fix_header_crc(h);
}

fn assert_two_partitions(table: &PartitionTable) {
    let parts = table.partitions();
    assert_eq!(parts.len(), 2, "{table}");
    assert_eq!((parts[0].index, parts[0].first_lba, parts[0].block_count), (1, 2048, 2048));
    assert!(parts[0].is_efi_system() && parts[0].is_fat() && !parts[0].is_linux_filesystem());
    assert!(parts[0].name().unwrap().matches("boot"));
    assert_eq!((parts[1].index, parts[1].first_lba, parts[1].last_lba()), (2, 4096, 8158));
    assert!(parts[1].is_linux_filesystem() && !parts[1].is_fat() && !parts[1].is_efi_system());
    assert_eq!(parts[1].name().unwrap().to_string(), "root");
    match parts[1].kind {
        PartitionKind::Gpt { type_guid, unique_guid: u, .. } => {
            assert_eq!(type_guid, Guid::LINUX_FILESYSTEM);
            assert_eq!(u, unique_guid(1));
        }
        other => panic!("expected a GPT partition, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// GPT

#[test]
fn gpt_with_efi_system_and_linux_partitions() {
    let mut disk = two_partition_gpt();
    let table = read_partition_table(&mut disk).expect("valid GPT");
    assert_eq!(table.kind(), TableKind::Gpt { disk_guid: DISK_GUID, used_backup: false });
    assert_two_partitions(&table);
    assert!(table.diagnostics().is_empty(), "{table}");
    assert_eq!(table.efi_system_partition().map(|p| p.index), Some(1));
    assert_eq!(table.partition(2).map(|p| p.first_lba), Some(4096));
    assert!(table.partition(3).is_none());
    assert_eq!(table.partitions()[0].to_string(), "1  start 2048  size 1 MiB  EFI System  \"boot\"");
    let text = table.to_string();
    assert!(text.starts_with("GPT disk 12345678-9ABC-DEF0-0123-456789ABCDEF, 8192 blocks, 2 partition(s)\n"), "{text}");
    assert!(text.contains("2  start 4096  size 1.9 MiB  Linux filesystem  \"root\""), "{text}");
}

#[test]
fn gpt_entries_larger_than_128_bytes_straddle_sectors() {
    // 136-byte entries do not divide 512: entries cross sector boundaries.
    let layout = GptLayout { disk_blocks: GPT_DISK_BLOCKS, num_entries: 40, entry_size: 136 };
    let parts = [
        part(0, Guid::EFI_SYSTEM, 2048, 2099, "esp"),
        part(3, Guid::MICROSOFT_BASIC_DATA, 3000, 3099, "straddler"),
        part(39, Guid::LINUX_SWAP, 4000, 4999, "last"),
    ];
    let mut disk = build_gpt_with(layout, &parts);
    let table = read_partition_table(&mut disk).expect("valid GPT with 136-byte entries");
    let got: Vec<_> = table.partitions().iter().map(|p| (p.index, p.first_lba, p.block_count)).collect();
    assert_eq!(got, [(1, 2048, 52), (4, 3000, 100), (40, 4000, 1000)]);
    assert!(table.partition(4).unwrap().name().unwrap().matches("straddler"));
    assert!(table.partition(4).unwrap().is_fat());
    assert_eq!(table.partition(40).unwrap().type_name(), Some("Linux swap"));
    assert!(table.diagnostics().is_empty(), "{table}");
}

#[test]
fn gpt_corrupt_primary_header_falls_back_to_backup() {
    let mut disk = two_partition_gpt();
    disk.sector_mut(1)[60] ^= 0xFF; // a disk-GUID byte; the stored CRC no longer matches
    let table = read_partition_table(&mut disk).expect("backup GPT is good");
    assert_eq!(table.kind(), TableKind::Gpt { disk_guid: DISK_GUID, used_backup: true });
    assert_two_partitions(&table);
    let [Diagnostic::PrimaryGptInvalid { problem, backup_lba: 8191 }] = table.diagnostics() else {
        panic!("expected one PrimaryGptInvalid diagnostic: {table}");
    };
    let GptProblem::HeaderCrc { lba: 1, stored, computed } = *problem else { panic!("{problem:?}") };
    assert_ne!(stored, computed);
    let message = table.diagnostics()[0].to_string();
    assert_eq!(
        message,
        format!(
            "primary GPT is invalid (GPT header CRC 0x{stored:08x} (header at LBA 1) does not match computed \
             0x{computed:08x}); using the backup GPT header at LBA 8191"
        )
    );
    assert!(table.to_string().contains("(from the backup header)"));
}

#[test]
fn gpt_corrupt_entries_crc_falls_back_then_fails_when_both_are_bad() {
    let mut disk = two_partition_gpt();
    disk.sector_mut(2)[56] = b'X'; // first letter of partition 1's name in the primary array
    let table = read_partition_table(&mut disk).expect("backup entries are good");
    assert_two_partitions(&table); // names come from the backup array: "boot", not "Xoot"
    assert!(matches!(
        table.diagnostics(),
        [Diagnostic::PrimaryGptInvalid { problem: GptProblem::EntriesCrc { lba: 1, .. }, backup_lba: 8191 }]
    ));

    let backup_entries = standard_layout().backup_entries_lba();
    disk.sector_mut(backup_entries)[56] = b'Y';
    let err = read_partition_table(&mut disk).expect_err("both entry arrays are corrupt");
    let Error::Gpt { primary, backup } = &err else { panic!("{err:?}") };
    assert!(matches!(primary, GptProblem::EntriesCrc { lba: 1, .. }), "{primary:?}");
    assert!(matches!(backup, GptProblem::EntriesCrc { lba: 8191, .. }), "{backup:?}");
    let text = err.to_string();
    assert!(text.starts_with("no usable GPT: primary: GPT entry array CRC 0x"), "{text}");
    assert!(text.contains("(header at LBA 8191) does not match computed 0x"), "{text}");
}

#[test]
fn gpt_bad_signature_revision_and_my_lba_are_named() {
    let mut disk = two_partition_gpt();
    disk.sector_mut(1)[0..8].copy_from_slice(b"NOT GPT!");
    patch_header(&mut disk, 8191, |h| put_u32(h, 8, 0x0002_0000));
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(
        err,
        Error::Gpt {
            primary: GptProblem::Signature { lba: 1, found: *b"NOT GPT!" },
            backup: GptProblem::Revision { lba: 8191, revision: 0x0002_0000 },
        }
    );
    assert_eq!(
        err.to_string(),
        "no usable GPT: primary: GPT header at LBA 1 has signature 4e4f542047505421, not \"EFI PART\"; \
         backup: GPT header at LBA 8191 has revision 0x00020000; only major revision 1 is understood"
    );

    let mut disk = two_partition_gpt();
    patch_header(&mut disk, 1, |h| put_u64(h, 24, 7));
    patch_header(&mut disk, 8191, |h| put_u32(h, 12, 91));
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(
        err,
        Error::Gpt {
            primary: GptProblem::MyLba { lba: 1, my_lba: 7 },
            backup: GptProblem::HeaderSize { lba: 8191, size: 91 },
        }
    );
}

#[test]
fn gpt_header_claiming_2_pow_32_entries_is_refused_without_reading_them() {
    let mut disk = two_partition_gpt();
    for lba in [1, 8191] {
        patch_header(&mut disk, lba, |h| put_u32(h, 80, u32::MAX));
    }
    disk.reads = 0;
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(
        err,
        Error::Gpt {
            primary: GptProblem::EntryArrayTooLarge { lba: 1, entries: u32::MAX, entry_size: 128 },
            backup: GptProblem::EntryArrayTooLarge { lba: 8191, entries: u32::MAX, entry_size: 128 },
        }
    );
    assert_eq!(disk.reads, 3, "sector 0 and the two headers, nothing more");
    assert!(err.to_string().contains(
        "GPT header at LBA 1 claims 4294967295 entries of 128 bytes (549755813760 bytes), more than the \
         1048576-byte limit"
    ));

    // Largest size times largest count: the product needs 64 bits and must not wrap.
    let mut disk = two_partition_gpt();
    for lba in [1, 8191] {
        patch_header(&mut disk, lba, |h| {
            put_u32(h, 80, u32::MAX);
            put_u32(h, 84, 0xFFFF_FFF8);
        });
    }
    assert!(matches!(
        read_partition_table(&mut disk),
        Err(Error::Gpt { primary: GptProblem::EntryArrayTooLarge { entry_size: 0xFFFF_FFF8, .. }, .. })
    ));
}

#[test]
fn gpt_entry_size_must_be_at_least_128_and_a_multiple_of_8() {
    for bad in [0u32, 8, 100, 127, 132, 129] {
        let mut disk = two_partition_gpt();
        for lba in [1, 8191] {
            patch_header(&mut disk, lba, |h| put_u32(h, 84, bad));
        }
        let err = read_partition_table(&mut disk).unwrap_err();
        assert_eq!(
            err,
            Error::Gpt {
                primary: GptProblem::EntrySize { lba: 1, size: bad },
                backup: GptProblem::EntrySize { lba: 8191, size: bad }
            }
        );
    }
}

#[test]
fn gpt_entry_array_and_usable_range_placement_is_checked() {
    // Entry array beyond the disk, with an LBA that would overflow when added to.
    let mut disk = two_partition_gpt();
    patch_header(&mut disk, 1, |h| put_u64(h, 72, u64::MAX - 3));
    patch_header(&mut disk, 8191, |h| put_u64(h, 72, 8190));
    let Err(Error::Gpt { primary, backup }) = read_partition_table(&mut disk) else { panic!() };
    assert_eq!(
        primary,
        GptProblem::EntryArrayBeyondDisk { lba: 1, entries_lba: u64::MAX - 3, blocks: 32, disk_blocks: 8192 }
    );
    assert_eq!(
        backup,
        GptProblem::EntryArrayBeyondDisk { lba: 8191, entries_lba: 8190, blocks: 32, disk_blocks: 8192 }
    );

    // Entry array over LBA 0 / over the usable range.
    let mut disk = two_partition_gpt();
    patch_header(&mut disk, 1, |h| put_u64(h, 72, 0));
    patch_header(&mut disk, 8191, |h| put_u64(h, 72, 100));
    let Err(Error::Gpt { primary, backup }) = read_partition_table(&mut disk) else { panic!() };
    assert!(matches!(primary, GptProblem::EntryArrayOverlaps { entries_lba: 0, what, .. } if what.contains("LBA 0")));
    assert!(matches!(backup, GptProblem::EntryArrayOverlaps { entries_lba: 100, what, .. } if what.contains("usable")));

    // Usable range past the disk's end, and one that covers the header itself.
    let mut disk = two_partition_gpt();
    patch_header(&mut disk, 1, |h| put_u64(h, 48, 9000));
    patch_header(&mut disk, 8191, |h| put_u64(h, 48, 8191));
    let Err(Error::Gpt { primary, backup }) = read_partition_table(&mut disk) else { panic!() };
    assert_eq!(primary, GptProblem::UsableRange { lba: 1, first_usable: 34, last_usable: 9000, disk_blocks: 8192 });
    assert!(matches!(backup, GptProblem::UsableRange { lba: 8191, last_usable: 8191, .. }));
}

#[test]
fn gpt_bad_backup_header_and_misplaced_backup_are_diagnosed() {
    let mut disk = two_partition_gpt();
    disk.sector_mut(8191)[40] ^= 1; // FirstUsableLBA: the backup's CRC no longer matches
    patch_header(&mut disk, 1, |h| put_u64(h, 32, 5000));
    let table = read_partition_table(&mut disk).expect("primary is good");
    assert_two_partitions(&table);
    let diags = table.diagnostics();
    assert_eq!(diags.len(), 2, "{table}");
    assert_eq!(diags[0], Diagnostic::BackupNotAtEnd { alternate_lba: 5000, last_lba: 8191 });
    assert!(matches!(diags[1], Diagnostic::BackupGptInvalid { problem: GptProblem::HeaderCrc { lba: 8191, .. } }));
    assert_eq!(
        diags[0].to_string(),
        "primary GPT header places the backup at LBA 5000, not at the disk's last LBA 8191"
    );
}

#[test]
fn gpt_hostile_entries_are_left_out_with_precise_diagnostics() {
    let last_usable = standard_layout().last_usable();
    let parts = [
        part(0, Guid::EFI_SYSTEM, 2048, 4095, "boot"),
        part(1, Guid::LINUX_FILESYSTEM, 3000, 5000, "overlaps 1"),
        part(2, Guid::LINUX_FILESYSTEM, 2048, 4194303, "past the end"),
        part(3, Guid::LINUX_FILESYSTEM, 6000, 5999, "reversed"),
        part(4, Guid::LINUX_FILESYSTEM, 0, u64::MAX, "everything"),
        part(5, Guid::LINUX_FILESYSTEM, 1, 10, "over the header"),
        part(6, Guid::LINUX_FILESYSTEM, 8160, 8170, "in the backup array"),
        part(9, Guid::BIOS_BOOT, 7000, last_usable, "good"),
    ];
    let mut disk = build_gpt_with(standard_layout(), &parts);
    let table = read_partition_table(&mut disk).expect("the table itself is valid");
    let kept: Vec<_> = table.partitions().iter().map(|p| p.index).collect();
    assert_eq!(kept, [1, 10]);
    assert_eq!(table.partition(10).unwrap().type_name(), Some("BIOS boot"));
    let messages: Vec<String> = table.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        [
            "partition 2 (LBA 3000..5001) overlaps partition 1 (LBA 2048..4096); ignored",
            "partition 3 (LBA 2048..4194304) extends past the end of the disk (8192 blocks); ignored",
            "partition 4 ends (last LBA 5999) before it starts (first LBA 6000); ignored",
            "partition 5 (LBA 0..18446744073709551615) extends past the end of the disk (8192 blocks); ignored",
            "partition 6 (LBA 1..=10) is outside the GPT usable range 34..=8158; ignored",
            "partition 7 (LBA 8160..=8170) is outside the GPT usable range 34..=8158; ignored",
        ]
    );
}

#[test]
fn gpt_with_more_used_entries_than_the_table_holds() {
    let layout = GptLayout { disk_blocks: GPT_DISK_BLOCKS, num_entries: 131, entry_size: 128 };
    let parts: Vec<GptPart> =
        (0..131).map(|i| part(i, Guid::LINUX_FILESYSTEM, 100 + i as u64, 100 + i as u64, "p")).collect();
    let mut disk = build_gpt_with(layout, &parts);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(table.partitions().len(), MAX_PARTITIONS);
    assert_eq!(table.partitions().last().unwrap().index, 128);
    assert_eq!(table.diagnostics(), [Diagnostic::TooManyPartitions { dropped: 3 }]);
    assert_eq!(table.diagnostics()[0].to_string(), "3 partition(s) beyond the first 128 were ignored");
}

#[test]
fn diagnostics_beyond_the_capacity_are_counted() {
    let parts: Vec<GptPart> = (0..20).map(|i| part(i, Guid::LINUX_FILESYSTEM, 500, 400, "bad")).collect();
    let mut disk = build_gpt_with(standard_layout(), &parts);
    let table = read_partition_table(&mut disk).unwrap();
    assert!(table.partitions().is_empty());
    assert_eq!(table.diagnostics().len(), MAX_DIAGNOSTICS);
    assert_eq!(table.dropped_diagnostics(), 4);
    assert!(table.to_string().ends_with("note: 4 more diagnostic(s) not kept\n"));
}

#[test]
fn gpt_without_protective_mbr_is_accepted_with_a_diagnostic() {
    let mut disk = two_partition_gpt();
    disk.sector_mut(0).fill(0);
    let table = read_partition_table(&mut disk).unwrap();
    assert_two_partitions(&table);
    assert_eq!(table.diagnostics(), [Diagnostic::GptWithoutProtectiveMbr]);

    // With the GPT broken too, the disk simply has no table.
    disk.sector_mut(1)[20] ^= 1;
    disk.sector_mut(8191)[20] ^= 1;
    assert_eq!(
        read_partition_table(&mut disk).unwrap_err(),
        Error::NoPartitionTable(NoTableReason::NoSignature { found: [0, 0] })
    );
}

#[test]
fn gpt_on_a_disk_too_small_for_one() {
    let mut disk = MemDisk::new(2);
    mbr_record(disk.sector_mut(0), 0, 0, 0xEE, 1, 1);
    sign(disk.sector_mut(0));
    let problem = GptProblem::DiskTooSmall { disk_blocks: 2 };
    assert_eq!(read_partition_table(&mut disk).unwrap_err(), Error::Gpt { primary: problem, backup: problem });
}

// ---------------------------------------------------------------------------
// MBR

const MBR_DISK_BLOCKS: u64 = 16384;
const EXT_FIRST: u64 = 8192;
const EBR2: u64 = 12288;

/// FAT32 (LBA) bootable at 2048 (4096 blocks); extended (0x0F) at 8192 (8192 blocks)
/// with logical Linux at 10240 (2048 blocks) and logical swap at 14336 (1024 blocks).
fn mbr_with_extended() -> MemDisk {
    let mut disk = MemDisk::new(MBR_DISK_BLOCKS);
    let s0 = disk.sector_mut(0);
    put_u32(s0, 440, 0xCAFE_F00D);
    mbr_record(s0, 0, 0x80, 0x0C, 2048, 4096);
    mbr_record(s0, 1, 0, 0x0F, EXT_FIRST as u32, 8192);
    sign(s0);
    let ebr1 = disk.sector_mut(EXT_FIRST);
    mbr_record(ebr1, 0, 0, 0x83, 2048, 2048); // relative to this EBR
    mbr_record(ebr1, 1, 0, 0x05, (EBR2 - EXT_FIRST) as u32, 4096); // relative to the extended partition
    sign(ebr1);
    let ebr2 = disk.sector_mut(EBR2);
    mbr_record(ebr2, 0, 0, 0x82, 2048, 1024);
    sign(ebr2);
    disk
}

fn indices(table: &PartitionTable) -> Vec<(u32, u64, u64)> {
    table.partitions().iter().map(|p| (p.index, p.first_lba, p.block_count)).collect()
}

#[test]
fn mbr_with_fat32_and_two_logical_partitions() {
    let mut disk = mbr_with_extended();
    let table = read_partition_table(&mut disk).expect("valid MBR");
    assert_eq!(table.kind(), TableKind::Mbr { disk_signature: 0xCAFE_F00D });
    assert_eq!(indices(&table), [(1, 2048, 4096), (5, 10240, 2048), (6, 14336, 1024)]);
    assert!(table.diagnostics().is_empty(), "{table}");
    let p1 = table.partition(1).unwrap();
    assert!(p1.is_fat() && !p1.is_efi_system() && !p1.is_linux_filesystem());
    assert_eq!(p1.kind, PartitionKind::Mbr { type_byte: 0x0C, bootable: true, logical: false });
    assert!(p1.name().is_none());
    let p5 = table.partition(5).unwrap();
    assert!(p5.is_linux_filesystem() && !p5.is_fat());
    assert_eq!(p5.kind, PartitionKind::Mbr { type_byte: 0x83, bootable: false, logical: true });
    assert!(table.partition(2).is_none(), "the extended container is not a partition to mount");
    assert_eq!(p1.to_string(), "1  start 2048  size 2 MiB  FAT32 (LBA)  bootable");
    assert_eq!(p5.to_string(), "5  start 10240  size 1 MiB  Linux  logical");
    assert_eq!(table.partition(6).unwrap().to_string(), "6  start 14336  size 512 KiB  Linux swap  logical");
    assert!(check_fat_boot_sector(&disk.data[..SECTOR]).is_err(), "an MBR is not a FAT boot sector");
}

#[test]
fn mbr_fat_and_efi_type_bytes() {
    for (type_byte, fat, esp) in
        [(0x01, true, false), (0x04, true, false), (0x06, true, false), (0x0B, true, false), (0x0E, true, false)]
            .into_iter()
            .chain([(0xEF, true, true), (0x07, false, false), (0x83, false, false), (0x8E, false, false)])
    {
        let p = Partition {
            index: 1,
            first_lba: 2048,
            block_count: 1,
            kind: PartitionKind::Mbr { type_byte, bootable: false, logical: false },
        };
        assert_eq!((p.is_fat(), p.is_efi_system()), (fat, esp), "type 0x{type_byte:02x}");
    }
    let unknown = Partition {
        index: 3,
        first_lba: 64,
        block_count: 3,
        kind: PartitionKind::Mbr { type_byte: 0x9A, bootable: false, logical: false },
    };
    assert_eq!(unknown.to_string(), "3  start 64  size 1.5 KiB  type 0x9a");
}

#[test]
fn ebr_loop_is_detected_and_earlier_partitions_kept() {
    let mut disk = mbr_with_extended();
    mbr_record(disk.sector_mut(EBR2), 1, 0, 0x05, 0, 4096); // EBR2 links back to EBR1
    let table = read_partition_table(&mut disk).expect("loop is diagnosed, not fatal");
    assert_eq!(indices(&table), [(1, 2048, 4096), (5, 10240, 2048), (6, 14336, 1024)]);
    assert_eq!(table.diagnostics(), [Diagnostic::EbrLoop { lba: EXT_FIRST }]);
    assert_eq!(table.diagnostics()[0].to_string(), "EBR chain loops back to LBA 8192; logical partitions end there");

    // An EBR linking to itself.
    let mut disk = mbr_with_extended();
    mbr_record(disk.sector_mut(EBR2), 1, 0, 0x0F, (EBR2 - EXT_FIRST) as u32, 1);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(table.diagnostics(), [Diagnostic::EbrLoop { lba: EBR2 }]);
    assert_eq!(table.partitions().len(), 3);
}

#[test]
fn ebr_chain_length_is_bounded() {
    // 300 EBRs, each linking to the next sector and holding no partition.
    let mut disk = mbr_with_extended();
    for i in 0..300u32 {
        let s = disk.sector_mut(EXT_FIRST + u64::from(i));
        s.fill(0);
        mbr_record(s, 1, 0, 0x05, i + 1, 1);
        sign(s);
    }
    disk.reads = 0;
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(table.diagnostics(), [Diagnostic::EbrChainTooLong { limit: MAX_EBR_LINKS }]);
    assert_eq!(disk.reads, 1 + MAX_EBR_LINKS);
    assert_eq!(indices(&table), [(1, 2048, 4096)]);
}

#[test]
fn ebr_problems_end_the_chain_with_a_diagnostic() {
    // Link outside the extended partition.
    let mut disk = mbr_with_extended();
    mbr_record(disk.sector_mut(EBR2), 1, 0, 0x05, 9000, 10);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(table.partitions().len(), 3);
    assert_eq!(
        table.diagnostics()[0].to_string(),
        "EBR at LBA 12288 links to LBA 17192, outside its extended partition (LBA 8192..16384); logical \
         partitions end there"
    );
    // Second EBR without signature.
    let mut disk = mbr_with_extended();
    disk.sector_mut(EBR2)[511] = 0;
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(indices(&table), [(1, 2048, 4096), (5, 10240, 2048)]);
    assert_eq!(table.diagnostics(), [Diagnostic::EbrWithoutSignature { lba: EBR2 }]);
    // Logical partition outside the container, and one covering its own EBR.
    let mut disk = mbr_with_extended();
    mbr_record(disk.sector_mut(EXT_FIRST), 0, 0, 0x83, 2048, 8000);
    mbr_record(disk.sector_mut(EBR2), 0, 0, 0x83, 0, 16);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(indices(&table), [(1, 2048, 4096)]);
    assert_eq!(
        table.diagnostics(),
        [
            Diagnostic::Skipped(PartitionProblem::OutsideExtended {
                index: 5,
                first_lba: 10240,
                block_count: 8000,
                extended_first: EXT_FIRST,
                extended_end: 16384
            }),
            Diagnostic::Skipped(PartitionProblem::CoversTable { index: 6, table_lba: EBR2 }),
        ]
    );
}

#[test]
fn mbr_hostile_primary_entries() {
    let mut disk = MemDisk::new(MBR_DISK_BLOCKS);
    let s0 = disk.sector_mut(0);
    mbr_record(s0, 0, 0, 0x83, 2048, 4096);
    mbr_record(s0, 1, 0, 0x83, 4000, 100); // overlaps 1
    mbr_record(s0, 2, 0, 0x0C, 2048, 4194304 - 2048); // past the end
    mbr_record(s0, 3, 0, 0x83, 9000, 0); // zero size
    sign(s0);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(indices(&table), [(1, 2048, 4096)]);
    let messages: Vec<String> = table.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        [
            "partition 2 (LBA 4000..4100) overlaps partition 1 (LBA 2048..6144); ignored",
            "partition 3 (LBA 2048..4194304) extends past the end of the disk (16384 blocks); ignored",
            "partition 4 (at LBA 9000) has a type but a size of 0 blocks; ignored",
        ]
    );

    // u32::MAX start and count: the end needs 33 bits; an entry at LBA 0 covers the MBR.
    let mut disk = MemDisk::new(MBR_DISK_BLOCKS);
    let s0 = disk.sector_mut(0);
    mbr_record(s0, 0, 0, 0x83, u32::MAX, u32::MAX);
    mbr_record(s0, 1, 0x80, 0x0F, u32::MAX, u32::MAX);
    mbr_record(s0, 2, 0, 0x06, 0, 100);
    sign(s0);
    let table = read_partition_table(&mut disk).unwrap();
    assert!(table.partitions().is_empty());
    assert_eq!(
        table.diagnostics()[0],
        Diagnostic::Skipped(PartitionProblem::BeyondDisk {
            index: 1,
            first_lba: u64::from(u32::MAX),
            block_count: u64::from(u32::MAX),
            disk_blocks: MBR_DISK_BLOCKS
        })
    );
    assert!(matches!(table.diagnostics()[1], Diagnostic::Skipped(PartitionProblem::BeyondDisk { index: 2, .. })));
    assert_eq!(table.diagnostics()[2], Diagnostic::Skipped(PartitionProblem::CoversTable { index: 3, table_lba: 0 }));
}

#[test]
fn empty_mbr_has_no_partitions_but_is_a_table() {
    let mut disk = MemDisk::new(64);
    sign(disk.sector_mut(0));
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(table.kind(), TableKind::Mbr { disk_signature: 0 });
    assert!(table.partitions().is_empty() && table.diagnostics().is_empty());
}

// ---------------------------------------------------------------------------
// No table, FAT superfloppy

/// A FAT32 boot sector: jump, OEM name, BPB (512-byte sectors, 8 per cluster,
/// 32 reserved, 2 FATs, media 0xF8), boot code bytes, signature.
fn fat_boot_sector() -> Vec<u8> {
    let mut s = vec![0u8; SECTOR];
    s[0..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    s[3..11].copy_from_slice(b"MSWIN4.1");
    put_u16(&mut s, 11, 512);
    s[13] = 8;
    put_u16(&mut s, 14, 32);
    s[16] = 2;
    s[21] = 0xF8;
    // Boot code that runs over the partition-record area: not valid boot indicators.
    for (i, b) in s[90..510].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    sign(&mut s);
    s
}

#[test]
fn all_zero_sector_0_is_no_partition_table() {
    let mut disk = MemDisk::new(100);
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(err, Error::NoPartitionTable(NoTableReason::NoSignature { found: [0, 0] }));
    assert!(err.is_no_partition_table());
    assert_eq!(
        err.to_string(),
        "disk has no partition table (no 0x55AA signature at byte 510 of sector 0; found 0x0000)"
    );
}

#[test]
fn fat_superfloppy_is_told_apart_from_an_mbr() {
    let sector = fat_boot_sector();
    assert_eq!(
        check_fat_boot_sector(&sector),
        Ok(FatBootSector {
            bytes_per_sector: 512,
            sectors_per_cluster: 8,
            reserved_sectors: 32,
            fat_count: 2,
            media: 0xF8
        })
    );
    let mut disk = MemDisk::new(4096);
    disk.write(0, &sector);
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(err, Error::NoPartitionTable(NoTableReason::FatBootSector));
    assert_eq!(
        err.to_string(),
        "disk has no partition table (sector 0 is a FAT boot sector: the whole disk is one filesystem)"
    );

    // A FAT boot sector whose record area is all zero is still a superfloppy.
    disk.sector_mut(0)[446..510].fill(0);
    assert!(looks_like_fat_boot_sector(&disk.data[..SECTOR]));
    assert_eq!(read_partition_table(&mut disk).unwrap_err(), Error::NoPartitionTable(NoTableReason::FatBootSector));

    // The same sector with a real partition record is an MBR (noted in a diagnostic).
    mbr_record(disk.sector_mut(0), 0, 0, 0x0C, 63, 4000);
    let table = read_partition_table(&mut disk).unwrap();
    assert_eq!(indices(&table), [(1, 63, 4000)]);
    assert_eq!(table.diagnostics(), [Diagnostic::MbrAlsoLooksLikeFat]);
}

#[test]
fn fat_boot_sector_check_names_the_failing_field() {
    let cases: [(usize, u8, NotFat); 8] = [
        (0, 0x33, NotFat::NoJump { first: 0x33 }),
        (12, 0x03, NotFat::BytesPerSector(0x0300)),
        (12, 0x20, NotFat::BytesPerSector(0x2000)),
        (13, 3, NotFat::SectorsPerCluster(3)),
        (13, 0, NotFat::SectorsPerCluster(0)),
        (16, 3, NotFat::FatCount(3)),
        (21, 0x12, NotFat::Media(0x12)),
        (511, 0, NotFat::NoSignature),
    ];
    for (offset, value, expected) in cases {
        let mut s = fat_boot_sector();
        s[offset] = value;
        assert_eq!(check_fat_boot_sector(&s), Err(expected), "byte {offset} = 0x{value:02x}");
    }
    let mut s = fat_boot_sector();
    put_u16(&mut s, 14, 0);
    assert_eq!(check_fat_boot_sector(&s), Err(NotFat::NoReservedSectors));
    put_u16(&mut s, 11, 100);
    assert_eq!(
        check_fat_boot_sector(&s).unwrap_err().to_string(),
        "bytes per sector 100 is not a power of two in 512..=4096"
    );
    assert_eq!(check_fat_boot_sector(&s[..100]), Err(NotFat::TooShort { len: 100 }));
    // 4096-byte sectors, 1 FAT, media 0xF0 are fine.
    let mut s = fat_boot_sector();
    put_u16(&mut s, 11, 4096);
    s[16] = 1;
    s[21] = 0xF0;
    assert!(looks_like_fat_boot_sector(&s));
}

#[test]
fn non_fat_sector_with_bad_boot_indicators_is_no_table() {
    let mut disk = MemDisk::new(100);
    let s0 = disk.sector_mut(0);
    mbr_record(s0, 2, 0x3C, 0x83, 1, 10);
    sign(s0);
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(err, Error::NoPartitionTable(NoTableReason::BadBootIndicator { entry: 3, status: 0x3C }));
    assert!(err.to_string().contains("MBR entry 3 has boot indicator 0x3c, not 0x00 or 0x80"));
}

#[test]
fn empty_disk_and_unsupported_block_size() {
    let mut disk = MemDisk::new(0);
    assert_eq!(read_partition_table(&mut disk).unwrap_err(), Error::EmptyDisk);

    struct BigSectors;
    impl BlockDevice for BigSectors {
        type Error = MemDiskError;
        const BLOCK_SIZE: usize = 4096;
        fn block_count(&self) -> u64 {
            10
        }
        fn read_blocks(&mut self, _: u64, _: &mut [u8]) -> Result<(), MemDiskError> {
            panic!("must not be read")
        }
    }
    let err = read_partition_table(&mut BigSectors).unwrap_err();
    assert_eq!(err, Error::UnsupportedBlockSize { block_size: 4096 });
    assert_eq!(err.to_string(), "block size 4096 is not supported (only 512)");
}

#[test]
fn device_errors_name_the_lba() {
    // A device that claims more blocks than it has: the GPT backup read fails.
    struct Liar(MemDisk);
    impl BlockDevice for Liar {
        type Error = MemDiskError;
        fn block_count(&self) -> u64 {
            self.0.block_count() * 2
        }
        fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), MemDiskError> {
            self.0.read_blocks(lba, buf)
        }
    }
    let mut disk = Liar(two_partition_gpt());
    disk.0.sector_mut(1)[0] = 0;
    let err = read_partition_table(&mut disk).unwrap_err();
    assert_eq!(err.to_string(), "reading LBA 16383: 1 block(s) at LBA 16383 are past the end of the 8192-block disk");
}

// ---------------------------------------------------------------------------
// Partition as a block device

#[test]
fn partition_reader_reads_inside_and_refuses_outside() {
    let mut disk = mbr_with_extended();
    for (lba, marker) in [(10240u64, 0xA5u8), (10240 + 2047, 0x5A), (10240 + 2048, 0xEE)] {
        disk.sector_mut(lba).fill(marker);
    }
    let table = read_partition_table(&mut disk).unwrap();
    let p5 = *table.partition(5).unwrap();
    let mut reader = PartitionReader::new(&mut disk, &p5).expect("partition 5 is on the disk");
    assert_eq!(reader.block_count(), 2048);
    assert_eq!(reader.first_lba(), 10240);

    let mut block = [0u8; SECTOR];
    reader.read_blocks(0, &mut block).unwrap();
    assert!(block.iter().all(|&b| b == 0xA5));
    reader.read_blocks(2047, &mut block).unwrap();
    assert!(block.iter().all(|&b| b == 0x5A));

    let err = reader.read_blocks(2048, &mut block).unwrap_err();
    assert_eq!(err, PartitionIoError::OutOfRange { partition: 5, lba: 2048, blocks: 1, partition_blocks: 2048 });
    assert_eq!(err.to_string(), "read of 1 block(s) at LBA 2048 is outside partition 5 (2048 blocks)");
    let mut two = [0u8; 2 * SECTOR];
    assert!(matches!(reader.read_blocks(2047, &mut two), Err(PartitionIoError::OutOfRange { blocks: 2, .. })));
    assert!(matches!(reader.read_blocks(u64::MAX, &mut block), Err(PartitionIoError::OutOfRange { .. })));
    assert_eq!(
        reader.read_blocks(0, &mut [0u8; 100]).unwrap_err(),
        PartitionIoError::PartialBlock { len: 100, block_size: 512 }
    );
    // Nested: a reader over a reader still maps to the right disk block.
    let mut inner = PartitionReader::from_range(&mut reader, 9, 2047, 1).unwrap();
    inner.read_blocks(0, &mut block).unwrap();
    assert!(block.iter().all(|&b| b == 0x5A));
    assert!(inner.read_blocks(1, &mut block).is_err());

    // A range past the disk cannot be made into a reader.
    let err = PartitionReader::from_range(&mut disk, 3, 2048, 4194304 - 2048).err().unwrap();
    assert_eq!(err.to_string(), "partition 3 (LBA 2048..4194304) extends past the end of the disk (16384 blocks)");
    assert!(PartitionReader::from_range(&mut disk, 1, u64::MAX, 2).is_err());
}

#[test]
fn device_errors_pass_through_the_reader() {
    struct Failing;
    impl BlockDevice for Failing {
        type Error = &'static str;
        fn block_count(&self) -> u64 {
            100
        }
        fn read_blocks(&mut self, _: u64, _: &mut [u8]) -> Result<(), &'static str> {
            Err("virtio-blk request failed")
        }
    }
    let mut reader = PartitionReader::from_range(Failing, 1, 10, 20).unwrap();
    let err = reader.read_blocks(0, &mut [0u8; SECTOR]).unwrap_err();
    assert_eq!(err, PartitionIoError::Device("virtio-blk request failed"));
    assert_eq!(err.to_string(), "disk read failed: virtio-blk request failed");
}

// ---------------------------------------------------------------------------
// GUIDs, names, sizes

#[test]
fn guid_text_form_and_on_disk_bytes() {
    assert_eq!(Guid::EFI_SYSTEM.to_string(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    assert_eq!(Guid::LINUX_FILESYSTEM.to_string(), "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
    assert_eq!(Guid::MICROSOFT_BASIC_DATA.to_string(), "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");
    assert_eq!(Guid::BIOS_BOOT.to_string(), "21686148-6449-6E6F-744E-656564454649");
    // Mixed-endian: the first three fields little-endian, the rest as written.
    assert_eq!(&Guid::EFI_SYSTEM.to_bytes()[..8], &[0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11]);
    assert_eq!(&Guid::BIOS_BOOT.to_bytes(), b"Hah!IdontNeedEFI");
    for g in [Guid::EFI_SYSTEM, Guid::LINUX_FILESYSTEM, Guid::MICROSOFT_BASIC_DATA, Guid::BIOS_BOOT, DISK_GUID] {
        assert_eq!(Guid::parse(&g.to_string()), Some(g));
        assert_eq!(Guid::parse(&g.to_string().to_lowercase()), Some(g));
    }
    for bad in [
        "",
        "C12A7328F81F11D2BA4B00A0C93EC93B",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93G",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93",
    ] {
        assert_eq!(Guid::parse(bad), None, "{bad}");
    }
    assert!(Guid::ZERO.is_zero() && !Guid::EFI_SYSTEM.is_zero());
    assert_eq!(Guid::LINUX_SWAP.type_name(), Some("Linux swap"));
    assert_eq!(DISK_GUID.type_name(), None);
}

#[test]
fn partition_names_decode_utf16() {
    let mut bytes = [0u8; 72];
    for (i, unit) in "Système".encode_utf16().chain([0xD800]).enumerate() {
        bytes[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    let name = PartitionName::from_le_bytes(&bytes);
    assert_eq!(name.to_string(), "Système\u{FFFD}");
    assert_eq!(name.as_utf16().len(), 8);
    assert!(!name.matches("Système"));
    // All 36 units used, no terminating NUL.
    let full = PartitionName::from_le_bytes(&[b'a'; 72]);
    assert_eq!(full.as_utf16().len(), 36);
    assert!(PartitionName::EMPTY.is_empty());
}

#[test]
fn partition_display_matches_the_boot_menu_format() {
    let mut name = [0u8; 72];
    for (i, unit) in "boot".encode_utf16().enumerate() {
        name[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    let esp = Partition {
        index: 1,
        first_lba: 2048,
        block_count: 131072,
        kind: PartitionKind::Gpt {
            type_guid: Guid::EFI_SYSTEM,
            unique_guid: Guid::ZERO,
            attributes: 0,
            name: PartitionName::from_le_bytes(&name),
        },
    };
    assert_eq!(esp.to_string(), "1  start 2048  size 64 MiB  EFI System  \"boot\"");
    assert_eq!((esp.last_lba(), esp.end_lba(), esp.size_bytes()), (133119, 133120, 64 << 20));
    let odd = Partition {
        index: 7,
        first_lba: 1,
        block_count: 3 << 21, // 3 GiB
        kind: PartitionKind::Gpt {
            type_guid: DISK_GUID,
            unique_guid: Guid::ZERO,
            attributes: 0,
            name: PartitionName::EMPTY,
        },
    };
    assert_eq!(odd.to_string(), "7  start 1  size 3 GiB  type 12345678-9ABC-DEF0-0123-456789ABCDEF");
    assert_eq!(table::Size(1).to_string(), "1 bytes");
    assert_eq!(table::Size(1023).to_string(), "1023 bytes");
    assert_eq!(table::Size(u64::MAX).to_string(), "15.9 EiB");
}

// ---------------------------------------------------------------------------
// Fuzz: random mutations of the table sectors must never panic, hang or
// produce a table that breaks its invariants.

/// xorshift64*: deterministic, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Checks what every parsed table must satisfy, whatever the disk held.
fn assert_table_invariants(table: &PartitionTable, disk_blocks: u64) {
    let parts = table.partitions();
    for (i, p) in parts.iter().enumerate() {
        assert!(p.block_count > 0, "{p:?}");
        assert!(p.first_lba.checked_add(p.block_count).is_some_and(|end| end <= disk_blocks), "{p:?}");
        for q in &parts[i + 1..] {
            assert!(!p.overlaps(q), "{p:?} overlaps {q:?}");
            assert_ne!(p.index, q.index);
        }
    }
    let mut text = String::new();
    write!(text, "{table}").unwrap();
    assert!(text.lines().count() > parts.len());
}

#[test]
fn fuzz_mutated_table_sectors_never_panic() {
    let bases: [(MemDisk, &[u64]); 3] = [
        (two_partition_gpt(), &[0, 1, 2, 8191]),
        (mbr_with_extended(), &[0, EXT_FIRST, EBR2]),
        (
            {
                let mut d = MemDisk::new(4096);
                d.write(0, &fat_boot_sector());
                d
            },
            &[0],
        ),
    ];
    let mut rng = Rng(0x7153_A11C_2026_0001);
    let (mut oks, mut errs, mut no_table) = (0, 0, 0);
    for (base, sectors) in &bases {
        let disk_blocks = base.block_count();
        for _ in 0..400 {
            let mut disk = base.clone();
            for _ in 0..1 + rng.below(8) {
                let lba = sectors[rng.below(sectors.len() as u64) as usize];
                // Bias towards the fields that matter: records, header fields, signature.
                let offset = match rng.below(4) {
                    0 => 446 + rng.below(66) as usize,
                    1 => rng.below(92) as usize,
                    _ => rng.below(SECTOR as u64) as usize,
                };
                let value = match rng.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    _ => rng.next() as u8,
                };
                disk.sector_mut(lba)[offset] = value;
                // Half the time make GPT headers self-consistent again, to get past the CRC.
                if (lba == 1 || lba == 8191) && rng.below(2) == 0 && disk.sector_mut(lba)[..8] == *b"EFI PART" {
                    fix_header_crc(disk.sector_mut(lba));
                }
            }
            disk.reads = 0;
            match read_partition_table(&mut disk) {
                Ok(table) => {
                    oks += 1;
                    assert_table_invariants(&table, disk_blocks);
                }
                Err(e) => {
                    errs += 1;
                    no_table += usize::from(e.is_no_partition_table());
                    assert!(!e.to_string().is_empty());
                }
            }
            // Sector 0, LBA 1, two headers, three passes over an array of at most
            // MAX_ENTRY_ARRAY_BYTES, or one EBR chain per primary record.
            let array_blocks = (MAX_ENTRY_ARRAY_BYTES / 512) as usize;
            let bound = 4 + 3 * array_blocks + 4 * MAX_EBR_LINKS;
            assert!(disk.reads <= bound, "{} reads", disk.reads);
        }
    }
    // The mutations reached both outcomes: the loop is not trivially passing.
    assert!(oks > 100 && errs > 100 && no_table > 10, "ok {oks}, err {errs}, no table {no_table}");
}

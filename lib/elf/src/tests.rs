use super::synth::{PF_RW, PF_RX, SynthElf, SynthSegment};
use super::*;

const KSEG0: u64 = 0xFFFF_FFFF_8000_0000;
const KERNEL: u64 = KSEG0 + 0x20_0000;

fn to_phys(va: u64) -> Option<u64> {
    (KSEG0..KSEG0 + 0x2000_0000).contains(&va).then(|| va - KSEG0)
}

fn machine_map() -> MemoryMap {
    let mut m = MemoryMap::new();
    m.add(0, 0x1000_0000, MemoryKind::Usable).unwrap();
    m.add(0x9000_0000, 0x1000_0000, MemoryKind::Usable).unwrap();
    m.carve(0x0F00_0000, 0x0100_0000, MemoryKind::Firmware).unwrap();
    m
}

fn two_segments() -> SynthElf {
    SynthElf {
        entry: KERNEL + 8,
        segments: vec![
            SynthSegment { vaddr: KERNEL, data: vec![0x11; 0x100], mem_size: 0x100, flags: PF_RX },
            SynthSegment { vaddr: KERNEL + 0x1000, data: vec![0x22; 0x10], mem_size: 0x2000, flags: PF_RW },
        ],
        ..Default::default()
    }
}

fn check(elf: &[u8]) -> Result<LoadPlan, ElfError> {
    validate(elf, to_phys, &machine_map())
}

#[test]
fn accepts_a_good_image() {
    let file = two_segments().build();
    let plan = check(&file).unwrap();
    assert_eq!(plan.entry, KERNEL + 8);
    let s = plan.segments();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].phys, s[0].file_size, s[0].mem_size, s[0].executable), (0x20_0000, 0x100, 0x100, true));
    assert_eq!((s[1].phys, s[1].file_size, s[1].mem_size, s[1].executable), (0x20_1000, 0x10, 0x2000, false));
    assert_eq!(&file[s[0].file_offset as usize..][..4], &[0x11; 4]);
    assert_eq!(plan.phys_span(), (0x20_0000, 0x20_3000));
    assert_eq!(plan.memory_map.total(MemoryKind::Kernel), 0x3000, "whole pages, merged");
}

#[test]
fn rejects_empty_and_random_files() {
    assert_eq!(check(&[]).unwrap_err(), ElfError::Empty);
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let err = check(&random).unwrap_err();
    assert!(matches!(err, ElfError::NotElf { .. }), "{err:?}");
    assert!(err.to_string().starts_with("not an ELF file (starts "), "{err}");
    assert_eq!(check(b"\x7fEL").unwrap_err(), ElfError::Truncated { len: 3, needed: 64, what: "the ELF header" });
}

#[test]
fn rejects_truncation() {
    let file = two_segments().build();
    let err = check(&file[..80]).unwrap_err();
    assert_eq!(err, ElfError::Truncated { len: 80, needed: 64 + 2 * 56, what: "the program headers" });
    let err = check(&file[..file.len() - 1]).unwrap_err();
    assert!(matches!(err, ElfError::SegmentBeyondFile { index: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("run past the end of the file"), "{err}");
}

#[test]
fn rejects_foreign_headers() {
    let mut e = two_segments();
    e.machine = 62;
    let err = check(&e.build()).unwrap_err();
    assert_eq!(err, ElfError::WrongMachine { machine: 62 });
    assert_eq!(err.to_string(), "ELF machine 62 (x86-64) is not MIPS (8)");

    let mut e = two_segments();
    e.class = 1;
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::WrongClass { class: 1 });
    let mut e = two_segments();
    e.data = 2;
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::WrongEndianness { data: 2 });
    let mut e = two_segments();
    e.e_type = 3;
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::WrongType { e_type: 3 });
}

#[test]
fn rejects_segment_over_firmware() {
    let file = SynthElf::single(KSEG0 + 0x0EFF_F000, &[0; 0x2000]).build();
    let err = check(&file).unwrap_err();
    assert!(
        matches!(err, ElfError::SegmentOverlaps { index: 0, start: 0x0EFF_F000, end: 0x0F00_1000, region }
            if region.kind == MemoryKind::Firmware),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "segment 0 (0xefff000..0xf001000) overlaps firmware memory at 0xf000000..0x10000000");
}

#[test]
fn rejects_segment_outside_ram() {
    // KSEG0 reaches 0x1000_0000.., which is not RAM on this map.
    let file = SynthElf::single(KSEG0 + 0x1800_0000, &[0; 16]).build();
    assert_eq!(
        check(&file).unwrap_err(),
        ElfError::SegmentOutsideRam { index: 0, start: 0x1800_0000, end: 0x1800_0010 }
    );
}

#[test]
fn rejects_bad_addresses() {
    let file = SynthElf::single(0x40_0000, &[0; 16]).build();
    assert_eq!(check(&file).unwrap_err(), ElfError::UnmappedAddress { index: 0, vaddr: 0x40_0000 });
    let mut e = SynthElf::single(u64::MAX - 4, &[0; 8]);
    e.segments[0].mem_size = 16;
    assert!(matches!(check(&e.build()).unwrap_err(), ElfError::AddressOverflow { index: 0, .. }));
}

#[test]
fn rejects_inconsistent_segments() {
    let mut e = two_segments();
    e.segments[1].mem_size = 4;
    assert_eq!(
        check(&e.build()).unwrap_err(),
        ElfError::FileSizeExceedsMemSize { index: 1, file_size: 0x10, mem_size: 4 }
    );
    let mut e = two_segments();
    e.segments[1].vaddr = KERNEL + 0x80;
    let err = check(&e.build()).unwrap_err();
    assert_eq!(err, ElfError::SegmentsOverlap { index: 1, other: 0 });
    assert_eq!(err.to_string(), "segment 1 overlaps segment 0");
}

#[test]
fn rejects_bad_entry_and_empty_images() {
    let mut e = two_segments();
    e.entry = KERNEL + 0x1008; // inside the data segment, which is not executable
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::EntryOutsideSegments { entry: KERNEL + 0x1008 });
    let e = SynthElf { entry: KERNEL, ..Default::default() };
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::NoLoadableSegments);
}

#[test]
fn rejects_too_many_segments() {
    let segments = (0..MAX_SEGMENTS as u64 + 1)
        .map(|i| SynthSegment { vaddr: KERNEL + i * 0x1000, data: vec![0; 8], mem_size: 8, flags: PF_RX })
        .collect();
    let e = SynthElf { entry: KERNEL, segments, ..Default::default() };
    assert_eq!(check(&e.build()).unwrap_err(), ElfError::TooManySegments { count: MAX_SEGMENTS + 1 });
}

#[test]
fn mutated_headers_never_yield_an_unsafe_plan() {
    // Overwrite every header byte in turn. Validation must return (never
    // panic), and whatever it accepts must still be safe to copy: every
    // segment inside the file and inside RAM that was free.
    let good = two_segments().build();
    let map = machine_map();
    let mut accepted = 0;
    for i in 0..64 + 2 * 56 {
        for v in [0x00, 0xFF, 0x80] {
            let mut f = good.clone();
            f[i] = v;
            if let Ok(plan) = check(&f) {
                accepted += 1;
                for s in plan.segments() {
                    assert!(s.file_offset + s.file_size <= f.len() as u64, "byte {i}={v:#x}: {s:?}");
                    assert!(map.is_free(s.phys, s.mem_size), "byte {i}={v:#x}: {s:?}");
                    assert_eq!(
                        plan.memory_map.first_overlap(s.phys, s.mem_size).map(|r| r.kind),
                        Some(MemoryKind::Kernel)
                    );
                }
            }
        }
    }
    // Bytes such as e_shoff, e_flags and p_align do not matter to loading.
    assert!(accepted > 0);
}

#[test]
fn tells_tianshan_kernels_from_others() {
    let mut e = two_segments();
    assert_eq!(kernel_kind(&e.build()), KernelKind::Other, "no note");
    e.notes.push((b"GNU\0".to_vec(), 3, vec![1, 2, 3, 4, 5]));
    e.notes.push((TIANSHAN_NOTE_NAME.to_vec(), TIANSHAN_NOTE_PROTOCOL, 7u32.to_le_bytes().to_vec()));
    let file = e.build();
    assert_eq!(kernel_kind(&file), KernelKind::Tianshan { protocol: 7 });
    assert!(check(&file).is_ok(), "a note segment does not disturb loading");
    // Wrong type, wrong name, short descriptor: not Tianshan.
    for (name, kind, desc) in [
        (TIANSHAN_NOTE_NAME.to_vec(), 2, vec![1, 0, 0, 0]),
        (b"Tianshax\0".to_vec(), 1, vec![1, 0, 0, 0]),
        (TIANSHAN_NOTE_NAME.to_vec(), 1, vec![1, 0]),
    ] {
        let mut e = two_segments();
        e.notes.push((name, kind, desc));
        assert_eq!(kernel_kind(&e.build()), KernelKind::Other);
    }
}

#[test]
fn hostile_notes_are_not_tianshan() {
    let mut e = two_segments();
    e.notes.push((TIANSHAN_NOTE_NAME.to_vec(), TIANSHAN_NOTE_PROTOCOL, 1u32.to_le_bytes().to_vec()));
    let good = e.build();
    let note_at = good.len() - 24;
    for i in 0..24 {
        for v in [0x00u8, 0xFF, 0x7F] {
            let mut f = good.clone();
            f[note_at + i] = v;
            let _ = kernel_kind(&f); // must return, whatever it says
        }
    }
    let mut f = good.clone();
    f[note_at..note_at + 4].copy_from_slice(&u32::MAX.to_le_bytes()); // namesz
    assert_eq!(kernel_kind(&f), KernelKind::Other);
    assert_eq!(kernel_kind(&good[..100]), KernelKind::Other);
    assert_eq!(kernel_kind(b""), KernelKind::Other);
}

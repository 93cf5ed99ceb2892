//! Fuzz target: ELF validation (`validate`) and kernel detection.
//!
//! Input: a file offered as a kernel. `kernel_kind` must answer for any
//! bytes. When `validate` accepts, its load plan must hold what it promises:
//! at most `MAX_SEGMENTS` segments, each non-empty, its file bytes inside the
//! file and no more than its memory size, its physical range the
//! translation of its link range and inside free RAM of the given map, no
//! two overlapping, the entry in an executable segment, and the returned
//! map no longer offering any segment's pages as usable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tianshan_bootinfo::{MemoryKind, MemoryMap};
use tianshan_elf::{MAX_SEGMENTS, PAGE_SIZE, kernel_kind, validate};

/// KSEG0: the window Tianshan kernels are linked in, physical = va - base.
const KSEG0: u64 = 0xFFFF_FFFF_8000_0000;
const KSEG0_SIZE: u64 = 0x2000_0000;
/// loongson3-virt's low RAM, with the firmware's last 16 MiB reserved.
const LOW_RAM: u64 = 0x1000_0000;
const FIRMWARE: (u64, u64) = (0x0F00_0000, 0x0100_0000);

fn to_phys(va: u64) -> Option<u64> {
    va.checked_sub(KSEG0).filter(|&pa| pa < KSEG0_SIZE)
}

fuzz_target!(|data: &[u8]| {
    let _ = kernel_kind(data);
    let mut map = MemoryMap::new();
    map.add(0, LOW_RAM, MemoryKind::Usable).expect("empty map takes RAM");
    map.carve(FIRMWARE.0, FIRMWARE.1, MemoryKind::Firmware).expect("firmware inside RAM");
    let Ok(plan) = validate(data, to_phys, &map) else { return };
    let segments = plan.segments();
    assert!(!segments.is_empty() && segments.len() <= MAX_SEGMENTS, "{} segments", segments.len());
    for (i, s) in segments.iter().enumerate() {
        assert!(s.mem_size > 0, "segment {} is empty", s.index);
        assert!(s.file_size <= s.mem_size, "segment {} has more file than memory", s.index);
        let file_end = s.file_offset.checked_add(s.file_size).expect("file range overflows");
        assert!(file_end <= data.len() as u64, "segment {} ends at {file_end}, past the file", s.index);
        assert_eq!(to_phys(s.vaddr), Some(s.phys), "segment {} is not loaded where it is linked", s.index);
        assert_eq!(to_phys(s.vaddr + s.mem_size - 1), Some(s.phys + s.mem_size - 1));
        let page = s.phys & !(PAGE_SIZE - 1);
        let page_end = (s.phys + s.mem_size).next_multiple_of(PAGE_SIZE);
        assert!(map.is_free(page, page_end - page), "segment {} is outside free RAM", s.index);
        assert!(!plan.memory_map.is_free(page, page_end - page), "segment {} is still usable", s.index);
        for t in &segments[i + 1..] {
            assert!(s.phys + s.mem_size <= t.phys || t.phys + t.mem_size <= s.phys, "{} overlaps {}", s.index, t.index);
        }
    }
    let entry = plan.entry;
    assert!(segments.iter().any(|s| s.executable && s.vaddr <= entry && entry - s.vaddr < s.mem_size));
    let (lo, hi) = plan.phys_span();
    assert!(lo < hi && segments.iter().all(|s| lo <= s.phys && s.phys + s.mem_size <= hi));
});

//! Fuzz target: the LEFI hand-off block for Linux (`tianshan_lefi::build`).
//!
//! The firmware builds this block from parameters rather than parsing one,
//! so the target builds it from arbitrary parameters (half of them near
//! QEMU's good values, so that many builds succeed) and reads the block
//! back the way Linux does. When `build` succeeds: the registers are argc 2,
//! argv and `boot_params` as sign-extended KSEG0 addresses, and 0; the block
//! starts at `block_pa` and fits the buffer; the tables and argv lie
//! inside it; argv[0] is "g" and argv[1] the command
//! line (initrd words, then the user's text), NUL-terminated in the block;
//! the memory map has `memory_entries` entries, each of a RAM type,
//! non-empty, disjoint from the others, from every reserved range and from
//! the block itself.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tianshan_lefi::abi::{argv, boot_params, memmap};
use tianshan_lefi::memory::{HIGH_RAM_START, LOW_WINDOW_SIZE, RAM_BASE, RamLayout};
use tianshan_lefi::{
    ARGV_OFFSET, BoardStrings, BootCorePlan, CoreWiring, CpuConfig, FirmwareEntryPoints, Initrd, LefiParams, PhysRange,
    QEMU_CPU_CLOCK_HZ, QEMU_PROCESSOR_ID, build,
};

/// KSEG0's base: the block's bytes are at `KSEG0 + physical address`.
const KSEG0: u64 = 0xFFFF_FFFF_8000_0000;
/// Where QEMU keeps the firmware, and a block address inside it.
const FW_RESERVED: PhysRange = PhysRange::new(0x0F00_0000, 0x1000_0000);
const BLOCK_PA: u64 = 0x0FE0_0000;
const MIB: u64 = 1 << 20;
/// Buffer for the block (larger than any block `build` writes).
const BUFFER: usize = 64 * 1024;
/// Most reserved ranges tried.
const MAX_RESERVED: usize = 6;

/// A value near a good one half of the time, anything otherwise.
fn near(u: &mut Unstructured<'_>, good: u64) -> Result<u64> {
    Ok(if u.arbitrary()? { good } else { u.arbitrary()? })
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A NUL-terminated string at `at`, which must end inside `block`.
fn c_string(block: &[u8], at: usize) -> &[u8] {
    let len = block[at..].iter().position(|&b| b == 0).expect("argv string not NUL-terminated in the block");
    &block[at..at + len]
}

/// Both aliases of a low-window range (KSEG0's 0..256 MiB and RAM_BASE's).
fn aliases(r: &PhysRange) -> [PhysRange; 2] {
    if r.end <= LOW_WINDOW_SIZE {
        [*r, PhysRange::new(r.start + RAM_BASE, r.end + RAM_BASE)]
    } else if r.start >= RAM_BASE && r.end <= RAM_BASE + LOW_WINDOW_SIZE {
        [*r, PhysRange::new(r.start - RAM_BASE, r.end - RAM_BASE)]
    } else {
        [*r, *r]
    }
}

fn one(u: &mut Unstructured<'_>) -> Result<()> {
    let mut reserved = vec![FW_RESERVED];
    for _ in 0..u.int_in_range(0..=MAX_RESERVED)? {
        let start: u64 = u.int_in_range(0..=HIGH_RAM_START + LOW_WINDOW_SIZE)? & !(MIB - 1);
        reserved.push(PhysRange::new(start, start.saturating_add(u.int_in_range(1..=64)? * MIB)));
    }
    if u.arbitrary()? {
        reserved.remove(0);
    }
    let ram_size = if u.arbitrary()? { u.int_in_range(1..=16)? * 512 * MIB } else { u.arbitrary()? };
    let cpus = if u.arbitrary()? {
        let count = u.int_in_range(1..=16)?;
        let wiring = if u.arbitrary()? { CoreWiring::ReversedQemu10 } else { CoreWiring::Straight };
        let Ok(plan) = BootCorePlan::new(count, wiring) else { return Ok(()) };
        CpuConfig::from_plan(&plan, QEMU_CPU_CLOCK_HZ, QEMU_PROCESSOR_ID)
    } else {
        CpuConfig {
            count: u.arbitrary()?,
            startup_core_id: u.arbitrary()?,
            reserved_cores_mask: u.arbitrary()?,
            clock_hz: u.arbitrary()?,
            processor_id: u.arbitrary()?,
        }
    };
    let command_line: String = u.arbitrary()?;
    let initrd = if u.arbitrary()? { Some(Initrd { pa: u.arbitrary()?, size: u.arbitrary()? }) } else { None };
    let entry_points = FirmwareEntryPoints { reset: near(u, 0)?, power_off: near(u, 0)?, suspend: near(u, 0)? };
    let (board_name, interface_description, special_name): (String, String, String) = u.arbitrary()?;
    let strings = if u.arbitrary()? {
        BoardStrings::QEMU
    } else {
        BoardStrings {
            board_name: &board_name,
            interface_description: &interface_description,
            special_name: &special_name,
        }
    };
    let params = LefiParams {
        block_pa: near(u, BLOCK_PA)?,
        ram: RamLayout { ram_size, reserved: &reserved },
        cpus,
        command_line: &command_line,
        initrd,
        entry_points,
        strings,
    };
    let mut buf = vec![0u8; BUFFER];
    let Ok(h) = build(&params, &mut buf) else { return Ok(()) };
    let va = |pa: u64| KSEG0 + pa;
    assert_eq!(h.registers(), [argv::ARGC, va(params.block_pa + ARGV_OFFSET as u64), va(params.block_pa), 0]);
    assert_eq!(h.block.start, params.block_pa);
    assert!(h.block.len() as usize <= BUFFER, "block larger than the buffer");
    assert!(h.block.contains_range(&h.tables) && h.block.contains_range(&h.argv), "tables or argv outside");
    let block = &buf[..h.block.len() as usize];
    let slot = |i: usize| le32(block, ARGV_OFFSET + i * argv::SLOT_SIZE) as i32 as i64 as u64;
    let offset_of = |v: u64| usize::try_from(v.wrapping_sub(va(params.block_pa))).expect("argv pointer");
    assert_eq!(c_string(block, offset_of(slot(0))), argv::PROGRAM_NAME);
    let line = c_string(block, offset_of(slot(1)));
    assert!(line.ends_with(command_line.as_bytes()), "argv[1] does not end in the command line");
    assert_eq!(line.starts_with(b"rd_start="), initrd.is_some(), "initrd words missing or unasked for");
    let map = boot_params::LP + le64(block, boot_params::LP_MEMORY_OFFSET) as usize;
    let count = le32(block, map + memmap::NR_MAP) as usize;
    assert_eq!(count, h.memory_entries, "nr_map is not the entry count returned");
    let mut ranges: Vec<PhysRange> = Vec::new();
    for i in 0..count {
        let e = map + memmap::MAP + i * memmap::ENTRY_SIZE;
        let kind = le32(block, e + memmap::ENTRY_MEM_TYPE);
        assert!(kind == memmap::SYSTEM_RAM_LOW || kind == memmap::SYSTEM_RAM_HIGH, "entry {i} of type {kind}");
        let start = le64(block, e + memmap::ENTRY_MEM_START);
        let size = u64::from(le32(block, e + memmap::ENTRY_MEM_SIZE)) * memmap::MEM_SIZE_UNIT;
        assert!(size > 0, "entry {i} is empty");
        let range = PhysRange::new(start, start + size);
        for r in reserved.iter().flat_map(aliases) {
            assert!(!range.overlaps(&r), "entry {i} {range:x?} overlaps reserved {r:x?}");
        }
        for alias in aliases(&h.block) {
            assert!(!range.overlaps(&alias), "entry {i} {range:x?} overlaps the block {alias:x?}");
        }
        for other in &ranges {
            assert!(!range.overlaps(other), "entry {i} {range:x?} overlaps {other:x?}");
        }
        ranges.push(range);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = one(&mut Unstructured::new(data));
});

//! Kernel ELF validation: everything checked before one byte is copied.
//!
//! `validate` takes the raw file, a translation from the segment addresses
//! to physical addresses (the CPU's unmapped segments) and the firmware's
//! memory map, and either returns a load plan whose every segment is known to
//! fit in free RAM, or one error naming what is wrong and with which values.
//! Nothing here touches memory outside the slices it is given; the copy
//! itself is the caller's (`LoadPlan::segments`).
#![cfg_attr(not(test), no_std)]

#[cfg(feature = "synth")]
extern crate alloc;

use core::fmt;
use object::elf::{FileHeader64, ProgramHeader64};
use object::{LittleEndian as LE, pod};
use tianshan_bootinfo::{MemoryKind, MemoryMap, MemoryMapError, MemoryRegion};

/// Granule of the memory map the loader records segments in.
pub const PAGE_SIZE: u64 = 4096;
/// Most PT_LOAD segments a kernel may have.
pub const MAX_SEGMENTS: usize = 16;
const ELF_MAGIC: [u8; 4] = [0x7F, b'E', b'L', b'F'];
const FILE_HEADER_SIZE: usize = core::mem::size_of::<FileHeader64<LE>>();
const PROGRAM_HEADER_SIZE: usize = core::mem::size_of::<ProgramHeader64<LE>>();

/// One segment to copy: `file_size` bytes from `file_offset` to `phys`,
/// then zeroes up to `mem_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LoadSegment {
    /// Index of the program header (as `readelf -l` numbers them).
    pub index: usize,
    /// Where the bytes are in the file.
    pub file_offset: u64,
    /// How many bytes to copy.
    pub file_size: u64,
    /// Size in memory (the rest after `file_size` is zeroed).
    pub mem_size: u64,
    /// Virtual address the segment is linked at.
    pub vaddr: u64,
    /// Physical address it is loaded to.
    pub phys: u64,
    /// True when the segment is executable (caches need syncing).
    pub executable: bool,
}

/// A validated image: where each segment goes and where to jump.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// Entry point (virtual address).
    pub entry: u64,
    segments: [LoadSegment; MAX_SEGMENTS],
    count: usize,
    /// The input memory map with every segment carved out as `Kernel`.
    pub memory_map: MemoryMap,
}

impl LoadPlan {
    /// The segments in program-header order.
    pub fn segments(&self) -> &[LoadSegment] {
        &self.segments[..self.count]
    }
    /// Lowest and one-past-highest physical address the image occupies.
    pub fn phys_span(&self) -> (u64, u64) {
        let lo = self.segments().iter().map(|s| s.phys).min().unwrap_or(0);
        let hi = self.segments().iter().map(|s| s.phys + s.mem_size).max().unwrap_or(0);
        (lo, hi)
    }
}

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is empty.
    Empty,
    /// Shorter than an ELF64 header.
    Truncated { len: usize, needed: u64, what: &'static str },
    /// No ELF magic.
    NotElf { magic: [u8; 4] },
    /// ELFCLASS is not 64-bit.
    WrongClass { class: u8 },
    /// Not little-endian.
    WrongEndianness { data: u8 },
    /// e_machine is not MIPS.
    WrongMachine { machine: u16 },
    /// e_type is not ET_EXEC.
    WrongType { e_type: u16 },
    /// e_phentsize is not the ELF64 size.
    BadProgramHeaderSize { size: u16 },
    /// More PT_LOAD segments than `MAX_SEGMENTS`.
    TooManySegments { count: usize },
    /// No PT_LOAD segment at all.
    NoLoadableSegments,
    /// p_filesz > p_memsz.
    FileSizeExceedsMemSize { index: usize, file_size: u64, mem_size: u64 },
    /// The segment's bytes run past the end of the file.
    SegmentBeyondFile { index: usize, offset: u64, file_size: u64, file_len: usize },
    /// vaddr + memsz overflows.
    AddressOverflow { index: usize, vaddr: u64, mem_size: u64 },
    /// The segment is linked at a mapped address the firmware cannot load.
    UnmappedAddress { index: usize, vaddr: u64 },
    /// Two segments share bytes.
    SegmentsOverlap { index: usize, other: usize },
    /// The segment overlaps memory that is not free.
    SegmentOverlaps { index: usize, start: u64, end: u64, region: MemoryRegion },
    /// The segment lies (partly) where there is no RAM.
    SegmentOutsideRam { index: usize, start: u64, end: u64 },
    /// The entry point is not inside an executable loaded segment.
    EntryOutsideSegments { entry: u64 },
    /// The memory map had no room to record the segment.
    MemoryMapFull,
}

fn machine_name(machine: u16) -> &'static str {
    match machine {
        0 => "none",
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown",
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::Empty => write!(f, "file is empty"),
            ElfError::Truncated { len, needed, what } => {
                write!(f, "truncated: {what} needs {needed} bytes, file has {len}")
            }
            ElfError::NotElf { magic } => write!(
                f,
                "not an ELF file (starts {:02x} {:02x} {:02x} {:02x}, expected 7f 45 4c 46)",
                magic[0], magic[1], magic[2], magic[3]
            ),
            ElfError::WrongClass { class } => write!(f, "ELF class {class} is not ELFCLASS64 (2)"),
            ElfError::WrongEndianness { data } => {
                write!(f, "ELF data encoding {data} is not little-endian (1)")
            }
            ElfError::WrongMachine { machine } => {
                write!(f, "ELF machine {machine} ({}) is not MIPS (8)", machine_name(machine))
            }
            ElfError::WrongType { e_type } => write!(f, "ELF type {e_type} is not an executable (ET_EXEC, 2)"),
            ElfError::BadProgramHeaderSize { size } => {
                write!(f, "program header size {size} is not {PROGRAM_HEADER_SIZE}")
            }
            ElfError::TooManySegments { count } => {
                write!(f, "{count} loadable segments, at most {MAX_SEGMENTS} supported")
            }
            ElfError::NoLoadableSegments => write!(f, "no loadable (PT_LOAD) segment"),
            ElfError::FileSizeExceedsMemSize { index, file_size, mem_size } => {
                write!(f, "segment {index}: file size {file_size:#x} exceeds memory size {mem_size:#x}")
            }
            ElfError::SegmentBeyondFile { index, offset, file_size, file_len } => write!(
                f,
                "segment {index}: bytes {offset:#x}..{:#x} run past the end of the file ({file_len:#x} bytes)",
                offset.saturating_add(file_size)
            ),
            ElfError::AddressOverflow { index, vaddr, mem_size } => {
                write!(f, "segment {index}: address {vaddr:#x} + size {mem_size:#x} overflows")
            }
            ElfError::UnmappedAddress { index, vaddr } => {
                write!(f, "segment {index}: address {vaddr:#x} is in a mapped segment; link in KSEG0 or XKPHYS")
            }
            ElfError::SegmentOverlaps { index, start, end, region } => write!(
                f,
                "segment {index} ({start:#x}..{end:#x}) overlaps {} memory at {:#x}..{:#x}",
                region.kind.name(),
                region.base,
                region.base + region.size
            ),
            ElfError::SegmentsOverlap { index, other } => write!(f, "segment {index} overlaps segment {other}"),
            ElfError::SegmentOutsideRam { index, start, end } => {
                write!(f, "segment {index} ({start:#x}..{end:#x}) lies outside RAM")
            }
            ElfError::EntryOutsideSegments { entry } => {
                write!(f, "entry point {entry:#x} is not inside an executable loaded segment")
            }
            ElfError::MemoryMapFull => write!(f, "too many segments to record in the memory map"),
        }
    }
}

/// Name of the note that marks a Tianshan kernel (with its NUL).
pub const TIANSHAN_NOTE_NAME: &[u8] = b"Tianshan\0";
/// Note type whose descriptor is the boot protocol version (a u32).
pub const TIANSHAN_NOTE_PROTOCOL: u32 = 1;
/// Most notes examined per segment (hostile files cannot make this loop long).
const MAX_NOTES: usize = 64;

/// Which handoff a kernel expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    /// A Tianshan kernel: the boot-info block, at this protocol version.
    Tianshan {
        /// Boot protocol version from the note.
        protocol: u32,
    },
    /// Anything else (taken to be Linux, booted through LEFI).
    Other,
}

/// Tells a Tianshan kernel (which carries a `Tianshan` note of type 1 in a
/// PT_NOTE segment) from any other. Never fails: a malformed file or note
/// is simply not a Tianshan kernel (`validate` reports what is wrong).
pub fn kernel_kind(file: &[u8]) -> KernelKind {
    let Ok((header, _)) = pod::from_bytes::<FileHeader64<LE>>(file) else { return KernelKind::Other };
    let phoff = header.e_phoff.get(LE);
    let phnum = usize::from(header.e_phnum.get(LE));
    let Some(headers) = usize::try_from(phoff)
        .ok()
        .and_then(|off| file.get(off..))
        .and_then(|rest| pod::slice_from_bytes::<ProgramHeader64<LE>>(rest, phnum).ok())
        .map(|(h, _)| h)
    else {
        return KernelKind::Other;
    };
    for ph in headers.iter().filter(|ph| ph.p_type.get(LE) == object::elf::PT_NOTE) {
        let (Ok(off), Ok(len)) = (usize::try_from(ph.p_offset.get(LE)), usize::try_from(ph.p_filesz.get(LE))) else {
            continue;
        };
        let Some(notes) = off.checked_add(len).and_then(|end| file.get(off..end)) else { continue };
        if let Some(protocol) = find_tianshan_note(notes) {
            return KernelKind::Tianshan { protocol };
        }
    }
    KernelKind::Other
}

/// Walks one note segment; returns the protocol version of a Tianshan note.
fn find_tianshan_note(mut notes: &[u8]) -> Option<u32> {
    let word = |b: &[u8], at: usize| b.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    for _ in 0..MAX_NOTES {
        let (namesz, descsz, kind) = (word(notes, 0)? as usize, word(notes, 4)? as usize, word(notes, 8)?);
        let name_end = 12usize.checked_add(namesz)?;
        let desc_start = name_end.checked_next_multiple_of(4)?;
        let desc_end = desc_start.checked_add(descsz)?;
        let name = notes.get(12..name_end)?;
        let desc = notes.get(desc_start..desc_end)?;
        if name == TIANSHAN_NOTE_NAME && kind == TIANSHAN_NOTE_PROTOCOL && desc.len() >= 4 {
            return word(desc, 0);
        }
        notes = notes.get(desc_end.checked_next_multiple_of(4)?..)?;
    }
    None
}

/// Validates `file` as a little-endian MIPS64 executable that fits in the
/// free RAM of `memory_map`, with `to_phys` translating link addresses.
pub fn validate(
    file: &[u8],
    to_phys: impl Fn(u64) -> Option<u64>,
    memory_map: &MemoryMap,
) -> Result<LoadPlan, ElfError> {
    use object::elf::{ELFCLASS64, ELFDATA2LSB, EM_MIPS, ET_EXEC, PF_X, PT_LOAD};
    if file.is_empty() {
        return Err(ElfError::Empty);
    }
    if file.len() >= 4 && file[..4] != ELF_MAGIC {
        return Err(ElfError::NotElf { magic: [file[0], file[1], file[2], file[3]] });
    }
    let truncated = |needed: u64, what| ElfError::Truncated { len: file.len(), needed, what };
    let (header, _) =
        pod::from_bytes::<FileHeader64<LE>>(file).map_err(|_| truncated(FILE_HEADER_SIZE as u64, "the ELF header"))?;
    let ident = &header.e_ident;
    if ident.class != ELFCLASS64 {
        return Err(ElfError::WrongClass { class: ident.class.0 });
    }
    if ident.data != ELFDATA2LSB {
        return Err(ElfError::WrongEndianness { data: ident.data.0 });
    }
    let machine = header.e_machine.get(LE);
    if machine != EM_MIPS {
        return Err(ElfError::WrongMachine { machine: machine.0 });
    }
    let e_type = header.e_type.get(LE);
    if e_type != ET_EXEC {
        return Err(ElfError::WrongType { e_type: e_type.0 });
    }
    let phnum = usize::from(header.e_phnum.get(LE));
    let phentsize = header.e_phentsize.get(LE);
    if phnum > 0 && usize::from(phentsize) != PROGRAM_HEADER_SIZE {
        return Err(ElfError::BadProgramHeaderSize { size: phentsize });
    }
    let phoff = header.e_phoff.get(LE);
    let ph_end = phoff.saturating_add((phnum * PROGRAM_HEADER_SIZE) as u64);
    let headers = usize::try_from(phoff)
        .ok()
        .and_then(|off| file.get(off..))
        .and_then(|rest| pod::slice_from_bytes::<ProgramHeader64<LE>>(rest, phnum).ok())
        .map(|(headers, _)| headers)
        .ok_or(truncated(ph_end, "the program headers"))?;

    let loadable = headers.iter().filter(|p| p.p_type.get(LE) == PT_LOAD && p.p_memsz.get(LE) > 0).count();
    if loadable > MAX_SEGMENTS {
        return Err(ElfError::TooManySegments { count: loadable });
    }
    let mut plan = LoadPlan {
        entry: header.e_entry.get(LE),
        segments: [LoadSegment::default(); MAX_SEGMENTS],
        count: 0,
        memory_map: memory_map.clone(),
    };
    for (index, ph) in headers.iter().enumerate() {
        if ph.p_type.get(LE) != PT_LOAD {
            continue;
        }
        let (offset, file_size, mem_size, vaddr) =
            (ph.p_offset.get(LE), ph.p_filesz.get(LE), ph.p_memsz.get(LE), ph.p_vaddr.get(LE));
        if mem_size == 0 {
            continue;
        }
        if file_size > mem_size {
            return Err(ElfError::FileSizeExceedsMemSize { index, file_size, mem_size });
        }
        if offset.checked_add(file_size).is_none_or(|end| end > file.len() as u64) {
            return Err(ElfError::SegmentBeyondFile { index, offset, file_size, file_len: file.len() });
        }
        if vaddr.checked_add(mem_size).is_none() {
            return Err(ElfError::AddressOverflow { index, vaddr, mem_size });
        }
        // Both ends must translate, and contiguously (no segment crossing
        // from KSEG0 into KSEG1, say).
        let phys = to_phys(vaddr).ok_or(ElfError::UnmappedAddress { index, vaddr })?;
        let last = to_phys(vaddr + (mem_size - 1)).ok_or(ElfError::UnmappedAddress { index, vaddr })?;
        if last.checked_sub(phys) != Some(mem_size - 1) {
            return Err(ElfError::UnmappedAddress { index, vaddr: vaddr + (mem_size - 1) });
        }
        let (start, end) = (phys, phys + mem_size);
        if let Some(other) = plan.segments().iter().find(|s| s.phys < end && start < s.phys + s.mem_size) {
            return Err(ElfError::SegmentsOverlap { index, other: other.index });
        }
        // The memory map is kept in whole pages: segments sharing a page
        // are fine, and no sliver of a page is left "usable".
        let page_start = start & !(PAGE_SIZE - 1);
        let page_end =
            end.checked_next_multiple_of(PAGE_SIZE).ok_or(ElfError::AddressOverflow { index, vaddr, mem_size })?;
        match plan.memory_map.carve(page_start, page_end - page_start, MemoryKind::Kernel) {
            Ok(()) => {}
            Err(MemoryMapError::Full) => return Err(ElfError::MemoryMapFull),
            Err(_) => {
                return Err(
                    match plan.memory_map.regions().iter().find(|r| {
                        !matches!(r.kind, MemoryKind::Usable | MemoryKind::Kernel)
                            && r.base < page_end
                            && page_start < r.base + r.size
                    }) {
                        Some(region) => ElfError::SegmentOverlaps { index, start, end, region: *region },
                        None => ElfError::SegmentOutsideRam { index, start, end },
                    },
                );
            }
        }
        plan.segments[plan.count] = LoadSegment {
            index,
            file_offset: offset,
            file_size,
            mem_size,
            vaddr,
            phys,
            executable: ph.p_flags.get(LE).0 & PF_X.0 != 0,
        };
        plan.count += 1;
    }
    if plan.count == 0 {
        return Err(ElfError::NoLoadableSegments);
    }
    let entry = plan.entry;
    if !plan.segments().iter().any(|s| s.executable && s.vaddr <= entry && entry - s.vaddr < s.mem_size) {
        return Err(ElfError::EntryOutsideSegments { entry });
    }
    Ok(plan)
}

#[cfg(any(test, feature = "synth"))]
pub mod synth;

#[cfg(test)]
mod tests;

//! A builder of small ELF64 files, for feeding the validator good and
//! hostile images in tests (host tests here, QEMU tests in `qemu-tests`).

#[cfg(test)]
extern crate alloc;
use alloc::vec::Vec;

/// One segment of a synthetic image.
#[derive(Clone, Debug)]
pub struct SynthSegment {
    /// Link (virtual) address.
    pub vaddr: u64,
    /// Contents stored in the file.
    pub data: Vec<u8>,
    /// Size in memory (>= data.len() for a valid image).
    pub mem_size: u64,
    /// p_flags (PF_X = 1, PF_W = 2, PF_R = 4).
    pub flags: u32,
}

/// Header fields of a synthetic image; `Default` is a valid MIPS64 LE ET_EXEC.
#[derive(Clone, Debug)]
pub struct SynthElf {
    /// ELF class (2 = 64-bit).
    pub class: u8,
    /// Data encoding (1 = little-endian).
    pub data: u8,
    /// e_type (2 = ET_EXEC).
    pub e_type: u16,
    /// e_machine (8 = MIPS).
    pub machine: u16,
    /// Entry point.
    pub entry: u64,
    /// The PT_LOAD segments.
    pub segments: Vec<SynthSegment>,
    /// Notes (name with its NUL, type, descriptor), in one PT_NOTE segment.
    pub notes: Vec<(Vec<u8>, u32, Vec<u8>)>,
}

impl Default for SynthElf {
    fn default() -> Self {
        SynthElf { class: 2, data: 1, e_type: 2, machine: 8, entry: 0, segments: Vec::new(), notes: Vec::new() }
    }
}

/// Executable, readable.
pub const PF_RX: u32 = 5;
/// Readable, writable.
pub const PF_RW: u32 = 6;

impl SynthElf {
    /// A one-segment image of `code` linked and entered at `vaddr`.
    pub fn single(vaddr: u64, code: &[u8]) -> Self {
        SynthElf {
            entry: vaddr,
            segments: alloc::vec![SynthSegment {
                vaddr,
                data: code.to_vec(),
                mem_size: code.len() as u64,
                flags: PF_RX
            }],
            ..Default::default()
        }
    }

    /// The notes laid out as a note segment.
    fn note_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, desc) in &self.notes {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(name);
            out.resize(out.len().next_multiple_of(4), 0);
            out.extend_from_slice(desc);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    /// Lays the file out: header, program headers, then segment data (and
    /// the note segment last).
    pub fn build(&self) -> Vec<u8> {
        let phoff = 64u64;
        let notes = self.note_bytes();
        let phnum = self.segments.len() + usize::from(!notes.is_empty());
        let data_start = phoff + 56 * phnum as u64;
        let mut out = Vec::new();
        out.extend_from_slice(&[0x7F, b'E', b'L', b'F', self.class, self.data, 1, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&self.e_type.to_le_bytes());
        out.extend_from_slice(&self.machine.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // e_version
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.extend_from_slice(&phoff.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        out.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        out.extend_from_slice(&(phnum as u16).to_le_bytes());
        out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
        let mut offset = data_start;
        for s in &self.segments {
            out.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            out.extend_from_slice(&s.flags.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&s.vaddr.to_le_bytes());
            out.extend_from_slice(&s.vaddr.to_le_bytes()); // p_paddr
            out.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
            out.extend_from_slice(&s.mem_size.to_le_bytes());
            out.extend_from_slice(&8u64.to_le_bytes()); // p_align
            offset += s.data.len() as u64;
        }
        if !notes.is_empty() {
            out.extend_from_slice(&4u32.to_le_bytes()); // PT_NOTE
            out.extend_from_slice(&4u32.to_le_bytes()); // PF_R
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            out.extend_from_slice(&(notes.len() as u64).to_le_bytes());
            out.extend_from_slice(&(notes.len() as u64).to_le_bytes());
            out.extend_from_slice(&4u64.to_le_bytes());
        }
        for s in &self.segments {
            out.extend_from_slice(&s.data);
        }
        out.extend_from_slice(&notes);
        out
    }
}

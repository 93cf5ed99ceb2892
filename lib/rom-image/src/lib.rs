//! The ROM image: the firmware binary, then a directory of payloads.
//!
//! ```text
//! offset 0            firmware (reset vector first), as flashed
//! align_up(fw, 4K)    directory: 32-byte header + 32 bytes per entry
//!                     payloads, each 4 KiB aligned, in entry order
//!                     0xFF up to the board's flash size (erased flash)
//! ```
//!
//! The firmware knows where its own image ends (`__rom_end`), so it finds
//! the directory without a fixed offset. The directory and every payload
//! carry a CRC-32, so flash corruption is reported as such instead of
//! surfacing later as a baffling ELF error. `docs/rom-image.md` has the
//! byte-level format.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

use core::fmt;

/// `"TSROMDIR"` as a little-endian u64.
pub const DIR_MAGIC: u64 = u64::from_le_bytes(*b"TSROMDIR");
/// Directory format version.
pub const DIR_VERSION: u32 = 1;
/// Alignment of the directory and of each payload.
pub const PAYLOAD_ALIGN: usize = 4096;
/// Size of the directory header.
pub const DIR_HEADER_SIZE: usize = 32;
/// Size of one directory entry.
pub const DIR_ENTRY_SIZE: usize = 32;
/// Longest payload name.
pub const NAME_LEN: usize = 16;
/// Most entries a directory may have.
pub const MAX_ENTRIES: usize = 16;
/// Erased-flash byte used for padding.
pub const ERASED: u8 = 0xFF;

/// What a payload is (ABI values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// A kernel image (ELF, possibly compressed).
    Kernel,
    /// An initial RAM disk.
    Initrd,
    /// A text configuration file.
    Config,
    /// The image's identity: board, version, firmware CRC (`update`).
    Identity,
    /// A kind this firmware does not know.
    Unknown(u32),
}

impl PayloadKind {
    /// The ABI value.
    pub const fn to_abi(self) -> u32 {
        match self {
            PayloadKind::Kernel => 1,
            PayloadKind::Initrd => 2,
            PayloadKind::Config => 3,
            PayloadKind::Identity => 4,
            PayloadKind::Unknown(v) => v,
        }
    }
    /// Decodes an ABI value.
    pub const fn from_abi(v: u32) -> Self {
        match v {
            1 => PayloadKind::Kernel,
            2 => PayloadKind::Initrd,
            3 => PayloadKind::Config,
            4 => PayloadKind::Identity,
            v => PayloadKind::Unknown(v),
        }
    }
}

/// `n` rounded up to a multiple of `PAYLOAD_ALIGN`.
pub const fn align_up(n: usize) -> usize {
    n.div_ceil(PAYLOAD_ALIGN) * PAYLOAD_ALIGN
}

/// Why the directory or a payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RomError {
    /// No directory where one should be (blank or foreign flash).
    NoDirectory { offset: usize, found: u64 },
    /// A directory version this firmware does not read.
    UnsupportedVersion { version: u32 },
    /// The directory claims more entries than allowed or than fit.
    BadEntryCount { count: u32 },
    /// The directory's CRC does not match.
    DirectoryChecksum { stored: u32, computed: u32 },
    /// An entry points outside the ROM.
    PayloadOutOfBounds { index: usize, offset: u32, size: u32, rom_len: usize },
    /// A payload's CRC does not match.
    PayloadChecksum { index: usize, stored: u32, computed: u32 },
}

impl fmt::Display for RomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RomError::NoDirectory { offset, found } => {
                write!(f, "no payload directory at ROM offset {offset:#x} (found {found:#018x}, expected \"TSROMDIR\")")
            }
            RomError::UnsupportedVersion { version } => {
                write!(f, "payload directory version {version} is not supported (expected {DIR_VERSION})")
            }
            RomError::BadEntryCount { count } => {
                write!(f, "payload directory claims {count} entries (at most {MAX_ENTRIES})")
            }
            RomError::DirectoryChecksum { stored, computed } => {
                write!(f, "payload directory is corrupt: CRC-32 {computed:#010x}, expected {stored:#010x}")
            }
            RomError::PayloadOutOfBounds { index, offset, size, rom_len } => {
                write!(f, "payload {index} at {offset:#x} ({size} bytes) lies outside the {rom_len:#x}-byte ROM")
            }
            RomError::PayloadChecksum { index, stored, computed } => {
                write!(f, "payload {index} is corrupt: CRC-32 {computed:#010x}, expected {stored:#010x}")
            }
        }
    }
}

/// One directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the directory.
    pub index: usize,
    name: [u8; NAME_LEN],
    /// What the payload is.
    pub kind: PayloadKind,
    /// Offset from the start of the ROM.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// CRC-32 of the payload bytes.
    pub crc32: u32,
}

impl Entry {
    /// The payload's name (up to the first NUL).
    pub fn name(&self) -> &str {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A directory found in a ROM, with its header checked.
#[derive(Clone, Copy, Debug)]
pub struct Directory<'a> {
    rom: &'a [u8],
    offset: usize,
    count: usize,
}

impl<'a> Directory<'a> {
    /// Finds and checks the directory of `rom` at `offset`.
    pub fn parse(rom: &'a [u8], offset: usize) -> Result<Self, RomError> {
        let header = rom.get(offset..offset.saturating_add(DIR_HEADER_SIZE));
        let magic = header.map(|h| u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))).unwrap_or(0);
        let Some(header) = header.filter(|_| magic == DIR_MAGIC) else {
            return Err(RomError::NoDirectory { offset, found: magic });
        };
        let version = u32_at(header, 8);
        if version != DIR_VERSION {
            return Err(RomError::UnsupportedVersion { version });
        }
        let count = u32_at(header, 12);
        let size = DIR_HEADER_SIZE + count as usize * DIR_ENTRY_SIZE;
        if count as usize > MAX_ENTRIES || offset + size > rom.len() {
            return Err(RomError::BadEntryCount { count });
        }
        let stored = u32_at(header, 16);
        let computed = directory_crc(&rom[offset..offset + size]);
        if stored != computed {
            return Err(RomError::DirectoryChecksum { stored, computed });
        }
        Ok(Directory { rom, offset, count: count as usize })
    }

    /// Where the directory starts in the ROM.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.count).map(move |index| {
            let e = &self.rom[self.offset + DIR_HEADER_SIZE + index * DIR_ENTRY_SIZE..][..DIR_ENTRY_SIZE];
            let mut name = [0; NAME_LEN];
            name.copy_from_slice(&e[..NAME_LEN]);
            Entry {
                index,
                name,
                kind: PayloadKind::from_abi(u32_at(e, 16)),
                offset: u32_at(e, 20),
                size: u32_at(e, 24),
                crc32: u32_at(e, 28),
            }
        })
    }

    /// The first entry of `kind`.
    pub fn find(&self, kind: PayloadKind) -> Option<Entry> {
        self.entries().find(|e| e.kind == kind)
    }

    /// The payload's bytes, after checking bounds and CRC.
    pub fn payload(&self, entry: &Entry) -> Result<&'a [u8], RomError> {
        let out_of_bounds = RomError::PayloadOutOfBounds {
            index: entry.index,
            offset: entry.offset,
            size: entry.size,
            rom_len: self.rom.len(),
        };
        let start = entry.offset as usize;
        let bytes =
            self.rom.get(start..start.checked_add(entry.size as usize).ok_or(out_of_bounds)?).ok_or(out_of_bounds)?;
        let computed = crc32fast::hash(bytes);
        if computed != entry.crc32 {
            return Err(RomError::PayloadChecksum { index: entry.index, stored: entry.crc32, computed });
        }
        Ok(bytes)
    }
}

/// CRC-32 of a directory (header and entries) with its CRC field as zero.
fn directory_crc(dir: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&dir[..16]);
    h.update(&[0; 4]);
    h.update(&dir[20..]);
    h.finalize()
}

pub mod update;

#[cfg(any(test, feature = "std"))]
mod builder;
#[cfg(any(test, feature = "std"))]
pub use builder::{BuildError, RomBuilder};

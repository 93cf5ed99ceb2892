//! A settings store on flash that a power cut cannot destroy.
//!
//! The firmware keeps its persistent settings (`setenv`/`saveenv`: boot
//! order, delay, default entry, command line, later boot counters and the
//! rollback floor) as one payload, the same `key = value` text as
//! `tianshan.cfg`. This crate stores that payload on a [`Flash`]: a device
//! that is erased in blocks (to `0xFF`) and programmed in granules onto
//! erased bytes only, never rewritten in place, as SPI NOR flash and QEMU's
//! pflash behave.
//!
//! # Layout
//!
//! The region is split into two equal **copies**, A (first half) and B,
//! each a whole number of erase blocks. A copy is:
//!
//! ```text
//! offset          size  field
//! 0               8     magic "TSVSTORE"
//! 8               4     format version (1), little-endian like every field
//! 12              4     payload length in bytes
//! 16              8     sequence number (the newest copy has the highest)
//! 24              4     CRC-32 (IEEE) of bytes 0..24 and of the payload
//! 28              4     zero
//! payload_offset  len   the payload
//! ```
//!
//! `payload_offset` is 32 rounded up to the program granule, so the header
//! has a granule of its own and no granule is programmed twice (which
//! flash with per-page ECC forbids).
//!
//! # Why an interrupted update loses nothing
//!
//! [`Store::save`] never touches the copy that holds the current state. It
//! erases the *other* copy, programs the payload, and programs the header
//! last, the granule holding the magic last of all. Until the last granule of the header is in, that copy fails its
//! CRC (or is erased), so a reader still takes the old copy; once it is in,
//! the new copy is complete and has the higher sequence number. Either way
//! the store reads back the old or the new state, never a mixture and never
//! neither. `tests::power_cut` checks this by cutting power after every
//! single erase and program of an update, with the interrupted operation
//! left undone, half done and done with garbage.
//!
//! # What a reader is told
//!
//! [`Store::open`] classifies both copies ([`CopyState`]) and says in one
//! line ([`Opened`]'s `Display`) which copy it loaded, or why it loaded
//! none: an erased store (first boot) is not an error; a store whose copies
//! are damaged or hold something else is reported, and defaults apply. A
//! store that holds something that is not a Tianshan store at all is never
//! overwritten unless the caller asks for it ([`Store::save`]'s `force`).
#![cfg_attr(not(test), no_std)]

#[cfg(test)]
mod tests;

use core::fmt;

/// `"TSVSTORE"`: the first bytes of every copy.
pub const MAGIC: [u8; 8] = *b"TSVSTORE";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the header (the payload starts at the next granule boundary).
pub const HEADER_SIZE: usize = 32;
/// Value of erased flash.
pub const ERASED: u8 = 0xFF;

/// Header field offsets.
const MAGIC_AT: usize = 0;
const VERSION_AT: usize = 8;
const LENGTH_AT: usize = 12;
const SEQUENCE_AT: usize = 16;
const CRC_AT: usize = 24;
const RESERVED_AT: usize = 28;

/// Largest program granule supported (a SPI NOR page); the header is
/// staged in a buffer of this size.
pub const MAX_PROGRAM_GRANULE: usize = 256;

/// A flash device, or the part of one that holds the store: offsets are
/// relative to the store's first byte.
pub trait Flash {
    /// What the device reports when an operation fails.
    type Error: fmt::Debug + fmt::Display;
    /// Size of the region in bytes.
    fn size(&self) -> u64;
    /// Erase block size in bytes: erases are block-aligned and whole blocks.
    fn erase_block(&self) -> u32;
    /// Program granule in bytes: programs are granule-aligned and whole
    /// granules, onto erased bytes.
    fn program_granule(&self) -> u32;
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Self::Error>;
    /// Erases the block at `offset` (to [`ERASED`]).
    fn erase(&mut self, offset: u64) -> Result<(), Self::Error>;
    /// Programs one granule at `offset` with `data` (`data.len()` equals
    /// the granule).
    fn program(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error>;
}

/// One of the two copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copy {
    A,
    B,
}

impl Copy {
    fn index(self) -> usize {
        match self {
            Copy::A => 0,
            Copy::B => 1,
        }
    }

    fn other(self) -> Copy {
        match self {
            Copy::A => Copy::B,
            Copy::B => Copy::A,
        }
    }

    const BOTH: [Copy; 2] = [Copy::A, Copy::B];
}

impl fmt::Display for Copy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Copy::A => "copy A",
            Copy::B => "copy B",
        })
    }
}

/// What one copy holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyState {
    /// Erased: never written, or erased by an update that was cut short.
    Erased,
    /// A complete copy.
    Valid { sequence: u64, length: u32 },
    /// The magic is there but the copy is incomplete or damaged: an update
    /// cut short, or flash wear.
    Damaged(Damage),
    /// Neither erased nor a Tianshan store: the region holds something else.
    Foreign,
}

/// Why a copy written by this store is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The magic is only partly there: programming or erasing it was cut
    /// short (each byte holds the magic's one-bits and some bits still 1).
    Interrupted,
    /// A sequence number no update writes (the last one, `u64::MAX`).
    Sequence,
    /// A format version this firmware does not know.
    Version(u32),
    /// A payload longer than the copy can hold.
    Length { length: u32, room: u32 },
    /// The reserved word is not zero.
    Reserved(u32),
    /// The CRC does not match (an update cut short, or corruption).
    Crc { stored: u32, computed: u32 },
}

impl fmt::Display for CopyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CopyState::Erased => f.write_str("erased"),
            CopyState::Valid { sequence, length } => write!(f, "valid, sequence {sequence}, {length} bytes"),
            CopyState::Damaged(d) => write!(f, "damaged: {d}"),
            CopyState::Foreign => f.write_str("not a Tianshan store"),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Damage::Interrupted => f.write_str("an update or erase of it was cut short"),
            Damage::Sequence => write!(f, "sequence number {}, which no update writes", u64::MAX),
            Damage::Version(v) => write!(f, "format version {v}, this firmware reads {FORMAT_VERSION}"),
            Damage::Length { length, room } => write!(f, "payload of {length} bytes claimed, room for {room}"),
            Damage::Reserved(v) => write!(f, "reserved word is {v:#x}, not 0"),
            Damage::Crc { stored, computed } => {
                write!(f, "CRC {computed:#010x} does not match the stored {stored:#010x} (an interrupted update?)")
            }
        }
    }
}

/// Why the store cannot be used or written.
#[derive(Debug, PartialEq, Eq)]
pub enum StoreError<E> {
    /// The device's geometry cannot hold two copies.
    Geometry(GeometryError),
    /// The device failed.
    Flash(E),
    /// The payload does not fit in a copy.
    TooLarge { length: usize, room: usize },
    /// A buffer for the payload is shorter than the stored payload.
    BufferTooSmall { needed: usize, available: usize },
    /// The region holds data that is not a Tianshan store; writing would
    /// destroy it, so the caller must ask for that (`force`).
    Foreign,
    /// The current copy has the highest sequence number an update can
    /// write; only a hostile or corrupt store gets there.
    SequenceExhausted,
}

/// What is wrong with a device's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// Erase block or program granule of zero, or not a power of two.
    BadUnit { erase_block: u32, program_granule: u32 },
    /// A program granule larger than [`MAX_PROGRAM_GRANULE`] or than an
    /// erase block.
    GranuleTooLarge { program_granule: u32, erase_block: u32 },
    /// The region is not two whole copies of at least two granules each.
    TooSmall { size: u64, erase_block: u32 },
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GeometryError::BadUnit { erase_block, program_granule } => write!(
                f,
                "erase block {erase_block} and program granule {program_granule} must be non-zero powers of two"
            ),
            GeometryError::GranuleTooLarge { program_granule, erase_block } => write!(
                f,
                "program granule of {program_granule} bytes is larger than {MAX_PROGRAM_GRANULE} or than the \
                 {erase_block}-byte erase block"
            ),
            GeometryError::TooSmall { size, erase_block } => {
                write!(f, "{size} bytes cannot hold two copies of whole {erase_block}-byte erase blocks")
            }
        }
    }
}

impl<E: fmt::Display> fmt::Display for StoreError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Geometry(g) => write!(f, "settings store: {g}"),
            StoreError::Flash(e) => write!(f, "settings store: flash: {e}"),
            StoreError::TooLarge { length, room } => {
                write!(f, "settings store: {length} bytes of settings, a copy holds {room}")
            }
            StoreError::BufferTooSmall { needed, available } => {
                write!(f, "settings store: the stored settings are {needed} bytes, the buffer holds {available}")
            }
            StoreError::Foreign => f.write_str(
                "settings store: the region holds data that is not a Tianshan store; not overwriting it without force",
            ),
            StoreError::SequenceExhausted => {
                f.write_str("settings store: the sequence number is exhausted; erase the store to start again")
            }
        }
    }
}

/// Where things are in the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes of one copy (a whole number of erase blocks).
    pub copy_size: u64,
    /// Erase block size.
    pub erase_block: u32,
    /// Program granule.
    pub program_granule: u32,
    /// Offset of the payload inside a copy.
    pub payload_offset: u32,
}

impl Geometry {
    /// The geometry of a region of `size` bytes with these units.
    pub fn new(size: u64, erase_block: u32, program_granule: u32) -> Result<Self, GeometryError> {
        if !erase_block.is_power_of_two() || !program_granule.is_power_of_two() {
            return Err(GeometryError::BadUnit { erase_block, program_granule });
        }
        if program_granule as usize > MAX_PROGRAM_GRANULE || program_granule > erase_block {
            return Err(GeometryError::GranuleTooLarge { program_granule, erase_block });
        }
        let copy_size = size / 2 / u64::from(erase_block) * u64::from(erase_block);
        let payload_offset = (HEADER_SIZE as u32).next_multiple_of(program_granule);
        if copy_size < u64::from(payload_offset) + u64::from(program_granule) {
            return Err(GeometryError::TooSmall { size, erase_block });
        }
        Ok(Geometry { copy_size, erase_block, program_granule, payload_offset })
    }

    /// Most payload bytes a copy holds.
    pub fn room(&self) -> usize {
        (self.copy_size - u64::from(self.payload_offset)).min(u32::MAX as u64) as usize
    }

    fn base(&self, copy: Copy) -> u64 {
        copy.index() as u64 * self.copy_size
    }
}

/// What [`Store::open`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The state of copy A and copy B.
    pub copies: [CopyState; 2],
    /// The copy loaded, if any, and its sequence number.
    pub loaded: Option<(Copy, u64)>,
    /// Bytes of payload loaded (0 when none).
    pub length: usize,
}

impl Opened {
    /// True when the store is erased throughout: a first boot.
    pub fn is_fresh(&self) -> bool {
        self.copies == [CopyState::Erased; 2]
    }

    /// True when nothing was loaded although the store is not fresh: the
    /// caller falls back to defaults and should say so.
    pub fn is_unusable(&self) -> bool {
        self.loaded.is_none() && !self.is_fresh()
    }
}

impl fmt::Display for Opened {
    /// One line for the boot log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.copies;
        match self.loaded {
            Some((copy, sequence)) => {
                write!(f, "settings from {copy} (sequence {sequence}, {} bytes)", self.length)?;
                match self.copies[copy.other().index()] {
                    // The normal states of the other copy: the previous
                    // generation, or never written yet.
                    CopyState::Valid { .. } | CopyState::Erased => Ok(()),
                    other => write!(f, "; {} is {other}", copy.other()),
                }
            }
            None if self.is_fresh() => f.write_str("settings store is empty; defaults apply"),
            None => write!(f, "no usable settings (copy A {a}; copy B {b}); defaults apply"),
        }
    }
}

/// The store: a [`Flash`] and which copy holds the current state.
pub struct Store<F: Flash> {
    flash: F,
    geometry: Geometry,
    current: Option<(Copy, u64)>,
    copies: [CopyState; 2],
}

impl<F: Flash> Store<F> {
    /// Reads both copies, loads the newest valid one into `payload` and
    /// says what it found. An erased or damaged store is not an error: the
    /// caller gets [`Opened`] with nothing loaded and applies defaults.
    pub fn open(mut flash: F, payload: &mut [u8]) -> Result<(Self, Opened), StoreError<F::Error>> {
        let geometry =
            Geometry::new(flash.size(), flash.erase_block(), flash.program_granule()).map_err(StoreError::Geometry)?;
        let mut copies = [CopyState::Erased; 2];
        for copy in Copy::BOTH {
            copies[copy.index()] = classify(&mut flash, &geometry, copy)?;
        }
        let newest = Copy::BOTH
            .into_iter()
            .filter_map(|c| match copies[c.index()] {
                CopyState::Valid { sequence, length } => Some((c, sequence, length)),
                _ => None,
            })
            .max_by_key(|&(c, sequence, _)| (sequence, c == Copy::A));
        let mut length = 0;
        if let Some((copy, _, len)) = newest {
            length = len as usize;
            if length > payload.len() {
                return Err(StoreError::BufferTooSmall { needed: length, available: payload.len() });
            }
            let at = geometry.base(copy) + u64::from(geometry.payload_offset);
            flash.read(at, &mut payload[..length]).map_err(StoreError::Flash)?;
        }
        let current = newest.map(|(c, s, _)| (c, s));
        let opened = Opened { copies, loaded: current, length };
        Ok((Store { flash, geometry, current, copies }, opened))
    }

    /// The geometry in use.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Writes `payload` as the new state; returns its sequence number.
    ///
    /// The copy holding the current state is not touched (see the module
    /// documentation). When neither copy is a Tianshan store and at least
    /// one holds foreign data, refuses with [`StoreError::Foreign`] unless
    /// `force`.
    pub fn save(&mut self, payload: &[u8], force: bool) -> Result<u64, StoreError<F::Error>> {
        let room = self.geometry.room();
        if payload.len() > room {
            return Err(StoreError::TooLarge { length: payload.len(), room });
        }
        if self.current.is_none() && !force && self.copies.contains(&CopyState::Foreign) {
            return Err(StoreError::Foreign);
        }
        let (target, sequence) = match self.current {
            Some((copy, sequence)) => {
                let next = sequence.checked_add(1).filter(|&n| n != u64::MAX).ok_or(StoreError::SequenceExhausted)?;
                (copy.other(), next)
            }
            None => (Copy::A, 1),
        };
        let g = self.geometry;
        let base = g.base(target);
        // From here until the header is in, `target` is not a valid copy.
        self.copies[target.index()] = CopyState::Erased;
        let mut at = base;
        while at < base + g.copy_size {
            self.flash.erase(at).map_err(StoreError::Flash)?;
            at += u64::from(g.erase_block);
        }
        let granule = g.program_granule as usize;
        let mut staging = [ERASED; MAX_PROGRAM_GRANULE];
        for (i, chunk) in payload.chunks(granule).enumerate() {
            let page = &mut staging[..granule];
            page.fill(ERASED);
            page[..chunk.len()].copy_from_slice(chunk);
            let offset = base + u64::from(g.payload_offset) + (i * granule) as u64;
            self.flash.program(offset, page).map_err(StoreError::Flash)?;
        }
        let header = header(sequence, payload);
        let page = &mut staging[..g.payload_offset as usize];
        page.fill(ERASED);
        page[..HEADER_SIZE].copy_from_slice(&header);
        // Last to first: the granule with the magic goes in last of all, so
        // a header cut short has no magic (or part of one) and is never
        // mistaken for a complete one with a bad field.
        for (i, chunk) in page.chunks(granule).enumerate().rev() {
            self.flash.program(base + (i * granule) as u64, chunk).map_err(StoreError::Flash)?;
        }
        self.current = Some((target, sequence));
        self.copies[target.index()] = CopyState::Valid { sequence, length: payload.len() as u32 };
        Ok(sequence)
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }
}

/// The header of a copy holding `payload` as generation `sequence`.
pub fn header(sequence: u64, payload: &[u8]) -> [u8; HEADER_SIZE] {
    let mut h = [0u8; HEADER_SIZE];
    h[MAGIC_AT..MAGIC_AT + 8].copy_from_slice(&MAGIC);
    h[VERSION_AT..VERSION_AT + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[SEQUENCE_AT..SEQUENCE_AT + 8].copy_from_slice(&sequence.to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h[..CRC_AT]);
    hasher.update(payload);
    h[CRC_AT..CRC_AT + 4].copy_from_slice(&hasher.finalize().to_le_bytes());
    h
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Bytes read at a time while checking a copy's CRC.
const CHECK_CHUNK: usize = 256;

/// True if `b` could be the magic part-way through being programmed or
/// erased: every bit that is one in the magic is one in `b` (programming
/// only clears bits, erasing only sets them).
fn is_partial_magic(b: &[u8]) -> bool {
    b.iter().zip(MAGIC).all(|(&byte, m)| byte & m == m)
}

/// What `copy` holds.
fn classify<F: Flash>(flash: &mut F, g: &Geometry, copy: Copy) -> Result<CopyState, StoreError<F::Error>> {
    let base = g.base(copy);
    let mut h = [0u8; HEADER_SIZE];
    flash.read(base, &mut h).map_err(StoreError::Flash)?;
    if h[MAGIC_AT..MAGIC_AT + 8] != MAGIC {
        return Ok(if h.iter().all(|&b| b == ERASED) {
            CopyState::Erased
        } else if is_partial_magic(&h[MAGIC_AT..MAGIC_AT + 8]) {
            CopyState::Damaged(Damage::Interrupted)
        } else {
            CopyState::Foreign
        });
    }
    let version = u32_at(&h, VERSION_AT);
    if version != FORMAT_VERSION {
        return Ok(CopyState::Damaged(Damage::Version(version)));
    }
    let length = u32_at(&h, LENGTH_AT);
    let room = g.room() as u32;
    if length > room {
        return Ok(CopyState::Damaged(Damage::Length { length, room }));
    }
    let reserved = u32_at(&h, RESERVED_AT);
    if reserved != 0 {
        return Ok(CopyState::Damaged(Damage::Reserved(reserved)));
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h[..CRC_AT]);
    let mut chunk = [0u8; CHECK_CHUNK];
    let mut done = 0usize;
    while done < length as usize {
        let n = (length as usize - done).min(CHECK_CHUNK);
        flash.read(base + u64::from(g.payload_offset) + done as u64, &mut chunk[..n]).map_err(StoreError::Flash)?;
        hasher.update(&chunk[..n]);
        done += n;
    }
    let (stored, computed) = (u32_at(&h, CRC_AT), hasher.finalize());
    if stored != computed {
        return Ok(CopyState::Damaged(Damage::Crc { stored, computed }));
    }
    let mut sequence = [0u8; 8];
    sequence.copy_from_slice(&h[SEQUENCE_AT..SEQUENCE_AT + 8]);
    let sequence = u64::from_le_bytes(sequence);
    if sequence == u64::MAX {
        return Ok(CopyState::Damaged(Damage::Sequence));
    }
    Ok(CopyState::Valid { sequence, length })
}

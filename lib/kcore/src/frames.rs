//! The physical frame allocator: one bit per 4 KiB frame of usable RAM.
//!
//! Regions come from the boot-info memory map (all usable RAM, including
//! the high region); the bitmap's storage is handed in by the kernel, which
//! takes it from the RAM it describes (`claim` marks those frames used).
//! Single frames are found from a rotating hint; contiguous runs (stacks,
//! heap growth) by a linear scan. A bit set means the frame is in use.

use core::fmt;

/// Frame size.
pub const FRAME_SIZE: u64 = 4096;
/// Most regions the allocator manages.
pub const MAX_REGIONS: usize = 16;

/// Why a frame operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The address is not a frame this allocator manages.
    NotManaged { pa: u64 },
    /// The frame is already free.
    DoubleFree { pa: u64 },
    /// A frame to claim is already in use.
    InUse { pa: u64 },
    /// The bitmap storage is too small for the regions added.
    BitmapTooSmall { needed_words: usize, have: usize },
    /// More than `MAX_REGIONS` regions.
    TooManyRegions,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::NotManaged { pa } => write!(f, "{pa:#x} is not a managed frame"),
            FrameError::DoubleFree { pa } => write!(f, "frame {pa:#x} freed twice"),
            FrameError::InUse { pa } => write!(f, "frame {pa:#x} is already in use"),
            FrameError::BitmapTooSmall { needed_words, have } => {
                write!(f, "frame bitmap needs {needed_words} words, {have} provided")
            }
            FrameError::TooManyRegions => write!(f, "more than {MAX_REGIONS} RAM regions"),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Region {
    first_frame: u64,
    frames: u64,
    first_bit: usize,
}

/// Bitmap words needed for `frames` frames.
pub const fn words_for(frames: u64) -> usize {
    frames.div_ceil(64) as usize
}

/// The allocator.
pub struct FrameAllocator<'a> {
    regions: [Region; MAX_REGIONS],
    count: usize,
    bits: &'a mut [u64],
    used_bits: usize,
    free: u64,
    hint: usize,
}

impl<'a> FrameAllocator<'a> {
    /// An allocator with no memory, whose bitmap lives in `bits`.
    pub fn new(bits: &'a mut [u64]) -> Self {
        bits.fill(0);
        FrameAllocator { regions: [Region::default(); MAX_REGIONS], count: 0, bits, used_bits: 0, free: 0, hint: 0 }
    }

    /// Adds `[base, base + size)`, shrunk inward to whole frames, as free.
    pub fn add_region(&mut self, base: u64, size: u64) -> Result<(), FrameError> {
        let first = base.div_ceil(FRAME_SIZE);
        let end = (base.saturating_add(size)) / FRAME_SIZE;
        if end <= first {
            return Ok(());
        }
        if self.count == MAX_REGIONS {
            return Err(FrameError::TooManyRegions);
        }
        let frames = end - first;
        let needed_words = words_for((self.used_bits as u64) + frames);
        if needed_words > self.bits.len() {
            return Err(FrameError::BitmapTooSmall { needed_words, have: self.bits.len() });
        }
        self.regions[self.count] = Region { first_frame: first, frames, first_bit: self.used_bits };
        self.count += 1;
        self.used_bits += frames as usize;
        self.free += frames;
        Ok(())
    }

    /// Frames managed.
    pub fn total_frames(&self) -> u64 {
        self.used_bits as u64
    }

    /// Frames free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    fn bit_of(&self, pa: u64) -> Option<usize> {
        if !pa.is_multiple_of(FRAME_SIZE) {
            return None;
        }
        let frame = pa / FRAME_SIZE;
        self.regions[..self.count]
            .iter()
            .find(|r| frame >= r.first_frame && frame < r.first_frame + r.frames)
            .map(|r| r.first_bit + (frame - r.first_frame) as usize)
    }

    fn pa_of(&self, bit: usize) -> u64 {
        let r = self.regions[..self.count]
            .iter()
            .find(|r| bit >= r.first_bit && bit < r.first_bit + r.frames as usize)
            .expect("bit index inside a region");
        (r.first_frame + (bit - r.first_bit) as u64) * FRAME_SIZE
    }

    fn get(&self, bit: usize) -> bool {
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn set(&mut self, bit: usize, used: bool) {
        if used {
            self.bits[bit / 64] |= 1 << (bit % 64);
        } else {
            self.bits[bit / 64] &= !(1 << (bit % 64));
        }
    }

    /// One free frame's physical address.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.free == 0 {
            return None;
        }
        let words = words_for(self.used_bits as u64);
        for step in 0..words {
            let w = (self.hint + step) % words;
            let word = self.bits[w];
            if word == u64::MAX {
                continue;
            }
            let bit = w * 64 + (!word).trailing_zeros() as usize;
            if bit >= self.used_bits {
                continue;
            }
            self.set(bit, true);
            self.free -= 1;
            self.hint = w;
            return Some(self.pa_of(bit));
        }
        None
    }

    /// `n` physically contiguous free frames, the first aligned to
    /// `align` frames; returns the first frame's address.
    pub fn alloc_contiguous(&mut self, n: u64, align: u64) -> Option<u64> {
        if n == 0 || n > self.free {
            return None;
        }
        let align = align.max(1);
        for i in 0..self.count {
            let r = self.regions[i];
            let mut frame = r.first_frame.next_multiple_of(align);
            while frame + n <= r.first_frame + r.frames {
                let start_bit = r.first_bit + (frame - r.first_frame) as usize;
                match (0..n as usize).find(|k| self.get(start_bit + k)) {
                    None => {
                        for k in 0..n as usize {
                            self.set(start_bit + k, true);
                        }
                        self.free -= n;
                        return Some(frame * FRAME_SIZE);
                    }
                    Some(k) => frame = (frame + k as u64 + 1).next_multiple_of(align),
                }
            }
        }
        None
    }

    /// Marks `n` frames from `pa` as used; all must be managed and free
    /// (nothing changes otherwise).
    pub fn claim(&mut self, pa: u64, n: u64) -> Result<(), FrameError> {
        for k in 0..n {
            let a = pa + k * FRAME_SIZE;
            let bit = self.bit_of(a).ok_or(FrameError::NotManaged { pa: a })?;
            if self.get(bit) {
                return Err(FrameError::InUse { pa: a });
            }
        }
        for k in 0..n {
            let bit = self.bit_of(pa + k * FRAME_SIZE).expect("checked above");
            self.set(bit, true);
        }
        self.free -= n;
        Ok(())
    }

    /// Returns a frame.
    pub fn free(&mut self, pa: u64) -> Result<(), FrameError> {
        let bit = self.bit_of(pa).ok_or(FrameError::NotManaged { pa })?;
        if !self.get(bit) {
            return Err(FrameError::DoubleFree { pa });
        }
        self.set(bit, false);
        self.free += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn allocates_every_frame_once() {
        let mut bits = [0u64; 8];
        let mut a = FrameAllocator::new(&mut bits);
        a.add_region(0x1000, 64 * FRAME_SIZE).unwrap();
        a.add_region(0x9000_0000 + 100, 100 * FRAME_SIZE).unwrap(); // shrunk to 99 frames
        assert_eq!(a.total_frames(), 64 + 99);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(pa) = a.alloc() {
            assert_eq!(pa % FRAME_SIZE, 0);
            assert!(seen.insert(pa), "{pa:#x} handed out twice");
        }
        assert_eq!(seen.len(), 64 + 99);
        assert_eq!(a.free_frames(), 0);
        assert!(seen.contains(&0x1000) && seen.contains(&0x9000_1000) && !seen.contains(&0x9000_0000));
    }

    #[test]
    fn free_and_double_free() {
        let mut bits = [0u64; 1];
        let mut a = FrameAllocator::new(&mut bits);
        a.add_region(0, 4 * FRAME_SIZE).unwrap();
        let f = a.alloc().unwrap();
        assert_eq!(a.free(f), Ok(()));
        assert_eq!(a.free(f), Err(FrameError::DoubleFree { pa: f }));
        assert_eq!(a.free(0x100_0000), Err(FrameError::NotManaged { pa: 0x100_0000 }));
        assert_eq!(a.free(0x10), Err(FrameError::NotManaged { pa: 0x10 }));
        assert_eq!(a.free_frames(), 4);
    }

    #[test]
    fn contiguous_runs_skip_used_frames() {
        let mut bits = [0u64; 4];
        let mut a = FrameAllocator::new(&mut bits);
        a.add_region(0, 32 * FRAME_SIZE).unwrap();
        a.claim(2 * FRAME_SIZE, 1).unwrap();
        let run = a.alloc_contiguous(4, 4).unwrap();
        assert_eq!(run, 4 * FRAME_SIZE, "aligned to 4 frames, after the claimed frame 2");
        assert_eq!(a.claim(5 * FRAME_SIZE, 2), Err(FrameError::InUse { pa: 5 * FRAME_SIZE }));
        assert_eq!(a.free_frames(), 32 - 1 - 4);
        assert_eq!(a.alloc_contiguous(64, 1), None);
    }

    #[test]
    fn bitmap_capacity_is_checked() {
        let mut bits = [0u64; 1];
        let mut a = FrameAllocator::new(&mut bits);
        assert_eq!(a.add_region(0, 65 * FRAME_SIZE), Err(FrameError::BitmapTooSmall { needed_words: 2, have: 1 }));
        a.add_region(0, 3 * FRAME_SIZE / 2).unwrap(); // one whole frame
        assert_eq!(a.total_frames(), 1);
        assert_eq!(words_for(1024 * MIB / FRAME_SIZE), 4096);
    }
}

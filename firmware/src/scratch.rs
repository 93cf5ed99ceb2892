//! Scratch RAM for loading boot files: a region at the top of RAM that the
//! memory map marks as firmware memory, so no kernel segment can be placed
//! over a file while it is being loaded, and the firmware's own small RAM
//! is not needed for multi-megabyte kernels.

use crate::board::Board;

/// Largest scratch region.
pub const MAX_SCRATCH: u64 = 128 << 20;

/// The scratch region of this boot.
#[derive(Clone, Copy, Debug)]
pub struct Scratch {
    /// Physical base.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    va: u64,
}

impl Scratch {
    /// Describes the region `[base, base + size)`.
    pub fn new<B: Board>(board: &B, base: u64, size: u64) -> Self {
        Scratch { base, size, va: board.phys_to_virt(base) }
    }

    /// The whole region as bytes. Each boot attempt takes it anew; nothing
    /// in it survives from one attempt to the next.
    pub fn take(&mut self) -> &mut [u8] {
        // SAFETY: the region is RAM carved out of the memory map as
        // firmware memory (so nothing else is placed there), it is mapped
        // by the cached window, and the `&mut self` borrow makes this the
        // only live view of it.
        unsafe { core::slice::from_raw_parts_mut(self.va as *mut u8, self.size as usize) }
    }
}

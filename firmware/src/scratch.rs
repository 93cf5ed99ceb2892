//! Scratch RAM for loading boot files: a region at the top of RAM that the
//! loading memory map marks as firmware memory, so no kernel segment can be
//! placed over a file while it is being loaded, and the firmware's own small
//! RAM is not needed for multi-megabyte kernels.
//!
//! [`Scratch`] owns the region: it is neither `Copy` nor `Clone`, the
//! platform phase makes the only one, and the boot manager lends it out
//! mutably for one attempt at a time (after a fault, the shell takes the
//! region anew from the code that failed, which never resumes). Every view
//! of the bytes is borrowed from that one owner, so two live `&mut` views
//! of the region cannot compile. The region is needed only while loading: the map handed to the
//! next stage gives it back as usable RAM (`MemoryMap::hand_on`).

use crate::loader::BootError;

/// Largest scratch region.
pub const MAX_SCRATCH: u64 = 128 << 20;

/// The scratch region of this boot, owned. (No `Debug`: it would print
/// up to 128 MiB.)
pub struct Scratch {
    bytes: &'static mut [u8],
}

impl Scratch {
    /// Takes ownership of the `size` bytes mapped at virtual address `va`.
    ///
    /// # Safety
    ///
    /// `[va, va + size)` must map RAM that nothing else reads, writes or
    /// refers to for the rest of the boot: outside the firmware's own RAM
    /// and heap, and carved out of the memory map the loader places kernel
    /// segments and files against. No other `Scratch` or view of it that
    /// is still to be used may cover any byte of it: this is called once per
    /// boot, and again only after a fault, for code that never resumes.
    pub unsafe fn new(va: u64, size: usize) -> Self {
        // SAFETY: the caller guarantees the range is mapped RAM with no
        // other user or reference for the rest of the boot, so this slice
        // is its one view; `Scratch` is not `Copy` or `Clone`, so it stays
        // the one view, lent out only through `&mut self`.
        Scratch { bytes: unsafe { core::slice::from_raw_parts_mut(va as *mut u8, size) } }
    }

    /// The whole region, for one boot attempt. Nothing in it survives from
    /// one attempt to the next.
    pub fn bytes(&mut self) -> &mut [u8] {
        self.bytes
    }
}

/// `buf` (the scratch region or what is left of it) split into room for a
/// file of `size` bytes at its start and the rest after it, or `TooLarge`
/// when the file does not fit.
pub fn split_file(buf: &mut [u8], size: usize) -> Result<(&mut [u8], &mut [u8]), BootError> {
    let room = buf.len();
    buf.split_at_mut_checked(size).ok_or(BootError::TooLarge { size, room })
}

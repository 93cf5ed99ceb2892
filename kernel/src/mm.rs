//! Memory management: the physical frame allocator and the kernel heap.
//!
//! All usable RAM in the boot-info memory map is handed to one frame
//! allocator (`tianshan_kcore::frames`), whose bitmap lives in the first
//! frames of a usable region. The heap (`linked_list_allocator`) starts at
//! the base of the largest region and grows by claiming the frames right
//! after its end, so it stays contiguous; when those are taken, allocation
//! fails (a null pointer to `GlobalAlloc`, an error value from the kernel's
//! own fallible APIs, and Rust's allocation-failure panic, with its message,
//! where neither is possible). Frames are reached through the CPU's cached
//! unmapped window (`cpu::addr::cached`), so no page tables are needed.

use crate::cpu::addr;
use crate::irqlock::IrqLock;
use alloc::boxed::Box;
use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use tianshan_bootinfo::{MemoryKind, MemoryMap};
use tianshan_kcore::frames::{FRAME_SIZE, FrameAllocator, FrameError, words_for};

/// Heap size at start-up.
const INITIAL_HEAP_FRAMES: u64 = 256; // 1 MiB
/// Least the heap grows by at a time.
const HEAP_GROW_FRAMES: u64 = 64; // 256 KiB

static FRAMES: IrqLock<Option<FrameAllocator<'static>>> = IrqLock::new(None);

/// Why memory could not be set up or allocated.
#[derive(Clone, Copy, Debug)]
pub enum MemoryError {
    /// No usable RAM region can hold the frame bitmap.
    NoRoomForBitmap { bytes: u64 },
    /// The frame allocator refused a region or a claim.
    Frames(FrameError),
    /// No run of free frames is large enough.
    OutOfFrames { frames: u64 },
    /// `mm::init` has not run.
    NotInitialised,
    /// The heap could not provide (or grow to provide) `bytes` bytes.
    HeapExhausted { bytes: usize },
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::NoRoomForBitmap { bytes } => {
                write!(f, "no usable region can hold the {bytes}-byte frame bitmap")
            }
            MemoryError::Frames(e) => write!(f, "frame allocator: {e}"),
            MemoryError::OutOfFrames { frames } => write!(f, "out of memory: no {frames} contiguous free frames"),
            MemoryError::NotInitialised => write!(f, "memory management is not initialised"),
            MemoryError::HeapExhausted { bytes } => write!(f, "out of memory: the heap has no {bytes} bytes to give"),
        }
    }
}

/// `value` on the heap, or `HeapExhausted` instead of the allocation
/// failure panic of `Box::new`.
pub fn try_box<T>(value: T) -> Result<Box<T>, MemoryError> {
    Box::try_new(value).map_err(|_| MemoryError::HeapExhausted { bytes: core::mem::size_of::<T>() })
}

impl From<FrameError> for MemoryError {
    fn from(e: FrameError) -> Self {
        MemoryError::Frames(e)
    }
}

/// Counts for `meminfo`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Frames managed.
    pub total_frames: u64,
    /// Frames free.
    pub free_frames: u64,
    /// Heap size in bytes.
    pub heap_size: usize,
    /// Heap bytes free.
    pub heap_free: usize,
}

/// Sets up frames and heap from the boot-info memory map.
pub fn init(map: &MemoryMap) -> Result<(), MemoryError> {
    let usable = || map.regions().iter().filter(|r| r.kind == MemoryKind::Usable);
    let total_frames: u64 = usable().map(|r| r.size / FRAME_SIZE).sum();
    let bitmap_bytes = (words_for(total_frames) * 8) as u64;
    let bitmap_frames = bitmap_bytes.div_ceil(FRAME_SIZE);
    let first_frame = |base: u64| base.next_multiple_of(FRAME_SIZE);
    let home = usable()
        .find(|r| first_frame(r.base) + bitmap_frames * FRAME_SIZE <= r.base + r.size)
        .ok_or(MemoryError::NoRoomForBitmap { bytes: bitmap_bytes })?;
    let bitmap_pa = first_frame(home.base);
    // SAFETY: these frames are usable RAM according to the firmware's map,
    // nothing else uses them yet, and they are claimed below so the
    // allocator never hands them out: the slice is exclusively ours forever.
    let bitmap =
        unsafe { core::slice::from_raw_parts_mut(addr::cached(bitmap_pa) as *mut u64, words_for(total_frames)) };
    let mut frames = FrameAllocator::new(bitmap);
    for r in usable() {
        frames.add_region(r.base, r.size)?;
    }
    frames.claim(bitmap_pa, bitmap_frames)?;

    // The heap starts in the largest region, after the bitmap if it is there.
    let largest = usable().max_by_key(|r| r.size).expect("a region holds the bitmap");
    let heap_pa =
        if largest.base == home.base { bitmap_pa + bitmap_frames * FRAME_SIZE } else { first_frame(largest.base) };
    frames.claim(heap_pa, INITIAL_HEAP_FRAMES)?;
    *FRAMES.lock() = Some(frames);
    let mut heap = HEAP.inner.lock();
    // SAFETY: the frames were just claimed for the heap and are mapped by
    // the cached window; the heap owns them from now on.
    unsafe { heap.heap.init(addr::cached(heap_pa) as *mut u8, (INITIAL_HEAP_FRAMES * FRAME_SIZE) as usize) };
    heap.end_pa = heap_pa + INITIAL_HEAP_FRAMES * FRAME_SIZE;
    Ok(())
}

/// Allocates `n` contiguous frames; returns the first one's physical address.
pub fn alloc_frames(n: u64) -> Result<u64, MemoryError> {
    let mut f = FRAMES.lock();
    let frames = f.as_mut().ok_or(MemoryError::NotInitialised)?;
    frames.alloc_contiguous(n, 1).ok_or(MemoryError::OutOfFrames { frames: n })
}

/// Returns `n` frames starting at `pa`.
pub fn free_frames(pa: u64, n: u64) -> Result<(), MemoryError> {
    let mut f = FRAMES.lock();
    let frames = f.as_mut().ok_or(MemoryError::NotInitialised)?;
    for k in 0..n {
        frames.free(pa + k * FRAME_SIZE)?;
    }
    Ok(())
}

/// Current counts.
pub fn stats() -> MemoryStats {
    let (total_frames, free_frames) = FRAMES.lock().as_ref().map_or((0, 0), |f| (f.total_frames(), f.free_frames()));
    let h = HEAP.inner.lock();
    MemoryStats { total_frames, free_frames, heap_size: h.heap.size(), heap_free: h.heap.free() }
}

struct HeapState {
    heap: Heap,
    end_pa: u64,
}

impl HeapState {
    /// Grows the heap by at least `bytes`, claiming the frames right after it.
    fn grow(&mut self, bytes: usize) -> bool {
        let frames = (bytes as u64).div_ceil(FRAME_SIZE).max(HEAP_GROW_FRAMES);
        let claimed = FRAMES.lock().as_mut().is_some_and(|f| f.claim(self.end_pa, frames).is_ok());
        if claimed {
            // SAFETY: the claimed frames follow the heap's last byte in the
            // same cached window, so the heap can extend over them.
            unsafe { self.heap.extend((frames * FRAME_SIZE) as usize) };
            self.end_pa += frames * FRAME_SIZE;
        }
        claimed
    }
}

/// The kernel's global allocator.
pub struct KernelHeap {
    inner: IrqLock<HeapState>,
}

impl KernelHeap {
    /// An empty heap; `init` gives it memory.
    pub const fn new() -> Self {
        KernelHeap { inner: IrqLock::new(HeapState { heap: Heap::empty(), end_pa: 0 }) }
    }
}

impl Default for KernelHeap {
    fn default() -> Self {
        Self::new()
    }
}

/// The one heap instance, installed as `#[global_allocator]` by the binary.
pub static HEAP: KernelHeap = KernelHeap::new();

// SAFETY: every allocation comes from `linked_list_allocator::Heap` under
// the lock, which hands out disjoint, suitably aligned blocks of memory the
// heap owns; `dealloc` returns them with the same layout.
unsafe impl GlobalAlloc for &'static KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut h = self.inner.lock();
        if let Ok(p) = h.heap.allocate_first_fit(layout) {
            return p.as_ptr();
        }
        if h.end_pa != 0
            && h.grow(layout.size() + layout.align())
            && let Ok(p) = h.heap.allocate_first_fit(layout)
        {
            return p.as_ptr();
        }
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc contract).
            unsafe { self.inner.lock().heap.deallocate(p, layout) }
        }
    }
}

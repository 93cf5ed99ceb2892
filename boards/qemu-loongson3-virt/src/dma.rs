//! DMA for virtio on loongson3-virt: the `virtio-drivers` `Hal`.
//!
//! Facts it relies on (`shared/specs/loongson3-virt.md`):
//! - device DMA addresses are CPU physical addresses, no IOMMU, no offset
//!   (§14.1), so sharing a buffer is translating its unmapped address;
//! - PCI memory BARs lie at 0x4000_0000.. (§14.1), above what KSEG1
//!   reaches, so they are accessed through XKPHYS uncached (§3, §14.3);
//! - DMA is cache-coherent (QEMU models no caches, §5; Loongson-3's
//!   HyperTransport DMA snoops the caches), so no cache maintenance.
//!
//! DMA pages come from the firmware heap (KSEG0 firmware RAM), page-aligned.

use core::alloc::Layout;
use core::ptr::NonNull;
use tianshan_arch_mips64::addr;
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

extern crate alloc;

/// The board's virtio `Hal`.
pub struct DmaHal;

fn pages_layout(pages: usize) -> Option<Layout> {
    Layout::from_size_align(pages.checked_mul(PAGE_SIZE)?, PAGE_SIZE).ok()
}

/// The physical address behind a firmware pointer (KSEG0/KSEG1/XKPHYS).
fn phys(ptr: *const u8) -> PhysAddr {
    // Firmware code, data, heap, stack and the scratch region are all in
    // unmapped segments, so this cannot fail for a buffer the firmware owns.
    addr::virt_to_phys(ptr as u64).expect("firmware buffers live in unmapped segments")
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned heap memory that nothing
// else references until `dma_dealloc`; `mmio_phys_to_virt` returns the
// uncached XKPHYS view of the BAR the caller names; `share` returns the
// physical address of the caller's buffer, which the device reaches
// directly (no IOMMU, coherent DMA).
unsafe impl Hal for DmaHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(layout) = pages_layout(pages).filter(|l| l.size() > 0) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) };
        match NonNull::new(ptr) {
            Some(p) => (phys(ptr), p),
            // A physical address of 0 makes `Dma::new` report DmaError.
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        match pages_layout(pages) {
            Some(layout) => {
                // SAFETY: the caller passes what `dma_alloc` returned for
                // `pages` pages, allocated with this same layout.
                unsafe { alloc::alloc::dealloc(vaddr.as_ptr(), layout) };
                0
            }
            None => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        let va = addr::xkphys_uncached(paddr);
        NonNull::new(va as *mut u8).expect("XKPHYS addresses are never null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        phys(buffer.as_ptr() as *const u8)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {
        // Nothing to do: the device wrote the caller's buffer in place.
    }
}

//! Physical ranges and the MIPS64 kernel-segment forms Linux accepts.
//!
//! Linux on Loongson-3 reads argv pointers as 32-bit values and sign-extends
//! them, checks that a1 lies at or above CKSEG0, and calls the firmware's
//! reset entries without a TLB mapping (`lefi-boot-protocol.md` §0 "KSEG0
//! address", §3, §4.1, §8). These helpers are the only place that turns a
//! physical address into one of those forms.

use core::fmt;

use tianshan_arch_mips64::addr::cached;
pub use tianshan_arch_mips64::addr::{KSEG_SIZE, KSEG0_BASE, KSEG1_BASE, kseg0};

/// End (exclusive) of KSEG1: KSEG2 above it needs the TLB.
pub const KSEG1_END: u64 = KSEG1_BASE + KSEG_SIZE;
/// Bits 63:62 of every XKPHYS address are `0b10` (`loongson3-virt.md` §3).
const XKPHYS_TAG: u64 = 0b10;
/// Shift of the XKPHYS tag bits.
const XKPHYS_TAG_SHIFT: u32 = 62;
/// XKPHYS reaches physical addresses below 2^48 (`loongson3-virt.md` §3).
const XKPHYS_PHYS_BITS: u32 = 48;
/// Bits 61:59 of an XKPHYS address are the cache attribute; 58:48 must be 0.
const XKPHYS_CCA_SHIFT: u32 = 59;
/// MIPS instructions are 4 bytes; an entry point must be aligned to them.
pub const INSTRUCTION_ALIGN: u64 = 4;

/// A half-open physical address range `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// The range `start..end`.
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// The range of `len` bytes from `start`, or `None` if it wraps around.
    pub const fn from_start_len(start: u64, len: u64) -> Option<Self> {
        match start.checked_add(len) {
            Some(end) => Some(Self { start, end }),
            None => None,
        }
    }

    /// Number of bytes (0 for an empty or inverted range).
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True if the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True if the two ranges share at least one byte.
    pub const fn overlaps(&self, other: &PhysRange) -> bool {
        self.start < other.end && other.start < self.end && !self.is_empty() && !other.is_empty()
    }

    /// True if every byte of `other` lies in `self`.
    pub const fn contains_range(&self, other: &PhysRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

impl fmt::Display for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// The 32-bit argv entry Linux sign-extends back to `kseg0(pa)` (§4.1), or
/// `None` if `pa` is not below 512 MiB.
pub const fn kseg0_u32(pa: u64) -> Option<u32> {
    match kseg0(pa) {
        // Truncation is the point: the upper 32 bits are the sign extension.
        Some(va) => Some(va as u32),
        None => None,
    }
}

/// The address Linux's `rd_start=` should name for physical address `pa`:
/// KSEG0 below 512 MiB (QEMU's form, \[run\] §4.2), otherwise XKPHYS cached,
/// which `rd_start_early` keeps as it is and `init_initrd` accepts because it
/// is at or above PAGE_OFFSET (§4.2 \[src\] L-SETUP; not run-verified).
pub const fn initrd_virtual(pa: u64) -> u64 {
    cached(pa)
}

/// True if the kernel can call `address` without a TLB mapping: KSEG0/KSEG1
/// or XKPHYS (§8), and it is instruction-aligned.
pub const fn is_unmapped_code_address(address: u64) -> bool {
    if !address.is_multiple_of(INSTRUCTION_ALIGN) {
        return false;
    }
    let kseg = address >= KSEG0_BASE && address < KSEG1_END;
    let xkphys_reserved_bits = (address >> XKPHYS_PHYS_BITS) & ((1 << (XKPHYS_CCA_SHIFT - XKPHYS_PHYS_BITS)) - 1);
    let xkphys = address >> XKPHYS_TAG_SHIFT == XKPHYS_TAG && xkphys_reserved_bits == 0;
    kseg || xkphys
}

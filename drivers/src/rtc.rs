//! Goldfish RTC: wall-clock time in nanoseconds since 1970.
//!
//! Source: QEMU `hw/rtc/goldfish_rtc.c`; `shared/specs/loongson3-virt.md`
//! §10. 32-bit registers only; reading TIME_LOW latches TIME_HIGH, so the
//! low half is always read first.

use core::ptr::NonNull;
use volatile::VolatilePtr;

/// TIME_LOW: low 32 bits of the time; reading it latches TIME_HIGH.
const TIME_LOW: usize = 0x00;
/// TIME_HIGH: high 32 bits latched by the last TIME_LOW read.
const TIME_HIGH: usize = 0x04;

/// The RTC's register block.
pub struct GoldfishRtc {
    base: NonNull<u32>,
}

// SAFETY: MMIO registers; the two reads are done by whoever owns the value.
unsafe impl Send for GoldfishRtc {}

impl GoldfishRtc {
    /// # Safety
    ///
    /// `base` must map the goldfish RTC registers for the value's life.
    pub unsafe fn new(base: usize) -> Self {
        // SAFETY: the caller passes the (non-null) register block address.
        GoldfishRtc { base: unsafe { NonNull::new_unchecked(base as *mut u32) } }
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: TIME_LOW/TIME_HIGH are 4-aligned registers inside the block.
        unsafe { VolatilePtr::new(self.base.byte_add(offset)) }.read()
    }

    /// Nanoseconds since 1970-01-01 00:00:00 UTC.
    pub fn now_ns(&mut self) -> u64 {
        let low = self.read(TIME_LOW);
        let high = self.read(TIME_HIGH);
        (u64::from(high) << 32) | u64::from(low)
    }
}

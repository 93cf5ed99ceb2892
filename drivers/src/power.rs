//! The power-management byte of Loongson-3 virtual machines.
//!
//! Source: QEMU `hw/mips/loongson3_virt.c` (`loongson3_pm_write`) and
//! `shared/specs/loongson3-virt.md` §7: an 8-bit register where 0x00
//! resets the system and 0xFF powers it off.

use core::ptr::NonNull;
use volatile::VolatilePtr;

/// Value that resets the machine.
pub const PM_RESET: u8 = 0x00;
/// Value that powers the machine off.
pub const PM_POWER_OFF: u8 = 0xFF;

/// The power-control register.
pub struct PowerControl {
    reg: NonNull<u8>,
}

// SAFETY: the register is a single byte of MMIO; writes from any core are
// equally valid.
unsafe impl Send for PowerControl {}
// SAFETY: as above; `&PowerControl` only performs single-byte stores.
unsafe impl Sync for PowerControl {}

impl PowerControl {
    /// # Safety
    ///
    /// `addr` must be the virtual address of the PM control byte.
    pub const unsafe fn new(addr: usize) -> Self {
        // SAFETY: the caller passes a non-null device address.
        PowerControl { reg: unsafe { NonNull::new_unchecked(addr as *mut u8) } }
    }

    fn write(&self, value: u8) {
        // SAFETY: `reg` is the PM byte (constructor contract).
        unsafe { VolatilePtr::new(self.reg) }.write(value);
    }

    /// Requests power-off. Returns only if the machine ignored it.
    pub fn power_off(&self) {
        self.write(PM_POWER_OFF);
    }

    /// Requests a reset. Returns only if the machine ignored it.
    pub fn reset(&self) {
        self.write(PM_RESET);
    }
}

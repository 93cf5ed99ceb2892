//! PCIe configuration space through ECAM (memory-mapped, one 4 KiB page per
//! function).
//!
//! Source: PCI Express Base Specification, "Enhanced Configuration Access
//! Mechanism"; `shared/specs/loongson3-virt.md` §14.1 (base 0x1A00_0000,
//! buses 0–31, 1/2/4-byte little-endian accesses, absent functions read
//! all ones).

use tianshan_pci::{Bdf, ConfigSpace, ecam_offset};

/// An ECAM window.
pub struct Ecam {
    base: usize,
    buses: u16,
}

// SAFETY: MMIO; ownership of `Ecam` serialises access.
unsafe impl Send for Ecam {}

impl Ecam {
    /// # Safety
    ///
    /// `base` must map an ECAM region covering `buses` buses (1 MiB each)
    /// for the value's life, and nothing else may use it.
    pub unsafe fn new(base: usize, buses: u16) -> Self {
        Ecam { base, buses }
    }

    /// Highest bus number the window covers.
    pub fn max_bus(&self) -> u8 {
        (self.buses.clamp(1, 256) - 1) as u8
    }

    fn addr(&self, bdf: Bdf, offset: u16) -> Option<usize> {
        (u16::from(bdf.bus) < self.buses).then(|| self.base + ecam_offset(bdf, offset & 0xFFF) as usize)
    }
}

impl ConfigSpace for Ecam {
    fn read32(&mut self, bdf: Bdf, offset: u16) -> u32 {
        match self.addr(bdf, offset & !3) {
            // SAFETY: inside the ECAM window (constructor contract), aligned.
            Some(a) => unsafe { (a as *const u32).read_volatile() },
            None => u32::MAX,
        }
    }

    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) {
        if let Some(a) = self.addr(bdf, offset & !3) {
            // SAFETY: inside the ECAM window (constructor contract), aligned.
            unsafe { (a as *mut u32).write_volatile(value) }
        }
    }

    fn read16(&mut self, bdf: Bdf, offset: u16) -> u16 {
        match self.addr(bdf, offset & !1) {
            // SAFETY: inside the window, 2-aligned; ECAM takes 16-bit accesses.
            Some(a) => unsafe { (a as *const u16).read_volatile() },
            None => u16::MAX,
        }
    }

    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) {
        if let Some(a) = self.addr(bdf, offset & !1) {
            // SAFETY: inside the window, 2-aligned; ECAM takes 16-bit accesses.
            unsafe { (a as *mut u16).write_volatile(value) }
        }
    }

    fn read8(&mut self, bdf: Bdf, offset: u16) -> u8 {
        match self.addr(bdf, offset) {
            // SAFETY: inside the window; ECAM takes byte accesses.
            Some(a) => unsafe { (a as *const u8).read_volatile() },
            None => u8::MAX,
        }
    }

    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) {
        if let Some(a) = self.addr(bdf, offset) {
            // SAFETY: inside the window; ECAM takes byte accesses.
            unsafe { (a as *mut u8).write_volatile(value) }
        }
    }
}

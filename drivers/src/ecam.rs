//! PCIe configuration space through ECAM (memory-mapped, one 4 KiB page per
//! function).
//!
//! Source: PCI Express Base Specification, "Enhanced Configuration Access
//! Mechanism"; `shared/specs/loongson3-virt.md` §14.1 (base 0x1A00_0000,
//! buses 0–31, 1/2/4-byte little-endian accesses, absent functions read
//! all ones).
//!
//! `Ecam::virtio_access` lends the window to `virtio-drivers`' PCI transport
//! (its `ConfigurationAccess`), which reads the virtio capabilities and the
//! BARs the firmware already assigned.

use core::marker::PhantomData;
use tianshan_pci::{Bdf, ConfigSpace, ecam_offset};
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};

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
        window_addr(self.base, self.buses, bdf, offset)
    }

    /// The window as `virtio-drivers` wants it, for as long as the borrow
    /// lasts (so nothing else uses the window meanwhile).
    pub fn virtio_access(&mut self) -> VirtioConfigAccess<'_> {
        VirtioConfigAccess { base: self.base, buses: self.buses, _ecam: PhantomData }
    }
}

fn window_addr(base: usize, buses: u16, bdf: Bdf, offset: u16) -> Option<usize> {
    (u16::from(bdf.bus) < buses).then(|| base + ecam_offset(bdf, offset & 0xFFF) as usize)
}

/// `virtio-drivers`' configuration access over a borrowed ECAM window.
/// Only dword accesses; registers beyond the window read all ones.
pub struct VirtioConfigAccess<'a> {
    base: usize,
    buses: u16,
    _ecam: PhantomData<&'a mut Ecam>,
}

impl VirtioConfigAccess<'_> {
    fn addr(&self, f: DeviceFunction, offset: u8) -> Option<usize> {
        window_addr(self.base, self.buses, Bdf::new(f.bus, f.device, f.function), u16::from(offset & !3))
    }
}

impl ConfigurationAccess for VirtioConfigAccess<'_> {
    fn read_word(&self, f: DeviceFunction, register_offset: u8) -> u32 {
        match self.addr(f, register_offset) {
            // SAFETY: inside the ECAM window the borrowed `Ecam` maps
            // (its constructor contract), dword-aligned.
            Some(a) => unsafe { (a as *const u32).read_volatile() },
            None => u32::MAX,
        }
    }

    fn write_word(&mut self, f: DeviceFunction, register_offset: u8, data: u32) {
        if let Some(a) = self.addr(f, register_offset) {
            // SAFETY: as in `read_word`; the `&mut Ecam` borrow makes this
            // the window's only user.
            unsafe { (a as *mut u32).write_volatile(data) }
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        // The caller promises the clone only reads read-only registers.
        VirtioConfigAccess { base: self.base, buses: self.buses, _ecam: PhantomData }
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

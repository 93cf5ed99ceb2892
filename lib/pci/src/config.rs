//! Addressing a function (`Bdf`) and the configuration-access trait.
//!
//! The enumerator only needs `read32`/`write32`; the narrower accessors have
//! read-modify-write defaults that an ECAM implementation (which allows
//! 1/2/4-byte accesses) may override with native ones.

use core::fmt;

/// Highest device number on a bus (PCI 3.0 §3.2.2.3: 32 devices).
pub const MAX_DEVICE: u8 = 31;
/// Highest function number in a device (PCI 3.0 §6.2.1: 8 functions).
pub const MAX_FUNCTION: u8 = 7;
/// Size of one function's configuration space under ECAM (4 KiB).
pub const CONFIG_SPACE_SIZE: u16 = 0x1000;

/// Bus, device and function number of one PCI function.
///
/// `device` is 0..=31 and `function` 0..=7; values outside are masked
/// wherever an address is formed (`ecam_offset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bdf {
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0..=31.
    pub device: u8,
    /// Function number, 0..=7.
    pub function: u8,
}

impl Bdf {
    /// The function at `bus:device.function`.
    pub const fn new(bus: u8, device: u8, function: u8) -> Self {
        Self { bus, device, function }
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Offset of register `reg` of `bdf` from the ECAM base:
/// `(bus << 20) | (device << 15) | (function << 12) | reg`
/// (PCI Express Base Specification §7.2.2; spec loongson3-virt §14.1).
/// Device, function and register are masked to their field widths.
pub const fn ecam_offset(bdf: Bdf, reg: u16) -> u32 {
    ((bdf.bus as u32) << 20)
        | (((bdf.device & MAX_DEVICE) as u32) << 15)
        | (((bdf.function & MAX_FUNCTION) as u32) << 12)
        | ((reg & (CONFIG_SPACE_SIZE - 1)) as u32)
}

/// Access to configuration space.
///
/// `offset` is a byte offset into the function's 4 KiB space; `read32` and
/// `write32` are only called with offsets that are multiples of 4. A
/// function that does not exist must read as all ones (as ECAM does).
///
/// The 8- and 16-bit defaults read-modify-write the containing dword, so
/// they also write back the neighbouring bytes: for the Command register
/// that rewrites Status, whose error bits are write-1-to-clear, so a
/// default `write16(PCI_COMMAND, …)` clears any error bits that were set.
/// That is harmless during enumeration; override the narrow accessors where
/// the hardware does sub-dword accesses natively.
pub trait ConfigSpace {
    /// Read the aligned dword at `offset`.
    fn read32(&mut self, bdf: Bdf, offset: u16) -> u32;
    /// Write the aligned dword at `offset`.
    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32);

    /// Read the 16-bit register at `offset` (bit 0 of `offset` ignored).
    fn read16(&mut self, bdf: Bdf, offset: u16) -> u16 {
        let shift = u32::from(offset & 2) * 8;
        (self.read32(bdf, offset & !3) >> shift) as u16
    }

    /// Read the byte at `offset`.
    fn read8(&mut self, bdf: Bdf, offset: u16) -> u8 {
        let shift = u32::from(offset & 3) * 8;
        (self.read32(bdf, offset & !3) >> shift) as u8
    }

    /// Write the 16-bit register at `offset` (bit 0 of `offset` ignored).
    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) {
        let shift = u32::from(offset & 2) * 8;
        let old = self.read32(bdf, offset & !3);
        let new = (old & !(0xFFFF << shift)) | (u32::from(value) << shift);
        self.write32(bdf, offset & !3, new);
    }

    /// Write the byte at `offset`.
    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) {
        let shift = u32::from(offset & 3) * 8;
        let old = self.read32(bdf, offset & !3);
        let new = (old & !(0xFF << shift)) | (u32::from(value) << shift);
        self.write32(bdf, offset & !3, new);
    }
}

impl<C: ConfigSpace + ?Sized> ConfigSpace for &mut C {
    fn read32(&mut self, bdf: Bdf, offset: u16) -> u32 {
        (**self).read32(bdf, offset)
    }
    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) {
        (**self).write32(bdf, offset, value)
    }
    fn read16(&mut self, bdf: Bdf, offset: u16) -> u16 {
        (**self).read16(bdf, offset)
    }
    fn read8(&mut self, bdf: Bdf, offset: u16) -> u8 {
        (**self).read8(bdf, offset)
    }
    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) {
        (**self).write16(bdf, offset, value)
    }
    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) {
        (**self).write8(bdf, offset, value)
    }
}

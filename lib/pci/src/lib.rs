//! PCI/PCIe enumeration and resource assignment over any configuration access.
//!
//! The firmware drives this over ECAM; the tests drive it over a simulated
//! configuration space. Nothing here knows a board's addresses: the caller
//! passes the highest bus number, the memory and I/O windows (bus
//! addresses), and maps the resulting root-bus INTx to its interrupt
//! controller (loongson3-virt: LIOINTC input 2 + `RootIntx::gpex_irq`).
//!
//! Flow: [`enumerate`] finds functions depth-first, numbers bridges, sizes
//! BARs and swizzles interrupt pins; [`Enumeration::assign`] gives addresses
//! and enables what fits; [`configure`] does both. No heap, no `unsafe`,
//! every loop bounded, and hostile configuration data ends in a `PciError`
//! in `Enumeration::problems`, never a panic.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod assign;
mod bar;
mod config;
mod error;
mod irq;
pub mod names;
pub mod regs;
mod scan;
mod table;

#[cfg(test)]
mod tests;

use core::fmt;

pub use bar::{Bar, BarKind, ResourceKind, Size};
pub use config::{Bdf, CONFIG_SPACE_SIZE, ConfigSpace, MAX_DEVICE, MAX_FUNCTION, ecam_offset};
pub use error::{MAX_PROBLEMS, PciError, Problems};
pub use irq::{IntxPin, RootIntx, swizzle};
pub use scan::{Enumeration, enumerate};
pub use table::{BridgeInfo, ClassCode, DeviceTable, MAX_FUNCTIONS, PciFunction};

/// A range of bus addresses `[base, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First address.
    pub base: u64,
    /// One past the last address.
    pub end: u64,
}

impl Window {
    /// The window `[base, end)`.
    pub const fn new(base: u64, end: u64) -> Self {
        Self { base, end }
    }

    /// Bytes covered (0 when `end <= base`).
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.base)
    }

    /// True when the window covers nothing.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.base
    }

    /// True when `[start, start + size)` lies inside the window.
    pub const fn contains_range(&self, start: u64, size: u64) -> bool {
        match start.checked_add(size) {
            Some(end) => start >= self.base && end <= self.end,
            None => false,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.base, self.end)
    }
}

/// Enumerate up to `max_bus`, then assign from `mem` and `io`
/// ([`enumerate`] followed by [`Enumeration::assign`]).
pub fn configure<C: ConfigSpace + ?Sized>(cfg: &mut C, max_bus: u8, mem: Window, io: Window) -> Enumeration {
    let mut result = enumerate(cfg, max_bus);
    result.assign(cfg, mem, io);
    result
}

//! Base Address Registers: the sizing protocol and what it yields.
//!
//! Sizing writes all ones, reads back, restores the original value; the
//! lowest writable address bit gives the size (PCI 3.0 §6.2.5.1). Decoding
//! must stay off while this runs (the enumerator clears Command first).
//! The Expansion ROM BAR (0x30 / 0x38) is not sized or assigned: nothing
//! this firmware drives needs option ROMs, and Linux assigns it itself.

use core::fmt;

use crate::config::{Bdf, ConfigSpace};
use crate::error::{PciError, Problems};
use crate::regs::*;

/// The address space a resource lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// PCI I/O port space.
    Io,
    /// PCI memory space.
    Memory,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Io => "I/O",
            ResourceKind::Memory => "memory",
        })
    }
}

/// What a BAR decodes, from its low flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// I/O ports.
    Io,
    /// 32-bit memory (also the legacy "below 1 MiB" type).
    Mem32 {
        /// Reads have no side effects; may be prefetched.
        prefetchable: bool,
    },
    /// 64-bit memory; occupies this BAR and the next.
    Mem64 {
        /// Reads have no side effects; may be prefetched.
        prefetchable: bool,
    },
}

impl BarKind {
    /// The space this BAR is allocated from.
    pub const fn resource(self) -> ResourceKind {
        match self {
            BarKind::Io => ResourceKind::Io,
            BarKind::Mem32 { .. } | BarKind::Mem64 { .. } => ResourceKind::Memory,
        }
    }

    /// True for prefetchable memory.
    pub const fn prefetchable(self) -> bool {
        matches!(self, BarKind::Mem32 { prefetchable: true } | BarKind::Mem64 { prefetchable: true })
    }
}

impl fmt::Display for BarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarKind::Io => f.write_str("io"),
            BarKind::Mem32 { prefetchable: false } => f.write_str("mem"),
            BarKind::Mem32 { prefetchable: true } => f.write_str("mem pref"),
            BarKind::Mem64 { prefetchable: false } => f.write_str("mem64"),
            BarKind::Mem64 { prefetchable: true } => f.write_str("mem64 pref"),
        }
    }
}

/// One implemented BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// I/O or memory, width, prefetchable.
    pub kind: BarKind,
    /// Size in bytes: a power of two; the BAR must be aligned to it.
    pub size: u64,
    /// Bus address assigned (CPU address on loongson3-virt's memory
    /// window; port number for I/O), `None` until assigned or when it could
    /// not be.
    pub address: Option<u64>,
}

/// A byte count printed the way people read them: `32 B`, `4 KiB`, `32 MiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u32, &str); 4] = [(60, "EiB"), (40, "TiB"), (30, "GiB"), (20, "MiB")];
        let n = self.0;
        for (shift, unit) in UNITS {
            if n != 0 && n.trailing_zeros() >= shift {
                return write!(f, "{} {unit}", n >> shift);
            }
        }
        if n != 0 && n.trailing_zeros() >= 10 {
            return write!(f, "{} KiB", n >> 10);
        }
        write!(f, "{n} B")
    }
}

/// Lowest set bit of `mask` (0 when none): the size a BAR decodes.
const fn lowest_bit(mask: u64) -> u64 {
    mask & mask.wrapping_neg()
}

/// Write all ones to the dword at `offset`, read back, restore.
fn probe<C: ConfigSpace + ?Sized>(cfg: &mut C, bdf: Bdf, offset: u16) -> u32 {
    let original = cfg.read32(bdf, offset);
    cfg.write32(bdf, offset, u32::MAX);
    let readback = cfg.read32(bdf, offset);
    cfg.write32(bdf, offset, original);
    readback
}

/// Size the first `count` BARs of `bdf` (at most 6). Unimplemented BARs
/// and the upper halves of 64-bit BARs come back as `None`; malformed ones
/// are reported to `problems` and left `None`.
pub(crate) fn size_bars<C: ConfigSpace + ?Sized>(
    cfg: &mut C,
    bdf: Bdf,
    count: usize,
    problems: &mut Problems,
) -> [Option<Bar>; PCI_DEVICE_BARS] {
    let mut bars = [None; PCI_DEVICE_BARS];
    let count = count.min(PCI_DEVICE_BARS);
    let mut index = 0;
    while index < count {
        let offset = PCI_BAR0 + 4 * index as u16;
        let readback = probe(cfg, bdf, offset);
        let mut next = index + 1;
        if readback == 0 {
            // Unimplemented: all bits hardwired to zero.
        } else if readback & PCI_BAR_IO_SPACE != 0 {
            let mut mask = readback & PCI_BAR_IO_MASK;
            // A 16-bit I/O decoder hardwires address bits 31:16 to zero.
            if mask & 0xFFFF_0000 == 0 {
                mask |= 0xFFFF_0000;
            }
            let size = lowest_bit(u64::from(mask));
            bars[index] = Some(Bar { kind: BarKind::Io, size, address: None });
        } else {
            let prefetchable = readback & PCI_BAR_MEM_PREFETCH != 0;
            let low = u64::from(readback & PCI_BAR_MEM_MASK);
            match readback & PCI_BAR_MEM_TYPE_MASK {
                PCI_BAR_MEM_TYPE_32 | PCI_BAR_MEM_TYPE_1M => {
                    if low != 0 {
                        let kind = BarKind::Mem32 { prefetchable };
                        bars[index] = Some(Bar { kind, size: lowest_bit(low), address: None });
                    }
                }
                PCI_BAR_MEM_TYPE_64 if index + 1 < count => {
                    let high = u64::from(probe(cfg, bdf, offset + 4));
                    let mask = (high << 32) | low;
                    if mask != 0 {
                        let kind = BarKind::Mem64 { prefetchable };
                        bars[index] = Some(Bar { kind, size: lowest_bit(mask), address: None });
                    }
                    next = index + 2;
                }
                PCI_BAR_MEM_TYPE_64 => problems.push(PciError::Bar64InLastSlot { bdf, bar: index as u8 }),
                _ => problems.push(PciError::ReservedBarType { bdf, bar: index as u8, value: readback }),
            }
        }
        index = next;
    }
    bars
}

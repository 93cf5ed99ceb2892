//! What can go wrong while enumerating and assigning, and the list of it.
//!
//! Nothing here aborts enumeration: each problem is recorded in `Problems`
//! and the function concerned is left with decoding disabled.

use core::fmt;

use crate::Window;
use crate::bar::{ResourceKind, Size};
use crate::config::Bdf;

/// Most problems kept; later ones are only counted (`Problems::dropped`).
pub const MAX_PROBLEMS: usize = 32;

/// One enumeration or assignment problem, naming the function and values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciError {
    /// A BAR did not fit in the window it had to come from.
    BarDoesNotFit {
        /// The function.
        bdf: Bdf,
        /// BAR index 0..=5.
        bar: u8,
        /// I/O or memory.
        kind: ResourceKind,
        /// Size (and alignment) of the BAR.
        size: u64,
        /// The window it had to fit in (the root window or a bridge's).
        window: Window,
        /// First free address in that window when it was tried.
        next_free: u64,
    },
    /// A bridge's window (what lies behind it, packed) did not fit.
    BridgeWindowDoesNotFit {
        /// The bridge.
        bdf: Bdf,
        /// I/O or memory window.
        kind: ResourceKind,
        /// Size the window needed.
        size: u64,
        /// The window it had to fit in.
        window: Window,
        /// First free address in that window when it was tried.
        next_free: u64,
    },
    /// A BAR behind a bridge whose window of that kind could not be given.
    NoBridgeWindow {
        /// The function.
        bdf: Bdf,
        /// BAR index.
        bar: u8,
        /// I/O or memory.
        kind: ResourceKind,
        /// The bridge directly above it.
        bridge: Bdf,
    },
    /// A function behind a bridge that was left disabled.
    BehindDisabledBridge {
        /// The function.
        bdf: Bdf,
        /// The bridge directly above it.
        bridge: Bdf,
    },
    /// A 64-bit memory BAR in the last slot has no upper half.
    Bar64InLastSlot {
        /// The function.
        bdf: Bdf,
        /// BAR index.
        bar: u8,
    },
    /// A memory BAR whose type field is the reserved value 11b.
    ReservedBarType {
        /// The function.
        bdf: Bdf,
        /// BAR index.
        bar: u8,
        /// What the BAR read back after writing all ones.
        value: u32,
    },
    /// A header layout other than 0 (device) or 1 (PCI-to-PCI bridge).
    UnsupportedHeaderType {
        /// The function.
        bdf: Bdf,
        /// The header type byte as read (multi-function bit included).
        header_type: u8,
    },
    /// The device table was full; enumeration stopped at this function.
    TooManyFunctions {
        /// The first function that was not recorded.
        bdf: Bdf,
        /// Table capacity.
        capacity: usize,
    },
    /// No bus number was left for a bridge's secondary bus.
    BusNumbersExhausted {
        /// The bridge.
        bridge: Bdf,
        /// The highest bus number enumeration may use.
        max_bus: u8,
    },
    /// A bridge did not keep the bus numbers written to it.
    BusNumberReadback {
        /// The bridge.
        bridge: Bdf,
        /// Primary, secondary, subordinate written.
        wrote: [u8; 3],
        /// Primary, secondary, subordinate read back.
        read: [u8; 3],
    },
    /// A BAR did not read back the address written to it.
    BarReadback {
        /// The function.
        bdf: Bdf,
        /// BAR index.
        bar: u8,
        /// Address written (flag bits excluded).
        wrote: u64,
        /// Address bits read back.
        read: u64,
    },
    /// Interrupt Pin held a value other than 0..=4.
    InvalidInterruptPin {
        /// The function.
        bdf: Bdf,
        /// The value read.
        pin: u8,
    },
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PciError::BarDoesNotFit { bdf, bar, kind, size, window, next_free } => write!(
                f,
                "{bdf} BAR{bar}: {} {kind} does not fit in window {window} (next free {next_free:#x})",
                Size(size)
            ),
            PciError::BridgeWindowDoesNotFit { bdf, kind, size, window, next_free } => write!(
                f,
                "{bdf} bridge: {} {kind} window does not fit in window {window} (next free {next_free:#x})",
                Size(size)
            ),
            PciError::NoBridgeWindow { bdf, bar, kind, bridge } => {
                write!(f, "{bdf} BAR{bar}: not assigned, bridge {bridge} above it got no {kind} window")
            }
            PciError::BehindDisabledBridge { bdf, bridge } => {
                write!(f, "{bdf}: left disabled, bridge {bridge} above it is disabled")
            }
            PciError::Bar64InLastSlot { bdf, bar } => {
                write!(f, "{bdf} BAR{bar}: 64-bit memory BAR in the last slot has no upper half; ignored")
            }
            PciError::ReservedBarType { bdf, bar, value } => {
                write!(f, "{bdf} BAR{bar}: reserved memory type (read back {value:#010x}); ignored")
            }
            PciError::UnsupportedHeaderType { bdf, header_type } => write!(
                f,
                "{bdf}: header type {header_type:#04x} not supported (0 device, 1 PCI-to-PCI bridge); BARs not sized"
            ),
            PciError::TooManyFunctions { bdf, capacity } => {
                write!(f, "{bdf}: device table full ({capacity} functions); enumeration stopped here")
            }
            PciError::BusNumbersExhausted { bridge, max_bus } => write!(
                f,
                "{bridge}: no bus number left above {max_bus:#04x} for the secondary bus; nothing behind it enumerated"
            ),
            PciError::BusNumberReadback { bridge, wrote, read } => write!(
                f,
                "{bridge}: wrote primary/secondary/subordinate bus {:02x}/{:02x}/{:02x}, read back \
                 {:02x}/{:02x}/{:02x}; nothing behind it enumerated",
                wrote[0], wrote[1], wrote[2], read[0], read[1], read[2]
            ),
            PciError::BarReadback { bdf, bar, wrote, read } => {
                write!(f, "{bdf} BAR{bar}: wrote {wrote:#x}, read back {read:#x}; device left disabled")
            }
            PciError::InvalidInterruptPin { bdf, pin } => {
                write!(f, "{bdf}: interrupt pin {pin:#04x} is not 0..=4; treated as none")
            }
        }
    }
}

/// The problems found, in the order they were found (fixed capacity).
#[derive(Clone, Debug)]
pub struct Problems {
    entries: [Option<PciError>; MAX_PROBLEMS],
    len: usize,
    dropped: usize,
}

impl Default for Problems {
    fn default() -> Self {
        Self::new()
    }
}

impl Problems {
    /// An empty list.
    pub const fn new() -> Self {
        Self { entries: [None; MAX_PROBLEMS], len: 0, dropped: 0 }
    }

    /// Record `error`; counted in `dropped` when the list is full.
    pub fn push(&mut self, error: PciError) {
        match self.entries.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(error);
                self.len += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    /// The problems kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &PciError> {
        self.entries[..self.len].iter().flatten()
    }

    /// How many problems are kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped == 0
    }

    /// How many problems were found after the list was full.
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.iter() {
            writeln!(f, "{problem}")?;
        }
        if self.dropped != 0 {
            writeln!(f, "({} more problems not kept)", self.dropped)?;
        }
        Ok(())
    }
}

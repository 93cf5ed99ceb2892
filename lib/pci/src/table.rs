//! The enumeration result: one `PciFunction` per function found.
//!
//! Fixed capacity (`MAX_FUNCTIONS`), no heap. Functions are stored in
//! depth-first discovery order, so a bridge always comes before everything
//! behind it and `PciFunction::parent` always points backwards.

use core::fmt;

use crate::Window;
use crate::bar::{Bar, Size};
use crate::config::Bdf;
use crate::irq::{IntxPin, RootIntx};
use crate::names::device_name;
use crate::regs::{PCI_COMMAND_DECODE_MASK, PCI_DEVICE_BARS, PCI_HEADER_MULTI_FUNCTION};

/// Most functions a `DeviceTable` holds.
pub const MAX_FUNCTIONS: usize = 64;

/// Class code: base class, subclass, programming interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ClassCode {
    /// Base class (byte 0x0B).
    pub base: u8,
    /// Subclass (byte 0x0A).
    pub sub: u8,
    /// Programming interface (byte 0x09).
    pub prog_if: u8,
}

impl fmt::Display for ClassCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}.{:02x}.{:02x}", self.base, self.sub, self.prog_if)
    }
}

/// What a PCI-to-PCI bridge was programmed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BridgeInfo {
    /// Bus number of its secondary side; 0 when none could be given.
    pub secondary: u8,
    /// Highest bus number behind it.
    pub subordinate: u8,
    /// I/O window forwarded downstream, if any.
    pub io_window: Option<Window>,
    /// Memory window forwarded downstream (prefetchable BARs behind the
    /// bridge live here too; the prefetchable window is left closed).
    pub mem_window: Option<Window>,
}

/// One PCI function as enumerated and (after assignment) configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciFunction {
    /// Where it is.
    pub bdf: Bdf,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Class code.
    pub class: ClassCode,
    /// Revision ID.
    pub revision: u8,
    /// Header type byte as read, multi-function bit included.
    pub header_type: u8,
    /// BARs by index; `None` for unimplemented BARs and for the slot holding
    /// the upper half of a 64-bit BAR.
    pub bars: [Option<Bar>; PCI_DEVICE_BARS],
    /// Interrupt Pin, `None` when the function uses no INTx.
    pub irq_pin: Option<IntxPin>,
    /// Where `irq_pin` arrives on the root bus, after the bridge swizzles.
    pub root_intx: Option<RootIntx>,
    /// Bridge state for a PCI-to-PCI bridge (header type 1).
    pub bridge: Option<BridgeInfo>,
    /// Index in the table of the bridge directly above, `None` on bus 0.
    pub parent: Option<usize>,
    /// Command register value the enumerator left (I/O, memory, bus-master
    /// bits); 0 means the function decodes nothing.
    pub command: u16,
}

impl PciFunction {
    /// A function with only its address and IDs filled in.
    pub const fn new(bdf: Bdf, vendor: u16, device: u16) -> Self {
        Self {
            bdf,
            vendor,
            device,
            class: ClassCode { base: 0, sub: 0, prog_if: 0 },
            revision: 0,
            header_type: 0,
            bars: [None; PCI_DEVICE_BARS],
            irq_pin: None,
            root_intx: None,
            bridge: None,
            parent: None,
            command: 0,
        }
    }

    /// True for a PCI-to-PCI bridge.
    pub const fn is_bridge(&self) -> bool {
        self.bridge.is_some()
    }

    /// True when header type bit 7 says the device has more functions.
    pub const fn is_multi_function(&self) -> bool {
        self.header_type & PCI_HEADER_MULTI_FUNCTION != 0
    }

    /// True when the enumerator turned on I/O or memory decoding or bus
    /// mastering.
    pub const fn is_enabled(&self) -> bool {
        self.command & PCI_COMMAND_DECODE_MASK != 0
    }

    /// Short name from the well-known table, if any.
    pub fn name(&self) -> Option<&'static str> {
        device_name(self.vendor, self.device, self.class)
    }

    /// The implemented BARs with their indices.
    pub fn implemented_bars(&self) -> impl Iterator<Item = (usize, &Bar)> {
        self.bars.iter().enumerate().filter_map(|(index, bar)| bar.as_ref().map(|bar| (index, bar)))
    }

    /// True when the function has at least one implemented BAR.
    pub fn has_bars(&self) -> bool {
        self.bars.iter().any(Option::is_some)
    }
}

impl fmt::Display for PciFunction {
    /// One line: `00:03.0 1af4:1000 class 02.00.00 virtio-net  BAR0 io
    /// 0x4000 (32 B) …`, then bridge windows, interrupt and state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:04x}:{:04x} class {} {}", self.bdf, self.vendor, self.device, self.class, {
            self.name().unwrap_or("unknown")
        })?;
        let mut separator = "  ";
        for (index, bar) in self.implemented_bars() {
            write!(f, "{separator}BAR{index} {} ", bar.kind)?;
            match bar.address {
                Some(address) => write!(f, "{address:#x}")?,
                None => f.write_str("unassigned")?,
            }
            write!(f, " ({})", Size(bar.size))?;
            separator = " ";
        }
        if let Some(bridge) = &self.bridge {
            write!(f, "{separator}bus {:02x}..{:02x}", bridge.secondary, bridge.subordinate)?;
            if let Some(window) = bridge.io_window {
                write!(f, " io {window}")?;
            }
            if let Some(window) = bridge.mem_window {
                write!(f, " mem {window}")?;
            }
            separator = " ";
        }
        if let Some(pin) = self.irq_pin {
            write!(f, "{separator}{pin}")?;
            if let Some(root) = self.root_intx {
                write!(f, " (root slot {} {})", root.slot, root.pin)?;
            }
            separator = " ";
        }
        if (self.has_bars() || self.is_bridge()) && !self.is_enabled() {
            write!(f, "{separator}[disabled]")?;
        }
        Ok(())
    }
}

/// Every function found, in discovery order (fixed capacity).
#[derive(Clone, Debug)]
pub struct DeviceTable {
    functions: [PciFunction; MAX_FUNCTIONS],
    len: usize,
}

impl Default for DeviceTable {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceTable {
    /// An empty table.
    pub const fn new() -> Self {
        Self { functions: [PciFunction::new(Bdf::new(0, 0, 0), 0, 0); MAX_FUNCTIONS], len: 0 }
    }

    /// Append `function` and return its index; `None` when the table is
    /// full.
    pub fn push(&mut self, function: PciFunction) -> Option<usize> {
        let slot = self.functions.get_mut(self.len)?;
        *slot = function;
        self.len += 1;
        Some(self.len - 1)
    }

    /// The functions found.
    pub fn as_slice(&self) -> &[PciFunction] {
        &self.functions[..self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [PciFunction] {
        &mut self.functions[..self.len]
    }

    /// The functions found, in discovery order.
    pub fn iter(&self) -> core::slice::Iter<'_, PciFunction> {
        self.as_slice().iter()
    }

    /// Number of functions found.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The function at table index `index`.
    pub fn get(&self, index: usize) -> Option<&PciFunction> {
        self.as_slice().get(index)
    }

    /// The function at `bdf`.
    pub fn by_bdf(&self, bdf: Bdf) -> Option<&PciFunction> {
        self.iter().find(|function| function.bdf == bdf)
    }

    /// The first function with these IDs.
    pub fn find(&self, vendor: u16, device: u16) -> Option<&PciFunction> {
        self.iter().find(|function| function.vendor == vendor && function.device == device)
    }
}

impl<'a> IntoIterator for &'a DeviceTable {
    type Item = &'a PciFunction;
    type IntoIter = core::slice::Iter<'a, PciFunction>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for DeviceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for function in self {
            writeln!(f, "{function}")?;
        }
        Ok(())
    }
}

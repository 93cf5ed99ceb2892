//! Depth-first enumeration: find functions, number buses, size BARs.
//!
//! Every loop is bounded: 32 devices × 8 functions per bus; recursion only
//! happens behind a bridge that accepted a fresh bus number, so it is at
//! most `max_bus` deep; the table's capacity stops the whole scan. Decoding
//! (Command I/O, memory, bus master) is turned off on every function found;
//! `Enumeration::assign` turns it back on where resources were given.

use crate::bar::size_bars;
use crate::config::{Bdf, ConfigSpace, MAX_DEVICE, MAX_FUNCTION};
use crate::error::{PciError, Problems};
use crate::irq::{IntxPin, RootIntx, swizzle};
use crate::regs::*;
use crate::table::{BridgeInfo, ClassCode, DeviceTable, MAX_FUNCTIONS, PciFunction};

/// What enumeration found, and later what assignment did with it.
#[derive(Clone, Debug)]
pub struct Enumeration {
    /// Every function found, bridges before what is behind them.
    pub devices: DeviceTable,
    /// Everything that went wrong, in order.
    pub problems: Problems,
    /// Highest bus number given to a bridge (0 when there are none).
    pub last_bus: u8,
    /// First function left out because the table was full (also reported
    /// in `problems`, kept here in case that list overflowed first).
    pub stopped_at: Option<Bdf>,
}

/// Scan from bus 0, numbering bridges' secondary buses depth-first up to
/// `max_bus` (loongson3-virt's ECAM covers buses 0..=31), sizing every BAR
/// and working out each function's root-bus INTx. Assigns no addresses.
pub fn enumerate<C: ConfigSpace + ?Sized>(cfg: &mut C, max_bus: u8) -> Enumeration {
    let mut scanner =
        Scanner { cfg, max_bus, next_bus: 1, stopped_at: None, devices: DeviceTable::new(), problems: Problems::new() };
    scanner.scan_bus(0, None);
    let last_bus = u8::try_from(scanner.next_bus - 1).unwrap_or(u8::MAX);
    let stopped_at = scanner.stopped_at;
    let mut result = Enumeration { devices: scanner.devices, problems: scanner.problems, last_bus, stopped_at };
    route_interrupts(result.devices.as_mut_slice());
    result
}

struct Scanner<'a, C: ConfigSpace + ?Sized> {
    cfg: &'a mut C,
    max_bus: u8,
    /// Next secondary bus number to hand out (u16: may pass 255).
    next_bus: u16,
    /// Set once the table is full: the first function not recorded.
    stopped_at: Option<Bdf>,
    devices: DeviceTable,
    problems: Problems,
}

impl<C: ConfigSpace + ?Sized> Scanner<'_, C> {
    fn scan_bus(&mut self, bus: u8, parent: Option<usize>) {
        for device in 0..=MAX_DEVICE {
            let mut last_function = 0;
            let mut function = 0;
            while function <= last_function && self.stopped_at.is_none() {
                let bdf = Bdf::new(bus, device, function);
                let ids = self.cfg.read32(bdf, PCI_VENDOR_ID);
                let vendor = ids as u16;
                if vendor == 0xFFFF || vendor == 0 {
                    // No function 0 means no device (PCI 3.0 §6.2.1).
                    if function == 0 {
                        break;
                    }
                } else {
                    let header_type = self.cfg.read8(bdf, PCI_HEADER_TYPE);
                    if function == 0 && header_type & PCI_HEADER_MULTI_FUNCTION != 0 {
                        last_function = MAX_FUNCTION;
                    }
                    self.add_function(bdf, ids, header_type, parent);
                }
                function += 1;
            }
            if self.stopped_at.is_some() {
                return;
            }
        }
    }

    fn add_function(&mut self, bdf: Bdf, ids: u32, header_type: u8, parent: Option<usize>) {
        if self.devices.len() >= MAX_FUNCTIONS {
            self.problems.push(PciError::TooManyFunctions { bdf, capacity: MAX_FUNCTIONS });
            self.stopped_at = Some(bdf);
            return;
        }
        let mut function = PciFunction::new(bdf, ids as u16, (ids >> 16) as u16);
        let class_revision = self.cfg.read32(bdf, PCI_CLASS_REVISION);
        function.revision = class_revision as u8;
        function.class = ClassCode {
            base: (class_revision >> 24) as u8,
            sub: (class_revision >> 16) as u8,
            prog_if: (class_revision >> 8) as u8,
        };
        function.header_type = header_type;
        function.parent = parent;

        let command = self.cfg.read16(bdf, PCI_COMMAND) & !PCI_COMMAND_DECODE_MASK;
        self.cfg.write16(bdf, PCI_COMMAND, command);

        let bar_count = match header_type & PCI_HEADER_LAYOUT_MASK {
            PCI_HEADER_TYPE_DEVICE => PCI_DEVICE_BARS,
            PCI_HEADER_TYPE_BRIDGE => {
                function.bridge = Some(BridgeInfo::default());
                PCI_BRIDGE_BARS
            }
            _ => {
                self.problems.push(PciError::UnsupportedHeaderType { bdf, header_type });
                // Cannot fail: capacity was checked above.
                let _ = self.devices.push(function);
                return;
            }
        };
        function.bars = size_bars(self.cfg, bdf, bar_count, &mut self.problems);
        let pin = self.cfg.read8(bdf, PCI_INTERRUPT_PIN);
        function.irq_pin = IntxPin::from_register(pin);
        if function.irq_pin.is_none() && pin != 0 {
            self.problems.push(PciError::InvalidInterruptPin { bdf, pin });
        }
        let is_bridge = function.is_bridge();
        if let Some(index) = self.devices.push(function)
            && is_bridge
        {
            self.number_bridge(index, bdf);
        }
    }

    /// Give the bridge at table `index` a secondary bus, scan behind it, and
    /// close its subordinate range around what was found.
    fn number_bridge(&mut self, index: usize, bridge: Bdf) {
        let bus = bridge.bus;
        let latency = self.cfg.read32(bridge, PCI_PRIMARY_BUS) & 0xFF00_0000;
        let Ok(secondary) = u8::try_from(self.next_bus) else {
            return self.no_secondary(bridge, latency, PciError::BusNumbersExhausted { bridge, max_bus: self.max_bus });
        };
        if secondary > self.max_bus {
            return self.no_secondary(bridge, latency, PciError::BusNumbersExhausted { bridge, max_bus: self.max_bus });
        }
        // Subordinate = max_bus while scanning, so configuration cycles for
        // any bus handed out deeper down are forwarded through this bridge.
        let wrote = [bus, secondary, self.max_bus];
        self.cfg.write32(bridge, PCI_PRIMARY_BUS, latency | bus_numbers(wrote));
        let readback = self.cfg.read32(bridge, PCI_PRIMARY_BUS);
        let read = [readback as u8, (readback >> 8) as u8, (readback >> 16) as u8];
        if read != wrote {
            return self.no_secondary(bridge, latency, PciError::BusNumberReadback { bridge, wrote, read });
        }
        self.next_bus += 1;
        self.scan_bus(secondary, Some(index));
        let subordinate = u8::try_from(self.next_bus - 1).unwrap_or(u8::MAX);
        self.cfg.write32(bridge, PCI_PRIMARY_BUS, latency | bus_numbers([bus, secondary, subordinate]));
        if let Some(info) = self.devices.as_mut_slice().get_mut(index).and_then(|f| f.bridge.as_mut()) {
            info.secondary = secondary;
            info.subordinate = subordinate;
        }
    }

    /// Record `error` and leave the bridge forwarding no configuration cycles.
    fn no_secondary(&mut self, bridge: Bdf, latency: u32, error: PciError) {
        self.problems.push(error);
        self.cfg.write32(bridge, PCI_PRIMARY_BUS, latency | bus_numbers([bridge.bus, 0, 0]));
    }
}

/// Primary, secondary, subordinate packed as the low three bytes of 0x18.
fn bus_numbers([primary, secondary, subordinate]: [u8; 3]) -> u32 {
    u32::from(primary) | (u32::from(secondary) << 8) | (u32::from(subordinate) << 16)
}

/// Fill `root_intx` by swizzling each function's pin through every bridge
/// above it. Parents always precede children, so the walk is bounded by the
/// table length even if the links were corrupted.
fn route_interrupts(functions: &mut [PciFunction]) {
    for index in 0..functions.len() {
        let Some(mut pin) = functions[index].irq_pin else { continue };
        let mut slot = functions[index].bdf.device;
        let mut parent = functions[index].parent;
        let mut route = true;
        let mut current = index;
        while let Some(up) = parent {
            // A bridge always precedes what is behind it; anything else is
            // a corrupted link, and the strictly falling index bounds the walk.
            if up >= current {
                route = false;
                break;
            }
            pin = swizzle(slot, pin);
            slot = functions[up].bdf.device;
            parent = functions[up].parent;
            current = up;
        }
        functions[index].root_intx = route.then_some(RootIntx { slot, pin });
    }
}

//! A simulated configuration space: devices, BARs and bridges in a tree.
//!
//! BARs follow the sizing protocol (address bits below the size read as
//! zero, flag bits are read-only); bridges forward configuration cycles for
//! buses `secondary..=subordinate` as programmed, like real hardware, so
//! bus numbering mistakes show up as devices not found.

use crate::config::{Bdf, ConfigSpace};

/// A BAR as the fake device implements it.
#[derive(Clone, Copy, Debug)]
pub enum FakeBar {
    Io(u32),
    Mem32 { size: u32, prefetchable: bool },
    Mem64 { size: u64, prefetchable: bool },
}

/// One function's registers (first 256 bytes) and write masks.
#[derive(Clone, Debug)]
pub struct FakeFunction {
    pub regs: [u32; 64],
    write_mask: [u32; 64],
    /// Per BAR dword: flag bits that always read back.
    bar_flags: [u32; 6],
    /// Functions on the secondary bus (bridges only): (device, function).
    pub children: Vec<(u8, u8, FakeFunction)>,
    /// The bridge reports a secondary bus number other than the one stored.
    pub broken_bus_readback: bool,
}

/// Command/Status is dword 1 (offset 0x04).
const COMMAND_DWORD: usize = 1;

impl FakeFunction {
    /// A type 0 function: IDs, class `0xBBSSPP`, interrupt pin (0 = none).
    pub fn device(vendor: u16, device: u16, class: u32, pin: u8) -> Self {
        let mut f = Self {
            regs: [0; 64],
            write_mask: [0; 64],
            bar_flags: [0; 6],
            children: Vec::new(),
            broken_bus_readback: false,
        };
        f.regs[0] = u32::from(vendor) | (u32::from(device) << 16);
        f.regs[2] = (class << 8) | 0x01;
        f.regs[15] = u32::from(pin) << 8;
        f.write_mask[COMMAND_DWORD] = 0x0000_07FF;
        f.write_mask[3] = 0x0000_FFFF;
        f.write_mask[15] = 0x0000_00FF;
        f
    }

    /// A PCI-to-PCI bridge (QEMU's `pci-bridge` IDs), no BARs, INTA.
    pub fn bridge() -> Self {
        let mut f = Self::device(0x1B36, 0x0001, 0x06_04_00, 1);
        f.regs[3] |= 0x01 << 16;
        f.write_mask[0x18 / 4] = 0xFFFF_FFFF;
        f.write_mask[0x1C / 4] = 0x0000_F0F0;
        f.write_mask[0x20 / 4] = 0xFFF0_FFF0;
        f.write_mask[0x24 / 4] = 0xFFF0_FFF0;
        f.write_mask[0x28 / 4] = 0xFFFF_FFFF;
        f.write_mask[0x2C / 4] = 0xFFFF_FFFF;
        f.write_mask[0x30 / 4] = 0xFFFF_FFFF;
        f.write_mask[15] = 0xFFFF_00FF;
        f
    }

    /// Set header type bit 7.
    pub fn multi(mut self) -> Self {
        self.regs[3] |= 0x80 << 16;
        self
    }

    /// Implement BAR `index` as `bar`.
    pub fn bar(mut self, index: usize, bar: FakeBar) -> Self {
        match bar {
            FakeBar::Io(size) => {
                self.write_mask[4 + index] = !(size - 1) & !0x3;
                self.bar_flags[index] = 0x1;
            }
            FakeBar::Mem32 { size, prefetchable } => {
                self.write_mask[4 + index] = !(size - 1) & !0xF;
                self.bar_flags[index] = u32::from(prefetchable) << 3;
            }
            FakeBar::Mem64 { size, prefetchable } => {
                let mask = !(size - 1);
                self.write_mask[4 + index] = (mask as u32) & !0xF;
                self.write_mask[5 + index] = (mask >> 32) as u32;
                self.bar_flags[index] = 0x4 | (u32::from(prefetchable) << 3);
            }
        }
        self.regs[4 + index] = self.bar_flags[index];
        self
    }

    /// Put `child` at `device.function` on this bridge's secondary bus.
    pub fn child(mut self, device: u8, function: u8, child: FakeFunction) -> Self {
        self.children.push((device, function, child));
        self
    }

    pub fn command(&self) -> u16 {
        self.regs[COMMAND_DWORD] as u16
    }

    /// BAR dword `index` as the device would read it.
    pub fn bar_register(&self, index: usize) -> u32 {
        self.regs[4 + index]
    }

    fn read(&self, offset: u16) -> u32 {
        let index = usize::from(offset / 4);
        let Some(&value) = self.regs.get(index) else { return 0 };
        if index == 0x18 / 4 && self.broken_bus_readback {
            return value ^ 0x1000;
        }
        value
    }

    fn write(&mut self, offset: u16, value: u32) {
        let index = usize::from(offset / 4);
        let (Some(reg), Some(&mask)) = (self.regs.get_mut(index), self.write_mask.get(index)) else { return };
        let flags = if (4..10).contains(&index) { self.bar_flags[index - 4] } else { 0 };
        *reg = (*reg & !mask) | (value & mask) | flags;
    }

    /// Secondary and subordinate bus as stored (bridges only).
    fn bus_range(&self) -> Option<(u8, u8)> {
        if (self.regs[3] >> 16) & 0x7F != 1 {
            return None;
        }
        let buses = self.regs[0x18 / 4];
        Some(((buses >> 8) as u8, (buses >> 16) as u8))
    }
}

/// A configuration space: the functions on bus 0, bridges holding the rest.
#[derive(Clone, Debug, Default)]
pub struct FakeConfig {
    pub root: Vec<(u8, u8, FakeFunction)>,
    /// Every bus number resolves as bus 0 (a host that ignores the bus).
    pub ignore_bus: bool,
    pub reads: usize,
}

fn find(list: &mut [(u8, u8, FakeFunction)], list_bus: u8, bdf: Bdf) -> Option<&mut FakeFunction> {
    if bdf.bus == list_bus {
        return list
            .iter_mut()
            .find(|(d, f, _)| *d == bdf.device && *f == bdf.function)
            .map(|(_, _, function)| function);
    }
    for (_, _, function) in list.iter_mut() {
        if let Some((secondary, subordinate)) = function.bus_range()
            && secondary > list_bus
            && (secondary..=subordinate).contains(&bdf.bus)
        {
            return find(&mut function.children, secondary, bdf);
        }
    }
    None
}

impl FakeConfig {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, device: u8, function: u8, f: FakeFunction) -> Self {
        self.root.push((device, function, f));
        self
    }

    /// The function at `bdf` as currently routed.
    pub fn get(&mut self, bdf: Bdf) -> Option<&mut FakeFunction> {
        let bdf = if self.ignore_bus { Bdf { bus: 0, ..bdf } } else { bdf };
        find(&mut self.root, 0, bdf)
    }
}

impl ConfigSpace for FakeConfig {
    fn read32(&mut self, bdf: Bdf, offset: u16) -> u32 {
        assert_eq!(offset % 4, 0, "unaligned read32 at {offset:#x}");
        self.reads += 1;
        self.get(bdf).map_or(u32::MAX, |f| f.read(offset))
    }

    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) {
        assert_eq!(offset % 4, 0, "unaligned write32 at {offset:#x}");
        if let Some(f) = self.get(bdf) {
            f.write(offset, value);
        }
    }
}

/// All ones everywhere except the vendor ID of the functions `present`
/// says exist; writes are ignored.
pub struct AllOnes<P: Fn(Bdf) -> bool> {
    pub present: P,
    pub reads: usize,
}

impl<P: Fn(Bdf) -> bool> ConfigSpace for AllOnes<P> {
    fn read32(&mut self, bdf: Bdf, offset: u16) -> u32 {
        self.reads += 1;
        if offset == 0 && (self.present)(bdf) { 0xFFFF_1234 } else { u32::MAX }
    }

    fn write32(&mut self, _: Bdf, _: u16, _: u32) {}
}

//! Resource assignment: BAR addresses, bridge windows, Command bits.
//!
//! Three passes over the table, no heap:
//! 1. bottom-up (reverse table order), each bridge's I/O and memory window
//!    is measured by packing what lies directly behind it;
//! 2. top-down (table order), the root windows and then each bridge window
//!    are filled, largest alignment first, every item naturally aligned;
//! 3. top-down, functions whose BARs all got addresses and whose bridge is
//!    usable are programmed; those whose BARs read back what was written
//!    are enabled, the rest are left disabled with no addresses recorded.
//!
//! Packing is deterministic, so a bridge window placed at an address
//! aligned to its largest member reproduces exactly the offsets measured in
//! pass 1. Prefetchable BARs behind a bridge go in its (non-prefetchable)
//! memory window, which PCI allows; the prefetchable window is closed.

use crate::Window;
use crate::bar::{BarKind, ResourceKind};
use crate::config::ConfigSpace;
use crate::error::{PciError, Problems};
use crate::regs::*;
use crate::scan::Enumeration;
use crate::table::{MAX_FUNCTIONS, PciFunction};

/// Bridge memory windows and 32-bit BARs only reach below 4 GiB.
const MEMORY_LIMIT: u64 = 1 << 32;
/// PCI I/O space as every bridge can forward it (16-bit decoding).
const IO_LIMIT: u64 = 0x1_0000;
/// Item slot standing for a bridge's window rather than a BAR.
const WINDOW_SLOT: usize = PCI_DEVICE_BARS;

/// Size and alignment a bridge window needs; size 0 means no window.
#[derive(Clone, Copy, Default)]
struct Need {
    size: u64,
    align: u64,
}

/// Window requirements per table index, `[I/O, memory]`.
type Needs = [[Need; 2]; MAX_FUNCTIONS];

const fn kind_index(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::Io => 0,
        ResourceKind::Memory => 1,
    }
}

const KINDS: [ResourceKind; 2] = [ResourceKind::Io, ResourceKind::Memory];

/// `value` rounded up to a multiple of the power of two `align`; `None` on
/// overflow.
fn align_up(value: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    value.checked_add(mask).map(|v| v & !mask)
}

fn bridge_window(function: &PciFunction, kind: ResourceKind) -> Option<Window> {
    let bridge = function.bridge.as_ref()?;
    match kind {
        ResourceKind::Io => bridge.io_window,
        ResourceKind::Memory => bridge.mem_window,
    }
}

fn set_bridge_window(function: &mut PciFunction, kind: ResourceKind, window: Option<Window>) {
    if let Some(bridge) = function.bridge.as_mut() {
        match kind {
            ResourceKind::Io => bridge.io_window = window,
            ResourceKind::Memory => bridge.mem_window = window,
        }
    }
}

/// Size and alignment of item `slot` (a BAR index, or `WINDOW_SLOT`) of
/// `functions[index]` in space `kind`, if it has one there.
fn item(functions: &[PciFunction], needs: &Needs, index: usize, slot: usize, kind: ResourceKind) -> Option<Need> {
    let function = functions.get(index)?;
    if slot == WINDOW_SLOT {
        let need = needs.get(index)?[kind_index(kind)];
        return (function.is_bridge() && need.size != 0).then_some(need);
    }
    let bar = function.bars.get(slot)?.as_ref()?;
    (bar.kind.resource() == kind).then_some(Need { size: bar.size, align: bar.size.max(1) })
}

/// Measure (`place` = `None`) or fill (`place` = the window) the items of
/// the functions whose parent is `parent`, largest alignment first, in
/// table order within one alignment. Measuring returns the bytes used from
/// offset 0 and the largest alignment; filling records addresses and
/// reports what does not fit.
fn pack(
    functions: &mut [PciFunction],
    needs: &Needs,
    parent: Option<usize>,
    kind: ResourceKind,
    place: Option<Window>,
    problems: &mut Problems,
) -> Need {
    // Which alignments occur, as a bit set of log2(alignment).
    let mut alignments = 0u64;
    for index in 0..functions.len() {
        if functions[index].parent != parent {
            continue;
        }
        for slot in 0..=WINDOW_SLOT {
            if let Some(need) = item(functions, needs, index, slot, kind) {
                alignments |= 1 << need.align.trailing_zeros();
            }
        }
    }
    let mut next = place.map_or(0, |window| window.base);
    let mut largest = 0;
    while alignments != 0 {
        let shift = 63 - alignments.leading_zeros();
        alignments &= !(1 << shift);
        let align = 1u64 << shift;
        largest = largest.max(align);
        for index in 0..functions.len() {
            if functions[index].parent != parent {
                continue;
            }
            for slot in 0..=WINDOW_SLOT {
                let Some(need) = item(functions, needs, index, slot, kind) else { continue };
                if need.align != align {
                    continue;
                }
                let start = align_up(next, align);
                let end = start.and_then(|start| start.checked_add(need.size));
                match (place, start, end) {
                    (None, Some(_), Some(end)) => next = end,
                    (None, _, _) => next = u64::MAX,
                    (Some(window), Some(start), Some(end)) if end <= window.end => {
                        next = end;
                        record(&mut functions[index], slot, kind, start, end);
                    }
                    (Some(window), _, _) => {
                        problems.push(does_not_fit(&functions[index], slot, kind, need, window, next))
                    }
                }
            }
        }
    }
    Need { size: next - place.map_or(0, |window| window.base), align: largest }
}

fn record(function: &mut PciFunction, slot: usize, kind: ResourceKind, start: u64, end: u64) {
    if slot == WINDOW_SLOT {
        set_bridge_window(function, kind, Some(Window { base: start, end }));
    } else if let Some(Some(bar)) = function.bars.get_mut(slot) {
        bar.address = Some(start);
    }
}

fn does_not_fit(
    function: &PciFunction,
    slot: usize,
    kind: ResourceKind,
    need: Need,
    window: Window,
    next: u64,
) -> PciError {
    let bdf = function.bdf;
    if slot == WINDOW_SLOT {
        PciError::BridgeWindowDoesNotFit { bdf, kind, size: need.size, window, next_free: next }
    } else {
        PciError::BarDoesNotFit { bdf, bar: slot as u8, kind, size: need.size, window, next_free: next }
    }
}

impl Enumeration {
    /// Give every BAR an address from `mem` or `io` (bus addresses, end
    /// exclusive), open bridge windows around what lies behind them, and
    /// enable the functions whose BARs all fit. `mem` is cut at 4 GiB and
    /// `io` at 64 KiB (what 32-bit BARs, bridge memory windows and 16-bit
    /// I/O bridges can reach). Problems are appended to `self.problems`;
    /// a function with any unassigned BAR is left disabled with no
    /// addresses recorded.
    pub fn assign<C: ConfigSpace + ?Sized>(&mut self, cfg: &mut C, mem: Window, io: Window) {
        let roots = [
            Window { base: io.base, end: io.end.min(IO_LIMIT) },
            Window { base: mem.base, end: mem.end.min(MEMORY_LIMIT) },
        ];
        let functions = self.devices.as_mut_slice();
        let problems = &mut self.problems;
        for function in functions.iter_mut() {
            for bar in function.bars.iter_mut().flatten() {
                bar.address = None;
            }
            for kind in KINDS {
                set_bridge_window(function, kind, None);
            }
        }

        // Pass 1: what each bridge window needs, deepest bridges first.
        let mut needs: Needs = [[Need::default(); 2]; MAX_FUNCTIONS];
        for index in (0..functions.len()).rev() {
            if !functions[index].is_bridge() {
                continue;
            }
            for kind in KINDS {
                let granule = match kind {
                    ResourceKind::Io => BRIDGE_IO_GRANULE,
                    ResourceKind::Memory => BRIDGE_MEM_GRANULE,
                };
                let packed = pack(functions, &needs, Some(index), kind, None, problems);
                if packed.size != 0 {
                    // Saturated sizes stay huge (and then fail to fit).
                    let size = align_up(packed.size, granule).unwrap_or(!(granule - 1));
                    needs[index][kind_index(kind)] = Need { size, align: packed.align.max(granule) };
                }
            }
        }

        // Pass 2: the root windows, then every bridge window in table order
        // (a bridge's own window is placed before its children are visited).
        for kind in KINDS {
            pack(functions, &needs, None, kind, Some(roots[kind_index(kind)]), problems);
        }
        for index in 0..functions.len() {
            if !functions[index].is_bridge() {
                continue;
            }
            for kind in KINDS {
                match bridge_window(&functions[index], kind) {
                    Some(window) => {
                        pack(functions, &needs, Some(index), kind, Some(window), problems);
                    }
                    None if needs[index][kind_index(kind)].size != 0 => {
                        let bridge = functions[index].bdf;
                        for child in functions.iter().filter(|f| f.parent == Some(index)) {
                            for (bar, _) in child.implemented_bars().filter(|(_, b)| b.kind.resource() == kind) {
                                let bdf = child.bdf;
                                problems.push(PciError::NoBridgeWindow { bdf, bar: bar as u8, kind, bridge });
                            }
                        }
                    }
                    None => {}
                }
            }
        }

        // Pass 3: program and enable what is complete and reachable.
        let mut usable = [false; MAX_FUNCTIONS];
        for index in 0..functions.len() {
            let parent_usable = match functions[index].parent {
                Some(parent) if parent < index => usable[parent],
                Some(_) => false,
                None => true,
            };
            let complete = functions[index].implemented_bars().all(|(_, bar)| bar.address.is_some());
            let bridge = functions[index].parent.and_then(|parent| functions.get(parent)).map(|f| f.bdf);
            let function = &mut functions[index];
            if let Some(bridge) = bridge
                && !parent_usable
                && (function.has_bars() || function.is_bridge())
            {
                problems.push(PciError::BehindDisabledBridge { bdf: function.bdf, bridge });
            }
            let programmed = parent_usable && complete && program_bars(cfg, function, problems);
            if programmed {
                usable[index] = true;
                enable(cfg, function);
            } else {
                disable(cfg, function);
            }
        }
    }
}

/// Write `function`'s BAR addresses and read them back; a BAR that does
/// not keep its address is reported and the function must stay disabled
/// (it would decode somewhere nobody assigned).
fn program_bars<C: ConfigSpace + ?Sized>(cfg: &mut C, function: &PciFunction, problems: &mut Problems) -> bool {
    let bdf = function.bdf;
    let mut ok = true;
    for (index, bar) in function.implemented_bars() {
        let Some(address) = bar.address else { continue };
        let offset = PCI_BAR0 + 4 * index as u16;
        let mask = match bar.kind {
            BarKind::Io => PCI_BAR_IO_MASK,
            BarKind::Mem32 { .. } | BarKind::Mem64 { .. } => PCI_BAR_MEM_MASK,
        };
        cfg.write32(bdf, offset, address as u32);
        let mut read = u64::from(cfg.read32(bdf, offset) & mask);
        if let BarKind::Mem64 { .. } = bar.kind {
            cfg.write32(bdf, offset + 4, (address >> 32) as u32);
            read |= u64::from(cfg.read32(bdf, offset + 4)) << 32;
        }
        let wrote = address & !u64::from(!mask);
        if read != wrote {
            problems.push(PciError::BarReadback { bdf, bar: index as u8, wrote, read });
            ok = false;
        }
    }
    ok
}

/// Program `function`'s bridge windows and turn on decoding for what it
/// got (its BARs are already written), plus bus mastering (DMA, or
/// upstream forwarding for a bridge) when it got anything.
fn enable<C: ConfigSpace + ?Sized>(cfg: &mut C, function: &mut PciFunction) {
    let bdf = function.bdf;
    let mut command = 0;
    for (_, bar) in function.implemented_bars() {
        command |= match bar.kind {
            BarKind::Io => PCI_COMMAND_IO,
            BarKind::Mem32 { .. } | BarKind::Mem64 { .. } => PCI_COMMAND_MEMORY,
        };
    }
    if let Some(bridge) = function.bridge {
        program_io_window(cfg, function, bridge.io_window);
        program_mem_window(cfg, function, bridge.mem_window);
        if bridge.io_window.is_some() {
            command |= PCI_COMMAND_IO;
        }
        if bridge.mem_window.is_some() {
            command |= PCI_COMMAND_MEMORY;
        }
    }
    if command != 0 {
        command |= PCI_COMMAND_MASTER;
    }
    let value = (cfg.read16(bdf, PCI_COMMAND) & !PCI_COMMAND_DECODE_MASK) | command;
    cfg.write16(bdf, PCI_COMMAND, value);
    function.command = value;
}

/// Leave `function` decoding nothing, with no addresses recorded and, for a
/// bridge, every window closed.
fn disable<C: ConfigSpace + ?Sized>(cfg: &mut C, function: &mut PciFunction) {
    let bdf = function.bdf;
    for bar in function.bars.iter_mut().flatten() {
        bar.address = None;
    }
    if function.bridge.is_some() {
        for kind in KINDS {
            set_bridge_window(function, kind, None);
        }
        program_io_window(cfg, function, None);
        program_mem_window(cfg, function, None);
    }
    let value = cfg.read16(bdf, PCI_COMMAND) & !PCI_COMMAND_DECODE_MASK;
    cfg.write16(bdf, PCI_COMMAND, value);
    function.command = value;
}

/// I/O base/limit: address bits 15:12 in bits 7:4 of each byte; a base
/// above the limit (0xF0 / 0x00) closes the window (PPB 1.2 §3.2.5).
fn program_io_window<C: ConfigSpace + ?Sized>(cfg: &mut C, function: &PciFunction, window: Option<Window>) {
    let (base, limit) = match window {
        Some(window) => (window.base, window.end.saturating_sub(1)),
        None => (0xF000, 0x0FFF),
    };
    let value = ((base >> 8) & 0xF0) as u16 | ((((limit >> 8) & 0xF0) as u16) << 8);
    cfg.write16(function.bdf, PCI_IO_BASE, value);
    let upper = ((base >> 16) & 0xFFFF) as u32 | ((((limit >> 16) & 0xFFFF) as u32) << 16);
    cfg.write32(function.bdf, PCI_IO_BASE_UPPER16, if window.is_some() { upper } else { 0 });
}

/// Memory base/limit: address bits 31:20 in bits 15:4 of each half; base
/// 0xFFF0 above limit 0 closes it. The prefetchable window is always
/// closed, its upper halves zeroed (PPB 1.2 §3.2.5).
fn program_mem_window<C: ConfigSpace + ?Sized>(cfg: &mut C, function: &PciFunction, window: Option<Window>) {
    let value = match window {
        Some(window) => {
            let limit = window.end.saturating_sub(1);
            (((window.base >> 16) & 0xFFF0) | (((limit >> 16) & 0xFFF0) << 16)) as u32
        }
        None => 0x0000_FFF0,
    };
    cfg.write32(function.bdf, PCI_MEMORY_BASE, value);
    cfg.write32(function.bdf, PCI_PREF_MEMORY_BASE, 0x0000_FFF0);
    cfg.write32(function.bdf, PCI_PREF_BASE_UPPER32, 0);
    cfg.write32(function.bdf, PCI_PREF_LIMIT_UPPER32, 0);
}

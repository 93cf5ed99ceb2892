//! Host tests: enumeration and assignment over a simulated config space.

mod fake;

use fake::{AllOnes, FakeBar, FakeConfig, FakeFunction};

use crate::*;

const MEM: Window = Window::new(0x4000_0000, 0x8000_0000);
const IO: Window = Window::new(0x4000, 0x1_0000);
const MAX_BUS: u8 = 31;
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

fn io(size: u32) -> FakeBar {
    FakeBar::Io(size)
}
fn mem32(size: u32, prefetchable: bool) -> FakeBar {
    FakeBar::Mem32 { size, prefetchable }
}
fn mem64(size: u64, prefetchable: bool) -> FakeBar {
    FakeBar::Mem64 { size, prefetchable }
}

fn host_bridge() -> FakeFunction {
    FakeFunction::device(0x1B36, 0x0008, 0x06_00_00, 0)
}
fn cirrus_vga() -> FakeFunction {
    FakeFunction::device(0x1013, 0x00B8, 0x03_00_00, 0).bar(0, mem32(32 << 20, true)).bar(1, mem32(4096, false))
}
fn ohci() -> FakeFunction {
    FakeFunction::device(0x106B, 0x003F, 0x0C_03_10, 1).bar(0, mem32(256, false))
}
/// A transitional virtio device as QEMU builds it: legacy I/O BAR0, MSI-X
/// BAR1, 64-bit prefetchable BAR4 for the modern capabilities.
fn virtio(device: u16, class: u32, io_size: u32) -> FakeFunction {
    FakeFunction::device(0x1AF4, device, class, 1)
        .bar(0, io(io_size))
        .bar(1, mem32(4096, false))
        .bar(4, mem64(16 * KIB, true))
}
fn virtio_net() -> FakeFunction {
    virtio(0x1000, 0x02_00_00, 32)
}
fn virtio_blk() -> FakeFunction {
    virtio(0x1001, 0x01_00_00, 64)
}

/// QEMU 10 `loongson3-virt` defaults plus a virtio-blk in slot 4 (spec §14.2).
fn default_machine() -> FakeConfig {
    FakeConfig::new()
        .with(0, 0, host_bridge())
        .with(1, 0, cirrus_vga())
        .with(2, 0, ohci())
        .with(3, 0, virtio_net())
        .with(4, 0, virtio_blk())
}

fn function(result: &Enumeration, bus: u8, device: u8, function: u8) -> &PciFunction {
    let bdf = Bdf::new(bus, device, function);
    result.devices.by_bdf(bdf).unwrap_or_else(|| panic!("{bdf} not enumerated:\n{}", result.devices))
}

fn bar(result: &Enumeration, bdf: (u8, u8, u8), index: usize) -> Bar {
    function(result, bdf.0, bdf.1, bdf.2).bars[index].unwrap_or_else(|| panic!("{bdf:?} BAR{index} missing"))
}

fn problems(result: &Enumeration) -> Vec<String> {
    result.problems.iter().map(|p| p.to_string()).collect()
}

/// Every assigned BAR is naturally aligned and inside the window of the
/// bus it sits on; bridge windows are granule-aligned and nested; no two
/// resources on the same bus overlap.
fn assert_sound(result: &Enumeration, mem: Window, io: Window) {
    let functions = result.devices.as_slice();
    let mut items: Vec<(Option<usize>, ResourceKind, Window, String)> = Vec::new();
    for f in functions {
        let parent_window = |kind| match f.parent {
            None => Some(if kind == ResourceKind::Io { io } else { mem }),
            Some(p) => {
                let bridge = functions[p].bridge.expect("parent is a bridge");
                if kind == ResourceKind::Io { bridge.io_window } else { bridge.mem_window }
            }
        };
        for (i, b) in f.implemented_bars() {
            let Some(address) = b.address else { continue };
            assert!(b.size.is_power_of_two(), "{} BAR{i} size {:#x}", f.bdf, b.size);
            assert_eq!(address % b.size, 0, "{} BAR{i} at {address:#x} not aligned to {:#x}", f.bdf, b.size);
            let window = parent_window(b.kind.resource()).expect("assigned BAR behind a closed window");
            assert!(window.contains_range(address, b.size), "{} BAR{i} {address:#x} outside {window}", f.bdf);
            if matches!(b.kind, BarKind::Mem32 { .. }) {
                assert!(address + b.size <= 1 << 32);
            }
            items.push((
                f.parent,
                b.kind.resource(),
                Window::new(address, address + b.size),
                format!("{} BAR{i}", f.bdf),
            ));
        }
        if let Some(bridge) = f.bridge {
            for (kind, w, granule) in
                [(ResourceKind::Io, bridge.io_window, 4 * KIB), (ResourceKind::Memory, bridge.mem_window, MIB)]
            {
                let Some(w) = w else { continue };
                assert_eq!(w.base % granule, 0, "{} {kind} window {w}", f.bdf);
                assert_eq!(w.end % granule, 0, "{} {kind} window {w}", f.bdf);
                let outer = parent_window(kind).expect("open window behind a closed one");
                assert!(outer.contains_range(w.base, w.len()), "{} window {w} outside {outer}", f.bdf);
                items.push((f.parent, kind, w, format!("{} window", f.bdf)));
            }
        }
    }
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            if a.0 == b.0 && a.1 == b.1 {
                assert!(a.2.end <= b.2.base || b.2.end <= a.2.base, "{} {} overlaps {} {}", a.3, a.2, b.3, b.2);
            }
        }
    }
}

#[test]
fn bdf_display_and_ecam_offset() {
    assert_eq!(Bdf::new(0, 3, 0).to_string(), "00:03.0");
    assert_eq!(Bdf::new(0x1F, 0x1F, 7).to_string(), "1f:1f.7");
    assert_eq!(ecam_offset(Bdf::new(1, 2, 3), 0x3D), 0x0011_303D);
    assert_eq!(ecam_offset(Bdf::new(31, 31, 7), 0xFFC), 0x01FF_FFFC);
    // Out-of-range fields are masked, never spill into the bus number.
    assert_eq!(ecam_offset(Bdf::new(0, 0xFF, 0xFF), 0xFFFF), 0x000F_FFFF);
}

#[test]
fn narrow_accessors_read_modify_write() {
    let mut cfg = default_machine();
    let bdf = Bdf::new(0, 3, 0);
    assert_eq!(cfg.read16(bdf, 0x00), 0x1AF4);
    assert_eq!(cfg.read16(bdf, 0x02), 0x1000);
    assert_eq!(cfg.read8(bdf, 0x0B), 0x02);
    assert_eq!(cfg.read8(bdf, regs::PCI_INTERRUPT_PIN), 1);
    cfg.write8(bdf, regs::PCI_INTERRUPT_LINE, 0x2A);
    assert_eq!(cfg.read8(bdf, regs::PCI_INTERRUPT_LINE), 0x2A);
    assert_eq!(cfg.read8(bdf, regs::PCI_INTERRUPT_PIN), 1, "pin untouched by a byte write to line");
    cfg.write16(bdf, regs::PCI_COMMAND, 0x0007);
    assert_eq!(cfg.read16(bdf, regs::PCI_COMMAND), 7);
    // An absent function reads all ones at every width.
    assert_eq!(cfg.read16(Bdf::new(0, 9, 0), 0), 0xFFFF);
    assert_eq!(cfg.read8(Bdf::new(0, 9, 0), 0x3D), 0xFF);
}

#[test]
fn default_loongson3_virt_topology() {
    let mut cfg = default_machine();
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert!(result.problems.is_empty(), "{}", result.problems);
    assert_eq!(result.devices.len(), 5);
    assert_eq!(result.last_bus, 0);

    let host = function(&result, 0, 0, 0);
    assert_eq!((host.vendor, host.device), (0x1B36, 0x0008));
    assert_eq!(host.class, ClassCode { base: 0x06, sub: 0x00, prog_if: 0x00 });
    assert!(!host.is_bridge() && !host.has_bars() && host.command == 0);

    // Largest alignment first: the VGA framebuffer leads the window.
    let fb = bar(&result, (0, 1, 0), 0);
    assert_eq!(fb, Bar { kind: BarKind::Mem32 { prefetchable: true }, size: 32 * MIB, address: Some(0x4000_0000) });
    assert_eq!(bar(&result, (0, 1, 0), 1).size, 4 * KIB);
    assert_eq!(bar(&result, (0, 2, 0), 0).size, 256);
    assert_eq!(function(&result, 0, 2, 0).class, ClassCode { base: 0x0C, sub: 0x03, prog_if: 0x10 });

    for (slot, io_size) in [(3, 32), (4, 64)] {
        let f = function(&result, 0, slot, 0);
        assert_eq!(f.bars[0].map(|b| (b.kind, b.size)), Some((BarKind::Io, io_size)));
        assert_eq!(f.bars[1].map(|b| (b.kind, b.size)), Some((BarKind::Mem32 { prefetchable: false }, 4 * KIB)));
        assert_eq!(f.bars[4].map(|b| (b.kind, b.size)), Some((BarKind::Mem64 { prefetchable: true }, 16 * KIB)));
        assert_eq!(f.bars[5], None, "upper half of the 64-bit BAR is not a BAR");
        assert_eq!(f.command, 0x7, "{}: I/O, memory and bus master", f.bdf);
        let hw = cfg.get(f.bdf).expect("present");
        assert_eq!(hw.command(), 0x7);
        let bar4 = f.bars[4].and_then(|b| b.address).expect("assigned");
        assert_eq!(hw.bar_register(4), bar4 as u32 | 0xC, "BAR4 programmed, flags intact");
        assert_eq!(hw.bar_register(5), 0, "upper dword stays 0 below 4 GiB");
    }
    // I/O: 64-byte BAR first, then the 32-byte one, from port 0x4000.
    assert_eq!(bar(&result, (0, 4, 0), 0).address, Some(0x4000));
    assert_eq!(bar(&result, (0, 3, 0), 0).address, Some(0x4040));
    assert_eq!(cfg.get(Bdf::new(0, 1, 0)).map(|f| f.command()), Some(0x6), "VGA: memory + master, no I/O BAR");
    assert_eq!(cfg.get(Bdf::new(0, 0, 0)).map(|f| f.command()), Some(0), "host bridge left alone");

    // INTx: GPEX irq = (slot + pin - 1) mod 4; the board adds 2 for LIOINTC.
    let lio = |slot| function(&result, 0, slot, 0).root_intx.map(|r| 2 + r.gpex_irq());
    assert_eq!((lio(2), lio(3), lio(4)), (Some(4), Some(5), Some(2)));
    assert_eq!(function(&result, 0, 1, 0).root_intx, None, "VGA uses no INTx");
    assert_sound(&result, MEM, IO);
}

#[test]
fn listing_names_every_default_device() {
    let mut cfg = default_machine();
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    let listing = result.devices.to_string();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 5, "{listing}");
    assert_eq!(lines[0], "00:00.0 1b36:0008 class 06.00.00 host bridge");
    assert_eq!(
        lines[1],
        "00:01.0 1013:00b8 class 03.00.00 cirrus-vga  BAR0 mem pref 0x40000000 (32 MiB) BAR1 mem 0x42008000 (4 KiB)"
    );
    assert_eq!(
        lines[2],
        "00:02.0 106b:003f class 0c.03.10 usb-ohci  BAR0 mem 0x4200b000 (256 B) INTA (root slot 2 INTA)"
    );
    assert_eq!(
        lines[3],
        "00:03.0 1af4:1000 class 02.00.00 virtio-net  BAR0 io 0x4040 (32 B) BAR1 mem 0x42009000 (4 KiB) \
         BAR4 mem64 pref 0x42000000 (16 KiB) INTA (root slot 3 INTA)"
    );
    assert!(lines[4].starts_with("00:04.0 1af4:1001 class 01.00.00 virtio-blk  BAR0 io 0x4000 (64 B)"), "{}", lines[4]);
}

#[test]
fn device_behind_bridges_gets_buses_windows_and_swizzle() {
    let inner = FakeFunction::bridge().child(0, 0, virtio_net());
    let outer = FakeFunction::bridge()
        .child(0, 0, virtio_blk())
        .child(1, 0, FakeFunction::device(0x1AF4, 0x1005, 0x00_ff_00, 1).bar(0, io(32)))
        .child(2, 0, inner);
    let mut cfg = FakeConfig::new().with(0, 0, host_bridge()).with(1, 0, cirrus_vga()).with(5, 0, outer).with(
        6,
        0,
        FakeFunction::bridge().child(0, 0, ohci()),
    );
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert!(result.problems.is_empty(), "{}", result.problems);
    assert_eq!(result.devices.len(), 9, "{}", result.devices);
    assert_eq!(result.last_bus, 3);

    let buses = |b, d| function(&result, b, d, 0).bridge.map(|i| (i.secondary, i.subordinate));
    assert_eq!(buses(0, 5), Some((1, 2)), "outer bridge spans its nested bridge's bus");
    assert_eq!(buses(1, 2), Some((2, 2)));
    assert_eq!(buses(0, 6), Some((3, 3)), "numbering continues after the subtree");
    assert_eq!(cfg.get(Bdf::new(0, 5, 0)).map(|f| f.regs[0x18 / 4] & 0xFF_FFFF), Some(0x02_0100));
    assert_eq!(function(&result, 2, 0, 0).parent, result.devices.iter().position(|f| f.bdf == Bdf::new(1, 2, 0)));

    let outer_info = function(&result, 0, 5, 0).bridge.expect("bridge");
    let mem_window = outer_info.mem_window.expect("memory window");
    let io_window = outer_info.io_window.expect("I/O window");
    // blk 4K + 16K, net 4K + 16K behind the nested bridge (1 MiB): 2 MiB.
    assert_eq!(mem_window.len(), 2 * MIB);
    assert_eq!(io_window.len(), 8 * KIB, "two 4 KiB-granular I/O windows' worth");
    let regs = &cfg.get(Bdf::new(0, 5, 0)).expect("bridge").regs;
    let limit = mem_window.end - 1;
    assert_eq!(regs[0x20 / 4], ((mem_window.base >> 16) as u32 & 0xFFF0) | (((limit >> 16) as u32 & 0xFFF0) << 16));
    assert_eq!(
        regs[0x1C / 4] & 0xFFFF,
        ((io_window.base >> 8) as u32 & 0xF0) | (((io_window.end - 1) >> 8) as u32 & 0xF0) << 8
    );
    assert_eq!(regs[0x24 / 4], 0x0000_FFF0, "prefetchable window closed");
    assert_eq!(regs[1] & 0x7, 0x7, "bridge forwards I/O, memory and DMA");

    let blk = function(&result, 1, 0, 0);
    assert!(blk.implemented_bars().all(|(_, b)| {
        b.address.is_some_and(|a| mem_window.contains_range(a, b.size) || io_window.contains_range(a, b.size))
    }));
    assert_eq!(cfg.get(Bdf::new(2, 0, 0)).map(|f| f.command()), Some(0x7), "reachable through two bridges");

    // Swizzle: 01:00.0 INTA -> root slot 5 INTA; 01:01.0 INTA -> INTB;
    // 02:00.0 INTA -> INTA at 01:02 -> INTC at root slot 5.
    let root = |b, d| function(&result, b, d, 0).root_intx.map(|r| (r.slot, r.pin, r.gpex_irq()));
    assert_eq!(root(1, 0), Some((5, IntxPin::A, 1)));
    assert_eq!(root(1, 1), Some((5, IntxPin::B, 2)));
    assert_eq!(root(2, 0), Some((5, IntxPin::C, 3)));
    assert_eq!(root(3, 0), Some((6, IntxPin::A, 2)));
    assert_eq!(root(0, 5), Some((5, IntxPin::A, 1)), "the bridge's own pin");
    assert_sound(&result, MEM, IO);
}

#[test]
fn multi_function_detection() {
    let mut cfg = FakeConfig::new()
        .with(7, 0, FakeFunction::device(0x1AF4, 0x1000, 0x02_00_00, 1).bar(0, io(32)).multi())
        .with(7, 1, FakeFunction::device(0x1AF4, 0x1001, 0x01_00_00, 2).bar(0, io(64)))
        .with(7, 3, FakeFunction::device(0x1AF4, 0x1005, 0x00_ff_00, 4))
        // Single-function device: function 1 must not be scanned.
        .with(8, 0, FakeFunction::device(0x1AF4, 0x1003, 0x07_80_00, 0))
        .with(8, 1, FakeFunction::device(0x1AF4, 0x1003, 0x07_80_00, 0));
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    let found: Vec<String> = result.devices.iter().map(|f| f.bdf.to_string()).collect();
    assert_eq!(found, ["00:07.0", "00:07.1", "00:07.3", "00:08.0"]);
    assert!(function(&result, 0, 7, 0).is_multi_function());
    // Slot 7: INTB -> (7 + 2 - 1) mod 4 = 0; INTD -> 2.
    assert_eq!(function(&result, 0, 7, 1).root_intx.map(|r| r.gpex_irq()), Some(0));
    assert_eq!(function(&result, 0, 7, 3).root_intx.map(|r| r.gpex_irq()), Some(2));
    assert_sound(&result, MEM, IO);
}

#[test]
fn sixty_four_bit_bars() {
    let mut cfg = FakeConfig::new()
        .with(
            1,
            0,
            FakeFunction::device(0x1234, 1, 0x02_00_00, 0).bar(0, mem64(64 * KIB, false)).bar(2, mem64(MIB, true)),
        )
        .with(2, 0, FakeFunction::device(0x1234, 2, 0x02_00_00, 0).bar(0, mem64(8 << 30, true)))
        .with(3, 0, FakeFunction::device(0x1234, 3, 0x02_00_00, 0).bar(5, mem32(4096, false)));
    // 00:03.0 BAR5 claims to be 64-bit: no slot left for the upper half.
    cfg.get(Bdf::new(0, 3, 0)).expect("present").regs[4 + 5] |= 0x4;
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);

    let f = function(&result, 0, 1, 0);
    assert_eq!(f.bars.iter().filter(|b| b.is_some()).count(), 2);
    assert_eq!(f.bars[2].map(|b| (b.kind, b.size)), Some((BarKind::Mem64 { prefetchable: true }, MIB)));
    let hw = cfg.get(Bdf::new(0, 1, 0)).expect("present");
    assert_eq!((hw.bar_register(1), hw.bar_register(3)), (0, 0), "upper dwords 0");
    assert_eq!(hw.command(), 0x6);

    // 8 GiB needs address bits above 32: sized from the upper dword, and
    // reported rather than truncated.
    let big = function(&result, 0, 2, 0);
    assert_eq!(big.bars[0].map(|b| b.size), Some(8 << 30));
    assert_eq!(big.command, 0);
    let text = problems(&result);
    assert!(
        text.contains(
            &"00:02.0 BAR0: 8 GiB memory does not fit in window 0x40000000..0x80000000 (next free 0x40000000)"
                .to_string()
        ),
        "{text:?}"
    );
    assert!(result.problems.iter().any(|p| *p == PciError::Bar64InLastSlot { bdf: Bdf::new(0, 3, 0), bar: 5 }));
    assert_sound(&result, MEM, IO);
}

#[test]
fn window_exhaustion_disables_only_what_does_not_fit() {
    // 32 MiB + 16 KiB + 3 × 4 KiB + 256 B, leaving no room for the second
    // 16 KiB BAR (virtio-blk's BAR4).
    let mem = Window::new(0x4000_0000, 0x4200_7100);
    let mut cfg = default_machine();
    let result = configure(&mut cfg, MAX_BUS, mem, IO);
    let text = problems(&result);
    assert_eq!(
        text,
        ["00:04.0 BAR4: 16 KiB memory does not fit in window 0x40000000..0x42007100 (next free 0x42004000)"]
    );
    let blk = function(&result, 0, 4, 0);
    assert_eq!(blk.command, 0);
    assert!(blk.implemented_bars().all(|(_, b)| b.address.is_none()), "a disabled device keeps no addresses");
    assert_eq!(cfg.get(Bdf::new(0, 4, 0)).map(|f| f.command()), Some(0));
    for slot in 1..=3 {
        assert!(function(&result, 0, slot, 0).is_enabled(), "00:{slot:02x}.0 still enabled");
    }
    assert_eq!(bar(&result, (0, 2, 0), 0).address, Some(0x4200_7000));
    assert!(
        result.devices.to_string().contains("BAR4 mem64 pref unassigned (16 KiB) INTA (root slot 4 INTA) [disabled]")
    );

    // An I/O window too small for the 64-byte BAR.
    let mut cfg = default_machine();
    let result = configure(&mut cfg, MAX_BUS, MEM, Window::new(0x4000, 0x4020));
    assert_eq!(problems(&result), ["00:04.0 BAR0: 64 B I/O does not fit in window 0x4000..0x4020 (next free 0x4000)"]);
    assert_eq!(bar(&result, (0, 3, 0), 0).address, Some(0x4000));
    assert_sound(&result, MEM, Window::new(0x4000, 0x4020));
}

#[test]
fn bridge_window_that_does_not_fit() {
    let mut cfg = FakeConfig::new()
        .with(1, 0, cirrus_vga())
        .with(2, 0, FakeFunction::bridge().child(0, 0, virtio_net()))
        .with(3, 0, ohci());
    // Room for the framebuffer and small BARs, not for a 1 MiB window.
    let mem = Window::new(0x4000_0000, 0x4200_2000);
    let result = configure(&mut cfg, MAX_BUS, mem, IO);
    let text = problems(&result);
    assert_eq!(
        text[0],
        "00:02.0 bridge: 1 MiB memory window does not fit in window 0x40000000..0x42002000 (next free 0x42000000)"
    );
    assert!(text.contains(&"01:00.0 BAR1: not assigned, bridge 00:02.0 above it got no memory window".to_string()));
    assert!(text.contains(&"01:00.0 BAR4: not assigned, bridge 00:02.0 above it got no memory window".to_string()));
    assert_eq!(text.len(), 3, "{text:?}");
    let bridge = function(&result, 0, 2, 0);
    assert!(bridge.bridge.is_some_and(|b| b.mem_window.is_none() && b.io_window.is_some()));
    assert_eq!(bridge.command, 0x5, "still forwards I/O");
    assert_eq!(cfg.get(Bdf::new(0, 2, 0)).map(|f| f.regs[0x20 / 4]), Some(0x0000_FFF0), "memory window closed");
    assert!(!function(&result, 1, 0, 0).is_enabled());
    assert!(function(&result, 0, 3, 0).is_enabled(), "enumeration and assignment went on");
    assert_sound(&result, mem, IO);
}

#[test]
fn hostile_all_ones_except_one_vendor() {
    let mut cfg = AllOnes { present: |bdf: Bdf| bdf == Bdf::new(0, 0, 0), reads: 0 };
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert_eq!(result.devices.len(), 1);
    let f = function(&result, 0, 0, 0);
    assert_eq!((f.vendor, f.device, f.header_type), (0x1234, 0xFFFF, 0xFF));
    assert!(!f.has_bars() && !f.is_bridge());
    assert_eq!(
        problems(&result),
        ["00:00.0: header type 0xff not supported (0 device, 1 PCI-to-PCI bridge); BARs not sized"]
    );
    assert!(cfg.reads < 1000, "{} reads", cfg.reads);
}

#[test]
fn hostile_every_function_present_fills_the_table() {
    let mut cfg = AllOnes { present: |_| true, reads: 0 };
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert_eq!(result.devices.len(), MAX_FUNCTIONS);
    assert_eq!(result.stopped_at, Some(Bdf::new(0, 8, 0)), "8 functions × 8 slots fill 64 entries");
    assert_eq!(result.problems.len(), MAX_PROBLEMS);
    assert!(result.problems.dropped() > 0, "64 header errors + the stop do not fit in the list");
}

#[test]
fn hostile_bridge_keeps_wrong_secondary_bus() {
    let mut broken = FakeFunction::bridge().child(0, 0, virtio_net());
    broken.broken_bus_readback = true;
    let mut cfg = FakeConfig::new().with(1, 0, broken).with(2, 0, FakeFunction::bridge().child(0, 0, virtio_blk()));
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert_eq!(
        problems(&result),
        ["00:01.0: wrote primary/secondary/subordinate bus 00/01/1f, read back 00/11/1f; nothing behind it enumerated"]
    );
    assert_eq!(function(&result, 0, 1, 0).bridge.map(|b| (b.secondary, b.subordinate)), Some((0, 0)));
    assert_eq!(cfg.get(Bdf::new(0, 1, 0)).map(|f| f.regs[0x18 / 4] & 0xFF_FF00), Some(0), "forwards nothing");
    // The bus number was not used up: the next bridge gets bus 1.
    assert_eq!(function(&result, 0, 2, 0).bridge.map(|b| (b.secondary, b.subordinate)), Some((1, 1)));
    assert_eq!(function(&result, 1, 0, 0).device, 0x1001);
    assert_eq!(result.devices.len(), 3);
    assert_sound(&result, MEM, IO);
}

#[test]
fn hostile_looping_bridges_stop_at_max_bus() {
    // A host that ignores the bus number: the bridge in slot 0 shows up
    // again on every bus it opens, forever.
    let mut cfg = FakeConfig { ignore_bus: true, ..FakeConfig::new().with(0, 0, FakeFunction::bridge()) };
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    assert_eq!(result.devices.len(), usize::from(MAX_BUS) + 1);
    assert_eq!(result.last_bus, MAX_BUS);
    assert_eq!(
        problems(&result),
        ["1f:00.0: no bus number left above 0x1f for the secondary bus; nothing behind it enumerated"]
    );

    // With every bus number allowed, the table's capacity stops it.
    let mut cfg = FakeConfig { ignore_bus: true, ..FakeConfig::new().with(0, 0, FakeFunction::bridge()) };
    let result = enumerate(&mut cfg, u8::MAX);
    assert_eq!(result.devices.len(), MAX_FUNCTIONS);
    assert_eq!(result.stopped_at, Some(Bdf::new(64, 0, 0)));
    assert!(
        problems(&result).contains(&"40:00.0: device table full (64 functions); enumeration stopped here".to_string())
    );
}

#[test]
fn hostile_bar_values() {
    let mut cfg = FakeConfig::new().with(1, 0, FakeFunction::device(0x1234, 1, 0, 5).bar(0, io(4)));
    let f = cfg.get(Bdf::new(0, 1, 0)).expect("present");
    f.regs[4 + 1] = 0x6; // memory type 11b: reserved
    f.regs[4 + 2] = 0x4; // 64-bit with both halves hardwired to zero: unimplemented
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    let f = function(&result, 0, 1, 0);
    assert_eq!(f.bars[0].map(|b| b.size), Some(4));
    assert!(f.bars[1..].iter().all(Option::is_none));
    assert_eq!(f.irq_pin, None);
    assert_eq!(
        problems(&result),
        [
            "00:01.0 BAR1: reserved memory type (read back 0x00000006); ignored",
            "00:01.0: interrupt pin 0x05 is not 0..=4; treated as none",
        ]
    );
    assert!(f.is_enabled(), "the sane BAR is still usable");
}

#[test]
fn assign_twice_gives_the_same_result() {
    let mut cfg = default_machine();
    let mut result = configure(&mut cfg, MAX_BUS, MEM, IO);
    let first: Vec<PciFunction> = result.devices.iter().copied().collect();
    result.assign(&mut cfg, MEM, IO);
    assert_eq!(result.devices.iter().copied().collect::<Vec<_>>(), first);
    assert!(result.problems.is_empty());
}

#[test]
fn swizzle_and_pins() {
    let gpex = |slot| RootIntx { slot, pin: IntxPin::A }.gpex_irq();
    assert_eq!([gpex(0), gpex(1), gpex(2), gpex(3), gpex(4)], [0, 1, 2, 3, 0]);
    assert_eq!(swizzle(3, IntxPin::D), IntxPin::C);
    assert_eq!(IntxPin::from_register(0), None);
    assert_eq!(IntxPin::from_register(4), Some(IntxPin::D));
    assert_eq!(IntxPin::from_register(5), None);
    assert_eq!(IntxPin::B.to_string(), "INTB");
}

#[test]
fn well_known_names() {
    let class = |base, sub, prog_if| ClassCode { base, sub, prog_if };
    assert_eq!(names::device_name(0x1AF4, 0x1041, class(2, 0, 0)), Some("virtio-net"));
    assert_eq!(names::device_name(0x1AF4, 0x1042, class(1, 0, 0)), Some("virtio-blk"));
    assert_eq!(names::device_name(0x1AF4, 0x1030, class(0xFF, 0, 0)), Some("virtio"));
    assert_eq!(names::device_name(0x1B36, 0x0008, class(6, 0, 0)), Some("host bridge"));
    assert_eq!(names::device_name(0x106B, 0x003F, class(0x0C, 0x03, 0x10)), Some("usb-ohci"));
    assert_eq!(names::device_name(0x8086, 0x1234, class(0xFF, 0, 0)), None);
    assert_eq!(Size(0).to_string(), "0 B");
    assert_eq!(Size(1536).to_string(), "1536 B");
    assert_eq!(Size(3 * MIB).to_string(), "3 MiB");
}

#[test]
fn alignment_padding_with_unaligned_window_and_odd_bridge_window() {
    // The bridge window needs 33 MiB (32 MiB + 4 KiB, rounded to 1 MiB)
    // aligned to 32 MiB, so whatever follows it must be padded up.
    let behind =
        FakeFunction::device(0x1234, 5, 0x03_80_00, 0).bar(0, mem32(32 << 20, true)).bar(2, mem32(4096, false));
    let mut cfg = FakeConfig::new()
        .with(1, 0, FakeFunction::bridge().child(0, 0, behind))
        .with(2, 0, cirrus_vga())
        .with(3, 0, FakeFunction::device(0x1234, 6, 0x03_80_00, 0).bar(0, mem32(32 << 20, false)));
    let mem = Window::new(0x4000_1000, 0x8000_0000);
    let result = configure(&mut cfg, MAX_BUS, mem, IO);
    assert!(result.problems.is_empty(), "{}", result.problems);
    let window = function(&result, 0, 1, 0).bridge.and_then(|b| b.mem_window);
    assert_eq!(window, Some(Window::new(0x4200_0000, 0x4410_0000)));
    assert_eq!(bar(&result, (0, 2, 0), 0).address, Some(0x4600_0000), "padded past the 33 MiB window");
    assert_eq!(bar(&result, (0, 3, 0), 0).address, Some(0x4800_0000));
    assert_eq!(bar(&result, (1, 0, 0), 0).address, Some(0x4200_0000));
    assert_eq!(bar(&result, (1, 0, 0), 2).address, Some(0x4400_0000));
    assert_sound(&result, mem, IO);
}

#[test]
fn hostile_bars_stuck_at_all_ones() {
    // Every BAR reads all ones whatever is written: sized as six 4-byte
    // I/O BARs, and caught when the assigned addresses do not stick.
    let mut cfg = FakeConfig::new().with(1, 0, FakeFunction::device(0x1234, 1, 0, 0)).with(2, 0, ohci());
    let stuck = cfg.get(Bdf::new(0, 1, 0)).expect("present");
    stuck.regs[4..10].fill(u32::MAX);
    let result = configure(&mut cfg, MAX_BUS, MEM, IO);
    let f = function(&result, 0, 1, 0);
    assert!(f.bars.iter().all(|b| b.is_some_and(|b| b.kind == BarKind::Io && b.size == 4)), "{f}");
    assert!(!f.is_enabled() && f.implemented_bars().all(|(_, b)| b.address.is_none()));
    let text = problems(&result);
    assert_eq!(text.len(), 6, "{text:?}");
    assert_eq!(text[0], "00:01.0 BAR0: wrote 0x4000, read back 0xfffffffc; device left disabled");
    assert!(function(&result, 0, 2, 0).is_enabled());
    assert_eq!(cfg.get(Bdf::new(0, 1, 0)).map(|f| f.command()), Some(0));
}

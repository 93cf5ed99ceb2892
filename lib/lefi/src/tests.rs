//! Host tests: decode the written block with the spec's own offsets and values.
//!
//! The reader below deliberately does not use `crate::abi`: every offset and
//! expected value is written out here with the section of
//! `shared/specs/lefi-boot-protocol.md` (or `loongson3-virt.md`) it comes
//! from, so a wrong constant in the builder fails a test.

use super::*;

// --- Spec offsets, copied from the spec text (not from crate::abi) ---------

/// §5.3: `boot_params` fields.
mod bp {
    pub const SMBIOS_VERS: usize = 0x18;
    pub const VGA_BIOS: usize = 0x20;
    pub const LP: usize = 0x28;
    pub const MEMORY_OFFSET: usize = 0x28;
    pub const CPU_OFFSET: usize = 0x30;
    pub const SYSTEM_OFFSET: usize = 0x38;
    pub const IRQ_OFFSET: usize = 0x40;
    pub const INTERFACE_OFFSET: usize = 0x48;
    pub const SPECIAL_OFFSET: usize = 0x50;
    pub const BOARDDEV_OFFSET: usize = 0x58;
    pub const RESET_COLD: usize = 0x70;
    pub const RESET_WARM: usize = 0x78;
    pub const RESET_TYPE: usize = 0x80;
    pub const SHUTDOWN: usize = 0x88;
    pub const DO_SUSPEND: usize = 0x90;
}

/// §5.2: QEMU's table offsets from `boot_params` and its total size.
const QEMU_TABLES_END: usize = 0x8B00;

/// §4.1, §5.3, §8: QEMU's reset/power-off/suspend stub addresses.
const QEMU_RESET: u64 = 0xFFFF_FFFF_BFC0_0080;
const QEMU_POWER_OFF: u64 = 0xFFFF_FFFF_BFC0_00A8;
const QEMU_SUSPEND: u64 = 0xFFFF_FFFF_BFC0_00D0;

/// §2 [run]: the test firmware's table address; §5 (`loongson3-virt.md`):
/// 0x0F00_0000..0x1000_0000 is kept out of QEMU's memory map.
const BLOCK_PA: u64 = 0x0FE0_0000;
const FW_RESERVED: PhysRange = PhysRange::new(0x0F00_0000, 0x1000_0000);
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A decoder over the written block, following pointers the way Linux does.
struct Image<'a> {
    bytes: &'a [u8],
    /// KSEG0 address of byte 0.
    va: u64,
}

impl<'a> Image<'a> {
    fn u16(&self, off: usize) -> u16 {
        u16::from_le_bytes(self.bytes[off..off + 2].try_into().unwrap())
    }
    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.bytes[off..off + 4].try_into().unwrap())
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.bytes[off..off + 8].try_into().unwrap())
    }
    /// A NUL-terminated string, also checking it ends inside `max` bytes.
    fn cstr(&self, off: usize, max: usize) -> &'a str {
        let field = &self.bytes[off..off + max];
        let len = field.iter().position(|&b| b == 0).expect("string not NUL-terminated in its field");
        core::str::from_utf8(&field[..len]).unwrap()
    }
    /// Table address the way `prom_lefi_init_env` computes it: &lp + offset (§5.1).
    fn table(&self, lp_field: usize) -> usize {
        bp::LP + self.u64(lp_field) as usize
    }
    /// Buffer offset of a kernel virtual address (sign-extended KSEG0).
    fn off_of(&self, va: u64) -> usize {
        (va - self.va) as usize
    }
    /// argv[i] as Linux reads it: a u32 sign-extended to 64 bits (§4.1).
    fn argv(&self, a1: u64, i: usize) -> u64 {
        self.u32(self.off_of(a1) + 4 * i) as i32 as i64 as u64
    }
}

fn image(buf: &[u8]) -> Image<'_> {
    Image { bytes: buf, va: 0xFFFF_FFFF_8000_0000 + BLOCK_PA }
}

/// QEMU 10.0.2's known-good inputs (§5, §6): -m 1G, -smp 1, 800 MHz.
fn qemu_params<'a>(reserved: &'a [PhysRange], command_line: &'a str) -> LefiParams<'a> {
    LefiParams {
        block_pa: BLOCK_PA,
        ram: RamLayout { ram_size: GIB, reserved },
        cpus: CpuConfig::from_plan(
            &BootCorePlan::new(1, CoreWiring::ReversedQemu10).unwrap(),
            QEMU_CPU_CLOCK_HZ,
            QEMU_PROCESSOR_ID,
        ),
        command_line,
        initrd: None,
        entry_points: FirmwareEntryPoints { reset: QEMU_RESET, power_off: QEMU_POWER_OFF, suspend: QEMU_SUSPEND },
        strings: BoardStrings::QEMU,
    }
}

/// A buffer pre-filled with a pattern, so missing zeroing shows.
fn dirty_buf() -> Vec<u8> {
    vec![0xAA; MAX_BLOCK_SIZE + 64]
}

fn build_ok(params: &LefiParams<'_>) -> (Vec<u8>, Handoff) {
    let mut buf = dirty_buf();
    let h = build(params, &mut buf).expect("build");
    (buf, h)
}

/// Memory-map entries as (node, type, start, size in MiB), §5.5.
fn memory_map(img: &Image<'_>) -> Vec<(u32, u32, u64, u32)> {
    let mm = img.table(bp::MEMORY_OFFSET);
    let n = img.u32(mm + 0x02) as usize;
    (0..n)
        .map(|i| {
            let e = mm + 0x0A + 24 * i;
            (img.u32(e), img.u32(e + 4), img.u64(e + 8), img.u32(e + 16))
        })
        .collect()
}

// --- boot_params and the seven tables ----------------------------------------

#[test]
fn boot_params_match_qemu() {
    let reserved = [FW_RESERVED];
    let (buf, _) = build_ok(&qemu_params(&reserved, "console=ttyS0"));
    let img = image(&buf);
    // §5.3 values.
    assert_eq!(img.u64(0x00), 0, "efi.mps");
    assert_eq!(img.u64(0x08), 0, "efi.acpi");
    assert_eq!(img.u64(0x10), 0, "efi.acpi20");
    assert_eq!(img.u16(bp::SMBIOS_VERS), 1);
    assert_eq!(img.u64(bp::VGA_BIOS), 0);
    // §5.2/§5.3: QEMU's lp offsets, relative to boot_params + 0x28.
    assert_eq!(img.u64(bp::MEMORY_OFFSET), 0x118);
    assert_eq!(img.u64(bp::CPU_OFFSET), 0x98);
    assert_eq!(img.u64(bp::SYSTEM_OFFSET), 0xD58);
    assert_eq!(img.u64(bp::IRQ_OFFSET), 0x30D8);
    assert_eq!(img.u64(bp::INTERFACE_OFFSET), 0x3158);
    assert_eq!(img.u64(bp::SPECIAL_OFFSET), 0x5E58);
    assert_eq!(img.u64(bp::BOARDDEV_OFFSET), 0x31D8);
    // §5.2: tables at 0xC0, 0x140, 0xD80, 0x3100, 0x3180, 0x3200, 0x5E80.
    assert_eq!(img.table(bp::CPU_OFFSET), 0xC0);
    assert_eq!(img.table(bp::MEMORY_OFFSET), 0x140);
    assert_eq!(img.table(bp::SYSTEM_OFFSET), 0xD80);
    assert_eq!(img.table(bp::IRQ_OFFSET), 0x3100);
    assert_eq!(img.table(bp::INTERFACE_OFFSET), 0x3180);
    assert_eq!(img.table(bp::BOARDDEV_OFFSET), 0x3200);
    assert_eq!(img.table(bp::SPECIAL_OFFSET), 0x5E80);
    assert_eq!(img.u64(0x60), 0, "efi.sal_systab");
    assert_eq!(img.u64(0x68), 0, "efi.boot_info");
    // §5.3, §8: reset_system.
    assert_eq!(img.u64(bp::RESET_COLD), QEMU_RESET);
    assert_eq!(img.u64(bp::RESET_WARM), QEMU_RESET);
    assert_eq!(img.u64(bp::RESET_TYPE), 0);
    assert_eq!(img.u64(bp::SHUTDOWN), QEMU_POWER_OFF);
    assert_eq!(img.u64(bp::DO_SUSPEND), QEMU_SUSPEND);
}

#[test]
fn cpuinfo_matches_qemu_single_cpu() {
    let reserved = [FW_RESERVED];
    let (buf, _) = build_ok(&qemu_params(&reserved, ""));
    let img = image(&buf);
    let c = img.table(bp::CPU_OFFSET);
    // §5.4 QEMU values for -smp 1.
    assert_eq!(img.u16(c), 0, "vers");
    assert_eq!(img.u32(c + 0x02), 0x6305, "processor_id");
    assert_eq!(img.u32(c + 0x06), 0x300, "cputype Loongson_3A");
    assert_eq!(img.u32(c + 0x0A), 1, "total_node");
    assert_eq!(img.u16(c + 0x0E), 0, "cpu_startup_core_id");
    assert_eq!(img.u16(c + 0x10), 0, "reserved_cores_mask");
    assert_eq!(img.u32(c + 0x12), 800_000_000, "cpu_clock_freq");
    assert_eq!(img.u32(c + 0x16), 1, "nr_cpus");
    assert!(img.bytes[c + 0x1A..c + 0x5A].iter().all(|&b| b == 0), "cpuname empty");
}

#[test]
fn cpuinfo_follows_section_13_plan() {
    // §13: -smp 3 boots wiring index 1: startup core 1, mask bit 0.
    // -smp 5: b = 2, mask bits 0..1, total_node = ⌈5/4⌉ = 2 (§5.4).
    for (n, startup, mask, nodes) in [(3u16, 1u16, 0b1u16, 1u32), (5, 2, 0b11, 2), (4, 0, 0, 1)] {
        let reserved = [FW_RESERVED];
        let mut p = qemu_params(&reserved, "");
        p.cpus = CpuConfig::from_plan(&BootCorePlan::new(n, CoreWiring::ReversedQemu10).unwrap(), 800_000_000, 0x6305);
        let (buf, _) = build_ok(&p);
        let img = image(&buf);
        let c = img.table(bp::CPU_OFFSET);
        assert_eq!(img.u32(c + 0x16), u32::from(n), "nr_cpus for N={n}");
        assert_eq!(img.u16(c + 0x0E), startup, "cpu_startup_core_id for N={n}");
        assert_eq!(img.u16(c + 0x10), mask, "reserved_cores_mask for N={n}");
        assert_eq!(img.u32(c + 0x0A), nodes, "total_node for N={n}");
    }
}

#[test]
fn system_irq_interface_board_special_match_qemu() {
    let reserved = [FW_RESERVED];
    let (buf, _) = build_ok(&qemu_params(&reserved, ""));
    let img = image(&buf);

    // §5.6 system_loongson.
    let s = img.table(bp::SYSTEM_OFFSET);
    assert_eq!(img.u16(s), 0, "vers");
    assert_eq!(img.u32(s + 0x02), 0, "ccnuma_smp");
    assert_eq!(img.u32(s + 0x06), 1, "sing_double_channel");
    assert_eq!(img.u32(s + 0x0A), 1, "nr_uarts");
    assert_eq!(img.u32(s + 0x0E), 2, "uarts[0].iotype");
    assert_eq!(img.u32(s + 0x0E + 4), 25_000_000, "uarts[0].uartclk");
    assert_eq!(img.u32(s + 0x0E + 8), 2, "uarts[0].int_offset");
    assert_eq!(img.u64(s + 0x0E + 12), 0x1FE0_01E0, "uarts[0].uart_base");
    assert_eq!(img.u32(s + 0x050E), 0, "nr_sensors");
    assert_eq!(img.bytes[s + 0x2312], 0, "has_ec");
    assert_eq!(img.bytes[s + 0x233B], 0, "has_tcm");
    assert_eq!(img.u64(s + 0x2364), 0, "workarounds");
    assert_eq!(img.u64(s + 0x236C), 0, "of_dtb_addr");

    // §5.7 irq_source_routing_table.
    let q = img.table(bp::IRQ_OFFSET);
    assert_eq!(img.u32(q + 0x10), 0, "PIC_type");
    assert_eq!(img.u32(q + 0x24), 0, "node_id");
    assert_eq!(img.u64(q + 0x28), 0x4000_0000, "pci_mem_start_addr");
    assert_eq!(img.u64(q + 0x30), 0x7FFF_FFFF, "pci_mem_end_addr");
    assert_eq!(img.u64(q + 0x38), 0x1800_0000, "pci_io_start_addr");
    assert_eq!(img.u64(q + 0x40), 0, "pci_io_end_addr");
    assert_eq!(img.u64(q + 0x48), 0, "pci_config_addr");
    assert_eq!(img.u16(q + 0x50), 64, "dma_mask_bits");
    assert_eq!(img.u16(q + 0x52), 0, "dma_noncoherent");

    // §5.8 interface_info.
    let i = img.table(bp::INTERFACE_OFFSET);
    assert_eq!(img.u16(i), 1, "vers");
    assert_eq!(img.u16(i + 0x02), 0, "size");
    assert_eq!(img.bytes[i + 0x04], 0, "flag");
    assert_eq!(img.cstr(i + 0x05, 64), "UEFI_Version_v1.0");

    // §5.9 board_devices.
    let b = img.table(bp::BOARDDEV_OFFSET);
    assert_eq!(img.cstr(b, 64), "Loongson-3A-VIRT-1w-V1.00-demo");
    assert_eq!(img.u32(b + 0x40), 0, "num_resources");

    // §5.10 loongson_special_attribute.
    let a = img.table(bp::SPECIAL_OFFSET);
    assert_eq!(img.u16(a), 0, "vers");
    assert_eq!(img.cstr(a + 0x02, 64), "2018-05-01");
    assert_eq!(img.u32(a + 0x44), 0, "loongson_special_type");
}

#[test]
fn every_unlisted_byte_is_zero() {
    // §5.2: "All bytes not listed below are 0." Mark the listed non-zero fields
    // (absolute offsets from §5.2 + §5.3..§5.10) and check all the rest.
    let reserved = [FW_RESERVED];
    let (buf, h) = build_ok(&qemu_params(&reserved, "console=ttyS0"));
    let nonzero: &[(usize, usize)] = &[
        (0x18, 2),              // smbios.vers
        (0x28, 0x38),           // lp offsets
        (0x70, 0x10),           // ResetCold, ResetWarm
        (0x88, 0x10),           // Shutdown, DoSuspend
        (0xC0 + 0x02, 8),       // processor_id, cputype
        (0xC0 + 0x0A, 4),       // total_node
        (0xC0 + 0x12, 8),       // cpu_clock_freq, nr_cpus
        (0x140 + 0x02, 8),      // nr_map, mem_freq
        (0x140 + 0x0A, 24 * 2), // two map entries
        (0xD80 + 0x06, 8),      // sing_double_channel, nr_uarts
        (0xD80 + 0x0E, 20),     // uarts[0]
        (0x3100 + 0x28, 0x18),  // PCI windows
        (0x3100 + 0x50, 2),     // dma_mask_bits
        (0x3180, 2),            // interface vers
        (0x3180 + 0x05, 17),    // "UEFI_Version_v1.0"
        (0x3200, 30),           // board name
        (0x5E80 + 0x02, 10),    // "2018-05-01"
    ];
    let listed = |off: usize| nonzero.iter().any(|&(s, l)| off >= s && off < s + l);
    for (off, &b) in buf[..QEMU_TABLES_END].iter().enumerate() {
        if !listed(off) {
            assert_eq!(b, 0, "byte {off:#x} of the tables should be 0");
        }
    }
    assert_eq!(h.tables, PhysRange::new(BLOCK_PA, BLOCK_PA + QEMU_TABLES_END as u64));
    // Bytes after the block are the caller's and stay untouched.
    assert!(buf[h.block.len() as usize..].iter().all(|&b| b == 0xAA));
    // Linux with CONFIG_KEXEC copies 4800 bytes from a2 (§5.2).
    assert!(h.tables.len() >= 4800);
}

// --- memory map -----------------------------------------------------------------

#[test]
fn memory_map_1g_matches_qemu() {
    // §5.5 [run]: -m 1024 → type 1 at 0 (240 MiB), type 2 at 0x9000_0000 (S − 256).
    let reserved = [FW_RESERVED];
    let (buf, h) = build_ok(&qemu_params(&reserved, ""));
    let img = image(&buf);
    let mm = img.table(bp::MEMORY_OFFSET);
    assert_eq!(img.u16(mm), 0, "vers");
    assert_eq!(img.u32(mm + 0x06), 300_000_000, "mem_freq");
    assert_eq!(memory_map(&img), vec![(0, 1, 0, 240), (0, 2, 0x9000_0000, 768)]);
    assert_eq!(h.memory_entries, 2);
    // The 4-byte tail padding of each 24-byte entry is zero (§5.5).
    assert_eq!(img.u32(mm + 0x0A + 20), 0);
    assert_eq!(img.u32(mm + 0x0A + 24 + 20), 0);
}

#[test]
fn memory_map_3g_matches_qemu() {
    // §5.5: -m 3072 → high RAM 3072 − 256 = 2816 MiB.
    let reserved = [FW_RESERVED];
    let mut p = qemu_params(&reserved, "");
    p.ram.ram_size = 3 * GIB;
    let (buf, _) = build_ok(&p);
    assert_eq!(memory_map(&image(&buf)), vec![(0, 1, 0, 240), (0, 2, 0x9000_0000, 2816)]);
}

#[test]
fn memory_map_matches_qemus_own_at_every_size() {
    // QEMU's init_memory_map (hw/mips/loongson3_bootp.c): 240 MiB at 0 and
    // -m − 256 MiB at 0x9000_0000, for any -m. With the firmware keeping
    // only 0x0F00_0000..0x1000_0000, as the firmware does (its scratch
    // region is never reserved), ours must be the same entries.
    for mib in [512u64, 1024, 2048, 3072, 4096, 6144] {
        let reserved = [FW_RESERVED];
        let mut p = qemu_params(&reserved, "");
        p.ram.ram_size = mib * MIB;
        let (buf, _) = build_ok(&p);
        let qemu = vec![(0, 1, 0, 240), (0, 2, 0x9000_0000, (mib - 256) as u32)];
        assert_eq!(memory_map(&image(&buf)), qemu, "-m {mib}M");
    }
}

/// Linux's view of the map (§7, L-INIT `szmem`): usable physical ranges.
fn linux_usable(img: &Image<'_>) -> Vec<PhysRange> {
    memory_map(img)
        .into_iter()
        .map(|(node, ty, start, mib)| {
            assert!(ty == 1 || ty == 2, "only SYSTEM_RAM_LOW/HIGH expected, got {ty}");
            assert_eq!(mib & 0x8000_0000, 0, "MEM_SIZE_IS_IN_BYTES must not be used");
            let pa = (u64::from(node) << 44) | start;
            PhysRange::new(pa, pa + u64::from(mib) * MIB)
        })
        .collect()
}

#[test]
fn memory_map_never_double_counts_or_exposes_reserved() {
    // loongson3-virt.md §5: 0..256 MiB aliases 0x8000_0000..0x9000_0000;
    // never report both. Fold the alias and check for overlaps.
    let reserved = [FW_RESERVED, PhysRange::new(0xA000_0000, 0xA010_0000)];
    let mut p = qemu_params(&reserved, "");
    p.ram.ram_size = 2 * GIB;
    let (buf, h) = build_ok(&p);
    let ranges = linux_usable(&image(&buf));
    let fold = |r: &PhysRange| {
        if r.start >= 0x8000_0000 && r.end <= 0x9000_0000 {
            PhysRange::new(r.start - 0x8000_0000, r.end - 0x8000_0000)
        } else {
            *r
        }
    };
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            assert!(!fold(a).overlaps(&fold(b)), "{a} overlaps {b}");
        }
        assert!(!a.overlaps(&FW_RESERVED) && !a.overlaps(&reserved[1]) && !a.overlaps(&h.block));
        assert!(a.end <= 0x8000_0000 + 2 * GIB, "{a} beyond RAM");
    }
    let total: u64 = ranges.iter().map(PhysRange::len).sum();
    assert_eq!(total, 2 * GIB - 16 * MIB - MIB);
}

#[test]
fn reserved_in_high_alias_cuts_low_window() {
    // A reservation given as 0x8E00_0000..0x9020_0000 covers PA 0x0E00_0000..
    // 0x1000_0000 through the alias and 2 MiB of high RAM (loongson3-virt.md §5).
    let reserved = [FW_RESERVED, PhysRange::new(0x8E00_0000, 0x9020_0000)];
    let (buf, _) = build_ok(&qemu_params(&reserved, ""));
    assert_eq!(memory_map(&image(&buf)), vec![(0, 1, 0, 224), (0, 2, 0x9020_0000, 766)]);
}

#[test]
fn holes_split_entries_and_round_inward_to_mib() {
    // Overlapping holes merge; a hole not on MiB boundaries hides the partial
    // MiBs around it (mem_size is in MiB, §5.5).
    let reserved = [
        FW_RESERVED,
        PhysRange::new(0xA000_0000, 0xA100_0000),
        PhysRange::new(0xA080_0000, 0xA200_0000),
        PhysRange::new(0xB000_0800, 0xB000_1000),
    ];
    let (buf, _) = build_ok(&qemu_params(&reserved, ""));
    assert_eq!(
        memory_map(&image(&buf)),
        vec![
            (0, 1, 0, 240),
            (0, 2, 0x9000_0000, 256), // 0x9000_0000..0xA000_0000
            (0, 2, 0xA200_0000, 224), // ..0xB000_0000 (hole starts at +0x800)
            (0, 2, 0xB010_0000, 255), // from the next whole MiB to 0xC000_0000
        ]
    );
}

/// `count` 1 MiB holes, one every 2 MiB, starting 1 MiB into high RAM.
fn holes(count: usize) -> Vec<PhysRange> {
    let mut v = vec![FW_RESERVED];
    for k in 0..count as u64 {
        let start = 0x9000_0000 + (2 * k + 1) * MIB;
        v.push(PhysRange::new(start, start + MIB));
    }
    v
}

#[test]
fn memory_map_holds_exactly_128_entries() {
    // §5.5: map[128]. 126 holes → low + 127 high pieces = 128 entries.
    let reserved = holes(126);
    let (buf, h) = build_ok(&qemu_params(&reserved, ""));
    let map = memory_map(&image(&buf));
    assert_eq!(map.len(), 128);
    assert_eq!(h.memory_entries, 128);
    assert_eq!(map[127], (0, 2, 0x9000_0000 + 252 * MIB, 768 - 252));

    let reserved = holes(127);
    let mut buf = dirty_buf();
    assert_eq!(
        build(&qemu_params(&reserved, ""), &mut buf),
        Err(LefiError::TooManyMemoryEntries { needed: 129, max: 128 })
    );
}

#[test]
fn ram_errors() {
    let mut buf = dirty_buf();
    let reserved = [FW_RESERVED];
    // loongson3-virt.md §5: at least 512 MiB.
    let mut p = qemu_params(&reserved, "");
    p.ram.ram_size = 256 * MIB;
    assert_eq!(build(&p, &mut buf), Err(LefiError::RamTooSmall { size: 256 * MIB, min: 512 * MIB }));
    p.ram.ram_size = 1 << 44;
    assert_eq!(build(&p, &mut buf), Err(LefiError::RamTooLarge { size: 1 << 44, max: (1 << 44) - 0x8000_0000 }));

    let everything = [PhysRange::new(0, 0x1000_0000), PhysRange::new(0x9000_0000, 0xC000_0000)];
    assert_eq!(build(&qemu_params(&everything, ""), &mut buf), Err(LefiError::NoUsableRam));

    let empty = [FW_RESERVED, PhysRange::new(0x9000_0000, 0x9000_0000)];
    assert_eq!(
        build(&qemu_params(&empty, ""), &mut buf),
        Err(LefiError::BadReservedRange { range: PhysRange::new(0x9000_0000, 0x9000_0000) })
    );
}

// --- argv, command line, initrd ----------------------------------------------------

#[test]
fn registers_and_argv_layout() {
    let reserved = [FW_RESERVED];
    let (buf, h) = build_ok(&qemu_params(&reserved, "console=ttyS0 foo=bar"));
    let img = image(&buf);
    // §3: a0 = argc, a1 = argv (sign-extended 32-bit), a2 = boot_params, a3 = 0.
    assert_eq!(h.a0, 2);
    assert_eq!(h.a2, 0xFFFF_FFFF_8FE0_0000);
    assert_eq!(h.a1, 0xFFFF_FFFF_8FE0_0000 + QEMU_TABLES_END as u64);
    assert_eq!(h.a3, 0);
    assert_eq!(h.registers(), [h.a0, h.a1, h.a2, h.a3]);
    // L-CMD: Linux accepts argv only if a1 ≥ CKSEG0 and a0 < CKSEG0.
    assert!(h.a1 >= 0xFFFF_FFFF_8000_0000 && h.a0 < 0xFFFF_FFFF_8000_0000);
    assert_eq!(h.a1 as i32 as i64 as u64, h.a1, "a1 is a sign-extended 32-bit address");

    // §4.1: u32 entries, sign-extended by Linux; argv[argc] = 0.
    let argv0 = img.argv(h.a1, 0);
    let argv1 = img.argv(h.a1, 1);
    assert!(argv0 >= 0xFFFF_FFFF_8000_0000 && argv1 >= 0xFFFF_FFFF_8000_0000);
    assert_eq!(img.cstr(img.off_of(argv0), 2), "g");
    assert_eq!(img.cstr(img.off_of(argv1), 4096), "console=ttyS0 foo=bar");
    assert_eq!(img.u32(img.off_of(h.a1) + 8), 0, "argv[2] terminator");
    // QEMU's shape (§4.1): strings start 0x10 after the array, "g" first.
    assert_eq!(argv0, h.a1 + 0x10);
    assert_eq!(argv1, h.a1 + 0x12);

    // Ranges: tables then argv, contiguous; block = both.
    let end = BLOCK_PA + QEMU_TABLES_END as u64 + 0x12 + "console=ttyS0 foo=bar".len() as u64 + 1;
    assert_eq!(h.block, PhysRange::new(BLOCK_PA, end));
    assert_eq!(h.argv, PhysRange::new(BLOCK_PA + QEMU_TABLES_END as u64, end));
}

fn command_line_of(p: &LefiParams<'_>) -> String {
    let (buf, h) = build_ok(p);
    let img = image(&buf);
    img.cstr(img.off_of(img.argv(h.a1, 1)), 4096).to_string()
}

#[test]
fn initrd_words_match_qemu_form() {
    // §4.2 [run]: cpio at PA 0x0400_0000, 2560 bytes →
    // "rd_start=0xffffffff84000000 rd_size=2560", before the user's text.
    let reserved = [FW_RESERVED];
    let mut p = qemu_params(&reserved, "console=ttyS0");
    p.initrd = Some(Initrd { pa: 0x0400_0000, size: 2560 });
    assert_eq!(command_line_of(&p), "rd_start=0xffffffff84000000 rd_size=2560 console=ttyS0");

    p.command_line = "";
    assert_eq!(command_line_of(&p), "rd_start=0xffffffff84000000 rd_size=2560");

    // Above 512 MiB there is no KSEG0 form; XKPHYS cached is accepted (§4.2).
    p.initrd = Some(Initrd { pa: 0x9000_0000, size: MIB });
    assert_eq!(command_line_of(&p), "rd_start=0x9800000090000000 rd_size=1048576");
}

#[test]
fn command_line_limits() {
    let reserved = [FW_RESERVED];
    let mut buf = dirty_buf();
    // COMMAND_LINE_SIZE = 4096 including the NUL (§4.1).
    let longest = "x".repeat(4095);
    let p = qemu_params(&reserved, &longest);
    assert_eq!(command_line_of(&p).len(), 4095);
    let h = build(&p, &mut buf).unwrap();
    assert_eq!(h.block.len() as usize, MAX_BLOCK_SIZE, "MAX_BLOCK_SIZE fits the longest line");

    let too_long = "x".repeat(4096);
    assert_eq!(
        build(&qemu_params(&reserved, &too_long), &mut buf),
        Err(LefiError::CommandLineTooLong { len: 4096, max: 4095 })
    );
    // The initrd words count: "rd_start=0xffffffff84000000 rd_size=2560 " is 41 bytes.
    let mut p = qemu_params(&reserved, &longest[..4095 - 41]);
    p.initrd = Some(Initrd { pa: 0x0400_0000, size: 2560 });
    assert_eq!(command_line_of(&p).len(), 4095);
    let rest = &longest[..4095 - 40];
    p.command_line = rest;
    assert_eq!(build(&p, &mut buf), Err(LefiError::CommandLineTooLong { len: 4096, max: 4095 }));

    assert_eq!(build(&qemu_params(&reserved, "a\0b"), &mut buf), Err(LefiError::CommandLineNul { offset: 1 }));
}

#[test]
fn initrd_errors() {
    let reserved = [FW_RESERVED];
    let mut buf = dirty_buf();
    let mut p = qemu_params(&reserved, "");
    let with = |p: &mut LefiParams<'_>, pa, size| p.initrd = Some(Initrd { pa, size });

    with(&mut p, 0x0400_0000, 0);
    assert_eq!(build(&p, &mut buf), Err(LefiError::InitrdEmpty));
    // §4.2: page-aligned; 64 KiB as QEMU.
    with(&mut p, 0x0400_4000, 10);
    assert_eq!(build(&p, &mut buf), Err(LefiError::InitrdMisaligned { pa: 0x0400_4000, align: 0x1_0000 }));
    // Inside the firmware's reserved area.
    with(&mut p, 0x0F00_0000, 10);
    assert_eq!(
        build(&p, &mut buf),
        Err(LefiError::InitrdNotInUsableRam { initrd: PhysRange::new(0x0F00_0000, 0x0F00_000A) })
    );
    // The high alias of low RAM is not reported (loongson3-virt.md §5).
    with(&mut p, 0x8400_0000, 10);
    assert!(matches!(build(&p, &mut buf), Err(LefiError::InitrdNotInUsableRam { .. })));
    // Running past the end of RAM (-m 1G ends at 0xC000_0000).
    with(&mut p, 0xBFFF_0000, 0x2_0000);
    assert!(matches!(build(&p, &mut buf), Err(LefiError::InitrdNotInUsableRam { .. })));
    // Crossing from low RAM into the reserved area.
    with(&mut p, 0x0EFF_0000, 0x2_0000);
    assert!(matches!(build(&p, &mut buf), Err(LefiError::InitrdNotInUsableRam { .. })));
}

// --- block placement and other errors ----------------------------------------------

#[test]
fn block_placement_errors() {
    let reserved = [FW_RESERVED];
    let mut p = qemu_params(&reserved, "console=ttyS0");
    let needed = QEMU_TABLES_END + 0x12 + "console=ttyS0".len() + 1;

    let mut small = vec![0u8; 100];
    assert_eq!(build(&p, &mut small), Err(LefiError::BufferTooSmall { needed, available: 100 }));
    let mut exact = vec![0u8; needed];
    assert!(build(&p, &mut exact).is_ok());

    let mut buf = dirty_buf();
    // §3/§4.1: argv and a2 need KSEG0, i.e. below 512 MiB.
    p.block_pa = 0x2000_0000;
    assert_eq!(
        build(&p, &mut buf),
        Err(LefiError::NotKseg0 { range: PhysRange::new(0x2000_0000, 0x2000_0000 + needed as u64) })
    );
    // 256..512 MiB is MMIO on loongson3-virt (§4).
    p.block_pa = 0x1800_0000;
    assert!(matches!(build(&p, &mut buf), Err(LefiError::BlockNotInLowRam { low_ram_end: 0x1000_0000, .. })));
    p.block_pa = BLOCK_PA + 8;
    assert_eq!(build(&p, &mut buf), Err(LefiError::MisalignedBlock { pa: BLOCK_PA + 8, align: 64 }));
    // §2: the block must be outside usable RAM.
    p.block_pa = 0x0100_0000;
    assert_eq!(
        build(&p, &mut buf),
        Err(LefiError::BlockInUsableRam {
            block: PhysRange::new(0x0100_0000, 0x0100_0000 + needed as u64),
            usable: PhysRange::new(0, 0x0F00_0000),
        })
    );
}

#[test]
fn entry_point_checks() {
    let reserved = [FW_RESERVED];
    let mut buf = dirty_buf();
    let mut p = qemu_params(&reserved, "");
    // §8: 0 disables a hook; XKPHYS is allowed.
    p.entry_points = FirmwareEntryPoints { reset: 0x9000_0000_1FC0_0080, power_off: 0x9800_0000_1FC0_0840, suspend: 0 };
    let (out, _) = build_ok(&p);
    assert_eq!(image(&out).u64(bp::DO_SUSPEND), 0);
    assert_eq!(image(&out).u64(bp::SHUTDOWN), 0x9800_0000_1FC0_0840);

    p.entry_points.reset = 0x1FC0_0080; // a bare PA is not a kernel address
    assert_eq!(build(&p, &mut buf), Err(LefiError::BadEntryPoint { which: EntryPoint::Reset, address: 0x1FC0_0080 }));
    p.entry_points.reset = QEMU_RESET;
    p.entry_points.power_off = QEMU_POWER_OFF + 2; // not instruction-aligned
    assert_eq!(
        build(&p, &mut buf),
        Err(LefiError::BadEntryPoint { which: EntryPoint::PowerOff, address: QEMU_POWER_OFF + 2 })
    );
    p.entry_points.power_off = QEMU_POWER_OFF;
    p.entry_points.suspend = 0xFFFF_FFFF_C000_0000; // KSEG2 needs the TLB
    assert_eq!(
        build(&p, &mut buf),
        Err(LefiError::BadEntryPoint { which: EntryPoint::Suspend, address: 0xFFFF_FFFF_C000_0000 })
    );
    p.entry_points.suspend = 0x9001_0000_0000_0000; // XKPHYS bits 58:48 must be 0
    assert!(matches!(build(&p, &mut buf), Err(LefiError::BadEntryPoint { which: EntryPoint::Suspend, .. })));
}

#[test]
fn cpu_errors() {
    let reserved = [FW_RESERVED];
    let mut buf = dirty_buf();
    let mut p = qemu_params(&reserved, "");
    let cpus = |count, startup, mask| CpuConfig {
        count,
        startup_core_id: startup,
        reserved_cores_mask: mask,
        clock_hz: 800_000_000,
        processor_id: 0x6305,
    };
    // §5.4: nr_cpus 0 makes Linux assume NR_CPUS; loongson3-virt has ≤ 16.
    p.cpus = cpus(0, 0, 0);
    assert_eq!(build(&p, &mut buf), Err(LefiError::CpuCount { count: 0, max: 16 }));
    p.cpus = cpus(17, 0, 0);
    assert_eq!(build(&p, &mut buf), Err(LefiError::CpuCount { count: 17, max: 16 }));
    p.cpus = cpus(3, 3, 0b111);
    assert_eq!(build(&p, &mut buf), Err(LefiError::StartupCore { core: 3, count: 3, liointc_cores: 4 }));
    // LIOINTC route bits 0..3 only (L-LIO).
    p.cpus = cpus(9, 4, 0b1111);
    assert_eq!(build(&p, &mut buf), Err(LefiError::StartupCore { core: 4, count: 9, liointc_cores: 4 }));
    // Mask names a CPU that does not exist.
    p.cpus = cpus(3, 1, 0b1001);
    assert_eq!(build(&p, &mut buf), Err(LefiError::ReservedCoresMask { mask: 0b1001, count: 3, startup_core: 1 }));
    // §12.1: Linux's boot CPU is the lowest unreserved id; it must be the startup core.
    p.cpus = cpus(3, 1, 0);
    assert_eq!(build(&p, &mut buf), Err(LefiError::ReservedCoresMask { mask: 0, count: 3, startup_core: 1 }));
    p.cpus = cpus(3, 0, 0b1);
    assert_eq!(build(&p, &mut buf), Err(LefiError::ReservedCoresMask { mask: 1, count: 3, startup_core: 0 }));
    p.cpus = cpus(16, 0, 0);
    assert!(build(&p, &mut buf).is_ok(), "16 CPUs, nothing reserved");
    p.cpus = CpuConfig { clock_hz: 0, ..cpus(1, 0, 0) };
    assert_eq!(build(&p, &mut buf), Err(LefiError::CpuClockZero));
}

#[test]
fn board_string_checks() {
    let mut buf = dirty_buf();
    let reserved = [FW_RESERVED];
    let mut p = qemu_params(&reserved, "");
    // §5.10: NUL-terminated within 64 bytes → at most 63 characters.
    let name63 = "T".repeat(63);
    p.strings.board_name = &name63;
    let (out, _) = build_ok(&p);
    let img = image(&out);
    assert_eq!(img.cstr(img.table(bp::BOARDDEV_OFFSET), 64), name63);

    let name64 = "T".repeat(64);
    p.strings.board_name = &name64;
    assert_eq!(build(&p, &mut buf), Err(LefiError::BadString { field: StringField::BoardName, len: 64, max: 63 }));
    p.strings = BoardStrings { special_name: "2025\0", ..BoardStrings::QEMU };
    assert_eq!(build(&p, &mut buf), Err(LefiError::BadString { field: StringField::SpecialName, len: 5, max: 63 }));
    p.strings = BoardStrings { interface_description: &name64, ..BoardStrings::QEMU };
    assert!(matches!(build(&p, &mut buf), Err(LefiError::BadString { field: StringField::InterfaceDescription, .. })));
}

#[test]
fn error_messages_name_values() {
    let cases: &[(LefiError, &[&str])] = &[
        (LefiError::BufferTooSmall { needed: 35700, available: 100 }, &["35700", "100"]),
        (LefiError::CommandLineTooLong { len: 4096, max: 4095 }, &["4096", "4095"]),
        (LefiError::NotKseg0 { range: PhysRange::new(0x2000_0000, 0x2000_9000) }, &["0x20000000..0x20009000"]),
        (LefiError::BadEntryPoint { which: EntryPoint::Reset, address: 0x1FC0_0080 }, &["ResetWarm", "0x1fc00080"]),
        (LefiError::RamTooSmall { size: 0x1000_0000, min: 0x2000_0000 }, &["0x10000000", "0x20000000"]),
        (LefiError::TooManyMemoryEntries { needed: 129, max: 128 }, &["129", "128"]),
        (LefiError::ReservedCoresMask { mask: 1, count: 3, startup_core: 0 }, &["0x0001", "3", "0"]),
        (LefiError::InitrdMisaligned { pa: 0x0400_4000, align: 0x1_0000 }, &["0x4004000", "0x10000"]),
        (LefiError::BadString { field: StringField::BoardName, len: 64, max: 63 }, &["board name", "64", "63"]),
    ];
    for (err, needles) in cases {
        let text = err.to_string();
        for n in *needles {
            assert!(text.contains(n), "{text:?} should mention {n}");
        }
    }
}

// --- §13 boot-core plan ---------------------------------------------------------------

fn parked(plan: &BootCorePlan) -> Vec<(u16, u16, bool)> {
    plan.parked_cores().map(|c| (c.ebase, c.ipi_block, c.released_by_linux)).collect()
}

#[test]
fn plan_qemu_10_0_2() {
    // §13 / loongson3-virt.md §15.4: EBase = N − 1 − wiring index.
    let w = CoreWiring::ReversedQemu10;

    let p1 = BootCorePlan::new(1, w).unwrap();
    assert_eq!((p1.boot_index, p1.boot_ebase, p1.cpu_startup_core_id, p1.reserved_cores_mask), (0, 0, 0, 0));
    assert_eq!((p1.linux_cpus, p1.device_interrupts_work), (1, true));
    assert!(parked(&p1).is_empty());

    // Even N: wiring index 0 (EBase N−1), mask 0; interrupts storm.
    let p2 = BootCorePlan::new(2, w).unwrap();
    assert_eq!((p2.boot_index, p2.boot_ebase, p2.cpu_startup_core_id, p2.reserved_cores_mask), (0, 1, 0, 0));
    assert_eq!((p2.linux_cpus, p2.device_interrupts_work), (2, false));
    assert_eq!(parked(&p2), vec![(0, 1, true)]);

    // N = 3 [run]: boot on b = 1 (EBase 1), startup 1, mask 0b1, Linux runs 2.
    let p3 = BootCorePlan::new(3, w).unwrap();
    assert_eq!((p3.boot_index, p3.boot_ebase, p3.cpu_startup_core_id, p3.reserved_cores_mask), (1, 1, 1, 0b1));
    assert_eq!((p3.linux_cpus, p3.device_interrupts_work), (2, true));
    // EBase 0 owns block 2 (released); EBase 2 owns block 0 (reserved, never released).
    assert_eq!(parked(&p3), vec![(0, 2, true), (2, 0, false)]);
    assert!(p3.is_boot_core(1) && !p3.is_boot_core(0));

    let p4 = BootCorePlan::new(4, w).unwrap();
    assert_eq!((p4.boot_index, p4.boot_ebase, p4.cpu_startup_core_id, p4.reserved_cores_mask), (0, 3, 0, 0));
    assert_eq!((p4.linux_cpus, p4.device_interrupts_work), (4, false));
    assert_eq!(parked(&p4), vec![(0, 3, true), (1, 2, true), (2, 1, true)]);

    // N = 5 (UNVERIFIED in §13): b = 2, mask 0b11, Linux runs 3.
    let p5 = BootCorePlan::new(5, w).unwrap();
    assert_eq!((p5.boot_index, p5.boot_ebase, p5.cpu_startup_core_id, p5.reserved_cores_mask), (2, 2, 2, 0b11));
    assert_eq!((p5.linux_cpus, p5.device_interrupts_work), (3, true));
    assert_eq!(parked(&p5), vec![(0, 4, true), (1, 3, true), (3, 1, false), (4, 0, false)]);
    assert_eq!(p5.ipi_block_of(5), None);
    assert_eq!(p5.parked(2), None, "the boot core does not park");
}

#[test]
fn plan_large_odd_counts_stay_on_liointc_cores() {
    // §13's b = (N−1)/2 would be 4 for N = 9, beyond LIOINTC's 4 core bits;
    // the plan uses b mod 4, keeping EBase mod 4 = b (derived, UNVERIFIED).
    let w = CoreWiring::ReversedQemu10;
    for (n, b) in [(7u16, 3u16), (9, 0), (11, 1), (13, 2), (15, 3)] {
        let p = BootCorePlan::new(n, w).unwrap();
        assert_eq!(p.boot_index, b, "N={n}");
        assert_eq!(p.boot_ebase, n - 1 - b);
        assert_eq!(p.boot_ebase % 4, b);
        assert_eq!(p.reserved_cores_mask, (1 << b) - 1);
        assert!(p.device_interrupts_work);
        // The plan is accepted by the builder's CPU checks.
        assert!(CpuConfig::from_plan(&p, 800_000_000, 0x6305).validate().is_ok());
    }
}

#[test]
fn plan_straight_wiring_is_plain() {
    // §12.1: correct wiring → core 0, startup 0, mask 0, all CPUs.
    let p = BootCorePlan::new(4, CoreWiring::Straight).unwrap();
    assert_eq!((p.boot_index, p.boot_ebase, p.cpu_startup_core_id, p.reserved_cores_mask), (0, 0, 0, 0));
    assert_eq!((p.linux_cpus, p.device_interrupts_work), (4, true));
    assert_eq!(parked(&p), vec![(1, 1, true), (2, 2, true), (3, 3, true)]);

    assert_eq!(BootCorePlan::new(0, CoreWiring::Straight), Err(LefiError::CpuCount { count: 0, max: 16 }));
    assert_eq!(BootCorePlan::new(17, CoreWiring::ReversedQemu10), Err(LefiError::CpuCount { count: 17, max: 16 }));
}

// --- address helpers ------------------------------------------------------------------

#[test]
fn kseg_helpers() {
    // §0: KSEG0 address = 0xFFFF_FFFF_8000_0000 + PA for PA < 512 MiB.
    assert_eq!(addr::kseg0(0x0FF0_0000), Some(0xFFFF_FFFF_8FF0_0000));
    assert_eq!(addr::kseg0(0x1FFF_FFFF), Some(0xFFFF_FFFF_9FFF_FFFF));
    assert_eq!(addr::kseg0(0x2000_0000), None);
    // §4.1: QEMU's argv[0] entry 0x8FF0_0010.
    assert_eq!(addr::kseg0_u32(0x0FF0_0010), Some(0x8FF0_0010));
    assert_eq!(addr::initrd_virtual(0x0400_0000), 0xFFFF_FFFF_8400_0000);
    assert_eq!(addr::initrd_virtual(0x1_0000_0000), 0x9800_0001_0000_0000);
}

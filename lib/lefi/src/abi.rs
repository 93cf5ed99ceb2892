//! LEFI byte layout and fixed values: offsets, sizes, QEMU's known-good data.
//!
//! Everything here is ABI: numbers a stock Loongson-3 Linux kernel reads at
//! fixed byte offsets. Section numbers (§) refer to
//! `shared/specs/lefi-boot-protocol.md`; that document names the Linux files
//! (torvalds/linux `arch/mips/include/asm/mach-loongson64/boot_param.h`,
//! "L-BP") and QEMU files (qemu/qemu `hw/mips/loongson3_bootp.c`, "Q-BOOTP")
//! each number comes from. All fields are little-endian.
//!
//! Changing a value here changes what Linux sees; the tests in `tests.rs`
//! decode the block with their own copy of the offsets, so a slip in this file
//! shows up as a failing test rather than as a kernel that will not boot.

/// Rounds `value` up to a multiple of `align` (a power of two).
pub(crate) const fn align_up(value: usize, align: usize) -> usize {
    (value + align - 1) & !(align - 1)
}

// ---------------------------------------------------------------------------
// Table placement (§5.2)
// ---------------------------------------------------------------------------

/// Every table starts on a 64-byte boundary after the previous one, as QEMU
/// lays them out (§5.2, Q-BOOTP `init_loongson_params`, `ROUND_UP(…, 64)`).
pub const TABLE_ALIGN: usize = 64;

/// `boot_params` (§5.3): `efi_loongson` followed by `efi_reset_system_t`.
pub mod boot_params {
    /// `efi.mps` (unused, 0).
    pub const MPS: usize = 0x00;
    /// `efi.acpi` (unused, 0).
    pub const ACPI: usize = 0x08;
    /// `efi.acpi20` (unused, 0).
    pub const ACPI20: usize = 0x10;
    /// `efi.smbios.vers`, u16.
    pub const SMBIOS_VERS: usize = 0x18;
    /// `efi.smbios.vga_bios`, u64: 0 = no VGA BIOS (Linux would reserve 256 KiB there).
    pub const VGA_BIOS: usize = 0x20;
    /// `efi.smbios.lp`: the `loongson_params` the seven table offsets are relative to.
    pub const LP: usize = 0x28;
    /// `lp.memory_offset`, u64 (§5.3: order memory, cpu, system, irq, interface, special, boarddev).
    pub const LP_MEMORY_OFFSET: usize = 0x28;
    /// `lp.cpu_offset`, u64.
    pub const LP_CPU_OFFSET: usize = 0x30;
    /// `lp.system_offset`, u64.
    pub const LP_SYSTEM_OFFSET: usize = 0x38;
    /// `lp.irq_offset`, u64.
    pub const LP_IRQ_OFFSET: usize = 0x40;
    /// `lp.interface_offset`, u64.
    pub const LP_INTERFACE_OFFSET: usize = 0x48;
    /// `lp.special_offset`, u64 (before boarddev: the order is not alphabetical).
    pub const LP_SPECIAL_OFFSET: usize = 0x50;
    /// `lp.boarddev_table_offset`, u64.
    pub const LP_BOARDDEV_OFFSET: usize = 0x58;
    /// `efi.sal_systab` (unused, 0).
    pub const SAL_SYSTAB: usize = 0x60;
    /// `efi.boot_info` (unused, 0).
    pub const BOOT_INFO: usize = 0x68;
    /// `reset_system.ResetCold` (unused by Linux 6.x; QEMU stores the reset stub).
    pub const RESET_COLD: usize = 0x70;
    /// `reset_system.ResetWarm`: Linux's restart hook (§8, L-RESET).
    pub const RESET_WARM: usize = 0x78;
    /// `reset_system.ResetType` (unused, 0).
    pub const RESET_TYPE: usize = 0x80;
    /// `reset_system.Shutdown`: Linux's power-off hook (§8).
    pub const SHUTDOWN: usize = 0x88;
    /// `reset_system.DoSuspend`: 6.12 suspend-to-RAM entry (§8, L-PM).
    pub const DO_SUSPEND: usize = 0x90;
    /// Size of `boot_params` (§5.3).
    pub const SIZE: usize = 0x98;
    /// `efi.smbios.vers` as QEMU writes it (§5.3).
    pub const SMBIOS_VERS_VALUE: u16 = 1;
}

/// `efi_cpuinfo_loongson` (§5.4), packed.
pub mod cpuinfo {
    /// `vers`, u16.
    pub const VERS: usize = 0x00;
    /// `processor_id`, u32: the PRId (Linux reads CP0 PRId itself).
    pub const PROCESSOR_ID: usize = 0x02;
    /// `cputype`, u32: selects the IPI bases (`smp_group[]`) in Linux.
    pub const CPUTYPE: usize = 0x06;
    /// `total_node`, u32: ⌈nr_cpus / 4⌉ (not read by Linux 6.x).
    pub const TOTAL_NODE: usize = 0x0A;
    /// `cpu_startup_core_id`, u16: Linux's `boot_cpu_id`, the LIOINTC core bit.
    pub const CPU_STARTUP_CORE_ID: usize = 0x0E;
    /// `reserved_cores_mask`, u16: physical ids Linux skips.
    pub const RESERVED_CORES_MASK: usize = 0x10;
    /// `cpu_clock_freq`, u32 Hz: the CP0 Count rate is half of it (L-TIME).
    pub const CPU_CLOCK_FREQ: usize = 0x12;
    /// `nr_cpus`, u32: physical ids 0..nr_cpus−1 (0 makes Linux assume NR_CPUS).
    pub const NR_CPUS: usize = 0x16;
    /// `cpuname[64]`: QEMU-only, left zero.
    pub const CPUNAME: usize = 0x1A;
    /// Size as QEMU lays it out (Linux's struct ends at 0x1A), §5.4.
    pub const SIZE: usize = 0x5A;
    /// `cputype` Loongson_3A (L-BP `enum loongson_cpu_type`), the value
    /// `loongson3-virt` needs (§5.4: 3B gives wrong node IPI bases, anything
    /// else leaves Linux on one CPU).
    pub const CPUTYPE_LOONGSON_3A: u32 = 0x300;
}

/// `efi_memory_map_loongson` (§5.5): packed outer struct, 24-byte entries.
pub mod memmap {
    /// `vers`, u16.
    pub const VERS: usize = 0x00;
    /// `nr_map`, u32.
    pub const NR_MAP: usize = 0x02;
    /// `mem_freq`, u32 (unused by Linux).
    pub const MEM_FREQ: usize = 0x06;
    /// `map[0]`: unaligned start of the entry array (§5.1 "Trap").
    pub const MAP: usize = 0x0A;
    /// Stride of `map[]`: 20 bytes of fields + 4 bytes tail padding (§5.1, \[run\]).
    pub const ENTRY_SIZE: usize = 24;
    /// Capacity of `map[]` (L-BP `LOONGSON3_BOOT_MEM_MAP_MAX`).
    pub const MAX_ENTRIES: usize = 128;
    /// Entry field `node_id`, u32.
    pub const ENTRY_NODE_ID: usize = 0;
    /// Entry field `mem_type`, u32 (§7).
    pub const ENTRY_MEM_TYPE: usize = 4;
    /// Entry field `mem_start`, u64: physical address within the node.
    pub const ENTRY_MEM_START: usize = 8;
    /// Entry field `mem_size`, u32: MiB (bit 31 would mean bytes; never used here).
    pub const ENTRY_MEM_SIZE: usize = 16;
    /// Size of the table (§5.5).
    pub const SIZE: usize = MAP + ENTRY_SIZE * MAX_ENTRIES;
    /// `mem_freq` as QEMU writes it (§5.5).
    pub const MEM_FREQ_VALUE: u32 = 300_000_000;
    /// `mem_type` SYSTEM_RAM_LOW: usable (§7, L-INIT `szmem`).
    pub const SYSTEM_RAM_LOW: u32 = 1;
    /// `mem_type` SYSTEM_RAM_HIGH: usable (§7).
    pub const SYSTEM_RAM_HIGH: u32 = 2;
    /// Unit of `mem_size` when bit 31 is clear (§7).
    pub const MEM_SIZE_UNIT: u64 = 1 << 20;
    /// Linux builds the physical address as `(node_id << 44) | mem_start` (§7).
    pub const NODE_SHIFT: u32 = 44;
}

/// `system_loongson` (§5.6), packed.
pub mod system {
    /// `vers`, u16.
    pub const VERS: usize = 0x0000;
    /// `ccnuma_smp`, u32.
    pub const CCNUMA_SMP: usize = 0x0002;
    /// `sing_double_channel`, u32.
    pub const SING_DOUBLE_CHANNEL: usize = 0x0006;
    /// `nr_uarts`, u32.
    pub const NR_UARTS: usize = 0x000A;
    /// `uarts[0]` (`uart_device`, 20 bytes each).
    pub const UARTS: usize = 0x000E;
    /// `uart_device.iotype`, u32.
    pub const UART_IOTYPE: usize = 0;
    /// `uart_device.uartclk`, u32.
    pub const UART_UARTCLK: usize = 4;
    /// `uart_device.int_offset`, u32.
    pub const UART_INT_OFFSET: usize = 8;
    /// `uart_device.uart_base`, u64.
    pub const UART_BASE: usize = 12;
    /// `workarounds`, u64: ORed into Linux's workaround flags; must be 0 here.
    pub const WORKAROUNDS: usize = 0x2364;
    /// Size as QEMU lays it out (with its extra `of_dtb_addr`), §5.6.
    pub const SIZE: usize = 0x2374;
    /// `sing_double_channel` as QEMU writes it (§5.6).
    pub const SING_DOUBLE_CHANNEL_VALUE: u32 = 1;
    /// `nr_uarts` as QEMU writes it (§5.6).
    pub const NR_UARTS_VALUE: u32 = 1;
    /// `uarts[0].iotype` as QEMU writes it (§5.6).
    pub const UART_IOTYPE_VALUE: u32 = 2;
    /// `uarts[0].uartclk` as QEMU writes it (§5.6).
    pub const UART_UARTCLK_VALUE: u32 = 25_000_000;
    /// `uarts[0].int_offset` as QEMU writes it (§5.6).
    pub const UART_INT_OFFSET_VALUE: u32 = 2;
    /// `uarts[0].uart_base`: the 16550 at PA 0x1FE0_01E0 (§5.6, `loongson3-virt.md` §4).
    pub const UART_BASE_VALUE: u64 = 0x1FE0_01E0;
}

/// `irq_source_routing_table` (§5.7), packed.
pub mod irq {
    /// `node_id`, u32.
    pub const NODE_ID: usize = 0x24;
    /// `pci_mem_start_addr`, u64.
    pub const PCI_MEM_START: usize = 0x28;
    /// `pci_mem_end_addr`, u64.
    pub const PCI_MEM_END: usize = 0x30;
    /// `pci_io_start_addr`, u64.
    pub const PCI_IO_START: usize = 0x38;
    /// `dma_mask_bits`, u16: read by Linux (outside 32..64 → 32 and coherent).
    pub const DMA_MASK_BITS: usize = 0x50;
    /// `dma_noncoherent`, u16: read by Linux; 0 = coherent DMA.
    pub const DMA_NONCOHERENT: usize = 0x52;
    /// Size (§5.7).
    pub const SIZE: usize = 0x54;
    /// PCI memory window start as QEMU writes it (§5.7, `loongson3-virt.md` §4).
    pub const PCI_MEM_START_VALUE: u64 = 0x4000_0000;
    /// PCI memory window end (inclusive) as QEMU writes it (§5.7).
    pub const PCI_MEM_END_VALUE: u64 = 0x7FFF_FFFF;
    /// PCI I/O window start as QEMU writes it (§5.7).
    pub const PCI_IO_START_VALUE: u64 = 0x1800_0000;
    /// `dma_mask_bits` as QEMU writes it: 64-bit coherent DMA (§5.7).
    pub const DMA_MASK_BITS_VALUE: u16 = 64;
}

/// `interface_info` (§5.8), packed.
pub mod interface {
    /// `vers`, u16.
    pub const VERS: usize = 0x00;
    /// `size`, u16.
    pub const SIZE_FIELD: usize = 0x02;
    /// `flag`, u8.
    pub const FLAG: usize = 0x04;
    /// `description[64]`: NUL-terminated, shown in `/sys/firmware/lefi/boardinfo`.
    pub const DESCRIPTION: usize = 0x05;
    /// Size (§5.8).
    pub const SIZE: usize = 0x45;
    /// `vers` as QEMU writes it (§5.8).
    pub const VERS_VALUE: u16 = 1;
}

/// `board_devices` (§5.9), natural alignment.
pub mod board_devices {
    /// `name[64]`: NUL-terminated board name.
    pub const NAME: usize = 0x00;
    /// `num_resources`, u32 (0).
    pub const NUM_RESOURCES: usize = 0x40;
    /// Size (§5.9): name, count, padding and 128 × 88-byte `resource_loongson`.
    pub const SIZE: usize = 0x2C48;
}

/// `loongson_special_attribute` (§5.10), natural alignment.
pub mod special {
    /// `vers`, u16.
    pub const VERS: usize = 0x00;
    /// `special_name[64]`: NUL-terminated "Release Date".
    pub const SPECIAL_NAME: usize = 0x02;
    /// `loongson_special_type`, u32.
    pub const SPECIAL_TYPE: usize = 0x44;
    /// Size (§5.10).
    pub const SIZE: usize = 0x2C48;
}

/// Length of the three sysfs string fields (board name, interface
/// description, special name); they must be NUL-terminated inside it because
/// Linux copies them with unbounded string copies (§5.10, L-BINFO).
pub const STRING_FIELD_LEN: usize = 64;

/// Table offsets from `boot_params`, in QEMU's order (§5.2): cpuinfo, memory
/// map, system, irq, interface, board devices, special attribute. Computed
/// from the sizes so the arithmetic is visible; the tests check the result
/// against the literal offsets of §5.2.
pub mod placement {
    use super::{TABLE_ALIGN, align_up};

    /// `efi_cpuinfo_loongson` (§5.2: 0x00C0).
    pub const CPUINFO: usize = align_up(super::boot_params::SIZE, TABLE_ALIGN);
    /// `efi_memory_map_loongson` (§5.2: 0x0140).
    pub const MEMMAP: usize = align_up(CPUINFO + super::cpuinfo::SIZE, TABLE_ALIGN);
    /// `system_loongson` (§5.2: 0x0D80).
    pub const SYSTEM: usize = align_up(MEMMAP + super::memmap::SIZE, TABLE_ALIGN);
    /// `irq_source_routing_table` (§5.2: 0x3100).
    pub const IRQ: usize = align_up(SYSTEM + super::system::SIZE, TABLE_ALIGN);
    /// `interface_info` (§5.2: 0x3180).
    pub const INTERFACE: usize = align_up(IRQ + super::irq::SIZE, TABLE_ALIGN);
    /// `board_devices` (§5.2: 0x3200).
    pub const BOARD_DEVICES: usize = align_up(INTERFACE + super::interface::SIZE, TABLE_ALIGN);
    /// `loongson_special_attribute` (§5.2: 0x5E80).
    pub const SPECIAL: usize = align_up(BOARD_DEVICES + super::board_devices::SIZE, TABLE_ALIGN);
    /// End of the tables (§5.2: 0x8B00); the argv area follows.
    pub const END: usize = align_up(SPECIAL + super::special::SIZE, TABLE_ALIGN);
}

/// Linux with CONFIG_KEXEC copies this many bytes from a2 during boot
/// (§5.2, L-RESET `mips_reboot_setup`); the tables must be at least this long.
pub const KEXEC_COPY_LEN: usize = 4800;

const _: () = assert!(placement::END >= KEXEC_COPY_LEN);

// ---------------------------------------------------------------------------
// argv (§4.1)
// ---------------------------------------------------------------------------

/// argv area layout (§4.1, mirroring QEMU's block at PA 0x0FF0_0000): four u32
/// slots (`argv[0]`, `argv[1]`, the terminating 0, padding), then the strings.
pub mod argv {
    /// Number of u32 slots before the strings.
    pub const SLOTS: usize = 4;
    /// Size of one argv entry: Linux reads 32-bit pointers and sign-extends
    /// them (§4.1, L-CMD `fw_argv`).
    pub const SLOT_SIZE: usize = 4;
    /// Offset of the first string ("g").
    pub const STRINGS: usize = SLOTS * SLOT_SIZE;
    /// `argv[0]`: ignored by Linux; QEMU passes "g" after PMON's boot command (§4.1).
    pub const PROGRAM_NAME: &[u8] = b"g";
    /// Length of the NUL that ends each C string.
    pub const NUL_LEN: usize = 1;
    /// argc: `argv[0]` and the whole command line as `argv[1]` (§4.1, §14 item 5).
    pub const ARGC: u64 = 2;
    /// Linux's COMMAND_LINE_SIZE on MIPS (torvalds/linux
    /// `arch/mips/include/uapi/asm/setup.h`): the concatenated line, NUL included.
    pub const COMMAND_LINE_SIZE: usize = 4096;
}

//! LEFI hand-off: the tables, argv and registers that start Loongson-3 Linux.
//!
//! A stock MIPS Loongson-3 kernel expects its firmware to enter it with
//! a0 = argc, a1 = argv (32-bit sign-extended pointers), a2 = `boot_params`
//! (the LEFI tables), a3 = 0 (`shared/specs/lefi-boot-protocol.md` §1, §3).
//! [`build`] writes everything those registers point at into one buffer the
//! caller provides, laid out for the physical address the buffer will be
//! copied to, and returns the register values and the byte ranges used. The
//! firmware then only copies bytes, reserves the ranges, and jumps.
//!
//! Block layout (offsets from the block's start, which is `boot_params`):
//!
//! | Offset | Content |
//! |---|---|
//! | 0x0000 .. 0x8B00 | `boot_params` and the seven tables, at QEMU's offsets (§5.2) |
//! | 0x8B00 | argv: u32 `argv[0]`, `argv[1]`, 0, 0 |
//! | 0x8B10 | "g\0", then the command line and its NUL |
//!
//! The memory map follows `loongson3-virt`'s RAM model ([`memory`]); the
//! boot-core plan of §13 is in [`smp`]. Values that only QEMU's `-kernel`
//! boot fixes (board strings, PRId) are parameters with QEMU's known-good
//! values as constants.
//!
//! Spec notes (details in the module docs):
//! * `system_loongson` has no bridge-type field; Linux decides the VIRTUAL
//!   bridge from the PCI vendor ID at PA 0x1A00_0000 (§10), so nothing is
//!   written for it.
//! * §7 describes `mem_size` bit 31 (bytes) as if every 6.x kernel had it; it
//!   arrived with torvalds/linux commit c7206e7bd214 (stable backports from
//!   Dec 2023), so this crate reports whole MiB only ([`memory`]).
//! * §13's odd-N rule b = (N − 1) / 2 gives `cpu_startup_core_id` ≥ 4 for
//!   N ≥ 9, which the LIOINTC route byte cannot express ([`smp`]).
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod addr;
mod cmdline;
mod error;
pub mod initrd;
pub mod memory;
pub mod smp;

#[cfg(test)]
mod tests;

pub use addr::PhysRange;
pub use cmdline::{Initrd, MAX_COMMAND_LINE_LEN};
pub use error::{EntryPoint, LefiError, StringField};
pub use memory::{MemoryEntry, RamLayout};
pub use smp::{BootCorePlan, CoreWiring, ParkedCore};

use abi::{
    STRING_FIELD_LEN, argv, board_devices, boot_params, cpuinfo, interface, irq, memmap, placement, special, system,
};
use cmdline::CommandLine;

/// The block's physical address must be aligned like QEMU's tables (§5.2),
/// which also gives every naturally aligned field its alignment.
pub const BLOCK_ALIGN: u64 = abi::TABLE_ALIGN as u64;
/// Offset of the argv area in the block: right after the tables.
pub const ARGV_OFFSET: usize = placement::END;
/// Largest block [`build`] writes: tables, argv slots, "g\0", the longest
/// command line and its NUL. A buffer this size never gives
/// [`LefiError::BufferTooSmall`].
pub const MAX_BLOCK_SIZE: usize =
    ARGV_OFFSET + argv::STRINGS + argv::PROGRAM_NAME.len() + argv::NUL_LEN + argv::COMMAND_LINE_SIZE;
/// Initrd start alignment: 64 KiB, as QEMU uses, valid for 16 KiB-page
/// (Debian) and 64 KiB-page kernels (§4.2).
pub const INITRD_ALIGN: u64 = 64 << 10;
/// `cpu_clock_freq` on `loongson3-virt`: Linux's timer runs at half, and
/// QEMU's Count runs at 400 MHz (§5.4 "must be 800 MHz on QEMU").
pub const QEMU_CPU_CLOCK_HZ: u32 = 800_000_000;
/// PRId of QEMU's default Loongson-3A1000 vCPU, as QEMU fills `processor_id` (§5.4).
pub const QEMU_PROCESSOR_ID: u32 = 0x6305;

/// What LEFI says about the CPUs (§5.4, §12, §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuConfig {
    /// `nr_cpus`: number of physical CPU ids, 1..=16.
    pub count: u16,
    /// `cpu_startup_core_id`: the LIOINTC core the boot core owns.
    pub startup_core_id: u16,
    /// `reserved_cores_mask`: physical ids Linux must skip; its lowest clear
    /// bit is Linux's boot CPU and must equal `startup_core_id`.
    pub reserved_cores_mask: u16,
    /// `cpu_clock_freq` in Hz ([`QEMU_CPU_CLOCK_HZ`] on `loongson3-virt`).
    pub clock_hz: u32,
    /// `processor_id`: the PRId (informational; Linux reads CP0 PRId).
    pub processor_id: u32,
}

impl CpuConfig {
    /// The LEFI CPU fields for a boot-core plan.
    pub fn from_plan(plan: &BootCorePlan, clock_hz: u32, processor_id: u32) -> Self {
        Self {
            count: plan.cpu_count,
            startup_core_id: plan.cpu_startup_core_id,
            reserved_cores_mask: plan.reserved_cores_mask,
            clock_hz,
            processor_id,
        }
    }

    fn validate(&self) -> Result<(), LefiError> {
        if self.count == 0 || self.count > smp::MAX_CPUS {
            return Err(LefiError::CpuCount { count: self.count, max: smp::MAX_CPUS });
        }
        if self.startup_core_id >= self.count || self.startup_core_id >= smp::LIOINTC_CORES {
            return Err(LefiError::StartupCore {
                core: self.startup_core_id,
                count: self.count,
                liointc_cores: smp::LIOINTC_CORES,
            });
        }
        let existing = if self.count == smp::MAX_CPUS { u16::MAX } else { (1u16 << self.count) - 1 };
        let lowest_unreserved = (!self.reserved_cores_mask).trailing_zeros();
        if self.reserved_cores_mask & !existing != 0 || lowest_unreserved != u32::from(self.startup_core_id) {
            return Err(LefiError::ReservedCoresMask {
                mask: self.reserved_cores_mask,
                count: self.count,
                startup_core: self.startup_core_id,
            });
        }
        if self.clock_hz == 0 {
            return Err(LefiError::CpuClockZero);
        }
        Ok(())
    }

    /// `total_node`: nodes of 4 cores (§5.4).
    fn total_node(&self) -> u32 {
        u32::from(self.count.div_ceil(smp::CORES_PER_NODE))
    }
}

/// Firmware routines Linux calls through `reset_system` (§8). Each is 0 (the
/// hook is not registered) or an instruction-aligned KSEG0/KSEG1/XKPHYS
/// address of code outside the RAM Linux uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareEntryPoints {
    /// `ResetWarm` (also stored as `ResetCold`, as QEMU does): write 0x00 to
    /// the PM byte and spin.
    pub reset: u64,
    /// `Shutdown`: write 0xFF to the PM byte and spin.
    pub power_off: u64,
    /// `DoSuspend` (Linux 6.12): a0 = resume address, a1 = stack; 0 disables
    /// suspend-to-RAM. Whether the round trip works on QEMU is UNVERIFIED (§8).
    pub suspend: u64,
}

/// The three strings `/sys/firmware/lefi/boardinfo` shows (§5.8–§5.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardStrings<'a> {
    /// `board_devices.name`; text before the first '-' is the manufacturer.
    pub board_name: &'a str,
    /// `interface_info.description`; text before the first '-' is the vendor.
    pub interface_description: &'a str,
    /// `loongson_special_attribute.special_name`, shown as "Release Date".
    pub special_name: &'a str,
}

impl BoardStrings<'static> {
    /// QEMU 10.0.2's values for `loongson3-virt` (§5.8–§5.10, \[run\]).
    pub const QEMU: Self = Self {
        board_name: "Loongson-3A-VIRT-1w-V1.00-demo",
        interface_description: "UEFI_Version_v1.0",
        special_name: "2018-05-01",
    };
}

impl BoardStrings<'_> {
    fn validate(&self) -> Result<(), LefiError> {
        for (field, text) in [
            (StringField::BoardName, self.board_name),
            (StringField::InterfaceDescription, self.interface_description),
            (StringField::SpecialName, self.special_name),
        ] {
            if text.len() >= STRING_FIELD_LEN || text.bytes().any(|b| b == 0) {
                return Err(LefiError::BadString { field, len: text.len(), max: STRING_FIELD_LEN - 1 });
            }
        }
        Ok(())
    }
}

/// Everything [`build`] needs.
#[derive(Clone, Copy, Debug)]
pub struct LefiParams<'a> {
    /// Physical address the block will be copied to: [`BLOCK_ALIGN`]-aligned,
    /// with the whole block below 256 MiB (low RAM, reachable through KSEG0)
    /// and outside the RAM reported usable, i.e. inside `ram.reserved` (e.g.
    /// 0x0F00_0000..0x1000_0000 as QEMU keeps). Its KSEG0 address, which a1
    /// and a2 use, is `0xFFFF_FFFF_8000_0000 + block_pa`.
    pub block_pa: u64,
    /// RAM and the firmware's reserved ranges.
    pub ram: RamLayout<'a>,
    /// CPU description.
    pub cpus: CpuConfig,
    /// The user's command line (without initrd words).
    pub command_line: &'a str,
    /// The initrd, already in usable RAM.
    pub initrd: Option<Initrd>,
    /// Reset, power-off and suspend routines.
    pub entry_points: FirmwareEntryPoints,
    /// Board, interface and release strings.
    pub strings: BoardStrings<'a>,
}

/// What the firmware needs for the jump, and what it must keep reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// argc.
    pub a0: u64,
    /// Sign-extended KSEG0 address of argv[].
    pub a1: u64,
    /// Sign-extended KSEG0 address of `boot_params`.
    pub a2: u64,
    /// Always 0 (§3).
    pub a3: u64,
    /// Everything written: `block_pa .. block_pa + bytes written`.
    pub block: PhysRange,
    /// The LEFI tables (`boot_params` to the end of the last table).
    pub tables: PhysRange,
    /// argv slots and strings.
    pub argv: PhysRange,
    /// Number of memory-map entries written.
    pub memory_entries: usize,
}

impl Handoff {
    /// a0..a3 in order.
    pub fn registers(&self) -> [u64; 4] {
        [self.a0, self.a1, self.a2, self.a3]
    }
}

/// Little-endian stores into the block.
struct Out<'a>(&'a mut [u8]);

impl Out<'_> {
    fn bytes(&mut self, offset: usize, data: &[u8]) {
        self.0[offset..offset + data.len()].copy_from_slice(data);
    }
    fn u16(&mut self, offset: usize, value: u16) {
        self.bytes(offset, &value.to_le_bytes());
    }
    fn u32(&mut self, offset: usize, value: u32) {
        self.bytes(offset, &value.to_le_bytes());
    }
    fn u64(&mut self, offset: usize, value: u64) {
        self.bytes(offset, &value.to_le_bytes());
    }
}

/// Offset of a table from `lp`, as `loongson_params` stores it (§5.1).
const fn lp_offset(table: usize) -> u64 {
    (table - boot_params::LP) as u64
}

/// Builds the LEFI block for `params` into `buf` (whose byte 0 will live at
/// `params.block_pa`) and returns the registers for the jump.
///
/// Bytes of `buf` beyond [`Handoff::block`] are left untouched; all bytes
/// inside it that the spec does not list are zeroed (§5.2).
pub fn build(params: &LefiParams<'_>, buf: &mut [u8]) -> Result<Handoff, LefiError> {
    params.strings.validate()?;
    for (which, address) in [
        (EntryPoint::Reset, params.entry_points.reset),
        (EntryPoint::PowerOff, params.entry_points.power_off),
        (EntryPoint::Suspend, params.entry_points.suspend),
    ] {
        if address != 0 && !addr::is_unmapped_code_address(address) {
            return Err(LefiError::BadEntryPoint { which, address });
        }
    }
    params.cpus.validate()?;
    let ram = &params.ram;
    ram.validate()?;
    let memory_entries = ram.usable_count();
    if memory_entries == 0 {
        return Err(LefiError::NoUsableRam);
    }
    if memory_entries > memmap::MAX_ENTRIES {
        return Err(LefiError::TooManyMemoryEntries { needed: memory_entries, max: memmap::MAX_ENTRIES });
    }
    let line = CommandLine::new(params.command_line, params.initrd)?;

    // Block placement.
    let program_name_at = ARGV_OFFSET + argv::STRINGS;
    let line_at = program_name_at + argv::PROGRAM_NAME.len() + argv::NUL_LEN;
    let needed = line_at + line.len() + argv::NUL_LEN;
    let block = PhysRange::from_start_len(params.block_pa, needed as u64)
        .ok_or(LefiError::NotKseg0 { range: PhysRange::new(params.block_pa, u64::MAX) })?;
    if block.end > addr::KSEG_SIZE {
        return Err(LefiError::NotKseg0 { range: block });
    }
    if !block.start.is_multiple_of(BLOCK_ALIGN) {
        return Err(LefiError::MisalignedBlock { pa: block.start, align: BLOCK_ALIGN });
    }
    if block.end > memory::LOW_WINDOW_SIZE {
        return Err(LefiError::BlockNotInLowRam { block, low_ram_end: memory::LOW_WINDOW_SIZE });
    }
    if let Some(usable) = ram.usable_overlapping(&block) {
        return Err(LefiError::BlockInUsableRam { block, usable });
    }
    if buf.len() < needed {
        return Err(LefiError::BufferTooSmall { needed, available: buf.len() });
    }

    if let Some(initrd) = params.initrd {
        if initrd.size == 0 {
            return Err(LefiError::InitrdEmpty);
        }
        if !initrd.pa.is_multiple_of(INITRD_ALIGN) {
            return Err(LefiError::InitrdMisaligned { pa: initrd.pa, align: INITRD_ALIGN });
        }
        let range = PhysRange::from_start_len(initrd.pa, initrd.size)
            .ok_or(LefiError::InitrdNotInUsableRam { initrd: PhysRange::new(initrd.pa, u64::MAX) })?;
        if !ram.is_usable(&range) {
            return Err(LefiError::InitrdNotInUsableRam { initrd: range });
        }
    }

    // Every address below is inside the block, which is below 512 MiB.
    let va = |offset: usize| addr::KSEG0_BASE + params.block_pa + offset as u64;
    let argv_u32 = |offset: usize| va(offset) as u32;

    let out = &mut buf[..needed];
    out.fill(0);
    let mut out = Out(out);
    write_boot_params(&mut out, &params.entry_points);
    write_cpuinfo(&mut out, &params.cpus);
    write_memory_map(&mut out, ram);
    write_system(&mut out);
    write_irq(&mut out);
    write_strings(&mut out, &params.strings);

    // argv (§4.1): argv[0] → "g", argv[1] → the command line, argv[2] = 0.
    out.u32(ARGV_OFFSET, argv_u32(program_name_at));
    out.u32(ARGV_OFFSET + argv::SLOT_SIZE, argv_u32(line_at));
    out.bytes(program_name_at, argv::PROGRAM_NAME);
    line.write(&mut out.0[line_at..]);

    let base = params.block_pa;
    Ok(Handoff {
        a0: argv::ARGC,
        a1: va(ARGV_OFFSET),
        a2: va(0),
        a3: 0,
        block,
        tables: PhysRange::new(base, base + placement::END as u64),
        argv: PhysRange::new(base + ARGV_OFFSET as u64, block.end),
        memory_entries,
    })
}

fn write_boot_params(out: &mut Out<'_>, entries: &FirmwareEntryPoints) {
    out.u16(boot_params::SMBIOS_VERS, boot_params::SMBIOS_VERS_VALUE);
    out.u64(boot_params::LP_MEMORY_OFFSET, lp_offset(placement::MEMMAP));
    out.u64(boot_params::LP_CPU_OFFSET, lp_offset(placement::CPUINFO));
    out.u64(boot_params::LP_SYSTEM_OFFSET, lp_offset(placement::SYSTEM));
    out.u64(boot_params::LP_IRQ_OFFSET, lp_offset(placement::IRQ));
    out.u64(boot_params::LP_INTERFACE_OFFSET, lp_offset(placement::INTERFACE));
    out.u64(boot_params::LP_SPECIAL_OFFSET, lp_offset(placement::SPECIAL));
    out.u64(boot_params::LP_BOARDDEV_OFFSET, lp_offset(placement::BOARD_DEVICES));
    out.u64(boot_params::RESET_COLD, entries.reset);
    out.u64(boot_params::RESET_WARM, entries.reset);
    out.u64(boot_params::SHUTDOWN, entries.power_off);
    out.u64(boot_params::DO_SUSPEND, entries.suspend);
}

fn write_cpuinfo(out: &mut Out<'_>, cpus: &CpuConfig) {
    let at = placement::CPUINFO;
    out.u32(at + cpuinfo::PROCESSOR_ID, cpus.processor_id);
    out.u32(at + cpuinfo::CPUTYPE, cpuinfo::CPUTYPE_LOONGSON_3A);
    out.u32(at + cpuinfo::TOTAL_NODE, cpus.total_node());
    out.u16(at + cpuinfo::CPU_STARTUP_CORE_ID, cpus.startup_core_id);
    out.u16(at + cpuinfo::RESERVED_CORES_MASK, cpus.reserved_cores_mask);
    out.u32(at + cpuinfo::CPU_CLOCK_FREQ, cpus.clock_hz);
    out.u32(at + cpuinfo::NR_CPUS, u32::from(cpus.count));
}

fn write_memory_map(out: &mut Out<'_>, ram: &RamLayout<'_>) {
    let at = placement::MEMMAP;
    out.u32(at + memmap::MEM_FREQ, memmap::MEM_FREQ_VALUE);
    let mut n = 0usize;
    ram.for_each_usable(&mut |entry| {
        let e = at + memmap::MAP + n * memmap::ENTRY_SIZE;
        let node = entry.range.start >> memmap::NODE_SHIFT;
        let in_node = entry.range.start & ((1 << memmap::NODE_SHIFT) - 1);
        let mib = entry.range.len() / memmap::MEM_SIZE_UNIT;
        // Node and MiB count fit: RAM ends below 2^44 (RamLayout::validate).
        out.u32(e + memmap::ENTRY_NODE_ID, node as u32);
        out.u32(e + memmap::ENTRY_MEM_TYPE, entry.mem_type);
        out.u64(e + memmap::ENTRY_MEM_START, in_node);
        out.u32(e + memmap::ENTRY_MEM_SIZE, mib as u32);
        n += 1;
    });
    out.u32(at + memmap::NR_MAP, n as u32);
}

fn write_system(out: &mut Out<'_>) {
    let at = placement::SYSTEM;
    out.u32(at + system::SING_DOUBLE_CHANNEL, system::SING_DOUBLE_CHANNEL_VALUE);
    out.u32(at + system::NR_UARTS, system::NR_UARTS_VALUE);
    let uart = at + system::UARTS;
    out.u32(uart + system::UART_IOTYPE, system::UART_IOTYPE_VALUE);
    out.u32(uart + system::UART_UARTCLK, system::UART_UARTCLK_VALUE);
    out.u32(uart + system::UART_INT_OFFSET, system::UART_INT_OFFSET_VALUE);
    out.u64(uart + system::UART_BASE, system::UART_BASE_VALUE);
}

fn write_irq(out: &mut Out<'_>) {
    let at = placement::IRQ;
    out.u64(at + irq::PCI_MEM_START, irq::PCI_MEM_START_VALUE);
    out.u64(at + irq::PCI_MEM_END, irq::PCI_MEM_END_VALUE);
    out.u64(at + irq::PCI_IO_START, irq::PCI_IO_START_VALUE);
    out.u16(at + irq::DMA_MASK_BITS, irq::DMA_MASK_BITS_VALUE);
}

fn write_strings(out: &mut Out<'_>, strings: &BoardStrings<'_>) {
    out.u16(placement::INTERFACE + interface::VERS, interface::VERS_VALUE);
    // The buffer was zeroed, so each string is NUL-terminated (validated < 64 bytes).
    out.bytes(placement::INTERFACE + interface::DESCRIPTION, strings.interface_description.as_bytes());
    out.bytes(placement::BOARD_DEVICES + board_devices::NAME, strings.board_name.as_bytes());
    out.bytes(placement::SPECIAL + special::SPECIAL_NAME, strings.special_name.as_bytes());
}

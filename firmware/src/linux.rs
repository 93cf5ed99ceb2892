//! Handoff to a stock Loongson-3 Linux through LEFI.
//!
//! The kernel is already validated and copied (`loader`). This module
//! places the initrd (`tianshan_lefi::initrd` says where and why), builds the LEFI tables and argv with `tianshan-lefi`
//! in the handoff area (which the LEFI memory map keeps out of Linux's RAM,
//! together with the firmware's own RAM), and enters Linux on the core the
//! boot-core plan names (`shared/specs/lefi-boot-protocol.md` §12–§13): on
//! QEMU 10.0.2 with an odd CPU count that is not the core running the
//! firmware, which then releases it through its mailbox and parks itself.
//!
//! Linux's RAM (the LEFI memory map) is all RAM less the firmware-resident
//! areas, the firmware's own RAM and the handoff area: the scratch region
//! the files were loaded into is never withheld from it, and Linux keeps
//! its own image and the initrd (`rd_start`, `rd_size`) by itself, as with
//! QEMU's own boot, so both stay inside the RAM it is given. Anything else
//! placed for Linux that it would not keep by itself joins `reserved`.

use crate::board::Board;
use crate::loader::BootError;
use crate::platform::Platform;
use crate::timing::Timeline;
use tianshan_bootinfo::{MemoryKind, Phase};
use tianshan_drivers::println;
use tianshan_elf::LoadPlan;
use tianshan_lefi::addr::PhysRange;
use tianshan_lefi::smp::{BootCorePlan, CoreWiring};
use tianshan_lefi::{BoardStrings, CpuConfig, FirmwareEntryPoints, Initrd, LefiParams, RamLayout};

/// Bytes for the released core's entry block {a0, a2, a3, entry}.
const ENTRY_BLOCK: u64 = 32;
/// How long to wait for the boot core to report parked: 1 s of Count.
const PARK_WAIT_SECONDS: u64 = 1;

/// Copies `bytes` to where [`tianshan_lefi::initrd::initrd_site`] puts the
/// initrd (the bottom of RAM above 512 MiB, out of reach of the kernel's
/// decompressor and KASLR); returns where.
fn place_initrd<B: Board>(board: &B, plan: &LoadPlan, bytes: &[u8]) -> Result<Initrd, BootError> {
    if bytes.is_empty() {
        return Err(BootError::InitrdEmpty);
    }
    let free = plan
        .memory_map
        .regions()
        .iter()
        .filter(|r| r.kind == MemoryKind::Usable)
        .map(|r| PhysRange::new(r.base, r.base + r.size));
    let (_, kernel_end) = plan.phys_span();
    let size = bytes.len() as u64;
    let pa = tianshan_lefi::initrd::initrd_site(free, size, kernel_end).ok_or(BootError::InitrdNoRoom { size })?;
    let va = board.phys_to_virt(pa);
    // SAFETY: `initrd_site` chose `[pa, pa + size)` inside one usable
    // region of the load plan's map (so outside the kernel, the firmware,
    // the handoff area and the scratch region the bytes come from), and
    // the cached window maps it; nothing else refers to it.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u8, bytes.len()) }.copy_from_slice(bytes);
    Ok(Initrd { pa, size })
}

/// Builds LEFI and enters Linux. Returns only on failure.
pub fn enter_linux<B: Board>(
    board: &B,
    platform: &Platform,
    plan: &LoadPlan,
    cmdline: &str,
    initrd: Option<&[u8]>,
    timeline: &mut Timeline,
) -> BootError {
    let initrd = match initrd.map(|bytes| place_initrd(board, plan, bytes)).transpose() {
        Ok(i) => i,
        Err(e) => return e,
    };
    let wiring = if platform.smp.reversed { CoreWiring::ReversedQemu10 } else { CoreWiring::Straight };
    let core_plan = match BootCorePlan::new(platform.cpu_count as u16, wiring) {
        Ok(p) => p,
        Err(e) => return BootError::Lefi(e),
    };
    let services = board.rom_services();
    let reserved = [PhysRange::new(B::FIRMWARE_RAM.base, B::HANDOFF_RAM.base + B::HANDOFF_RAM.size)];
    let params = LefiParams {
        block_pa: B::HANDOFF_RAM.base,
        ram: RamLayout { ram_size: platform.ram_size, reserved: &reserved },
        cpus: CpuConfig::from_plan(&core_plan, platform.cpu_hz as u32, tianshan_lefi::QEMU_PROCESSOR_ID),
        command_line: cmdline,
        initrd,
        entry_points: FirmwareEntryPoints {
            reset: services.reset,
            power_off: services.power_off,
            suspend: services.suspend,
        },
        strings: BoardStrings::QEMU,
    };
    let block_va = board.phys_to_virt(B::HANDOFF_RAM.base);
    let block_len = (B::HANDOFF_RAM.size as usize).min(tianshan_lefi::MAX_BLOCK_SIZE);
    // SAFETY: the handoff area is firmware-reserved RAM (see `platform`),
    // carved out of the load plan's map, mapped by the cached window, and
    // used for nothing else during this boot.
    let buf = unsafe { core::slice::from_raw_parts_mut(block_va as *mut u8, block_len) };
    let handoff = match tianshan_lefi::build(&params, buf) {
        Ok(h) => h,
        Err(e) => return BootError::Lefi(e),
    };
    timeline.mark(Phase::Handoff, board.counter());
    println!(
        "handoff: Linux via LEFI at {:#x}, {} of {} CPU{} for Linux, boot core EBase {}{}, entering {:#x}",
        B::HANDOFF_RAM.base,
        core_plan.linux_cpus,
        core_plan.cpu_count,
        if core_plan.cpu_count == 1 { "" } else { "s" },
        core_plan.boot_ebase,
        match initrd {
            Some(i) => alloc::format!(", initrd at {:#x} ({} bytes)", i.pa, i.size),
            None => alloc::string::String::new(),
        },
        plan.entry
    );
    if !core_plan.device_interrupts_work {
        println!(
            "handoff: warning: with {} CPUs QEMU 10.0.2 wires no core so that Linux's interrupt handler works; use an odd -smp",
            core_plan.cpu_count
        );
    }
    let my_ebase = board.cpu_num();
    if u32::from(core_plan.boot_ebase) == my_ebase {
        // SAFETY: the kernel is loaded, the LEFI block and argv written.
        unsafe { board.enter_os(plan.entry, handoff.registers()) }
    }
    // Another core must run Linux: hand it a0, a2, a3 and the entry through
    // a block right after the LEFI tables, release it, and park this one.
    let Some(block) = core_plan.ipi_block_of(core_plan.boot_ebase) else {
        return BootError::CoreNotParked { ebase: u32::from(core_plan.boot_ebase) };
    };
    let start = board.counter();
    while !board.core_parked(u32::from(block)) {
        if u64::from(board.counter().wrapping_sub(start)) > PARK_WAIT_SECONDS * platform.counter_hz {
            return BootError::CoreNotParked { ebase: u32::from(core_plan.boot_ebase) };
        }
    }
    let entry_pa = handoff.block.end.next_multiple_of(ENTRY_BLOCK);
    if entry_pa + ENTRY_BLOCK > B::HANDOFF_RAM.base + B::HANDOFF_RAM.size {
        return BootError::Lefi(tianshan_lefi::LefiError::BufferTooSmall {
            needed: (entry_pa + ENTRY_BLOCK - B::HANDOFF_RAM.base) as usize,
            available: B::HANDOFF_RAM.size as usize,
        });
    }
    let entry_va = board.phys_to_virt(entry_pa);
    let words = [handoff.a0, handoff.a2, handoff.a3, plan.entry];
    // SAFETY: 32 bytes inside the reserved handoff area, past the LEFI
    // block; the released core reads them before Linux runs.
    unsafe { core::slice::from_raw_parts_mut(entry_va as *mut u64, words.len()) }.copy_from_slice(&words);
    board.release_core(u32::from(block), services.enter_os, 0, entry_va, handoff.a1);
    // SAFETY: Linux now owns the machine; this core waits for it on its
    // own mailbox like every other secondary.
    unsafe { board.park_this_core() }
}

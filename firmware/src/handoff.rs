//! Handoff phase: write the boot-info block and jump to the kernel.
//!
//! The block goes at the start of the board's handoff area, which the memory
//! map reports as `boot-info`. The map in the block is the load plan's with
//! the scratch region given back as usable (`loader::hand_on`): a
//! Tianshan kernel takes no initrd, so nothing else is kept for it.
//! Register contract at entry: see `docs/boot-protocol.md`.

use crate::FIRMWARE_VERSION;
use crate::board::Board;
use crate::loader::{self, BootError};
use crate::platform::Platform;
use crate::timing::Timeline;
use tianshan_bootinfo::{BootInfoWriter, HANDOFF_MAGIC, MAX_BLOCK_SIZE, Phase};
use tianshan_drivers::println;
use tianshan_elf::LoadPlan;

/// Writes the boot info for `plan` and enters the kernel. Returns only on
/// failure, before anything irreversible.
pub fn enter_kernel<B: Board>(
    board: &B,
    platform: &Platform,
    plan: &mut LoadPlan,
    cmdline: &str,
    timeline: &mut Timeline,
) -> BootError {
    if cmdline.len() >= B::MAX_CMDLINE {
        return BootError::CmdlineTooLong { len: cmdline.len(), max: B::MAX_CMDLINE - 1 };
    }
    if let Err(e) = loader::hand_on(platform, plan, &[]) {
        return e;
    }
    timeline.mark(Phase::Handoff, board.counter());

    let block_va = board.phys_to_virt(B::HANDOFF_RAM.base);
    let block_len = MAX_BLOCK_SIZE.min(B::HANDOFF_RAM.size as usize);
    // SAFETY: the handoff area is carved out of RAM as `boot-info` in the
    // memory map, so no kernel segment was loaded there, and the firmware
    // keeps no other reference to it.
    let block = unsafe { core::slice::from_raw_parts_mut(block_va as *mut u8, block_len) };
    let devices = crate::devices::boot_info_devices(board);
    let writer = BootInfoWriter {
        memory_map: &plan.memory_map,
        cmdline,
        board: B::NAME,
        firmware_version: FIRMWARE_VERSION,
        console: board.console(),
        counter_hz: platform.counter_hz,
        timings: timeline.marks(),
        cpu_count: platform.cpu_count,
        boot_cpu: 0,
        devices: &devices,
    };
    let size = match writer.write(block) {
        Ok(size) => size,
        Err(e) => return BootError::BootInfo(e),
    };
    println!("handoff: boot info at {:#x} ({size} bytes), entering kernel at {:#x}", B::HANDOFF_RAM.base, plan.entry);
    // SAFETY: `plan` was loaded by `loader::load` and the block is written.
    unsafe { board.enter_kernel(plan.entry, HANDOFF_MAGIC, block_va) }
}

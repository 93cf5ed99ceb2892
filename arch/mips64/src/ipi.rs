//! Loongson-3 IPI blocks (one per core): mailboxes and inter-processor
//! interrupts, and the park word secondary cores wait for at reset.
//!
//! Source: `shared/specs/loongson3-virt.md` §15.2 (block layout; 32/64-bit
//! accesses only; reached through XKPHYS, so Status.KX must be set) and
//! `lefi-boot-protocol.md` §12 (the mailbox protocol).

use crate::addr::xkphys_uncached;
use core::arch::asm;

/// Physical base of node 0, core 0's block.
pub const IPI_BASE: u64 = 0x3FF0_1000;
/// Distance between the blocks of a node's cores.
const CORE_STRIDE: u64 = 0x100;
/// Node n's blocks are at `n << NODE_SHIFT` above node 0's.
const NODE_SHIFT: u32 = 44;
/// Cores per node.
pub const CORES_PER_NODE: u32 = 4;
/// Pending IPI bits (read).
pub const STATUS: u64 = 0x00;
/// Enable mask.
pub const EN: u64 = 0x04;
/// Write 1s to raise.
pub const SET: u64 = 0x08;
/// Write 1s to clear.
pub const CLEAR: u64 = 0x0C;
/// MAILBOX0: the PC a parked core jumps to (written last).
pub const MAILBOX_PC: u64 = 0x20;
/// MAILBOX1: its stack pointer.
pub const MAILBOX_SP: u64 = 0x28;
/// MAILBOX2: its global pointer.
pub const MAILBOX_GP: u64 = 0x30;
/// MAILBOX3: its a1; holds `PARKED_MARKER` while the core waits.
pub const MAILBOX_A1: u64 = 0x38;
/// What a parked core writes to its MAILBOX3 ("PARK").
pub const PARKED_MARKER: u64 = 0x5041_524B;
/// Upper half of a valid park word ("TSPK").
pub const PARK_MAGIC: u64 = 0x5453_504B;
/// Cause.IP6: this core's IPI line.
pub const CAUSE_IP6: u32 = 1 << 14;

/// The uncached address of IPI block `index` (node = index / 4).
pub const fn block(index: u32) -> u64 {
    let node = (index / CORES_PER_NODE) as u64;
    let core = (index % CORES_PER_NODE) as u64;
    xkphys_uncached(IPI_BASE + core * CORE_STRIDE + (node << NODE_SHIFT))
}

/// Reads a 32-bit register of a block.
///
/// # Safety
///
/// `block` must be an existing core's block (`block(i)` for i < CPU count)
/// and Status.KX must be set.
pub unsafe fn read32(block: u64, reg: u64) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { ((block + reg) as *const u32).read_volatile() }
}

/// Writes a 32-bit register of a block.
///
/// # Safety
///
/// As for `read32`.
pub unsafe fn write32(block: u64, reg: u64, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe { ((block + reg) as *mut u32).write_volatile(value) }
}

/// Reads a 64-bit mailbox.
///
/// # Safety
///
/// As for `read32`.
pub unsafe fn read64(block: u64, reg: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { ((block + reg) as *const u64).read_volatile() }
}

/// Writes a 64-bit mailbox.
///
/// # Safety
///
/// As for `read32`; writing MAILBOX0 of a parked core starts it.
pub unsafe fn write64(block: u64, reg: u64, value: u64) {
    // SAFETY: forwarded from the caller.
    unsafe { ((block + reg) as *mut u64).write_volatile(value) }
}

unsafe extern "C" {
    static mut __tianshan_park_info: u64;
}

/// Publishes the park word: secondary cores waiting at reset read it to
/// find their IPI block (block = N − 1 − CPUNum when `reversed`, else
/// CPUNum).
pub fn publish_park_word(cpu_count: u32, reversed: bool) {
    let word = (PARK_MAGIC << 32) | (u64::from(reversed) << 16) | u64::from(cpu_count & 0xFFFF);
    // SAFETY: the park word is a 16-byte .bss object the reset code defines;
    // only the boot core writes it (once per boot), secondaries read it with
    // one 64-bit load, so they never see a torn value.
    unsafe {
        core::ptr::addr_of_mut!(__tianshan_park_info).write_volatile(word);
        asm!("sync", options(nostack));
    }
}

/// Starts the core parked on `block`: MAILBOX3 (a1), MAILBOX2 (gp),
/// MAILBOX1 (sp), a barrier, then MAILBOX0 (pc), so the core sees all four.
///
/// # Safety
///
/// As for `read32`; `pc` must be code the core can run with those values.
pub unsafe fn release(block: u64, pc: u64, sp: u64, gp: u64, a1: u64) {
    // SAFETY: forwarded from the caller.
    unsafe {
        write64(block, MAILBOX_A1, a1);
        write64(block, MAILBOX_GP, gp);
        write64(block, MAILBOX_SP, sp);
        asm!("sync", options(nostack));
        write64(block, MAILBOX_PC, pc);
    }
}

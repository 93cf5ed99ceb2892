//! Cache maintenance needed when code is written to memory and then run.
//!
//! Loongson-3 keeps data caches coherent with DMA, but the instruction cache
//! is not kept coherent with stores. `synci` (MIPS64 R2) writes back the data
//! line and invalidates the instruction line for one address; the step size
//! comes from `rdhwr $1` (SYNCI_Step). QEMU models no caches, so this costs
//! almost nothing there and is required on hardware.

use core::arch::asm;

/// Makes instructions stored in `[start, start + len)` visible to fetch.
pub fn sync_icache(start: u64, len: u64) {
    let step: u64;
    // SAFETY: `rdhwr $1` reads SYNCI_Step; it is enabled in kernel mode.
    unsafe {
        asm!(".set push", ".set mips64r2", ".set noat", "rdhwr {0}, $1", ".set pop", out(reg) step, options(nomem, nostack))
    };
    if step == 0 {
        // No caches need synchronising (SYNCI_Step = 0 by definition).
        return;
    }
    let mut addr = start & !(step - 1);
    let end = start.saturating_add(len);
    while addr < end {
        // SAFETY: `synci` only operates on cache lines, never faults on
        // cached unmapped addresses, and changes no architectural memory.
        unsafe { asm!(".set push", ".set noat", "synci 0({0})", ".set pop", in(reg) addr, options(nostack)) };
        addr += step;
    }
    // SAFETY: `sync` orders memory; the hazard barrier discards prefetched
    // instructions so the next fetch sees the new code.
    unsafe { asm!("sync", "ehb", options(nostack)) };
}

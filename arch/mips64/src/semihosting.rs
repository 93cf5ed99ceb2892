//! MIPS UHI semihosting: the calls Tianshan makes to the host emulator.
//!
//! Calling convention (MIPS "Unified Hosting Interface" v1.0, and QEMU
//! `target/mips/tcg/system/mips-semi.c`): the operation number in t9 ($25),
//! arguments from a0, then `sdbbp 1`. QEMU honours it only when started with
//! `-semihosting`; without it `sdbbp` raises a debug exception instead.

use core::arch::asm;

/// UHI operation: terminate the program with an exit code.
const UHI_EXIT: u64 = 1;

/// Ends the emulation with `code` as QEMU's exit status.
///
/// Returns only if the host did not act on the call (no `-semihosting`).
pub fn exit(code: i32) {
    // SAFETY: the UHI exit call reads t9 and a0 and ends the emulator; if
    // semihosting is off, `sdbbp` traps like any other exception.
    unsafe {
        asm!(
            "sdbbp 1",
            in("$25") UHI_EXIT,
            in("$4") code as i64 as u64,
            options(nostack)
        )
    }
}

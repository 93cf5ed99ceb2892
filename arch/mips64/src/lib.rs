//! MIPS64 (Loongson-3) CPU boundary: the only crate with MIPS assembly.
//!
//! Everything above this crate talks about the CPU through these functions
//! and types. The address-space helpers are plain arithmetic and build on any
//! host (so library code can be tested there); the CP0, cache, semihosting
//! and entry pieces exist only when compiling for `target_arch = "mips64"`.
#![no_std]
#![cfg_attr(target_arch = "mips64", feature(asm_experimental_arch))]

pub mod addr;
#[cfg(target_arch = "mips64")]
pub mod cache;
#[cfg(target_arch = "mips64")]
pub mod context;
#[cfg(target_arch = "mips64")]
pub mod cp0;
#[cfg(target_arch = "mips64")]
pub mod entry;
#[cfg(target_arch = "mips64")]
pub mod ipi;
#[cfg(target_arch = "mips64")]
pub mod semihosting;
pub mod trap;

/// Stops this core until an enabled interrupt arrives (`wait`).
///
/// With interrupts disabled (Status.IE = 0) QEMU never wakes a core from
/// `wait`, so this is also how a core parks itself for good.
#[cfg(target_arch = "mips64")]
#[inline(always)]
pub fn wait_for_interrupt() {
    // SAFETY: `wait` only suspends the core; it touches no memory.
    unsafe { core::arch::asm!("wait", options(nomem, nostack)) }
}

/// Parks this core forever with interrupts off.
#[cfg(target_arch = "mips64")]
pub fn halt() -> ! {
    cp0::disable_interrupts();
    loop {
        wait_for_interrupt();
    }
}

/// Hands control to a loaded image: sets `a0`/`a1`, jumps to `entry`.
///
/// The caller's stack is abandoned; the image sets up its own.
///
/// # Safety
///
/// `entry` must be the address of code that expects the register contract
/// documented in `docs/boot-protocol.md`, and everything it needs (its
/// segments, the block `a1` points at) must already be in memory.
#[cfg(target_arch = "mips64")]
pub unsafe fn jump_to_image(entry: u64, a0: u64, a1: u64) -> ! {
    // SAFETY: the caller guarantees `entry` is valid code for this contract.
    unsafe {
        core::arch::asm!(
            ".set noat",
            "jr {entry}",
            entry = in(reg) entry,
            in("$4") a0,
            in("$5") a1,
            options(noreturn)
        )
    }
}

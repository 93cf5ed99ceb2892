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
#[cfg(target_arch = "mips64")]
pub mod tlb;
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

/// Continues with `f(arg)` on the stack whose top is `stack_top`. The
/// current stack, and everything on it, is abandoned.
///
/// # Safety
///
/// `stack_top` must be the 16-byte aligned top of a stack that nothing
/// still running uses, with room for everything `f` does.
#[cfg(target_arch = "mips64")]
pub unsafe fn restart_on_stack(stack_top: u64, f: extern "C" fn(u64) -> !, arg: u64) -> ! {
    // SAFETY: the caller guarantees the stack; `f` never returns, so
    // nothing comes back to the abandoned frames.
    unsafe {
        core::arch::asm!(
            "move $sp, {top}",
            "jalr $25",
            top = in(reg) stack_top,
            in("$25") f,
            in("$4") arg,
            options(noreturn)
        )
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

/// Enters an operating system the way Loongson-3 firmware does: a0..a3 as
/// given, Status and Cause zero (kernel mode, interrupts off, BEV clear).
///
/// # Safety
///
/// `entry` must be a loaded kernel that expects this contract (for Linux,
/// `shared/specs/lefi-boot-protocol.md` §3), with everything a0..a3 point
/// at in place.
#[cfg(target_arch = "mips64")]
pub unsafe fn enter_os(entry: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> ! {
    // SAFETY: the caller guarantees `entry` and the arguments.
    unsafe {
        core::arch::asm!(
            ".set noat",
            "mtc0 $zero, $13, 0",
            "mtc0 $zero, $12, 0",
            "ehb",
            "jr.hb {entry}",
            entry = in(reg) entry,
            in("$4") a0,
            in("$5") a1,
            in("$6") a2,
            in("$7") a3,
            options(noreturn)
        )
    }
}

unsafe extern "C" {
    fn __tianshan_rom_reset();
    fn __tianshan_rom_poweroff();
    fn __tianshan_rom_suspend();
    fn __tianshan_rom_enter_os();
}

/// ROM addresses of the services an OS may call after the firmware is gone
/// (reset, power-off, suspend) and of the routine a released core enters an
/// OS through. Only in the firmware (they come with `firmware_reset_entry!`).
#[cfg(target_arch = "mips64")]
pub fn rom_services() -> RomServices {
    RomServices {
        reset: __tianshan_rom_reset as *const () as u64,
        power_off: __tianshan_rom_poweroff as *const () as u64,
        suspend: __tianshan_rom_suspend as *const () as u64,
        enter_os: __tianshan_rom_enter_os as *const () as u64,
    }
}

/// See `rom_services`.
#[derive(Clone, Copy, Debug)]
pub struct RomServices {
    /// Resets the machine (never returns).
    pub reset: u64,
    /// Powers it off (never returns).
    pub power_off: u64,
    /// Requests suspend and returns.
    pub suspend: u64,
    /// Loads a0, a2, a3 and the entry from the block gp points at, zeroes
    /// Status and Cause and jumps.
    pub enter_os: u64,
}

/// Parks the calling core like a secondary at reset: on its own IPI
/// mailbox, for an OS to release. Only in the firmware.
///
/// # Safety
///
/// The park word must be published, and nothing may rely on this core
/// any more (its stack is abandoned).
#[cfg(target_arch = "mips64")]
pub unsafe fn park_this_core() -> ! {
    cp0::disable_interrupts();
    // SAFETY: the park routine uses registers only and never returns. It
    // lives in ROM while this code runs from RAM, outside the 256 MiB region
    // a `jal` can reach, so jump through a register.
    unsafe { core::arch::asm!(".set noat", "dla $25, __tianshan_park", "jr $25", options(noreturn)) }
}

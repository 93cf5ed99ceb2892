//! Coprocessor 0 access: the registers Tianshan reads and writes.
//!
//! Register numbers and fields: MIPS64 PRA, chapter "CP0 Registers"; reset
//! values on QEMU `loongson3-virt`: `shared/specs/loongson3-virt.md` §2.2.

use core::arch::asm;

bitflags::bitflags! {
    /// CP0 Status (register 12, select 0).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Status: u32 {
        /// Global interrupt enable.
        const IE = 1 << 0;
        /// Exception level: set by hardware on an exception.
        const EXL = 1 << 1;
        /// Error level: set at reset, NMI and cache error.
        const ERL = 1 << 2;
        /// 64-bit user segment enable.
        const UX = 1 << 5;
        /// 64-bit supervisor segment enable.
        const SX = 1 << 6;
        /// 64-bit kernel segments (XKPHYS, XKSEG) enable.
        const KX = 1 << 7;
        /// Interrupt mask, software interrupt 0.
        const IM0 = 1 << 8;
        /// Interrupt mask, software interrupt 1.
        const IM1 = 1 << 9;
        /// Interrupt mask, IP2.
        const IM2 = 1 << 10;
        /// Interrupt mask, IP3.
        const IM3 = 1 << 11;
        /// Interrupt mask, IP4.
        const IM4 = 1 << 12;
        /// Interrupt mask, IP5.
        const IM5 = 1 << 13;
        /// Interrupt mask, IP6.
        const IM6 = 1 << 14;
        /// Interrupt mask, IP7 (the Count/Compare timer here).
        const IM7 = 1 << 15;
        /// Bootstrap exception vectors (in the boot ROM).
        const BEV = 1 << 22;
        /// Coprocessor 1 (FPU) usable.
        const CU1 = 1 << 29;
        /// Bits this crate has no name for are kept as they are.
        const _ = !0;
    }
}

macro_rules! mfc0 {
    ($reg:literal, $sel:literal) => {{
        let v: u64;
        // SAFETY: reading a CP0 register has no side effects on memory.
        unsafe { asm!(".set push", ".set noat", concat!("mfc0 {0}, $", $reg, ", ", $sel), ".set pop", out(reg) v, options(nomem, nostack)) };
        v as u32
    }};
}

macro_rules! dmfc0 {
    ($reg:literal, $sel:literal) => {{
        let v: u64;
        // SAFETY: reading a CP0 register has no side effects on memory.
        unsafe { asm!(".set push", ".set noat", concat!("dmfc0 {0}, $", $reg, ", ", $sel), ".set pop", out(reg) v, options(nomem, nostack)) };
        v
    }};
}

/// Reads Status.
#[inline(always)]
pub fn status() -> Status {
    Status::from_bits_retain(mfc0!(12, 0))
}

/// Writes Status, followed by an execution hazard barrier.
///
/// # Safety
///
/// Status controls the exception level, interrupts and which address
/// segments are usable: the caller must know that the new value does not
/// pull away anything the running code relies on (the vectors BEV selects,
/// XKPHYS that KX enables, interrupts it cannot yet handle).
#[inline(always)]
pub unsafe fn set_status(s: Status) {
    // SAFETY: the caller vouches for the new Status value.
    unsafe {
        asm!(".set push", ".set noat", "mtc0 {0}, $12, 0", "ehb", ".set pop", in(reg) s.bits() as u64, options(nostack))
    }
}

/// Clears Status.IE: no interrupt is taken until it is set again.
pub fn disable_interrupts() {
    // SAFETY: masking interrupts cannot break code that runs with them on.
    unsafe { set_status(status() - Status::IE) }
}

/// Reads Cause (register 13).
pub fn cause() -> u32 {
    mfc0!(13, 0)
}

/// Reads Count (register 9): 400 MHz on `loongson3-virt` (CPU clock / 2).
#[inline(always)]
pub fn count() -> u32 {
    mfc0!(9, 0)
}

/// Writes Compare (register 11); this also clears a pending timer interrupt.
pub fn set_compare(value: u32) {
    // SAFETY: Compare only schedules the timer interrupt (IP7).
    unsafe {
        asm!(".set push", ".set noat", "mtc0 {0}, $11, 0", "ehb", ".set pop", in(reg) value as u64, options(nomem, nostack))
    }
}

/// Reads PRId (register 15, select 0).
pub fn prid() -> u32 {
    mfc0!(15, 0)
}

/// Reads EBase (register 15, select 1).
pub fn ebase() -> u64 {
    dmfc0!(15, 1)
}

/// EBase.CPUNum: the core number QEMU reports (`cpu_index`, bits 9:0).
pub fn cpu_num() -> u32 {
    (ebase() & 0x3FF) as u32
}

/// Sets the exception base (EBase bits 29:12) for when Status.BEV is 0.
///
/// # Safety
///
/// `base` must be 4 KiB aligned, in KSEG0/KSEG1, and hold exception vectors
/// at +0x000, +0x080, +0x100 and +0x180 before BEV is cleared.
pub unsafe fn set_ebase(base: u64) {
    // SAFETY: the caller vouches for the vectors at `base`.
    unsafe { asm!(".set push", ".set noat", "dmtc0 {0}, $15, 1", "ehb", ".set pop", in(reg) base, options(nostack)) }
}

/// Reads Config0 (register 16, select 0).
pub fn config0() -> u32 {
    mfc0!(16, 0)
}

/// Sets Status.IE and returns whether it was already set.
#[inline(always)]
pub fn enable_interrupts() -> bool {
    let s = status();
    // SAFETY: the kernel has installed its vectors before it enables
    // interrupts; enabling them is what this function is for.
    unsafe { set_status(s | Status::IE) };
    s.contains(Status::IE)
}

/// Disables interrupts and returns whether they were enabled, for
/// `irq_restore`.
#[inline(always)]
pub fn irq_save() -> bool {
    let s = status();
    if s.contains(Status::IE) {
        // SAFETY: masking interrupts is always allowed.
        unsafe { set_status(s - Status::IE) };
    }
    s.contains(Status::IE)
}

/// Re-enables interrupts if `was_enabled`.
#[inline(always)]
pub fn irq_restore(was_enabled: bool) {
    if was_enabled {
        enable_interrupts();
    }
}

/// Cause.IP0: software interrupt 0.
pub const CAUSE_IP0: u32 = 1 << 8;

/// Sets or clears software interrupt 0 (Cause.IP0), which is pending for
/// as long as it is set.
pub fn set_soft_irq0(pending: bool) {
    let c = cause();
    let v = if pending { c | CAUSE_IP0 } else { c & !CAUSE_IP0 };
    // SAFETY: only the software-interrupt bits of Cause are writable.
    unsafe {
        asm!(".set push", ".set noat", "mtc0 {0}, $13, 0", "ehb", ".set pop", in(reg) v as u64, options(nomem, nostack))
    }
}

/// Sets the interrupt mask bits Status.IM0..IM7 to `mask` (bit k = IPk).
pub fn set_interrupt_mask(mask: u8) {
    let s = status();
    let im = Status::from_bits_retain(u32::from(mask) << 8);
    let all = Status::from_bits_retain(0xFF << 8);
    // SAFETY: changing which lines are masked cannot break running code;
    // the kernel only unmasks lines it has handlers for.
    unsafe { set_status((s - all) | im) }
}

/// Clears the first watchpoint (WatchLo, register 18, select 0).
pub fn clear_watch() {
    // SAFETY: disabling a watchpoint has no effect on memory.
    unsafe { asm!(".set push", ".set noat", "dmtc0 $zero, $18, 0", "ehb", ".set pop", options(nomem, nostack)) }
}

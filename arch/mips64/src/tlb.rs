//! TLB initialisation: every entry made invalid and unique.
//!
//! The TLB holds random contents after power-up on real cores (QEMU starts
//! it zeroed); entries with equal VPN2 cause a machine check once the TLB is
//! used. Tianshan runs unmapped, but an OS inherits the TLB, so the
//! firmware invalidates it at reset. Method: MIPS64 PRA, "TLB
//! Initialization": each entry gets a distinct VPN2 in KSEG0 (never
//! translated through the TLB) and invalid EntryLo values.

use crate::cp0;
use core::arch::asm;

/// Config1.MMUSize (bits 30:25) is the number of TLB entries minus one.
const CONFIG1_MMU_SHIFT: u32 = 25;
const CONFIG1_MMU_MASK: u32 = 0x3F;
/// Distinct VPN2s, one per entry, in KSEG0 (never mapped).
const VPN2_BASE: u64 = 0xFFFF_FFFF_8000_0000;
/// One VPN2 step for 4 KiB pages (an even/odd pair is 8 KiB).
const VPN2_STEP: u64 = 0x2000;

/// Number of TLB entries.
pub fn entries() -> u32 {
    let config1: u64;
    // SAFETY: reading Config1 has no side effects.
    unsafe {
        asm!(".set push", ".set noat", "mfc0 {0}, $16, 1", ".set pop", out(reg) config1, options(nomem, nostack))
    };
    ((config1 as u32 >> CONFIG1_MMU_SHIFT) & CONFIG1_MMU_MASK) + 1
}

/// Invalidates every TLB entry.
pub fn invalidate_all() {
    let was = cp0::irq_save();
    for i in 0..entries() {
        let hi = VPN2_BASE + u64::from(i) * VPN2_STEP;
        // SAFETY: writes one TLB entry with a KSEG0 VPN2 (an address range
        // the TLB never translates) and invalid EntryLo0/1; no running code
        // depends on the TLB.
        unsafe {
            asm!(
                ".set push",
                ".set noat",
                "dmtc0 $zero, $2, 0", // EntryLo0
                "dmtc0 $zero, $3, 0", // EntryLo1
                "mtc0 $zero, $5, 0",  // PageMask: 4 KiB
                "dmtc0 {hi}, $10, 0", // EntryHi
                "mtc0 {i}, $0, 0",    // Index
                "ehb",
                "tlbwi",
                "ehb",
                ".set pop",
                hi = in(reg) hi,
                i = in(reg) u64::from(i),
                options(nostack)
            )
        }
    }
    // SAFETY: EntryHi back to ASID 0, VPN2 0.
    unsafe { asm!(".set push", ".set noat", "dmtc0 $zero, $10, 0", "ehb", ".set pop", options(nostack)) };
    cp0::irq_restore(was);
}

//! The saved CPU state of an exception, and how to name its cause.
//!
//! `TrapFrame`'s layout is shared with the assembly in `entry.rs`: the
//! offsets below are what that code stores to, so change both together.
//! Exception codes: MIPS64 PRA, Cause register, ExcCode field (bits 6:2).

use core::fmt;

/// Number of general-purpose registers saved (r0 is saved as zero).
pub const GPR_COUNT: usize = 32;

/// Everything the trap entry saves, in the order it stores it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct TrapFrame {
    /// r0..r31; `gpr[29]` is the stack pointer before the trap.
    pub gpr: [u64; GPR_COUNT],
    /// HI multiply/divide register.
    pub hi: u64,
    /// LO multiply/divide register.
    pub lo: u64,
    /// CP0 EPC: where the exception happened (or the branch before it).
    pub epc: u64,
    /// CP0 Status at the time of the trap.
    pub status: u64,
    /// CP0 Cause.
    pub cause: u64,
    /// CP0 BadVAddr: the faulting address for address and TLB exceptions.
    pub badvaddr: u64,
}

/// Size in bytes of a `TrapFrame` (the assembly reserves this much stack).
pub const TRAP_FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(TRAP_FRAME_SIZE == (GPR_COUNT + 6) * 8);
const _: () = assert!(TRAP_FRAME_SIZE.is_multiple_of(16), "n64 keeps sp 16-byte aligned");

/// Conventional n64 names of r0..r31, for register dumps.
pub const GPR_NAMES: [&str; GPR_COUNT] = [
    "zero", "at", "v0", "v1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t0", "t1", "t2", "t3", "s0", "s1", "s2",
    "s3", "s4", "s5", "s6", "s7", "t8", "t9", "k0", "k1", "gp", "sp", "s8", "ra",
];

/// Cause.ExcCode values (MIPS64 PRA, Table "Cause Register ExcCode Field").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExcCode {
    /// Interrupt.
    Int = 0,
    /// TLB modification.
    Mod = 1,
    /// TLB miss or invalid on load or instruction fetch.
    TlbL = 2,
    /// TLB miss or invalid on store.
    TlbS = 3,
    /// Address error on load or instruction fetch.
    AdEL = 4,
    /// Address error on store.
    AdES = 5,
    /// Bus error on instruction fetch.
    Ibe = 6,
    /// Bus error on data load or store.
    Dbe = 7,
    /// `syscall` instruction.
    Sys = 8,
    /// `break` instruction.
    Bp = 9,
    /// Reserved instruction.
    Ri = 10,
    /// Coprocessor unusable.
    CpU = 11,
    /// Integer overflow.
    Ov = 12,
    /// `teq` and friends.
    Tr = 13,
    /// Floating-point exception.
    Fpe = 15,
    /// Watchpoint.
    Watch = 23,
    /// Machine check.
    MCheck = 24,
}

impl ExcCode {
    /// A short human description.
    pub const fn description(self) -> &'static str {
        match self {
            ExcCode::Int => "interrupt",
            ExcCode::Mod => "TLB modification",
            ExcCode::TlbL => "TLB miss on load/fetch",
            ExcCode::TlbS => "TLB miss on store",
            ExcCode::AdEL => "address error on load/fetch",
            ExcCode::AdES => "address error on store",
            ExcCode::Ibe => "bus error on instruction fetch",
            ExcCode::Dbe => "bus error on data access",
            ExcCode::Sys => "syscall",
            ExcCode::Bp => "breakpoint",
            ExcCode::Ri => "reserved instruction",
            ExcCode::CpU => "coprocessor unusable",
            ExcCode::Ov => "integer overflow",
            ExcCode::Tr => "trap",
            ExcCode::Fpe => "floating-point exception",
            ExcCode::Watch => "watchpoint",
            ExcCode::MCheck => "machine check",
        }
    }
}

/// An ExcCode value this crate has no name for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownExcCode(pub u8);

impl TryFrom<u8> for ExcCode {
    type Error = UnknownExcCode;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Ok(match v {
            0 => ExcCode::Int,
            1 => ExcCode::Mod,
            2 => ExcCode::TlbL,
            3 => ExcCode::TlbS,
            4 => ExcCode::AdEL,
            5 => ExcCode::AdES,
            6 => ExcCode::Ibe,
            7 => ExcCode::Dbe,
            8 => ExcCode::Sys,
            9 => ExcCode::Bp,
            10 => ExcCode::Ri,
            11 => ExcCode::CpU,
            12 => ExcCode::Ov,
            13 => ExcCode::Tr,
            15 => ExcCode::Fpe,
            23 => ExcCode::Watch,
            24 => ExcCode::MCheck,
            other => return Err(UnknownExcCode(other)),
        })
    }
}

/// Cause.ExcCode: bits 6:2.
const CAUSE_EXCCODE_SHIFT: u64 = 2;
const CAUSE_EXCCODE_MASK: u64 = 0x1F;
/// Cause.BD: the faulting instruction is in a branch delay slot.
pub const CAUSE_BD: u64 = 1 << 31;

impl TrapFrame {
    /// The raw ExcCode field of the saved Cause.
    pub const fn exc_code_raw(&self) -> u8 {
        ((self.cause >> CAUSE_EXCCODE_SHIFT) & CAUSE_EXCCODE_MASK) as u8
    }

    /// The decoded exception code.
    pub fn exc_code(&self) -> Result<ExcCode, UnknownExcCode> {
        ExcCode::try_from(self.exc_code_raw())
    }

    /// True when the exception hit a branch delay slot.
    pub const fn in_delay_slot(&self) -> bool {
        self.cause & CAUSE_BD != 0
    }
}

/// Formats a trap frame as a register dump, one line per four registers.
pub struct RegisterDump<'a>(pub &'a TrapFrame);

impl fmt::Display for RegisterDump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let what = match t.exc_code() {
            Ok(code) => code.description(),
            Err(_) => "unknown exception",
        };
        writeln!(
            f,
            "exception: {} (ExcCode {}){}",
            what,
            t.exc_code_raw(),
            if t.in_delay_slot() { " in a branch delay slot" } else { "" }
        )?;
        writeln!(
            f,
            "  epc {:#018x}  badvaddr {:#018x}  cause {:#010x}  status {:#010x}",
            t.epc, t.badvaddr, t.cause, t.status
        )?;
        for row in 0..GPR_COUNT / 4 {
            for col in 0..4 {
                let i = row * 4 + col;
                write!(f, "  {:>4} {:#018x}", GPR_NAMES[i], t.gpr[i])?;
            }
            writeln!(f)?;
        }
        write!(f, "    hi {:#018x}    lo {:#018x}", t.hi, t.lo)
    }
}

/// Values the break self-test loads into callee-saved registers.
#[cfg(target_arch = "mips64")]
const BREAK_TEST_PATTERN: [u64; 8] = [
    0x0123_4567_89AB_CDEF,
    0x1111_2222_3333_4444,
    0xDEAD_BEEF_0BAD_F00D,
    0x5555_AAAA_5555_AAAA,
    0x0F0F_0F0F_F0F0_F0F0,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0001,
    0xA5A5_5A5A_C3C3_3C3C,
];

/// Loads a pattern into s0..s7, executes `break`, and returns whether every
/// register came back unchanged, so a self-test can check that the trap
/// path restores what it saved. The caller must have arranged for the
/// trap handler to skip the `break` (advance EPC by 4).
#[cfg(target_arch = "mips64")]
pub fn break_preserves_registers() -> bool {
    let mut out = [0u64; 8];
    let p = &BREAK_TEST_PATTERN;
    // SAFETY: the asm saves and restores s0..s7 around the test itself
    // through the declared operands; `break` traps to the installed handler,
    // which the caller has told to resume after it.
    unsafe {
        core::arch::asm!(
            "break 7",
            inout("$16") p[0] => out[0],
            inout("$17") p[1] => out[1],
            inout("$18") p[2] => out[2],
            inout("$19") p[3] => out[3],
            inout("$20") p[4] => out[4],
            inout("$21") p[5] => out[5],
            inout("$22") p[6] => out[6],
            inout("$23") p[7] => out[7],
        )
    }
    out == *p
}

/// Address `load_unmapped` reads: in the user segment, which has no TLB
/// entries in Tianshan, so any access misses.
pub const UNMAPPED_TEST_ADDRESS: u64 = 0x10;

/// Loads from an unmapped user address: raises a TLB miss on load. For
/// testing the kernel's fault path. (An unaligned load would not do:
/// QEMU lets Loongson-3 cores load unaligned data without trapping.)
#[cfg(target_arch = "mips64")]
pub fn load_unmapped() {
    let addr = core::hint::black_box(UNMAPPED_TEST_ADDRESS);
    let _value: u64;
    // SAFETY: the load faults before it reads anything; this exists only
    // to exercise the fault handler, which does not return here. The
    // result goes to a real register because QEMU drops loads into $zero.
    unsafe { core::arch::asm!("ld {1}, 0({0})", in(reg) addr, out(reg) _value, options(nostack, readonly)) }
}

/// Executes `break`: a breakpoint exception, for testing a trap path.
#[cfg(target_arch = "mips64")]
pub fn raise_break() {
    // SAFETY: `break` only traps; whether and where execution resumes is
    // the installed handler's choice.
    unsafe { core::arch::asm!("break 0", options(nomem, nostack)) }
}

/// Issues system call `nr` with argument `arg` (the kernel-task ABI:
/// v0 = number, a0 = argument, result in v0).
#[cfg(target_arch = "mips64")]
pub fn syscall(nr: u64, arg: u64) -> u64 {
    let ret: u64;
    // SAFETY: `syscall` traps to the kernel, which returns after it with
    // the result in v0; the trap path restores every other register from
    // its frame (k0/k1 aside, which compiled code never uses).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("$2") nr => ret,
            in("$4") arg,
        )
    }
    ret
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn decodes_cause() {
        let frame = TrapFrame { cause: (7 << 2) | CAUSE_BD, ..Default::default() };
        assert_eq!(frame.exc_code(), Ok(ExcCode::Dbe));
        assert!(frame.in_delay_slot());
        let frame = TrapFrame { cause: 31 << 2, ..Default::default() };
        assert_eq!(frame.exc_code(), Err(UnknownExcCode(31)));
    }

    #[test]
    fn dump_names_cause_and_registers() {
        let mut frame = TrapFrame { cause: 4 << 2, epc: 0x8020_1234, badvaddr: 0x9000, ..Default::default() };
        frame.gpr[29] = 0xFFFF_FFFF_8FFF_FF00;
        let text = RegisterDump(&frame).to_string();
        assert!(text.starts_with("exception: address error on load/fetch (ExcCode 4)"), "{text}");
        assert!(text.contains("badvaddr 0x0000000000009000"), "{text}");
        assert!(text.contains("  sp 0xffffffff8fffff00"), "{text}");
        assert_eq!(text.lines().count(), 2 + 8 + 1);
    }
}

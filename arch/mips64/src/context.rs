//! Kernel task context switching.
//!
//! A task's context is what a function call does not already save: the
//! callee-saved registers s0..s7, s8/fp, gp, sp, ra, and CP0 Status (so a
//! task switched away from inside a trap handler resumes with EXL set,
//! and one that yielded resumes with its own interrupt state).
//!
//! Register contract of `switch_context(from, to)`: a0 = where to save the
//! current context, a1 = context to load. Clobbers every caller-saved
//! register (it is a call). Returns, in the task `to` describes, to that
//! task's saved ra.

use core::arch::{asm, global_asm};

/// Saved registers of a task that is not running.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Context {
    /// s0..s7 ($16..$23).
    pub s: [u64; 8],
    /// s8/fp ($30).
    pub fp: u64,
    /// gp ($28).
    pub gp: u64,
    /// sp ($29).
    pub sp: u64,
    /// ra ($31).
    pub ra: u64,
    /// CP0 Status.
    pub status: u64,
    _pad: u64,
}

global_asm!(
    ".section .text.switch_context, \"ax\", @progbits",
    ".globl __tianshan_switch_context",
    "__tianshan_switch_context:",
    ".set push",
    ".set noat",
    "    sd $16, 0($a0)\n    sd $17, 8($a0)\n    sd $18, 16($a0)\n    sd $19, 24($a0)",
    "    sd $20, 32($a0)\n    sd $21, 40($a0)\n    sd $22, 48($a0)\n    sd $23, 56($a0)",
    "    sd $30, 64($a0)\n    sd $28, 72($a0)\n    sd $29, 80($a0)\n    sd $31, 88($a0)",
    "    mfc0 $t0, $12, 0",
    "    sd $t0, 96($a0)",
    "    ld $16, 0($a1)\n    ld $17, 8($a1)\n    ld $18, 16($a1)\n    ld $19, 24($a1)",
    "    ld $20, 32($a1)\n    ld $21, 40($a1)\n    ld $22, 48($a1)\n    ld $23, 56($a1)",
    "    ld $30, 64($a1)\n    ld $28, 72($a1)\n    ld $29, 80($a1)\n    ld $31, 88($a1)",
    "    ld $t0, 96($a1)",
    "    mtc0 $t0, $12, 0",
    "    ehb",
    "    jr $31",
    // A new task starts here (its context's ra): s0 = entry, s1 = argument.
    ".globl __tianshan_task_start",
    "__tianshan_task_start:",
    "    move $a0, $s1",
    "    move $t9, $s0",
    "    jalr $t9",
    "1:  b 1b",
    ".set pop",
);

unsafe extern "C" {
    fn __tianshan_switch_context(from: *mut Context, to: *const Context);
    fn __tianshan_task_start();
}

/// Saves the running context into `from` and resumes `to`.
///
/// # Safety
///
/// Interrupts must be disabled; `to` must hold a context saved by this
/// function or built by `Context::new_task`, whose stack is still
/// allocated; `from` must stay valid until the task is resumed.
#[inline]
pub unsafe fn switch_context(from: *mut Context, to: *const Context) {
    // SAFETY: forwarded from the caller; the asm follows the C ABI.
    unsafe { __tianshan_switch_context(from, to) }
}

impl Context {
    /// A context that starts `entry(arg)` on the stack whose top is
    /// `stack_top`, with Status `status` (interrupts off, normally), and
    /// `gp` as the kernel's global pointer. `entry` must never return.
    pub fn new_task(entry: extern "C" fn(u64) -> !, arg: u64, stack_top: u64, status: u64, gp: u64) -> Self {
        let mut c = Context {
            sp: stack_top & !15,
            gp,
            status,
            ra: __tianshan_task_start as *const () as usize as u64,
            ..Default::default()
        };
        c.s[0] = entry as *const () as usize as u64;
        c.s[1] = arg;
        c
    }
}

/// The current global pointer, for building new task contexts.
pub fn current_gp() -> u64 {
    let gp: u64;
    // SAFETY: reads a register.
    unsafe { asm!("move {0}, $28", out(reg) gp, options(nomem, nostack)) };
    gp
}

/// The current stack pointer (for stack checks and backtraces).
pub fn current_sp() -> u64 {
    let sp: u64;
    // SAFETY: reads a register.
    unsafe { asm!("move {0}, $29", out(reg) sp, options(nomem, nostack)) };
    sp
}

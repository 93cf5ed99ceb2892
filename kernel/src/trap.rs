//! Kernel exception handling: interrupts, system calls, breakpoints,
//! watchpoints, and faults.
//!
//! * Interrupt: dispatched by `irq`, then the scheduler may switch tasks
//!   before the trap returns (preemption).
//! * `syscall`: the kernel-task system call ABI below; EPC moves past the
//!   instruction.
//! * `break`: consumed if a self-test announced it (`EXPECTED_BREAKS`),
//!   otherwise a fault.
//! * Watch: reported, the watchpoint cleared, execution continues.
//! * Everything else (address errors, TLB load/store/modify, bus errors,
//!   reserved instruction, coprocessor unusable, overflow, trap): a kernel
//!   fault. It sends the console output still queued, then prints the
//!   registers and a best-effort backtrace through the lock-free console
//!   path, then follows the panic policy (`panic=` on the command line):
//!   halt (default) or reset after N seconds.
//!
//! System calls (v0 = number, a0.. = arguments, result in v0):
//!
//! | v0 | name | result |
//! |---|---|---|
//! | 1 | yield | 0 |
//! | 2 | uptime | monotonic nanoseconds |
//! | 3 | task id | the calling task's id |

use crate::board::Board;
use crate::cpu::cp0;
use crate::cpu::trap::{ExcCode, RegisterDump, TrapFrame};
use crate::{irq, sched, time};
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use spin::Once;
use tianshan_drivers::console::EmergencyWriter;

/// `break` traps the self-tests still expect; each one is consumed.
pub static EXPECTED_BREAKS: AtomicU32 = AtomicU32::new(0);
/// Expected breaks handled so far.
pub static HANDLED_BREAKS: AtomicU32 = AtomicU32::new(0);
/// System calls handled so far.
pub static SYSCALLS: AtomicU64 = AtomicU64::new(0);
/// Size of a MIPS instruction.
const INSN: u64 = 4;
/// Registers of the system call ABI.
const V0: usize = 2;

/// System call numbers.
pub mod sys {
    /// Give up the CPU.
    pub const YIELD: u64 = 1;
    /// Monotonic time in nanoseconds.
    pub const UPTIME_NS: u64 = 2;
    /// The caller's task id.
    pub const TASK_ID: u64 = 3;
}
/// Returned in v0 for an unknown system call.
pub const ENOSYS: u64 = u64::MAX;

/// What to do after a kernel fault or panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanicPolicy {
    /// Stop the CPU (default): the message stays on the console.
    Halt,
    /// Reset the machine after this many seconds.
    Reset(u32),
}

static POLICY: Once<PanicPolicy> = Once::new();
/// Seconds before a reset when `panic=reset` gives none.
const DEFAULT_RESET_SECONDS: u32 = 5;

/// Reads `panic=halt`, `panic=reset` or `panic=reset:N` from the command line.
pub fn parse_policy(cmdline: &str) -> Result<PanicPolicy, &str> {
    let Some(v) = cmdline.split_ascii_whitespace().find_map(|w| w.strip_prefix("panic=")) else {
        return Ok(PanicPolicy::Halt);
    };
    match v.split_once(':') {
        None if v == "halt" => Ok(PanicPolicy::Halt),
        None if v == "reset" => Ok(PanicPolicy::Reset(DEFAULT_RESET_SECONDS)),
        Some(("reset", n)) => n.parse().map(PanicPolicy::Reset).map_err(|_| v),
        _ => Err(v),
    }
}

/// Sets the panic policy (once, at boot).
pub fn set_policy(p: PanicPolicy) {
    POLICY.call_once(|| p);
}

/// Handles one trap; returns to resume at `frame.epc`.
pub fn handle<B: Board>(board: &B, frame: &mut TrapFrame) {
    match frame.exc_code() {
        Ok(ExcCode::Int) => {
            let lines = ((frame.cause & frame.status) >> 8) as u32 & 0xFF;
            irq::dispatch(lines);
            sched::preempt_from_trap();
        }
        Ok(ExcCode::Sys) if !frame.in_delay_slot() => {
            SYSCALLS.fetch_add(1, Ordering::Relaxed);
            frame.epc += INSN;
            frame.gpr[V0] = match frame.gpr[V0] {
                sys::YIELD => {
                    sched::yield_now();
                    0
                }
                sys::UPTIME_NS => time::monotonic_ns(),
                sys::TASK_ID => u64::from(sched::current()),
                _ => ENOSYS,
            };
        }
        Ok(ExcCode::Bp)
            if !frame.in_delay_slot()
                && EXPECTED_BREAKS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok() =>
        {
            HANDLED_BREAKS.fetch_add(1, Ordering::AcqRel);
            frame.epc += INSN;
        }
        Ok(ExcCode::Watch) => {
            let _ = writeln!(
                EmergencyWriter,
                "kernel: watchpoint hit at epc {:#x} (address {:#x}); watchpoint cleared",
                frame.epc, frame.badvaddr
            );
            crate::cpu::cp0::clear_watch();
        }
        _ => fatal(board, frame),
    }
}

/// Prints return addresses found on the stack above `sp` (best effort:
/// without frame records, any word that points into kernel text counts).
fn backtrace<B: Board>(board: &B, frame: &TrapFrame) {
    const MAX_WORDS: u64 = 512;
    const MAX_FRAMES: usize = 16;
    let (text_start, text_end) = board.kernel_text();
    let sp = frame.gpr[29];
    let _ = write!(EmergencyWriter, "backtrace (best effort): {:#x} {:#x}", frame.epc, frame.gpr[31]);
    if !sp.is_multiple_of(8) || !crate::is_kernel_memory(sp, MAX_WORDS * 8) {
        let _ = writeln!(EmergencyWriter, " (stack pointer {sp:#x} is not in kernel memory)");
        return;
    }
    let mut found = 0;
    for i in 0..MAX_WORDS {
        // SAFETY: the whole range was checked to be kernel RAM above.
        let w = unsafe { ((sp + i * 8) as *const u64).read_volatile() };
        if w >= text_start && w < text_end && w % 4 == 0 && w != frame.gpr[31] {
            let _ = write!(EmergencyWriter, " {w:#x}");
            found += 1;
            if found == MAX_FRAMES {
                break;
            }
        }
    }
    let _ = writeln!(EmergencyWriter);
}

/// A fault the kernel cannot recover from.
pub fn fatal<B: Board>(board: &B, frame: &TrapFrame) -> ! {
    crate::console::drain_for_fatal();
    let _ = writeln!(EmergencyWriter, "\n*** kernel fault in task {}", crate::sched::current_for_fault());
    let _ = writeln!(EmergencyWriter, "{}", RegisterDump(frame));
    backtrace(board, frame);
    apply_policy(board)
}

/// A kernel panic: the message, then the panic policy.
pub fn panic<B: Board>(board: &B, info: &core::panic::PanicInfo<'_>) -> ! {
    crate::console::drain_for_fatal();
    let _ = writeln!(EmergencyWriter, "\n*** kernel panic: {info}");
    apply_policy(board)
}

fn apply_policy<B: Board>(board: &B) -> ! {
    cp0::irq_save();
    match POLICY.get().copied().unwrap_or(PanicPolicy::Halt) {
        PanicPolicy::Halt => {
            let _ = writeln!(EmergencyWriter, "*** kernel halted (boot with panic=reset:N to reset instead)");
            board.halt()
        }
        PanicPolicy::Reset(secs) => {
            let _ = writeln!(EmergencyWriter, "*** resetting in {secs} s");
            time::spin_seconds_unlocked(u64::from(secs));
            board.reset()
        }
    }
}

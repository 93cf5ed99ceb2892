//! Kernel exception handling: what to do with each trap the CPU takes.
//!
//! Until interrupts and system calls arrive, every exception is a fault,
//! except the `break` the self-tests raise on purpose to check that the
//! trap path saves and restores every register.

use crate::board::Board;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};
use tianshan_arch_mips64::trap::{ExcCode, RegisterDump, TrapFrame};
use tianshan_drivers::console::EmergencyWriter;

/// `break` traps the self-tests still expect; each one is consumed.
pub static EXPECTED_BREAKS: AtomicU32 = AtomicU32::new(0);
/// Traps handled without being fatal (self-test bookkeeping).
pub static HANDLED_BREAKS: AtomicU32 = AtomicU32::new(0);
/// Size of a MIPS instruction.
const INSN: u64 = 4;

/// Handles one trap; returns to resume at `frame.epc`.
pub fn handle<B: Board>(board: &B, frame: &mut TrapFrame) {
    if frame.exc_code() == Ok(ExcCode::Bp)
        && !frame.in_delay_slot()
        && EXPECTED_BREAKS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    {
        HANDLED_BREAKS.fetch_add(1, Ordering::AcqRel);
        frame.epc += INSN;
        return;
    }
    fatal(board, frame)
}

/// A fault the kernel cannot recover from: dump and halt.
pub fn fatal<B: Board>(board: &B, frame: &TrapFrame) -> ! {
    let _ = writeln!(EmergencyWriter, "\n*** kernel fault");
    let _ = writeln!(EmergencyWriter, "{}", RegisterDump(frame));
    let _ = writeln!(EmergencyWriter, "*** kernel halted");
    board.halt()
}

//! What the firmware does when something goes wrong that it did not plan for:
//! an unexpected exception or a panic. Both print through the lock-free
//! console path first, so the message gets out even if the console lock is
//! held by the code that failed.

use crate::board::Board;
use crate::shell;
use crate::timing::Timeline;
use core::fmt::Write;
use core::panic::PanicInfo;
use tianshan_arch_mips64::trap::{RegisterDump, TrapFrame};
use tianshan_drivers::console::{EmergencyWriter, emergency_try_read};

/// An exception the firmware did not expect: dump the registers, then
/// continue in the shell (the state that faulted is abandoned).
pub fn exception<B: Board>(board: &'static B, frame: &TrapFrame) -> ! {
    let _ = writeln!(EmergencyWriter, "\n*** unexpected exception in firmware");
    let _ = writeln!(EmergencyWriter, "{}", RegisterDump(frame));
    let _ = writeln!(EmergencyWriter, "*** dropping to the firmware shell");
    board.leave_exception_level();
    shell::run(board, crate::PLATFORM.get(), &Timeline::start(board.counter()))
}

/// A firmware panic is a firmware bug: say where, then let the user choose
/// between the shell and a reset, since state may be inconsistent.
pub fn panic<B: Board>(board: &'static B, info: &PanicInfo<'_>) -> ! {
    let _ = writeln!(EmergencyWriter, "\n*** firmware panic: {info}");
    let _ = writeln!(EmergencyWriter, "*** press 's' for the firmware shell, any other key to reset");
    loop {
        match emergency_try_read() {
            Some(b's') => shell::run(board, crate::PLATFORM.get(), &Timeline::start(board.counter())),
            Some(_) => board.reset(),
            None => core::hint::spin_loop(),
        }
    }
}

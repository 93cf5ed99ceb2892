//! What the firmware does when something goes wrong that it did not plan for:
//! an unexpected exception or a panic. Both print through the lock-free
//! console path first, so the message gets out even if the console lock is
//! held by the code that failed.

use crate::board::Board;
use crate::scratch::Scratch;
use crate::shell;
use crate::timing::Timeline;
use core::fmt::Write;
use core::panic::PanicInfo;
use tianshan_arch_mips64::restart_on_stack;
use tianshan_arch_mips64::trap::{RegisterDump, TrapFrame};
use tianshan_drivers::console::{self, EmergencyWriter, emergency_try_read};

unsafe extern "C" {
    /// The top of the firmware's stack (linker/firmware.ld).
    static __stack_top: u8;
}

/// An exception the firmware did not expect: dump the registers, then
/// continue in the shell (the state that faulted is abandoned).
///
/// The shell starts afresh at the top of the firmware stack, so faults in a
/// row never pile frames up, and with the console lock released, in case
/// the faulting code held it. Heap memory the abandoned frames owned stays
/// allocated.
pub fn exception<B: Board + 'static>(board: &'static B, frame: &TrapFrame) -> ! {
    let _ = writeln!(EmergencyWriter, "\n*** unexpected exception in firmware");
    let _ = writeln!(EmergencyWriter, "{}", RegisterDump(frame));
    let _ = writeln!(EmergencyWriter, "*** dropping to the firmware shell");
    board.leave_exception_level();
    // SAFETY: only this core runs firmware code (the others are parked in
    // ROM), and the code that faulted is abandoned: it never resumes.
    unsafe { console::force_unlock() };
    // SAFETY: as above: nothing on the current stack is used again, and the
    // shell gets the whole firmware stack.
    unsafe {
        let top = core::ptr::addr_of!(__stack_top) as u64;
        restart_on_stack(top, shell_after_fault::<B>, board as *const B as u64)
    }
}

/// The shell, entered on a fresh stack after an unexpected exception.
extern "C" fn shell_after_fault<B: Board + 'static>(board: u64) -> ! {
    // SAFETY: `exception` passes its `&'static B`.
    let board: &'static B = unsafe { &*(board as *const B) };
    shell_after_failure(board)
}

/// The shell, with what the platform phase found and the scratch RAM taken
/// anew from the code that failed.
fn shell_after_failure<B: Board>(board: &'static B) -> ! {
    let timeline = Timeline::start(board.counter());
    let Some(p) = crate::PLATFORM.get() else { shell::run(board, None, &timeline) };
    // SAFETY: the platform's scratch range is the RAM its `Scratch` owned.
    // That owner and every view of it belong to the code that failed,
    // which never resumes (`exception` abandons its stack, a panic never
    // returns), so this is the only one used from now on.
    let scratch = unsafe { Scratch::new(board.phys_to_virt(p.scratch.base), p.scratch.size as usize) };
    shell::run(board, Some((p, scratch)), &timeline)
}

/// A firmware panic is a firmware bug: say where, then let the user choose
/// between the shell and a reset, since state may be inconsistent.
pub fn panic<B: Board>(board: &'static B, info: &PanicInfo<'_>) -> ! {
    let _ = writeln!(EmergencyWriter, "\n*** firmware panic: {info}");
    let _ = writeln!(EmergencyWriter, "*** press 's' for the firmware shell, any other key to reset");
    loop {
        match emergency_try_read() {
            Some(b's') => shell_after_failure(board),
            Some(_) => board.reset(),
            None => core::hint::spin_loop(),
        }
    }
}

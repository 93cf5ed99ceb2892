//! Interrupts: the registration API, dispatch from the trap handler, and
//! per-line counts.
//!
//! Lines are the LIOINTC inputs (0..32) plus the CPU's own: the timer
//! (IP7), the IPI (IP6) and software interrupt 0 (IP0). Every LIOINTC input
//! is routed to this core's INT0, i.e. CPU line IP2.
//!
//! Nesting rules: handlers run with interrupts disabled (the CPU's EXL is
//! set for the whole trap), so they never nest and never race each other.
//! A handler must be short, must not block or allocate, and must clear its
//! device's interrupt condition (inputs are level-triggered; `ack` at the
//! controller does nothing). Waking a task from a handler is allowed: the
//! switch happens when the trap returns.

use crate::cpu::cp0;
use crate::irqlock::IrqLock;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use tianshan_drivers::liointc::{INPUTS, Liointc};

/// Count slot of the CPU timer.
pub const LINE_TIMER: usize = 32;
/// Count slot of the IPI.
pub const LINE_IPI: usize = 33;
/// Count slot of software interrupt 0.
pub const LINE_SOFT0: usize = 34;
const LINES: usize = 35;
/// LIOINTC output all inputs use (INT0 → IP2).
const OUTPUT: u32 = 0;

/// CPU interrupt lines in Cause/Status IP/IM bit positions (after >> 8).
const IP_SOFT0: u32 = 1 << 0;
const IP_LIOINTC: u32 = 0b1111 << 2;
const IP_IPI: u32 = 1 << 6;
const IP_TIMER: u32 = 1 << 7;

/// A handler, called with its line number.
pub type Handler = fn(u32);

struct Controller {
    liointc: Option<Liointc>,
    core: u32,
    handlers: [Option<Handler>; INPUTS as usize],
}

static CONTROLLER: IrqLock<Controller> =
    IrqLock::new(Controller { liointc: None, core: 0, handlers: [None; INPUTS as usize] });
static COUNTS: [AtomicU64; LINES] = [const { AtomicU64::new(0) }; LINES];
static IN_INTERRUPT: AtomicBool = AtomicBool::new(false);
/// The software-interrupt-0 handler as an address (0 = none), read
/// without a lock on the interrupt path.
static SOFT0: AtomicUsize = AtomicUsize::new(0);

/// Why a handler could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// No such line.
    BadLine(u32),
    /// Someone already handles it.
    Busy(u32),
    /// `init` has not run.
    NoController,
}

impl core::fmt::Display for IrqError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            IrqError::BadLine(l) => write!(f, "interrupt line {l} does not exist (0..{INPUTS})"),
            IrqError::Busy(l) => write!(f, "interrupt line {l} already has a handler"),
            IrqError::NoController => write!(f, "the interrupt controller is not set up"),
        }
    }
}

/// Takes the controller; `core` is the controller's index for this CPU.
pub fn init(liointc: Liointc, core: u32) {
    let mut c = CONTROLLER.lock();
    c.liointc = Some(liointc);
    c.core = core;
    // Timer, IPI, LIOINTC outputs and software interrupt 0 are unmasked at
    // the CPU; what actually fires is controlled at each source.
    cp0::set_interrupt_mask(((IP_SOFT0 | IP_LIOINTC | IP_TIMER) & 0xFF) as u8);
}

/// Installs `handler` for LIOINTC input `line`, routes and unmasks it.
pub fn register(line: u32, handler: Handler) -> Result<(), IrqError> {
    if line >= INPUTS {
        return Err(IrqError::BadLine(line));
    }
    let mut c = CONTROLLER.lock();
    if c.handlers[line as usize].is_some() {
        return Err(IrqError::Busy(line));
    }
    let core = c.core;
    let liointc = c.liointc.as_mut().ok_or(IrqError::NoController)?;
    liointc.route(line, core, OUTPUT).map_err(|_| IrqError::BadLine(line))?;
    liointc.unmask(line);
    c.handlers[line as usize] = Some(handler);
    Ok(())
}

/// Masks `line` and removes its handler.
pub fn unregister(line: u32) {
    let mut c = CONTROLLER.lock();
    if let Some(l) = c.liointc.as_mut() {
        l.mask(line);
    }
    if let Some(h) = c.handlers.get_mut(line as usize) {
        *h = None;
    }
}

/// Installs the software-interrupt-0 handler (used by tests and benchmarks).
pub fn set_soft0_handler(handler: Option<Handler>) {
    SOFT0.store(handler.map_or(0, |h| h as usize), Ordering::Release);
}

/// Raises software interrupt 0 on this CPU.
pub fn raise_soft0() {
    cp0::set_soft_irq0(true);
}

/// True while an interrupt handler runs.
pub fn in_interrupt() -> bool {
    IN_INTERRUPT.load(Ordering::Relaxed)
}

/// Interrupts taken on `slot` (a LIOINTC input or a `LINE_*` constant).
pub fn count(slot: usize) -> u64 {
    COUNTS.get(slot).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Called by the trap handler for an interrupt exception with the pending
/// and enabled CPU lines (Cause.IP & Status.IM, shifted down by 8).
pub fn dispatch(lines: u32) {
    IN_INTERRUPT.store(true, Ordering::Relaxed);
    if lines & IP_TIMER != 0 {
        COUNTS[LINE_TIMER].fetch_add(1, Ordering::Relaxed);
        crate::time::on_tick();
    }
    if lines & IP_SOFT0 != 0 {
        cp0::set_soft_irq0(false);
        COUNTS[LINE_SOFT0].fetch_add(1, Ordering::Relaxed);
        let h = SOFT0.load(Ordering::Acquire);
        if h != 0 {
            // SAFETY: SOFT0 only ever holds 0 or a `Handler` stored by
            // `set_soft0_handler`.
            let h: Handler = unsafe { core::mem::transmute::<usize, Handler>(h) };
            h(LINE_SOFT0 as u32);
        }
    }
    if lines & IP_IPI != 0 {
        COUNTS[LINE_IPI].fetch_add(1, Ordering::Relaxed);
    }
    if lines & IP_LIOINTC != 0 {
        let (mut pending, handlers) = {
            let c = CONTROLLER.lock();
            (c.liointc.as_ref().map_or(0, |l| l.pending_for_core(c.core)), c.handlers)
        };
        while pending != 0 {
            let line = pending.trailing_zeros();
            pending &= pending - 1;
            COUNTS[line as usize].fetch_add(1, Ordering::Relaxed);
            match handlers[line as usize] {
                Some(h) => h(line),
                // An input nobody handles would fire forever: mask it.
                None => {
                    if let Some(l) = CONTROLLER.lock().liointc.as_mut() {
                        l.mask(line);
                    }
                }
            }
        }
    }
    IN_INTERRUPT.store(false, Ordering::Relaxed);
}

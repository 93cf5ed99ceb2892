//! `IrqLock`: the kernel's lock for state that tasks and interrupt
//! handlers share (the scheduler, wait queues, the console ring).
//!
//! The kernel runs on one core (the firmware parks the others), so mutual
//! exclusion is exactly "interrupts off": with them off nothing else can
//! run. The lock therefore disables interrupts and marks itself held; it
//! takes no atomic read-modify-write and no barrier, which keeps every
//! scheduler operation cheap. Taking a held lock again can only be a bug
//! (re-entry from the same code path) and panics with a message instead of
//! deadlocking. An SMP kernel would add a spin lock here, and nowhere else.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tianshan_arch_mips64::cp0;

/// The lock.
pub struct IrqLock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` requires holding the lock, which means
// interrupts are off on the only core running kernel code; `held` rejects
// re-entry. Sending the lock to another task moves nothing shared.
unsafe impl<T: Send> Sync for IrqLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for IrqLock<T> {}

/// Access to the locked value; interrupts come back on (if they were on)
/// when it is dropped.
pub struct IrqGuard<'a, T> {
    lock: &'a IrqLock<T>,
    was_enabled: bool,
    released: bool,
}

impl<T> IrqLock<T> {
    /// A new lock.
    pub const fn new(value: T) -> Self {
        IrqLock { held: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Disables interrupts, then takes the lock.
    #[inline]
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let was_enabled = cp0::irq_save();
        if self.held.load(Relaxed) {
            cp0::irq_restore(was_enabled);
            panic!("IrqLock taken while already held (re-entered from the same path)");
        }
        self.held.store(true, Relaxed);
        IrqGuard { lock: self, was_enabled, released: false }
    }

    /// The lock if it is free right now, without waiting (for fault
    /// reports, which must not trip over a lock the faulting code held).
    pub fn try_lock_raw(&self) -> Option<IrqGuard<'_, T>> {
        let was_enabled = cp0::irq_save();
        if self.held.load(Relaxed) {
            cp0::irq_restore(was_enabled);
            return None;
        }
        self.held.store(true, Relaxed);
        Some(IrqGuard { lock: self, was_enabled, released: false })
    }

    /// The lock whether or not it is held: for a fatal path that has
    /// abandoned the code holding it (the console's transmit ring, whose
    /// queued bytes a kernel fault report sends first). The value is as the
    /// holder left it, possibly in the middle of an update.
    ///
    /// # Safety
    ///
    /// Whoever holds the lock must never run again: it faulted or panicked
    /// and the kernel is going down, so two guards are never used at once.
    pub unsafe fn steal(&self) -> IrqGuard<'_, T> {
        let was_enabled = cp0::irq_save();
        self.held.store(true, Relaxed);
        IrqGuard { lock: self, was_enabled, released: false }
    }
}

impl<T> IrqGuard<'_, T> {
    /// Releases the lock but leaves interrupts off; returns whether they
    /// were on before `lock`, for a later `cp0::irq_restore`. Used by the
    /// scheduler, which must drop its lock before switching tasks.
    #[inline]
    pub fn unlock_keep_irqs_off(mut self) -> bool {
        self.lock.held.store(false, Relaxed);
        self.released = true;
        self.was_enabled
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock (interrupts off, `held` set).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.released {
            self.lock.held.store(false, Relaxed);
            cp0::irq_restore(self.was_enabled);
        }
    }
}

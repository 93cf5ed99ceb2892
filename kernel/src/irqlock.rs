//! `IrqLock`: a spin lock that also keeps interrupts off while held.
//!
//! Everything an interrupt handler and a task both touch (the scheduler,
//! wait queues, the console ring) sits behind one of these. On a single
//! core the spin never spins; with interrupts off the holder cannot be
//! preempted, so a task can never wait for a lock held by a task that is
//! not running.

use core::ops::{Deref, DerefMut};
use spin::{Mutex, MutexGuard};
use tianshan_arch_mips64::cp0;

/// The lock.
pub struct IrqLock<T> {
    inner: Mutex<T>,
}

/// Access to the locked value; interrupts come back on (if they were on)
/// when it is dropped.
pub struct IrqGuard<'a, T> {
    guard: Option<MutexGuard<'a, T>>,
    was_enabled: bool,
}

impl<T> IrqLock<T> {
    /// A new lock.
    pub const fn new(value: T) -> Self {
        IrqLock { inner: Mutex::new(value) }
    }

    /// Disables interrupts, then takes the lock.
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let was_enabled = cp0::irq_save();
        IrqGuard { guard: Some(self.inner.lock()), was_enabled }
    }
}

impl<T> IrqGuard<'_, T> {
    /// Releases the lock but leaves interrupts off; returns whether they
    /// were on before `lock`, for a later `cp0::irq_restore`. Used by the
    /// scheduler, which must drop its lock before switching tasks.
    pub fn unlock_keep_irqs_off(mut self) -> bool {
        self.guard = None;
        let was = self.was_enabled;
        self.was_enabled = false;
        was
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard is held until dropped")
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard is held until dropped")
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        self.guard = None;
        cp0::irq_restore(self.was_enabled);
    }
}

impl<T> IrqLock<T> {
    /// The value if the lock is free right now, without waiting (for fault
    /// reports, which must not deadlock on a lock the faulting code held).
    pub fn try_lock_raw(&self) -> Option<spin::MutexGuard<'_, T>> {
        self.inner.try_lock()
    }
}

//! Blocking synchronisation and message passing between tasks: a mutex, a
//! counting semaphore and a bounded channel, all built on `WaitQueue`.
//!
//! Waiters are served first come, first served. Timeouts are in ticks
//! (`None` waits for ever). None of these may be used from an interrupt
//! handler except `Semaphore::release` and `Channel::try_send`, which never
//! block.

use crate::sched::{self, SchedGuard, WaitQueue, WakeReason};
use alloc::collections::VecDeque;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A mutex that blocks the waiting task instead of spinning.
pub struct Mutex<T> {
    locked: AtomicBool,
    /// Set by an unlock that handed the (still locked) mutex to the waiter
    /// it woke; that waiter clears it and owns the lock.
    handoff: AtomicBool,
    waiters: WaitQueue,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and only one guard
// exists at a time (the `locked` flag, changed under the scheduler lock).
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Mutex<T> {}

/// Holds a `Mutex` locked.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    /// Shares through `&guard` only what `&T` may share: the guard is
    /// `Sync` only when `T` is.
    _value: PhantomData<&'a mut T>,
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    pub const fn new(value: T) -> Self {
        Mutex {
            locked: AtomicBool::new(false),
            handoff: AtomicBool::new(false),
            waiters: WaitQueue::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the mutex, waiting as long as it takes.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        loop {
            let mut got = false;
            self.waiters.wait_until(None, || {
                got = !self.locked.swap(true, Ordering::Acquire);
                got
            });
            // Got it, or woken by an unlock that handed it over to us.
            if got || self.handoff.swap(false, Ordering::AcqRel) {
                return MutexGuard { mutex: self, _value: PhantomData };
            }
        }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // Hand the lock straight to the first waiter (so it cannot be
        // overtaken), or release it. Under the scheduler lock, so no task
        // can start waiting between "nobody waits" and the release.
        let mut g = sched::lock();
        if self.mutex.waiters.is_empty() {
            self.mutex.locked.store(false, Ordering::Release);
        } else {
            // The waiter cannot run before `g` is dropped, so it finds
            // `handoff` set.
            self.mutex.handoff.store(true, Ordering::Release);
            g.wake_one(&self.mutex.waiters);
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the only access path while it lives.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.mutex.value.get() }
    }
}

/// A counting semaphore.
pub struct Semaphore {
    count: AtomicUsize,
    waiters: WaitQueue,
}

impl Semaphore {
    /// A semaphore holding `count` permits.
    pub const fn new(count: usize) -> Self {
        Semaphore { count: AtomicUsize::new(count), waiters: WaitQueue::new() }
    }

    fn try_take(&self) -> bool {
        self.count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1)).is_ok()
    }

    /// Takes a permit, waiting at most `timeout` ticks in all; false on
    /// timeout.
    pub fn acquire(&self, timeout: Option<u64>) -> bool {
        if self.try_take() {
            return true;
        }
        // Only a time limit needs the clock (and so the lock).
        let deadline = timeout.and_then(|t| sched::lock().deadline(Some(t)));
        loop {
            let mut got = false;
            let why = self.waiters.wait_until_deadline(deadline, || {
                got = self.try_take();
                got
            });
            if got {
                return true;
            }
            if why == WakeReason::Timeout {
                return false;
            }
        }
    }

    /// Returns a permit and wakes one waiter (safe in interrupt handlers).
    pub fn release(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.waiters.wake_one();
    }

    /// Permits available now.
    pub fn available(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

/// Why a send failed; the message comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError<T> {
    /// The channel stayed full for the whole timeout.
    Timeout(T),
    /// The channel was full (`try_send`).
    Full(T),
}

/// Why a receive failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The channel stayed empty for the whole timeout.
    Timeout,
}

/// A bounded multi-producer, multi-consumer channel.
///
/// The queue is kept under the scheduler lock, so checking it, waking the
/// other side and going to sleep are one critical section per operation.
pub struct Channel<T> {
    queue: UnsafeCell<VecDeque<T>>,
    capacity: usize,
    not_empty: WaitQueue,
    not_full: WaitQueue,
}

// SAFETY: the queue is only touched with the scheduler lock held (see
// `queue`), which serialises every access on this single core.
unsafe impl<T: Send> Sync for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Channel<T> {}

impl<T> Channel<T> {
    /// A channel holding at most `capacity` messages (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Channel {
            queue: UnsafeCell::new(VecDeque::with_capacity(capacity)),
            capacity,
            not_empty: WaitQueue::new(),
            not_full: WaitQueue::new(),
        }
    }

    /// The queue; `_g` proves the scheduler lock is held.
    #[allow(clippy::mut_from_ref)]
    fn queue(&self, _g: &mut SchedGuard) -> &mut VecDeque<T> {
        // SAFETY: the caller holds the scheduler lock (the guard borrow),
        // so no other access to the queue can run at the same time.
        unsafe { &mut *self.queue.get() }
    }

    /// Delivers `msg` straight to a blocked receiver, if one waits (the
    /// queue is then empty): no queueing, and the receiver needs no second
    /// look at the queue when it wakes.
    fn hand_over(&self, g: &mut SchedGuard, msg: T) -> Result<(), T> {
        match g.wake_one_slot(&self.not_empty) {
            Some(slot) if !slot.is_null() => {
                // SAFETY: every task blocked on `not_empty` registered a
                // pointer to its own `Option<T>` for this channel's `T`
                // (`recv`), which stays valid until it runs again, and it
                // cannot run before this guard is dropped.
                unsafe { *(slot as *mut Option<T>) = Some(msg) };
                Ok(())
            }
            _ => Err(msg),
        }
    }

    /// Hands `msg` to a waiting receiver or queues it; gives it back if
    /// the channel is full.
    #[inline]
    fn deliver(&self, g: &mut SchedGuard, msg: T) -> Result<(), T> {
        let msg = match self.hand_over(g, msg) {
            Ok(()) => {
                // A receiver waited, so the queue is empty. A sender still
                // waiting for room was woken for a place this hand-over did
                // not use (the receiver took a queued message, woke it,
                // then blocked before it ran): pass the wake on, or that
                // sender would sleep beside an empty queue.
                if !self.not_full.is_empty() {
                    g.wake_one(&self.not_full);
                }
                return Ok(());
            }
            Err(msg) => msg,
        };
        let q = self.queue(g);
        if q.len() == self.capacity {
            return Err(msg);
        }
        q.push_back(msg);
        Ok(())
    }

    /// Takes the oldest queued message, making room for a waiting sender.
    #[inline]
    fn take(&self, g: &mut SchedGuard) -> Option<T> {
        let m = self.queue(g).pop_front()?;
        g.wake_one(&self.not_full);
        Some(m)
    }

    /// Blocks on `not_empty` until a sender hands a message over (it
    /// arrives in `slot`) or until the deadline; the reason it woke when
    /// no message came.
    #[inline]
    fn wait_for_message(&self, g: SchedGuard, deadline: Option<u64>) -> Result<T, WakeReason> {
        let mut slot: Option<T> = None;
        let why = g.block_on_slot(&self.not_empty, deadline, (&mut slot as *mut Option<T>).cast());
        slot.ok_or(why)
    }

    /// Sends without blocking.
    pub fn try_send(&self, msg: T) -> Result<(), SendError<T>> {
        self.deliver(&mut sched::lock(), msg).map_err(SendError::Full)
    }

    /// Sends, waiting at most `timeout` ticks for room.
    pub fn send(&self, msg: T, timeout: Option<u64>) -> Result<(), SendError<T>> {
        let mut g = sched::lock();
        match self.deliver(&mut g, msg) {
            Ok(()) => Ok(()),
            Err(msg) => self.send_when_room(g, msg, timeout),
        }
    }

    /// `send` once the channel was found full. Kept out of line, so the
    /// common path stays short.
    #[cold]
    #[inline(never)]
    fn send_when_room(&self, mut g: SchedGuard, mut msg: T, timeout: Option<u64>) -> Result<(), SendError<T>> {
        let deadline = g.deadline(timeout);
        loop {
            if g.block_on(&self.not_full, deadline) == WakeReason::Timeout {
                return Err(SendError::Timeout(msg));
            }
            g = sched::lock();
            msg = match self.deliver(&mut g, msg) {
                Ok(()) => return Ok(()),
                Err(msg) => msg,
            };
        }
    }

    /// Receives, waiting at most `timeout` ticks for a message.
    pub fn recv(&self, timeout: Option<u64>) -> Result<T, RecvError> {
        let mut g = sched::lock();
        if let Some(m) = self.take(&mut g) {
            return Ok(m);
        }
        let deadline = g.deadline(timeout);
        match self.wait_for_message(g, deadline) {
            Ok(m) => Ok(m),
            Err(why) => self.recv_after_wait(why, deadline),
        }
    }

    /// `recv` after a wait that brought no message (a timeout, or a
    /// wake-up without one). Kept out of line, so the common path stays
    /// short.
    #[cold]
    #[inline(never)]
    fn recv_after_wait(&self, mut why: WakeReason, deadline: Option<u64>) -> Result<T, RecvError> {
        loop {
            let mut g = sched::lock();
            // A message may have been queued as the timeout fired.
            if let Some(m) = self.take(&mut g) {
                return Ok(m);
            }
            if why == WakeReason::Timeout {
                return Err(RecvError::Timeout);
            }
            why = match self.wait_for_message(g, deadline) {
                Ok(m) => return Ok(m),
                Err(why) => why,
            };
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        let mut g = sched::lock();
        self.queue(&mut g).len()
    }

    /// True when no message waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

//! The timer queue: tasks waiting for a deadline, earliest first.
//!
//! A binary min-heap over a fixed array; ties are broken by insertion
//! order, so two sleepers with the same deadline wake in the order they
//! went to sleep.

use crate::ready::TaskId;

/// One waiting task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    /// When to wake, in the kernel's tick or counter units.
    pub deadline: u64,
    /// Insertion sequence number (tie-break).
    seq: u64,
    /// Who to wake.
    pub task: TaskId,
}

/// Why a timer could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerQueueFull;

/// A min-heap of timers with capacity `N`.
pub struct TimerQueue<const N: usize> {
    heap: [Timer; N],
    len: usize,
    seq: u64,
}

impl<const N: usize> Default for TimerQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TimerQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        TimerQueue { heap: [Timer { deadline: 0, seq: 0, task: 0 }; N], len: 0, seq: 0 }
    }

    /// Number of queued timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn less(a: &Timer, b: &Timer) -> bool {
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    /// Queues `task` to wake at `deadline`.
    pub fn insert(&mut self, deadline: u64, task: TaskId) -> Result<(), TimerQueueFull> {
        if self.len == N {
            return Err(TimerQueueFull);
        }
        let mut i = self.len;
        self.heap[i] = Timer { deadline, seq: self.seq, task };
        self.seq += 1;
        self.len += 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if !Self::less(&self.heap[i], &self.heap[parent]) {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
        Ok(())
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.len > 0).then(|| self.heap[0].deadline)
    }

    /// Removes and returns the earliest timer if its deadline is `<= now`.
    pub fn pop_expired(&mut self, now: u64) -> Option<Timer> {
        if self.len == 0 || self.heap[0].deadline > now {
            return None;
        }
        Some(self.remove_at(0))
    }

    /// Removes `task`'s timer (a wait that ended early); true if found.
    pub fn cancel(&mut self, task: TaskId) -> bool {
        match self.heap[..self.len].iter().position(|t| t.task == task) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    fn remove_at(&mut self, i: usize) -> Timer {
        let out = self.heap[i];
        self.len -= 1;
        self.heap[i] = self.heap[self.len];
        // Restore the heap property both ways from i.
        let mut i = i;
        while i > 0 && i < self.len && Self::less(&self.heap[i], &self.heap[(i - 1) / 2]) {
            self.heap.swap(i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.len && Self::less(&self.heap[l], &self.heap[m]) {
                m = l;
            }
            if r < self.len && Self::less(&self.heap[r], &self.heap[m]) {
                m = r;
            }
            if m == i {
                break;
            }
            self.heap.swap(i, m);
            i = m;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_in_deadline_then_insertion_order() {
        let mut q: TimerQueue<16> = TimerQueue::new();
        for (d, t) in [(50, 1), (10, 2), (30, 3), (10, 4), (20, 5)] {
            q.insert(d, t).unwrap();
        }
        assert_eq!(q.next_deadline(), Some(10));
        assert_eq!(q.pop_expired(9), None);
        let woken: Vec<_> = std::iter::from_fn(|| q.pop_expired(30)).map(|t| t.task).collect();
        assert_eq!(woken, vec![2, 4, 5, 3]);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_expired(u64::MAX).map(|t| t.task), Some(1));
    }

    #[test]
    fn cancel_and_capacity() {
        let mut q: TimerQueue<4> = TimerQueue::new();
        for t in 0..4 {
            q.insert(100 - t as u64, t).unwrap();
        }
        assert_eq!(q.insert(1, 9), Err(TimerQueueFull));
        assert!(q.cancel(3));
        assert!(!q.cancel(3));
        let woken: Vec<_> = std::iter::from_fn(|| q.pop_expired(1000)).map(|t| t.task).collect();
        assert_eq!(woken, vec![2, 1, 0]);
    }

    #[test]
    fn heap_order_survives_random_operations() {
        let mut q: TimerQueue<64> = TimerQueue::new();
        let mut model: Vec<(u64, u32)> = Vec::new();
        let mut x: u64 = 0x1234_5678;
        for step in 0..2000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 3 {
                0 | 1 if q.len() < 64 => {
                    let d = x % 100;
                    q.insert(d, step).unwrap();
                    model.push((d, step));
                }
                _ => {
                    if let Some(&(_, task)) = model.get((x as usize / 3) % model.len().max(1)) {
                        assert!(q.cancel(task));
                        model.retain(|m| m.1 != task);
                    }
                }
            }
        }
        model.sort();
        let drained: Vec<_> = std::iter::from_fn(|| q.pop_expired(u64::MAX)).map(|t| (t.deadline, t.task)).collect();
        assert_eq!(drained, model);
    }
}

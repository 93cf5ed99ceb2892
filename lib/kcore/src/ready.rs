//! Ready queues: one FIFO per priority and a bitmap of non-empty queues.
//!
//! Picking the next task is constant time whatever the number of tasks:
//! the highest set bit of the bitmap names the priority, and its queue's
//! head is the task. Queues are intrusive singly linked lists through a
//! `next` array indexed by task id, so the structure allocates nothing.

/// Number of priorities; higher numbers run first.
pub const PRIORITIES: usize = 64;
/// Marks the end of a list.
const NIL: u32 = u32::MAX;

/// A task id: an index into the kernel's task table.
pub type TaskId = u32;

/// Ready queues for up to `capacity` task ids.
pub struct ReadyQueues<'a> {
    bitmap: u64,
    head: [u32; PRIORITIES],
    tail: [u32; PRIORITIES],
    next: &'a mut [u32],
    len: usize,
}

impl<'a> ReadyQueues<'a> {
    /// Queues for task ids `0..links.len()`; `links` is scratch storage.
    pub fn new(links: &'a mut [u32]) -> Self {
        links.fill(NIL);
        ReadyQueues { bitmap: 0, head: [NIL; PRIORITIES], tail: [NIL; PRIORITIES], next: links, len: 0 }
    }

    /// Number of queued tasks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no task is ready.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `id` at priority `prio` (round-robin order within it).
    /// The caller must not queue an id twice.
    pub fn push(&mut self, id: TaskId, prio: usize) {
        debug_assert!(prio < PRIORITIES && (id as usize) < self.next.len());
        self.next[id as usize] = NIL;
        if self.tail[prio] == NIL {
            self.head[prio] = id;
        } else {
            self.next[self.tail[prio] as usize] = id;
        }
        self.tail[prio] = id;
        self.bitmap |= 1 << prio;
        self.len += 1;
    }

    /// The highest priority with a ready task.
    #[inline]
    pub fn top_priority(&self) -> Option<usize> {
        if self.bitmap == 0 { None } else { Some(63 - self.bitmap.leading_zeros() as usize) }
    }

    /// Removes and returns the next task to run and its priority.
    #[inline]
    pub fn pop(&mut self) -> Option<(TaskId, usize)> {
        let prio = self.top_priority()?;
        let id = self.head[prio];
        let next = self.next[id as usize];
        self.head[prio] = next;
        if next == NIL {
            self.tail[prio] = NIL;
            self.bitmap &= !(1 << prio);
        }
        self.len -= 1;
        Some((id, prio))
    }

    /// Removes `id` from queue `prio` if it is there (linear in that
    /// queue's length; used when a ready task is killed).
    pub fn remove(&mut self, id: TaskId, prio: usize) -> bool {
        let mut prev = NIL;
        let mut cur = self.head[prio];
        while cur != NIL {
            if cur == id {
                let next = self.next[cur as usize];
                if prev == NIL {
                    self.head[prio] = next;
                } else {
                    self.next[prev as usize] = next;
                }
                if self.tail[prio] == id {
                    self.tail[prio] = prev;
                }
                if self.head[prio] == NIL {
                    self.bitmap &= !(1 << prio);
                }
                self.len -= 1;
                return true;
            }
            prev = cur;
            cur = self.next[cur as usize];
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_priority_first_fifo_within() {
        let mut links = [0; 8];
        let mut q = ReadyQueues::new(&mut links);
        q.push(1, 5);
        q.push(2, 10);
        q.push(3, 5);
        q.push(4, 10);
        q.push(5, 0);
        assert_eq!(q.len(), 5);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(2, 10), (4, 10), (1, 5), (3, 5), (5, 0)]);
        assert!(q.is_empty());
        assert_eq!(q.top_priority(), None);
    }

    #[test]
    fn round_robin_by_requeueing() {
        let mut links = [0; 4];
        let mut q = ReadyQueues::new(&mut links);
        for id in 0..3 {
            q.push(id, 7);
        }
        let mut ran = Vec::new();
        for _ in 0..6 {
            let (id, p) = q.pop().unwrap();
            ran.push(id);
            q.push(id, p);
        }
        assert_eq!(ran, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn remove_keeps_queues_consistent() {
        let mut links = [0; 8];
        let mut q = ReadyQueues::new(&mut links);
        for id in 0..4 {
            q.push(id, 3);
        }
        assert!(q.remove(3, 3), "tail");
        assert!(q.remove(0, 3), "head");
        assert!(!q.remove(7, 3), "absent");
        q.push(6, 3);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(id, _)| id).collect();
        assert_eq!(order, vec![1, 2, 6]);
        q.push(1, 63);
        assert!(q.remove(1, 63));
        assert_eq!(q.top_priority(), None);
    }

    #[test]
    fn extreme_priorities_and_many_tasks() {
        let mut links = vec![0; 1024];
        let mut q = ReadyQueues::new(&mut links);
        for id in 0..1024u32 {
            q.push(id, (id as usize * 7) % PRIORITIES);
        }
        let mut last = (PRIORITIES, 0);
        let mut count = 0;
        while let Some((id, p)) = q.pop() {
            assert!(p < last.0 || (p == last.0 && id > last.1), "order broken at {id}");
            last = (p, id);
            count += 1;
        }
        assert_eq!(count, 1024);
    }
}

//! A fixed-size byte ring buffer for one producer and one consumer
//! (interrupt handler and task). The caller serialises access (the kernel
//! holds it under an interrupt-disabling lock); overflow drops new bytes
//! and counts them.

/// A ring holding up to `N` bytes.
pub struct RingBuffer<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
    dropped: u64,
}

impl<const N: usize> Default for RingBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RingBuffer<N> {
    /// An empty ring.
    pub const fn new() -> Self {
        RingBuffer { buf: [0; N], head: 0, len: 0, dropped: 0 }
    }

    /// Bytes stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when full.
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Bytes dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Appends a byte; false (and counted) if full.
    pub fn push(&mut self, b: u8) -> bool {
        if self.len == N {
            self.dropped += 1;
            return false;
        }
        self.buf[(self.head + self.len) % N] = b;
        self.len += 1;
        true
    }

    /// Removes the oldest byte.
    pub fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let b = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_wraparound() {
        let mut r: RingBuffer<4> = RingBuffer::new();
        for round in 0..10u8 {
            assert!(r.push(round));
            assert!(r.push(round + 100));
            assert_eq!(r.pop(), Some(round));
            assert_eq!(r.pop(), Some(round + 100));
        }
        assert!(r.is_empty());
    }

    #[test]
    fn overflow_drops_and_counts() {
        let mut r: RingBuffer<3> = RingBuffer::new();
        assert!(r.push(1) && r.push(2) && r.push(3));
        assert!(r.is_full());
        assert!(!r.push(4));
        assert!(!r.push(5));
        assert_eq!(r.dropped(), 2);
        assert_eq!((r.pop(), r.pop(), r.pop(), r.pop()), (Some(1), Some(2), Some(3), None));
    }
}

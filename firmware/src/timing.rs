//! Phase timestamps from the CPU's cycle counter.
//!
//! CP0 Count is 32 bits (10.7 s at 400 MHz); the timeline extends it to 64
//! bits by noticing wraps, which is exact as long as marks are less than one
//! wrap apart, true for every phase of a firmware boot.

use tianshan_bootinfo::Phase;

/// Most marks kept.
const MAX_MARKS: usize = 8;

/// Counter values at the end of each phase, since reset.
#[derive(Clone, Debug)]
pub struct Timeline {
    last: u32,
    high: u64,
    marks: [(Phase, u64); MAX_MARKS],
    len: usize,
}

impl Timeline {
    /// A timeline whose first reading is `now`.
    pub fn start(now: u32) -> Self {
        Timeline { last: now, high: 0, marks: [(Phase::Reset, 0); MAX_MARKS], len: 0 }
    }

    /// Extends a raw counter reading to 64 bits.
    pub fn extend(&mut self, now: u32) -> u64 {
        if now < self.last {
            self.high += 1 << 32;
        }
        self.last = now;
        self.high | u64::from(now)
    }

    /// Records the end of `phase` at counter value `now`. A phase marked
    /// again (a later boot attempt) keeps only its latest time.
    pub fn mark(&mut self, phase: Phase, now: u32) {
        let t = self.extend(now);
        if let Some(i) = self.marks[..self.len].iter().position(|(p, _)| *p == phase) {
            self.marks.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
        if self.len < MAX_MARKS {
            self.marks[self.len] = (phase, t);
            self.len += 1;
        }
    }

    /// The marks so far.
    pub fn marks(&self) -> &[(Phase, u64)] {
        &self.marks[..self.len]
    }
}

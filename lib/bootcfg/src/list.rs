//! Fixed-capacity lists and the diagnostics the parsers return in them.
//!
//! [`FixedList`] stands in for `Vec` without a heap: a push beyond the
//! capacity is refused and counted, so a caller can still say how many items
//! were lost. Diagnostics use the same list, so a file full of garbage costs
//! a bounded amount of memory.

use core::fmt;

/// Most diagnostics kept per parsed file; later ones are only counted.
pub const MAX_DIAGNOSTICS: usize = 16;

/// Up to `N` items in insertion order, with a count of refused pushes.
#[derive(Clone)]
pub struct FixedList<T, const N: usize> {
    /// `Some` for the first `len` slots, `None` after.
    slots: [Option<T>; N],
    len: usize,
    overflowed: usize,
}

impl<T, const N: usize> FixedList<T, N> {
    /// How many items the list holds at most.
    pub const CAPACITY: usize = N;

    /// An empty list.
    pub fn new() -> Self {
        Self { slots: core::array::from_fn(|_| None), len: 0, overflowed: 0 }
    }

    /// Appends `item`, or hands it back (and counts it) when the list is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(item);
                self.len += 1;
                Ok(())
            }
            None => {
                self.overflowed += 1;
                Err(item)
            }
        }
    }

    /// Appends `item`, or drops it (still counted) when the list is full.
    pub fn push_or_count(&mut self, item: T) {
        // A refused item is counted in `overflowed`; nothing else to do.
        let _refused = self.push(item);
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many pushes were refused because the list was full.
    pub fn overflowed(&self) -> usize {
        self.overflowed
    }

    /// The item at `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.slots.get(index)?.as_ref()
    }

    /// The items in insertion order.
    pub fn iter(&self) -> FixedListIter<'_, T> {
        self.slots.iter().flatten()
    }
}

/// Iterator over a [`FixedList`]'s items.
pub type FixedListIter<'l, T> = core::iter::Flatten<core::slice::Iter<'l, Option<T>>>;

impl<'l, T, const N: usize> IntoIterator for &'l FixedList<T, N> {
    type Item = &'l T;
    type IntoIter = FixedListIter<'l, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T, const N: usize> Default for FixedList<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for FixedList<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()?;
        if self.overflowed > 0 {
            write!(f, " (+{} refused)", self.overflowed)?;
        }
        Ok(())
    }
}

impl<T: PartialEq, const N: usize> PartialEq for FixedList<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.overflowed == other.overflowed && self.iter().eq(other.iter())
    }
}

impl<T: Eq, const N: usize> Eq for FixedList<T, N> {}

/// Something wrong on one line of a file: the line was ignored (or, where the
/// problem's text says so, an entry was skipped) and parsing went on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Diagnostic<P> {
    /// Line number, counted from 1.
    pub line: usize,
    /// What was wrong, with the offending values.
    pub problem: P,
}

impl<P: fmt::Display> fmt::Display for Diagnostic<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl<P: fmt::Debug + fmt::Display> core::error::Error for Diagnostic<P> {}

/// The diagnostics of one file, at most [`MAX_DIAGNOSTICS`] of them.
pub type Diagnostics<P> = FixedList<Diagnostic<P>, MAX_DIAGNOSTICS>;

/// What a parser returns: the value built from the good lines, and what was
/// wrong with the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<T, P> {
    /// The configuration or entry, built from every usable line.
    pub value: T,
    /// One per rejected line (or skipped entry), in the order found.
    pub diagnostics: Diagnostics<P>,
}

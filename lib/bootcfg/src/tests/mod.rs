//! Host tests for the boot-configuration parsers, one file per format.
//!
//! `robustness` feeds every parser truncated and pseudo-random input; the
//! others check parsed values and the exact text of diagnostics.

mod bls;
mod cmdline;
mod config;
mod pmon;
mod robustness;
mod version;

use core::fmt::Display;

use crate::Diagnostics;

/// Every diagnostic as the user would read it.
fn messages<P: Display>(diagnostics: &Diagnostics<P>) -> Vec<String> {
    diagnostics.iter().map(ToString::to_string).collect()
}

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    const MULTIPLIER: u64 = 0x2545_F491_4F6C_DD1D;

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(Self::MULTIPLIER)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

//! The kernel's core data structures, kept free of hardware so they are
//! tested on the host: the scheduler's ready queues, the timer queue, the
//! console ring buffer and the physical frame allocator.
#![cfg_attr(not(test), no_std)]

pub mod date;
pub mod frames;
pub mod ready;
pub mod ring;
pub mod timerq;

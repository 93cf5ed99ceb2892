//! Device drivers shared by the Tianshan firmware and kernel.
//!
//! Each driver owns its register block: the board creates it once, from the
//! address in its own constants, and moves it where it is used. Parsing
//! that does not touch hardware (the fw_cfg file directory) is plain code,
//! tested on the host.
#![cfg_attr(not(test), no_std)]

pub mod console;
pub mod ecam;
pub mod fw_cfg;
pub mod liointc;
pub mod power;
pub mod rtc;
pub mod virtio_blk;

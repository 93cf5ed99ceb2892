//! Parsers for the boot-configuration files the boot manager reads.
//!
//! Three formats, one module each:
//! - [`config`]: Tianshan's own `key = value` firmware configuration
//!   (`opt/tianshan/config` in QEMU's fw_cfg, or `/tianshan.cfg` on a disk);
//! - [`bls`]: Boot Loader Specification type #1 entries
//!   (`/loader/entries/*.conf`), and their menu order;
//! - [`pmon`]: the `boot.cfg` menus of Loongson's PMON firmware
//!   (`/boot/boot.cfg` or `/boot.cfg`), PMON device paths and which devices
//!   name the disk being read.
//!
//! And [`cmdline`]: whether a Linux command line names a `console=`, and
//! where the firmware adds its own when it does not.
//!
//! All three work the same way. Nothing allocates and nothing panics, whatever
//! the input: results borrow `&str` slices of it, lists have fixed capacities
//! ([`FixedList`]), and a line that cannot be used becomes a [`Diagnostic`]
//! (its line number, what was wrong, the offending text quoted as an
//! [`Excerpt`]) while the good lines still take effect. Each module has
//! `parse_bytes` for files read as bytes, where a line that is not UTF-8 is
//! reported with its line and column ([`Utf8Fault`]) and skipped, and `parse`
//! for text already known to be UTF-8.
//!
//! Line rules common to all formats: lines end in `\n` or `\r\n`; a UTF-8
//! byte-order mark at the start and NUL padding at the end (left by
//! fixed-size reads) are ignored; white space around a line is ignored; a
//! line whose first non-blank character is `#` is a comment, while a `#`
//! later in a line is part of the value (command lines may contain one).
//!
//! To add a key to a format: add it to that module's `key` list (which also
//! feeds the "known: ..." part of unknown-key messages), handle it in the
//! module's `apply`, and add a test that checks the parsed value.
#![cfg_attr(not(test), no_std)]

pub mod bls;
pub mod cmdline;
pub mod config;
mod list;
pub mod pmon;
mod text;
mod version;

pub use list::{Diagnostic, Diagnostics, FixedList, FixedListIter, MAX_DIAGNOSTICS, Parsed};
pub use text::{EXCERPT_MAX_CHARS, Excerpt, Utf8Fault};
pub use version::compare_versions;

#[cfg(test)]
mod tests;

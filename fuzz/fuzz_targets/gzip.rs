//! Fuzz target: gzip headers, deflate streams and trailers (`gunzip`).
//!
//! Input: a file offered as a gzip-compressed kernel. When `gunzip` reports
//! success, the output length must be the trailer's ISIZE (what
//! `claimed_size` reads), the trailer's CRC-32 must be that of the output
//! (computed again here), and the input must start with the gzip magic.
//! The output buffer is `OUTPUT_CAPACITY` bytes; a larger stream must be
//! refused, not truncated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miniz_oxide::inflate::core::DecompressorOxide;
use std::cell::RefCell;
use tianshan_gzip::{GzipError, claimed_size, gunzip, is_gzip, new_state};

/// Output room: larger than any seed's contents, small enough to stay fast.
const OUTPUT_CAPACITY: usize = 256 * 1024;

thread_local! {
    /// The inflater state and output buffer, reused across inputs.
    static BUFFERS: RefCell<(Box<DecompressorOxide>, Vec<u8>)> =
        RefCell::new((Box::new(new_state()), vec![0; OUTPUT_CAPACITY]));
}

fuzz_target!(|data: &[u8]| {
    BUFFERS.with_borrow_mut(|(state, out)| match gunzip(data, out, state) {
        Ok(n) => {
            assert!(is_gzip(data), "gunzip accepted data without the gzip magic");
            assert_eq!(claimed_size(data), Some(n as u32), "output length is not the trailer's ISIZE");
            let crc = u32::from_le_bytes(data[data.len() - 8..data.len() - 4].try_into().expect("4 bytes"));
            assert_eq!(tianshan_crc32::hash(&out[..n]), crc, "output CRC-32 is not the trailer's");
        }
        Err(GzipError::OutputTooSmall { capacity }) => assert_eq!(capacity, OUTPUT_CAPACITY),
        Err(_) => {}
    });
});

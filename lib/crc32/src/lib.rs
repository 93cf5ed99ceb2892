//! CRC-32 (IEEE 802.3, as zlib, gzip, GPT and Tianshan's own formats use it)
//! with the call shape of `crc32fast` (`hash`, `Hasher`), over the `crc`
//! crate's byte-wise 1 KiB table.
//!
//! Why not `crc32fast` itself: its slice-by-16 table is 16 KiB, which the
//! firmware's 256 KiB flash budget cannot spare, and on this CPU it was no
//! faster per byte than the small table. Crates that need CRC-32 depend on
//! this one under the name `crc32fast`, so their code reads as usual.
#![cfg_attr(not(test), no_std)]

use crc::{CRC_32_ISO_HDLC, Crc, Digest, Table};

static CRC32: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&CRC_32_ISO_HDLC);

/// CRC-32 of `data`.
pub fn hash(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

/// An incremental CRC-32.
pub struct Hasher(Digest<'static, u32, Table<1>>);

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A CRC over no bytes yet.
    pub fn new() -> Self {
        Hasher(CRC32.digest())
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The CRC of everything added.
    pub fn finalize(self) -> u32 {
        self.0.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_value() {
        // The "check" value of CRC-32/ISO-HDLC for the ASCII digits 1..9.
        assert_eq!(hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(hash(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let mut h = Hasher::new();
        for chunk in data.chunks(333) {
            h.update(chunk);
        }
        assert_eq!(h.finalize(), hash(&data));
    }
}

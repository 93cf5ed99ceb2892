//! gzip (RFC 1952) decompression into a buffer the caller provides.
//!
//! The firmware accepts gzip-compressed kernels. The header is parsed here
//! (flags, optional extra field, name, comment and header CRC), the deflate
//! stream is inflated by `miniz_oxide` straight into the output slice (no
//! heap), and the trailer's CRC-32 and length are checked, so a damaged
//! image is reported as such rather than loaded.
#![cfg_attr(not(test), no_std)]

use core::fmt;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// The two gzip magic bytes.
pub const MAGIC: [u8; 2] = [0x1F, 0x8B];
/// Compression method "deflate", the only one defined.
const CM_DEFLATE: u8 = 8;
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xE0;
/// Fixed header and trailer sizes.
const HEADER: usize = 10;
const TRAILER: usize = 8;

/// Why a gzip image could not be decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GzipError {
    /// Shorter than a header and trailer, or a header field runs past the end.
    Truncated { len: usize },
    /// Not gzip (no 1f 8b).
    NotGzip,
    /// A compression method other than deflate.
    UnsupportedMethod(u8),
    /// Reserved flag bits set.
    ReservedFlags(u8),
    /// The header CRC (FHCRC) does not match.
    HeaderChecksum,
    /// The deflate stream is corrupt.
    Corrupt,
    /// The deflate stream ended before it was complete.
    UnexpectedEnd,
    /// The data does not fit the output buffer.
    OutputTooSmall { capacity: usize },
    /// The trailer's CRC-32 differs from the data's.
    Checksum { stored: u32, computed: u32 },
    /// The trailer's length differs from the data's.
    Length { stored: u32, actual: usize },
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GzipError::Truncated { len } => write!(f, "gzip image truncated ({len} bytes)"),
            GzipError::NotGzip => write!(f, "not a gzip image"),
            GzipError::UnsupportedMethod(m) => write!(f, "gzip compression method {m} is not deflate (8)"),
            GzipError::ReservedFlags(fl) => write!(f, "gzip header has reserved flags set ({fl:#04x})"),
            GzipError::HeaderChecksum => write!(f, "gzip header checksum mismatch"),
            GzipError::Corrupt => write!(f, "gzip data is corrupt (bad deflate stream)"),
            GzipError::UnexpectedEnd => write!(f, "gzip data ends before the deflate stream does"),
            GzipError::OutputTooSmall { capacity } => {
                write!(f, "decompressed image is larger than the {capacity}-byte buffer")
            }
            GzipError::Checksum { stored, computed } => {
                write!(f, "gzip CRC-32 mismatch: trailer says {stored:#010x}, data gives {computed:#010x}")
            }
            GzipError::Length { stored, actual } => {
                write!(f, "gzip length mismatch: trailer says {stored} bytes, data has {actual}")
            }
        }
    }
}

/// True when `data` starts with the gzip magic.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// The decompressed size the trailer claims (modulo 2^32), to size the
/// output buffer. Untrusted: `gunzip` checks it.
pub fn claimed_size(data: &[u8]) -> Option<u32> {
    let t = data.len().checked_sub(4)?;
    Some(u32::from_le_bytes(data[t..].try_into().ok()?))
}

/// Offset of the deflate stream: after the fixed header and optional fields.
fn deflate_start(data: &[u8]) -> Result<usize, GzipError> {
    let truncated = GzipError::Truncated { len: data.len() };
    if data.len() < HEADER + TRAILER {
        return Err(if is_gzip(data) || data.len() < 2 { truncated } else { GzipError::NotGzip });
    }
    if !is_gzip(data) {
        return Err(GzipError::NotGzip);
    }
    if data[2] != CM_DEFLATE {
        return Err(GzipError::UnsupportedMethod(data[2]));
    }
    let flags = data[3];
    if flags & FRESERVED != 0 {
        return Err(GzipError::ReservedFlags(flags));
    }
    let mut at = HEADER;
    if flags & FEXTRA != 0 {
        let xlen = u16::from_le_bytes([*data.get(at).ok_or(truncated)?, *data.get(at + 1).ok_or(truncated)?]);
        at += 2 + usize::from(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = data.get(at..).and_then(|rest| rest.iter().position(|&b| b == 0)).ok_or(truncated)?;
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = u16::from_le_bytes([*data.get(at).ok_or(truncated)?, *data.get(at + 1).ok_or(truncated)?]);
        if (crc32fast::hash(&data[..at]) & 0xFFFF) as u16 != stored {
            return Err(GzipError::HeaderChecksum);
        }
        at += 2;
    }
    if at + TRAILER > data.len() {
        return Err(truncated);
    }
    Ok(at)
}

/// Decompresses `data` into `out`; returns the decompressed length.
/// `scratch` is the inflater's state (about 11 KiB; kept off the stack).
pub fn gunzip(data: &[u8], out: &mut [u8], scratch: &mut DecompressorOxide) -> Result<usize, GzipError> {
    let start = deflate_start(data)?;
    let body = &data[start..data.len() - TRAILER];
    *scratch = DecompressorOxide::new();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, _read, written) = decompress(scratch, body, out, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => return Err(GzipError::OutputTooSmall { capacity: out.len() }),
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => return Err(GzipError::UnexpectedEnd),
        _ => return Err(GzipError::Corrupt),
    }
    let trailer = &data[data.len() - TRAILER..];
    let stored_crc = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
    let stored_len = u32::from_le_bytes(trailer[4..].try_into().expect("4 bytes"));
    let computed = crc32fast::hash(&out[..written]);
    if computed != stored_crc {
        return Err(GzipError::Checksum { stored: stored_crc, computed });
    }
    if written as u32 != stored_len {
        return Err(GzipError::Length { stored: stored_len, actual: written });
    }
    Ok(written)
}

/// A fresh inflater state, for `gunzip`.
pub fn new_state() -> DecompressorOxide {
    DecompressorOxide::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(payload: &[u8], flags: u8, extra: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1F, 0x8B, 8, flags, 0, 0, 0, 0, 0, 3];
        out.extend_from_slice(extra);
        out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(payload, 6));
        out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out
    }

    fn payload() -> Vec<u8> {
        (0..100_000u32).map(|i| (i % 251) as u8 ^ (i >> 9) as u8).collect()
    }

    #[test]
    fn round_trip() {
        let p = payload();
        let z = gzip(&p, 0, &[]);
        assert!(is_gzip(&z));
        assert_eq!(claimed_size(&z), Some(p.len() as u32));
        let mut out = vec![0; p.len()];
        let n = gunzip(&z, &mut out, &mut new_state()).unwrap();
        assert_eq!(&out[..n], &p[..]);
    }

    #[test]
    fn optional_header_fields() {
        let p = b"kernel".repeat(100);
        let mut extra = vec![4, 0, b'a', b'b', b'c', b'd'];
        extra.extend_from_slice(b"vmlinux\0comment\0");
        let z = gzip(&p, FEXTRA | FNAME | FCOMMENT, &extra);
        let mut out = vec![0; p.len()];
        assert_eq!(gunzip(&z, &mut out, &mut new_state()), Ok(p.len()));

        let mut z = vec![0x1F, 0x8B, 8, FHCRC, 0, 0, 0, 0, 0, 3];
        let hcrc = (crc32fast::hash(&z) & 0xFFFF) as u16;
        z.extend_from_slice(&hcrc.to_le_bytes());
        z.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&p, 6));
        z.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        z.extend_from_slice(&(p.len() as u32).to_le_bytes());
        assert_eq!(gunzip(&z, &mut out, &mut new_state()), Ok(p.len()));
        z[10] ^= 1;
        assert_eq!(gunzip(&z, &mut out, &mut new_state()), Err(GzipError::HeaderChecksum));
    }

    #[test]
    fn damage_is_reported() {
        let p = payload();
        let z = gzip(&p, 0, &[]);
        let mut out = vec![0; p.len()];
        let mut bad = z.clone();
        let last = bad.len() - 5;
        bad[last] ^= 0xFF; // CRC byte
        assert!(matches!(gunzip(&bad, &mut out, &mut new_state()), Err(GzipError::Checksum { .. })));
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 1] ^= 1; // length byte
        assert!(matches!(gunzip(&bad, &mut out, &mut new_state()), Err(GzipError::Length { .. })));
        let mut small = vec![0; p.len() - 1];
        assert_eq!(gunzip(&z, &mut small, &mut new_state()), Err(GzipError::OutputTooSmall { capacity: p.len() - 1 }));
        assert_eq!(gunzip(b"\x7fELF....", &mut out, &mut new_state()), Err(GzipError::NotGzip));
        assert_eq!(gunzip(&z[..12], &mut out, &mut new_state()), Err(GzipError::Truncated { len: 12 }));
        let mut bad = z.clone();
        bad[2] = 7;
        assert_eq!(gunzip(&bad, &mut out, &mut new_state()), Err(GzipError::UnsupportedMethod(7)));
        let mut bad = z.clone();
        bad[3] = 0x80;
        assert_eq!(gunzip(&bad, &mut out, &mut new_state()), Err(GzipError::ReservedFlags(0x80)));
        // A truncated deflate stream (trailer kept).
        let mut cut = z[..z.len() / 2].to_vec();
        cut.extend_from_slice(&z[z.len() - 8..]);
        assert!(gunzip(&cut, &mut out, &mut new_state()).is_err());
    }

    #[test]
    fn random_mutations_never_panic_and_never_pass_wrong_data() {
        let p = b"The quick brown fox jumps over the lazy dog. ".repeat(200);
        let z = gzip(&p, 0, &[]);
        let mut out = vec![0; p.len() * 2];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut m = z.clone();
            let i = (x as usize) % m.len();
            m[i] ^= (x >> 32) as u8 | 1;
            if let Ok(n) = gunzip(&m, &mut out, &mut new_state()) {
                // Only a flip that leaves the data intact (e.g. in the OS or
                // mtime header bytes) may pass.
                assert_eq!(&out[..n], &p[..], "byte {i} changed the data yet passed");
            }
        }
    }
}

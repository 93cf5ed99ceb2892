//! YMODEM batch and XMODEM-1K/CRC file receive over a byte port.
//!
//! The firmware's `loady` command receives a kernel (and optionally an
//! initrd) over the console with this crate: the user's terminal program
//! (minicom, picocom + `sb`, Tera Term, `sz --ymodem`) sends, the firmware
//! receives into its scratch RAM. The protocol facts come from Chuck
//! Forsberg's "XMODEM/YMODEM Protocol Reference" (1988), the document
//! every implementation follows:
//!
//! * a packet is a header byte (`SOH`: 128 data bytes, `STX`: 1024), the
//!   block number, its one's complement, the data and a CRC-16 (poly
//!   0x1021, initial 0, sent high byte first);
//! * the receiver asks for CRC mode by sending `C` until the first packet
//!   arrives; each good packet is answered `ACK`, a damaged one `NAK`, and
//!   two `CAN` in a row end the session from either side;
//! * YMODEM adds block 0 before each file: the file name, a NUL, and the
//!   size in decimal (further fields are ignored here); a block 0 with an
//!   empty name ends the batch. A transfer whose first packet is block 1
//!   is plain XMODEM (CRC, 128- or 1024-byte blocks): one file, no size.
//!
//! What this receiver adds to the minimum: every failure is an [`Error`]
//! naming the block and what was wrong, a file larger than the room left
//! is refused from its header before any data moves, a lost `ACK` (the
//! sender repeating a block) is recognised and not stored twice, and the
//! line is drained after a cancel so the sender's retries do not reach the
//! shell as typed input.
//!
//! Why our own: the crates that exist either need `std` or do XMODEM only,
//! without YMODEM's batch header and size; this one is about 400 lines
//! and is tested against a lossy line (`tests.rs`).
#![cfg_attr(not(any(test, feature = "std")), no_std)]

mod receive;
#[cfg(any(test, feature = "std"))]
pub mod send;
#[cfg(test)]
mod tests;

pub use receive::{Batch, Error, Fault, File, Name, Port, Timeouts, receive};

/// Start of a 128-byte packet.
pub const SOH: u8 = 0x01;
/// Start of a 1024-byte packet.
pub const STX: u8 = 0x02;
/// End of a file.
pub const EOT: u8 = 0x04;
/// Packet accepted.
pub const ACK: u8 = 0x06;
/// Packet refused: send it again.
pub const NAK: u8 = 0x15;
/// Cancel; two in a row end the session.
pub const CAN: u8 = 0x18;
/// The receiver's request for CRC-16 mode (and, in YMODEM, for the next
/// file's header or data).
pub const CRC_MODE: u8 = b'C';
/// Ctrl-C, which the user may type while the receiver waits to start.
pub const CTRL_C: u8 = 0x03;
/// The filler XMODEM senders pad the last block with (CP/M's end of file).
pub const SUB: u8 = 0x1A;
/// Data bytes of a `SOH` packet.
pub const SHORT_BLOCK: usize = 128;
/// Data bytes of a `STX` packet.
pub const LONG_BLOCK: usize = 1024;

static CRC16: crc::Crc<u16, crc::Table<1>> = crc::Crc::<u16, crc::Table<1>>::new(&crc::CRC_16_XMODEM);

/// CRC-16/XMODEM of a packet's data.
pub fn crc16(data: &[u8]) -> u16 {
    CRC16.checksum(data)
}

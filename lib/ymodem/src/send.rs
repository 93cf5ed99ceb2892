//! The sender, for the host: the QEMU tests and host tools push files to
//! the firmware's `loady` with it, and the unit tests run it against the
//! receiver over a lossy line.
//!
//! It waits for the receiver's `C`, sends each file as a YMODEM header
//! and 1024-byte blocks (a last short remainder as a 128-byte block),
//! repeats a block on `NAK` or silence, ends each file with `EOT` and the
//! batch with an empty header.

use crate::{ACK, CAN, CRC_MODE, EOT, LONG_BLOCK, NAK, SHORT_BLOCK, SOH, STX, SUB, crc16};
use std::fmt;
use std::time::{Duration, Instant};

/// The line to the receiver.
pub trait Link {
    /// The next byte from the receiver within `timeout`, or `None`.
    fn recv(&mut self, timeout: Duration) -> Option<u8>;
    /// Sends `bytes` to the receiver.
    fn send(&mut self, bytes: &[u8]);
}

/// How patient the sender is.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// For the receiver's first `C`.
    pub start_timeout: Duration,
    /// For the answer to a packet.
    pub answer_timeout: Duration,
    /// Times a packet is sent before giving up.
    pub tries: u32,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions { start_timeout: Duration::from_secs(60), answer_timeout: Duration::from_secs(10), tries: 10 }
    }
}

/// Why a send failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The receiver never asked for CRC mode.
    NoReceiver,
    /// The receiver sent `CAN CAN`.
    Cancelled,
    /// A packet was refused or unanswered every time.
    NoAck { packet: String },
    /// A file name that a header cannot hold.
    BadName(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoReceiver => write!(f, "the receiver never asked for a transfer (no 'C')"),
            SendError::Cancelled => write!(f, "the receiver cancelled the transfer"),
            SendError::NoAck { packet } => write!(f, "{packet} was not acknowledged"),
            SendError::BadName(n) => write!(f, "file name {n:?} is empty, contains NUL or is too long"),
        }
    }
}

impl std::error::Error for SendError {}

/// One packet, framed: header, number, complement, `data` padded with
/// `SUB` to the block size, CRC. Blocks of more than 128 bytes are sent
/// as 1024-byte packets.
pub fn frame(number: u8, data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= LONG_BLOCK, "one packet holds at most {LONG_BLOCK} bytes");
    let (header, size) = if data.len() > SHORT_BLOCK { (STX, LONG_BLOCK) } else { (SOH, SHORT_BLOCK) };
    let mut block = data.to_vec();
    block.resize(size, SUB);
    let mut out = vec![header, number, !number];
    out.extend_from_slice(&block);
    out.extend_from_slice(&crc16(&block).to_be_bytes());
    out
}

/// A YMODEM header block's data: `name`, NUL, the size in decimal, NUL;
/// all zero for the end of a batch.
pub fn header(name_and_size: Option<(&str, usize)>) -> Vec<u8> {
    let mut data = Vec::with_capacity(SHORT_BLOCK);
    if let Some((name, size)) = name_and_size {
        data.extend_from_slice(name.as_bytes());
        data.push(0);
        data.extend_from_slice(size.to_string().as_bytes());
    }
    data.resize(SHORT_BLOCK, 0);
    data
}

/// Sends `files` (name, contents) as one YMODEM batch.
pub fn send_batch<L: Link>(link: &mut L, files: &[(&str, &[u8])], o: &SendOptions) -> Result<(), SendError> {
    await_byte(link, CRC_MODE, o.start_timeout)
        .map_err(|e| if e == SendError::Cancelled { e } else { SendError::NoReceiver })?;
    for &(name, data) in files {
        // The name, a NUL and the size must fit one 128-byte header.
        if name.is_empty() || name.contains('\0') || name.len() + 2 + 20 > SHORT_BLOCK {
            return Err(SendError::BadName(name.to_string()));
        }
        send_packet(link, &frame(0, &header(Some((name, data.len())))), &format!("the header of {name}"), o)?;
        await_byte(link, CRC_MODE, o.answer_timeout)?;
        send_data(link, name, data, o)?;
        await_byte(link, CRC_MODE, o.answer_timeout)?;
    }
    send_packet(link, &frame(0, &header(None)), "the end-of-batch header", o)
}

/// Sends `data` as one XMODEM-1K file (no header; CRC mode).
pub fn send_xmodem<L: Link>(link: &mut L, data: &[u8], o: &SendOptions) -> Result<(), SendError> {
    await_byte(link, CRC_MODE, o.start_timeout)
        .map_err(|e| if e == SendError::Cancelled { e } else { SendError::NoReceiver })?;
    send_data(link, "the file", data, o)
}

/// The data blocks of one file, then `EOT`.
fn send_data<L: Link>(link: &mut L, name: &str, data: &[u8], o: &SendOptions) -> Result<(), SendError> {
    let mut number: u8 = 1;
    let mut at = 0;
    let mut index = 1u64;
    while at < data.len() {
        let rest = data.len() - at;
        let len = if rest > SHORT_BLOCK { rest.min(LONG_BLOCK) } else { rest };
        send_packet(link, &frame(number, &data[at..at + len]), &format!("block {index} of {name}"), o)?;
        at += len;
        number = number.wrapping_add(1);
        index += 1;
    }
    send_packet(link, &[EOT], &format!("the end of {name}"), o)
}

/// Sends `packet` until it is acknowledged.
fn send_packet<L: Link>(link: &mut L, packet: &[u8], what: &str, o: &SendOptions) -> Result<(), SendError> {
    for _ in 0..o.tries {
        link.send(packet);
        let deadline = Instant::now() + o.answer_timeout;
        let mut cans = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match link.recv(left) {
                Some(ACK) => return Ok(()),
                Some(NAK) | None => break,
                Some(CAN) => {
                    cans += 1;
                    if cans == 2 {
                        return Err(SendError::Cancelled);
                    }
                }
                // A `C` repeated while the receiver waits for this packet,
                // or noise: keep waiting for the answer.
                Some(_) => cans = 0,
            }
        }
    }
    Err(SendError::NoAck { packet: what.to_string() })
}

/// Waits for `want`; `CAN CAN` is a cancel.
fn await_byte<L: Link>(link: &mut L, want: u8, timeout: Duration) -> Result<(), SendError> {
    let deadline = Instant::now() + timeout;
    let mut cans = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.recv(left) {
            Some(b) if b == want => return Ok(()),
            Some(CAN) => {
                cans += 1;
                if cans == 2 {
                    return Err(SendError::Cancelled);
                }
            }
            Some(_) => cans = 0,
            None => return Err(SendError::NoAck { packet: format!("the receiver's {:?}", want as char) }),
        }
    }
}

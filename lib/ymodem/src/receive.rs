//! The receiver: `C` until the sender starts, then packet by packet into
//! the caller's buffer, `ACK`/`NAK`, batch headers, end of batch.
//!
//! Files are placed one after another in the buffer, each at an 8-byte
//! aligned offset, so an ELF or cpio file is read in place. Nothing is
//! printed: the port is the console, and any text would corrupt the
//! transfer. The caller reports the [`Batch`] or the [`Error`] afterwards.

use crate::{ACK, CAN, CRC_MODE, CTRL_C, EOT, LONG_BLOCK, NAK, SHORT_BLOCK, SOH, STX, SUB, crc16};
use core::fmt;

/// The serial line the transfer runs over.
pub trait Port {
    /// The next byte received within `timeout_ms` milliseconds, or `None`.
    fn read_byte(&mut self, timeout_ms: u32) -> Option<u8>;
    /// Sends `bytes`.
    fn write(&mut self, bytes: &[u8]);
}

/// How long the receiver waits at each step.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Between two `C`s while waiting for the sender to start.
    pub start_poll_ms: u32,
    /// How many `C`s are sent before giving up.
    pub start_polls: u32,
    /// For the first byte of the next packet after an `ACK` or `NAK`.
    pub packet_ms: u32,
    /// Between two bytes inside a packet.
    pub byte_ms: u32,
    /// The silence that ends a drain of the line (after a damaged packet
    /// or a cancel).
    pub drain_ms: u32,
}

impl Timeouts {
    /// The protocol reference's timings: a `C` a second for a minute, ten
    /// seconds for a packet to start, one second between its bytes.
    pub const STANDARD: Timeouts =
        Timeouts { start_poll_ms: 1000, start_polls: 60, packet_ms: 10_000, byte_ms: 1000, drain_ms: 500 };
}

/// Damaged packets in a row after which the receiver gives up.
pub const MAX_RETRIES: u32 = 10;
/// Most files in one batch (a kernel, an initrd, and room to spare).
pub const MAX_FILES: usize = 4;
/// Longest file name kept (the rest is dropped; it is only a label).
pub const NAME_MAX: usize = 64;
/// Alignment of each file in the buffer.
const FILE_ALIGN: usize = 8;
/// Most bytes thrown away by one drain, so a sender that ignores a cancel
/// cannot hold the receiver forever.
const DRAIN_LIMIT: usize = 64 * 1024;
/// What a receiver sends to cancel: more than the two `CAN`s a sender
/// needs, in case one is lost in the sender's own output.
const CANCEL: [u8; 3] = [CAN; 3];

/// A file's name as its YMODEM header gave it (at most [`NAME_MAX`] bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    bytes: [u8; NAME_MAX],
    len: usize,
}

impl Name {
    /// The name XMODEM transfers get: they carry none.
    pub const XMODEM: Name = Name::from_bytes(b"(xmodem)");

    const fn from_bytes(b: &[u8]) -> Name {
        let mut bytes = [0u8; NAME_MAX];
        let mut len = 0;
        while len < b.len() && len < NAME_MAX {
            bytes[len] = b[len];
            len += 1;
        }
        Name { bytes, len }
    }

    /// The name as text (its valid UTF-8 prefix).
    pub fn as_str(&self) -> &str {
        let b = &self.bytes[..self.len];
        match core::str::from_utf8(b) {
            Ok(s) => s,
            // The prefix up to the first bad byte is valid UTF-8.
            Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// One received file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File {
    /// Its name (`(xmodem)` for an XMODEM transfer).
    pub name: Name,
    /// Where it starts in the buffer.
    pub offset: usize,
    /// Its length: the size its header declared, or, without one, what
    /// arrived less the `SUB` padding of the last block.
    pub len: usize,
    /// The size its header declared, if it declared one.
    pub declared: Option<usize>,
}

impl File {
    const EMPTY: File = File { name: Name::from_bytes(b""), offset: 0, len: 0, declared: None };

    /// The file's bytes in the buffer it was received into.
    pub fn bytes<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.offset..self.offset + self.len]
    }
}

/// What a transfer delivered.
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    files: [File; MAX_FILES],
    count: usize,
    /// The sender spoke plain XMODEM (no header, so no name or size).
    pub xmodem: bool,
    /// Packets that arrived damaged or not at all and were asked for again.
    pub retries: u32,
}

impl Batch {
    /// The files, in the order they were sent.
    pub fn files(&self) -> &[File] {
        &self.files[..self.count]
    }

    /// Where the free part of the buffer starts, after the last file.
    pub fn end(&self) -> usize {
        self.files().last().map_or(0, |f| f.offset + f.len)
    }
}

/// Why a packet was refused (and asked for again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing, or not all of the packet, arrived in time.
    Timeout,
    /// The block number and its complement do not match.
    BadComplement { block: u8, complement: u8 },
    /// The data's CRC is not the one sent.
    BadCrc { computed: u16, sent: u16 },
    /// A byte that starts no packet.
    Noise(u8),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::Timeout => write!(f, "no complete packet arrived in time"),
            Fault::BadComplement { block, complement } => {
                write!(f, "block number {block:#04x} came with the complement {complement:#04x}")
            }
            Fault::BadCrc { computed, sent } => {
                write!(f, "CRC {computed:#06x} of the data does not match the sent {sent:#06x}")
            }
            Fault::Noise(b) => write!(f, "byte {b:#04x} where a packet should start"),
        }
    }
}

/// Why a transfer failed. The receiver has cancelled it (where the
/// sender was still there to be told) and drained the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No packet came while the receiver asked for one.
    NoSender { waited_ms: u64 },
    /// The user typed Ctrl-C before the sender started.
    CancelledByUser,
    /// The sender sent `CAN CAN`.
    CancelledBySender { files: usize, blocks: u32 },
    /// [`MAX_RETRIES`] damaged packets in a row.
    TooManyErrors { block: u32, fault: Fault },
    /// A block number neither due nor a repeat of the last one.
    OutOfSequence { expected: u8, got: u8 },
    /// A file larger than the room left in the buffer. `size` is `None`
    /// when the sender declared none (XMODEM) and the data overflowed.
    TooLarge { name: Name, size: Option<usize>, room: usize },
    /// The sender ended a file before its declared size.
    Truncated { name: Name, received: usize, size: usize },
    /// A YMODEM header (block 0) that cannot be read.
    BadHeader(&'static str),
    /// More files than [`MAX_FILES`].
    TooManyFiles,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NoSender { waited_ms } => write!(
                f,
                "no sender started within {} s (start a YMODEM or XMODEM send in the terminal program)",
                waited_ms / 1000
            ),
            Error::CancelledByUser => write!(f, "cancelled (Ctrl-C) before the transfer started"),
            Error::CancelledBySender { files, blocks } => {
                write!(f, "the sender cancelled the transfer ({files} file(s) complete, {blocks} block(s) of the next)")
            }
            Error::TooManyErrors { block, fault } => write!(
                f,
                "block {block}: {fault}, {MAX_RETRIES} times in a row; transfer cancelled (a noisy line or a wrong speed?)"
            ),
            Error::OutOfSequence { expected, got } => write!(
                f,
                "block number {got} arrived where {expected} was due (a block was skipped); transfer cancelled"
            ),
            Error::TooLarge { name, size: Some(size), room } => {
                write!(f, "{name} is {size} bytes but only {room} bytes of the load area are left; transfer cancelled")
            }
            Error::TooLarge { name, size: None, room } => {
                write!(f, "{name} is larger than the {room} bytes left in the load area; transfer cancelled")
            }
            Error::Truncated { name, received, size } => {
                write!(f, "{name}: the sender ended the file after {received} of its {size} bytes")
            }
            Error::BadHeader(why) => write!(f, "file header (block 0): {why}; transfer cancelled"),
            Error::TooManyFiles => write!(f, "more than {MAX_FILES} files in the batch; transfer cancelled"),
        }
    }
}

/// What arrived in place of a packet.
enum Incoming {
    Block { number: u8, len: usize },
    Eot,
    Cancel,
}

/// Where the transfer is.
#[derive(Clone, Copy)]
enum State {
    /// Waiting for a YMODEM header (block 0); `first` until any packet
    /// arrived, when block 1 instead means XMODEM.
    Header { first: bool },
    /// Receiving a file's data: `blocks` stored so far, `written` bytes.
    Data { file: File, blocks: u32, written: usize, last_len: usize },
}

struct Receiver<'p, P: Port> {
    port: &'p mut P,
    t: Timeouts,
    block: [u8; LONG_BLOCK],
    /// Damaged packets in a row.
    errors: u32,
    retries: u32,
}

/// Receives one YMODEM batch (or one XMODEM file) into `buf`.
pub fn receive<P: Port>(port: &mut P, buf: &mut [u8], timeouts: Timeouts) -> Result<Batch, Error> {
    let mut r = Receiver { port, t: timeouts, block: [0; LONG_BLOCK], errors: 0, retries: 0 };
    let result = r.run(buf);
    if let Err(e) = result {
        r.abort(&e);
    }
    result
}

impl<P: Port> Receiver<'_, P> {
    fn run(&mut self, buf: &mut [u8]) -> Result<Batch, Error> {
        let mut batch = Batch { files: [File::EMPTY; MAX_FILES], count: 0, xmodem: false, retries: 0 };
        let mut pending = Some(self.start()?);
        let mut state = State::Header { first: true };
        loop {
            let header = match pending.take() {
                Some(h) => Some(h),
                None => self.port.read_byte(self.t.packet_ms),
            };
            let incoming = match header {
                Some(h) => self.finish_packet(h),
                None => Err(Fault::Timeout),
            };
            let incoming = match incoming {
                Ok(i) => i,
                Err(fault) => {
                    self.refuse(fault, &state)?;
                    continue;
                }
            };
            state = match (incoming, state) {
                (Incoming::Cancel, state) => {
                    let blocks = if let State::Data { blocks, .. } = state { blocks } else { 0 };
                    return Err(Error::CancelledBySender { files: batch.count, blocks });
                }
                (Incoming::Eot, State::Data { mut file, written, last_len, .. }) => {
                    file.len = match file.declared {
                        Some(size) if written < size => {
                            return Err(Error::Truncated { name: file.name, received: written, size });
                        }
                        Some(size) => size,
                        None => unpadded_len(&buf[file.offset..file.offset + written], written - last_len),
                    };
                    batch.files[batch.count] = file;
                    batch.count += 1;
                    self.accept();
                    if batch.xmodem {
                        batch.retries = self.retries;
                        return Ok(batch);
                    }
                    self.port.write(&[CRC_MODE]);
                    State::Header { first: false }
                }
                (Incoming::Eot, State::Header { first: false }) => {
                    // Our ACK of the last EOT was lost; the sender repeats it.
                    self.accept();
                    self.port.write(&[CRC_MODE]);
                    State::Header { first: false }
                }
                (Incoming::Eot, state @ State::Header { first: true }) => {
                    self.refuse(Fault::Noise(EOT), &state)?;
                    state
                }
                (Incoming::Block { number: 0, len }, State::Header { .. }) => {
                    let Some((name, declared)) = parse_header(&self.block[..len])? else {
                        // An empty name: the end of the batch.
                        self.accept();
                        batch.retries = self.retries;
                        return Ok(batch);
                    };
                    if batch.count == MAX_FILES {
                        return Err(Error::TooManyFiles);
                    }
                    let offset = batch.end().next_multiple_of(FILE_ALIGN).min(buf.len());
                    let room = buf.len() - offset;
                    if let Some(size) = declared
                        && size > room
                    {
                        return Err(Error::TooLarge { name, size: Some(size), room });
                    }
                    self.accept();
                    self.port.write(&[CRC_MODE]);
                    let file = File { name, offset, len: 0, declared };
                    State::Data { file, blocks: 0, written: 0, last_len: 0 }
                }
                (Incoming::Block { number: 1, len }, State::Header { first: true }) => {
                    // Block 1 first: plain XMODEM, one file without a header.
                    batch.xmodem = true;
                    let file = File { name: Name::XMODEM, offset: 0, len: 0, declared: None };
                    let data = State::Data { file, blocks: 0, written: 0, last_len: 0 };
                    self.store(buf, data, 1, len)?
                }
                (Incoming::Block { number, .. }, State::Header { .. }) => {
                    return Err(Error::OutOfSequence { expected: 0, got: number });
                }
                (Incoming::Block { number, len }, data @ State::Data { blocks, .. }) => {
                    self.store(buf, data, number, len).or_else(|e| match e {
                        Error::OutOfSequence { .. } if number == blocks as u8 => {
                            // A repeat of the last block (or of the header):
                            // our ACK was lost. Acknowledge, keep one copy.
                            self.accept();
                            if blocks == 0 {
                                self.port.write(&[CRC_MODE]);
                            }
                            Ok(data)
                        }
                        e => Err(e),
                    })?
                }
            };
        }
    }

    /// Sends `C` until a packet starts; returns its first byte.
    fn start(&mut self) -> Result<u8, Error> {
        for _ in 0..self.t.start_polls {
            self.port.write(&[CRC_MODE]);
            // Bytes that start no packet (a stray key, line noise) do not
            // restart the wait for this poll's answer.
            let mut waited = 0;
            while waited < self.t.start_poll_ms {
                let step = self.t.start_poll_ms - waited;
                match self.port.read_byte(step) {
                    None => break,
                    Some(CTRL_C) => return Err(Error::CancelledByUser),
                    Some(b @ (SOH | STX | EOT | CAN)) => return Ok(b),
                    Some(_) => waited += self.t.byte_ms.min(step),
                }
            }
        }
        Err(Error::NoSender { waited_ms: u64::from(self.t.start_polls) * u64::from(self.t.start_poll_ms) })
    }

    /// Reads the rest of the packet `header` starts into `self.block`.
    fn finish_packet(&mut self, header: u8) -> Result<Incoming, Fault> {
        let len = match header {
            SOH => SHORT_BLOCK,
            STX => LONG_BLOCK,
            EOT => return Ok(Incoming::Eot),
            CAN => {
                return match self.port.read_byte(self.t.byte_ms) {
                    Some(CAN) => Ok(Incoming::Cancel),
                    _ => Err(Fault::Noise(CAN)),
                };
            }
            other => return Err(Fault::Noise(other)),
        };
        let number = self.byte()?;
        let complement = self.byte()?;
        for i in 0..len {
            self.block[i] = self.byte()?;
        }
        let sent = u16::from_be_bytes([self.byte()?, self.byte()?]);
        if number != !complement {
            return Err(Fault::BadComplement { block: number, complement });
        }
        let computed = crc16(&self.block[..len]);
        if computed != sent {
            return Err(Fault::BadCrc { computed, sent });
        }
        Ok(Incoming::Block { number, len })
    }

    fn byte(&mut self) -> Result<u8, Fault> {
        self.port.read_byte(self.t.byte_ms).ok_or(Fault::Timeout)
    }

    /// Stores the data block `number` (of `len` bytes, in `self.block`)
    /// if it is the one due in `state`; returns the state after it.
    fn store(&mut self, buf: &mut [u8], state: State, number: u8, len: usize) -> Result<State, Error> {
        let State::Data { file, blocks, written, .. } = state else {
            unreachable!("store is called in the data state only")
        };
        let due = (blocks + 1) as u8;
        if number != due {
            return Err(Error::OutOfSequence { expected: due, got: number });
        }
        // Bytes past a declared size are the last block's padding.
        let keep = file.declared.map_or(len, |size| len.min(size.saturating_sub(written)));
        let at = file.offset + written;
        let Some(dest) = buf.get_mut(at..at + keep) else {
            return Err(Error::TooLarge { name: file.name, size: None, room: buf.len() - file.offset });
        };
        dest.copy_from_slice(&self.block[..keep]);
        self.accept();
        Ok(State::Data { file, blocks: blocks + 1, written: written + keep, last_len: keep })
    }

    /// Acknowledges a good packet.
    fn accept(&mut self) {
        self.errors = 0;
        self.port.write(&[ACK]);
    }

    /// Asks for a damaged or missing packet again, or gives up after
    /// [`MAX_RETRIES`] in a row.
    fn refuse(&mut self, fault: Fault, state: &State) -> Result<(), Error> {
        self.errors += 1;
        self.retries += 1;
        if self.errors >= MAX_RETRIES {
            let block = if let State::Data { blocks, .. } = *state { blocks + 1 } else { 0 };
            return Err(Error::TooManyErrors { block, fault });
        }
        // Let the rest of a damaged packet pass before asking again, so
        // its tail is not taken for the start of the next.
        if fault != Fault::Timeout {
            self.drain();
        }
        self.port.write(&[NAK]);
        Ok(())
    }

    /// Reads and drops bytes until the line is quiet.
    fn drain(&mut self) {
        let mut dropped = 0;
        while dropped < DRAIN_LIMIT && self.port.read_byte(self.t.drain_ms).is_some() {
            dropped += 1;
        }
    }

    /// Tells the sender the transfer is over (unless it ended it, or
    /// never started) and drains its last packet.
    fn abort(&mut self, e: &Error) {
        match e {
            Error::NoSender { .. } => {}
            Error::CancelledBySender { .. } => self.drain(),
            _ => {
                self.port.write(&CANCEL);
                self.drain();
            }
        }
    }
}

/// The length of an XMODEM file of `len` bytes whose last block starts at
/// `last_block`: the `SUB` padding at the end of that block removed.
fn unpadded_len(data: &[u8], last_block: usize) -> usize {
    let mut len = data.len();
    while len > last_block && data[len - 1] == SUB {
        len -= 1;
    }
    len
}

/// Reads a YMODEM header: the name and the declared size, or `None` for
/// the empty header that ends a batch.
fn parse_header(block: &[u8]) -> Result<Option<(Name, Option<usize>)>, Error> {
    let Some(name_end) = block.iter().position(|&b| b == 0) else {
        return Err(Error::BadHeader("the file name has no terminating NUL"));
    };
    if name_end == 0 {
        return Ok(None);
    }
    let name = Name::from_bytes(&block[..name_end]);
    // The size, in decimal, up to a space (the modification time follows)
    // or a NUL; absent when the field is empty.
    let rest = &block[name_end + 1..];
    let field_end = rest.iter().position(|&b| b == b' ' || b == 0).unwrap_or(rest.len());
    let field = &rest[..field_end];
    if field.is_empty() {
        return Ok(Some((name, None)));
    }
    let mut size: usize = 0;
    for &d in field {
        if !d.is_ascii_digit() {
            return Err(Error::BadHeader("the file size is not a decimal number"));
        }
        size = size
            .checked_mul(10)
            .and_then(|s| s.checked_add(usize::from(d - b'0')))
            .ok_or(Error::BadHeader("the file size does not fit in an address"))?;
    }
    Ok(Some((name, Some(size))))
}

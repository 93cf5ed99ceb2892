//! Serial load (`loady`): a kernel and an optional initrd by YMODEM (or
//! one kernel by XMODEM-1K) over the console, then the usual boot flow.
//!
//! The files land in the scratch region, one after the other; a gzip
//! kernel is unpacked into the rest of it; then `loader::boot_image`
//! checks, loads and enters it exactly as for every other source (see
//! `bootmgr`). The protocol is `tianshan_ymodem`'s; this module only
//! gives it the console as a port, with timeouts on the CPU counter, and
//! reports. Nothing may be printed while the transfer runs: the console
//! *is* the line.

use crate::board::Board;
use crate::loader::{self, BootError};
use crate::platform::Platform;
use crate::scratch::Scratch;
use crate::timing::Timeline;
use alloc::format;
use alloc::string::String;
use tianshan_bootinfo::Phase;
use tianshan_drivers::{console, println};
use tianshan_ymodem::{Batch, Port, Timeouts};

/// Files a boot takes: the kernel and, for Linux, an initrd.
const MAX_BOOT_FILES: usize = 2;
/// Alignment of the area a gzip kernel is unpacked into.
const UNPACK_ALIGN: usize = 8;

/// The console as the transfer's line; time from the CPU counter.
struct ConsolePort<'b, B> {
    board: &'b B,
    ticks_per_ms: u64,
    /// The counter when last read.
    last: u32,
    /// Counter ticks since the port was made.
    elapsed: u64,
}

impl<'b, B: Board> ConsolePort<'b, B> {
    fn new(board: &'b B, platform: &Platform) -> Self {
        let ticks_per_ms = platform.counter_hz.div_ceil(1000).max(1);
        ConsolePort { board, ticks_per_ms, last: board.counter(), elapsed: 0 }
    }

    /// Ticks since the port was made. The counter is 32 bits and wraps
    /// every few tens of seconds; the transfer reads it far more often
    /// than that (every poll of the line), so adding up the steps keeps
    /// the sum exact over a transfer of any length.
    fn tick(&mut self) -> u64 {
        let now = self.board.counter();
        self.elapsed += u64::from(now.wrapping_sub(self.last));
        self.last = now;
        self.elapsed
    }
}

impl<B: Board> Port for ConsolePort<'_, B> {
    fn read_byte(&mut self, timeout_ms: u32) -> Option<u8> {
        let deadline = self.tick() + u64::from(timeout_ms) * self.ticks_per_ms;
        loop {
            if let Some(b) = console::try_read() {
                return Some(b);
            }
            if self.tick() >= deadline {
                return None;
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        console::write_bytes(bytes);
    }
}

/// Why `loady` did not boot.
pub enum LoadError {
    /// The transfer failed (the receiver has cancelled it).
    Transfer(tianshan_ymodem::Error),
    /// More files than a boot takes.
    TooManyFiles(usize),
    /// The kernel was refused, or the boot failed.
    Boot(BootError),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Transfer(e) => write!(f, "{e}"),
            LoadError::TooManyFiles(n) => {
                write!(f, "{n} files received; send the kernel and at most one initrd")
            }
            LoadError::Boot(e) => write!(f, "{e}"),
        }
    }
}

/// Receives a batch into `buf` over the console, saying what arrived.
pub fn receive<B: Board>(board: &B, platform: &Platform, buf: &mut [u8], what: &str) -> Result<Batch, LoadError> {
    println!(
        "loady: ready for {what} by YMODEM (or XMODEM-1K), up to {} bytes; start the send now (Ctrl-C cancels)",
        buf.len()
    );
    let mut port = ConsolePort::new(board, platform);
    let batch = tianshan_ymodem::receive(&mut port, buf, Timeouts::STANDARD).map_err(LoadError::Transfer)?;
    let ms = (port.tick() / port.ticks_per_ms).max(1);
    for f in batch.files() {
        println!("loady: received {} ({} bytes)", f.name, f.len);
    }
    let total: usize = batch.files().iter().map(|f| f.len).sum();
    println!(
        "loady: {total} bytes in {ms} ms ({} KiB/s), {} packet(s) sent again",
        total as u64 * 1000 / ms / 1024,
        batch.retries
    );
    Ok(batch)
}

/// `loady`: receives a kernel (and optional initrd) and boots it with
/// `cmdline`. Returns only on failure.
pub fn load_and_boot<B: Board>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    cmdline: &str,
    timeline: &mut Timeline,
) -> LoadError {
    let buf = scratch.bytes();
    let batch = match receive(board, platform, buf, "a kernel and an optional initrd") {
        Ok(b) => b,
        Err(e) => return e,
    };
    let files = batch.files();
    if files.len() > MAX_BOOT_FILES {
        return LoadError::TooManyFiles(files.len());
    }
    let Some(kernel) = files.first().copied() else {
        return LoadError::Boot(BootError::NotPresent("the batch held no file"));
    };
    let initrd = files.get(1).copied();
    timeline.mark(Phase::BootManager, board.counter());
    let split = batch.end().next_multiple_of(UNPACK_ALIGN).min(buf.len());
    let (files_area, rest) = buf.split_at_mut(split);
    let files_area: &[u8] = files_area;
    let image = match loader::unpack(kernel.bytes(files_area), rest) {
        Ok(image) => image,
        Err(e) => return LoadError::Boot(e),
    };
    let source: String = format!("ymodem:{}", kernel.name);
    let initrd = initrd.map(|f| f.bytes(files_area));
    LoadError::Boot(loader::boot_image(board, platform, &source, image, cmdline, initrd, timeline))
}

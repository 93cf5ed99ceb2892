//! The kernel command line: initrd words (`rd_start=`, `rd_size=`), user text.
//!
//! Linux concatenates argv[1..argc] with spaces, bounded by COMMAND_LINE_SIZE
//! (`lefi-boot-protocol.md` §4.1, L-CMD `fw_init_cmdline`), and learns about an
//! initrd only from `rd_start=<virtual address> rd_size=<bytes>` (§4.2,
//! L-SETUP). The initrd words go first, as QEMU puts them: text after a `--`
//! in the user's part is handed to init, so appending them could lose them.

use core::fmt::{self, Write};

use crate::LefiError;
use crate::abi::argv::COMMAND_LINE_SIZE;
use crate::addr::initrd_virtual;

/// Longest command line accepted, in bytes: Linux's COMMAND_LINE_SIZE less its
/// NUL (§4.1). Linux would silently cut a longer one; this crate refuses it.
pub const MAX_COMMAND_LINE_LEN: usize = COMMAND_LINE_SIZE - 1;

/// Separator between the initrd words and the user's text.
const SEPARATOR: &str = " ";

/// An initrd already placed in RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Initrd {
    /// Physical address of its first byte.
    pub pa: u64,
    /// Length in bytes.
    pub size: u64,
}

/// `core::fmt::Write` into a byte slice, failing when it is full.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `core::fmt::Write` that only counts bytes.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Writes the initrd words: `rd_start=0x<virtual address> rd_size=<decimal>`
/// (§4.2; e.g. `rd_start=0xffffffff84000000 rd_size=2560`, \[run\]).
fn write_initrd_words(w: &mut impl Write, initrd: &Initrd) -> fmt::Result {
    write!(w, "rd_start={:#x} rd_size={}", initrd_virtual(initrd.pa), initrd.size)
}

/// The command line Linux will see, as a length and a writer.
pub(crate) struct CommandLine<'a> {
    user: &'a str,
    initrd: Option<Initrd>,
}

impl<'a> CommandLine<'a> {
    /// Checks the user's text and the composed length.
    pub(crate) fn new(user: &'a str, initrd: Option<Initrd>) -> Result<Self, LefiError> {
        if let Some(offset) = user.bytes().position(|b| b == 0) {
            return Err(LefiError::CommandLineNul { offset });
        }
        let line = Self { user, initrd };
        let len = line.len();
        if len > MAX_COMMAND_LINE_LEN {
            return Err(LefiError::CommandLineTooLong { len, max: MAX_COMMAND_LINE_LEN });
        }
        Ok(line)
    }

    /// Length in bytes, without the NUL.
    pub(crate) fn len(&self) -> usize {
        let initrd = match &self.initrd {
            Some(initrd) => {
                let mut counter = Counter(0);
                write_initrd_words(&mut counter, initrd).expect("counting cannot fail");
                let separator = if self.user.is_empty() { 0 } else { SEPARATOR.len() };
                counter.0 + separator
            }
            None => 0,
        };
        initrd + self.user.len()
    }

    /// Writes the line and its NUL at the start of `out`, which must hold
    /// `len() + 1` bytes.
    pub(crate) fn write(&self, out: &mut [u8]) {
        let mut w = SliceWriter { buf: out, len: 0 };
        if let Some(initrd) = &self.initrd {
            write_initrd_words(&mut w, initrd).expect("caller sized the buffer");
            if !self.user.is_empty() {
                w.write_str(SEPARATOR).expect("caller sized the buffer");
            }
        }
        w.write_str(self.user).expect("caller sized the buffer");
        w.write_str("\0").expect("caller sized the buffer");
    }
}

//! Accepting the firmware's handoff: the magic in a0 and the boot-info
//! block at a1 (`docs/boot-protocol.md`).

use crate::board::Board;
use core::fmt;
use tianshan_bootinfo::{BootInfo, BootInfoError, HANDOFF_MAGIC, MAX_BLOCK_SIZE};

/// Why the handoff was refused.
#[derive(Clone, Copy, Debug)]
pub enum HandoffError {
    /// a0 does not hold the handoff magic: another loader started us.
    NotTianshan { magic: u64 },
    /// a1 is not an aligned address in memory the firmware could use.
    BadPointer { va: u64 },
    /// The block is malformed.
    Invalid { va: u64, error: BootInfoError },
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HandoffError::NotTianshan { magic } => write!(
                f,
                "not started by Tianshan firmware: a0 = {magic:#x}, expected the handoff magic {HANDOFF_MAGIC:#x}; no boot info"
            ),
            HandoffError::BadPointer { va } => {
                write!(f, "boot info pointer {va:#x} is not an aligned address in handoff memory")
            }
            HandoffError::Invalid { va, error } => write!(f, "boot info at {va:#x} refused: {error}"),
        }
    }
}

/// Alignment the firmware guarantees for the block.
const BLOCK_ALIGN: u64 = 8;
/// Bytes read first to learn the block's size.
const HEADER_PROBE: usize = 96;

/// Checks the handoff registers and validates the block.
pub fn accept<B: Board>(board: &B, magic: u64, va: u64) -> Result<BootInfo<'static>, HandoffError> {
    if magic != HANDOFF_MAGIC {
        return Err(HandoffError::NotTianshan { magic });
    }
    if !va.is_multiple_of(BLOCK_ALIGN) || !board.is_handoff_memory(va, MAX_BLOCK_SIZE as u64) {
        return Err(HandoffError::BadPointer { va });
    }
    // SAFETY: the board confirmed the whole largest-possible block lies in
    // RAM that is mapped for the kernel's lifetime; the kernel never writes
    // to the handoff area, so a shared borrow for 'static holds.
    let header = unsafe { core::slice::from_raw_parts(va as *const u8, HEADER_PROBE) };
    let size = BootInfo::claimed_size(header).map_err(|error| HandoffError::Invalid { va, error })?;
    // SAFETY: as above; `claimed_size` bounds `size` by MAX_BLOCK_SIZE.
    let block = unsafe { core::slice::from_raw_parts(va as *const u8, size) };
    BootInfo::parse(block).map_err(|error| HandoffError::Invalid { va, error })
}

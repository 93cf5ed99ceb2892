//! The Tianshan boot-info block: the kernel's only view of the machine.
//!
//! The firmware writes one block into memory it reserves, and passes its
//! address to the kernel (`docs/boot-protocol.md` has the register
//! contract and this layout as a table). The block is little-endian and
//! position-independent: tables are found by byte offsets from the block's
//! start, never by pointers. Version 1 carries the memory map, the command
//! line, the board and firmware names, the console and the phase timings.
//!
//! Compatibility rules: a reader accepts any block with the same major
//! version and a header at least as large as the one it knows; fields added
//! in a later minor version go after the existing ones and are ignored by
//! older readers. `total_size` and the CRC-32 cover the whole block.
#![cfg_attr(not(test), no_std)]

mod memmap;
mod reader;
mod writer;

pub use memmap::{MAX_REGIONS, MemoryKind, MemoryMap, MemoryMapError, MemoryRegion};
pub use reader::{BootInfo, BootInfoError, Timing};
pub use writer::{BootInfoWriter, WriteError};

/// `"TSBOOTIF"` as a little-endian u64: the first 8 bytes of every block.
pub const MAGIC: u64 = u64::from_le_bytes(*b"TSBOOTIF");
/// Passed in a0 at kernel entry so the kernel can tell it was started by
/// Tianshan firmware (and not, say, by QEMU's `-kernel` with a0 = argc).
pub const HANDOFF_MAGIC: u64 = u64::from_le_bytes(*b"TIANSHAN");
/// Major version: a change here means old kernels must refuse the block.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version: additions that old readers may ignore. 1.1 added the
/// device table.
pub const VERSION_MINOR: u16 = 1;
/// Largest block a reader accepts; also what the firmware reserves for it.
pub const MAX_BLOCK_SIZE: usize = 64 * 1024;

/// Byte offsets of the version-1 header fields.
pub(crate) mod hdr {
    pub const MAGIC: usize = 0;
    pub const VERSION_MAJOR: usize = 8;
    pub const VERSION_MINOR: usize = 10;
    pub const HEADER_SIZE: usize = 12;
    pub const TOTAL_SIZE: usize = 16;
    pub const CRC32: usize = 20;
    pub const MEMMAP: usize = 24; // offset u32, count u32
    pub const CMDLINE: usize = 32; // offset u32, length u32
    pub const BOARD: usize = 40; // offset u32, length u32
    pub const FW_VERSION: usize = 48; // offset u32, length u32
    pub const TIMINGS: usize = 56; // offset u32, count u32
    pub const COUNTER_HZ: usize = 64; // u64
    pub const CONSOLE_KIND: usize = 72; // u32
    pub const CONSOLE_REG_SHIFT: usize = 76; // u32
    pub const CONSOLE_BASE: usize = 80; // u64 physical address
    pub const CPU_COUNT: usize = 88; // u32
    pub const BOOT_CPU: usize = 92; // u32
    /// Size of the version-1.0 header.
    pub const SIZE_V1: usize = 96;
    pub const DEVICES: usize = 96; // offset u32, count u32 (1.1)
    /// Size of the version-1.1 header.
    pub const SIZE_V1_1: usize = 104;
}

/// Size of one device entry: bdf u32, vendor u16, device u16, class u32,
/// irq u32, memory base u64, memory size u64.
pub const DEVICE_ENTRY_SIZE: usize = 32;
/// `Device::irq` when the device has no interrupt line.
pub const NO_IRQ: u32 = u32::MAX;

/// A device the firmware found (PCI functions, for now).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Device {
    /// Bus << 16 | device << 8 | function.
    pub bdf: u32,
    /// PCI vendor id.
    pub vendor: u16,
    /// PCI device id.
    pub device: u16,
    /// Base class << 16 | subclass << 8 | programming interface.
    pub class: u32,
    /// Interrupt-controller input the device's interrupt reaches, or `NO_IRQ`.
    pub irq: u32,
    /// First memory BAR the firmware assigned (physical), or 0.
    pub mem_base: u64,
    /// Its size, or 0.
    pub mem_size: u64,
}

/// Size of one memory-map entry: base u64, size u64, kind u32, reserved u32.
pub const MEMMAP_ENTRY_SIZE: usize = 24;
/// Size of one timing entry: phase id u32, reserved u32, counter value u64.
pub const TIMING_ENTRY_SIZE: usize = 16;

/// The console the firmware used, so the kernel can print before it probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// No console was described.
    None,
    /// A 16550-compatible UART, memory-mapped at `base` (physical), with
    /// registers `1 << reg_shift` bytes apart.
    Ns16550 { base: u64, reg_shift: u32 },
}

/// ABI values of the console kind field.
pub(crate) mod console_kind {
    pub const NONE: u32 = 0;
    pub const NS16550: u32 = 1;
}

/// The firmware phases whose end times are reported (ABI values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Phase {
    /// CPU reset state, early console.
    Reset = 1,
    /// Memory sizing, memory map.
    Platform = 2,
    /// Device discovery.
    Devices = 3,
    /// Boot option selection.
    BootManager = 4,
    /// Kernel validation and copy.
    Loader = 5,
    /// Boot-info construction; the last stamp before the jump.
    Handoff = 6,
}

impl Phase {
    /// All phases in boot order.
    pub const ALL: [Phase; 6] =
        [Phase::Reset, Phase::Platform, Phase::Devices, Phase::BootManager, Phase::Loader, Phase::Handoff];

    /// The phase's name as printed by `timing`.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Reset => "reset",
            Phase::Platform => "platform",
            Phase::Devices => "devices",
            Phase::BootManager => "boot-manager",
            Phase::Loader => "loader",
            Phase::Handoff => "handoff",
        }
    }

    /// Decodes the ABI value.
    pub fn from_abi(v: u32) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| *p as u32 == v)
    }
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// CRC-32 of the block with its CRC field taken as zero.
pub(crate) fn block_crc(block: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&block[..hdr::CRC32]);
    h.update(&[0; 4]);
    h.update(&block[hdr::CRC32 + 4..]);
    h.finalize()
}

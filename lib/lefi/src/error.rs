//! Why a LEFI block could not be built, with the values that were wrong.

use core::fmt;

use crate::addr::PhysRange;

/// Which firmware entry point an address was given for (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryPoint {
    /// `ResetWarm` (and `ResetCold`).
    Reset,
    /// `Shutdown`.
    PowerOff,
    /// `DoSuspend`.
    Suspend,
}

impl fmt::Display for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryPoint::Reset => "reset (ResetWarm)",
            EntryPoint::PowerOff => "power-off (Shutdown)",
            EntryPoint::Suspend => "suspend (DoSuspend)",
        })
    }
}

/// Which 64-byte sysfs string a text was given for (§5.8–§5.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringField {
    /// `board_devices.name`.
    BoardName,
    /// `interface_info.description`.
    InterfaceDescription,
    /// `loongson_special_attribute.special_name`.
    SpecialName,
}

impl fmt::Display for StringField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StringField::BoardName => "board name",
            StringField::InterfaceDescription => "interface description",
            StringField::SpecialName => "special name (release date)",
        })
    }
}

/// Why a LEFI block could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LefiError {
    /// The output buffer cannot hold the tables and the argv area.
    BufferTooSmall { needed: usize, available: usize },
    /// The composed command line (initrd words included) is longer than
    /// [`crate::MAX_COMMAND_LINE_LEN`].
    CommandLineTooLong { len: usize, max: usize },
    /// The command line contains a NUL byte, which would end it early.
    CommandLineNul { offset: usize },
    /// The block does not lie below 512 MiB, so argv and a1/a2 cannot be
    /// sign-extended 32-bit KSEG0 addresses (§3, §4.1).
    NotKseg0 { range: PhysRange },
    /// The block's physical address is not aligned to the tables' alignment.
    MisalignedBlock { pa: u64, align: u64 },
    /// The block is not inside the RAM window at PA 0 (`loongson3-virt.md` §4).
    BlockNotInLowRam { block: PhysRange, low_ram_end: u64 },
    /// The block overlaps RAM the memory map hands to Linux (§2, §14 item 6).
    BlockInUsableRam { block: PhysRange, usable: PhysRange },
    /// A firmware entry point is neither 0 nor an instruction-aligned
    /// KSEG0/KSEG1/XKPHYS address (§8).
    BadEntryPoint { which: EntryPoint, address: u64 },
    /// Less RAM than the machine can have.
    RamTooSmall { size: u64, min: u64 },
    /// More RAM than node 0's address space holds.
    RamTooLarge { size: u64, max: u64 },
    /// A reserved range is empty or inverted.
    BadReservedRange { range: PhysRange },
    /// The reserved ranges cut RAM into more pieces than the table holds.
    TooManyMemoryEntries { needed: usize, max: usize },
    /// The reserved ranges leave no whole MiB of usable RAM.
    NoUsableRam,
    /// CPU count is 0 or above the maximum.
    CpuCount { count: u16, max: u16 },
    /// `cpu_startup_core_id` is not a CPU that exists, or not a LIOINTC core.
    StartupCore { core: u16, count: u16, liointc_cores: u16 },
    /// `reserved_cores_mask` names CPUs that do not exist, or its lowest
    /// clear bit (Linux's boot CPU, §12.1) is not `cpu_startup_core_id`.
    ReservedCoresMask { mask: u16, count: u16, startup_core: u16 },
    /// The CPU clock is 0 (Linux's timer runs at half of it, §5.4).
    CpuClockZero,
    /// The initrd is empty.
    InitrdEmpty,
    /// The initrd does not start on the required page alignment (§4.2).
    InitrdMisaligned { pa: u64, align: u64 },
    /// The initrd is not inside RAM the memory map declares usable (§4.2).
    InitrdNotInUsableRam { initrd: PhysRange },
    /// A sysfs string does not fit NUL-terminated in 64 bytes, or holds a NUL.
    BadString { field: StringField, len: usize, max: usize },
}

impl fmt::Display for LefiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LefiError::BufferTooSmall { needed, available } => {
                write!(f, "LEFI buffer too small: {needed} bytes needed, {available} available")
            }
            LefiError::CommandLineTooLong { len, max } => {
                write!(f, "command line is {len} bytes (initrd arguments included), at most {max} allowed")
            }
            LefiError::CommandLineNul { offset } => write!(f, "command line has a NUL byte at offset {offset}"),
            LefiError::NotKseg0 { range } => {
                write!(f, "LEFI block {range} is not below 512 MiB, so it has no 32-bit KSEG0 address")
            }
            LefiError::MisalignedBlock { pa, align } => {
                write!(f, "LEFI block at {pa:#x} is not aligned to {align} bytes")
            }
            LefiError::BlockNotInLowRam { block, low_ram_end } => {
                write!(f, "LEFI block {block} is not inside low RAM 0x0..{low_ram_end:#x}")
            }
            LefiError::BlockInUsableRam { block, usable } => {
                write!(f, "LEFI block {block} overlaps RAM {usable} that Linux is told it may use")
            }
            LefiError::BadEntryPoint { which, address } => {
                write!(f, "{which} entry {address:#x} is not 0 or a 4-byte aligned KSEG0/KSEG1/XKPHYS address")
            }
            LefiError::RamTooSmall { size, min } => {
                write!(f, "RAM size {size:#x} is below the minimum {min:#x}")
            }
            LefiError::RamTooLarge { size, max } => {
                write!(f, "RAM size {size:#x} is above the maximum {max:#x}")
            }
            LefiError::BadReservedRange { range } => write!(f, "reserved range {range} is empty or inverted"),
            LefiError::TooManyMemoryEntries { needed, max } => {
                write!(f, "memory map needs {needed} entries, the LEFI table holds {max}")
            }
            LefiError::NoUsableRam => f.write_str("reserved ranges leave no whole MiB of usable RAM"),
            LefiError::CpuCount { count, max } => write!(f, "CPU count {count} is not in 1..={max}"),
            LefiError::StartupCore { core, count, liointc_cores } => write!(
                f,
                "cpu_startup_core_id {core} must be below the CPU count {count} and the {liointc_cores} LIOINTC cores"
            ),
            LefiError::ReservedCoresMask { mask, count, startup_core } => write!(
                f,
                "reserved_cores_mask {mask:#06x} must name only CPUs below {count} and leave \
                 cpu_startup_core_id {startup_core} as the lowest unreserved CPU"
            ),
            LefiError::CpuClockZero => f.write_str("CPU clock frequency is 0"),
            LefiError::InitrdEmpty => f.write_str("initrd is empty"),
            LefiError::InitrdMisaligned { pa, align } => {
                write!(f, "initrd at {pa:#x} is not aligned to {align:#x} bytes")
            }
            LefiError::InitrdNotInUsableRam { initrd } => {
                write!(f, "initrd {initrd} is not inside RAM the memory map declares usable")
            }
            LefiError::BadString { field, len, max } => write!(
                f,
                "{field} is {len} bytes or holds a NUL; at most {max} bytes without NUL fit its 64-byte field"
            ),
        }
    }
}

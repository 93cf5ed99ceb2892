//! Platform phase: how much RAM, how many CPUs, what clock, and the memory
//! map that marks what the firmware itself, the handoff area and, while
//! boot files are loaded, the scratch region occupy.

use crate::board::{Board, PhysRange};
use crate::scratch::{MAX_SCRATCH, Scratch};
use core::fmt;
use tianshan_bootinfo::{MemoryKind, MemoryMap, MemoryMapError};
use tianshan_drivers::println;

/// Why the platform could not be brought up.
#[derive(Clone, Copy, Debug)]
pub enum PlatformError {
    /// The machine description device is missing or not answering.
    NoMachineInfo(&'static str),
    /// RAM smaller than the firmware needs.
    TooLittleRam { ram_size: u64, minimum: u64 },
    /// A memory map operation failed.
    MemoryMap(MemoryMapError),
    /// The kernel command line is longer than allowed.
    CmdlineTooLong { len: u64, max: usize },
    /// The kernel command line is not UTF-8.
    CmdlineNotUtf8,
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PlatformError::NoMachineInfo(why) => write!(f, "cannot read the machine description: {why}"),
            PlatformError::TooLittleRam { ram_size, minimum } => {
                write!(f, "{} MiB of RAM, at least {} MiB needed", ram_size >> 20, minimum >> 20)
            }
            PlatformError::MemoryMap(e) => write!(f, "memory map: {e}"),
            PlatformError::CmdlineTooLong { len, max } => {
                write!(f, "kernel command line is {len} bytes, at most {} allowed", max - 1)
            }
            PlatformError::CmdlineNotUtf8 => write!(f, "kernel command line is not valid UTF-8"),
        }
    }
}

impl From<MemoryMapError> for PlatformError {
    fn from(e: MemoryMapError) -> Self {
        PlatformError::MemoryMap(e)
    }
}

/// What the platform phase hands to the loader.
#[derive(Debug)]
pub struct Platform {
    /// Total RAM in bytes.
    pub ram_size: u64,
    /// CPU cores present.
    pub cpu_count: u32,
    /// CPU clock in Hz.
    pub cpu_hz: u64,
    /// Counter (CP0 Count) frequency in Hz.
    pub counter_hz: u64,
    /// How the other cores were parked.
    pub smp: crate::board::ParkReport,
    /// The map kernels are loaded against: RAM with the firmware's, the
    /// handoff area's and the scratch region's ranges carved out. What the
    /// next stage is handed is this map after loading, with the scratch
    /// region given back (`MemoryMap::hand_on`).
    pub memory_map: MemoryMap,
    /// Where the scratch region is (the bytes are the `Scratch` that
    /// `init` returns with this).
    pub scratch: PhysRange,
}

/// Scratch regions are whole MiB.
const SCRATCH_ALIGN: u64 = 1 << 20;

/// The wall-clock window the counter is measured over.
const CALIBRATION_NS: u64 = 200_000;
/// Bound on the wait for the end of the window, should the wall clock not
/// move.
const CALIBRATION_SPINS: u32 = 1_000_000;

/// A measurement of the counter's frequency against the board's wall
/// clock. It is started as early as the firmware runs and finished after
/// device discovery, so the boot's own work fills the window and only what
/// is left of it is spent waiting (none, when discovery takes longer).
pub struct Calibration {
    /// Wall-clock time and counter value at the start; `None` when the
    /// board has no wall clock.
    start: Option<(u64, u32)>,
}

impl Calibration {
    /// Takes the first reading.
    pub fn start<B: Board>(board: &B) -> Self {
        Calibration { start: board.wall_clock_ns().map(|t| (t, board.counter())) }
    }

    /// Waits for the rest of the window, if any is left, and returns the
    /// counter's measured frequency in Hz; `None` without a wall clock, or
    /// when the wall clock stops or runs backwards.
    pub fn finish<B: Board>(self, board: &B) -> Option<u64> {
        let (t0, c0) = self.start?;
        for _ in 0..CALIBRATION_SPINS {
            let t = board.wall_clock_ns()?;
            let elapsed = t.wrapping_sub(t0);
            if elapsed >= CALIBRATION_NS {
                let counts = u64::from(board.counter().wrapping_sub(c0));
                return Some(counts * 1_000_000_000 / elapsed);
            }
        }
        None
    }
}

/// Least RAM the firmware accepts: its own area must lie inside RAM.
fn minimum_ram<B: Board>() -> u64 {
    B::HANDOFF_RAM.base + B::HANDOFF_RAM.size
}

/// Sizes memory and builds the memory map; returns it with the scratch
/// region's owner.
///
/// # Safety
///
/// Call it once per boot: the `Scratch` it returns owns the scratch RAM.
pub unsafe fn init<B: Board>(board: &B) -> Result<(Platform, Scratch), PlatformError> {
    let info = board.machine_info()?;
    let too_little = PlatformError::TooLittleRam { ram_size: info.ram_size, minimum: minimum_ram::<B>() };
    if info.ram_size < minimum_ram::<B>() {
        return Err(too_little);
    }
    let mut memory_map = MemoryMap::new();
    let mut result = Ok(());
    board.ram_ranges(info.ram_size, &mut |r: PhysRange| {
        if result.is_ok() {
            result = memory_map.add(r.base, r.size, MemoryKind::Usable);
        }
    });
    result?;
    memory_map.carve(B::FIRMWARE_RAM.base, B::FIRMWARE_RAM.size, MemoryKind::Firmware)?;
    memory_map.carve(B::HANDOFF_RAM.base, B::HANDOFF_RAM.size, MemoryKind::BootInfo)?;
    let (base, size) = memory_map.scratch_room(MAX_SCRATCH, SCRATCH_ALIGN).ok_or(too_little)?;
    memory_map.carve(base, size, MemoryKind::Firmware)?;
    // SAFETY: the range is RAM just carved out of the loading map as
    // firmware memory, so the loader places no segment or file there; it
    // was usable RAM, so it is not the firmware's own RAM or heap (carved
    // first); the cached window maps all RAM; and this function runs once
    // per boot (the caller's obligation), so no other `Scratch` covers it.
    let scratch = unsafe { Scratch::new(board.phys_to_virt(base), size as usize) };
    let smp = board.park_secondaries(info.cpu_count);
    let platform = Platform {
        ram_size: info.ram_size,
        cpu_count: info.cpu_count,
        cpu_hz: info.cpu_hz,
        counter_hz: board.counter_hz(info.cpu_hz),
        smp,
        memory_map,
        scratch: PhysRange { base, size },
    };
    Ok((platform, scratch))
}

impl Platform {
    /// The counter's line: its frequency, and what it measured against the
    /// wall clock (`Calibration::finish`), printed once that is known.
    pub fn print_counter(&self, measured_hz: Option<u64>) {
        match measured_hz {
            Some(m) => println!(
                "platform: counter {} MHz, measured {}.{} MHz against the RTC",
                self.counter_hz / 1_000_000,
                m / 1_000_000,
                m / 100_000 % 10
            ),
            None => println!("platform: counter {} MHz (no RTC to check it against)", self.counter_hz / 1_000_000),
        }
    }

    /// One line per fact, as printed during boot.
    pub fn print_summary(&self) {
        println!(
            "platform: {} MiB RAM, {} CPU{}, {} MHz",
            self.ram_size >> 20,
            self.cpu_count,
            if self.cpu_count == 1 { "" } else { "s" },
            self.cpu_hz / 1_000_000
        );
        if self.smp.expected > 0 {
            println!(
                "smp: {} other core{} told to park on {} IPI mailbox{}{}",
                self.smp.expected,
                if self.smp.expected == 1 { "" } else { "s" },
                if self.smp.expected == 1 { "its" } else { "their" },
                if self.smp.expected == 1 { "" } else { "es" },
                if self.smp.reversed { " (reversed numbering: block = N-1-CPUNum)" } else { "" }
            );
        }
    }

    /// The memory map as a table.
    pub fn print_memory_map(&self) {
        tianshan_drivers::print!("{}", self.memory_map);
    }
}

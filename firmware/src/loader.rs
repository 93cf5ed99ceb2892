//! Loader phase: find the kernel, validate it, copy it into RAM.
//!
//! Nothing is written to RAM until `tianshan_elf::validate` has accepted
//! the whole image against the memory map, so a bad image never clobbers
//! the firmware or the handoff area.

use crate::board::Board;
use crate::handoff;
use crate::platform::{Platform, PlatformError};
use crate::timing::Timeline;
use core::fmt;
use tianshan_bootinfo::{MemoryRegion, Phase, WriteError};
use tianshan_drivers::println;
use tianshan_elf::{KernelKind, LoadPlan};
use tianshan_rom_image::{Directory, PayloadKind, RomError};

/// Why a boot attempt failed. Each variant names where the kernel came from.
#[derive(Clone, Copy, Debug)]
pub enum BootError {
    /// The source has nothing to boot.
    NotPresent(&'static str),
    /// Every disk was searched and no entry on them booted (each
    /// failure was reported as it happened).
    NothingOnDisks { disks: usize },
    /// The machine-description device failed.
    Platform(PlatformError),
    /// The file (kernel or initrd) is larger than the scratch RAM left.
    TooLarge { size: usize, room: usize },
    /// fw_cfg delivered fewer bytes than the file's size.
    ShortRead { read: usize, size: usize },
    /// A gzip-compressed kernel could not be decompressed.
    Gzip(tianshan_gzip::GzipError),
    /// The command line is longer than the boot info can carry.
    CmdlineTooLong { len: usize, max: usize },
    /// The command line is not UTF-8.
    CmdlineNotUtf8,
    /// The ROM's payload directory or a payload is damaged.
    Rom(RomError),
    /// The ROM carries no kernel.
    NoKernel,
    /// The kernel image was refused (the reason was printed with its source).
    Refused,
    /// A Tianshan kernel asks for a boot protocol this firmware lacks.
    UnsupportedProtocol(u32),
    /// The initrd file is empty.
    InitrdEmpty,
    /// No free RAM range can hold the initrd.
    InitrdNoRoom { size: u64 },
    /// The LEFI tables could not be built.
    Lefi(tianshan_lefi::LefiError),
    /// The core Linux must start on never parked.
    CoreNotParked { ebase: u32 },
    /// The boot-info block could not be written.
    BootInfo(WriteError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::NotPresent(what) => write!(f, "{what}"),
            BootError::NothingOnDisks { disks } => {
                write!(f, "nothing booted from {disks} disk{} (reasons above)", if *disks == 1 { "" } else { "s" })
            }
            BootError::Platform(e) => write!(f, "{e}"),
            BootError::TooLarge { size, room } => {
                write!(f, "file of {size} bytes does not fit the {room}-byte load area")
            }
            BootError::ShortRead { read, size } => write!(f, "read {read} of {size} bytes"),
            BootError::Gzip(e) => write!(f, "{e}"),
            BootError::CmdlineTooLong { len, max } => {
                write!(f, "kernel command line is {len} bytes, at most {max} allowed")
            }
            BootError::CmdlineNotUtf8 => write!(f, "kernel command line is not valid UTF-8"),
            BootError::Rom(e) => write!(f, "boot ROM: {e}"),
            BootError::NoKernel => write!(f, "boot ROM: no kernel payload in the ROM image"),
            BootError::Refused => write!(f, "kernel refused"),
            BootError::UnsupportedProtocol(v) => {
                write!(f, "the kernel wants Tianshan boot protocol {v}; this firmware speaks version 1")
            }
            BootError::InitrdEmpty => write!(f, "initrd is empty"),
            BootError::InitrdNoRoom { size } => {
                write!(f, "initrd of {size} bytes fits in no free RAM range")
            }
            BootError::Lefi(e) => write!(f, "Linux handoff: {e}"),
            BootError::CoreNotParked { ebase } => {
                write!(f, "Linux handoff: core {ebase}, which must start Linux, is not parked on its mailbox")
            }
            BootError::BootInfo(e) => write!(f, "{e}"),
        }
    }
}

impl From<RomError> for BootError {
    fn from(e: RomError) -> Self {
        BootError::Rom(e)
    }
}

/// Name of the embedded kernel as boot messages show it.
pub const EMBEDDED_KERNEL: &str = "rom:kernel";

/// Validates, loads and enters `image` (from `source`) with `cmdline`.
/// Returns only on failure.
pub fn boot_image<B: Board>(
    board: &B,
    platform: &Platform,
    source: &str,
    image: &[u8],
    cmdline: &str,
    initrd: Option<&[u8]>,
    timeline: &mut Timeline,
) -> BootError {
    let kind = tianshan_elf::kernel_kind(image);
    match load(board, platform, source, image) {
        Ok(mut plan) => {
            timeline.mark(Phase::Loader, board.counter());
            match kind {
                KernelKind::Tianshan { protocol: 1 } => {
                    if initrd.is_some() {
                        println!("boot: {source}: initrd ignored (a Tianshan kernel takes none)");
                    }
                    handoff::enter_kernel(board, platform, &mut plan, cmdline, timeline)
                }
                KernelKind::Tianshan { protocol } => BootError::UnsupportedProtocol(protocol),
                KernelKind::Other => {
                    let with_console = linux_cmdline(cmdline, B::LINUX_CONSOLE);
                    let cmdline = with_console.as_deref().unwrap_or(cmdline);
                    crate::linux::enter_linux(board, platform, &plan, cmdline, initrd, timeline)
                }
            }
        }
        Err(e) => e,
    }
}

/// Turns `plan`'s memory map into the one handed to the kernel it loaded:
/// RAM less the firmware-resident areas and the kernel, the scratch region
/// given back as usable, and each of `kept` (what this boot placed for the
/// kernel and it still needs) reserved as its own pages
/// (`MemoryMap::hand_on`). Call it once nothing more is placed against the
/// loading map.
pub fn hand_on(platform: &Platform, plan: &mut LoadPlan, kept: &[MemoryRegion]) -> Result<(), BootError> {
    plan.memory_map
        .hand_on(platform.scratch.base, platform.scratch.size, kept)
        .map_err(|e| BootError::Platform(PlatformError::MemoryMap(e)))
}

/// `cmdline` with the board's console added when it names none, as a
/// device tree's `stdout-path` would (`tianshan_bootcfg::cmdline`); `None`
/// when it names one. Says so in one line.
fn linux_cmdline(cmdline: &str, console: &str) -> Option<alloc::string::String> {
    let pieces = tianshan_bootcfg::cmdline::add_console(cmdline, console)?;
    println!("boot: no console= on the command line; adding console={console} (the firmware's console)");
    let mut line = alloc::string::String::new();
    for piece in pieces {
        line.push_str(piece);
    }
    Some(line)
}

/// The kernel itself: `file` as it is, or decompressed into `out` if it is
/// gzip-compressed.
pub fn unpack<'a>(file: &'a [u8], out: &'a mut [u8]) -> Result<&'a [u8], BootError> {
    if !tianshan_gzip::is_gzip(file) {
        return Ok(file);
    }
    let mut state = alloc::boxed::Box::new(tianshan_gzip::new_state());
    let n = tianshan_gzip::gunzip(file, out, &mut state).map_err(BootError::Gzip)?;
    println!("loader: gzip image, {} bytes decompressed to {n}", file.len());
    Ok(&out[..n])
}

/// The embedded kernel's bytes, after the ROM directory and CRC checks.
pub fn embedded_kernel<B: Board>(board: &B) -> Result<&'static [u8], BootError> {
    let (rom, directory_offset) = board.rom();
    let directory = Directory::parse(rom, directory_offset)?;
    let entry = directory.find(PayloadKind::Kernel).ok_or(BootError::NoKernel)?;
    Ok(directory.payload(&entry)?)
}

/// Validates `image` and copies it into RAM; returns the plan it followed.
pub fn load<B: Board>(board: &B, platform: &Platform, source: &str, image: &[u8]) -> Result<LoadPlan, BootError> {
    let plan = tianshan_elf::validate(image, |va| board.virt_to_phys(va), &platform.memory_map).map_err(|error| {
        println!("boot: {source}: {error}");
        BootError::Refused
    })?;
    let (lo, hi) = plan.phys_span();
    println!(
        "loader: {source}: {} bytes, {} segment{}, {lo:#x}..{hi:#x}, entry {:#x}",
        image.len(),
        plan.segments().len(),
        if plan.segments().len() == 1 { "" } else { "s" },
        plan.entry
    );
    for seg in plan.segments() {
        let va = board.phys_to_virt(seg.phys);
        // SAFETY: `validate` carved every segment out of usable RAM in the
        // platform's memory map (so it overlaps neither the firmware, nor
        // the handoff area, nor another segment), and `phys_to_virt` maps
        // all RAM. The firmware holds no other reference into that RAM.
        let dest = unsafe { core::slice::from_raw_parts_mut(va as *mut u8, seg.mem_size as usize) };
        let file_size = seg.file_size as usize;
        let offset = seg.file_offset as usize;
        dest[..file_size].copy_from_slice(&image[offset..offset + file_size]);
        dest[file_size..].fill(0);
        if seg.executable {
            board.sync_icache(va, seg.mem_size);
        }
    }
    Ok(plan)
}

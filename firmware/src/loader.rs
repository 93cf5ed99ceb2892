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
use tianshan_bootinfo::{Phase, WriteError};
use tianshan_drivers::println;
use tianshan_elf::{ElfError, LoadPlan};
use tianshan_rom_image::{Directory, PayloadKind, RomError};

/// Why a boot attempt failed. Each variant names where the kernel came from.
#[derive(Clone, Copy, Debug)]
pub enum BootError {
    /// The ROM's payload directory or a payload is damaged.
    Rom(RomError),
    /// The ROM carries no kernel.
    NoKernel,
    /// The kernel image was refused.
    Elf { source: &'static str, error: ElfError },
    /// The command line could not be read.
    Cmdline(PlatformError),
    /// The boot-info block could not be written.
    BootInfo(WriteError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Rom(e) => write!(f, "boot ROM: {e}"),
            BootError::NoKernel => write!(f, "boot ROM: no kernel payload in the ROM image"),
            BootError::Elf { source, error } => write!(f, "{source}: {error}"),
            BootError::Cmdline(e) => write!(f, "{e}"),
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

/// Boots the kernel embedded in the ROM image. Returns only on failure.
pub fn boot_embedded<B: Board>(board: &B, platform: &Platform, timeline: &mut Timeline) -> BootError {
    let image = match embedded_kernel(board) {
        Ok(image) => image,
        Err(e) => return e,
    };
    timeline.mark(Phase::BootManager, board.counter());
    match load(board, platform, EMBEDDED_KERNEL, image) {
        Ok(plan) => {
            timeline.mark(Phase::Loader, board.counter());
            handoff::enter_kernel(board, platform, &plan, timeline)
        }
        Err(e) => e,
    }
}

/// The embedded kernel's bytes, after the ROM directory and CRC checks.
pub fn embedded_kernel<B: Board>(board: &B) -> Result<&'static [u8], BootError> {
    let (rom, directory_offset) = board.rom();
    let directory = Directory::parse(rom, directory_offset)?;
    let entry = directory.find(PayloadKind::Kernel).ok_or(BootError::NoKernel)?;
    Ok(directory.payload(&entry)?)
}

/// Validates `image` and copies it into RAM; returns the plan it followed.
pub fn load<B: Board>(
    board: &B,
    platform: &Platform,
    source: &'static str,
    image: &[u8],
) -> Result<LoadPlan, BootError> {
    let plan = tianshan_elf::validate(image, |va| board.virt_to_phys(va), &platform.memory_map)
        .map_err(|error| BootError::Elf { source, error })?;
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

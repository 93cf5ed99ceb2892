//! Firmware update from the shell (`update`): receive a ROM image, check
//! that it is a whole, intact ROM for this board, write it to the boot
//! flash and read it back.
//!
//! The checks are `tianshan_rom_image::update::check_update` (size, the
//! directory and payload CRCs, the identity's board and firmware CRC);
//! nothing is written until they all pass. The boot flash is found before
//! the transfer, so nobody sends a ROM to a machine that cannot take it.
//!
//! On QEMU's loongson3-virt the boot ROM is read-only memory (QEMU maps
//! `-bios` as ROM, there is no pflash), so the board's boot flash is a
//! virtio-blk disk with the serial [`FLASH_SERIAL`], holding the ROM image
//! from offset 0: what `-bios` loads on the next start. On real boards the
//! same flow writes the SPI flash through its driver (docs/firmware-update.md).

use crate::board::Board;
use crate::disk::{self, Disk};
use crate::platform::Platform;
use crate::scratch::Scratch;
use crate::serial_load::{self, LoadError};
use core::fmt;
use tianshan_drivers::println;
use tianshan_drivers::virtio_blk::{SECTOR_BYTES, VirtioBlkError};
use tianshan_rom_image::update::{UpdateError, check_update};

/// The serial of the virtio-blk disk that is the boot flash on QEMU.
pub const FLASH_SERIAL: &str = "tianshan-flash";
/// Bytes written per request, and compared per read-back.
const WRITE_CHUNK: usize = 64 * 1024;

/// Why an update did not happen (or did not finish).
pub enum UpdateFailure {
    /// No boot flash device.
    NoFlash,
    /// The flash device is smaller than a ROM image.
    FlashTooSmall { sectors: u64, needed: usize },
    /// The transfer failed.
    Transfer(LoadError),
    /// The scratch region has no room to read the flash back.
    NoRoom,
    /// Not exactly one file.
    Files(usize),
    /// The image is not a ROM for this board.
    Refused(UpdateError),
    /// Writing failed at `offset`: the flash holds a partial image.
    Write { offset: usize, error: VirtioBlkError },
    /// The read-back differs from what was written.
    Verify { offset: usize },
}

impl fmt::Display for UpdateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateFailure::NoFlash => write!(
                f,
                "no boot flash: no virtio-blk disk has the serial {FLASH_SERIAL} \
                 (QEMU: -device virtio-blk-pci,drive=ID,serial={FLASH_SERIAL})"
            ),
            UpdateFailure::FlashTooSmall { sectors, needed } => {
                write!(f, "the boot flash has {} bytes, a ROM image needs {needed}", sectors * SECTOR_BYTES as u64)
            }
            UpdateFailure::Transfer(e) => write!(f, "{e}"),
            UpdateFailure::NoRoom => write!(f, "no RAM left to read the flash back with"),
            UpdateFailure::Files(n) => write!(f, "{n} files received; send exactly one ROM image"),
            UpdateFailure::Refused(e) => write!(f, "refused, the flash is unchanged: {e}"),
            UpdateFailure::Write { offset, error } => write!(
                f,
                "writing the flash failed at offset {offset:#x}: {error}; it now holds a partial image: \
                 do not reset, run update again"
            ),
            UpdateFailure::Verify { offset } => {
                write!(f, "the flash reads back differently from offset {offset:#x}: do not reset, run update again")
            }
        }
    }
}

/// The boot flash device, if the machine has one.
fn boot_flash<B: Board>() -> Option<(usize, Disk<B>)> {
    let count = disk::functions().ok()?.len();
    (0..count).find_map(|index| {
        let mut d = Disk::<B>::open(index).ok()?;
        (d.serial().as_deref() == Some(FLASH_SERIAL)).then_some((index, d))
    })
}

/// `update`: receives a ROM image by YMODEM and writes it to the boot
/// flash. The new firmware runs from the next reset.
pub fn update<B: Board>(board: &B, platform: &Platform, scratch: &mut Scratch) -> Result<(), UpdateFailure> {
    let flash_size = board.rom().0.len();
    let (index, mut flash) = boot_flash::<B>().ok_or(UpdateFailure::NoFlash)?;
    let sectors = tianshan_partition::BlockDevice::block_count(&flash);
    if sectors * (SECTOR_BYTES as u64) < flash_size as u64 {
        return Err(UpdateFailure::FlashTooSmall { sectors, needed: flash_size });
    }
    println!("update: boot flash is disk{index} ({})", flash.describe());
    // The end of the scratch region is kept for reading the flash back.
    let buf = scratch.bytes();
    let keep = WRITE_CHUNK.min(buf.len());
    let (buf, readback) = buf.split_at_mut(buf.len() - keep);
    let step = readback.len() / SECTOR_BYTES * SECTOR_BYTES;
    if step == 0 {
        return Err(UpdateFailure::NoRoom);
    }
    let batch = serial_load::receive(board, platform, buf, "a firmware ROM image").map_err(UpdateFailure::Transfer)?;
    let [file] = batch.files() else { return Err(UpdateFailure::Files(batch.files().len())) };
    let image = file.bytes(buf);
    let checked = check_update(image, flash_size, B::NAME).map_err(UpdateFailure::Refused)?;
    println!(
        "update: {}: {} for {}, {} payload(s) and the firmware part intact",
        file.name, checked.identity.version, checked.identity.board, checked.payloads
    );
    println!("update: writing {} bytes to the boot flash", image.len());
    for (i, chunk) in image.chunks(WRITE_CHUNK).enumerate() {
        let offset = i * WRITE_CHUNK;
        flash.write((offset / SECTOR_BYTES) as u64, chunk).map_err(|error| UpdateFailure::Write { offset, error })?;
    }
    // Read it all back through the device, so what the next reset runs is
    // what was checked.
    for (i, chunk) in image.chunks(step).enumerate() {
        let offset = i * step;
        let back = &mut readback[..chunk.len()];
        tianshan_partition::BlockDevice::read_blocks(&mut flash, (offset / SECTOR_BYTES) as u64, back)
            .map_err(|error| UpdateFailure::Write { offset, error })?;
        if let Some(at) = back.iter().zip(chunk).position(|(a, b)| a != b) {
            return Err(UpdateFailure::Verify { offset: offset + at });
        }
    }
    println!("update: written and read back intact; `reset` starts {}", checked.identity.version);
    Ok(())
}

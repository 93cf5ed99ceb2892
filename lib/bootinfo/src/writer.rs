//! Building a boot-info block into a caller-provided buffer.

use crate::{
    Console, DEVICE_ENTRY_SIZE, Device, MEMMAP_ENTRY_SIZE, MemoryMap, Phase, TIMING_ENTRY_SIZE, VERSION_MAJOR,
    VERSION_MINOR, block_crc, console_kind, hdr,
};
use core::fmt;

/// Why a block could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The buffer is smaller than the block needs.
    BufferTooSmall { needed: usize, available: usize },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WriteError::BufferTooSmall { needed, available } => {
                write!(f, "boot-info block needs {needed} bytes, only {available} reserved")
            }
        }
    }
}

/// Everything a version-1 block says; `write` lays it out.
#[derive(Clone, Debug)]
pub struct BootInfoWriter<'a> {
    /// The memory map handed to the kernel.
    pub memory_map: &'a MemoryMap,
    /// The kernel command line (UTF-8, no terminator needed).
    pub cmdline: &'a str,
    /// Board name, e.g. `qemu-loongson3-virt`.
    pub board: &'a str,
    /// Firmware name and version.
    pub firmware_version: &'a str,
    /// The console the firmware used.
    pub console: Console,
    /// Frequency of the counter the timings are in (CP0 Count), in Hz.
    pub counter_hz: u64,
    /// Counter value at the end of each phase that ran.
    pub timings: &'a [(Phase, u64)],
    /// Number of CPU cores present.
    pub cpu_count: u32,
    /// The core the kernel is entered on.
    pub boot_cpu: u32,
    /// Devices found (version 1.1).
    pub devices: &'a [Device],
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

const fn align8(n: usize) -> usize {
    (n + 7) & !7
}

impl BootInfoWriter<'_> {
    /// The size of the block this writer produces.
    pub fn size(&self) -> usize {
        let mut n = hdr::SIZE_V1_1;
        n += self.memory_map.regions().len() * MEMMAP_ENTRY_SIZE;
        n += self.devices.len() * DEVICE_ENTRY_SIZE;
        n += self.timings.len() * TIMING_ENTRY_SIZE;
        n += align8(self.cmdline.len()) + align8(self.board.len()) + align8(self.firmware_version.len());
        n
    }

    /// Writes the block at the start of `buf`; returns its size.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let size = self.size();
        if buf.len() < size {
            return Err(WriteError::BufferTooSmall { needed: size, available: buf.len() });
        }
        let b = &mut buf[..size];
        b.fill(0);
        put_u64(b, hdr::MAGIC, crate::MAGIC);
        put_u16(b, hdr::VERSION_MAJOR, VERSION_MAJOR);
        put_u16(b, hdr::VERSION_MINOR, VERSION_MINOR);
        put_u32(b, hdr::HEADER_SIZE, hdr::SIZE_V1_1 as u32);
        put_u32(b, hdr::TOTAL_SIZE, size as u32);

        let mut at = hdr::SIZE_V1_1;
        let regions = self.memory_map.regions();
        put_u32(b, hdr::MEMMAP, at as u32);
        put_u32(b, hdr::MEMMAP + 4, regions.len() as u32);
        for r in regions {
            put_u64(b, at, r.base);
            put_u64(b, at + 8, r.size);
            put_u32(b, at + 16, r.kind.to_abi());
            at += MEMMAP_ENTRY_SIZE;
        }
        put_u32(b, hdr::DEVICES, at as u32);
        put_u32(b, hdr::DEVICES + 4, self.devices.len() as u32);
        for d in self.devices {
            put_u32(b, at, d.bdf);
            put_u16(b, at + 4, d.vendor);
            put_u16(b, at + 6, d.device);
            put_u32(b, at + 8, d.class);
            put_u32(b, at + 12, d.irq);
            put_u64(b, at + 16, d.mem_base);
            put_u64(b, at + 24, d.mem_size);
            at += DEVICE_ENTRY_SIZE;
        }
        put_u32(b, hdr::TIMINGS, at as u32);
        put_u32(b, hdr::TIMINGS + 4, self.timings.len() as u32);
        for (phase, value) in self.timings {
            put_u32(b, at, *phase as u32);
            put_u64(b, at + 8, *value);
            at += TIMING_ENTRY_SIZE;
        }
        for (field, text) in
            [(hdr::CMDLINE, self.cmdline), (hdr::BOARD, self.board), (hdr::FW_VERSION, self.firmware_version)]
        {
            put_u32(b, field, at as u32);
            put_u32(b, field + 4, text.len() as u32);
            b[at..at + text.len()].copy_from_slice(text.as_bytes());
            at += align8(text.len());
        }
        put_u64(b, hdr::COUNTER_HZ, self.counter_hz);
        match self.console {
            Console::None => put_u32(b, hdr::CONSOLE_KIND, console_kind::NONE),
            Console::Ns16550 { base, reg_shift } => {
                put_u32(b, hdr::CONSOLE_KIND, console_kind::NS16550);
                put_u32(b, hdr::CONSOLE_REG_SHIFT, reg_shift);
                put_u64(b, hdr::CONSOLE_BASE, base);
            }
        }
        put_u32(b, hdr::CPU_COUNT, self.cpu_count);
        put_u32(b, hdr::BOOT_CPU, self.boot_cpu);
        debug_assert_eq!(at, size);
        let crc = block_crc(b);
        put_u32(b, hdr::CRC32, crc);
        Ok(size)
    }
}

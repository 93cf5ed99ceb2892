//! Validating and reading a boot-info block.

use crate::{
    Console, DEVICE_ENTRY_SIZE, Device, MAGIC, MAX_BLOCK_SIZE, MEMMAP_ENTRY_SIZE, MemoryKind, MemoryMap,
    MemoryMapError, Phase, TIMING_ENTRY_SIZE, VERSION_MAJOR, block_crc, console_kind, hdr, le_u16, le_u32, le_u64,
};
use core::fmt;

/// Why a block was refused. Each names the value that was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// Fewer bytes than a version-1 header.
    TooShort { len: usize },
    /// The first 8 bytes are not `TSBOOTIF`.
    BadMagic { found: u64 },
    /// A major version this reader does not understand.
    UnsupportedVersion { major: u16, minor: u16 },
    /// `header_size` is smaller than version 1's or larger than the block.
    BadHeaderSize { header_size: u32 },
    /// `total_size` is smaller than the header or larger than allowed.
    BadTotalSize { total_size: u32, limit: usize },
    /// The stored CRC-32 does not match the contents.
    BadChecksum { stored: u32, computed: u32 },
    /// A table or string lies (partly) outside the block.
    OutOfBounds { what: &'static str, offset: u32, len: u64 },
    /// A string is not UTF-8.
    NotUtf8 { what: &'static str },
    /// The memory map is inconsistent (overlap, empty or wrapping range).
    BadMemoryMap(MemoryMapError),
    /// The console kind is not one this reader knows.
    UnknownConsole { kind: u32 },
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BootInfoError::TooShort { len } => {
                write!(f, "block is {len} bytes, shorter than the {}-byte header", hdr::SIZE_V1)
            }
            BootInfoError::BadMagic { found } => {
                write!(f, "bad magic {found:#018x} (expected {MAGIC:#018x}, \"TSBOOTIF\")")
            }
            BootInfoError::UnsupportedVersion { major, minor } => {
                write!(f, "version {major}.{minor} is not supported (this kernel reads {VERSION_MAJOR}.x)")
            }
            BootInfoError::BadHeaderSize { header_size } => write!(f, "header size {header_size} is invalid"),
            BootInfoError::BadTotalSize { total_size, limit } => {
                write!(f, "total size {total_size} is outside {}..={limit}", hdr::SIZE_V1)
            }
            BootInfoError::BadChecksum { stored, computed } => {
                write!(f, "CRC-32 mismatch: block says {stored:#010x}, contents give {computed:#010x}")
            }
            BootInfoError::OutOfBounds { what, offset, len } => {
                write!(f, "{what} at offset {offset} ({len} bytes) runs past the end of the block")
            }
            BootInfoError::NotUtf8 { what } => write!(f, "{what} is not valid UTF-8"),
            BootInfoError::BadMemoryMap(e) => write!(f, "memory map: {e}"),
            BootInfoError::UnknownConsole { kind } => write!(f, "unknown console kind {kind}"),
        }
    }
}

/// One phase timing: the counter value when `phase` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// The phase, or `None` for an id this reader does not know.
    pub phase: Option<Phase>,
    /// Raw phase id.
    pub phase_id: u32,
    /// Counter value at the end of the phase.
    pub counter: u64,
}

/// A validated block; accessors cannot fail.
#[derive(Clone, Debug)]
pub struct BootInfo<'a> {
    block: &'a [u8],
    memory_map: MemoryMap,
    cmdline: &'a str,
    board: &'a str,
    firmware_version: &'a str,
    console: Console,
}

fn table(block: &[u8], at: usize, entry: usize, what: &'static str) -> Result<(usize, usize), BootInfoError> {
    let offset = le_u32(block, at);
    let count = le_u32(block, at + 4);
    let len = u64::from(count) * entry as u64;
    let end = u64::from(offset) + len;
    if end > block.len() as u64 || (offset as usize) < hdr::SIZE_V1.min(block.len()) && count > 0 {
        return Err(BootInfoError::OutOfBounds { what, offset, len });
    }
    Ok((offset as usize, count as usize))
}

fn text<'a>(block: &'a [u8], at: usize, what: &'static str) -> Result<&'a str, BootInfoError> {
    let (offset, len) = table(block, at, 1, what)?;
    core::str::from_utf8(&block[offset..offset + len]).map_err(|_| BootInfoError::NotUtf8 { what })
}

impl<'a> BootInfo<'a> {
    /// The total size a block claims, read from its header, so a caller
    /// holding only a pointer knows how many bytes to look at. Checks the
    /// magic and the size bounds, nothing else.
    pub fn claimed_size(header: &[u8]) -> Result<usize, BootInfoError> {
        if header.len() < hdr::SIZE_V1 {
            return Err(BootInfoError::TooShort { len: header.len() });
        }
        let magic = le_u64(header, hdr::MAGIC);
        if magic != MAGIC {
            return Err(BootInfoError::BadMagic { found: magic });
        }
        let total_size = le_u32(header, hdr::TOTAL_SIZE);
        if (total_size as usize) < hdr::SIZE_V1 || total_size as usize > MAX_BLOCK_SIZE {
            return Err(BootInfoError::BadTotalSize { total_size, limit: MAX_BLOCK_SIZE });
        }
        Ok(total_size as usize)
    }

    /// Validates `bytes` (which may extend past the block) and decodes it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BootInfoError> {
        let total = Self::claimed_size(bytes)?;
        if total > bytes.len() {
            return Err(BootInfoError::BadTotalSize { total_size: total as u32, limit: bytes.len() });
        }
        let block = &bytes[..total];
        let major = le_u16(block, hdr::VERSION_MAJOR);
        let minor = le_u16(block, hdr::VERSION_MINOR);
        if major != VERSION_MAJOR {
            return Err(BootInfoError::UnsupportedVersion { major, minor });
        }
        let header_size = le_u32(block, hdr::HEADER_SIZE);
        if (header_size as usize) < hdr::SIZE_V1 || header_size as usize > total {
            return Err(BootInfoError::BadHeaderSize { header_size });
        }
        let stored = le_u32(block, hdr::CRC32);
        let computed = block_crc(block);
        if stored != computed {
            return Err(BootInfoError::BadChecksum { stored, computed });
        }

        let (at, count) = table(block, hdr::MEMMAP, MEMMAP_ENTRY_SIZE, "memory map")?;
        let mut memory_map = MemoryMap::new();
        for i in 0..count {
            let e = at + i * MEMMAP_ENTRY_SIZE;
            let kind = MemoryKind::from_abi(le_u32(block, e + 16));
            memory_map.add(le_u64(block, e), le_u64(block, e + 8), kind).map_err(BootInfoError::BadMemoryMap)?;
        }
        table(block, hdr::TIMINGS, TIMING_ENTRY_SIZE, "timings")?;
        if header_size as usize >= hdr::SIZE_V1_1 {
            table(block, hdr::DEVICES, DEVICE_ENTRY_SIZE, "device table")?;
        }
        let console = match le_u32(block, hdr::CONSOLE_KIND) {
            console_kind::NONE => Console::None,
            console_kind::NS16550 => Console::Ns16550 {
                base: le_u64(block, hdr::CONSOLE_BASE),
                reg_shift: le_u32(block, hdr::CONSOLE_REG_SHIFT),
            },
            kind => return Err(BootInfoError::UnknownConsole { kind }),
        };
        Ok(BootInfo {
            block,
            memory_map,
            cmdline: text(block, hdr::CMDLINE, "command line")?,
            board: text(block, hdr::BOARD, "board name")?,
            firmware_version: text(block, hdr::FW_VERSION, "firmware version")?,
            console,
        })
    }

    /// (major, minor) version of the block.
    pub fn version(&self) -> (u16, u16) {
        (le_u16(self.block, hdr::VERSION_MAJOR), le_u16(self.block, hdr::VERSION_MINOR))
    }
    /// The block's bytes, as validated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.block
    }
    /// Size of the block in bytes.
    pub fn size(&self) -> usize {
        self.block.len()
    }
    /// The memory map.
    pub fn memory_map(&self) -> &MemoryMap {
        &self.memory_map
    }
    /// The kernel command line.
    pub fn cmdline(&self) -> &'a str {
        self.cmdline
    }
    /// The board name.
    pub fn board(&self) -> &'a str {
        self.board
    }
    /// The firmware name and version.
    pub fn firmware_version(&self) -> &'a str {
        self.firmware_version
    }
    /// The console the firmware used.
    pub fn console(&self) -> Console {
        self.console
    }
    /// Counter frequency of the timings, in Hz.
    pub fn counter_hz(&self) -> u64 {
        le_u64(self.block, hdr::COUNTER_HZ)
    }
    /// Number of CPU cores present.
    pub fn cpu_count(&self) -> u32 {
        le_u32(self.block, hdr::CPU_COUNT)
    }
    /// The core the kernel was entered on.
    pub fn boot_cpu(&self) -> u32 {
        le_u32(self.block, hdr::BOOT_CPU)
    }
    /// The devices the firmware found (none in a version 1.0 block).
    pub fn devices(&self) -> impl Iterator<Item = Device> + '_ {
        let has = le_u32(self.block, hdr::HEADER_SIZE) as usize >= hdr::SIZE_V1_1;
        let (at, count) = if has {
            (le_u32(self.block, hdr::DEVICES) as usize, le_u32(self.block, hdr::DEVICES + 4) as usize)
        } else {
            (0, 0)
        };
        (0..count).map(move |i| {
            let e = at + i * DEVICE_ENTRY_SIZE;
            Device {
                bdf: le_u32(self.block, e),
                vendor: le_u16(self.block, e + 4),
                device: le_u16(self.block, e + 6),
                class: le_u32(self.block, e + 8),
                irq: le_u32(self.block, e + 12),
                mem_base: le_u64(self.block, e + 16),
                mem_size: le_u64(self.block, e + 24),
            }
        })
    }

    /// The phase timings, in the order the firmware recorded them.
    pub fn timings(&self) -> impl Iterator<Item = Timing> + '_ {
        let at = le_u32(self.block, hdr::TIMINGS) as usize;
        let count = le_u32(self.block, hdr::TIMINGS + 4) as usize;
        (0..count).map(move |i| {
            let e = at + i * TIMING_ENTRY_SIZE;
            let phase_id = le_u32(self.block, e);
            Timing { phase: Phase::from_abi(phase_id), phase_id, counter: le_u64(self.block, e + 8) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BootInfoWriter;

    fn sample_map() -> MemoryMap {
        let mut m = MemoryMap::new();
        m.add(0, 0x1000_0000, MemoryKind::Usable).unwrap();
        m.add(0x9000_0000, 0x3000_0000, MemoryKind::Usable).unwrap();
        m.carve(0x0F00_0000, 0x0100_0000, MemoryKind::Firmware).unwrap();
        m.carve(0x20_0000, 0x10_0000, MemoryKind::Kernel).unwrap();
        m
    }

    const DEVICES: [Device; 2] = [
        Device {
            bdf: 0,
            vendor: 0x1B36,
            device: 0x0008,
            class: 0x06_00_00,
            irq: crate::NO_IRQ,
            mem_base: 0,
            mem_size: 0,
        },
        Device {
            bdf: 0x00_04_00,
            vendor: 0x1AF4,
            device: 0x1001,
            class: 0x01_00_00,
            irq: 2,
            mem_base: 0x4000_4000,
            mem_size: 0x4000,
        },
    ];

    fn sample_block() -> Vec<u8> {
        let map = sample_map();
        let timings = [(Phase::Reset, 100), (Phase::Loader, 5000), (Phase::Handoff, 6000)];
        let w = BootInfoWriter {
            memory_map: &map,
            cmdline: "console=ttyS0 quiet",
            board: "qemu-loongson3-virt",
            firmware_version: "Tianshan firmware 0.1.0",
            console: Console::Ns16550 { base: 0x1FE0_01E0, reg_shift: 0 },
            counter_hz: 400_000_000,
            timings: &timings,
            cpu_count: 4,
            boot_cpu: 0,
            devices: &DEVICES,
        };
        let mut buf = vec![0xAA; 4096];
        let n = w.write(&mut buf).unwrap();
        assert_eq!(n, w.size());
        buf.truncate(n);
        buf
    }

    #[test]
    fn round_trip() {
        let block = sample_block();
        let info = BootInfo::parse(&block).unwrap();
        assert_eq!(info.version(), (1, 1));
        assert_eq!(info.devices().collect::<Vec<_>>(), DEVICES.to_vec());
        assert_eq!(info.cmdline(), "console=ttyS0 quiet");
        assert_eq!(info.board(), "qemu-loongson3-virt");
        assert_eq!(info.firmware_version(), "Tianshan firmware 0.1.0");
        assert_eq!(info.console(), Console::Ns16550 { base: 0x1FE0_01E0, reg_shift: 0 });
        assert_eq!(info.counter_hz(), 400_000_000);
        assert_eq!((info.cpu_count(), info.boot_cpu()), (4, 0));
        assert_eq!(info.memory_map().regions(), sample_map().regions());
        let t: Vec<_> = info.timings().map(|t| (t.phase, t.counter)).collect();
        assert_eq!(t, vec![(Some(Phase::Reset), 100), (Some(Phase::Loader), 5000), (Some(Phase::Handoff), 6000)]);
    }

    #[test]
    fn a_version_1_0_block_still_parses() {
        // 1.0 had a 96-byte header and no device table: shrink a 1.1 block
        // to that shape and check the reader takes it, with no devices.
        let mut b = sample_block();
        b[hdr::VERSION_MINOR] = 0;
        set_u32(&mut b, hdr::HEADER_SIZE, hdr::SIZE_V1 as u32);
        reseal(&mut b);
        let info = BootInfo::parse(&b).unwrap();
        assert_eq!(info.version(), (1, 0));
        assert_eq!(info.devices().count(), 0);
        assert_eq!(info.board(), "qemu-loongson3-virt");
    }

    #[test]
    fn device_table_outside_the_block_is_refused() {
        let mut b = sample_block();
        set_u32(&mut b, hdr::DEVICES + 4, 100_000);
        reseal(&mut b);
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::OutOfBounds { what: "device table", .. })));
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut block = sample_block();
        let n = block.len();
        block.extend_from_slice(&[0xFF; 100]);
        assert_eq!(BootInfo::parse(&block).unwrap().size(), n);
    }

    #[test]
    fn buffer_too_small() {
        let map = sample_map();
        let w = BootInfoWriter {
            memory_map: &map,
            cmdline: "",
            board: "b",
            firmware_version: "f",
            console: Console::None,
            counter_hz: 1,
            timings: &[],
            cpu_count: 1,
            boot_cpu: 0,
            devices: &[],
        };
        let mut buf = [0u8; 64];
        assert_eq!(w.write(&mut buf), Err(WriteError::BufferTooSmall { needed: w.size(), available: 64 }));
    }

    use crate::WriteError;

    fn set_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn reseal(b: &mut [u8]) {
        let crc = block_crc(b);
        set_u32(b, hdr::CRC32, crc);
    }

    #[test]
    fn rejects_hostile_headers() {
        let good = sample_block();
        assert_eq!(BootInfo::parse(&good[..10]).unwrap_err(), BootInfoError::TooShort { len: 10 });

        let mut b = good.clone();
        b[0] = b'X';
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::BadMagic { .. })));

        let mut b = good.clone();
        b[hdr::VERSION_MAJOR] = 2;
        reseal(&mut b);
        assert_eq!(
            BootInfo::parse(&b).unwrap_err(),
            BootInfoError::UnsupportedVersion { major: 2, minor: crate::VERSION_MINOR }
        );

        let mut b = good.clone();
        set_u32(&mut b, hdr::TOTAL_SIZE, 0x10_0000);
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::BadTotalSize { total_size: 0x10_0000, .. })));

        let mut b = good.clone();
        set_u32(&mut b, hdr::HEADER_SIZE, 8);
        reseal(&mut b);
        assert_eq!(BootInfo::parse(&b).unwrap_err(), BootInfoError::BadHeaderSize { header_size: 8 });
    }

    #[test]
    fn rejects_corruption() {
        let good = sample_block();
        for i in [hdr::SIZE_V1 + 3, good.len() - 1, hdr::CONSOLE_BASE] {
            let mut b = good.clone();
            b[i] ^= 0x40;
            assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::BadChecksum { .. })), "byte {i}");
        }
    }

    #[test]
    fn rejects_tables_outside_the_block() {
        let good = sample_block();
        let mut b = good.clone();
        set_u32(&mut b, hdr::MEMMAP + 4, 0x1000_0000);
        reseal(&mut b);
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::OutOfBounds { what: "memory map", .. })));

        let mut b = good.clone();
        set_u32(&mut b, hdr::CMDLINE, u32::MAX);
        reseal(&mut b);
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::OutOfBounds { what: "command line", .. })));

        let mut b = good.clone();
        let at = le_u32(&b, hdr::BOARD) as usize;
        b[at] = 0xFF;
        reseal(&mut b);
        assert_eq!(BootInfo::parse(&b).unwrap_err(), BootInfoError::NotUtf8 { what: "board name" });
    }

    #[test]
    fn rejects_overlapping_memory_map() {
        let mut b = sample_block();
        let at = le_u32(&b, hdr::MEMMAP) as usize;
        // Make entry 1 start inside entry 0.
        b[at + MEMMAP_ENTRY_SIZE..at + MEMMAP_ENTRY_SIZE + 8].copy_from_slice(&0x1000u64.to_le_bytes());
        reseal(&mut b);
        let err = BootInfo::parse(&b).unwrap_err();
        assert!(matches!(err, BootInfoError::BadMemoryMap(MemoryMapError::Overlap { .. })), "{err:?}");
        assert!(err.to_string().starts_with("memory map: range 0x1000.."), "{err}");
    }
}

//! QEMU fw_cfg, memory-mapped "wide" interface without DMA.
//!
//! Source: QEMU `hw/nvram/fw_cfg.c`, `docs/specs/fw_cfg.rst`, and
//! `shared/specs/loongson3-virt.md` §8. The selector takes a 16-bit
//! big-endian store; the data register returns the selected item's next
//! 1, 2, 4 or 8 bytes in stream order (so on a little-endian CPU a u64 load
//! stored back with a u64 store copies the bytes verbatim). Numeric items
//! are little-endian; the file directory (key 0x19) is big-endian.

use core::fmt;
use core::ptr::NonNull;
use volatile::VolatilePtr;

/// Key: the signature, "QEMU".
pub const KEY_SIGNATURE: u16 = 0x0000;
/// Key: interface ID bits (bit 0 traditional, bit 1 DMA).
pub const KEY_ID: u16 = 0x0001;
/// Key: RAM size in bytes (u64).
pub const KEY_RAM_SIZE: u16 = 0x0003;
/// Key: number of CPUs (u16).
pub const KEY_NB_CPUS: u16 = 0x0005;
/// Key: the file directory.
pub const KEY_FILE_DIR: u16 = 0x0019;
/// Key: MIPS arch-local 1, CPU frequency in Hz (u64) (`hw/mips/fw_cfg.h`).
pub const KEY_MIPS_CPU_FREQ: u16 = 0x8001;
/// Size of one file directory entry.
pub const FILE_ENTRY_SIZE: usize = 64;
/// Longest file name, without its NUL.
pub const FILE_NAME_MAX: usize = 55;
const SIGNATURE: [u8; 4] = *b"QEMU";

/// A file in the fw_cfg directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FwCfgFile {
    /// Size in bytes.
    pub size: u32,
    /// Key to select it.
    pub select: u16,
    name: [u8; FILE_NAME_MAX + 1],
}

impl FwCfgFile {
    /// Decodes one 64-byte directory entry.
    pub fn parse(entry: &[u8; FILE_ENTRY_SIZE]) -> Self {
        let mut name = [0; FILE_NAME_MAX + 1];
        name.copy_from_slice(&entry[8..]);
        // The last byte is always a terminator, whatever the entry says.
        name[FILE_NAME_MAX] = 0;
        FwCfgFile {
            size: u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]),
            select: u16::from_be_bytes([entry[4], entry[5]]),
            name,
        }
    }

    /// The file name; non-UTF-8 names read as `"?"`.
    pub fn name(&self) -> &str {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(FILE_NAME_MAX);
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }
}

impl fmt::Debug for FwCfgFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FwCfgFile({:?}, key {:#06x}, {} bytes)", self.name(), self.select, self.size)
    }
}

/// Why fw_cfg could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FwCfgError {
    /// The signature item did not read "QEMU".
    NoDevice { found: [u8; 4] },
    /// The destination is smaller than the file.
    BufferTooSmall { size: u32, available: usize },
}

impl fmt::Display for FwCfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwCfgError::NoDevice { found } => write!(f, "no fw_cfg device (signature {found:02x?}, expected \"QEMU\")"),
            FwCfgError::BufferTooSmall { size, available } => {
                write!(f, "fw_cfg file of {size} bytes does not fit in {available} bytes")
            }
        }
    }
}

/// The fw_cfg register pair.
pub struct FwCfg {
    selector: NonNull<u16>,
    data: NonNull<u64>,
}

// SAFETY: the device is MMIO; ownership of `FwCfg` is what serialises access.
unsafe impl Send for FwCfg {}

impl FwCfg {
    /// Takes the device at the given selector and data register addresses
    /// and checks its signature.
    ///
    /// # Safety
    ///
    /// The addresses must map QEMU's fw_cfg selector and data registers for
    /// the life of the returned value, and nothing else may use them.
    pub unsafe fn new(selector: usize, data: usize) -> Result<Self, FwCfgError> {
        // SAFETY: the caller passes the (non-null) register addresses.
        let mut dev = unsafe {
            FwCfg {
                selector: NonNull::new_unchecked(selector as *mut u16),
                data: NonNull::new_unchecked(data as *mut u64),
            }
        };
        let mut sig = [0u8; 4];
        dev.select(KEY_SIGNATURE);
        dev.read(&mut sig);
        if sig != SIGNATURE {
            return Err(FwCfgError::NoDevice { found: sig });
        }
        Ok(dev)
    }

    /// Selects an item and rewinds to its first byte.
    pub fn select(&mut self, key: u16) {
        // SAFETY: `selector` maps the selector register (constructor
        // contract); it takes a big-endian 16-bit store.
        unsafe { VolatilePtr::new(self.selector) }.write(key.to_be());
    }

    /// Reads the next `buf.len()` bytes of the selected item.
    pub fn read(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            // SAFETY: `data` maps the data register; 8-byte loads at its
            // base are valid and return the next 8 bytes in stream order.
            let word = unsafe { VolatilePtr::new(self.data) }.read();
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let byte_reg = self.data.cast::<u8>();
        for b in chunks.into_remainder() {
            // SAFETY: as above; 1-byte loads at the base are valid too.
            *b = unsafe { VolatilePtr::new(byte_reg) }.read();
        }
    }

    /// Reads a little-endian u64 item.
    pub fn read_u64(&mut self, key: u16) -> u64 {
        let mut b = [0; 8];
        self.select(key);
        self.read(&mut b);
        u64::from_le_bytes(b)
    }

    /// Reads a little-endian u16 item.
    pub fn read_u16(&mut self, key: u16) -> u16 {
        let mut b = [0; 2];
        self.select(key);
        self.read(&mut b);
        u16::from_le_bytes(b)
    }

    /// RAM size in bytes (`-m`).
    pub fn ram_size(&mut self) -> u64 {
        self.read_u64(KEY_RAM_SIZE)
    }

    /// Number of CPUs (`-smp`).
    pub fn cpu_count(&mut self) -> u16 {
        self.read_u16(KEY_NB_CPUS)
    }

    /// CPU clock in Hz, as QEMU's MIPS machines report it.
    pub fn cpu_freq(&mut self) -> u64 {
        self.read_u64(KEY_MIPS_CPU_FREQ)
    }

    /// Calls `f` with each file in the directory, in directory order, until
    /// it returns `false`.
    pub fn for_each_file(&mut self, mut f: impl FnMut(&FwCfgFile) -> bool) {
        let mut count = [0; 4];
        self.select(KEY_FILE_DIR);
        self.read(&mut count);
        for _ in 0..u32::from_be_bytes(count) {
            let mut entry = [0; FILE_ENTRY_SIZE];
            self.read(&mut entry);
            if !f(&FwCfgFile::parse(&entry)) {
                break;
            }
        }
    }

    /// The file called `name`, if present.
    pub fn find(&mut self, name: &str) -> Option<FwCfgFile> {
        let mut found = None;
        self.for_each_file(|file| {
            if file.name() == name {
                found = Some(*file);
            }
            found.is_none()
        });
        found
    }

    /// Copies `file` into the start of `buf`; returns the byte count.
    pub fn read_file(&mut self, file: &FwCfgFile, buf: &mut [u8]) -> Result<usize, FwCfgError> {
        let size = file.size as usize;
        let available = buf.len();
        let dest = buf.get_mut(..size).ok_or(FwCfgError::BufferTooSmall { size: file.size, available })?;
        self.select(file.select);
        self.read(dest);
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u32, select: u16, name: &[u8]) -> [u8; FILE_ENTRY_SIZE] {
        let mut e = [0; FILE_ENTRY_SIZE];
        e[..4].copy_from_slice(&size.to_be_bytes());
        e[4..6].copy_from_slice(&select.to_be_bytes());
        e[8..8 + name.len()].copy_from_slice(name);
        e
    }

    #[test]
    fn parses_directory_entries() {
        let f = FwCfgFile::parse(&entry(0x1234, 0x22, b"opt/tianshan/kernel"));
        assert_eq!((f.size, f.select, f.name()), (0x1234, 0x22, "opt/tianshan/kernel"));
    }

    #[test]
    fn hostile_names_are_bounded() {
        let f = FwCfgFile::parse(&entry(1, 0x20, &[b'a'; 56]));
        assert_eq!(f.name().len(), FILE_NAME_MAX);
        let f = FwCfgFile::parse(&entry(1, 0x20, &[0xFF, 0xFE]));
        assert_eq!(f.name(), "?");
    }
}

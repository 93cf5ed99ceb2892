//! GUIDs as GPT stores them, with the canonical text form and known types.
//!
//! On disk a GUID is 16 bytes whose first three fields are little-endian and
//! whose last eight bytes are stored as written (UEFI 2.10 Appendix A). `Guid`
//! keeps the on-disk bytes; `Display` and `parse` use the canonical text form
//! `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`.

use core::fmt;

/// A GUID, holding its 16 bytes in on-disk (mixed-endian) order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Guid([u8; 16]);

impl Guid {
    /// All zeroes: in a GPT entry's type field it marks an unused entry
    /// (UEFI 2.10 §5.3.3, "Unused Entry").
    pub const ZERO: Guid = Guid([0; 16]);

    /// EFI System Partition (UEFI 2.10 §5.3.3, table "Defined GPT Partition Entry -
    /// Partition Type GUIDs").
    pub const EFI_SYSTEM: Guid =
        Guid::from_fields(0xC12A_7328, 0xF81F, 0x11D2, [0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B]);
    /// Legacy MBR partition (UEFI 2.10 §5.3.3, same table).
    pub const LEGACY_MBR: Guid =
        Guid::from_fields(0x024D_EE41, 0x33E7, 0x11D3, [0x9D, 0x69, 0x00, 0x08, 0xC7, 0x81, 0xF3, 0x9F]);
    /// Generic Linux filesystem data (Discoverable Partitions Specification).
    pub const LINUX_FILESYSTEM: Guid =
        Guid::from_fields(0x0FC6_3DAF, 0x8483, 0x4772, [0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4]);
    /// Linux swap (Discoverable Partitions Specification).
    pub const LINUX_SWAP: Guid =
        Guid::from_fields(0x0657_FD6D, 0xA4AB, 0x43C4, [0x84, 0xE5, 0x09, 0x33, 0xC8, 0x4B, 0x4F, 0x4F]);
    /// Microsoft basic data: FAT, exFAT or NTFS (Microsoft's GPT documentation).
    pub const MICROSOFT_BASIC_DATA: Guid =
        Guid::from_fields(0xEBD0_A0A2, 0xB9E5, 0x4433, [0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7]);
    /// BIOS boot partition, where GRUB keeps its core image ("Hah!IdontNeedEFI").
    pub const BIOS_BOOT: Guid =
        Guid::from_fields(0x2168_6148, 0x6449, 0x6E6F, [0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49]);

    /// The GUID whose canonical text is `d1-d2-d3-d4[0..2]-d4[2..8]` in hex.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]])
    }

    /// The GUID stored as these 16 on-disk bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// The 16 on-disk bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// True for the all-zero GUID.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Parses the canonical text form (either case), e.g. from a boot entry.
    pub fn parse(text: &str) -> Option<Guid> {
        let text = text.as_bytes();
        if text.len() != 36 || [8, 13, 18, 23].iter().any(|&i| text[i] != b'-') {
            return None;
        }
        // Canonical order of the 16 values as they appear in the text.
        let mut values = [0u8; 16];
        let mut n = 0;
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'-' {
                i += 1;
                continue;
            }
            values[n] = hex_value(text[i])? << 4 | hex_value(text[i + 1])?;
            n += 1;
            i += 2;
        }
        let d1 = u32::from_be_bytes([values[0], values[1], values[2], values[3]]);
        let d2 = u16::from_be_bytes([values[4], values[5]]);
        let d3 = u16::from_be_bytes([values[6], values[7]]);
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&values[8..]);
        Some(Guid::from_fields(d1, d2, d3, d4))
    }

    /// A name for a well-known partition type GUID.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match *self {
            Guid::EFI_SYSTEM => "EFI System",
            Guid::LEGACY_MBR => "Legacy MBR",
            Guid::LINUX_FILESYSTEM => "Linux filesystem",
            Guid::LINUX_SWAP => "Linux swap",
            Guid::MICROSOFT_BASIC_DATA => "Microsoft basic data",
            Guid::BIOS_BOOT => "BIOS boot",
            _ => return None,
        })
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

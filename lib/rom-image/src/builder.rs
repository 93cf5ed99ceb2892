//! Building a ROM image on the host (xtask, tests).

use super::*;

/// Why an image could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum BuildError {
    /// Firmware plus payloads exceed the flash.
    TooLarge { needed: usize, flash_size: usize },
    /// A payload name is longer than `NAME_LEN` bytes.
    NameTooLong(String),
    /// More than `MAX_ENTRIES` payloads.
    TooManyPayloads(usize),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::TooLarge { needed, flash_size } => write!(
                f,
                "ROM image needs {needed} bytes ({} KiB) but the board's flash holds {flash_size} ({} KiB)",
                needed.div_ceil(1024),
                flash_size / 1024
            ),
            BuildError::NameTooLong(n) => write!(f, "payload name {n:?} is longer than {NAME_LEN} bytes"),
            BuildError::TooManyPayloads(n) => write!(f, "{n} payloads, at most {MAX_ENTRIES}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Collects the firmware and payloads, then lays out the image.
pub struct RomBuilder {
    firmware: Vec<u8>,
    flash_size: usize,
    payloads: Vec<(String, PayloadKind, Vec<u8>)>,
    /// Board and version for the identity payload, if the image gets one.
    identity: Option<(String, String)>,
}

impl RomBuilder {
    /// Starts an image for a flash of `flash_size` bytes.
    pub fn new(firmware: Vec<u8>, flash_size: usize) -> Self {
        RomBuilder { firmware, flash_size, payloads: Vec::new(), identity: None }
    }

    /// Appends a payload.
    pub fn payload(mut self, name: &str, kind: PayloadKind, bytes: Vec<u8>) -> Self {
        self.payloads.push((name.to_string(), kind, bytes));
        self
    }

    /// Adds the identity payload (`update::identity_text`): `board`,
    /// `version` and the CRC-32 of the firmware part, which the firmware's
    /// `update` checks before it writes the image to the flash.
    pub fn identity(mut self, board: &str, version: &str) -> Self {
        self.identity = Some((board.to_string(), version.to_string()));
        self
    }

    /// Where the directory goes for a firmware of `firmware_len` bytes.
    pub fn directory_offset(firmware_len: usize) -> usize {
        align_up(firmware_len)
    }

    /// The finished image, padded with erased bytes to the flash size.
    pub fn build(&self) -> Result<Vec<u8>, BuildError> {
        let mut payloads = self.payloads.clone();
        if let Some((board, version)) = &self.identity {
            // The firmware part as it will be in the ROM: padded with
            // erased bytes up to the directory.
            let mut part = self.firmware.clone();
            part.resize(Self::directory_offset(self.firmware.len()), ERASED);
            let text = update::identity_text(board, version, crc32fast::hash(&part));
            payloads.push((update::IDENTITY_NAME.to_string(), PayloadKind::Identity, text.into_bytes()));
        }
        let payloads = &payloads;
        if payloads.len() > MAX_ENTRIES {
            return Err(BuildError::TooManyPayloads(payloads.len()));
        }
        let dir_offset = Self::directory_offset(self.firmware.len());
        let dir_size = DIR_HEADER_SIZE + payloads.len() * DIR_ENTRY_SIZE;
        let mut offset = align_up(dir_offset + dir_size);
        let mut dir = vec![0u8; dir_size];
        dir[..8].copy_from_slice(&DIR_MAGIC.to_le_bytes());
        dir[8..12].copy_from_slice(&DIR_VERSION.to_le_bytes());
        dir[12..16].copy_from_slice(&(payloads.len() as u32).to_le_bytes());
        let mut placed = Vec::new();
        for (i, (name, kind, bytes)) in payloads.iter().enumerate() {
            if name.len() > NAME_LEN {
                return Err(BuildError::NameTooLong(name.clone()));
            }
            let e = &mut dir[DIR_HEADER_SIZE + i * DIR_ENTRY_SIZE..][..DIR_ENTRY_SIZE];
            e[..name.len()].copy_from_slice(name.as_bytes());
            e[16..20].copy_from_slice(&kind.to_abi().to_le_bytes());
            e[20..24].copy_from_slice(&(offset as u32).to_le_bytes());
            e[24..28].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
            e[28..32].copy_from_slice(&crc32fast::hash(bytes).to_le_bytes());
            placed.push((offset, bytes));
            offset = align_up(offset + bytes.len());
        }
        let crc = directory_crc(&dir);
        dir[16..20].copy_from_slice(&crc.to_le_bytes());
        let needed = placed.last().map_or(dir_offset + dir_size, |(o, b)| o + b.len());
        if needed > self.flash_size {
            return Err(BuildError::TooLarge { needed, flash_size: self.flash_size });
        }
        let mut rom = vec![ERASED; self.flash_size];
        rom[..self.firmware.len()].copy_from_slice(&self.firmware);
        rom[dir_offset..dir_offset + dir_size].copy_from_slice(&dir);
        for (o, b) in placed {
            rom[o..o + b.len()].copy_from_slice(b);
        }
        Ok(rom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        RomBuilder::new(vec![0x42; 5000], 64 * 1024)
            .payload("kernel", PayloadKind::Kernel, vec![7; 3000])
            .payload("cfg", PayloadKind::Config, b"bootdelay=0\n".to_vec())
            .build()
            .unwrap()
    }

    #[test]
    fn layout_round_trips() {
        let rom = sample();
        assert_eq!(rom.len(), 64 * 1024);
        assert_eq!(&rom[..5000], &[0x42; 5000][..]);
        assert_eq!(rom[5000], ERASED, "gap after firmware is erased flash");
        let dir = Directory::parse(&rom, 8192).unwrap();
        let names: Vec<_> = dir.entries().map(|e| (e.name().to_string(), e.kind)).collect();
        assert_eq!(names, vec![("kernel".into(), PayloadKind::Kernel), ("cfg".into(), PayloadKind::Config)]);
        let k = dir.find(PayloadKind::Kernel).unwrap();
        assert_eq!(k.offset as usize % PAYLOAD_ALIGN, 0);
        assert_eq!(dir.payload(&k).unwrap(), &[7; 3000][..]);
        assert_eq!(dir.payload(&dir.find(PayloadKind::Config).unwrap()).unwrap(), b"bootdelay=0\n");
        assert_eq!(dir.find(PayloadKind::Initrd), None);
    }

    #[test]
    fn detects_corruption() {
        let rom = sample();
        let mut bad = rom.clone();
        bad[8192 + 40] ^= 1; // inside entry 0's name
        assert!(matches!(Directory::parse(&bad, 8192), Err(RomError::DirectoryChecksum { .. })));

        let dir = Directory::parse(&rom, 8192).unwrap();
        let k = dir.find(PayloadKind::Kernel).unwrap();
        let mut bad = rom.clone();
        bad[k.offset as usize + 100] ^= 0x10;
        let dir = Directory::parse(&bad, 8192).unwrap();
        let err = dir.payload(&k).unwrap_err();
        assert!(matches!(err, RomError::PayloadChecksum { index: 0, .. }));
        assert!(err.to_string().starts_with("payload 0 is corrupt: CRC-32 0x"), "{err}");
    }

    #[test]
    fn blank_or_hostile_directories() {
        let blank = vec![ERASED; 16384];
        assert_eq!(
            Directory::parse(&blank, 4096).unwrap_err(),
            RomError::NoDirectory { offset: 4096, found: u64::MAX }
        );
        assert!(matches!(Directory::parse(&blank, 16380), Err(RomError::NoDirectory { found: 0, .. })));
        let mut rom = sample();
        rom[8192 + 12..8192 + 16].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(Directory::parse(&rom, 8192).unwrap_err(), RomError::BadEntryCount { count: 1000 });
        let mut rom = sample();
        rom[8192 + 8] = 9;
        assert_eq!(Directory::parse(&rom, 8192).unwrap_err(), RomError::UnsupportedVersion { version: 9 });
    }

    #[test]
    fn payload_outside_rom_is_reported() {
        let rom = sample();
        let dir = Directory::parse(&rom, 8192).unwrap();
        let mut k = dir.find(PayloadKind::Kernel).unwrap();
        k.size = u32::MAX;
        assert!(matches!(dir.payload(&k), Err(RomError::PayloadOutOfBounds { index: 0, .. })));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let err = RomBuilder::new(vec![0; 4096], 8192)
            .payload("kernel", PayloadKind::Kernel, vec![0; 8192])
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::TooLarge { needed: 8192 + 8192, flash_size: 8192 });
        let err =
            RomBuilder::new(vec![], 8192).payload("a-very-long-payload-name", PayloadKind::Kernel, vec![]).build();
        assert!(matches!(err, Err(BuildError::NameTooLong(_))));
    }
}

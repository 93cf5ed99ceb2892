//! Is this image a ROM for this board? The checks a firmware update makes
//! before it writes anything to the boot flash.
//!
//! A ROM built by `cargo xtask build` carries an **identity** payload
//! (kind 4): `key = value` lines naming the board it was built for, the
//! firmware version, and the CRC-32 of the firmware part (offset 0 up to
//! the directory), which the directory's own CRCs do not cover:
//!
//! ```text
//! board = qemu-loongson3-virt
//! version = Tianshan firmware 0.1.0
//! firmware-crc32 = 0x1c2f3a4b
//! ```
//!
//! [`check_update`] accepts an image only if it is exactly the flash's
//! size, has a directory whose header and every payload pass their CRCs,
//! has an identity for this board, and its firmware part matches the
//! identity's CRC. Anything else is refused with the reason; nothing has
//! been written by then.

use crate::{DIR_MAGIC, Directory, PAYLOAD_ALIGN, PayloadKind, RomError};
use core::fmt;

/// Identity keys.
pub const KEY_BOARD: &str = "board";
/// The firmware version the image holds.
pub const KEY_VERSION: &str = "version";
/// CRC-32 of the firmware part, `0x` and 8 hex digits.
pub const KEY_FIRMWARE_CRC: &str = "firmware-crc32";
/// The identity payload's name in the directory.
pub const IDENTITY_NAME: &str = "identity";

/// What an image's identity says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The board it was built for.
    pub board: &'a str,
    /// The firmware version.
    pub version: &'a str,
    /// CRC-32 of the firmware part.
    pub firmware_crc32: u32,
}

/// An image that passed every check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked<'a> {
    /// Its identity.
    pub identity: Identity<'a>,
    /// Where its directory is (the end of its firmware part).
    pub directory_offset: usize,
    /// Payloads checked (the identity among them).
    pub payloads: usize,
}

/// Why an image is not a ROM for this board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// Not the flash's size.
    WrongSize { size: usize, flash_size: usize },
    /// No directory at any 4 KiB boundary.
    NoDirectory,
    /// The directory or a payload failed its check.
    Rom(RomError),
    /// No identity payload.
    NoIdentity,
    /// An identity that cannot be read.
    BadIdentity(&'static str),
    /// Built for another board.
    WrongBoard { board: &'static str },
    /// The firmware part does not match the identity's CRC.
    FirmwareChecksum { len: usize, stored: u32, computed: u32 },
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UpdateError::WrongSize { size, flash_size } => write!(
                f,
                "the image is {size} bytes but this board's flash is {flash_size} (a ROM image is exactly the flash's size)"
            ),
            UpdateError::NoDirectory => {
                write!(f, "no payload directory at any 4 KiB boundary: not a Tianshan ROM image")
            }
            UpdateError::Rom(e) => write!(f, "{e}"),
            UpdateError::NoIdentity => {
                write!(f, "the image has no identity record (payload kind 4), so the board it is for cannot be told")
            }
            UpdateError::BadIdentity(why) => write!(f, "the identity record is unreadable: {why}"),
            UpdateError::WrongBoard { board } => write!(f, "the image is not for this board ({board})"),
            UpdateError::FirmwareChecksum { len, stored, computed } => write!(
                f,
                "the firmware part (0..{len:#x}) is corrupt: CRC-32 {computed:#010x}, the identity says {stored:#010x}"
            ),
        }
    }
}

/// The identity text for `board` and `version` with the firmware part's CRC.
#[cfg(any(test, feature = "std"))]
pub fn identity_text(board: &str, version: &str, firmware_crc32: u32) -> String {
    format!("{KEY_BOARD} = {board}\n{KEY_VERSION} = {version}\n{KEY_FIRMWARE_CRC} = {firmware_crc32:#010x}\n")
}

/// Reads an identity payload.
pub fn parse_identity(text: &[u8]) -> Result<Identity<'_>, UpdateError> {
    let text = core::str::from_utf8(text).map_err(|_| UpdateError::BadIdentity("not UTF-8 text"))?;
    let (mut board, mut version, mut crc) = (None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            return Err(UpdateError::BadIdentity("a line without '='"));
        };
        let value = value.trim();
        match key.trim() {
            KEY_BOARD => board = Some(value),
            KEY_VERSION => version = Some(value),
            KEY_FIRMWARE_CRC => {
                let hex = value.strip_prefix("0x").ok_or(UpdateError::BadIdentity("firmware-crc32 is not 0x-hex"))?;
                crc = Some(
                    u32::from_str_radix(hex, 16)
                        .map_err(|_| UpdateError::BadIdentity("firmware-crc32 is not 0x-hex"))?,
                );
            }
            // Later keys (a signature, a rollback index) are for later
            // checks; an older firmware passes over them.
            _ => {}
        }
    }
    Ok(Identity {
        board: board.ok_or(UpdateError::BadIdentity("no board"))?,
        version: version.ok_or(UpdateError::BadIdentity("no version"))?,
        firmware_crc32: crc.ok_or(UpdateError::BadIdentity("no firmware-crc32"))?,
    })
}

/// The first directory at a 4 KiB boundary of `image`.
fn find_directory(image: &[u8]) -> Result<Directory<'_>, UpdateError> {
    let magic = DIR_MAGIC.to_le_bytes();
    let offset = (PAYLOAD_ALIGN..image.len())
        .step_by(PAYLOAD_ALIGN)
        .find(|&o| image[o..].starts_with(&magic))
        .ok_or(UpdateError::NoDirectory)?;
    Directory::parse(image, offset).map_err(UpdateError::Rom)
}

/// Checks that `image` is a whole, intact ROM for `board` (`'static`: the
/// board's own name, quoted in the refusal) whose flash is `flash_size`
/// bytes.
pub fn check_update<'a>(image: &'a [u8], flash_size: usize, board: &'static str) -> Result<Checked<'a>, UpdateError> {
    if image.len() != flash_size {
        return Err(UpdateError::WrongSize { size: image.len(), flash_size });
    }
    let dir = find_directory(image)?;
    let mut identity = None;
    let mut payloads = 0;
    for entry in dir.entries() {
        let bytes = dir.payload(&entry).map_err(UpdateError::Rom)?;
        payloads += 1;
        if entry.kind == PayloadKind::Identity && identity.is_none() {
            identity = Some(parse_identity(bytes)?);
        }
    }
    let identity = identity.ok_or(UpdateError::NoIdentity)?;
    if identity.board != board {
        return Err(UpdateError::WrongBoard { board });
    }
    let len = dir.offset();
    let computed = crc32fast::hash(&image[..len]);
    if computed != identity.firmware_crc32 {
        return Err(UpdateError::FirmwareChecksum { len, stored: identity.firmware_crc32, computed });
    }
    Ok(Checked { identity, directory_offset: len, payloads })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RomBuilder;

    const BOARD: &str = "test-board";
    const FLASH: usize = 64 * 1024;

    fn rom(board: &str) -> Vec<u8> {
        RomBuilder::new(vec![0x42; 5000], FLASH)
            .payload("kernel", PayloadKind::Kernel, vec![7; 3000])
            .identity(board, "Tianshan firmware 9.9.9")
            .build()
            .unwrap()
    }

    #[test]
    fn a_rom_for_this_board_passes() {
        let image = rom(BOARD);
        let c = check_update(&image, FLASH, BOARD).expect("accepted");
        assert_eq!(c.identity.board, BOARD);
        assert_eq!(c.identity.version, "Tianshan firmware 9.9.9");
        assert_eq!(c.directory_offset, 8192);
        assert_eq!(c.payloads, 2);
    }

    #[test]
    fn refusals_name_the_reason() {
        let good = rom(BOARD);
        assert_eq!(
            check_update(&good[..1000], FLASH, BOARD).unwrap_err().to_string(),
            "the image is 1000 bytes but this board's flash is 65536 (a ROM image is exactly the flash's size)"
        );
        assert_eq!(check_update(&rom("other-board"), FLASH, BOARD), Err(UpdateError::WrongBoard { board: BOARD }));
        assert_eq!(check_update(&vec![0xFF; FLASH], FLASH, BOARD), Err(UpdateError::NoDirectory));

        let mut code = good.clone();
        code[100] ^= 1;
        assert!(matches!(check_update(&code, FLASH, BOARD), Err(UpdateError::FirmwareChecksum { len: 8192, .. })));
        // The gap between firmware and directory is covered too.
        let mut gap = good.clone();
        gap[6000] = 0;
        assert!(matches!(check_update(&gap, FLASH, BOARD), Err(UpdateError::FirmwareChecksum { .. })));

        let dir = Directory::parse(&good, 8192).unwrap();
        let k = dir.find(PayloadKind::Kernel).unwrap();
        let mut payload = good.clone();
        payload[k.offset as usize + 10] ^= 0x80;
        assert!(matches!(
            check_update(&payload, FLASH, BOARD),
            Err(UpdateError::Rom(RomError::PayloadChecksum { index: 0, .. }))
        ));

        let mut dirbyte = good.clone();
        dirbyte[8192 + 40] ^= 1;
        assert!(matches!(
            check_update(&dirbyte, FLASH, BOARD),
            Err(UpdateError::Rom(RomError::DirectoryChecksum { .. }))
        ));

        let old = RomBuilder::new(vec![0x42; 5000], FLASH)
            .payload("kernel", PayloadKind::Kernel, vec![7; 30])
            .build()
            .unwrap();
        assert_eq!(check_update(&old, FLASH, BOARD), Err(UpdateError::NoIdentity));
    }

    #[test]
    fn identity_parsing() {
        let t = identity_text("b", "v 1", 0xDEAD_BEEF);
        assert_eq!(
            parse_identity(t.as_bytes()).unwrap(),
            Identity { board: "b", version: "v 1", firmware_crc32: 0xDEAD_BEEF }
        );
        assert_eq!(parse_identity(b"board = b\nversion = v\n"), Err(UpdateError::BadIdentity("no firmware-crc32")));
        assert_eq!(
            parse_identity(b"board = b\nversion = v\nfirmware-crc32 = 12\n"),
            Err(UpdateError::BadIdentity("firmware-crc32 is not 0x-hex"))
        );
        assert_eq!(parse_identity(b"junk\n"), Err(UpdateError::BadIdentity("a line without '='")));
        assert_eq!(parse_identity(&[0xFF, 0xFE]), Err(UpdateError::BadIdentity("not UTF-8 text")));
        // Unknown keys are passed over.
        assert!(parse_identity(b"board = b\nversion = v\nfirmware-crc32 = 0x1\nsignature = x\n").is_ok());
    }
}

//! A writer for cpio "newc" archives, the format of Linux initramfs images.
//!
//! Each entry is a 110-byte ASCII header (magic `070701`, then thirteen
//! 8-digit hexadecimal fields), the NUL-terminated name padded so header
//! plus name is a multiple of 4 bytes, then the data padded to 4 bytes. The
//! archive ends with an entry named `TRAILER!!!`. Source: Linux
//! `Documentation/driver-api/early-userspace/buffer-format.rst` and
//! `init/initramfs.c`. Names are relative (`bin/busybox`, not `/bin/...`),
//! as the kernel unpacks them relative to the root; list a directory before
//! what it holds. Timestamps and owners are 0, so the output is reproducible.

use std::fmt;

/// The newc magic (no header checksum).
const MAGIC: &[u8; 6] = b"070701";
/// Header length: the magic plus 13 fields of 8 hex digits.
pub const HEADER_LEN: usize = 6 + 13 * 8;
/// Name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// File type bits of `mode` (as in `st_mode`).
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFCHR: u32 = 0o020_000;

/// Why an entry could not be added.
#[derive(Debug, PartialEq, Eq)]
pub enum CpioError {
    /// The name is empty, absolute, contains NUL or a `.`/`..` component.
    BadName(String),
    /// The data does not fit the 32-bit size field.
    TooLarge { name: String, len: usize },
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::BadName(name) => {
                write!(f, "cpio: bad entry name {name:?} (must be relative, non-empty, without NUL, . or ..)")
            }
            CpioError::TooLarge { name, len } => {
                write!(f, "cpio: {name}: {len} bytes is more than a newc entry holds (4 GiB - 1)")
            }
        }
    }
}

/// The fields of one newc header, in file order after the magic.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Header {
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub devmajor: u32,
    pub devminor: u32,
    pub rdevmajor: u32,
    pub rdevminor: u32,
    /// Length of the name including its terminating NUL.
    pub namesize: u32,
    /// Always 0 for `070701`.
    pub check: u32,
}

impl Header {
    fn fields(&self) -> [u32; 13] {
        [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.devmajor,
            self.devminor,
            self.rdevmajor,
            self.rdevminor,
            self.namesize,
            self.check,
        ]
    }
}

/// Zero bytes that bring `len` up to a multiple of 4.
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

fn check_name(name: &str) -> Result<(), CpioError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\0')
        || name.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad { Err(CpioError::BadName(name.to_string())) } else { Ok(()) }
}

/// Builds a newc archive in memory.
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Self {
        Writer { out: Vec::new(), next_ino: 1 }
    }

    fn entry(&mut self, name: &str, mut header: Header, data: &[u8]) -> Result<(), CpioError> {
        header.filesize =
            u32::try_from(data.len()).map_err(|_| CpioError::TooLarge { name: name.to_string(), len: data.len() })?;
        header.namesize = (name.len() + 1) as u32;
        self.out.extend_from_slice(MAGIC);
        for field in header.fields() {
            self.out.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.out.resize(self.out.len() + pad4(HEADER_LEN + name.len() + 1), 0);
        self.out.extend_from_slice(data);
        self.out.resize(self.out.len() + pad4(data.len()), 0);
        Ok(())
    }

    /// Adds an entry of type `kind` with permission bits `perm`.
    fn add(&mut self, name: &str, kind: u32, perm: u32, nlink: u32, data: &[u8]) -> Result<(), CpioError> {
        check_name(name)?;
        let header = Header { ino: self.next_ino, mode: kind | (perm & 0o7777), nlink, ..Header::default() };
        self.next_ino += 1;
        self.entry(name, header, data)
    }

    /// A directory.
    pub fn dir(&mut self, name: &str, perm: u32) -> Result<(), CpioError> {
        self.add(name, S_IFDIR, perm, 2, &[])
    }

    /// A regular file.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<(), CpioError> {
        self.add(name, S_IFREG, perm, 1, data)
    }

    /// A symbolic link; its data is the target path.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<(), CpioError> {
        self.add(name, S_IFLNK, 0o777, 1, target.as_bytes())
    }

    /// A character device node with device number `major:minor`.
    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> Result<(), CpioError> {
        check_name(name)?;
        let header = Header {
            ino: self.next_ino,
            mode: S_IFCHR | (perm & 0o7777),
            nlink: 1,
            rdevmajor: major,
            rdevminor: minor,
            ..Header::default()
        };
        self.next_ino += 1;
        self.entry(name, header, &[])
    }

    /// Ends the archive with the trailer entry and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let trailer = Header { nlink: 1, ..Header::default() };
        self.entry(TRAILER, trailer, &[]).expect("the trailer is a short name with no data");
        self.out
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// One parsed entry: header, name and data.
    #[derive(Debug)]
    pub struct Entry {
        pub header: Header,
        pub name: String,
        pub data: Vec<u8>,
    }

    /// Parses a newc archive strictly (magic, padding, trailer), for tests.
    pub fn parse(mut bytes: &[u8]) -> Vec<Entry> {
        let start_len = bytes.len();
        let mut entries = Vec::new();
        loop {
            let offset = start_len - bytes.len();
            assert_eq!(offset % 4, 0, "entry at {offset} is not 4-byte aligned");
            assert_eq!(&bytes[..6], MAGIC, "magic at {offset}");
            let field = |i: usize| {
                let text = std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).unwrap();
                assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "field {i} at {offset}: {text:?}");
                u32::from_str_radix(text, 16).unwrap()
            };
            let f: Vec<u32> = (0..13).map(field).collect();
            let header = Header {
                ino: f[0],
                mode: f[1],
                uid: f[2],
                gid: f[3],
                nlink: f[4],
                mtime: f[5],
                filesize: f[6],
                devmajor: f[7],
                devminor: f[8],
                rdevmajor: f[9],
                rdevminor: f[10],
                namesize: f[11],
                check: f[12],
            };
            let name_end = HEADER_LEN + header.namesize as usize;
            assert_eq!(bytes[name_end - 1], 0, "name not NUL-terminated");
            let name = std::str::from_utf8(&bytes[HEADER_LEN..name_end - 1]).unwrap().to_string();
            let data_start = name_end + pad4(name_end);
            assert!(bytes[name_end..data_start].iter().all(|&b| b == 0), "name padding not zero");
            let data_end = data_start + header.filesize as usize;
            let next = data_end + pad4(data_end);
            assert!(bytes[data_end..next].iter().all(|&b| b == 0), "data padding not zero");
            let data = bytes[data_start..data_end].to_vec();
            bytes = &bytes[next..];
            let done = name == TRAILER;
            entries.push(Entry { header, name, data });
            if done {
                assert!(bytes.is_empty(), "{} bytes after the trailer", bytes.len());
                return entries;
            }
        }
    }

    #[test]
    fn header_fields_are_eight_hex_digits_in_order() {
        let mut w = Writer::new();
        w.file("init", 0o755, b"#!/bin/sh\n").unwrap();
        let bytes = w.finish();
        let expected_header = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            1, 0o100_755, 0, 0, 1, 0, 10, 0, 0, 0, 0, 5, 0
        );
        assert_eq!(&bytes[..HEADER_LEN], expected_header.as_bytes());
        // 110 + "init\0" = 115, padded to 116; then 10 data bytes padded to 12.
        assert_eq!(&bytes[HEADER_LEN..116], b"init\0\0");
        assert_eq!(&bytes[116..126], b"#!/bin/sh\n");
        assert_eq!(&bytes[126..128], &[0, 0]);
        assert_eq!(&bytes[128..134], MAGIC);
    }

    #[test]
    fn names_and_data_are_padded_to_four_bytes() {
        // Name lengths 1..=4 cover every padding amount after the header,
        // data lengths 0..=4 every amount after the data.
        let mut w = Writer::new();
        for (i, name) in ["a", "ab", "abc", "abcd"].iter().enumerate() {
            w.file(name, 0o644, &b"wxyz"[..i + 1]).unwrap();
        }
        w.file("empty", 0o644, &[]).unwrap();
        let bytes = w.finish();
        assert_eq!(bytes.len() % 4, 0);
        let entries = parse(&bytes);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "ab", "abc", "abcd", "empty", TRAILER]);
        assert_eq!(entries[3].data, b"wxyz");
        assert!(entries[4].data.is_empty());
    }

    #[test]
    fn ends_with_the_trailer() {
        let bytes = Writer::new().finish();
        let entries = parse(&bytes);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, TRAILER);
        assert_eq!(entries[0].header, Header { nlink: 1, namesize: 11, ..Header::default() });
        // 110 + "TRAILER!!!\0" = 121, padded to 124.
        assert_eq!(bytes.len(), 124);
    }

    #[test]
    fn directories_links_and_device_nodes() {
        let mut w = Writer::new();
        w.dir("dev", 0o755).unwrap();
        w.char_device("dev/console", 0o600, 5, 1).unwrap();
        w.symlink("bin/sh", "busybox").unwrap();
        let entries = parse(&w.finish());
        assert_eq!(entries[0].header.mode, 0o040_755);
        assert_eq!(entries[0].header.nlink, 2);
        let console = &entries[1].header;
        assert_eq!((console.mode, console.rdevmajor, console.rdevminor, console.filesize), (0o020_600, 5, 1, 0));
        assert_eq!(entries[2].header.mode, 0o120_777);
        assert_eq!(entries[2].data, b"busybox");
        let inos: Vec<u32> = entries[..3].iter().map(|e| e.header.ino).collect();
        assert_eq!(inos, [1, 2, 3]);
    }

    #[test]
    fn rejects_bad_names() {
        let mut w = Writer::new();
        for name in ["", "/init", "a//b", "../x", "./x", "bin/", "a\0b"] {
            assert_eq!(w.file(name, 0o644, &[]), Err(CpioError::BadName(name.to_string())), "{name:?}");
        }
        assert_eq!(parse(&w.finish()).len(), 1, "rejected entries were not written");
    }
}

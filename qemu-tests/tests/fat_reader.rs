//! Host tests of the firmware's FAT reader (`tianshan_fs::fat`, lib/fs) on
//! volumes made by the `fatfs` crate, intact and damaged. No QEMU.

use std::io::{Cursor, Seek, SeekFrom, Write};
use tianshan_fs::fat::{BadChain, BadGeometry, FatError, FatKind, Node, Volume};
use tianshan_partition::NotFat;
use tianshan_qemu_tests::disk::{MIB, MemDisk, OutOfRange, SECTOR};

type Error = FatError<OutOfRange>;

/// Bytes that differ from file to file and position to position.
fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) ^ seed).to_le_bytes()[1]).collect()
}

/// A `size`-byte volume of `fat_type` with `files`; `fragment` also writes
/// the first file in two halves around a second file, so its chain has a gap.
fn volume(size: usize, fat_type: fatfs::FatType, files: &[(&str, &[u8])], fragment: bool) -> Vec<u8> {
    let mut v = vec![0u8; size];
    fatfs::format_volume(Cursor::new(&mut v), fatfs::FormatVolumeOptions::new().fat_type(fat_type)).expect("format");
    {
        let fs = fatfs::FileSystem::new(Cursor::new(&mut v), fatfs::FsOptions::new()).expect("mount");
        let root = fs.root_dir();
        for (i, (path, data)) in files.iter().enumerate() {
            let mut dir = root.clone();
            let parts: Vec<&str> = path.split('/').collect();
            let (name, parents) = parts.split_last().expect("name");
            for p in parents {
                dir = dir.open_dir(p).or_else(|_| dir.create_dir(p)).expect("dir");
            }
            let mut f = dir.create_file(name).expect("create");
            if fragment && i == 0 {
                let half = data.len() / 2;
                f.write_all(&data[..half]).expect("write");
                let mut gap = root.create_file("gap.bin").expect("gap");
                gap.write_all(&pattern(99, 3 * 4096)).expect("gap write");
                f.seek(SeekFrom::End(0)).expect("seek");
                f.write_all(&data[half..]).expect("write");
            } else {
                f.write_all(data).expect("write");
            }
        }
    }
    v
}

fn mount(disk: &mut MemDisk) -> Volume {
    Volume::mount(disk).expect("mount")
}

fn read_all(v: &mut Volume, disk: &mut MemDisk, path: &str) -> Result<Vec<u8>, Error> {
    let node = v.lookup(disk, path)?;
    let mut buf = vec![0u8; node.size as usize];
    let n = v.read(disk, &node, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn names(v: &mut Volume, disk: &mut MemDisk, path: &str) -> Vec<String> {
    let dir = v.lookup(disk, path).expect("dir");
    let mut out = Vec::new();
    v.list(disk, &dir, &mut |n: &Node| out.push(if n.is_dir { format!("{}/", n.name) } else { n.name.clone() }))
        .expect("list");
    out.sort();
    out
}

#[test]
fn reads_fat12_fat16_and_fat32() {
    let big = pattern(1, 300_000);
    let odd = pattern(2, 1234);
    for (size, fat_type, kind) in [
        (4 * MIB, fatfs::FatType::Fat12, FatKind::Fat12),
        (16 * MIB, fatfs::FatType::Fat16, FatKind::Fat16),
        (40 * MIB, fatfs::FatType::Fat32, FatKind::Fat32),
    ] {
        let files: [(&str, &[u8]); 3] = [("big.bin", &big), ("dir/sub/odd.bin", &odd), ("empty.txt", b"")];
        let mut disk = MemDisk(volume(size, fat_type, &files, true));
        let mut v = mount(&mut disk);
        assert_eq!(v.kind(), kind);
        assert_eq!(read_all(&mut v, &mut disk, "/big.bin").expect("big"), big, "{kind}");
        assert_eq!(read_all(&mut v, &mut disk, "dir/sub/odd.bin").expect("odd"), odd, "{kind}");
        assert_eq!(read_all(&mut v, &mut disk, "/empty.txt").expect("empty"), b"", "{kind}");
        assert_eq!(names(&mut v, &mut disk, "/"), ["big.bin", "dir/", "empty.txt", "gap.bin"], "{kind}");
        // A prefix read stops early.
        let node = v.lookup(&mut disk, "big.bin").expect("lookup");
        let mut head = vec![0u8; 1000];
        assert_eq!(v.read(&mut disk, &node, &mut head).expect("head"), 1000);
        assert_eq!(head, big[..1000]);
    }
}

#[test]
fn long_names_and_case() {
    let mut disk = MemDisk(volume(
        16 * MIB,
        fatfs::FatType::Fat16,
        &[
            ("loader/entries/6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3.conf", b"linux /x\n"),
            ("MiXeD.Txt", b"m"),
        ],
        false,
    ));
    let mut v = mount(&mut disk);
    assert_eq!(names(&mut v, &mut disk, "/loader/entries"), ["6a9857a393724b7a981ebb5b8495b9ea-6.1.0-loongson-3.conf"]);
    assert_eq!(
        read_all(&mut v, &mut disk, "/LOADER/ENTRIES/6A9857A393724B7A981EBB5B8495B9EA-6.1.0-LOONGSON-3.CONF").unwrap(),
        b"linux /x\n"
    );
    assert_eq!(read_all(&mut v, &mut disk, "./mixed.txt").unwrap(), b"m");
    assert_eq!(names(&mut v, &mut disk, "/"), ["MiXeD.Txt", "loader/"]);
}

#[test]
fn path_errors() {
    let mut disk = MemDisk(volume(16 * MIB, fatfs::FatType::Fat16, &[("a/b.txt", b"b")], false));
    let mut v = mount(&mut disk);
    assert_eq!(v.lookup(&mut disk, "/nope").unwrap_err(), FatError::NotFound);
    assert_eq!(v.lookup(&mut disk, "/a/b.txt/c").unwrap_err(), FatError::NotADirectory);
    let dir = v.lookup(&mut disk, "/a").unwrap();
    assert_eq!(v.read(&mut disk, &dir, &mut [0u8; 4]).unwrap_err(), FatError::IsADirectory);
    let file = v.lookup(&mut disk, "/a/b.txt").unwrap();
    assert_eq!(v.list(&mut disk, &file, &mut |_| {}).unwrap_err(), FatError::NotADirectory);
    // `..` is a real directory entry; in a first-level directory it leads to the root.
    assert_eq!(read_all(&mut v, &mut disk, "/a/../a/b.txt").unwrap(), b"b");
}

/// Offsets of the first FAT (bytes) and the first cluster of `short` (an
/// 8.3 name as stored) on a FAT16 volume.
fn fat16_entry(volume: &[u8], short: &[u8; 11]) -> (usize, u16) {
    let reserved = u16::from_le_bytes([volume[14], volume[15]]) as usize;
    let at = volume.windows(11).position(|w| w == short).expect("entry");
    (reserved * SECTOR, u16::from_le_bytes([volume[at + 26], volume[at + 27]]))
}

fn set_fat16(volume: &mut [u8], fat: usize, cluster: u16, value: u16) {
    volume[fat + 2 * cluster as usize..][..2].copy_from_slice(&value.to_le_bytes());
}

/// A FAT16 volume with a 100 000-byte `kernel.elf` and a `dir` holding
/// enough entries to need several clusters.
fn damaged() -> (Vec<u8>, usize, u16, u16) {
    let mut files: Vec<(String, Vec<u8>)> = vec![("kernel.elf".into(), pattern(3, 100_000))];
    for i in 0..200 {
        files.push((format!("dir/a-long-file-name-number-{i}.txt"), vec![b'x'; 10]));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let v = volume(16 * MIB, fatfs::FatType::Fat16, &refs, false);
    let (fat, kernel) = fat16_entry(&v, b"KERNEL  ELF");
    let (_, dir) = fat16_entry(&v, b"DIR        ");
    (v, fat, kernel, dir)
}

fn kernel_error(v: Vec<u8>) -> Error {
    let mut disk = MemDisk(v);
    let mut vol = mount(&mut disk);
    read_all(&mut vol, &mut disk, "/kernel.elf").unwrap_err()
}

#[test]
fn damaged_chains_are_reported() {
    let (v, fat, k, dir) = damaged();

    let mut w = v.clone();
    set_fat16(&mut w, fat, k, k);
    assert_eq!(kernel_error(w), FatError::Chain(BadChain::Loop { start: u32::from(k) }));

    let mut w = v.clone();
    set_fat16(&mut w, fat, k, 0xFFFF);
    assert!(matches!(kernel_error(w), FatError::Chain(BadChain::TooShort { found: 1, .. })));

    let mut w = v.clone();
    set_fat16(&mut w, fat, k, 0);
    assert_eq!(kernel_error(w).to_string(), format!("corrupt FAT: cluster {k} links to a free cluster"));

    let mut w = v.clone();
    set_fat16(&mut w, fat, k, 0xFFF0);
    assert!(matches!(kernel_error(w), FatError::Chain(BadChain::Link { next: 0xFFF0, .. })));

    let mut w = v.clone();
    set_fat16(&mut w, fat, k, 0xFFF7);
    assert_eq!(kernel_error(w), FatError::Chain(BadChain::BadCluster { cluster: u32::from(k) }));

    // The last cluster links on instead of ending the chain.
    let mut w = v.clone();
    let mut last = k;
    loop {
        let next = u16::from_le_bytes([w[fat + 2 * last as usize], w[fat + 2 * last as usize + 1]]);
        if next >= 0xFFF8 {
            break;
        }
        last = next;
    }
    set_fat16(&mut w, fat, last, k);
    assert!(matches!(kernel_error(w), FatError::Chain(BadChain::TooLong { .. })));

    // A directory chain that loops is found, not followed forever.
    let mut w = v.clone();
    let second = u16::from_le_bytes([w[fat + 2 * dir as usize], w[fat + 2 * dir as usize + 1]]);
    assert!(second < 0xFFF8, "dir needs more than one cluster");
    set_fat16(&mut w, fat, second, dir);
    let mut disk = MemDisk(w);
    let mut vol = mount(&mut disk);
    let node = vol.lookup(&mut disk, "/dir").unwrap();
    assert_eq!(
        vol.list(&mut disk, &node, &mut |_| {}).unwrap_err(),
        FatError::Chain(BadChain::Loop { start: u32::from(dir) })
    );
}

#[test]
fn damaged_boot_sectors_are_reported() {
    let v = volume(16 * MIB, fatfs::FatType::Fat16, &[("a.txt", b"a")], false);
    let err = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut w = v.clone();
        edit(&mut w);
        Volume::mount(&mut MemDisk(w)).err().expect("refused")
    };
    assert_eq!(err(&|w| w[13] = 0), FatError::NotFat(NotFat::SectorsPerCluster(0)));
    assert_eq!(err(&|w| w[510] = 0), FatError::NotFat(NotFat::NoSignature));
    assert_eq!(
        err(&|w| w[11..13].copy_from_slice(&4096u16.to_le_bytes())),
        FatError::Geometry(BadGeometry::SectorSize { bytes: 4096 })
    );
    assert_eq!(
        err(&|w| {
            w[19..21].copy_from_slice(&0u16.to_le_bytes());
            w[32..36].copy_from_slice(&0u32.to_le_bytes());
        }),
        FatError::Geometry(BadGeometry::NoSectors)
    );
    assert_eq!(
        err(&|w| {
            w[22..24].copy_from_slice(&0u16.to_le_bytes());
            w[36..40].copy_from_slice(&0u32.to_le_bytes());
        }),
        FatError::Geometry(BadGeometry::NoFatSize)
    );
    assert!(matches!(
        err(&|w| {
            w[19..21].copy_from_slice(&0u16.to_le_bytes());
            w[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        }),
        FatError::Geometry(BadGeometry::PastPartition { total: 0xFFFF_FFFF, blocks: 32768 })
    ));
    assert!(matches!(
        err(&|w| w[22..24].copy_from_slice(&1u16.to_le_bytes())),
        FatError::Geometry(BadGeometry::FatTooSmall { kind: FatKind::Fat16, .. })
    ));
    // A volume cut short: the boot sector claims more than the device has.
    let mut short = v.clone();
    short.truncate(8 * MIB);
    assert!(matches!(Volume::mount(&mut MemDisk(short)), Err(FatError::Geometry(BadGeometry::PastPartition { .. }))));
    assert_eq!(
        Volume::mount(&mut MemDisk(vec![0u8; MIB])).err().expect("refused").to_string(),
        "not a FAT file system (no 0x55AA signature at byte 510)"
    );
}

/// Random damage to the metadata never panics or hangs: every operation
/// returns, with data or an error.
#[test]
fn random_damage_never_panics() {
    let (v, fat, _, _) = damaged();
    let mut seed = 0x1234_5678u32;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let metadata_end = fat + 64 * 1024;
    for _ in 0..300 {
        let mut w = v.clone();
        for _ in 0..1 + rand() % 16 {
            let at = rand() as usize % metadata_end;
            w[at] = rand() as u8;
        }
        let mut disk = MemDisk(w);
        let Ok(mut vol) = Volume::mount(&mut disk) else { continue };
        let _ = read_all(&mut vol, &mut disk, "/kernel.elf");
        if let Ok(dir) = vol.lookup(&mut disk, "/dir") {
            let _ = vol.list(&mut disk, &dir, &mut |_| {});
        }
        let _ = vol.lookup(&mut disk, "/dir/a-long-file-name-number-150.txt");
    }
}

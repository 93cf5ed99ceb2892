//! Host tests of the firmware's ext2/3/4 reader (`tianshan_fs::ext`, lib/fs)
//! on file systems made by e2fsprogs, intact and damaged. No QEMU.
//!
//! `mkfs.ext4 -d DIR` fills a file system
//! from a directory without root; `debugfs -w` then deletes and writes
//! files so that a large file is fragmented into an extent tree of depth 1
//! or more. e2fsprogs must be installed (Debian package `e2fsprogs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use tianshan_fs::ext::{ExtError, ExtKind, Node, Unsupported, Volume};
use tianshan_qemu_tests::disk::{MIB, MemDisk, OutOfRange, e2fs_tool};
use tianshan_qemu_tests::{run_tool, scratch_dir};

type Error = ExtError<OutOfRange>;

/// Bytes that differ from file to file and position to position.
fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(0x9E37_79B9)).to_le_bytes()[1]).collect()
}

/// What goes into a file system.
#[derive(Default)]
struct Tree {
    /// `(path, contents)`.
    files: Vec<(String, Vec<u8>)>,
    /// `(link, target)`.
    links: Vec<(String, String)>,
    /// `(path, size, data every this many bytes)`: sparse files.
    sparse: Vec<(String, u64, u64)>,
}

impl Tree {
    fn write(&self, root: &Path) {
        for (path, data) in &self.files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("create directory");
            std::fs::write(&p, data).expect("write file");
        }
        for (path, size, every) in &self.sparse {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = std::fs::File::create(root.join(path)).expect("create sparse");
            f.set_len(*size).expect("size");
            let mut at = 0;
            while at < *size {
                f.seek(SeekFrom::Start(at)).expect("seek");
                f.write_all(&sparse_chunk(at)).expect("write");
                at += every;
            }
        }
        for (link, target) in &self.links {
            let p = root.join(link);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("create directory");
            std::os::unix::fs::symlink(target, p).expect("create symlink");
        }
    }
}

/// The data at offset `at` of a sparse file (one 4 KiB block).
fn sparse_chunk(at: u64) -> Vec<u8> {
    pattern(at as u32, 4096)
}

/// A `size`-byte file system made by `mkfs.<kind>` with `args` holding
/// `tree`, then changed by the `debugfs` commands `edit` (run from the
/// scratch directory, so `write` takes file names there).
fn ext_volume(test: &str, kind: &str, size: usize, args: &[&str], tree: &Tree, edit: &[String]) -> (Vec<u8>, PathBuf) {
    let root = scratch_dir(test, "root");
    tree.write(&root);
    let work = scratch_dir(test, "img");
    let img = work.join("fs.img");
    run_tool(
        Command::new(e2fs_tool(&format!("mkfs.{kind}")))
            .args(["-q", "-F"])
            .args(args)
            .arg("-d")
            .arg(&root)
            .arg(&img)
            .arg(format!("{}k", size / 1024)),
    );
    if !edit.is_empty() {
        let cmds = work.join("cmds");
        std::fs::write(&cmds, edit.join("\n") + "\n").expect("write debugfs commands");
        run_tool(Command::new(e2fs_tool("debugfs")).current_dir(&work).arg("-w").arg("-f").arg(&cmds).arg(&img));
    }
    (std::fs::read(&img).expect("read the image"), img)
}

fn debugfs(img: &Path, cmd: &str) -> String {
    run_tool(Command::new(e2fs_tool("debugfs")).args(["-R", cmd]).arg(img))
}

fn read_all(v: &Volume, disk: &mut MemDisk, path: &str) -> Result<Vec<u8>, Error> {
    let node = v.lookup(disk, path)?;
    let mut buf = vec![0u8; node.size as usize];
    let n = v.read(disk, &node, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn names(v: &Volume, disk: &mut MemDisk, path: &str) -> Vec<String> {
    let dir = v.lookup(disk, path).expect("dir");
    let mut out = Vec::new();
    v.list(disk, &dir, &mut |n: &Node| out.push(if n.is_dir { format!("{}/", n.name) } else { n.name.clone() }))
        .expect("list");
    out.sort();
    out
}

/// Files `small/fNNN` of 12 KiB, deleted every other one by `edit`, so
/// that a file written afterwards by debugfs lands in the gaps.
fn fragmenting_tree(count: usize) -> (Tree, Vec<String>) {
    let mut tree = Tree::default();
    let mut edit = Vec::new();
    for i in 0..count {
        tree.files.push((format!("small/f{i:03}"), pattern(1000 + i as u32, 12 * 1024)));
        if i % 2 == 0 {
            edit.push(format!("rm /small/f{i:03}"));
        }
    }
    (tree, edit)
}

/// ext4 and ext2 (1 KiB blocks: double indirect blocks) with a large file
/// written into the gaps of deleted small files, a sparse file, nested
/// directories, an empty file.
#[test]
fn reads_fragmented_large_files() {
    for (kind, args, expect) in [
        ("ext4", &["-b", "4096"][..], ExtKind::Ext4),
        ("ext4", &["-b", "1024", "-O", "64bit,^flex_bg"][..], ExtKind::Ext4),
        ("ext2", &["-b", "1024"][..], ExtKind::Ext2),
        ("ext3", &["-b", "2048"][..], ExtKind::Ext3),
    ] {
        let test = format!("fragmented_{kind}_{}", args[1]);
        let (mut tree, mut edit) = fragmenting_tree(400);
        let big = pattern(7, 5 * MIB + 1234);
        tree.files.push(("dir/sub/odd.bin".into(), pattern(3, 4097)));
        tree.files.push(("empty".into(), Vec::new()));
        tree.sparse.push(("sparse.bin".into(), 3 * MIB as u64, 64 * 1024));
        // Next to (not in) the directories ext_volume empties.
        let host_big = scratch_dir(&test, "host").join("big.bin");
        std::fs::write(&host_big, &big).expect("write big");
        edit.push(format!("write {} /big.bin", host_big.display()));
        let (image, img) = ext_volume(&test, kind, 32 * MIB, args, &tree, &edit);
        let stat = debugfs(&img, "stat /big.bin");
        if kind == "ext2" {
            assert!(stat.contains("(DIND)"), "{kind}: big.bin has no double indirect block:\n{stat}");
        } else if kind == "ext4" {
            assert!(stat.contains("(ETB0)"), "{kind}: big.bin has no extent tree block:\n{stat}");
        }
        let mut disk = MemDisk(image);
        let v = Volume::mount(&mut disk).expect("mount");
        assert_eq!(v.kind(), expect, "{test}");
        assert!(read_all(&v, &mut disk, "/big.bin").expect("big") == big, "{test}: big.bin differs");
        assert_eq!(read_all(&v, &mut disk, "dir/sub/odd.bin").expect("odd"), pattern(3, 4097), "{test}");
        assert_eq!(read_all(&v, &mut disk, "/empty").expect("empty"), b"", "{test}");
        assert_eq!(read_all(&v, &mut disk, "/small/f001").expect("f001"), pattern(1001, 12 * 1024), "{test}");
        let sparse = read_all(&v, &mut disk, "/sparse.bin").expect("sparse");
        assert_eq!(sparse.len(), 3 * MIB, "{test}");
        for (i, chunk) in sparse.chunks(4096).enumerate() {
            let at = i as u64 * 4096;
            if at.is_multiple_of(64 * 1024) {
                assert_eq!(chunk, sparse_chunk(at), "{test}: sparse.bin at {at}");
            } else {
                assert!(chunk.iter().all(|&b| b == 0), "{test}: sparse.bin hole at {at}");
            }
        }
        // A short buffer reads a prefix.
        let node = v.lookup(&mut disk, "/big.bin").expect("big");
        let mut head = vec![0u8; 10_000];
        assert_eq!(v.read(&mut disk, &node, &mut head).expect("head"), 10_000);
        assert_eq!(head, big[..10_000]);
        assert_eq!(names(&v, &mut disk, "/dir"), ["sub/"]);
        assert_eq!(names(&v, &mut disk, "/small").len(), 200, "{test}");
    }
}

/// 3000 entries: an htree directory on ext4, read linearly.
#[test]
fn lists_and_finds_in_large_directories() {
    let mut tree = Tree::default();
    for i in 0..3000 {
        tree.files.push((format!("many/entry-with-a-longer-name-{i:05}.txt"), format!("file {i}\n").into_bytes()));
    }
    for (kind, args) in [("ext4", &["-b", "4096"][..]), ("ext2", &["-b", "1024"][..])] {
        let test = format!("large_dir_{kind}");
        let (mut image, img) = ext_volume(&test, kind, 32 * MIB, args, &tree, &[]);
        if kind == "ext4" {
            // `mkfs -d` writes linear directories; `e2fsck -D` indexes them
            // (exit status 1: it changed the file system).
            let status = Command::new(e2fs_tool("e2fsck")).args(["-f", "-y", "-D"]).arg(&img).output().expect("e2fsck");
            assert!(matches!(status.status.code(), Some(0 | 1)), "e2fsck -D failed: {status:?}");
            image = std::fs::read(&img).expect("read the image");
            let flags = debugfs(&img, "stat /many");
            assert!(flags.contains("Flags: 0x1000") || flags.contains("Flags: 0x81000"), "not an htree:\n{flags}");
        }
        let mut disk = MemDisk(image);
        let v = Volume::mount(&mut disk).expect("mount");
        let list = names(&v, &mut disk, "/many");
        assert_eq!(list.len(), 3000, "{kind}");
        assert_eq!(list[1234], "entry-with-a-longer-name-01234.txt");
        for i in [0, 1, 999, 2047, 2999] {
            let got = read_all(&v, &mut disk, &format!("/many/entry-with-a-longer-name-{i:05}.txt")).expect("entry");
            assert_eq!(got, format!("file {i}\n").into_bytes(), "{kind}");
        }
        assert!(matches!(read_all(&v, &mut disk, "/many/entry-with-a-longer-name-03000.txt"), Err(ExtError::NotFound)));
        assert!(matches!(read_all(&v, &mut disk, "/many"), Err(ExtError::IsADirectory)));
        assert!(matches!(
            v.lookup(&mut disk, "/many/entry-with-a-longer-name-00001.txt/x"),
            Err(ExtError::NotADirectory)
        ));
    }
}

#[test]
fn follows_fast_and_slow_symlinks() {
    let long_dir = "a-directory-with-a-name-long-enough-to-make-the-link-slow";
    let mut tree = Tree::default();
    tree.files.push(("boot/vmlinux-6.1".into(), b"kernel".to_vec()));
    tree.files.push((format!("{long_dir}/target.txt"), b"slow".to_vec()));
    tree.links.push(("boot/vmlinux".into(), "vmlinux-6.1".into()));
    tree.links.push(("abs".into(), "/boot/vmlinux".into()));
    tree.links.push(("up".into(), "boot/../boot/./vmlinux".into()));
    tree.links.push(("bootdir".into(), "boot".into()));
    tree.links.push(("slow".into(), format!("/{long_dir}/../{long_dir}/target.txt")));
    tree.links.push(("loop1".into(), "loop2".into()));
    tree.links.push(("loop2".into(), "loop1".into()));
    tree.links.push(("dangling".into(), "nowhere".into()));
    for (kind, args) in [("ext4", &[][..]), ("ext2", &["-b", "1024"][..])] {
        let (image, _) = ext_volume(&format!("links_{kind}"), kind, 8 * MIB, args, &tree, &[]);
        let mut disk = MemDisk(image);
        let v = Volume::mount(&mut disk).expect("mount");
        for path in ["/boot/vmlinux", "abs", "/up", "/bootdir/vmlinux", "/bootdir/../abs"] {
            assert_eq!(read_all(&v, &mut disk, path).expect(path), b"kernel", "{kind} {path}");
        }
        assert_eq!(v.lookup(&mut disk, "/abs").expect("abs").name, "abs");
        assert_eq!(read_all(&v, &mut disk, "/slow").expect("slow"), b"slow", "{kind}");
        assert!(v.lookup(&mut disk, "/bootdir").expect("bootdir").is_dir);
        assert!(matches!(v.lookup(&mut disk, "/loop1"), Err(ExtError::TooManyLinks)), "{kind}");
        assert!(matches!(v.lookup(&mut disk, "/dangling"), Err(ExtError::NotFound)), "{kind}");
        // Listing does not follow links; reading a listed link gives its target.
        let root = v.lookup(&mut disk, "/").expect("root");
        let mut links = Vec::new();
        v.list(&mut disk, &root, &mut |n: &Node| {
            if n.name == "slow" || n.name == "bootdir" {
                links.push(n.clone());
            }
        })
        .expect("list");
        assert_eq!(links.len(), 2);
        for n in links {
            assert!(!n.is_dir);
            let mut buf = vec![0u8; 200];
            let len = v.read(&mut disk, &n, &mut buf).expect("read link");
            let want = if n.name == "slow" { format!("/{long_dir}/../{long_dir}/target.txt") } else { "boot".into() };
            assert_eq!(&buf[..len], want.as_bytes());
        }
    }
}

#[test]
fn reads_meta_bg_and_refuses_inline_data() {
    let mut tree = Tree::default();
    tree.files.push(("kernel".into(), pattern(5, 2 * MIB)));
    tree.files.push(("tiny.txt".into(), b"x".to_vec()));
    let (image, _) =
        ext_volume("meta_bg", "ext4", 64 * MIB, &["-b", "1024", "-O", "meta_bg,^resize_inode"], &tree, &[]);
    let mut disk = MemDisk(image);
    let v = Volume::mount(&mut disk).expect("mount meta_bg");
    assert_eq!(read_all(&v, &mut disk, "/kernel").expect("kernel"), pattern(5, 2 * MIB));

    let (image, _) = ext_volume("inline", "ext4", 8 * MIB, &["-O", "inline_data"], &tree, &[]);
    match Volume::mount(&mut MemDisk(image)) {
        Err(e @ ExtError::Unsupported(ExtKind::Ext4, Unsupported::Feature("inline_data"))) => {
            assert_eq!(e.to_string(), "ext4 file system not supported: feature inline_data")
        }
        Err(e) => panic!("inline_data: {e}"),
        Ok(_) => panic!("inline_data mounted"),
    }
}

/// The messages the boot tests (ext_boot.rs) rely on.
#[test]
fn corrupt_superblock_and_extent_messages() {
    let mut tree = Tree::default();
    tree.files.push(("bad.elf".into(), pattern(9, 100_000)));
    let (mut image, _) =
        ext_volume("messages", "ext4", 16 * MIB, &[], &tree, &["sif /bad.elf block[0] 0x12345678".into()]);
    let mut disk = MemDisk(image.clone());
    let v = Volume::mount(&mut disk).expect("mount");
    let e = read_all(&v, &mut disk, "/bad.elf").expect_err("bad extent");
    let text = e.to_string();
    assert!(
        text.starts_with("corrupt ext4 file system: extent in inode ") && text.ends_with(" has invalid magic"),
        "{text}"
    );
    image[1024 + 0x28..][..4].copy_from_slice(&0u32.to_le_bytes());
    let e = Volume::mount(&mut MemDisk(image)).err().expect("mounted without inodes per group");
    assert_eq!(e.to_string(), "corrupt ext4 file system: inodes per block group is zero");
}

/// Every file and directory reachable from the root: listed, looked up and
/// read (errors are fine; panics and hangs are not). `budget` bounds the work.
fn walk(v: &Volume, disk: &mut MemDisk, path: &str, depth: usize, budget: &mut usize) {
    if depth > 8 || *budget == 0 {
        return;
    }
    *budget -= 1;
    let Ok(node) = v.lookup(disk, path) else { return };
    if node.is_dir {
        let mut children = Vec::new();
        let _ = v.list(disk, &node, &mut |n: &Node| children.push(n.clone()));
        for c in children.iter().take(50) {
            let mut buf = vec![0u8; (c.size as usize).min(8 * MIB)];
            let _ = v.read(disk, c, &mut buf);
            let _ = v.read(disk, c, &mut [0u8; 100]).err().map(|e| e.to_string()).unwrap_or_default();
            walk(v, disk, &format!("{path}/{}", c.name), depth + 1, budget);
        }
    } else {
        let mut buf = vec![0u8; (node.size as usize).min(8 * MIB)];
        if let Err(e) = v.read(disk, &node, &mut buf) {
            let _ = e.to_string();
        }
    }
}

/// A small xorshift generator: the corruption is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_corruption_never_panics() {
    let (mut tree, mut edit) = fragmenting_tree(120);
    tree.files.push(("dir/a/b/c.txt".into(), b"deep".to_vec()));
    tree.links.push(("link".into(), "dir/a/b/c.txt".into()));
    tree.links.push(("self".into(), "self".into()));
    for i in 0..300 {
        tree.files.push((format!("many/n{i}"), vec![i as u8; 100]));
    }
    let test = "corruption";
    let host_big = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ext-reader-tests/corruption-big.bin");
    std::fs::create_dir_all(host_big.parent().expect("parent")).expect("dir");
    std::fs::write(&host_big, pattern(11, 2 * MIB)).expect("write big");
    edit.push(format!("write {} /big.bin", host_big.display()));
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut mounted, mut refused) = (0, 0);
    for (kind, args) in [("ext4", &["-b", "1024"][..]), ("ext2", &["-b", "1024"][..]), ("ext4", &["-b", "4096"][..])] {
        let (image, _) = ext_volume(&format!("{test}_{kind}"), kind, 8 * MIB, args, &tree, &edit);
        // Where the metadata is: every block that is not a data block of
        // the big file is fair game, but most hits go to the first blocks.
        for round in 0..150 {
            let mut bad = image.clone();
            let flips = 1 + rng.next() % 64;
            for _ in 0..flips {
                let span = if rng.next().is_multiple_of(4) { bad.len() } else { 512 * 1024 };
                let at = (rng.next() % span as u64) as usize;
                bad[at] = match rng.next() % 4 {
                    0 => 0,
                    1 => 0xFF,
                    _ => rng.next() as u8,
                };
            }
            let mut disk = MemDisk(bad);
            match Volume::mount(&mut disk) {
                Ok(v) => {
                    mounted += 1;
                    let mut budget = 400;
                    walk(&v, &mut disk, "", 0, &mut budget);
                }
                Err(e) => {
                    refused += 1;
                    let text = e.to_string();
                    assert!(!text.is_empty() && !text.contains('\n'), "round {round}: {text:?}");
                }
            }
        }
    }
    assert!(mounted > 0 && refused > 0, "{mounted} mounted, {refused} refused: the corruption missed");
}

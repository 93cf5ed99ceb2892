//! The boot manager's `disk` source: boot entries on the virtio-blk disks.
//!
//! Each disk in discovery order gets one menu, gathered from every file
//! system on it, FAT or ext2/3/4 (`fs`; partitions in table order, or the
//! whole disk):
//!
//! 1. Boot Loader Specification type #1 entries, `/loader/entries/*.conf`,
//!    in `bls::compare_entries` order;
//! 2. PMON menus, `/boot/boot.cfg` or else `/boot.cfg` (where the Debian
//!    installer stick has it), its own `default` entry first, then the
//!    others in file order. `(wd0,N)/path` names partition N (counted from
//!    0, Linux's partition N+1) of the same disk; unit 0 of `wd`, `sd`,
//!    `usb` and `cd` all name the disk being read, other devices make the
//!    entry unusable (`pmon::own_disk`).
//!
//! The configured `default` (an index into that menu, or a title, BLS id or
//! file name) moves one entry to the front. Each entry is tried in turn:
//! its kernel is read into the scratch region, the disk is closed (which
//! resets the device, so nothing does DMA after the handoff; the next
//! entry's read opens it again), and the loader takes over. An entry that fails gets one line naming the file,
//! the line and why (`boot: disk: /loader/entries/a.conf: linux
//! /vmlinux-6.1: file not found`), then the next is tried; when no entry is
//! left the boot manager moves to its next source.
//!
//! The command line is `opt/tianshan/cmdline` if present, else the entry's
//! (`options` / `args`; `args nil` is an empty one), else the configured
//! `cmdline`; the loader adds the firmware's `console=` to a Linux command
//! line that names none. The first `initrd` line is loaded after the kernel
//! and passed to Linux (Tianshan kernels take none).

use super::fs::{FileSystem, FsError, Node};
use super::{DiskError, Place, SharedDisk, places};
use crate::board::Board;
use crate::bootmgr;
use crate::loader::{self, BootError};
use crate::platform::Platform;
use crate::scratch::{Scratch, split_file};
use crate::timing::Timeline;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use tianshan_bootcfg::config::DefaultEntry;
use tianshan_bootcfg::{bls, pmon};
use tianshan_bootinfo::Phase;
use tianshan_drivers::println;

/// Directory of BLS type #1 entries.
pub const ENTRIES_DIR: &str = "/loader/entries";
/// Largest entry or menu file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;
/// Most BLS entries read from one directory (by file name order).
const MAX_BLS_ENTRIES: usize = 64;
/// BLS `architecture` values this firmware boots (others are skipped).
const ARCHITECTURES: [&str; 2] = ["mips64el", "mips64"];

macro_rules! say {
    ($($arg:tt)*) => { println!("boot: disk: {}", format_args!($($arg)*)) };
}

/// One bootable entry of a disk's menu.
struct Entry {
    /// Where it came from: `/loader/entries/a.conf`, `/boot/boot.cfg: entry 0 'Debian'`.
    origin: String,
    /// What a `default` title matches: the title, the BLS id and file name.
    names: Vec<String>,
    /// `linux` or `kernel`, for messages.
    key: &'static str,
    /// The kernel path as written.
    kernel_text: String,
    /// Index into the disk's places of the file system holding the kernel,
    /// or the PMON partition number when it names one.
    place: usize,
    pmon_partition: Option<u8>,
    /// The kernel's path inside that file system.
    path: String,
    /// The entry's command line, if it has one.
    options: Option<String>,
    /// `initrd` paths: the first is loaded and passed to Linux, the others
    /// are reported as ignored.
    initrds: Vec<String>,
}

/// Tries every disk, loading into `scratch`. Returns only if nothing booted.
pub fn boot<B: Board + 'static>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    timeline: &mut Timeline,
) -> BootError {
    let count = match super::functions() {
        Ok(f) => f.len(),
        Err(DiskError::NoPci) => return BootError::NotPresent("no PCI host, so no disks"),
        Err(_) => 0,
    };
    if count == 0 {
        return BootError::NotPresent("no virtio-blk disk");
    }
    for index in 0..count {
        boot_disk(board, platform, scratch, index, timeline);
    }
    BootError::NothingOnDisks { disks: count }
}

fn boot_disk<B: Board + 'static>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    index: usize,
    timeline: &mut Timeline,
) {
    let disk = match SharedDisk::<B>::open(index) {
        Ok(d) => d,
        Err(e) => return say!("{e}"),
    };
    match disk.with(|d| d.describe()) {
        Ok(description) => say!("disk{index}: {description}"),
        Err(e) => return say!("{e}"),
    }
    let (places, table) = match disk.with(|d| places(d)) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) | Err(e) => return say!("{e}"),
    };
    if let Some(table) = &table {
        for note in table.diagnostics() {
            say!("disk{index}: note: {note}");
        }
    }
    let mut file_systems: Vec<Option<FileSystem<B>>> = Vec::new();
    let mut entries = Vec::new();
    for (i, place) in places.iter().enumerate() {
        match FileSystem::mount(&disk, place) {
            Ok(mut fs) => {
                say!("{}: {} file system", place.name, fs.kind());
                let before = entries.len();
                bls_entries(&mut fs, i, &mut entries);
                pmon_entries(&mut fs, i, &mut entries);
                if entries.len() == before {
                    say!(
                        "{}: no boot entries ({ENTRIES_DIR}/*.conf, {} or {})",
                        place.name,
                        pmon::BOOT_CFG_PATHS[0],
                        pmon::BOOT_CFG_PATHS[1]
                    );
                }
                file_systems.push(Some(fs));
            }
            Err(e) => {
                say!("{}: {e}", place.name);
                file_systems.push(None);
            }
        }
    }
    if entries.is_empty() {
        return say!("disk{index}: nothing to boot");
    }
    apply_default(index, &mut entries);
    for entry in &entries {
        let why = attempt(board, platform, scratch, &disk, &places, &mut file_systems, entry, timeline);
        say!("{}: {} {}: {why}", entry.origin, entry.key, entry.kernel_text);
    }
}

/// Moves the configured `default` entry to the front of the menu.
fn apply_default(index: usize, entries: &mut [Entry]) {
    let chosen = match bootmgr::settings().default_entry {
        None => return,
        Some(DefaultEntry::Index(i)) if i < entries.len() => i,
        Some(DefaultEntry::Index(i)) => {
            return say!(
                "disk{index}: default entry {i} is past the menu's {} entries; trying them in order",
                entries.len()
            );
        }
        Some(DefaultEntry::Title(t)) => match entries.iter().position(|e| e.names.iter().any(|n| n == t)) {
            Some(i) => i,
            None => return say!("disk{index}: no entry is called '{t}' (the default); trying them in order"),
        },
    };
    entries[..=chosen].rotate_right(1);
}

/// Reads a small text file, or says why not (a missing file is silent).
fn read_config<B: Board + 'static>(fs: &mut FileSystem<B>, path: &str) -> Option<Vec<u8>> {
    fs.read_file(path, MAX_CONFIG_BYTES).unwrap_or_else(|e| {
        say!("{}: {path}: {e}", fs.place.name);
        None
    })
}

fn bls_entries<B: Board + 'static>(fs: &mut FileSystem<B>, at: usize, out: &mut Vec<Entry>) {
    let files = match bls_files(fs) {
        Ok(files) => files,
        Err(e) => return say!("{}: {ENTRIES_DIR}: {e}", fs.place.name),
    };
    let mut parsed = Vec::new();
    for (name, text) in &files {
        match bls::parse_bytes(name, text) {
            Ok(p) => {
                for d in p.diagnostics.iter() {
                    say!("{ENTRIES_DIR}/{name}: {d}");
                }
                if p.diagnostics.overflowed() > 0 {
                    say!("{ENTRIES_DIR}/{name}: {} more problems not shown", p.diagnostics.overflowed());
                }
                let entry = p.value;
                if !ARCHITECTURES.iter().any(|a| entry.matches_architecture(a)) {
                    say!(
                        "{ENTRIES_DIR}/{name}: for architecture '{}', not {}; skipped",
                        entry.architecture.unwrap_or_default(),
                        ARCHITECTURES[0]
                    );
                    continue;
                }
                parsed.push(entry);
            }
            Err(e) => say!("{ENTRIES_DIR}/{name}: {e}"),
        }
    }
    insertion_sort_by(&mut parsed, bls::compare_entries);
    for e in parsed {
        let options = (!e.command_line().is_empty()).then(|| e.command_line().to_string());
        out.push(Entry {
            origin: format!("{ENTRIES_DIR}/{}", e.file_name),
            names: alloc::vec![e.title_or_id().to_string(), e.id().to_string(), e.file_name.to_string()],
            key: "linux",
            kernel_text: e.linux.to_string(),
            place: at,
            pmon_partition: None,
            path: e.linux.to_string(),
            options,
            initrds: e.initrds().map(ToString::to_string).collect(),
        });
    }
}

/// The `.conf` files of the entries directory, by name, with their text.
fn bls_files<B: Board + 'static>(fs: &mut FileSystem<B>) -> Result<Vec<(String, Vec<u8>)>, FsError> {
    let dir = match fs.lookup(ENTRIES_DIR) {
        Err(FsError::NotFound) => return Ok(Vec::new()),
        other => other?,
    };
    // Keep the first MAX_BLS_ENTRIES names in order while listing, so a
    // directory with a huge number of files costs neither memory nor a sort.
    let mut nodes: Vec<Node> = Vec::new();
    let mut seen = 0usize;
    fs.list(&dir, &mut |n| {
        if !n.is_dir && n.name.ends_with(bls::ENTRY_SUFFIX) {
            seen += 1;
            let at = nodes.partition_point(|kept| kept.name <= n.name);
            if at < MAX_BLS_ENTRIES {
                if nodes.len() == MAX_BLS_ENTRIES {
                    nodes.pop();
                }
                nodes.insert(at, n.clone());
            }
        }
    })?;
    if seen > MAX_BLS_ENTRIES {
        say!("{}: {ENTRIES_DIR}: {seen} entries; only the first {MAX_BLS_ENTRIES} are read", fs.place.name);
    }
    let mut files = Vec::new();
    for node in nodes {
        match fs.read_to_vec(&node, MAX_CONFIG_BYTES) {
            Ok(text) => files.push((node.name, text)),
            Err(e) => say!("{ENTRIES_DIR}/{}: {e}", node.name),
        }
    }
    Ok(files)
}

/// A stable insertion sort. The lists sorted here hold at most
/// `MAX_BLS_ENTRIES` items, and core's general sort would cost the flash
/// image about 10 KiB for two instantiations.
fn insertion_sort_by<T>(items: &mut [T], mut order: impl FnMut(&T, &T) -> core::cmp::Ordering) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && order(&items[j - 1], &items[j]) == core::cmp::Ordering::Greater {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// A PMON path as it would be written: `(wd0,0)/boot/vmlinux`.
fn pmon_path_text(p: &pmon::PmonPath<'_>) -> String {
    match (p.device, p.partition) {
        (Some(d), Some(n)) => format!("({d},{n})/{}", p.path),
        (Some(d), None) => format!("({d})/{}", p.path),
        (None, _) => format!("/{}", p.path),
    }
}

/// Reads the first of PMON's menu files ([`pmon::BOOT_CFG_PATHS`]) the file system has.
fn pmon_entries<B: Board + 'static>(fs: &mut FileSystem<B>, at: usize, out: &mut Vec<Entry>) {
    let Some((file, text)) = pmon::BOOT_CFG_PATHS.iter().find_map(|&file| Some((file, read_config(fs, file)?))) else {
        return;
    };
    let parsed = pmon::parse_bytes(&text);
    for d in parsed.diagnostics.iter() {
        say!("{file}: {d}");
    }
    if parsed.diagnostics.overflowed() > 0 {
        say!("{file}: {} more problems not shown", parsed.diagnostics.overflowed());
    }
    let cfg = parsed.value;
    let default = cfg.default_index();
    let order = core::iter::once(default).chain((0..cfg.entries().len()).filter(|&i| i != default));
    for i in order {
        let Some(e) = cfg.entries().get(i) else { continue };
        out.push(Entry {
            origin: format!("{file}: entry {} '{}'", e.title_index, e.title),
            names: alloc::vec![e.title.to_string()],
            key: "kernel",
            kernel_text: pmon_path_text(&e.kernel),
            place: at,
            pmon_partition: e.kernel.partition,
            path: e.kernel.path.to_string(),
            options: e.args.map(ToString::to_string),
            initrds: e.initrd.iter().map(pmon_path_text).collect(),
        });
    }
}

/// Why an entry did not boot.
enum Failure {
    Fs(FsError),
    Initrd { path: String, error: FsError },
    NoPartition { disk: usize, partition: u8 },
    Unmountable { name: String },
    Boot(BootError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Fs(e) => write!(f, "{e}"),
            Failure::Initrd { path, error } => write!(f, "initrd {path}: {error}"),
            Failure::NoPartition { disk, partition } => {
                write!(f, "disk{disk} has no partition {partition} (PMON counts from 0)")
            }
            Failure::Unmountable { name } => write!(f, "{name} holds no usable file system (see above)"),
            Failure::Boot(e) => write!(f, "{e}"),
        }
    }
}

/// Boots `entry`; returns why it did not. `file_systems` are those of
/// `places`, in the same order.
#[allow(clippy::too_many_arguments)]
fn attempt<B: Board + 'static>(
    board: &B,
    platform: &Platform,
    scratch: &mut Scratch,
    disk: &SharedDisk<B>,
    places: &[Place],
    file_systems: &mut [Option<FileSystem<B>>],
    entry: &Entry,
    timeline: &mut Timeline,
) -> Failure {
    let index = disk.index();
    let at = match entry.pmon_partition {
        None => entry.place,
        // The whole-disk file system is partition 0 to PMON.
        Some(0) if places.len() == 1 && places[0].partition == 0 => 0,
        Some(n) => match places.iter().position(|p| p.partition == u32::from(n) + 1) {
            Some(at) => at,
            None => return Failure::NoPartition { disk: index, partition: n },
        },
    };
    let Some(fs) = file_systems.get_mut(at).and_then(Option::as_mut) else {
        return Failure::Unmountable { name: places.get(at).map_or_else(String::new, |p| p.name.clone()) };
    };
    let buf = scratch.bytes();
    // The choice is made; reading and checking the kernel is the loader's.
    timeline.mark(Phase::BootManager, board.counter());
    // The kernel at the start of the scratch area, the initrd (the first
    // `initrd` line, on the same filesystem) right after it.
    let read = (|| -> Result<(usize, Option<usize>), Failure> {
        let node = fs.lookup(&entry.path).map_err(Failure::Fs)?;
        if node.is_dir {
            return Err(Failure::Fs(FsError::IsADirectory));
        }
        let size = usize::try_from(node.size).unwrap_or(usize::MAX);
        let (file, _) = split_file(buf, size).map_err(Failure::Boot)?;
        let n = fs.read(&node, file).map_err(Failure::Fs)?;
        let Some(initrd) = entry.initrds.first() else { return Ok((n, None)) };
        let path = initrd_path(initrd);
        let initrd_failure = |error| Failure::Initrd { path: initrd.clone(), error };
        let inode = fs.lookup(path).map_err(initrd_failure)?;
        let isize = usize::try_from(inode.size).unwrap_or(usize::MAX);
        let (file, _) = split_file(&mut buf[n..], isize).map_err(Failure::Boot)?;
        let m = fs.read(&inode, file).map_err(initrd_failure)?;
        Ok((n, Some(m)))
    })();
    // Close the disk whatever happened: resetting the device stops its DMA
    // before the handoff (spec §14.3 step 5); the next entry's read opens
    // it again.
    disk.close();
    let (size, initrd_size) = match read {
        Ok(sizes) => sizes,
        Err(f) => return f,
    };
    let source = format!("{}:/{}", fs.place.name, entry.path.trim_start_matches('/'));
    say!("{}: {} {} ({size} bytes)", entry.origin, entry.key, source);
    if let (Some(initrd), Some(n)) = (entry.initrds.first(), initrd_size) {
        say!("{}: initrd {initrd} ({n} bytes)", entry.origin);
    }
    for initrd in entry.initrds.iter().skip(1) {
        say!("{}: initrd {initrd} ignored (one initrd is passed)", entry.origin);
    }
    let cmdline = match bootmgr::entry_cmdline(board, entry.options.as_deref()) {
        Ok(c) => c,
        Err(e) => return Failure::Boot(e),
    };
    let (file, rest) = buf.split_at_mut(size);
    let (initrd, rest) = rest.split_at_mut(initrd_size.unwrap_or(0));
    let initrd = initrd_size.map(|_| &*initrd);
    let image = match loader::unpack(file, rest) {
        Ok(image) => image,
        Err(e) => return Failure::Boot(e),
    };
    Failure::Boot(loader::boot_image(board, platform, &source, image, &cmdline, initrd, timeline))
}

/// The path of an initrd line within its filesystem (PMON lines carry a
/// device prefix such as `(wd0,0)`; it names the entry's own disk here).
fn initrd_path(line: &str) -> &str {
    match tianshan_bootcfg::pmon::split_path(line) {
        Ok(p) if line.starts_with('(') || line.starts_with("/dev/fs") => p.path,
        _ => line,
    }
}

//! Walks a mounted FAT or ext volume and checks every node it finds.
//!
//! The properties, for each volume a reader mounts (bounded to `MAX_NODES`
//! nodes, `MAX_DEPTH` levels):
//! - every file read back fills exactly `min(size, MAX_READ)` bytes, its
//!   directory size (a FAT read also checks that the cluster chain ends
//!   where the size says, so `Ok` there means the chain agreed);
//! - listing a file fails, and reading a directory is refused as "is a
//!   directory";
//! - looking a listed node up again by its path finds the same node, when
//!   its name is unique in the directory (the first `MAX_LOOKUPS` such) (FAT compares without regard to
//!   case; on ext the listed node may be a link, which lookup follows).
//!
//! Errors are fine (the input is hostile); a panic, a hang or a broken
//! property is a bug.

use std::collections::HashMap;
use tianshan_fs::{ext, fat};
use tianshan_partition::BlockDevice;

/// Most nodes looked at per input.
const MAX_NODES: usize = 64;
/// Most nodes looked up again by path per input (each lookup walks every
/// directory on the path again: in damaged directories of thousands of
/// entries they were most of the time spent).
const MAX_LOOKUPS: usize = 8;
/// Deepest directory descended into.
const MAX_DEPTH: usize = 6;
/// Largest read per file (a hostile size may claim 4 GiB; every seed file is smaller).
const MAX_READ: u64 = 64 * 1024;

/// What the walk needs from a reader, so one walk checks both.
trait Reader<D: BlockDevice> {
    type Node: Clone;
    fn lookup(&mut self, dev: &mut D, path: &str) -> Option<Self::Node>;
    /// The directory's entries; `Err(true)` when refused as not a directory
    /// (the walk only needs to know that it failed).
    fn list(&mut self, dev: &mut D, dir: &Self::Node) -> Result<Vec<Self::Node>, bool>;
    /// Bytes read; `Err(true)` when refused as a directory.
    fn read(&mut self, dev: &mut D, file: &Self::Node, buf: &mut [u8]) -> Result<usize, bool>;
    fn name(node: &Self::Node) -> &str;
    fn is_dir(node: &Self::Node) -> bool;
    fn size(node: &Self::Node) -> u64;
    /// The name as the file system compares it: two names are one when
    /// their keys are equal.
    fn name_key(name: &str) -> String;
    /// Checks what looking up a listed node's path found.
    fn check_found(found: &Self::Node, listed: &Self::Node, path: &str);
}

impl<D: BlockDevice> Reader<D> for fat::Volume {
    type Node = fat::Node;
    fn lookup(&mut self, dev: &mut D, path: &str) -> Option<fat::Node> {
        fat::Volume::lookup(self, dev, path).ok()
    }
    fn list(&mut self, dev: &mut D, dir: &fat::Node) -> Result<Vec<fat::Node>, bool> {
        let mut nodes = Vec::new();
        match fat::Volume::list(self, dev, dir, &mut |n| nodes.push(n.clone())) {
            Ok(()) => Ok(nodes),
            Err(e) => Err(matches!(e, fat::FatError::NotADirectory)),
        }
    }
    fn read(&mut self, dev: &mut D, file: &fat::Node, buf: &mut [u8]) -> Result<usize, bool> {
        fat::Volume::read(self, dev, file, buf).map_err(|e| matches!(e, fat::FatError::IsADirectory))
    }
    fn name(node: &fat::Node) -> &str {
        &node.name
    }
    fn is_dir(node: &fat::Node) -> bool {
        node.is_dir
    }
    fn size(node: &fat::Node) -> u64 {
        node.size.into()
    }
    /// Lower case, as `fat::names_match` compares.
    fn name_key(name: &str) -> String {
        name.chars().flat_map(char::to_lowercase).collect()
    }
    fn check_found(found: &fat::Node, listed: &fat::Node, path: &str) {
        assert_eq!(found, listed, "lookup of {path} found another node");
    }
}

impl<D: BlockDevice> Reader<D> for ext::Volume {
    type Node = ext::Node;
    fn lookup(&mut self, dev: &mut D, path: &str) -> Option<ext::Node> {
        ext::Volume::lookup(self, dev, path).ok()
    }
    fn list(&mut self, dev: &mut D, dir: &ext::Node) -> Result<Vec<ext::Node>, bool> {
        let mut nodes = Vec::new();
        match ext::Volume::list(self, dev, dir, &mut |n| nodes.push(n.clone())) {
            Ok(()) => Ok(nodes),
            Err(e) => Err(matches!(e, ext::ExtError::NotADirectory)),
        }
    }
    fn read(&mut self, dev: &mut D, file: &ext::Node, buf: &mut [u8]) -> Result<usize, bool> {
        ext::Volume::read(self, dev, file, buf).map_err(|e| matches!(e, ext::ExtError::IsADirectory))
    }
    fn name(node: &ext::Node) -> &str {
        &node.name
    }
    fn is_dir(node: &ext::Node) -> bool {
        node.is_dir
    }
    fn size(node: &ext::Node) -> u64 {
        node.size
    }
    fn name_key(name: &str) -> String {
        name.into()
    }
    /// A listed link is not followed, its lookup is: only the same inode
    /// must match.
    fn check_found(found: &ext::Node, listed: &ext::Node, path: &str) {
        if found.inode == listed.inode {
            assert_eq!((found.is_dir, found.size), (listed.is_dir, listed.size), "lookup of {path}: other fields");
        }
    }
}

/// Walks the volume from the root, checking each node (module docs).
fn walk<D: BlockDevice, R: Reader<D>>(volume: &mut R, dev: &mut D) {
    let Some(root) = volume.lookup(dev, "/") else { return };
    assert!(R::is_dir(&root), "the root is not a directory");
    let mut queue = vec![(String::from("/"), root, 0usize)];
    let mut budget = MAX_NODES;
    let mut lookups = MAX_LOOKUPS;
    while let Some((dir_path, dir, depth)) = queue.pop() {
        let Ok(entries) = volume.list(dev, &dir) else { continue };
        // How many entries share each name (counted once: a damaged
        // directory may hold thousands).
        let mut names: HashMap<String, usize> = HashMap::new();
        for node in &entries {
            *names.entry(R::name_key(R::name(node))).or_default() += 1;
        }
        for node in &entries {
            if budget == 0 {
                return;
            }
            budget -= 1;
            let name = R::name(node);
            assert!(!name.is_empty(), "an entry of {dir_path} has an empty name");
            assert!(name != "." && name != "..", "list gave {name} in {dir_path}");
            let path = if dir_path == "/" { format!("/{name}") } else { format!("{dir_path}/{name}") };
            let unique = names.get(&R::name_key(name)) == Some(&1);
            if unique && !name.contains('/') && lookups > 0 {
                lookups -= 1;
                if let Some(found) = volume.lookup(dev, &path) {
                    R::check_found(&found, node, &path);
                }
            }
            if R::is_dir(node) {
                assert_eq!(volume.read(dev, node, &mut [0u8; 1]), Err(true), "directory {path} read as a file");
                if depth < MAX_DEPTH {
                    queue.push((path, node.clone(), depth + 1));
                }
            } else {
                assert!(volume.list(dev, node).is_err(), "file {path} listed as a directory");
                let want = R::size(node).min(MAX_READ) as usize;
                let mut buf = vec![0u8; want];
                if let Ok(n) = volume.read(dev, node, &mut buf) {
                    assert_eq!(n, want, "{path}: read {n} bytes of a {}-byte file", R::size(node));
                }
            }
        }
    }
}

/// Mounts `dev` as FAT and checks what it finds.
pub fn check_fat<D: BlockDevice>(dev: &mut D) {
    if let Ok(mut volume) = fat::Volume::mount(dev) {
        let _ = volume.kind();
        walk(&mut volume, dev);
    }
}

/// Mounts `dev` as ext2/3/4 and checks what it finds.
pub fn check_ext<D: BlockDevice>(dev: &mut D) {
    if let Ok(mut volume) = ext::Volume::mount(dev) {
        let _ = volume.kind();
        walk(&mut volume, dev);
    }
}

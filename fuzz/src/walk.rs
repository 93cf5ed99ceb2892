//! Walks a mounted FAT or ext volume and checks every node it finds.
//!
//! The properties, for each volume a reader mounts (bounded to `MAX_NODES`
//! nodes, `MAX_DEPTH` levels):
//! - every file read back fills exactly `min(size, MAX_READ)` bytes, its
//!   directory size (a FAT read also checks that the cluster chain ends
//!   where the size says, so `Ok` there means the chain agreed);
//! - listing a file is refused as "not a directory", reading a directory as
//!   "is a directory";
//! - looking a listed node up again by its path finds the same node, when
//!   its name is unique in the directory (FAT compares without regard to
//!   case; on ext the listed node may be a link, which lookup follows).
//!
//! Errors are fine (the input is hostile); a panic, a hang or a broken
//! property is a bug.

use tianshan_fs::{ext, fat};
use tianshan_partition::BlockDevice;

/// Most nodes looked at per input.
const MAX_NODES: usize = 64;
/// Deepest directory descended into.
const MAX_DEPTH: usize = 6;
/// Largest read per file (a hostile size may claim 4 GiB; every seed file is smaller).
const MAX_READ: u64 = 64 * 1024;

/// A node seen in a listing, with its path from the root.
struct Seen<N> {
    path: String,
    node: N,
    /// Whether no other entry of its directory has the same name.
    unique: bool,
}

/// Marks each entry whose name no sibling shares (`same` compares names).
fn with_uniqueness<N>(parent: &str, nodes: Vec<(String, N)>, same: fn(&str, &str) -> bool) -> Vec<Seen<N>> {
    let names: Vec<String> = nodes.iter().map(|(name, _)| name.clone()).collect();
    nodes
        .into_iter()
        .map(|(name, node)| {
            let unique = names.iter().filter(|other| same(other, &name)).count() == 1;
            let path = if parent == "/" { format!("/{name}") } else { format!("{parent}/{name}") };
            Seen { path, node, unique }
        })
        .collect()
}

/// Mounts `dev` as FAT and checks what it finds.
pub fn check_fat<D: BlockDevice>(dev: &mut D) {
    let Ok(mut volume) = fat::Volume::mount(dev) else { return };
    let _ = volume.kind();
    let Ok(root) = volume.lookup(dev, "/") else { return };
    assert!(root.is_dir, "the root is not a directory");
    let mut queue = vec![(String::from("/"), root, 0usize)];
    let mut budget = MAX_NODES;
    while let Some((dir_path, dir, depth)) = queue.pop() {
        let mut entries = Vec::new();
        if volume.list(dev, &dir, &mut |n| entries.push((n.name.clone(), n.clone()))).is_err() {
            continue;
        }
        for seen in with_uniqueness(&dir_path, entries, fat::names_match) {
            if budget == 0 {
                return;
            }
            budget -= 1;
            let node = &seen.node;
            assert!(!node.name.is_empty(), "an entry of {dir_path} has an empty name");
            assert!(node.name != "." && node.name != "..", "list gave {} in {dir_path}", node.name);
            if seen.unique
                && !node.name.contains('/')
                && let Ok(found) = volume.lookup(dev, &seen.path)
            {
                assert_eq!(&found, node, "lookup of {} found another node", seen.path);
            }
            if node.is_dir {
                let mut buf = [0u8; 1];
                assert!(
                    matches!(volume.read(dev, node, &mut buf), Err(fat::FatError::IsADirectory)),
                    "directory {} read as a file",
                    seen.path
                );
                if depth < MAX_DEPTH {
                    queue.push((seen.path.clone(), node.clone(), depth + 1));
                }
            } else {
                assert!(
                    matches!(volume.list(dev, node, &mut |_| {}), Err(fat::FatError::NotADirectory)),
                    "file {} listed as a directory",
                    seen.path
                );
                let want = u64::from(node.size).min(MAX_READ) as usize;
                let mut buf = vec![0u8; want];
                if let Ok(n) = volume.read(dev, node, &mut buf) {
                    assert_eq!(n, want, "{}: read {n} bytes of a {}-byte file", seen.path, node.size);
                }
            }
        }
    }
}

/// Mounts `dev` as ext2/3/4 and checks what it finds.
pub fn check_ext<D: BlockDevice>(dev: &mut D) {
    let Ok(volume) = ext::Volume::mount(dev) else { return };
    let _ = volume.kind();
    let Ok(root) = volume.lookup(dev, "/") else { return };
    assert!(root.is_dir, "the root is not a directory");
    let mut queue = vec![(String::from("/"), root, 0usize)];
    let mut budget = MAX_NODES;
    while let Some((dir_path, dir, depth)) = queue.pop() {
        let mut entries = Vec::new();
        if volume.list(dev, &dir, &mut |n| entries.push((n.name.clone(), n.clone()))).is_err() {
            continue;
        }
        for seen in with_uniqueness(&dir_path, entries, |a, b| a == b) {
            if budget == 0 {
                return;
            }
            budget -= 1;
            let node = &seen.node;
            assert!(node.name != "." && node.name != "..", "list gave {} in {dir_path}", node.name);
            if seen.unique
                && !node.name.contains('/')
                && let Ok(found) = volume.lookup(dev, &seen.path)
                && found.inode == node.inode
            {
                assert_eq!(
                    (found.is_dir, found.size),
                    (node.is_dir, node.size),
                    "lookup of {} found inode {} with other fields",
                    seen.path,
                    node.inode
                );
            }
            if node.is_dir {
                let mut buf = [0u8; 1];
                assert!(
                    matches!(volume.read(dev, node, &mut buf), Err(ext::ExtError::IsADirectory)),
                    "directory {} read as a file",
                    seen.path
                );
                if depth < MAX_DEPTH {
                    queue.push((seen.path.clone(), node.clone(), depth + 1));
                }
            } else {
                let want = node.size.min(MAX_READ) as usize;
                let mut buf = vec![0u8; want];
                if let Ok(n) = volume.read(dev, node, &mut buf) {
                    assert_eq!(n, want, "{}: read {n} bytes of a {}-byte file", seen.path, node.size);
                }
            }
        }
    }
}

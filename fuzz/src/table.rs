//! Checks a partition table read from a fuzzed disk against what it promises.
//!
//! `tianshan_partition::PartitionTable` promises (lib/partition/src/table.rs)
//! that every partition it lists is non-empty, lies on the disk and overlaps
//! no other; its indices are distinct; and a `PartitionReader` over one
//! reads all of it and nothing past its end.

use crate::disk::SparseDisk;
use tianshan_partition::{BlockDevice, PartitionIoError, PartitionReader, SECTOR_SIZE, read_partition_table};

/// Reads the table of `disk` (if it has one) and checks it.
pub fn check_table(disk: &mut SparseDisk) {
    let Ok(table) = read_partition_table(disk) else { return };
    let blocks = disk.block_count();
    assert_eq!(table.disk_blocks(), blocks, "the table's disk size is not the disk's");
    let parts = table.partitions();
    for (i, p) in parts.iter().enumerate() {
        assert!(p.block_count > 0, "partition {} is empty", p.index);
        let end = p.first_lba.checked_add(p.block_count).expect("partition end overflows");
        assert!(end <= blocks, "partition {} ends at {end}, past the {blocks}-block disk", p.index);
        assert!(p.first_lba > 0, "partition {} covers sector 0 (the table)", p.index);
        assert_eq!(p.end_lba(), end, "end_lba disagrees with first_lba + block_count");
        for q in &parts[i + 1..] {
            assert_ne!(p.index, q.index, "two partitions numbered {}", p.index);
            assert!(
                p.first_lba >= q.first_lba + q.block_count || q.first_lba >= end,
                "partitions {} and {} overlap",
                p.index,
                q.index
            );
            assert!(!p.overlaps(q), "overlaps() says {} and {} overlap, the ranges do not", p.index, q.index);
        }
        assert_eq!(table.partition(p.index).map(|found| found.first_lba), Some(p.first_lba));
        let mut reader = PartitionReader::new(&mut *disk, p).expect("a listed partition is readable");
        assert_eq!(reader.block_count(), p.block_count);
        let mut sector = [0u8; SECTOR_SIZE];
        assert!(reader.read_blocks(p.block_count - 1, &mut sector).is_ok(), "last block of {} unreadable", p.index);
        assert!(matches!(reader.read_blocks(p.block_count, &mut sector), Err(PartitionIoError::OutOfRange { .. })));
    }
}

//! The LEFI memory map for `loongson3-virt`: usable RAM minus firmware areas.
//!
//! RAM model (`loongson3-virt.md` §4, §5): all RAM sits at 0x8000_0000 and up;
//! its first 256 MiB also appear at PA 0. Each byte is described once, as
//! QEMU does (`lefi-boot-protocol.md` §5.5, §7): the low window `0..256 MiB`
//! as SYSTEM_RAM_LOW and `0x9000_0000..0x8000_0000 + size` as SYSTEM_RAM_HIGH.
//! The caller's reserved ranges are cut out, so Linux never learns about them
//! (QEMU keeps 0x0F00_0000..0x1000_0000 out the same way). A reserved range
//! given in the 0x8000_0000..0x9000_0000 alias is cut from the low window too.
//!
//! Why cut rather than list SYSTEM_RAM_RESERVED (type 3) entries: Linux only
//! `memblock_reserve`s type 3 inside RAM it already has (§7), and a reserved
//! entry outside declared RAM crashed kernels with deferred struct-page
//! init (the discussion around reverting torvalds/linux commit c7206e7bd214).
//!
//! Why whole MiB: `mem_size` is in MiB unless bit 31 is set, and that bit only
//! exists since torvalds/linux commit c7206e7bd214 (in 6.1 and 6.12 per §7; an
//! older kernel would read it as a huge MiB count). Every usable piece is
//! therefore shrunk to whole MiB, which only ever hides RAM, never invents it.

use crate::LefiError;
use crate::abi::memmap;
use crate::addr::PhysRange;

/// Size of the low window at PA 0 that aliases the first 256 MiB of RAM
/// (`loongson3-virt.md` §4, §5).
pub const LOW_WINDOW_SIZE: u64 = 0x1000_0000;
/// Where the whole RAM is mapped (`loongson3-virt.md` §5).
pub const RAM_BASE: u64 = 0x8000_0000;
/// First high address not aliased by the low window: high RAM is reported
/// from here (`lefi-boot-protocol.md` §5.5, §7).
pub const HIGH_RAM_START: u64 = RAM_BASE + LOW_WINDOW_SIZE;
/// QEMU refuses `-m` below 512 MiB ("Loongson-3 machine needs at least 512MB
/// memory", `loongson3-virt.md` §5).
pub const MIN_RAM_SIZE: u64 = 512 << 20;
/// Everything is reported as node 0 (`node_id` = PA >> 44, §7), so RAM must
/// end below 2^44.
pub const MAX_RAM_SIZE: u64 = (1 << memmap::NODE_SHIFT) - RAM_BASE;
/// Granularity of reported usable RAM (see the module comment).
pub const REPORT_GRANULE: u64 = memmap::MEM_SIZE_UNIT;

/// What the machine has and what the firmware keeps for itself.
#[derive(Clone, Copy, Debug)]
pub struct RamLayout<'a> {
    /// Total RAM in bytes (QEMU `-m`; fw_cfg RAM_SIZE).
    pub ram_size: u64,
    /// Physical ranges the firmware keeps: its RAM, the LEFI block, parked-core
    /// code and stacks (e.g. 0x0F00_0000..0x1000_0000). Never reported usable.
    /// They may be given in either alias of the first 256 MiB.
    pub reserved: &'a [PhysRange],
}

/// One memory-map entry as written (§5.5): physical range and `mem_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEntry {
    /// Physical range, whole MiB.
    pub range: PhysRange,
    /// [`memmap::SYSTEM_RAM_LOW`] or [`memmap::SYSTEM_RAM_HIGH`].
    pub mem_type: u32,
}

/// Rounds `value` down to a multiple of `granule` (a power of two).
const fn align_down(value: u64, granule: u64) -> u64 {
    value & !(granule - 1)
}

/// Rounds `value` up to a multiple of `granule`, saturating at the top.
const fn align_up(value: u64, granule: u64) -> u64 {
    match value.checked_add(granule - 1) {
        Some(v) => align_down(v, granule),
        None => align_down(u64::MAX, granule),
    }
}

impl RamLayout<'_> {
    /// Checks the RAM size and the reserved ranges.
    pub fn validate(&self) -> Result<(), LefiError> {
        if self.ram_size < MIN_RAM_SIZE {
            return Err(LefiError::RamTooSmall { size: self.ram_size, min: MIN_RAM_SIZE });
        }
        if self.ram_size > MAX_RAM_SIZE {
            return Err(LefiError::RamTooLarge { size: self.ram_size, max: MAX_RAM_SIZE });
        }
        if let Some(bad) = self.reserved.iter().find(|r| r.is_empty()) {
            return Err(LefiError::BadReservedRange { range: *bad });
        }
        Ok(())
    }

    /// The two ranges the machine's RAM can be described by, before any cut.
    fn bases(&self) -> [(PhysRange, u32); 2] {
        [
            (PhysRange::new(0, LOW_WINDOW_SIZE), memmap::SYSTEM_RAM_LOW),
            (PhysRange::new(HIGH_RAM_START, RAM_BASE + self.ram_size), memmap::SYSTEM_RAM_HIGH),
        ]
    }

    /// The reserved ranges plus, for each one touching the high alias of the
    /// low window, its image in the low window.
    fn cuts(&self) -> impl Iterator<Item = PhysRange> + Clone + '_ {
        let alias = PhysRange::new(RAM_BASE, HIGH_RAM_START);
        self.reserved.iter().flat_map(move |r| {
            let image = if r.overlaps(&alias) {
                Some(PhysRange::new(r.start.max(alias.start) - RAM_BASE, r.end.min(alias.end) - RAM_BASE))
            } else {
                None
            };
            core::iter::once(*r).chain(image)
        })
    }

    /// Calls `f` for each usable piece in ascending address order, already
    /// shrunk to whole MiB. Call [`RamLayout::validate`] first.
    pub fn for_each_usable(&self, mut f: impl FnMut(MemoryEntry)) {
        self.each_usable(&mut f);
    }

    /// [`RamLayout::for_each_usable`] through a `dyn` callback, so the walk
    /// is compiled once, not once per caller's closure (2.3 KiB less
    /// firmware with its four callers).
    fn each_usable(&self, f: &mut dyn FnMut(MemoryEntry)) {
        for (base, mem_type) in self.bases() {
            let mut cursor = base.start;
            while cursor < base.end {
                // The cut that starts first among those still ahead of the cursor.
                let next = self.cuts().filter(|c| c.end > cursor && c.start < base.end).min_by_key(|c| c.start);
                let piece_end = match next {
                    Some(c) => c.start.max(cursor),
                    None => base.end,
                };
                let start = align_up(cursor, REPORT_GRANULE);
                let end = align_down(piece_end, REPORT_GRANULE);
                if end > start {
                    f(MemoryEntry { range: PhysRange::new(start, end), mem_type });
                }
                cursor = match next {
                    Some(c) => c.end,
                    None => base.end,
                };
            }
        }
    }

    /// Number of entries [`RamLayout::for_each_usable`] yields.
    pub fn usable_count(&self) -> usize {
        let mut n = 0;
        self.for_each_usable(|_| n += 1);
        n
    }

    /// The first usable piece that shares a byte with `range`, if any.
    pub fn usable_overlapping(&self, range: &PhysRange) -> Option<PhysRange> {
        let mut found = None;
        self.for_each_usable(|e| {
            if found.is_none() && e.range.overlaps(range) {
                found = Some(e.range);
            }
        });
        found
    }

    /// True if `range` lies entirely inside one usable piece.
    pub fn is_usable(&self, range: &PhysRange) -> bool {
        let mut inside = false;
        self.for_each_usable(|e| inside |= e.range.contains_range(range));
        inside
    }
}

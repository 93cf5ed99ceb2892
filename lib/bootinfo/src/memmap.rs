//! A physical memory map: sorted, non-overlapping RAM regions with a kind.
//!
//! The firmware starts from the RAM the platform reports (`add_ram`) and
//! carves out what it uses (`carve`); the loader asks whether a range is
//! still free (`is_free`); the kernel's frame allocator walks the usable
//! regions. It lives in a fixed array so the firmware needs no heap.

use core::fmt;

/// Capacity of a memory map; enough for every board Tianshan knows.
pub const MAX_REGIONS: usize = 64;

/// What a region of RAM is for (ABI values in the boot-info block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// Free for the kernel to use.
    Usable,
    /// Not to be touched (firmware tables an OS must keep, holes).
    Reserved,
    /// Used by the firmware until handoff; free once the kernel has read
    /// the boot information.
    Firmware,
    /// Holds the boot-info block and the data it points at.
    BootInfo,
    /// The loaded kernel image.
    Kernel,
    /// A kind this reader does not know; treat as reserved.
    Unknown(u32),
}

impl MemoryKind {
    /// The ABI value.
    pub const fn to_abi(self) -> u32 {
        match self {
            MemoryKind::Usable => 1,
            MemoryKind::Reserved => 2,
            MemoryKind::Firmware => 3,
            MemoryKind::BootInfo => 4,
            MemoryKind::Kernel => 5,
            MemoryKind::Unknown(v) => v,
        }
    }

    /// Decodes an ABI value.
    pub const fn from_abi(v: u32) -> MemoryKind {
        match v {
            1 => MemoryKind::Usable,
            2 => MemoryKind::Reserved,
            3 => MemoryKind::Firmware,
            4 => MemoryKind::BootInfo,
            5 => MemoryKind::Kernel,
            other => MemoryKind::Unknown(other),
        }
    }

    /// The name printed by `memmap` and `meminfo`.
    pub const fn name(self) -> &'static str {
        match self {
            MemoryKind::Usable => "usable",
            MemoryKind::Reserved => "reserved",
            MemoryKind::Firmware => "firmware",
            MemoryKind::BootInfo => "boot-info",
            MemoryKind::Kernel => "kernel",
            MemoryKind::Unknown(_) => "unknown",
        }
    }
}

/// One contiguous physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First physical address.
    pub base: u64,
    /// Length in bytes (never zero in a valid map).
    pub size: u64,
    /// What the range is for.
    pub kind: MemoryKind,
}

impl MemoryRegion {
    /// One past the last address; `None` if that would overflow.
    pub const fn end(&self) -> Option<u64> {
        self.base.checked_add(self.size)
    }

    fn contains(&self, base: u64, end: u64) -> bool {
        self.base <= base && end <= self.base + self.size
    }
}

/// Why a memory-map operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryMapError {
    /// The range has zero size or wraps around the address space.
    BadRange { base: u64, size: u64 },
    /// The new RAM range overlaps one already in the map.
    Overlap { base: u64, size: u64, existing: MemoryRegion },
    /// The range to carve is not inside usable RAM.
    NotFree { base: u64, size: u64 },
    /// The map has no room for another region.
    Full,
}

impl fmt::Display for MemoryMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MemoryMapError::BadRange { base, size } => {
                write!(f, "range {base:#x}+{size:#x} is empty or wraps around")
            }
            MemoryMapError::Overlap { base, size, existing } => write!(
                f,
                "range {:#x}..{:#x} overlaps {} memory {:#x}..{:#x}",
                base,
                base.wrapping_add(size),
                existing.kind.name(),
                existing.base,
                existing.base.wrapping_add(existing.size)
            ),
            MemoryMapError::NotFree { base, size } => {
                write!(f, "range {:#x}..{:#x} is not free RAM", base, base.wrapping_add(size))
            }
            MemoryMapError::Full => write!(f, "memory map is full ({MAX_REGIONS} regions)"),
        }
    }
}

/// A sorted, non-overlapping set of RAM regions.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    regions: [MemoryRegion; MAX_REGIONS],
    len: usize,
}

impl Default for MemoryMap {
    fn default() -> Self {
        Self::new()
    }
}

const EMPTY: MemoryRegion = MemoryRegion { base: 0, size: 0, kind: MemoryKind::Reserved };

fn checked_end(base: u64, size: u64) -> Result<u64, MemoryMapError> {
    match base.checked_add(size) {
        Some(end) if size > 0 => Ok(end),
        _ => Err(MemoryMapError::BadRange { base, size }),
    }
}

impl MemoryMap {
    /// An empty map.
    pub const fn new() -> Self {
        MemoryMap { regions: [EMPTY; MAX_REGIONS], len: 0 }
    }

    /// The regions, sorted by base address.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.len]
    }

    /// Adds a region as it is (used for RAM, and when decoding a map).
    pub fn add(&mut self, base: u64, size: u64, kind: MemoryKind) -> Result<(), MemoryMapError> {
        let end = checked_end(base, size)?;
        if let Some(existing) = self.regions().iter().find(|r| r.base < end && base < r.base + r.size) {
            return Err(MemoryMapError::Overlap { base, size, existing: *existing });
        }
        let at = self.regions().iter().position(|r| r.base > base).unwrap_or(self.len);
        self.insert(at, MemoryRegion { base, size, kind })
    }

    fn insert(&mut self, at: usize, region: MemoryRegion) -> Result<(), MemoryMapError> {
        if self.len == MAX_REGIONS {
            return Err(MemoryMapError::Full);
        }
        self.regions.copy_within(at..self.len, at + 1);
        self.regions[at] = region;
        self.len += 1;
        Ok(())
    }

    /// Marks `[base, base + size)`, which must lie inside one usable
    /// region, as `kind`, splitting that region as needed.
    pub fn carve(&mut self, base: u64, size: u64, kind: MemoryKind) -> Result<(), MemoryMapError> {
        let end = checked_end(base, size)?;
        let i = self
            .regions()
            .iter()
            .position(|r| r.kind == MemoryKind::Usable && r.contains(base, end))
            .ok_or(MemoryMapError::NotFree { base, size })?;
        let old = self.regions[i];
        let old_end = old.base + old.size;
        // Worst case the region becomes three: before, carved, after.
        let needed = usize::from(old.base < base) + usize::from(end < old_end);
        if self.len + needed > MAX_REGIONS {
            return Err(MemoryMapError::Full);
        }
        let mut at = i;
        self.regions[i] = MemoryRegion { base, size, kind };
        if old.base < base {
            self.regions[i] = MemoryRegion { base: old.base, size: base - old.base, kind: MemoryKind::Usable };
            at += 1;
            self.insert(at, MemoryRegion { base, size, kind })?;
        }
        if end < old_end {
            self.insert(at + 1, MemoryRegion { base: end, size: old_end - end, kind: MemoryKind::Usable })?;
        }
        Ok(())
    }

    /// True when `[base, base + size)` lies entirely inside one usable region.
    pub fn is_free(&self, base: u64, size: u64) -> bool {
        match checked_end(base, size) {
            Ok(end) => self.regions().iter().any(|r| r.kind == MemoryKind::Usable && r.contains(base, end)),
            Err(_) => false,
        }
    }

    /// The first region that overlaps `[base, base + size)`, if any.
    pub fn first_overlap(&self, base: u64, size: u64) -> Option<&MemoryRegion> {
        let end = base.saturating_add(size);
        self.regions().iter().find(|r| r.base < end && base < r.base.saturating_add(r.size))
    }

    /// Total bytes of regions of `kind`.
    pub fn total(&self, kind: MemoryKind) -> u64 {
        self.regions().iter().filter(|r| r.kind == kind).map(|r| r.size).sum()
    }

    /// Total bytes of all regions (all RAM described).
    pub fn total_ram(&self) -> u64 {
        self.regions().iter().map(|r| r.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn virt_map() -> MemoryMap {
        let mut m = MemoryMap::new();
        m.add(0x9000_0000, 768 * MIB, MemoryKind::Usable).unwrap();
        m.add(0, 256 * MIB, MemoryKind::Usable).unwrap();
        m
    }

    #[test]
    fn regions_stay_sorted() {
        let m = virt_map();
        assert_eq!(m.regions()[0].base, 0);
        assert_eq!(m.regions()[1].base, 0x9000_0000);
        assert_eq!(m.total_ram(), 1024 * MIB);
    }

    #[test]
    fn carve_splits_into_three() {
        let mut m = virt_map();
        m.carve(0x0F00_0000, 16 * MIB, MemoryKind::Firmware).unwrap();
        m.carve(0x20_0000, 2 * MIB, MemoryKind::Kernel).unwrap();
        let kinds: Vec<_> = m.regions().iter().map(|r| (r.base, r.size, r.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (0, 2 * MIB, MemoryKind::Usable),
                (2 * MIB, 2 * MIB, MemoryKind::Kernel),
                (4 * MIB, 0x0F00_0000 - 4 * MIB, MemoryKind::Usable),
                (0x0F00_0000, 16 * MIB, MemoryKind::Firmware),
                (0x9000_0000, 768 * MIB, MemoryKind::Usable),
            ]
        );
        assert_eq!(m.total_ram(), 1024 * MIB, "carving never changes the RAM total");
        assert_eq!(m.total(MemoryKind::Kernel), 2 * MIB);
    }

    #[test]
    fn carve_refuses_what_is_not_free() {
        let mut m = virt_map();
        m.carve(0x0F00_0000, 16 * MIB, MemoryKind::Firmware).unwrap();
        // Overlapping the firmware region.
        assert_eq!(
            m.carve(0x0EFF_F000, 0x2000, MemoryKind::Kernel),
            Err(MemoryMapError::NotFree { base: 0x0EFF_F000, size: 0x2000 })
        );
        // In the hole between low and high RAM.
        assert!(matches!(m.carve(0x1000_0000, 4096, MemoryKind::Kernel), Err(MemoryMapError::NotFree { .. })));
        // Empty and wrapping ranges.
        assert!(matches!(m.carve(0, 0, MemoryKind::Kernel), Err(MemoryMapError::BadRange { .. })));
        assert!(matches!(m.carve(u64::MAX, 2, MemoryKind::Kernel), Err(MemoryMapError::BadRange { .. })));
    }

    #[test]
    fn add_refuses_overlap() {
        let mut m = virt_map();
        let err = m.add(0x0FFF_0000, 0x2_0000, MemoryKind::Usable).unwrap_err();
        assert!(matches!(err, MemoryMapError::Overlap { existing: MemoryRegion { base: 0, .. }, .. }));
        assert!(err.to_string().contains("overlaps usable memory 0x0..0x10000000"));
    }

    #[test]
    fn is_free_needs_one_usable_region() {
        let mut m = virt_map();
        assert!(m.is_free(0x20_0000, 0x1000));
        assert!(!m.is_free(0x0FFF_F000, 0x2000), "straddles the end of low RAM");
        m.carve(0x20_0000, 0x1000, MemoryKind::Kernel).unwrap();
        assert!(!m.is_free(0x20_0000, 0x1000));
        assert!(!m.is_free(0x20_0000, 0));
    }

    #[test]
    fn full_map_is_an_error() {
        let mut m = MemoryMap::new();
        for i in 0..MAX_REGIONS as u64 {
            m.add(i * 0x10000, 0x1000, MemoryKind::Usable).unwrap();
        }
        assert_eq!(m.add(0x1000_0000, 0x1000, MemoryKind::Usable), Err(MemoryMapError::Full));
        assert_eq!(m.carve(0x100, 0x100, MemoryKind::Kernel), Err(MemoryMapError::Full));
        // A carve that only relabels a whole region needs no room.
        m.carve(0, 0x1000, MemoryKind::Kernel).unwrap();
    }

}

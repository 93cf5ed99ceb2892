//! A physical memory map: sorted, non-overlapping RAM regions with a kind.
//!
//! The firmware starts from the RAM the platform reports (`add`) and
//! carves out what it uses (`carve`); the loader asks whether a range is
//! still free (`is_free`); the kernel's frame allocator walks the usable
//! regions. It lives in a fixed array so the firmware needs no heap.
//!
//! What the next stage is handed is computed in one place, [`MemoryMap::hand_on`]:
//! the map the kernel was loaded against (RAM less the firmware-resident
//! areas, the scratch region the boot files were loaded into, and the
//! kernel's pages) with the scratch region given back as usable and each
//! range this boot still needs (a placed file) reserved as its own pages.

use core::fmt;

/// Capacity of a memory map; enough for every board Tianshan knows.
pub const MAX_REGIONS: usize = 64;
/// What [`MemoryMap::hand_on`] widens a kept range to: the 4 KiB frame
/// of the Tianshan kernel's allocator (and the smallest MIPS page), so a
/// reservation takes its own pages and no more.
pub const KEEP_GRANULE: u64 = 4096;

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
    /// The range to carve (or release) is not all RAM of the kind it must
    /// be: usable (or of `kind` to release).
    NotOfKind { base: u64, size: u64, kind: MemoryKind },
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
            MemoryMapError::NotOfKind { base, size, kind } => {
                write!(f, "range {:#x}..{:#x} is not all {} memory", base, base.wrapping_add(size), kind.name())
            }
            MemoryMapError::Full => write!(f, "memory map is full ({MAX_REGIONS} regions)"),
        }
    }
}

/// Prints the map as a table, one region per line.
impl fmt::Display for MemoryMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {:<18} {:<18} {:>10}  kind", "start", "end", "size")?;
        for r in self.regions() {
            writeln!(f, "  {:#018x} {:#018x} {:>8} K  {}", r.base, r.base + r.size, r.size >> 10, r.kind.name())?;
        }
        Ok(())
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

    /// Marks `[base, base + size)` as `kind`. Every byte of the range must
    /// be RAM that is usable or already of `kind`; regions are split as
    /// needed and neighbours of the same kind merged.
    pub fn carve(&mut self, base: u64, size: u64, kind: MemoryKind) -> Result<(), MemoryMapError> {
        self.retype(base, size, MemoryKind::Usable, kind)
    }

    /// Gives `[base, base + size)`, which must be all `kind` (or already
    /// usable), back as usable RAM: the inverse of [`MemoryMap::carve`].
    pub fn release(&mut self, base: u64, size: u64, kind: MemoryKind) -> Result<(), MemoryMapError> {
        self.retype(base, size, kind, MemoryKind::Usable)
    }

    /// Turns the map a kernel was loaded against into the map handed to
    /// it. `self` is RAM less the firmware-resident areas, the scratch
    /// region `[scratch_base, scratch_base + scratch_size)` (marked
    /// `Firmware` while files were loaded into it) and the kernel's pages.
    /// The scratch region becomes usable again, since nothing in it is
    /// needed once the kernel runs; then each of `kept` (something placed
    /// for the next stage, such as an initrd, inside the scratch region or
    /// not) is reserved with its own kind, widened to whole
    /// [`KEEP_GRANULE`]s and no further. On an error the map may be left
    /// half changed.
    pub fn hand_on(
        &mut self,
        scratch_base: u64,
        scratch_size: u64,
        kept: &[MemoryRegion],
    ) -> Result<(), MemoryMapError> {
        self.release(scratch_base, scratch_size, MemoryKind::Firmware)?;
        for k in kept {
            let end = checked_end(k.base, k.size)?;
            let base = k.base & !(KEEP_GRANULE - 1);
            let end =
                end.checked_next_multiple_of(KEEP_GRANULE).ok_or(MemoryMapError::BadRange { base, size: k.size })?;
            self.carve(base, end - base, k.kind)?;
        }
        Ok(())
    }

    /// Marks `[base, base + size)`, every byte of which must be RAM of
    /// kind `from` or already `to`, as `to`; regions are split as needed
    /// and neighbours of the same kind merged.
    fn retype(&mut self, base: u64, size: u64, from: MemoryKind, to: MemoryKind) -> Result<(), MemoryMapError> {
        let end = checked_end(base, size)?;
        let not_free = MemoryMapError::NotOfKind { base, size, kind: from };
        let mut cursor = base;
        for r in self.regions().iter().filter(|r| r.base < end && base < r.base + r.size) {
            if r.base > cursor || (r.kind != from && r.kind != to) {
                return Err(not_free);
            }
            cursor = r.base + r.size;
        }
        if cursor < end {
            return Err(not_free);
        }
        // Rebuild into a scratch map so that a full map is left untouched.
        let mut out = [EMPTY; MAX_REGIONS + 2];
        let mut n = 0;
        let mut push = |region: MemoryRegion| -> Result<(), MemoryMapError> {
            if n > 0 {
                let last: &mut MemoryRegion = &mut out[n - 1];
                if last.kind == region.kind && last.base + last.size == region.base {
                    last.size += region.size;
                    return Ok(());
                }
            }
            if n == MAX_REGIONS {
                return Err(MemoryMapError::Full);
            }
            out[n] = region;
            n += 1;
            Ok(())
        };
        for r in self.regions() {
            let r_end = r.base + r.size;
            if r_end <= base || end <= r.base {
                push(*r)?;
                continue;
            }
            if r.base < base {
                push(MemoryRegion { base: r.base, size: base - r.base, kind: r.kind })?;
            }
            let (lo, hi) = (r.base.max(base), r_end.min(end));
            push(MemoryRegion { base: lo, size: hi - lo, kind: to })?;
            if end < r_end {
                push(MemoryRegion { base: end, size: r_end - end, kind: r.kind })?;
            }
        }
        self.regions[..n].copy_from_slice(&out[..n]);
        self.len = n;
        Ok(())
    }

    /// Where the scratch region for loading boot files goes: the top of the
    /// highest usable region, at most half of it and at most `max` bytes,
    /// starting on an `align` boundary (a power of two). Returns its base
    /// and size (which runs to the region's end), or `None` when no RAM is
    /// usable. The caller carves it as `Firmware` while loading, and
    /// [`MemoryMap::hand_on`] gives it back.
    pub fn scratch_room(&self, max: u64, align: u64) -> Option<(u64, u64)> {
        let top = self.regions().iter().rfind(|r| r.kind == MemoryKind::Usable)?;
        let end = top.base + top.size;
        let size = (top.size / 2).min(max) & !(align - 1);
        let base = (end - size) & !(align - 1);
        Some((base, end - base))
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
            Err(MemoryMapError::NotOfKind { base: 0x0EFF_F000, size: 0x2000, kind: MemoryKind::Usable })
        );
        // In the hole between low and high RAM.
        assert!(matches!(
            m.carve(0x1000_0000, 4096, MemoryKind::Kernel),
            Err(MemoryMapError::NotOfKind { kind: MemoryKind::Usable, .. })
        ));
        // Empty and wrapping ranges.
        assert!(matches!(m.carve(0, 0, MemoryKind::Kernel), Err(MemoryMapError::BadRange { .. })));
        assert!(matches!(m.carve(u64::MAX, 2, MemoryKind::Kernel), Err(MemoryMapError::BadRange { .. })));
    }

    #[test]
    fn displays_as_a_table() {
        let mut m = virt_map();
        m.carve(0x20_0000, 0x10_0000, MemoryKind::Kernel).unwrap();
        let text = m.to_string();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4);
        assert_eq!(lines[2], "  0x0000000000200000 0x0000000000300000     1024 K  kernel");
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

    #[test]
    fn carve_merges_and_accepts_its_own_kind() {
        let mut m = virt_map();
        m.carve(0x20_0000, 0x1000, MemoryKind::Kernel).unwrap();
        m.carve(0x20_2000, 0x1000, MemoryKind::Kernel).unwrap();
        // Spans the first kernel page, the gap and the second page.
        m.carve(0x20_0000, 0x3000, MemoryKind::Kernel).unwrap();
        let kernel: Vec<_> = m.regions().iter().filter(|r| r.kind == MemoryKind::Kernel).collect();
        assert_eq!(kernel.len(), 1);
        assert_eq!((kernel[0].base, kernel[0].size), (0x20_0000, 0x3000));
        assert_eq!(m.regions().len(), 4);
        // But not across another kind.
        m.carve(0x30_0000, 0x1000, MemoryKind::Reserved).unwrap();
        assert!(m.carve(0x2F_F000, 0x2000, MemoryKind::Kernel).is_err());
    }

    /// QEMU loongson3-virt with `mib` MiB as the firmware lays it out
    /// (firmware/src/platform.rs): the low alias for the first 256 MiB, the
    /// rest from 0x9000_0000; the firmware's RAM and the handoff area at
    /// 0x0F00_0000..0x1000_0000; the scratch region (128 MiB at most) at
    /// the top. Returns the map and the scratch region.
    fn loongson3_virt_loading_map(mib: u64) -> (MemoryMap, (u64, u64)) {
        let mut m = MemoryMap::new();
        m.add(0, (mib * MIB).min(256 * MIB), MemoryKind::Usable).unwrap();
        if mib > 256 {
            m.add(0x9000_0000, (mib - 256) * MIB, MemoryKind::Usable).unwrap();
        }
        m.carve(0x0F00_0000, 14 * MIB, MemoryKind::Firmware).unwrap();
        m.carve(0x0FE0_0000, 2 * MIB, MemoryKind::BootInfo).unwrap();
        let (base, size) = m.scratch_room(128 * MIB, MIB).unwrap();
        m.carve(base, size, MemoryKind::Firmware).unwrap();
        (m, (base, size))
    }

    /// `m` handed on, as a new map.
    fn handed(m: &MemoryMap, scratch: (u64, u64), kept: &[MemoryRegion]) -> Result<MemoryMap, MemoryMapError> {
        let mut out = m.clone();
        out.hand_on(scratch.0, scratch.1, kept).map(|()| out)
    }

    /// A kernel of two segments as `tianshan_elf::validate` carves them.
    fn load_kernel(m: &mut MemoryMap) -> u64 {
        m.carve(0x20_0000, 0x3_4000, MemoryKind::Kernel).unwrap();
        m.carve(0x23_8000, 0x1_0000, MemoryKind::Kernel).unwrap();
        0x4_4000
    }

    #[test]
    fn scratch_is_the_top_of_ram_at_most_128_mib() {
        for (mib, base, size) in [
            (512, 0x9800_0000, 128 * MIB),
            (1024, 0xB800_0000, 128 * MIB),
            (2048, 0xF800_0000, 128 * MIB),
            (4096, 0x1_7800_0000, 128 * MIB),
        ] {
            assert_eq!(loongson3_virt_loading_map(mib).1, (base, size), "-m {mib}M");
        }
        // Half of a small top region, whole alignment units, to its end.
        let mut m = MemoryMap::new();
        m.add(0, 3 * MIB + 0x800, MemoryKind::Usable).unwrap();
        assert_eq!(m.scratch_room(128 * MIB, MIB), Some((2 * MIB, MIB + 0x800)));
        assert_eq!(MemoryMap::new().scratch_room(128 * MIB, MIB), None);
    }

    #[test]
    fn handed_on_map_returns_the_scratch_region_at_every_size() {
        for mib in [512, 1024, 2048, 3072, 4096] {
            let (mut m, (base, size)) = loongson3_virt_loading_map(mib);
            let kernel = load_kernel(&mut m);
            assert_eq!(m.total(MemoryKind::Usable), (mib - 16 - 128) * MIB - kernel, "-m {mib}M while loading");
            let map = handed(&m, (base, size), &[]).unwrap();
            // All RAM but the firmware-resident 16 MiB and the kernel's pages.
            assert_eq!(map.total_ram(), mib * MIB, "-m {mib}M");
            assert_eq!(map.total(MemoryKind::Usable), (mib - 16) * MIB - kernel, "-m {mib}M");
            assert_eq!(map.total(MemoryKind::Firmware), 14 * MIB);
            assert_eq!(map.total(MemoryKind::BootInfo), 2 * MIB);
            assert_eq!(map.total(MemoryKind::Kernel), kernel);
            // The released region merged with the usable RAM below it.
            let top = map.regions().last().unwrap();
            assert_eq!((top.kind, top.base + top.size), (MemoryKind::Usable, 0x8000_0000 + mib * MIB));
            assert!(top.base < base);
            // Withheld from the kernel: only the 16 MiB at 0x0F00_0000 (and its own pages).
            let kept: Vec<_> = map
                .regions()
                .iter()
                .filter(|r| !matches!(r.kind, MemoryKind::Usable | MemoryKind::Kernel))
                .map(|r| (r.base, r.base + r.size))
                .collect();
            assert_eq!(kept, vec![(0x0F00_0000, 0x0FE0_0000), (0x0FE0_0000, 0x1000_0000)]);
        }
    }

    #[test]
    fn kept_files_reserve_their_own_pages_only() {
        let (mut m, (base, size)) = loongson3_virt_loading_map(2048);
        let kernel = load_kernel(&mut m);
        // An initrd left in the scratch region, and boot data below it.
        let initrd = MemoryRegion { base: base + 0x1_0000, size: 1_133_998, kind: MemoryKind::BootInfo };
        let data = MemoryRegion { base: 0x0400_0100, size: 0x100, kind: MemoryKind::BootInfo };
        let map = handed(&m, (base, size), &[initrd, data]).unwrap();
        let initrd_pages = 1_133_998u64.next_multiple_of(KEEP_GRANULE);
        assert!(map.regions().contains(&MemoryRegion {
            base: base + 0x1_0000,
            size: initrd_pages,
            kind: MemoryKind::BootInfo
        }));
        assert!(map.regions().contains(&MemoryRegion {
            base: 0x0400_0000,
            size: KEEP_GRANULE,
            kind: MemoryKind::BootInfo
        }));
        assert_eq!(
            map.total(MemoryKind::Usable),
            (2048 - 16) * MIB - kernel - initrd_pages - KEEP_GRANULE,
            "the rest of the scratch region is usable"
        );
        // A kept range over the firmware or the kernel is refused.
        let over_kernel = MemoryRegion { base: 0x20_0000, size: 1, kind: MemoryKind::BootInfo };
        assert_eq!(
            handed(&m, (base, size), &[over_kernel]).unwrap_err(),
            MemoryMapError::NotOfKind { base: 0x20_0000, size: KEEP_GRANULE, kind: MemoryKind::Usable }
        );
        let wraps = MemoryRegion { base: u64::MAX - 10, size: 5, kind: MemoryKind::BootInfo };
        assert!(matches!(handed(&m, (base, size), &[wraps]), Err(MemoryMapError::BadRange { .. })));
    }

    #[test]
    fn release_needs_the_whole_range_of_its_kind() {
        let (m, (base, size)) = loongson3_virt_loading_map(1024);
        // The firmware's own RAM is not the scratch region, but the same kind:
        // a wrong scratch range would release it, so the kinds must match.
        let err = handed(&m, (0x0FE0_0000, 0x1000), &[]).unwrap_err();
        assert_eq!(err, MemoryMapError::NotOfKind { base: 0x0FE0_0000, size: 0x1000, kind: MemoryKind::Firmware });
        assert_eq!(err.to_string(), "range 0xfe00000..0xfe01000 is not all firmware memory");
        assert!(handed(&m, (base - MIB, size + MIB), &[]).is_ok(), "usable bytes may be released again");
        assert!(matches!(handed(&m, (base, size + MIB), &[]), Err(MemoryMapError::NotOfKind { .. })), "past RAM's end");
    }
}

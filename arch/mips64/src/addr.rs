//! MIPS64 unmapped address segments (KSEG0, KSEG1, XKPHYS) and translation.
//!
//! Source: MIPS64 Privileged Resource Architecture, "Address Spaces", and
//! `shared/specs/loongson3-virt.md` §3 for which windows reach what on
//! Loongson-3. KSEG0/KSEG1 reach only the first 512 MiB of physical space;
//! everything else needs XKPHYS, which needs Status.KX = 1.

/// KSEG0: cached, unmapped view of PA 0..512 MiB (sign-extended 32-bit).
pub const KSEG0_BASE: u64 = 0xFFFF_FFFF_8000_0000;
/// KSEG1: uncached, unmapped view of PA 0..512 MiB.
pub const KSEG1_BASE: u64 = 0xFFFF_FFFF_A000_0000;
/// Size of each of KSEG0 and KSEG1.
pub const KSEG_SIZE: u64 = 0x2000_0000;
/// XKPHYS with cache attribute 2 (uncached).
pub const XKPHYS_UNCACHED: u64 = 0x9000_0000_0000_0000;
/// XKPHYS with cache attribute 3 (cacheable, coherent).
pub const XKPHYS_CACHED: u64 = 0x9800_0000_0000_0000;
/// XKPHYS spans 2^59 bytes per cache attribute; PA bits come from the low 48.
const XKPHYS_REGION_MASK: u64 = 0xF800_0000_0000_0000;
/// Physical addresses are 48 bits wide on Loongson-3 (PABITS).
pub const PA_MASK: u64 = (1 << 48) - 1;

/// The KSEG0 (cached) address of a physical address below 512 MiB.
pub const fn kseg0(pa: u64) -> Option<u64> {
    if pa < KSEG_SIZE { Some(KSEG0_BASE + pa) } else { None }
}

/// The KSEG1 (uncached) address of a physical address below 512 MiB.
pub const fn kseg1(pa: u64) -> Option<u64> {
    if pa < KSEG_SIZE { Some(KSEG1_BASE + pa) } else { None }
}

/// The uncached XKPHYS address of any physical address.
pub const fn xkphys_uncached(pa: u64) -> u64 {
    XKPHYS_UNCACHED | (pa & PA_MASK)
}

/// The cached XKPHYS address of any physical address.
pub const fn xkphys_cached(pa: u64) -> u64 {
    XKPHYS_CACHED | (pa & PA_MASK)
}

/// A cached address for `pa`: KSEG0 when it reaches, XKPHYS otherwise.
pub const fn cached(pa: u64) -> u64 {
    match kseg0(pa) {
        Some(va) => va,
        None => xkphys_cached(pa),
    }
}

/// The physical address behind an unmapped virtual address.
///
/// Returns `None` for mapped segments (useg, xkseg, ksseg, kseg3), which
/// have no fixed translation.
pub const fn virt_to_phys(va: u64) -> Option<u64> {
    if va >= KSEG0_BASE && va < KSEG1_BASE {
        Some(va - KSEG0_BASE)
    } else if va >= KSEG1_BASE && va < KSEG1_BASE + KSEG_SIZE {
        Some(va - KSEG1_BASE)
    } else if va & XKPHYS_REGION_MASK == XKPHYS_UNCACHED || va & XKPHYS_REGION_MASK == XKPHYS_CACHED {
        // Only the two attributes the project uses are accepted; bits 58:48
        // must be zero for the address to be valid.
        if va & !XKPHYS_REGION_MASK & !PA_MASK == 0 { Some(va & PA_MASK) } else { None }
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kseg_round_trip() {
        assert_eq!(kseg0(0x20_0000), Some(0xFFFF_FFFF_8020_0000));
        assert_eq!(kseg1(0x1FC0_0000), Some(0xFFFF_FFFF_BFC0_0000));
        assert_eq!(kseg0(0x2000_0000), None);
        assert_eq!(virt_to_phys(0xFFFF_FFFF_8020_0000), Some(0x20_0000));
        assert_eq!(virt_to_phys(0xFFFF_FFFF_BFC0_0000), Some(0x1FC0_0000));
    }

    #[test]
    fn xkphys_round_trip() {
        assert_eq!(xkphys_uncached(0x3FF0_1000), 0x9000_0000_3FF0_1000);
        assert_eq!(virt_to_phys(0x9800_0000_9000_0000), Some(0x9000_0000));
        assert_eq!(cached(0x9000_0000), 0x9800_0000_9000_0000);
        assert_eq!(cached(0x100), 0xFFFF_FFFF_8000_0100);
    }

    #[test]
    fn mapped_segments_have_no_translation() {
        assert_eq!(virt_to_phys(0x0000_0000_0040_0000), None);
        assert_eq!(virt_to_phys(0xC000_0000_0000_0000), None);
        assert_eq!(virt_to_phys(0xFFFF_FFFF_C000_0000), None);
        // XKPHYS with reserved bits 58:48 set is not a valid address.
        assert_eq!(virt_to_phys(0x9001_0000_0000_0000), None);
    }
}

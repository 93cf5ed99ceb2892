//! Where the initrd goes, so that nothing writes over it before Linux has
//! reserved it.
//!
//! Between the handoff and the moment `init_initrd` reserves the initrd
//! (arch/mips/kernel/setup.c), three things write to RAM that the firmware
//! did not give them explicitly:
//!
//! 1. the self-decompressing `vmlinuz`: it writes the kernel below itself
//!    and keeps its heap and stack after its own `_end`
//!    (arch/mips/boot/compressed/head.S, decompress.c);
//! 2. KASLR (`CONFIG_RANDOMIZE_BASE`, on in Debian's Loongson-3 6.12):
//!    `relocate_kernel` copies the whole kernel, `.bss` included, to
//!    `_text + offset` with `offset` up to the kernel's length plus
//!    `CONFIG_RANDOMIZE_BASE_MAX_OFFSET`, without looking at `rd_start`
//!    (arch/mips/kernel/relocate.c). With a 23 MiB 6.12 kernel that span
//!    reaches past 0x7900000, over an initrd placed right after the
//!    vmlinuz (0x61c0000, where QEMU's own `-kernel` boot puts it: it
//!    survives there only when the random offset happens to be small);
//! 3. early `memblock` allocations made before the reservation
//!    (`NODE_DATA` on Loongson-3), which memblock takes from the top of RAM
//!    downwards.
//!
//! A kernel linked in CKSEG0, as every Loongson-3 kernel is, runs, unpacks
//! and relocates itself inside CKSEG0, that is below physical 512 MiB: so
//! the initrd goes to the **lowest** fitting address at or above 512 MiB,
//! out of reach of 1 and 2 and as far as possible from 3. Only when RAM has
//! no room there is it placed below 512 MiB, then as high as possible and
//! after the kernel, the farthest it can be from what the kernel moves.

use crate::INITRD_ALIGN;
use crate::addr::{KSEG_SIZE, PhysRange};

/// First physical address no code of a CKSEG0 kernel writes before it
/// reserves the initrd: the end of what KSEG0 maps.
pub const KERNEL_REACH_END: u64 = KSEG_SIZE;

/// Picks the physical address for an initrd of `size` bytes.
///
/// `free` yields the ranges of RAM that is free for the next stage (usable, and not
/// holding the kernel, the firmware or the handoff area), in any order;
/// `kernel_end` is the end of the loaded kernel image. Returns `None` when
/// no range can hold it. The address is a multiple of [`INITRD_ALIGN`].
pub fn initrd_site<I>(free: I, size: u64, kernel_end: u64) -> Option<u64>
where
    I: Iterator<Item = PhysRange> + Clone,
{
    if size == 0 {
        return None;
    }
    let lowest_high = free
        .clone()
        .filter_map(|r| {
            let start = r.start.max(KERNEL_REACH_END).checked_next_multiple_of(INITRD_ALIGN)?;
            fits(&r, start, size).then_some(start)
        })
        .min();
    if lowest_high.is_some() {
        return lowest_high;
    }
    free.filter_map(|r| {
        let end = r.end.min(KERNEL_REACH_END);
        let start = end.checked_sub(size)? / INITRD_ALIGN * INITRD_ALIGN;
        (start >= kernel_end && fits(&r, start, size)).then_some(start)
    })
    .max()
}

/// True if `[start, start + size)` lies inside `range`.
fn fits(range: &PhysRange, start: u64, size: u64) -> bool {
    PhysRange::from_start_len(start, size).is_some_and(|want| range.contains_range(&want))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    /// QEMU loongson3-virt at -m 1G as the firmware hands it on: low RAM
    /// up to the firmware area, high RAM from 0x9000_0000, the scratch
    /// region at the top carved out.
    fn virt_1g() -> [PhysRange; 2] {
        [PhysRange::new(0x0200_0000, 0x0F00_0000), PhysRange::new(0x9000_0000, 0xB800_0000)]
    }

    #[test]
    fn goes_to_the_bottom_of_high_ram_out_of_the_kernels_reach() {
        let at = initrd_site(virt_1g().iter().copied(), 30 * MIB, 0x061b_f320).unwrap();
        assert_eq!(at, 0x9000_0000);
        assert!(at >= KERNEL_REACH_END);
    }

    #[test]
    fn order_of_the_free_list_does_not_matter() {
        let mut free = virt_1g();
        free.reverse();
        assert_eq!(initrd_site(free.iter().copied(), MIB, 0x0620_0000), Some(0x9000_0000));
    }

    #[test]
    fn an_unaligned_range_start_is_rounded_up() {
        let free = [PhysRange::new(0x9000_1000, 0xA000_0000)];
        assert_eq!(initrd_site(free.iter().copied(), MIB, 0), Some(0x9001_0000));
    }

    #[test]
    fn a_range_straddling_512_mib_is_used_from_512_mib() {
        let free = [PhysRange::new(0x1000_0000, 0x4000_0000)];
        assert_eq!(initrd_site(free.iter().copied(), 4 * MIB, 0x0200_0000), Some(KERNEL_REACH_END));
    }

    #[test]
    fn too_big_for_high_ram_falls_back_to_the_top_of_low_ram_after_the_kernel() {
        // 200 MiB does not fit in 0x9000_0000..0xA000_0000 (a 512 MiB
        // machine keeps half of high RAM as scratch) but does below.
        let free = [PhysRange::new(0x0200_0000, 0x0F00_0000), PhysRange::new(0x9000_0000, 0x9800_0000)];
        let at = initrd_site(free.iter().copied(), 200 * MIB, 0x0180_0000).unwrap();
        assert_eq!(at % INITRD_ALIGN, 0);
        assert!(at + 200 * MIB <= 0x0F00_0000);
        assert!(at >= 0x0180_0000);
        // As high as it can go: another 64 KiB up would not fit.
        assert!(at + INITRD_ALIGN + 200 * MIB > 0x0F00_0000);
    }

    #[test]
    fn low_ram_below_the_kernel_end_is_never_chosen() {
        let free = [PhysRange::new(0x0200_0000, 0x0F00_0000)];
        assert_eq!(initrd_site(free.iter().copied(), 100 * MIB, 0x0900_0000), None);
        assert!(initrd_site(free.iter().copied(), 50 * MIB, 0x0900_0000).is_some());
    }

    #[test]
    fn nothing_fits_or_nothing_to_place() {
        assert_eq!(initrd_site([].into_iter(), MIB, 0), None);
        assert_eq!(initrd_site(virt_1g().iter().copied(), 0, 0), None);
        assert_eq!(initrd_site(virt_1g().iter().copied(), u64::MAX, 0), None);
        // A range at the very top of the address space must not overflow.
        let top = [PhysRange::new(u64::MAX - MIB, u64::MAX)];
        assert_eq!(initrd_site(top.iter().copied(), 2 * MIB, 0), None);
    }
}

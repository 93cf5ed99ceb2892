// Memory layout of Tianshan on QEMU loongson3-virt. Included both by the
// crate and by build.rs (which hands these values to the linker scripts), so
// the linker and the code can never disagree. Plain constants only.
//
// Physical map: shared/specs/loongson3-virt.md §4; RAM from 0x8000_0000 with
// its first 256 MiB also at 0 (§5).

/// Physical address of the boot flash (the `-bios` image), §6.
pub const ROM_PA: u64 = 0x1FC0_0000;
/// Where the firmware runs from: the KSEG1 (uncached) view of the flash.
pub const ROM_VA: u64 = 0xFFFF_FFFF_BFC0_0000;
/// Size of the boot flash: QEMU maps 2 MiB and refuses larger images, §6.
pub const FLASH_SIZE: u64 = 2 * 1024 * 1024;

/// Firmware RAM (.data, .bss, stack): the 14 MiB below the handoff area,
/// at the top of the low 256 MiB, as QEMU's own boot keeps 0x0F00_0000 up.
pub const FIRMWARE_RAM_PA: u64 = 0x0F00_0000;
/// Size of the firmware's RAM.
pub const FIRMWARE_RAM_SIZE: u64 = 0x00E0_0000;
/// The firmware's stack size (top of its RAM, growing down).
pub const FIRMWARE_STACK_SIZE: u64 = 256 * 1024;
/// Handoff area: the boot-info block and the data it points at.
pub const HANDOFF_PA: u64 = 0x0FE0_0000;
/// Size of the handoff area.
pub const HANDOFF_SIZE: u64 = 0x0020_0000;

/// The kernel is linked at PA 2 MiB in KSEG0.
pub const KERNEL_BASE_VA: u64 = 0xFFFF_FFFF_8020_0000;
/// The kernel's boot stack.
pub const KERNEL_BOOT_STACK_SIZE: u64 = 64 * 1024;

/// KSEG0 base, for turning the layout's physical addresses into link addresses.
pub const KSEG0: u64 = 0xFFFF_FFFF_8000_0000;

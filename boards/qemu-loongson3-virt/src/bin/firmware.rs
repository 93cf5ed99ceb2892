//! Firmware entry for QEMU loongson3-virt: ties the reset vector, the trap
//! vectors and the panic handler to the generic firmware.
#![no_std]
#![no_main]
// The entry macro expands MIPS `global_asm!` (written in the CPU crate) here.
#![feature(asm_experimental_arch)]

use tianshan_arch_mips64::trap::TrapFrame;
use tianshan_board_qemu_loongson3_virt::BOARD;

tianshan_arch_mips64::firmware_reset_entry!(
    main = firmware_main,
    trap = firmware_trap,
    pm_control = tianshan_board_qemu_loongson3_virt::PM_CNTL_KSEG1,
);

#[global_allocator]
static HEAP: linked_list_allocator::LockedHeap = linked_list_allocator::LockedHeap::empty();

extern "C" fn firmware_main() -> ! {
    tianshan_firmware::main(&BOARD, &HEAP)
}

extern "C" fn firmware_trap(frame: &mut TrapFrame) {
    tianshan_firmware::fatal::exception(&BOARD, frame)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    tianshan_firmware::fatal::panic(&BOARD, info)
}

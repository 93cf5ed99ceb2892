//! Kernel entry for QEMU loongson3-virt: ties the entry point, the trap
//! vectors and the panic handler to the generic kernel.
#![no_std]
#![no_main]
// The entry macro expands MIPS `global_asm!` (written in the CPU crate) here.
#![feature(asm_experimental_arch)]

extern crate alloc;

use tianshan_arch_mips64::trap::TrapFrame;
use tianshan_board_qemu_loongson3_virt::BOARD;
use tianshan_kernel::mm::{HEAP, KernelHeap};

#[global_allocator]
static ALLOCATOR: &KernelHeap = &HEAP;

tianshan_arch_mips64::kernel_entry!(main = kernel_main, trap = kernel_trap);

extern "C" fn kernel_main(magic: u64, boot_info: u64) -> ! {
    tianshan_kernel::main(&BOARD, magic, boot_info)
}

extern "C" fn kernel_trap(frame: &mut TrapFrame) {
    tianshan_kernel::trap::handle(&BOARD, frame)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    tianshan_kernel::trap::panic(&BOARD, info)
}

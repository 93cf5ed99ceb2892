//! In-kernel self-tests, run on the emulated machine by `cargo xtask test`.
//!
//! Each case checks one behaviour the kernel relies on and prints its
//! result; the run ends with `selftest: N passed, N failed` and leaves
//! the emulator with status 0 only if nothing failed.

use crate::Kernel;
use crate::board::Board;
use crate::trap::{EXPECTED_BREAKS, HANDLED_BREAKS};
use core::sync::atomic::Ordering;
use tianshan_bootinfo::{BootInfo, BootInfoError, MemoryKind};
use tianshan_drivers::println;

/// A case returns `Err(reason)` on failure.
type Case<B> = fn(&Kernel<B>) -> Result<(), &'static str>;

fn cases<B: Board>() -> [(&'static str, Case<B>); 7] {
    [
        ("boot info names this board", boot_info_names_board::<B>),
        ("kernel image is marked in the memory map", kernel_image_marked::<B>),
        ("boot info block lies in boot-info memory", block_in_handoff_memory::<B>),
        ("boot info corruption is detected", corruption_detected::<B>),
        ("cycle counter advances", counter_advances::<B>),
        ("low RAM alias matches high RAM", ram_alias::<B>),
        ("trap entry restores registers", trap_round_trip::<B>),
    ]
}

fn boot_info_names_board<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    if k.boot_info.board() != B::NAME {
        return Err("board name differs from the kernel's board");
    }
    if k.boot_info.version().0 != tianshan_bootinfo::VERSION_MAJOR {
        return Err("unexpected major version");
    }
    Ok(())
}

fn kernel_image_marked<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let (start, end) = k.board.kernel_image();
    let covered = k
        .boot_info
        .memory_map()
        .regions()
        .iter()
        .filter(|r| r.kind == MemoryKind::Kernel)
        .any(|r| r.base <= start && end <= r.base + r.size);
    if covered { Ok(()) } else { Err("no kernel region covers the linked image (text to end of stack)") }
}

fn block_in_handoff_memory<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let map = k.boot_info.memory_map();
    if map.total(MemoryKind::BootInfo) == 0 {
        return Err("no boot-info region");
    }
    if map.total(MemoryKind::Firmware) == 0 {
        return Err("no firmware region");
    }
    if map.total(MemoryKind::Usable) == 0 {
        return Err("no usable RAM");
    }
    Ok(())
}

/// Largest block this test copies to flip a byte in.
const COPY_LIMIT: usize = 4096;

fn corruption_detected<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let original = k.boot_info.size();
    if original > COPY_LIMIT {
        return Err("block larger than the test's buffer");
    }
    let mut copy = [0u8; COPY_LIMIT];
    let bytes = k.boot_info.as_bytes();
    copy[..original].copy_from_slice(bytes);
    BootInfo::parse(&copy[..original]).map_err(|_| "an unmodified copy does not parse")?;
    copy[original - 1] ^= 0x5A;
    match BootInfo::parse(&copy[..original]) {
        Err(BootInfoError::BadChecksum { .. }) => Ok(()),
        Err(_) => Err("flipped byte reported as something other than a checksum error"),
        Ok(_) => Err("flipped byte went unnoticed"),
    }
}

fn counter_advances<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let before = k.board.counter();
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
    let after = k.board.counter();
    if after.wrapping_sub(before) > 0 { Ok(()) } else { Err("CP0 Count did not move") }
}

/// The machine's RAM appears twice: PA 0..256 MiB mirrors PA 2 GiB.. .
const HIGH_RAM_ALIAS: u64 = 0x8000_0000;

fn ram_alias<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let region = k
        .boot_info
        .memory_map()
        .regions()
        .iter()
        .find(|r| r.kind == MemoryKind::Usable && r.base + r.size <= 0x1000_0000)
        .ok_or("no usable low RAM")?;
    let pa = region.base + region.size - 8;
    let low = k.board.phys_to_virt(pa) as *mut u64;
    let high = k.board.phys_to_virt_uncached(pa + HIGH_RAM_ALIAS) as *const u64;
    let pattern = 0x5453_4941_4E53_4841u64 ^ pa;
    // SAFETY: `pa` is the last word of a usable region nobody else uses
    // yet (the kernel has no allocator), mapped by both views.
    let seen = unsafe {
        low.write_volatile(pattern);
        high.read_volatile()
    };
    if seen == pattern { Ok(()) } else { Err("word written at the low alias not seen at the high address") }
}

fn trap_round_trip<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let before = HANDLED_BREAKS.load(Ordering::Acquire);
    EXPECTED_BREAKS.store(1, Ordering::Release);
    let preserved = tianshan_arch_mips64::trap::break_preserves_registers();
    if HANDLED_BREAKS.load(Ordering::Acquire) != before + 1 {
        return Err("the break trap was not handled");
    }
    if preserved { Ok(()) } else { Err("a callee-saved register changed across the trap") }
}

/// Runs every case, prints the summary, and ends the emulation.
pub fn run<B: Board>(k: &Kernel<B>) -> ! {
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in cases::<B>() {
        match case(k) {
            Ok(()) => {
                passed += 1;
                println!("selftest: {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                println!("selftest: {name} ... FAILED: {why}");
            }
        }
    }
    println!("selftest: {passed} passed, {failed} failed");
    k.board.exit_emulator(if failed == 0 { 0 } else { 1 });
    println!("selftest: the emulator did not accept the exit request (start QEMU with -semihosting)");
    k.board.halt()
}

//! The Tianshan boot firmware, from the first Rust instruction to handoff.
//!
//! The reset assembly (in the CPU crate) has set up the CPU and a stack and
//! calls the board's entry, which calls `main` with the board. From there
//! the boot runs in phases, each a module with one hand-over value:
//!
//! | phase      | module       | hands over                                  |
//! |------------|--------------|---------------------------------------------|
//! | reset      | (board)      | a console                                   |
//! | platform   | `platform`   | `Platform` (RAM, CPUs, clock, memory map), `Scratch` |
//! | devices    | `devices`    | the PCI device table                        |
//! | boot mgr   | `bootmgr`    | a kernel image and command line             |
//! | loader     | `loader`     | a `LoadPlan` copied into RAM                |
//! | handoff    | `handoff`    | the boot-info block, then the jump          |
//!
//! When a phase fails it says why and the firmware drops to its shell
//! (`shell`), which can retry the boot, show the memory map or power off.
#![no_std]

extern crate alloc;

pub mod board;
pub mod bootmgr;
pub mod devices;
pub mod disk;
pub mod fatal;
pub mod fwupdate;
pub mod handoff;
pub mod linux;
pub mod loader;
pub mod platform;
pub mod scratch;
pub mod serial_load;
pub mod shell;
pub mod timing;

pub use board::Board;

use platform::Platform;
use spin::Once;
use tianshan_bootinfo::Phase;
use tianshan_drivers::println;
use timing::Timeline;

/// Name and version, as printed in the banner and passed to the kernel.
pub const FIRMWARE_VERSION: &str = concat!("Tianshan firmware ", env!("CARGO_PKG_VERSION"));

/// What the platform phase found; kept for the shell and fatal paths.
static PLATFORM: Once<Platform> = Once::new();

/// The firmware's main flow. Never returns: it hands off or runs the shell.
/// `heap` is the binary's global allocator, given the board's heap RAM here.
pub fn main<B: Board>(board: &'static B, heap: &linked_list_allocator::LockedHeap) -> ! {
    let mut timeline = Timeline::start(board.counter());
    // Measured over the boot's own work, up to device discovery.
    let calibration = platform::Calibration::start(board);
    board.init_cpu();
    let (heap_start, heap_end) = board.heap_range();
    // SAFETY: the board's heap range is firmware RAM between .bss and the
    // stack that nothing else uses; this is the only initialisation.
    unsafe { heap.lock().init(heap_start as *mut u8, heap_end - heap_start) };
    board.install_console();
    println!();
    println!("{FIRMWARE_VERSION} on {}", B::NAME);
    timeline.mark(Phase::Reset, board.counter());

    // SAFETY: `main` is the firmware's one flow: the board's reset entry
    // calls it once and it never returns, so this is the only call.
    let (platform, mut scratch) = match unsafe { platform::init(board) } {
        Ok((p, scratch)) => (PLATFORM.call_once(|| p), scratch),
        Err(e) => {
            println!("platform: {e}");
            shell::run(board, None, &timeline);
        }
    };
    timeline.mark(Phase::Platform, board.counter());
    platform.print_summary();

    devices::init(board);
    bootmgr::load_config(board);
    platform.print_counter(calibration.finish(board));
    timeline.mark(Phase::Devices, board.counter());

    match bootmgr::autoboot(board, platform, &mut scratch, &mut timeline) {
        bootmgr::Outcome::Cancelled => {}
        bootmgr::Outcome::Exhausted => println!("No bootable kernel; entering the firmware shell."),
    }
    shell::run(board, Some((platform, scratch)), &timeline)
}

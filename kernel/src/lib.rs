//! The Tianshan kernel: from the firmware's handoff to the shell.
//!
//! Start-up order: the board's console, then the handoff checks (the magic
//! in a0, then the boot-info block a1 points at), then the trap vectors,
//! then the banner and the shell (or, in a `selftest` build, the self-tests).
//! A kernel that was not started by Tianshan firmware, or that was handed a
//! block it cannot read, says exactly why and halts: it never guesses.
#![no_std]

pub mod board;
pub mod handoff;
pub mod shell;
pub mod trap;

#[cfg(feature = "selftest")]
pub mod selftest;

pub use board::Board;

use tianshan_bootinfo::BootInfo;
use tianshan_drivers::println;

/// Name and version, as printed in the banner.
pub const KERNEL_VERSION: &str = concat!("Tianshan kernel ", env!("CARGO_PKG_VERSION"));

/// Everything the kernel knows about the machine after start-up.
pub struct Kernel<B: 'static> {
    /// The board.
    pub board: &'static B,
    /// The validated boot information.
    pub boot_info: BootInfo<'static>,
}

/// The kernel's main flow, entered from the board's entry point with the
/// raw handoff registers.
pub fn main<B: Board>(board: &'static B, magic: u64, boot_info_va: u64) -> ! {
    board.install_console();
    let boot_info = match handoff::accept::<B>(board, magic, boot_info_va) {
        Ok(info) => info,
        Err(e) => {
            println!("kernel: {e}");
            println!("kernel: halted");
            board.halt()
        }
    };
    board.install_trap_vectors();
    let kernel = Kernel { board, boot_info };
    print_banner(&kernel);

    #[cfg(feature = "selftest")]
    selftest::run(&kernel);
    #[cfg(not(feature = "selftest"))]
    shell::run(&kernel)
}

fn print_banner<B: Board>(k: &Kernel<B>) {
    let info = &k.boot_info;
    let map = info.memory_map();
    println!();
    println!("{KERNEL_VERSION} on {}", info.board());
    println!("  started by {}, boot info v{}.{}", info.firmware_version(), info.version().0, info.version().1);
    println!(
        "  {} MiB RAM, {} MiB usable, {} CPU{}",
        map.total_ram() >> 20,
        map.total(tianshan_bootinfo::MemoryKind::Usable) >> 20,
        info.cpu_count(),
        if info.cpu_count() == 1 { "" } else { "s" }
    );
    if !info.cmdline().is_empty() {
        println!("  command line: {}", info.cmdline());
    }
}

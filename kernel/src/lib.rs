//! The Tianshan kernel: from the firmware's handoff to the shell task.
//!
//! Start-up order, each step needing the ones before it:
//!
//! 1. console (the board's UART), so every later failure can be reported;
//! 2. the handoff: the magic in a0, then the boot-info block a1 points at —
//!    a kernel not started by Tianshan firmware, or handed a block it cannot
//!    read, says exactly why and halts;
//! 3. trap vectors; memory (frames and heap, from the boot-info map);
//! 4. interrupts, the tick, the scheduler (the running code becomes task
//!    "init"), the console's interrupt (receive, and transmit through a
//!    ring); then interrupts go on;
//! 5. the shell, in the init task (or the self-tests, or the benchmarks).
#![no_std]
// `Box::try_new`, so task creation reports a full heap as an error.
#![feature(allocator_api)]

extern crate alloc;

pub mod bench;
pub mod board;
pub mod console;
pub mod hal;
pub mod handoff;
pub mod ipc;
pub mod irq;
pub mod irqlock;
pub mod mm;
pub mod sched;
pub mod shell;
pub mod time;
pub mod trap;

#[cfg(feature = "selftest")]
pub mod selftest;

/// The CPU boundary: the one place the kernel names its CPU crate.
pub(crate) use tianshan_arch_mips64 as cpu;

pub use board::Board;

use core::sync::atomic::AtomicU64;
use spin::Once;
use tianshan_bootinfo::{BootInfo, MemoryKind, MemoryMap, Phase};
use tianshan_drivers::println;

/// Name and version, as printed in the banner.
pub const KERNEL_VERSION: &str = concat!("Tianshan kernel ", env!("CARGO_PKG_VERSION"));
/// Priority of the init/shell task.
pub const SHELL_PRIORITY: usize = 8;

/// Everything the kernel knows about the machine after start-up.
pub struct Kernel<B: 'static> {
    /// The board.
    pub board: &'static B,
    /// The validated boot information.
    pub boot_info: BootInfo<'static>,
}

static MEMORY_MAP: Once<MemoryMap> = Once::new();
/// Counter value when the shell first printed its prompt.
pub static PROMPT_COUNTS: AtomicU64 = AtomicU64::new(0);

/// True when `[va, va + len)` is RAM the kernel can read (used by the
/// fault path, which must not fault again).
pub fn is_kernel_memory(va: u64, len: u64) -> bool {
    let (Some(pa), Some(map)) = (cpu::addr::virt_to_phys(va), MEMORY_MAP.get()) else { return false };
    map.regions().iter().any(|r| {
        !matches!(r.kind, MemoryKind::Reserved | MemoryKind::Unknown(_))
            && r.base <= pa
            && pa.saturating_add(len) <= r.base + r.size
    })
}

fn fail<B: Board>(board: &B, what: &str, e: impl core::fmt::Display) -> ! {
    println!("kernel: {what}: {e}");
    println!("kernel: halted");
    board.halt()
}

/// The kernel's main flow, entered from the board's entry point with the
/// raw handoff registers.
pub fn main<B: Board>(board: &'static B, magic: u64, boot_info_va: u64) -> ! {
    board.install_console();
    tianshan_drivers::console::set_critical_section(cpu::cp0::irq_save, cpu::cp0::irq_restore);
    let boot_info = match handoff::accept::<B>(board, magic, boot_info_va) {
        Ok(info) => info,
        Err(e) => {
            println!("kernel: {e}");
            println!("kernel: halted");
            board.halt()
        }
    };
    board.install_trap_vectors();
    let cmdline = boot_info.cmdline();
    match trap::parse_policy(cmdline) {
        Ok(p) => trap::set_policy(p),
        Err(v) => println!("kernel: ignoring panic={v} (use halt, reset or reset:SECONDS)"),
    }
    let map = MEMORY_MAP.call_once(|| boot_info.memory_map().clone());
    if let Err(e) = mm::init(map) {
        fail(board, "memory", e);
    }
    let kernel = Kernel { board, boot_info };
    print_banner(&kernel);

    let info = &kernel.boot_info;
    irq::init(board.interrupt_controller(), board.interrupt_controller_core(info.cpu_count(), info.boot_cpu()));
    time::init(info.counter_hz(), hz_from(cmdline));
    if let Err(e) = sched::init("init", SHELL_PRIORITY) {
        fail(board, "scheduler", e);
    }
    if let Err(e) = console::init(B::UART_IRQ) {
        println!("kernel: console has no interrupt (no input; output stays polled): {e}");
    }
    cpu::cp0::enable_interrupts();

    #[cfg(feature = "selftest")]
    selftest::run(&kernel);
    #[cfg(not(feature = "selftest"))]
    {
        sched::rename_current("shell");
        shell::run(&kernel)
    }
}

/// `hz=N` from the command line, else the default.
fn hz_from(cmdline: &str) -> u32 {
    cmdline
        .split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("hz="))
        .and_then(|v| v.parse().ok())
        .filter(|&hz| (10..=10_000).contains(&hz))
        .unwrap_or(time::DEFAULT_HZ)
}

/// Counter value at which the firmware handed over (its last timing mark).
pub fn handoff_counts(info: &BootInfo<'_>) -> Option<u64> {
    info.timings().filter(|t| t.phase == Some(Phase::Handoff)).map(|t| t.counter).last()
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
        map.total(MemoryKind::Usable) >> 20,
        info.cpu_count(),
        if info.cpu_count() == 1 { "" } else { "s" }
    );
    if !info.cmdline().is_empty() {
        println!("  command line: {}", info.cmdline());
    }
}

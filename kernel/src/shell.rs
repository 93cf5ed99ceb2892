//! The kernel shell (`tianshan>`), on the serial console.

use crate::board::Board;
use crate::{KERNEL_VERSION, Kernel};
use tianshan_bootinfo::MemoryKind;
use tianshan_drivers::{console, print, println};
use tianshan_shell::{Command, CommandError, HelpList, LineEditor, run_line};

/// The prompt.
pub const PROMPT: &str = "tianshan> ";

fn commands<B: Board>() -> [Command<Kernel<B>>; 4] {
    [
        Command { name: "help", args: "", help: "list commands", run: help::<B> },
        Command { name: "version", args: "", help: "kernel and firmware versions", run: version::<B> },
        Command { name: "meminfo", args: "", help: "memory map and totals", run: meminfo::<B> },
        Command { name: "poweroff", args: "", help: "power the machine off", run: poweroff::<B> },
    ]
}

fn no_args(args: &[&str]) -> Result<(), CommandError> {
    if args.len() == 1 { Ok(()) } else { Err(CommandError::Usage) }
}

fn help<B: Board>(_: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    print!("{}", HelpList(&commands::<B>()));
    Ok(())
}

fn version<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("{KERNEL_VERSION} on {}", k.boot_info.board());
    println!("started by {}", k.boot_info.firmware_version());
    Ok(())
}

fn meminfo<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let map = k.boot_info.memory_map();
    print!("{map}");
    println!(
        "total {} KiB: usable {} KiB, kernel {} KiB, firmware {} KiB, boot info {} KiB",
        map.total_ram() >> 10,
        map.total(MemoryKind::Usable) >> 10,
        map.total(MemoryKind::Kernel) >> 10,
        map.total(MemoryKind::Firmware) >> 10,
        map.total(MemoryKind::BootInfo) >> 10,
    );
    Ok(())
}

fn poweroff<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("powering off");
    k.board.power_off()
}

/// Runs the shell forever.
pub fn run<B: Board>(kernel: &Kernel<B>) -> ! {
    let mut ctx = Kernel { board: kernel.board, boot_info: kernel.boot_info.clone() };
    let table = commands::<B>();
    let mut editor = LineEditor::new();
    loop {
        print!("{PROMPT}");
        let line = editor.read_line(console::try_read, console::write_bytes);
        run_line(&table, &mut ctx, line, &mut console::Stdout);
    }
}

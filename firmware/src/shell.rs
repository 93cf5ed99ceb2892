//! The firmware shell (`tianshan-fw>`): where a failed boot lands.

use crate::FIRMWARE_VERSION;
use crate::board::Board;
use crate::loader;
use crate::platform::Platform;
use crate::timing::Timeline;
use tianshan_drivers::{console, print, println};
use tianshan_shell::{Command, CommandError, HelpList, LineEditor, run_line};

/// The prompt.
pub const PROMPT: &str = "tianshan-fw> ";

/// What the commands can see.
pub struct Ctx<B: 'static> {
    board: &'static B,
    platform: Option<&'static Platform>,
    timeline: Timeline,
}

fn commands<B: Board>() -> [Command<Ctx<B>>; 7] {
    [
        Command { name: "help", args: "", help: "list commands", run: help::<B> },
        Command { name: "version", args: "", help: "firmware version and board", run: version::<B> },
        Command { name: "memmap", args: "", help: "physical memory map", run: memmap::<B> },
        Command { name: "timing", args: "", help: "time spent in each boot phase", run: timing::<B> },
        Command { name: "boot", args: "", help: "boot the kernel in the ROM image", run: boot::<B> },
        Command { name: "reset", args: "", help: "reset the machine", run: reset::<B> },
        Command { name: "poweroff", args: "", help: "power the machine off", run: poweroff::<B> },
    ]
}

fn no_args(args: &[&str]) -> Result<(), CommandError> {
    if args.len() == 1 { Ok(()) } else { Err(CommandError::Usage) }
}

fn help<B: Board>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    print!("{}", HelpList(&commands::<B>()));
    Ok(())
}

fn version<B: Board>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("{FIRMWARE_VERSION} on {}", B::NAME);
    Ok(())
}

fn memmap<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    match ctx.platform {
        Some(p) => p.print_memory_map(),
        None => {
            println!("memmap: memory was not sized (platform phase failed)");
            return Err(CommandError::Failed);
        }
    }
    Ok(())
}

fn timing<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let hz = ctx.platform.map_or(0, |p| p.counter_hz);
    let mut prev = 0;
    println!("  {:<14} {:>14} {:>12} {:>10}", "phase", "counter", "delta", "us");
    for &(phase, t) in ctx.timeline.marks() {
        let us = ((t - prev) * 1_000_000).checked_div(hz).unwrap_or(0);
        println!("  {:<14} {:>14} {:>12} {:>10}", phase.name(), t, t - prev, us);
        prev = t;
    }
    Ok(())
}

fn boot<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let Some(platform) = ctx.platform else {
        println!("boot: memory was not sized (platform phase failed)");
        return Err(CommandError::Failed);
    };
    let mut timeline = Timeline::start(ctx.board.counter());
    let err = loader::boot_embedded(ctx.board, platform, &mut timeline);
    println!("boot: {err}");
    Err(CommandError::Failed)
}

fn reset<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    ctx.board.reset()
}

fn poweroff<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    ctx.board.power_off()
}

/// Runs the shell forever.
pub fn run<B: Board>(board: &'static B, platform: Option<&'static Platform>, timeline: &Timeline) -> ! {
    let mut ctx = Ctx { board, platform, timeline: timeline.clone() };
    let table = commands::<B>();
    let mut editor = LineEditor::new();
    println!("Type 'help' for the list of commands.");
    loop {
        print!("{PROMPT}");
        let line = editor.read_line(console::try_read, console::write_bytes);
        run_line(&table, &mut ctx, line, &mut console::Stdout);
    }
}

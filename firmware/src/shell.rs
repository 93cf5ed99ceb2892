//! The firmware shell (`tianshan-fw>`): where a failed or cancelled boot
//! lands. PMON-style commands; every bad argument gets the usage line.

use crate::board::Board;
use crate::bootmgr;
use crate::disk::fs::{FileSystem, FsError};
use crate::platform::Platform;
use crate::scratch::Scratch;
use crate::timing::Timeline;
use crate::{FIRMWARE_VERSION, devices, fwupdate, serial_load};
use alloc::string::String;
use spin::Mutex;
use tianshan_arch_mips64::trap;
use tianshan_bootcfg::config::{self, BootSource};
use tianshan_bootinfo::MemoryKind;
use tianshan_drivers::{console, print, println};
use tianshan_shell::{Command, CommandError, HelpList, LineEditor, parse_u64, run_line};

/// The prompt.
pub const PROMPT: &str = "tianshan-fw> ";
/// Default and largest `d` lengths.
const DUMP_DEFAULT: u64 = 256;
const DUMP_MAX: u64 = 64 * 1024;
/// Bytes per `d` line.
const DUMP_LINE: u64 = 16;
/// Most bytes `cat` prints.
const CAT_MAX: usize = 64 * 1024;

/// What the commands can see.
pub struct Ctx<B: 'static> {
    board: &'static B,
    /// What the platform phase found and the scratch RAM `boot` loads
    /// into, if that phase succeeded.
    machine: Option<(&'static Platform, Scratch)>,
    timeline: Timeline,
}

fn commands<B: Board + 'static>() -> [Command<Ctx<B>>; 22] {
    [
        Command { name: "help", args: "", help: "list commands", run: help::<B> },
        Command { name: "version", args: "", help: "firmware version and board", run: version::<B> },
        Command { name: "memmap", args: "", help: "physical memory map", run: memmap::<B> },
        Command { name: "devls", args: "", help: "devices found (PCI)", run: devls::<B> },
        Command { name: "lspci", args: "", help: "same as devls", run: devls::<B> },
        Command { name: "fwcfg", args: "", help: "list QEMU fw_cfg files", run: fwcfg::<B> },
        Command { name: "cpus", args: "", help: "cores and whether they are parked", run: cpus::<B> },
        Command { name: "d", args: "<phys-addr> [length]", help: "hex dump RAM", run: dump::<B> },
        Command { name: "m", args: "<phys-addr> <u32>", help: "write a 32-bit word to RAM", run: modify::<B> },
        Command { name: "printenv", args: "", help: "boot settings in force", run: printenv::<B> },
        Command { name: "setenv", args: "<key> <value...>", help: "change a boot setting", run: setenv::<B> },
        Command { name: "bootorder", args: "[source,...]", help: "show or set the boot order", run: bootorder::<B> },
        Command { name: "ls", args: "[path]", help: "list a directory on the first disk", run: ls::<B> },
        Command { name: "cat", args: "<path>", help: "print a file from the first disk", run: cat::<B> },
        Command { name: "boot", args: "[fwcfg|disk|rom]", help: "boot (all sources in order, or one)", run: boot::<B> },
        Command {
            name: "loady",
            args: "[cmdline...]",
            help: "receive a kernel (+ initrd) by YMODEM on the console and boot it",
            run: loady::<B>,
        },
        Command {
            name: "update",
            args: "",
            help: "receive a firmware ROM by YMODEM, check it, write it to the boot flash",
            run: update::<B>,
        },
        Command { name: "timing", args: "", help: "time spent in each boot phase", run: timing::<B> },
        Command { name: "reset", args: "", help: "reset the machine", run: reset::<B> },
        Command { name: "poweroff", args: "", help: "power the machine off", run: poweroff::<B> },
        Command {
            name: "exception",
            args: "<break|tlb>",
            help: "raise an exception (checks the handler)",
            run: exception::<B>,
        },
        Command { name: "?", args: "", help: "same as help", run: help::<B> },
    ]
}

fn no_args(args: &[&str]) -> Result<(), CommandError> {
    if args.len() == 1 { Ok(()) } else { Err(CommandError::Usage) }
}

fn failed(msg: core::fmt::Arguments<'_>) -> Result<(), CommandError> {
    println!("{msg}");
    Err(CommandError::Failed)
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

fn platform<B: Board>(ctx: &Ctx<B>, cmd: &str) -> Result<&'static Platform, CommandError> {
    ctx.machine.as_ref().map(|&(p, _)| p).ok_or_else(|| {
        println!("{cmd}: memory was not sized (the platform phase failed)");
        CommandError::Failed
    })
}

fn memmap<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    platform(ctx, "memmap")?.print_memory_map();
    Ok(())
}

fn devls<B: Board>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    match devices::pci() {
        Some(e) => print!("{}", e.devices),
        None => println!("no PCI devices (no PCI host, or discovery did not run)"),
    }
    Ok(())
}

fn fwcfg<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let mut n = 0;
    let r = ctx.board.fw_cfg_list(&mut |name, size| {
        println!("  {size:>10}  {name}");
        n += 1;
    });
    match r {
        Ok(()) => {
            println!("{n} files");
            Ok(())
        }
        Err(e) => failed(format_args!("fwcfg: {e}")),
    }
}

fn cpus<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let p = platform(ctx, "cpus")?;
    let n = p.cpu_count;
    let boot_block = if p.smp.reversed { n - 1 } else { 0 };
    println!("  {:>5}  {:>9}  state", "block", "CPUNum");
    for block in 0..n {
        let cpunum = if p.smp.reversed { n - 1 - block } else { block };
        let state = if block == boot_block {
            "boot core (running the firmware)"
        } else if ctx.board.core_parked(block) {
            "parked on its mailbox"
        } else {
            "not parked (yet)"
        };
        println!("  {block:>5}  {cpunum:>9}  {state}");
    }
    Ok(())
}

/// The memory-map region holding `[pa, pa + len)` entirely, if any.
fn ram_region(p: &Platform, pa: u64, len: u64) -> Option<MemoryKind> {
    let end = pa.checked_add(len)?;
    p.memory_map.regions().iter().find(|r| r.base <= pa && end <= r.base + r.size).map(|r| r.kind)
}

fn number(cmd: &str, what: &str, s: &str) -> Result<u64, CommandError> {
    parse_u64(s).map_err(|_| {
        println!("{cmd}: {what} '{s}' is not a number (decimal or 0x hex)");
        CommandError::Failed
    })
}

fn dump<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    let (addr, len) = match args {
        [_, a] => (number("d", "address", a)?, DUMP_DEFAULT),
        [_, a, l] => (number("d", "address", a)?, number("d", "length", l)?),
        _ => return Err(CommandError::Usage),
    };
    if len == 0 || len > DUMP_MAX {
        return failed(format_args!("d: length {len} is outside 1..={DUMP_MAX}"));
    }
    let p = platform(ctx, "d")?;
    if ram_region(p, addr, len).is_none() {
        return failed(format_args!(
            "d: {addr:#x}..{:#x} is not inside one RAM region (see memmap); device space is not read",
            addr.saturating_add(len)
        ));
    }
    let va = ctx.board.phys_to_virt(addr);
    // SAFETY: the range lies inside one RAM region of the memory map and
    // the cached window maps all RAM; reading RAM has no side effects.
    let bytes = unsafe { core::slice::from_raw_parts(va as *const u8, len as usize) };
    for (i, line) in bytes.chunks(DUMP_LINE as usize).enumerate() {
        print!("{:010x}:", addr + i as u64 * DUMP_LINE);
        for b in line {
            print!(" {b:02x}");
        }
        print!("{:width$}  ", "", width = 3 * (DUMP_LINE as usize - line.len()));
        for &b in line {
            print!("{}", if (0x20..0x7F).contains(&b) { b as char } else { '.' });
        }
        println!();
    }
    Ok(())
}

fn modify<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    let [_, a, v] = args else { return Err(CommandError::Usage) };
    let addr = number("m", "address", a)?;
    let value = number("m", "value", v)?;
    let Ok(value) = u32::try_from(value) else {
        return failed(format_args!("m: value {value:#x} does not fit in 32 bits"));
    };
    if addr % 4 != 0 {
        return failed(format_args!("m: address {addr:#x} is not 4-byte aligned"));
    }
    let p = platform(ctx, "m")?;
    match ram_region(p, addr, 4) {
        Some(MemoryKind::Usable) | Some(MemoryKind::BootInfo) => {}
        Some(kind) => return failed(format_args!("m: {addr:#x} is {} memory; refusing to change it", kind.name())),
        None => return failed(format_args!("m: {addr:#x} is not RAM (see memmap)")),
    }
    let va = ctx.board.phys_to_virt(addr);
    // SAFETY: an aligned word inside usable or boot-info RAM, which the
    // firmware itself does not use for its own state.
    unsafe { (va as *mut u32).write_volatile(value) };
    println!("{addr:#010x} <- {value:#010x}");
    Ok(())
}

/// The configuration text, with every `setenv` appended as a line, so
/// later settings override earlier ones exactly as in the file.
static ENV_TEXT: Mutex<String> = Mutex::new(String::new());

fn printenv<B: Board>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let c = bootmgr::settings();
    println!("bootdelay = {}", c.boot_delay_seconds);
    print!("bootorder = ");
    for (i, s) in c.boot_order.as_slice().iter().enumerate() {
        print!("{}{}", if i == 0 { "" } else { "," }, s.name());
    }
    println!();
    match c.default_entry {
        Some(config::DefaultEntry::Index(i)) => println!("default   = {i}"),
        Some(config::DefaultEntry::Title(t)) => println!("default   = {t}"),
        None => println!("default   = (none)"),
    }
    println!("cmdline   = {}", c.cmdline.unwrap_or(""));
    println!("console   = {}", c.console.name());
    println!("(from {} and setenv; changes last until reset)", bootmgr::config_origin());
    Ok(())
}

fn apply_setting(key: &str, value: &str) -> Result<(), CommandError> {
    let mut text = ENV_TEXT.lock();
    if text.is_empty() {
        // Start from the file the boot read, so a setenv changes one
        // setting and keeps the others.
        text.push_str(&String::from_utf8_lossy(bootmgr::config_text()));
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    let mut candidate = text.clone();
    candidate.push_str(key);
    candidate.push_str(" = ");
    candidate.push_str(value);
    candidate.push('\n');
    let line = candidate.lines().count();
    let leaked: &'static str = String::leak(candidate.clone());
    let parsed = config::parse(leaked);
    if let Some(d) = parsed.diagnostics.iter().find(|d| d.line == line) {
        println!("setenv: {}", d.problem);
        return Err(CommandError::Failed);
    }
    *text = candidate;
    bootmgr::set_settings(parsed.value);
    Ok(())
}

fn setenv<B: Board>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    if args.len() < 3 {
        return Err(CommandError::Usage);
    }
    let mut value = String::new();
    for (i, w) in args[2..].iter().enumerate() {
        if i > 0 {
            value.push(' ');
        }
        value.push_str(w);
    }
    apply_setting(args[1], &value)
}

fn bootorder<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    match args {
        [_] => printenv(ctx, &["printenv"]).map(|_| ()),
        [_, order] => apply_setting("bootorder", order),
        _ => Err(CommandError::Usage),
    }
}

fn boot<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    platform(ctx, "boot")?;
    let Some((p, scratch)) = ctx.machine.as_mut() else { return Err(CommandError::Failed) };
    let mut timeline = Timeline::start(ctx.board.counter());
    match args {
        [_] => {
            for &source in bootmgr::settings().boot_order.as_slice() {
                let err = bootmgr::boot_source(ctx.board, p, scratch, source, &mut timeline);
                println!("boot: {}: {err}", source.name());
            }
            Err(CommandError::Failed)
        }
        [_, name] => match BootSource::from_name(name) {
            Some(source) => {
                let err = bootmgr::boot_source(ctx.board, p, scratch, source, &mut timeline);
                failed(format_args!("boot: {}: {err}", source.name()))
            }
            None => failed(format_args!("boot: unknown source '{name}' (fwcfg, disk or rom)")),
        },
        _ => Err(CommandError::Usage),
    }
}

fn loady<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    platform(ctx, "loady")?;
    let Some((p, scratch)) = ctx.machine.as_mut() else { return Err(CommandError::Failed) };
    let cmdline = if args.len() > 1 {
        args[1..].join(" ")
    } else {
        match bootmgr::entry_cmdline(ctx.board, None) {
            Ok(c) => c,
            Err(e) => return failed(format_args!("loady: {e}")),
        }
    };
    let mut timeline = Timeline::start(ctx.board.counter());
    let err = serial_load::load_and_boot(ctx.board, p, scratch, &cmdline, &mut timeline);
    failed(format_args!("loady: {err}"))
}

fn update<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    platform(ctx, "update")?;
    let Some((p, scratch)) = ctx.machine.as_mut() else { return Err(CommandError::Failed) };
    fwupdate::update(ctx.board, p, scratch).or_else(|e| failed(format_args!("update: {e}")))
}

/// The first disk's first file system (FAT or ext), or why there is none.
fn first_fs<B: Board + 'static>(cmd: &str) -> Result<FileSystem<B>, CommandError> {
    FileSystem::<B>::first(0, &mut |place, e| println!("{cmd}: {}: {e}", place.name)).map_err(|e| {
        println!("{cmd}: {e}");
        CommandError::Failed
    })
}

fn fs_failed(cmd: &str, path: &str, e: &FsError) -> CommandError {
    match e {
        FsError::NotFound => println!("{cmd}: {path}: no such file or directory"),
        e => println!("{cmd}: {path}: {e}"),
    }
    CommandError::Failed
}

fn ls<B: Board + 'static>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    let path = match args {
        [_] => "/",
        [_, path] => path,
        _ => return Err(CommandError::Usage),
    };
    let mut fs = first_fs::<B>("ls")?;
    let node = fs.lookup(path).map_err(|e| fs_failed("ls", path, &e))?;
    if !node.is_dir {
        println!("{:>10}  {}", node.size, node.name);
        return Ok(());
    }
    let (mut files, mut dirs) = (0, 0);
    fs.list(&node, &mut |n| {
        if n.is_dir {
            dirs += 1;
            println!("{:>10}  {}/", "<dir>", n.name);
        } else {
            files += 1;
            println!("{:>10}  {}", n.size, n.name);
        }
    })
    .map_err(|e| fs_failed("ls", path, &e))?;
    println!("{}:{path}: {files} file(s), {dirs} directory(ies)", fs.place.name);
    Ok(())
}

fn cat<B: Board + 'static>(_: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    let [_, path] = args else { return Err(CommandError::Usage) };
    let mut fs = first_fs::<B>("cat")?;
    let node = fs.lookup(path).map_err(|e| fs_failed("cat", path, &e))?;
    if node.is_dir {
        return failed(format_args!("cat: {path}: is a directory"));
    }
    // At most CAT_MAX, so it fits.
    let mut buf = alloc::vec![0u8; node.size.min(CAT_MAX as u64) as usize];
    let n = fs.read(&node, &mut buf).map_err(|e| fs_failed("cat", path, &e))?;
    // Control characters other than line breaks and tabs would drive the
    // terminal; they are shown as '.'.
    let text: String = String::from_utf8_lossy(&buf[..n])
        .chars()
        .map(|c| if c.is_control() && !matches!(c, '\n' | '\r' | '\t') { '.' } else { c })
        .collect();
    print!("{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        println!();
    }
    if (n as u64) < node.size {
        println!("cat: {path}: showed the first {n} of {} bytes (cat prints at most {CAT_MAX})", node.size);
    }
    Ok(())
}

fn timing<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let hz = ctx.machine.as_ref().map_or(0, |(p, _)| p.counter_hz);
    let mut prev = 0;
    println!("  {:<14} {:>14} {:>12} {:>10}", "phase", "counter", "delta", "us");
    for &(phase, t) in ctx.timeline.marks() {
        let us = ((t - prev) * 1_000_000).checked_div(hz).unwrap_or(0);
        println!("  {:<14} {:>14} {:>12} {:>10}", phase.name(), t, t - prev, us);
        prev = t;
    }
    Ok(())
}

fn reset<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    ctx.board.reset()
}

fn poweroff<B: Board>(ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    ctx.board.power_off()
}

/// Raises an exception on purpose, as U-Boot's `exception` command does:
/// the handler must dump the registers and come back to this shell.
fn exception<B: Board>(_ctx: &mut Ctx<B>, args: &[&str]) -> Result<(), CommandError> {
    match args {
        [_, "break"] => trap::raise_break(),
        [_, "tlb"] => trap::load_unmapped(),
        _ => return Err(CommandError::Usage),
    }
    failed(format_args!("exception: {} came back without a trap", args[1]))
}

/// Runs the shell forever; `machine` is what the platform phase found, if
/// it succeeded.
pub fn run<B: Board>(board: &'static B, machine: Option<(&'static Platform, Scratch)>, timeline: &Timeline) -> ! {
    let mut ctx = Ctx { board, machine, timeline: timeline.clone() };
    let table = commands::<B>();
    let mut editor = LineEditor::new();
    println!("Type 'help' for the list of commands.");
    loop {
        print!("{PROMPT}");
        let line = editor.read_line(console::try_read, console::write_bytes);
        run_line(&table, &mut ctx, line, &mut console::Stdout);
    }
}

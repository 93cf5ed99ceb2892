//! The kernel shell (`tianshan>`), a task reading the serial console.

use crate::board::Board;
use crate::{KERNEL_VERSION, Kernel, bench, console, irq, mm, sched, time};
use alloc::string::String;
use tianshan_bootinfo::MemoryKind;
use tianshan_drivers::{print, println};
use tianshan_kcore::date::DateTime;
use tianshan_shell::{Command, CommandError, HelpList, LineEditor, run_line};

/// The prompt.
pub const PROMPT: &str = "tianshan> ";

fn commands<B: Board>() -> [Command<Kernel<B>>; 13] {
    [
        Command { name: "help", args: "", help: "list commands", run: help::<B> },
        Command { name: "version", args: "", help: "kernel and firmware versions", run: version::<B> },
        Command { name: "ps", args: "", help: "tasks: priority, state, CPU time, stack use", run: ps::<B> },
        Command { name: "uptime", args: "", help: "time since reset", run: uptime::<B> },
        Command { name: "meminfo", args: "", help: "memory map, frames and heap", run: meminfo::<B> },
        Command { name: "irqs", args: "", help: "interrupt counts per line", run: irqs::<B> },
        Command { name: "devices", args: "", help: "devices the firmware found", run: devices::<B> },
        Command { name: "date", args: "", help: "wall-clock time from the RTC", run: date::<B> },
        Command { name: "bench", args: "", help: "kernel benchmarks, in guest instructions", run: bench_cmd::<B> },
        Command { name: "boottime", args: "", help: "firmware phases and kernel start-up times", run: boottime::<B> },
        Command { name: "crash", args: "badaddr|overflow", help: "test the fault paths", run: crash::<B> },
        Command { name: "reboot", args: "", help: "reset the machine", run: reboot::<B> },
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

fn ps<B: Board>(_: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let hz = time::counter_hz();
    println!("  {:>3}  {:<16} {:>4}  {:<9} {:>12}  {:>13}", "id", "name", "prio", "state", "cpu (ms)", "stack used");
    for t in sched::tasks() {
        let stack = if t.stack_size == 0 {
            String::from("boot stack")
        } else {
            alloc::format!("{}/{}", t.stack_used, t.stack_size)
        };
        println!(
            "  {:>3}  {:<16} {:>4}  {:<9} {:>12}  {:>13}",
            t.id,
            t.name(),
            t.prio,
            t.state_name(),
            time::counts_to_ns(t.cpu_counts, hz) / 1_000_000,
            stack
        );
    }
    Ok(())
}

fn uptime<B: Board>(_: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let ns = time::monotonic_ns();
    let s = ns / 1_000_000_000;
    println!(
        "up {}:{:02}:{:02}.{:03} ({} ticks at {} Hz, {} context switches)",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ns / 1_000_000 % 1000,
        time::ticks(),
        time::hz(),
        sched::switches()
    );
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
    let s = mm::stats();
    println!(
        "frames: {} free of {} ({} KiB free); heap: {} KiB, {} KiB free",
        s.free_frames,
        s.total_frames,
        s.free_frames * 4,
        s.heap_size >> 10,
        s.heap_free >> 10
    );
    Ok(())
}

fn irqs<B: Board>(_: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("  {:<12} {:>12}", "line", "count");
    println!("  {:<12} {:>12}", "timer", irq::count(irq::LINE_TIMER));
    println!("  {:<12} {:>12}", "soft0", irq::count(irq::LINE_SOFT0));
    println!("  {:<12} {:>12}", "ipi", irq::count(irq::LINE_IPI));
    for line in 0..32 {
        let n = irq::count(line);
        if n > 0 || line == B::UART_IRQ as usize {
            let name = if line == B::UART_IRQ as usize { "uart" } else { "" };
            println!("  {:<12} {:>12}", alloc::format!("io{line} {name}"), n);
        }
    }
    let s = console::stats();
    println!(
        "  console: {} tx interrupts, {} rx interrupts, {} bytes sent polled because the ring was full",
        s.tx_interrupts, s.rx_interrupts, s.sent_polled
    );
    let dropped = console::dropped();
    if dropped > 0 {
        println!("  console input bytes dropped (buffer full): {dropped}");
    }
    Ok(())
}

fn devices<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("  {:<8} {:<9} {:<8} {:>4}  {:<18} {:>10}", "bus", "id", "class", "irq", "memory", "size");
    let mut n = 0;
    for d in k.boot_info.devices() {
        let irq = if d.irq == tianshan_bootinfo::NO_IRQ {
            alloc::string::String::from("-")
        } else {
            alloc::format!("{}", d.irq)
        };
        println!(
            "  {:02x}:{:02x}.{:x}  {:04x}:{:04x} {:06x} {:>4}  {:#018x} {:>10}",
            d.bdf >> 16,
            (d.bdf >> 8) & 0xFF,
            d.bdf & 0xFF,
            d.vendor,
            d.device,
            d.class,
            irq,
            d.mem_base,
            d.mem_size
        );
        n += 1;
    }
    println!("{n} device{} (from the boot info)", if n == 1 { "" } else { "s" });
    Ok(())
}

fn date<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let ns = k.board.rtc().now_ns();
    println!("{}", DateTime::from_unix((ns / 1_000_000_000) as i64));
    Ok(())
}

fn boottime<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    let hz = k.boot_info.counter_hz().max(1);
    println!("boottime: {:<22} {:>14} {:>12} {:>14}", "phase", "counts", "us", "instructions");
    let mut prev = 0u64;
    let row = |name: &str, t: u64, prev: &mut u64| {
        let d = t.saturating_sub(*prev);
        println!(
            "boottime: {:<22} {:>14} {:>12} {:>14}",
            name,
            d,
            time::counts_to_ns(d, hz) / 1000,
            crate::bench::instructions(d)
        );
        *prev = t;
    };
    for t in k.boot_info.timings() {
        let name = t.phase.map_or("unknown", |p| p.name());
        row(name, t.counter, &mut prev);
    }
    let firmware_total = prev;
    let prompt = crate::PROMPT_COUNTS.load(core::sync::atomic::Ordering::Relaxed);
    if prompt > prev {
        row("kernel-to-prompt", prompt, &mut prev);
    }
    println!(
        "boottime: {:<22} {:>14} {:>12} {:>14}",
        "firmware-total",
        firmware_total,
        time::counts_to_ns(firmware_total, hz) / 1000,
        crate::bench::instructions(firmware_total)
    );
    Ok(())
}

fn bench_cmd<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    bench::run_all(k);
    Ok(())
}

fn crash<B: Board>(_: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    match args {
        [_, "badaddr"] => {
            // With interrupts off, most of this line is still in the
            // transmit ring when the fault strikes: the fault report has
            // to send it first.
            sched::without_interrupts(|| {
                println!("crash: loading from unmapped address {:#x}", crate::cpu::trap::UNMAPPED_TEST_ADDRESS);
                crate::cpu::trap::load_unmapped();
            });
            Ok(())
        }
        [_, "overflow"] => {
            println!("crash: starting a task that overflows its stack");
            let id = sched::spawn("overflow", crate::SHELL_PRIORITY, sched::DEFAULT_STACK, || {
                bench::overflow_stack(0, sched::yield_now);
                0
            })
            .map_err(|e| {
                println!("crash: {e}");
                CommandError::Failed
            })?;
            match sched::join(id) {
                Ok(status) => println!("crash: task {id} ended: {status:?}; the kernel is still running"),
                Err(e) => println!("crash: {e}"),
            }
            Ok(())
        }
        _ => Err(CommandError::Usage),
    }
}

fn reboot<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("rebooting");
    console::flush();
    k.board.reset()
}

fn poweroff<B: Board>(k: &mut Kernel<B>, args: &[&str]) -> Result<(), CommandError> {
    no_args(args)?;
    println!("powering off");
    console::flush();
    k.board.power_off()
}

/// Runs the shell forever in the calling task.
pub fn run<B: Board>(kernel: &Kernel<B>) -> ! {
    let mut ctx = Kernel { board: kernel.board, boot_info: kernel.boot_info.clone() };
    let table = commands::<B>();
    let mut editor = LineEditor::new();
    loop {
        print!("{PROMPT}");
        if crate::PROMPT_COUNTS.load(core::sync::atomic::Ordering::Relaxed) == 0 {
            crate::PROMPT_COUNTS.store(time::now_counts(), core::sync::atomic::Ordering::Relaxed);
        }
        let line = editor.read_line(|| Some(console::read_byte()), console::write_bytes);
        run_line(&table, &mut ctx, line, &mut tianshan_drivers::console::Stdout);
    }
}

//! Kernel benchmarks, reported in guest instructions.
//!
//! Figures are CP0 Count deltas times 2.5: under QEMU's `-icount shift=0`
//! every instruction takes 1 ns of virtual time and Count runs at 400 MHz,
//! so one Count tick is exactly 2.5 instructions (`cargo xtask bench
//! kernel` runs QEMU that way). Without `-icount` the same numbers are
//! "instruction-equivalents at 1 GHz" and vary with the host.

use crate::board::Board;
use crate::ipc::Channel;
use crate::{Kernel, irq, sched, time};
use alloc::sync::Arc;
use alloc::vec;
use core::sync::atomic::{AtomicU64, Ordering};
use tianshan_drivers::println;
use tianshan_kcore::ready::{PRIORITIES, ReadyQueues};

/// Instructions per Count tick under `-icount shift=0` (×2 to stay integral).
const INSNS_PER_COUNT_X2: u64 = 5;
/// Iterations of each measured loop.
const ROUNDS: u64 = 2000;
/// Priority benchmark tasks run at (above the shell, so nothing else runs).
const BENCH_PRIORITY: usize = crate::SHELL_PRIORITY + 1;

fn insns(counts: u64) -> u64 {
    counts * INSNS_PER_COUNT_X2 / 2
}

/// Guest instructions for `counts` Count ticks (under `-icount shift=0`).
pub fn instructions(counts: u64) -> u64 {
    insns(counts)
}

/// One figure: name and instructions per operation.
pub struct Figure {
    /// What was measured.
    pub name: &'static str,
    /// Guest instructions per operation.
    pub instructions: u64,
}

/// Yield-to-yield task switch between two tasks of equal priority.
pub fn yield_switch() -> u64 {
    let start = Arc::new(AtomicU64::new(0));
    let end = Arc::new(AtomicU64::new(0));
    let switches_before = Arc::new(AtomicU64::new(0));
    let spawn_one = |first: bool| {
        let (start, end, sb) = (start.clone(), end.clone(), switches_before.clone());
        sched::spawn("bench-yield", BENCH_PRIORITY, sched::DEFAULT_STACK, move || {
            if first {
                sb.store(sched::switches(), Ordering::Relaxed);
                start.store(time::now_counts(), Ordering::Relaxed);
            }
            for _ in 0..ROUNDS {
                sched::yield_now();
            }
            end.store(time::now_counts(), Ordering::Relaxed);
            0
        })
    };
    // Outrank both while starting them, so neither runs before the other exists.
    let own = sched::current_priority();
    let _ = sched::set_current_priority(BENCH_PRIORITY + 1);
    let spawned = (spawn_one(true), spawn_one(false));
    let _ = sched::set_current_priority(own);
    let (Ok(a), Ok(b)) = spawned else {
        // The one that started yields to itself and ends; reclaim it.
        for id in [spawned.0, spawned.1].into_iter().flatten() {
            let _ = sched::join(id);
        }
        return 0;
    };
    let _ = sched::join(a);
    let _ = sched::join(b);
    let switches = sched::switches().saturating_sub(switches_before.load(Ordering::Relaxed)).max(1);
    insns(end.load(Ordering::Relaxed).saturating_sub(start.load(Ordering::Relaxed))) / switches
}

/// Block/wake round trip between two tasks through two semaphores.
pub fn semaphore_round_trip() -> u64 {
    use crate::ipc::Semaphore;
    let a = Arc::new((Semaphore::new(0), Semaphore::new(0)));
    let b = a.clone();
    let Ok(server) = sched::spawn("bench-sem", BENCH_PRIORITY, sched::DEFAULT_STACK, move || {
        for _ in 0..ROUNDS {
            b.0.acquire(None);
            b.1.release();
        }
        0
    }) else {
        return 0;
    };
    let t0 = time::now_counts();
    let own = sched::current_priority();
    let _ = sched::set_current_priority(BENCH_PRIORITY);
    for _ in 0..ROUNDS {
        a.0.release();
        a.1.acquire(None);
    }
    let elapsed = time::now_counts() - t0;
    let _ = sched::set_current_priority(own);
    let _ = sched::join(server);
    insns(elapsed) / ROUNDS
}

/// Send then receive on one task, never blocking: the channel's own cost.
pub fn channel_uncontended() -> u64 {
    let ch = Channel::<u64>::new(1);
    let t0 = time::now_counts();
    for i in 0..ROUNDS {
        let _ = ch.try_send(i);
        let _ = ch.recv(None);
    }
    insns(time::now_counts() - t0) / ROUNDS
}

/// A request that tells the round-trip server to end early.
const STOP_SERVER: u64 = u64::MAX;

/// Send → receive → reply round trip between two tasks over two channels.
pub fn channel_round_trip() -> u64 {
    let request = Arc::new(Channel::<u64>::new(1));
    let reply = Arc::new(Channel::<u64>::new(1));
    let (rq, rp) = (request.clone(), reply.clone());
    let Ok(server) = sched::spawn("bench-server", BENCH_PRIORITY, sched::DEFAULT_STACK, move || {
        for _ in 0..ROUNDS {
            let Ok(v) = rq.recv(None) else { return 1 };
            if v == STOP_SERVER {
                return 1;
            }
            if rp.send(v + 1, None).is_err() {
                return 1;
            }
        }
        0
    }) else {
        return 0;
    };
    let elapsed = Arc::new(AtomicU64::new(0));
    let e = elapsed.clone();
    let stop = request.clone();
    let Ok(client) = sched::spawn("bench-client", BENCH_PRIORITY, sched::DEFAULT_STACK, move || {
        let t0 = time::now_counts();
        for i in 0..ROUNDS {
            if request.send(i, None).is_err() || reply.recv(None) != Ok(i + 1) {
                return 1;
            }
        }
        e.store(time::now_counts() - t0, Ordering::Relaxed);
        0
    }) else {
        // The server waits for a request that will not come: end it.
        let _ = stop.send(STOP_SERVER, None);
        let _ = sched::join(server);
        return 0;
    };
    drop(stop);
    let _ = sched::join(client);
    let _ = sched::join(server);
    insns(elapsed.load(Ordering::Relaxed)) / ROUNDS
}

fn soft0_handler(_line: u32) {}

/// Interrupt entry → handler → exit, from a software interrupt, minus the
/// cost of the same loop without the interrupt.
pub fn interrupt_round_trip() -> u64 {
    irq::set_soft0_handler(Some(soft0_handler));
    let t0 = time::now_counts();
    for _ in 0..ROUNDS {
        irq::raise_soft0();
    }
    let with_irq = time::now_counts() - t0;
    let t0 = time::now_counts();
    for _ in 0..ROUNDS {
        crate::cpu::cp0::set_soft_irq0(false);
    }
    let baseline = time::now_counts() - t0;
    irq::set_soft0_handler(None);
    insns(with_irq.saturating_sub(baseline)) / ROUNDS
}

/// Cost of one scheduler decision (take the next task, put it back) with
/// `ready` tasks spread over the priorities.
pub fn pick_cost(ready: usize) -> u64 {
    // At least two tasks per used priority in every case, so every case
    // takes the same branches and only the number of tasks differs.
    let priorities = (ready / 2).clamp(1, PRIORITIES);
    let mut links = vec![0u32; ready.max(1)];
    let mut q = ReadyQueues::new(&mut links);
    for id in 0..ready {
        q.push(id as u32, id % priorities);
    }
    let t0 = time::now_counts();
    for _ in 0..ROUNDS {
        if let Some((id, prio)) = q.pop() {
            q.push(id, prio);
        }
    }
    insns(time::now_counts() - t0) / ROUNDS
}

/// Kernel entry (the firmware's handoff) to the first shell prompt.
pub fn entry_to_prompt<B: Board>(k: &Kernel<B>) -> Option<u64> {
    let prompt = crate::PROMPT_COUNTS.load(Ordering::Relaxed);
    let handoff = crate::handoff_counts(&k.boot_info)?;
    (prompt > handoff).then(|| insns(prompt - handoff))
}

/// Runs every benchmark and prints one line per figure.
pub fn run_all<B: Board>(k: &Kernel<B>) {
    println!("bench: figures in guest instructions (exact under QEMU -icount shift=0)");
    let figures = [
        ("yield switch", yield_switch()),
        ("channel round trip", channel_round_trip()),
        ("channel send+recv, no wait", channel_uncontended()),
        ("semaphore round trip", semaphore_round_trip()),
        ("irq entry+exit", interrupt_round_trip()),
        ("pick, 2 ready", pick_cost(2)),
        ("pick, 64 ready", pick_cost(64)),
        ("pick, 1024 ready", pick_cost(1024)),
    ];
    for (name, n) in figures {
        println!("bench: {name:<22} {n:>10}");
    }
    match entry_to_prompt(k) {
        Some(n) => println!("bench: {:<22} {n:>10}", "kernel entry to prompt"),
        None => println!("bench: kernel entry to prompt: not measured (no firmware handoff timestamp)"),
    }
}

/// Recurses until the stack pointer is inside the running task's canary
/// zone, then calls `at_bottom` (which should switch away, so the switch
/// finds the canary overwritten). Stays within the task's own stack
/// allocation.
pub fn overflow_stack(depth: u64, at_bottom: fn()) -> u64 {
    let base = sched::current_stack_base();
    let mut pad = [depth; 8];
    core::hint::black_box(&mut pad);
    let sp = crate::cpu::context::current_sp();
    // Stop just inside the canary zone: the switch that follows needs
    // the rest of it, and must not write below the stack.
    if base == 0 || sp <= base + sched::CANARY_BYTES as u64 - 64 {
        at_bottom();
        return pad[0];
    }
    overflow_stack(depth + 1, at_bottom) + core::hint::black_box(pad[7])
}

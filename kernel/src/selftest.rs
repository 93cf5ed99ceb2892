//! In-kernel self-tests, run on the emulated machine by `cargo xtask test`.
//!
//! Each case checks one behaviour the kernel relies on and prints its
//! result; the run ends with `selftest: N passed, N failed` and leaves
//! the emulator with status 0 only if nothing failed.

use crate::board::Board;
use crate::console::TX_RING_BYTES;
use crate::ipc::{Channel, Mutex, RecvError, Semaphore, SendError};
use crate::sched::{ExitStatus, WaitQueue, WakeReason};
use crate::trap::{EXPECTED_BREAKS, HANDLED_BREAKS};
use crate::{Kernel, console, irq, mm, sched, time};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use tianshan_bootinfo::{BootInfo, BootInfoError, MemoryKind};
use tianshan_drivers::console::TX_FIFO_SIZE;
use tianshan_drivers::{print, println};

/// A case returns `Err(reason)` on failure.
type Case<B> = fn(&Kernel<B>) -> Result<(), &'static str>;

/// Priority of helper tasks that must run ahead of the test runner.
const HIGH: usize = crate::SHELL_PRIORITY + 4;
/// Priority of helper tasks that must run only when the runner waits.
const LOW: usize = crate::SHELL_PRIORITY - 1;

fn cases<B: Board>() -> Vec<(&'static str, Case<B>)> {
    alloc::vec![
        ("boot info names this board", boot_info_names_board::<B> as Case<B>),
        ("kernel image is marked in the memory map", kernel_image_marked::<B>),
        ("boot info block lies in boot-info memory", block_in_handoff_memory::<B>),
        ("boot info corruption is detected", corruption_detected::<B>),
        ("cycle counter advances", counter_advances::<B>),
        ("low RAM alias matches high RAM", ram_alias::<B>),
        ("trap entry restores registers", trap_round_trip::<B>),
        ("system calls", syscalls::<B>),
        ("frame allocator gives back what it took", frames_round_trip::<B>),
        ("heap stress returns every byte", heap_stress::<B>),
        ("timer interrupts arrive at HZ", timer_interrupt_count::<B>),
        ("sleep is accurate to one tick", sleep_accuracy::<B>),
        ("interrupt wakes higher priority at once", priority_preemption::<B>),
        ("round robin shares the CPU fairly", round_robin_fairness::<B>),
        ("wait queue wakes in FIFO order, times out", wait_queue_order::<B>),
        ("channel keeps order, times out", channel_order::<B>),
        ("channel wakes every sender waiting for room", channel_senders_all_wake::<B>),
        ("a timeout too large to count waits for ever", huge_timeout_waits::<B>),
        ("a second joiner is refused", second_joiner_refused::<B>),
        ("mutex under contention", mutex_contention::<B>),
        ("stack overflow stops only that task", stack_overflow::<B>),
        ("stack overflow while blocking leaves no stale wait", overflow_while_blocking::<B>),
        ("embedded-hal delay", hal_delay::<B>),
        ("RTC reads a plausible date", rtc_date::<B>),
        ("console transmit is interrupt-driven", console_tx_interrupts::<B>),
        ("console ring overflow goes out polled, in full", console_tx_overflow::<B>),
    ]
}

fn check(cond: bool, why: &'static str) -> Result<(), &'static str> {
    if cond { Ok(()) } else { Err(why) }
}

fn boot_info_names_board<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    check(k.boot_info.board() == B::NAME, "board name differs from the kernel's board")?;
    check(k.boot_info.version().0 == tianshan_bootinfo::VERSION_MAJOR, "unexpected major version")
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
    check(covered, "no kernel region covers the linked image (text to end of stack)")
}

fn block_in_handoff_memory<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let map = k.boot_info.memory_map();
    check(map.total(MemoryKind::BootInfo) > 0, "no boot-info region")?;
    check(map.total(MemoryKind::Firmware) > 0, "no firmware region")?;
    check(map.total(MemoryKind::Usable) > 0, "no usable RAM")
}

fn corruption_detected<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    let mut copy = k.boot_info.as_bytes().to_vec();
    BootInfo::parse(&copy).map_err(|_| "an unmodified copy does not parse")?;
    let last = copy.len() - 1;
    copy[last] ^= 0x5A;
    match BootInfo::parse(&copy) {
        Err(BootInfoError::BadChecksum { .. }) => Ok(()),
        Err(_) => Err("flipped byte reported as something other than a checksum error"),
        Ok(_) => Err("flipped byte went unnoticed"),
    }
}

fn counter_advances<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    // Count ticks once per 2.5 instructions under -icount: read until it
    // moves, with a bound far above what that needs.
    let before = k.board.counter();
    let moved = (0..100_000).any(|i| core::hint::black_box(i) >= 0 && k.board.counter() != before);
    check(moved, "CP0 Count did not move in 100000 reads")
}

/// The machine's RAM appears twice: PA 0..256 MiB mirrors PA 2 GiB.. .
const HIGH_RAM_ALIAS: u64 = 0x8000_0000;

fn ram_alias<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    // A frame from the allocator that lies in the low alias.
    let mut held = Vec::new();
    let mut found = None;
    for _ in 0..4096 {
        let Ok(pa) = mm::alloc_frames(1) else { break };
        held.push(pa);
        if pa + 4096 <= 0x1000_0000 {
            found = Some(pa);
            break;
        }
    }
    let result = match found {
        None => Err("no free frame in low RAM"),
        Some(pa) => {
            let low = k.board.phys_to_virt(pa) as *mut u64;
            let high = k.board.phys_to_virt_uncached(pa + HIGH_RAM_ALIAS) as *const u64;
            let pattern = 0x5453_4941_4E53_4841u64 ^ pa;
            // SAFETY: the frame was allocated for this test; both views map it.
            let seen = unsafe {
                low.write_volatile(pattern);
                high.read_volatile()
            };
            check(seen == pattern, "word written at the low alias not seen at the high address")
        }
    };
    for pa in held {
        let _ = mm::free_frames(pa, 1);
    }
    result
}

fn trap_round_trip<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let before = HANDLED_BREAKS.load(Ordering::Acquire);
    EXPECTED_BREAKS.store(1, Ordering::Release);
    let preserved = crate::cpu::trap::break_preserves_registers();
    check(HANDLED_BREAKS.load(Ordering::Acquire) == before + 1, "the break trap was not handled")?;
    check(preserved, "a callee-saved register changed across the trap")
}

fn syscalls<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    use crate::cpu::trap::syscall;
    use crate::trap::{ENOSYS, sys};
    check(syscall(sys::TASK_ID, 0) == u64::from(sched::current()), "task id syscall returned another id")?;
    let a = syscall(sys::UPTIME_NS, 0);
    let b = syscall(sys::UPTIME_NS, 0);
    check(a > 0 && b >= a, "uptime syscall is not monotonic")?;
    check(syscall(sys::YIELD, 0) == 0, "yield syscall failed")?;
    check(syscall(999, 0) == ENOSYS, "unknown syscall did not return ENOSYS")
}

fn frames_round_trip<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let before = mm::stats().free_frames;
    let a = mm::alloc_frames(1).map_err(|_| "no frame")?;
    let b = mm::alloc_frames(16).map_err(|_| "no 16-frame run")?;
    check(a != b && a % 4096 == 0 && b % 4096 == 0, "bad frame addresses")?;
    check(mm::stats().free_frames == before - 17, "free count did not drop by 17")?;
    mm::free_frames(a, 1).map_err(|_| "free failed")?;
    mm::free_frames(b, 16).map_err(|_| "free failed")?;
    check(mm::free_frames(a, 1).is_err(), "double free was accepted")?;
    check(mm::stats().free_frames == before, "free count did not return")
}

fn heap_stress<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let free_before = mm::stats().heap_free;
    let size_before = mm::stats().heap_size;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut live: Vec<Box<[u8]>> = Vec::with_capacity(512);
    for round in 0..4000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if live.len() < 500 && (x % 3 != 0 || live.is_empty()) {
            let size = 1 + (x >> 8) as usize % if round % 97 == 0 { 300_000 } else { 2048 };
            let mut block = alloc::vec![0u8; size].into_boxed_slice();
            block[0] = round as u8;
            block[size - 1] = round as u8;
            live.push(block);
        } else {
            let i = (x >> 16) as usize % live.len();
            let b = live.swap_remove(i);
            if b[0] != b[b.len() - 1] {
                return Err("a heap block was corrupted");
            }
        }
    }
    drop(live);
    let s = mm::stats();
    // Growth adds free bytes; what was free before must be free again.
    check(s.heap_free - (s.heap_size - size_before) == free_before, "heap free bytes did not return")
}

fn timer_interrupt_count<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let before = irq::count(irq::LINE_TIMER);
    let t0 = time::ticks();
    sched::sleep_ms(100);
    let irqs = irq::count(irq::LINE_TIMER) - before;
    let ticks = time::ticks() - t0;
    check((100..=103).contains(&ticks), "100 ms took other than 100..103 ticks")?;
    // Each interrupt may count several ticks if interrupts were held off.
    check(irqs >= 50 && irqs <= ticks, "timer interrupt count does not match the ticks")
}

fn sleep_accuracy<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let tick_ns = 1_000_000_000 / u64::from(time::hz());
    for ms in [1u64, 5, 20] {
        let t0 = time::monotonic_ns();
        sched::sleep_ms(ms);
        let took = time::monotonic_ns() - t0;
        let want = ms * 1_000_000;
        if took < want || took > want + tick_ns + tick_ns / 2 {
            println!("selftest:   sleep {ms} ms took {took} ns");
            return Err("sleep ended outside [d, d + 1 tick]");
        }
    }
    Ok(())
}

static PREEMPT_SEM: Semaphore = Semaphore::new(0);
static HIGH_RAN: AtomicBool = AtomicBool::new(false);

fn release_from_irq(_: u32) {
    PREEMPT_SEM.release();
}

fn priority_preemption<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    HIGH_RAN.store(false, Ordering::SeqCst);
    let high = sched::spawn("high", HIGH, sched::DEFAULT_STACK, || {
        PREEMPT_SEM.acquire(None);
        HIGH_RAN.store(true, Ordering::SeqCst);
        0
    })
    .map_err(|_| "spawn failed")?;
    // `high` has run and is blocked on the semaphore.
    irq::set_soft0_handler(Some(release_from_irq));
    irq::raise_soft0();
    // The interrupt was taken at the instruction above; by the time this
    // task runs again, the woken higher-priority task must have run.
    let ran = HIGH_RAN.load(Ordering::SeqCst);
    irq::set_soft0_handler(None);
    let _ = sched::join(high);
    check(ran, "the interrupted task resumed before the task the interrupt woke")
}

fn round_robin_fairness<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    const N: usize = 4;
    const RUN_NS: u64 = 1_000_000_000;
    let shares: Arc<[AtomicU64; N]> = Arc::new([const { AtomicU64::new(0) }; N]);
    // Outrank the spinners while starting them, so they start together.
    let own = sched::current_priority();
    sched::set_current_priority(HIGH + 1).map_err(|_| "cannot raise priority")?;
    let deadline = time::monotonic_ns() + RUN_NS;
    let mut ids = Vec::new();
    for i in 0..N {
        let shares = shares.clone();
        let id = sched::spawn("spinner", HIGH, sched::DEFAULT_STACK, move || {
            while time::monotonic_ns() < deadline {
                core::hint::spin_loop();
            }
            shares[i].store(sched::cpu_counts(sched::current()).unwrap_or(0), Ordering::SeqCst);
            0
        })
        .map_err(|_| "spawn failed")?;
        ids.push(id);
    }
    sched::set_current_priority(own).map_err(|_| "cannot restore priority")?;
    for id in ids {
        let _ = sched::join(id);
    }
    let total: u64 = shares.iter().map(|s| s.load(Ordering::SeqCst)).sum();
    let fair = total / N as u64;
    for s in shares.iter() {
        let got = s.load(Ordering::SeqCst);
        if got.abs_diff(fair) * 10 > fair {
            println!(
                "selftest:   CPU shares (counts): {:?}",
                shares.iter().map(|s| s.load(Ordering::SeqCst)).collect::<Vec<_>>()
            );
            return Err("a task's CPU share is more than 10% off 1/N");
        }
    }
    Ok(())
}

static WQ: WaitQueue = WaitQueue::new();
static WOKEN_ORDER: spin::Mutex<Vec<u32>> = spin::Mutex::new(Vec::new());

fn wait_queue_order<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    WOKEN_ORDER.lock().clear();
    let mut ids = Vec::new();
    for n in 0..3u32 {
        let id = sched::spawn("waiter", HIGH, sched::DEFAULT_STACK, move || {
            let why = WQ.wait_until(None, || false);
            WOKEN_ORDER.lock().push(n);
            if why == WakeReason::Woken { 0 } else { 1 }
        })
        .map_err(|_| "spawn failed")?;
        ids.push(id);
    }
    check(WQ.len() == 3, "three waiters expected on the queue")?;
    for _ in 0..3 {
        WQ.wake_one();
    }
    for id in ids {
        check(matches!(sched::join(id), Ok(ExitStatus::Code(0))), "a waiter was not woken normally")?;
    }
    check(*WOKEN_ORDER.lock() == alloc::vec![0, 1, 2], "waiters did not wake in FIFO order")?;
    let t0 = time::ticks();
    let why = WQ.wait_until(Some(5), || false);
    let waited = time::ticks() - t0;
    check(why == WakeReason::Timeout, "a wait with nobody to wake it did not time out")?;
    check((5..=7).contains(&waited), "a 5-tick timeout took other than 5..7 ticks")
}

fn channel_order<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let ch = Arc::new(Channel::<u32>::new(4));
    let tx = ch.clone();
    let producer = sched::spawn("producer", HIGH, sched::DEFAULT_STACK, move || {
        for i in 0..20 {
            if tx.send(i, Some(1000)).is_err() {
                return 1;
            }
        }
        0
    })
    .map_err(|_| "spawn failed")?;
    for i in 0..20 {
        check(ch.recv(Some(1000)) == Ok(i), "messages arrived out of order")?;
    }
    check(sched::join(producer).is_ok(), "producer did not finish")?;
    check(ch.recv(Some(3)) == Err(RecvError::Timeout), "receive on an empty channel did not time out")?;
    for i in 0..4 {
        check(ch.try_send(i).is_ok(), "try_send into a channel with room failed")?;
    }
    check(ch.send(99, Some(3)) == Err(SendError::Timeout(99)), "send into a full channel did not time out")
}

fn channel_senders_all_wake<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    // Capacity 1, full, with two senders waiting for room. The receiver
    // outranks them, so after taking the queued message (waking the first
    // sender) it blocks again before that sender runs; the sender then
    // hands its message over directly and must pass its wake-up on to the
    // second sender, or that one sleeps beside an empty queue.
    const WAIT: Option<u64> = Some(200);
    let ch = Arc::new(Channel::<u32>::new(1));
    check(ch.try_send(0).is_ok(), "try_send into an empty channel failed")?;
    let mut senders = Vec::new();
    for n in 1..=2u32 {
        let tx = ch.clone();
        senders.push(
            sched::spawn("sender", LOW, sched::DEFAULT_STACK, move || match tx.send(n, WAIT) {
                Ok(()) => 0,
                Err(_) => 1,
            })
            .map_err(|_| "spawn failed")?,
        );
    }
    sched::sleep_ticks(2); // both senders run and block: the channel is full
    for n in 0..=2u32 {
        check(ch.recv(WAIT) == Ok(n), "a message was lost or a sender never woke")?;
    }
    for id in senders {
        check(matches!(sched::join(id), Ok(ExitStatus::Code(0))), "a sender timed out")?;
    }
    Ok(())
}

fn huge_timeout_waits<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let ch = Arc::new(Channel::<u32>::new(1));
    let rx = ch.clone();
    let id = sched::spawn("patient", HIGH, sched::DEFAULT_STACK, move || match rx.recv(Some(u64::MAX)) {
        Ok(7) => 0,
        Ok(_) => 1,
        Err(RecvError::Timeout) => 2,
    })
    .map_err(|_| "spawn failed")?;
    sched::sleep_ticks(5);
    check(ch.try_send(7).is_ok(), "the receiver stopped waiting before a message came")?;
    check(matches!(sched::join(id), Ok(ExitStatus::Code(0))), "the receiver did not get the message")
}

static JOIN_TARGET_WQ: WaitQueue = WaitQueue::new();

fn second_joiner_refused<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let target = sched::spawn("join-target", HIGH, sched::DEFAULT_STACK, || {
        JOIN_TARGET_WQ.wait_until(None, || false);
        5
    })
    .map_err(|_| "spawn failed")?;
    let first = sched::spawn("joiner", HIGH, sched::DEFAULT_STACK, move || match sched::join(target) {
        Ok(ExitStatus::Code(5)) => 0,
        _ => 1,
    })
    .map_err(|_| "spawn failed")?;
    check(
        matches!(sched::join(target), Err(sched::TaskError::AlreadyJoined { id, by }) if id == target && by == first),
        "a second join of a task was not refused",
    )?;
    check(JOIN_TARGET_WQ.wake_one(), "the target was not waiting")?;
    check(matches!(sched::join(first), Ok(ExitStatus::Code(0))), "the first joiner did not see the exit code")
}

fn mutex_contention<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    const TASKS: u32 = 4;
    const ROUNDS: u32 = 200;
    static COUNTER: Mutex<u32> = Mutex::new(0);
    static INSIDE: AtomicU32 = AtomicU32::new(0);
    static OVERLAPS: AtomicU32 = AtomicU32::new(0);
    *COUNTER.lock() = 0;
    let mut ids = Vec::new();
    for _ in 0..TASKS {
        ids.push(
            sched::spawn("contender", HIGH, sched::DEFAULT_STACK, || {
                for _ in 0..ROUNDS {
                    let mut g = COUNTER.lock();
                    if INSIDE.fetch_add(1, Ordering::SeqCst) != 0 {
                        OVERLAPS.fetch_add(1, Ordering::SeqCst);
                    }
                    let v = *g;
                    sched::yield_now(); // invite the others in while holding it
                    *g = v + 1;
                    INSIDE.fetch_sub(1, Ordering::SeqCst);
                }
                0
            })
            .map_err(|_| "spawn failed")?,
        );
    }
    for id in ids {
        let _ = sched::join(id);
    }
    check(OVERLAPS.load(Ordering::SeqCst) == 0, "two tasks were inside the mutex at once")?;
    check(*COUNTER.lock() == TASKS * ROUNDS, "increments were lost")
}

fn stack_overflow<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let id = sched::spawn("overflow", HIGH, sched::DEFAULT_STACK, || {
        crate::bench::overflow_stack(0, sched::yield_now);
        0
    })
    .map_err(|_| "spawn failed")?;
    check(matches!(sched::join(id), Ok(ExitStatus::Faulted)), "the overflowing task was not stopped")?;
    // The kernel is still scheduling: a fresh task runs and exits normally.
    let ok = sched::spawn("after", HIGH, sched::DEFAULT_STACK, || 7).map_err(|_| "spawn failed")?;
    check(matches!(sched::join(ok), Ok(ExitStatus::Code(7))), "a task after the overflow did not run")
}

/// Queue the overflowing task of `overflow_while_blocking` waits on.
static OVERFLOW_WQ: WaitQueue = WaitQueue::new();
/// Queue its successor waits on.
static AFTER_OVERFLOW_WQ: WaitQueue = WaitQueue::new();
/// Timeout of the overflowing task's wait, in ticks.
const OVERFLOW_WAIT_TICKS: u64 = 20;

fn block_with_timeout() {
    OVERFLOW_WQ.wait_until(Some(OVERFLOW_WAIT_TICKS), || false);
}

fn overflow_while_blocking<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    // The task overflows on its way into a timed wait: the switch finds the
    // canary gone after the task joined the queue and armed its timeout.
    let id = sched::spawn("overflow-wait", HIGH, sched::DEFAULT_STACK, || {
        crate::bench::overflow_stack(0, block_with_timeout);
        0
    })
    .map_err(|_| "spawn failed")?;
    check(matches!(sched::join(id), Ok(ExitStatus::Faulted)), "the overflowing task was not stopped")?;
    check(OVERFLOW_WQ.is_empty(), "the stopped task was left on its wait queue")?;
    check(!OVERFLOW_WQ.wake_one(), "waking the queue found the stopped task")?;
    // Its record and id are free again; a new task that takes them and
    // waits without a timeout must not be woken by the stopped task's
    // timer.
    let after =
        sched::spawn("after-wait", HIGH, sched::DEFAULT_STACK, || match AFTER_OVERFLOW_WQ.wait_until(None, || false) {
            WakeReason::Woken => 7,
            WakeReason::Timeout => 1,
        })
        .map_err(|_| "spawn failed")?;
    sched::sleep_ticks(2 * OVERFLOW_WAIT_TICKS);
    check(AFTER_OVERFLOW_WQ.len() == 1, "a stale timer woke the task that reused the stopped one's slot")?;
    check(AFTER_OVERFLOW_WQ.wake_one(), "the waiting task was not on its queue")?;
    check(matches!(sched::join(after), Ok(ExitStatus::Code(7))), "the waiting task did not end as woken")
}

fn hal_delay<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    use embedded_hal::delay::DelayNs;
    let mut d = crate::hal::Delay;
    let t0 = time::monotonic_ns();
    d.delay_us(300);
    let short = time::monotonic_ns() - t0;
    let t0 = time::monotonic_ns();
    d.delay_ms(5);
    let long = time::monotonic_ns() - t0;
    check(short >= 300_000 && short < 2_000_000, "300 us delay out of range")?;
    check((5_000_000..8_000_000).contains(&long), "5 ms delay out of range")
}

fn rtc_date<B: Board>(k: &Kernel<B>) -> Result<(), &'static str> {
    const YEAR_2020: u64 = 1_577_836_800;
    let a = k.board.rtc().now_ns();
    sched::sleep_ms(10);
    let b = k.board.rtc().now_ns();
    check(a / 1_000_000_000 > YEAR_2020, "RTC reads a date before 2020")?;
    check(b > a, "RTC did not advance")
}

/// Lines of the transmit burst: several FIFO-fuls, well under the ring.
const TX_BURST_LINES: usize = 6;
/// Lines of the overflow block: over 1 KiB more than the ring holds.
const TX_OVERFLOW_LINES: usize = 48;
/// How long the transmit ring may take to drain once interrupts are on.
const TX_DRAIN_MS: u64 = 100;

/// `lines` numbered lines of a fixed pattern, about 110 bytes each.
fn tx_block(what: &str, lines: usize) -> String {
    let mut s = String::new();
    for i in 1..=lines {
        let _ = writeln!(
            s,
            "selftest:   {what} line {i:02}/{lines}: 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        );
    }
    s
}

/// Bytes `text` puts on the line: each '\n' goes out as "\r\n".
fn wire_len(text: &str) -> u64 {
    (text.len() + text.matches('\n').count()) as u64
}

/// The console figures once the transmit ring is empty and the THRE
/// interrupt off, or `None` after `TX_DRAIN_MS`.
fn wait_tx_drained() -> Option<console::Stats> {
    let t0 = time::monotonic_ns();
    loop {
        let s = console::stats();
        if s.pending == 0 && !s.tx_interrupt_on {
            return Some(s);
        }
        if time::monotonic_ns() - t0 > TX_DRAIN_MS * 1_000_000 {
            return None;
        }
        sched::sleep_ms(1);
    }
}

fn console_tx_interrupts<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let burst = tx_block("transmit burst", TX_BURST_LINES);
    let wire = wire_len(&burst);
    let fifo = TX_FIFO_SIZE as u64;
    check(wire > 4 * fifo && wire < TX_RING_BYTES as u64 / 2, "burst is not several FIFOs and under half the ring")?;
    let irqs_on = crate::cpu::cp0::irq_save();
    crate::cpu::cp0::irq_restore(irqs_on);
    check(irqs_on, "the test task runs with interrupts off")?;
    let before = console::stats();
    print!("{burst}");
    let after = wait_tx_drained().ok_or("the transmit ring did not drain within 100 ms")?;
    check(after.queued - before.queued == wire, "the console did not take every byte of the burst")?;
    check(after.sent - before.sent == wire, "bytes of the burst were not sent")?;
    check(after.sent_polled == before.sent_polled, "a burst that fits the ring was sent polled")?;
    // The writer loads at most one FIFO-ful itself; each interrupt moves
    // at most one more.
    let least = (wire - fifo).div_ceil(fifo);
    check(after.tx_interrupts - before.tx_interrupts >= least, "fewer THRE interrupts than the FIFO-fuls they moved")
}

fn console_tx_overflow<B: Board>(_: &Kernel<B>) -> Result<(), &'static str> {
    let block = tx_block("transmit ring overflow", TX_OVERFLOW_LINES);
    let wire = wire_len(&block);
    let ring = TX_RING_BYTES as u64;
    check(wire > ring + 1024, "block is not over 1 KiB larger than the ring")?;
    let before = console::stats();
    // One write: the console lock keeps interrupts off throughout, so the
    // ring fills and the writer has to make room itself.
    print!("{block}");
    let after = wait_tx_drained().ok_or("the transmit ring did not drain within 100 ms")?;
    check(after.queued - before.queued == wire, "the console did not take every byte of the block")?;
    check(after.sent - before.sent == wire, "bytes were lost between the writer and the UART")?;
    check(after.dropped == before.dropped, "the transmit ring dropped bytes")?;
    // All but a ring and a FIFO-ful must have gone out from the writer.
    let polled = after.sent_polled - before.sent_polled;
    check(polled >= wire - ring - TX_FIFO_SIZE as u64, "the writer did not send the overflow itself")
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
    // Leaving the emulator drops whatever is still queued.
    console::flush();
    k.board.exit_emulator(if failed == 0 { 0 } else { 1 });
    println!("selftest: the emulator did not accept the exit request (start QEMU with -semihosting)");
    k.board.halt()
}

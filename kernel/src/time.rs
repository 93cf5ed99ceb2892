//! Time: the periodic tick from CP0 Count/Compare, the monotonic clock, and
//! wall-clock time from the RTC.
//!
//! Count runs at the frequency the boot info reports (400 MHz on
//! loongson3-virt). The tick fires every `count_hz / hz` counts; Compare is
//! advanced by whole periods, so ticks never drift, and if interrupts were
//! off for longer than a period the missed ticks are counted at once.

use crate::cpu::cp0;
use crate::irqlock::IrqLock;
use core::sync::atomic::{AtomicU64, Ordering};

/// Default tick rate.
pub const DEFAULT_HZ: u32 = 1000;

struct Clock {
    count_hz: u64,
    hz: u32,
    period: u32,
    next_compare: u32,
    last_count: u32,
    high: u64,
}

static CLOCK: IrqLock<Clock> =
    IrqLock::new(Clock { count_hz: 1, hz: DEFAULT_HZ, period: 0, next_compare: 0, last_count: 0, high: 0 });
static TICKS: AtomicU64 = AtomicU64::new(0);
/// `Clock::count_hz`, readable without the lock (for fatal paths, which
/// may have interrupted code holding it).
static COUNT_HZ: AtomicU64 = AtomicU64::new(1);

/// Starts the tick at `hz` with Count running at `count_hz`.
pub fn init(count_hz: u64, hz: u32) {
    let mut c = CLOCK.lock();
    c.count_hz = count_hz.max(1);
    COUNT_HZ.store(c.count_hz, Ordering::Relaxed);
    c.hz = hz.clamp(1, 100_000);
    c.period = (c.count_hz / u64::from(c.hz)).clamp(1, u64::from(u32::MAX)) as u32;
    let now = cp0::count();
    c.last_count = now;
    c.next_compare = now.wrapping_add(c.period);
    cp0::set_compare(c.next_compare);
}

fn extend(c: &mut Clock, now: u32) -> u64 {
    if now < c.last_count {
        c.high += 1 << 32;
    }
    c.last_count = now;
    c.high | u64::from(now)
}

/// Counter value since reset, extended to 64 bits.
pub fn now_counts() -> u64 {
    let mut c = CLOCK.lock();
    let now = cp0::count();
    extend(&mut c, now)
}

/// Counter frequency in Hz.
pub fn counter_hz() -> u64 {
    CLOCK.lock().count_hz
}

/// Tick rate in Hz.
pub fn hz() -> u32 {
    CLOCK.lock().hz
}

/// Ticks since the tick started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Converts counter units to nanoseconds.
pub fn counts_to_ns(counts: u64, count_hz: u64) -> u64 {
    ((u128::from(counts) * 1_000_000_000) / u128::from(count_hz.max(1))) as u64
}

/// Monotonic nanoseconds since reset.
pub fn monotonic_ns() -> u64 {
    let hz = counter_hz();
    counts_to_ns(now_counts(), hz)
}

/// Milliseconds as ticks, rounded up.
pub fn ms_to_ticks(ms: u64) -> u64 {
    ms.saturating_mul(u64::from(hz())).div_ceil(1000)
}

/// Called from the timer interrupt: re-arms Compare, counts the tick(s),
/// and lets the scheduler wake sleepers and charge the time slice.
pub fn on_tick() {
    let elapsed = {
        let mut c = CLOCK.lock();
        let now = cp0::count();
        extend(&mut c, now);
        let mut n = 0u64;
        // Advance by whole periods until the next compare is in the future.
        loop {
            c.next_compare = c.next_compare.wrapping_add(c.period);
            n += 1;
            let ahead = c.next_compare.wrapping_sub(cp0::count());
            if ahead <= c.period && ahead > 0 {
                break;
            }
            if n > 1_000_000 {
                break;
            }
        }
        cp0::set_compare(c.next_compare);
        n
    };
    let ticks = TICKS.fetch_add(elapsed, Ordering::Relaxed) + elapsed;
    crate::sched::on_tick(ticks);
}

/// Busy-waits `counts` counter units (no scheduling).
pub fn spin_counts(counts: u64) {
    let start = now_counts();
    while now_counts().wrapping_sub(start) < counts {
        core::hint::spin_loop();
    }
}

/// Spins for `secs` seconds without taking any lock: for fatal paths,
/// which may have stopped code that held the clock's lock. Reads Count
/// directly and adds up its 32-bit steps, so it cannot miss a wrap as long
/// as it polls more often than every 10 s (at 400 MHz).
pub fn spin_seconds_unlocked(secs: u64) {
    let target = secs.saturating_mul(COUNT_HZ.load(Ordering::Relaxed));
    let mut last = cp0::count();
    let mut elapsed = 0u64;
    while elapsed < target {
        let now = cp0::count();
        elapsed += u64::from(now.wrapping_sub(last));
        last = now;
        core::hint::spin_loop();
    }
}

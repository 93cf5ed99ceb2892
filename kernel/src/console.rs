//! The kernel console: the UART driven by its interrupt in both directions.
//!
//! Receive: the interrupt handler moves received bytes into a ring buffer
//! that tasks read from, blocking.
//!
//! Transmit: every locked write (`print!`, `println!`, `Stdout`, echo) is
//! appended to a 4 KiB transmit ring under the console lock, with
//! interrupts off, so output from tasks and interrupt handlers never
//! interleaves mid-line. If the UART is idle the writer loads its FIFO at
//! once (16 bytes); whatever is left is moved by the "transmitter holding
//! register empty" (THRE) interrupt, one FIFO-ful per interrupt, and the
//! handler disables that interrupt as soon as the ring is empty.
//!
//! A writer that finds the ring full sends the oldest queued bytes itself,
//! polled, a FIFO-ful at a time, until its own bytes fit: nothing is
//! dropped and order is kept, at the price of the writer waiting for the
//! line (as every writer did before the ring). Writers in interrupt
//! handlers or with interrupts off behave the same; their bytes go out
//! when interrupts come back on, or polled once the ring is full.
//!
//! Fatal paths print with the lock-free `EmergencyWriter`, which first
//! sends what the ring still holds (polled), so the last lines before a
//! fault come out before the report, in order. `drain_for_fatal` does the
//! same even when the failed code held the ring's lock; `flush` empties
//! the ring and waits for the line before power-off and reset.
//!
//! One LIOINTC line serves both directions; the handler reads IIR until
//! nothing is pending, and `stats` counts receive and transmit interrupts
//! apart (the `irqs` command prints them).

use crate::irq;
use crate::irqlock::IrqLock;
use crate::sched::WaitQueue;
use core::sync::atomic::{AtomicBool, Ordering};
use tianshan_drivers::console::{self, TX_FIFO_SIZE, TransmitQueue, Uart, UartInterrupt};
use tianshan_kcore::ring::RingBuffer;

/// Bytes of received input buffered before the reader takes them.
const RX_BUFFER: usize = 512;
/// Bytes of output queued for the transmit interrupt.
pub const TX_RING_BYTES: usize = 4096;
/// IIR conditions one interrupt serves at most; anything still pending
/// keeps the (level-triggered) line asserted and interrupts again.
const MAX_CONDITIONS_PER_INTERRUPT: usize = 8;

/// Received bytes. An `IrqLock`, not a spin lock: the UART interrupt fills
/// it, so a task holding it with interrupts on could be interrupted by a
/// handler that then spins on it for ever.
static RX: IrqLock<RingBuffer<RX_BUFFER>> = IrqLock::new(RingBuffer::new());
static RX_WAITERS: WaitQueue = WaitQueue::new();

/// The transmit side. Taken with the console lock held (writers, the
/// interrupt handler, `flush`), or alone by `stats` and the lock-free
/// fatal paths.
struct Tx {
    ring: RingBuffer<TX_RING_BYTES>,
    /// The THRE interrupt is enabled: the handler will move more bytes.
    interrupt_on: bool,
    stats: Stats,
}

static TX: IrqLock<Tx> = IrqLock::new(Tx { ring: RingBuffer::new(), interrupt_on: false, stats: Stats::ZERO });
/// Set once a fatal path has started sending the ring, so a fault while
/// doing so does not try again.
static FATAL_DRAIN: AtomicBool = AtomicBool::new(false);

/// Console figures since boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// UART interrupts that found the transmit FIFO empty (THRE) and moved
    /// bytes from the ring.
    pub tx_interrupts: u64,
    /// UART interrupts that found received data.
    pub rx_interrupts: u64,
    /// Bytes writers sent themselves, polled, because the ring was full.
    pub sent_polled: u64,
    /// Bytes writers handed to the console ('\n' counted as "\r\n").
    pub queued: u64,
    /// Bytes put into the UART, by every path.
    pub sent: u64,
    /// Bytes in the ring now.
    pub pending: usize,
    /// Bytes the ring refused (always 0: a full ring is emptied, not
    /// overwritten; kept as the ring's own proof).
    pub dropped: u64,
    /// The THRE interrupt is enabled now.
    pub tx_interrupt_on: bool,
}

impl Stats {
    const ZERO: Stats = Stats {
        tx_interrupts: 0,
        rx_interrupts: 0,
        sent_polled: 0,
        queued: 0,
        sent: 0,
        pending: 0,
        dropped: 0,
        tx_interrupt_on: false,
    };
}

impl Tx {
    /// Takes the oldest bytes, up to one FIFO-ful, into `buf`.
    fn take_chunk(&mut self, buf: &mut [u8; TX_FIFO_SIZE]) -> usize {
        let mut n = 0;
        while n < TX_FIFO_SIZE
            && let Some(b) = self.ring.pop()
        {
            buf[n] = b;
            n += 1;
        }
        n
    }

    /// Sends the oldest bytes, one FIFO-ful, waiting for the UART; returns
    /// how many.
    fn send_oldest_polled(&mut self, uart: &mut Uart) -> u64 {
        let mut buf = [0; TX_FIFO_SIZE];
        let n = self.take_chunk(&mut buf);
        uart.write_polled(&buf[..n]);
        self.stats.sent += n as u64;
        n as u64
    }

    /// Fills the FIFO if it is empty; then, with bytes left, lets the THRE
    /// interrupt take over, and with none, turns it off.
    fn feed(&mut self, uart: &mut Uart) {
        let ring = &mut self.ring;
        self.stats.sent += uart.load_fifo(|| ring.pop()) as u64;
        let want = !self.ring.is_empty();
        if want != self.interrupt_on {
            uart.set_tx_interrupt(want);
            self.interrupt_on = want;
        }
    }
}

/// Takes the UART's interrupt (receive and transmit) on interrupt line
/// `line`, and queues console output from now on.
pub fn init(line: u32) -> Result<(), irq::IrqError> {
    irq::register(line, on_interrupt)?;
    console::with(|u| u.enable_rx_interrupt());
    console::set_transmit_queue(TransmitQueue { write: queue, drain_emergency });
    Ok(())
}

/// `TransmitQueue::write`: runs with the console lock held and interrupts
/// off.
fn queue(uart: &mut Uart, bytes: &[u8]) {
    let mut tx = TX.lock();
    tx.stats.queued += bytes.len() as u64;
    for &b in bytes {
        if tx.ring.is_full() {
            // Make room the way the UART would: the oldest bytes go first.
            // Interrupts are off, so the handler cannot race this.
            let n = tx.send_oldest_polled(uart);
            tx.stats.sent_polled += n;
        }
        tx.ring.push(b);
    }
    // With the interrupt on, the handler continues by itself.
    if !tx.interrupt_on {
        tx.feed(uart);
    }
}

/// The UART's interrupt: received data into the receive ring, and the next
/// FIFO-ful of output when the transmitter is empty.
fn on_interrupt(_line: u32) {
    let mut received = false;
    console::with(|uart| {
        let mut tx = TX.lock();
        let mut transmitted = false;
        for _ in 0..MAX_CONDITIONS_PER_INTERRUPT {
            match uart.next_interrupt() {
                None => break,
                Some(UartInterrupt::Received) => {
                    // Drain the FIFO: the condition stays while data waits.
                    let mut rx = RX.lock();
                    while let Some(b) = uart.try_read() {
                        rx.push(b);
                    }
                    received = true;
                }
                Some(UartInterrupt::TransmitterEmpty) => {
                    // Reading IIR cleared the condition: refill (or turn the
                    // interrupt off) now. One FIFO-ful per interrupt; the
                    // next comes when the UART has sent it.
                    tx.feed(uart);
                    transmitted = true;
                    break;
                }
                Some(UartInterrupt::Status) => {}
            }
        }
        tx.stats.rx_interrupts += u64::from(received);
        tx.stats.tx_interrupts += u64::from(transmitted);
    });
    if received {
        RX_WAITERS.wake_one();
    }
}

/// Sends every queued byte, polled, then waits until the UART has sent its
/// last bit. Call before power-off or reset, which would cut the queued
/// output short.
pub fn flush() {
    console::with(|uart| {
        let mut tx = TX.lock();
        while !tx.ring.is_empty() {
            tx.send_oldest_polled(uart);
        }
        tx.feed(uart);
        uart.wait_transmitter_idle();
    });
}

/// Sends the ring's bytes through the lock-free raw path.
fn send_raw(tx: &mut Tx) {
    let mut buf = [0; TX_FIFO_SIZE];
    loop {
        let n = tx.take_chunk(&mut buf);
        if n == 0 {
            break;
        }
        console::emergency_write_raw(&buf[..n]);
        tx.stats.sent += n as u64;
    }
}

/// `TransmitQueue::drain_emergency`, run before every `EmergencyWriter`
/// text. If the ring's lock is held, the report interrupted the console's
/// own code (a watchpoint, say): the queued bytes then stay queued and go
/// out after the report, which is the one case of reordering. Fatal paths
/// call `drain_for_fatal` first and have no such case.
fn drain_emergency() {
    if let Some(mut tx) = TX.try_lock_raw() {
        send_raw(&mut tx);
    }
}

/// Sends what the ring holds before a fault or panic report, taking the
/// ring even from the code that failed while holding its lock. That code
/// may have stopped in the middle of a push or pop; the ring's fields are
/// each whole at every instant, so the worst case is one byte lost or one
/// stale byte sent where it stopped. A fault while draining leaves the
/// rest unsent rather than trying again.
pub fn drain_for_fatal() {
    if FATAL_DRAIN.swap(true, Ordering::Relaxed) {
        return;
    }
    let mut tx = match TX.try_lock_raw() {
        Some(tx) => tx,
        // SAFETY: the only holder is the code that faulted or panicked on
        // this (single) core; the fatal path never returns to it.
        None => unsafe { TX.steal() },
    };
    send_raw(&mut tx);
}

/// Console figures since boot.
pub fn stats() -> Stats {
    let tx = TX.lock();
    Stats { pending: tx.ring.len(), dropped: tx.ring.dropped(), tx_interrupt_on: tx.interrupt_on, ..tx.stats }
}

/// A received byte, if one is buffered.
pub fn try_read_byte() -> Option<u8> {
    RX.lock().pop()
}

/// Waits for a received byte.
pub fn read_byte() -> u8 {
    loop {
        let mut got = None;
        RX_WAITERS.wait_until(None, || {
            got = RX.lock().pop();
            got.is_some()
        });
        if let Some(b) = got {
            return b;
        }
    }
}

/// Waits at most `ticks` for a byte.
pub fn read_byte_timeout(ticks: u64) -> Option<u8> {
    let mut got = None;
    RX_WAITERS.wait_until(Some(ticks), || {
        got = RX.lock().pop();
        got.is_some()
    });
    got
}

/// Received bytes dropped because the receive buffer was full.
pub fn dropped() -> u64 {
    RX.lock().dropped()
}

/// Writes bytes to the console.
pub fn write_bytes(bytes: &[u8]) {
    console::write_bytes(bytes);
}

//! The kernel console: interrupt-driven receive into a ring buffer that
//! tasks read from, blocking; transmit goes through the driver's lock with
//! interrupts off (the lock's critical section), so output from tasks and
//! interrupt handlers never interleaves mid-line.

use crate::irq;
use crate::sched::WaitQueue;
use tianshan_drivers::console;
use tianshan_kcore::ring::RingBuffer;

/// Bytes of received input buffered before the reader takes them.
const RX_BUFFER: usize = 512;

static RX: spin::Mutex<RingBuffer<RX_BUFFER>> = spin::Mutex::new(RingBuffer::new());
static RX_WAITERS: WaitQueue = WaitQueue::new();

/// Enables the receive interrupt on UART interrupt line `line`.
pub fn init(line: u32) -> Result<(), irq::IrqError> {
    irq::register(line, on_receive)?;
    console::with(|u| u.enable_rx_interrupt());
    Ok(())
}

fn on_receive(_line: u32) {
    let mut any = false;
    // Drain the FIFO: the interrupt stays asserted while data is waiting.
    while let Some(b) = console::emergency_try_read() {
        RX.lock().push(b);
        any = true;
    }
    if any {
        RX_WAITERS.wake_one();
    }
}

/// A received byte, if one is buffered.
pub fn try_read_byte() -> Option<u8> {
    let mut b = None;
    crate::sched::without_interrupts(|| b = RX.lock().pop());
    b
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

/// Bytes dropped because the buffer was full.
pub fn dropped() -> u64 {
    let mut n = 0;
    crate::sched::without_interrupts(|| n = RX.lock().dropped());
    n
}

/// Writes bytes to the console.
pub fn write_bytes(bytes: &[u8]) {
    console::write_bytes(bytes);
}

//! Standard embedded traits over Tianshan's timer and console, so drivers
//! written against `embedded-hal` and `embedded-io` run here unchanged.

use crate::{console, sched, time};
use core::convert::Infallible;

/// `embedded_hal::delay::DelayNs` over the kernel's clock: delays of a
/// whole tick or more sleep (other tasks run); shorter ones busy-wait on
/// the cycle counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delay;

impl embedded_hal::delay::DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        let tick_ns = 1_000_000_000 / u64::from(time::hz());
        let ns = u64::from(ns);
        if ns >= tick_ns && !crate::irq::in_interrupt() {
            sched::sleep_ticks(ns / tick_ns);
        }
        let rest = ns % tick_ns.max(1);
        let hz = time::counter_hz();
        time::spin_counts((u128::from(rest) * u128::from(hz) / 1_000_000_000) as u64);
    }
}

/// The console as `embedded-io` `Read` + `Write`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl embedded_io::ErrorType for Console {
    type Error = Infallible;
}

impl embedded_io::Read for Console {
    /// Blocks for the first byte, then returns what else is buffered.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        buf[0] = console::read_byte();
        let mut n = 1;
        while n < buf.len() {
            match console::try_read_byte() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for Console {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        console::write_bytes(buf);
        Ok(buf.len())
    }

    /// Sends everything queued and waits until the UART is idle.
    fn flush(&mut self) -> Result<(), Infallible> {
        console::flush();
        Ok(())
    }
}

//! The serial console: a 16550 UART behind a lock, plus a lock-free path for
//! panics and exceptions.
//!
//! `install` puts the board's UART in the global slot once; `print!` and
//! `println!` write through the lock. `EmergencyWriter` bypasses the lock
//! (and the driver) and polls the transmitter directly, so a panic that
//! strikes while the lock is held still gets its message out.
//!
//! Transmit is polled: a writer waits for room in the UART's FIFO with the
//! lock held. A kernel may opt in to queued transmit with
//! `set_transmit_queue`: from then on every locked write goes to the
//! kernel's queue (which feeds the UART from its interrupt handler, using
//! `load_fifo`, `set_tx_interrupt` and `next_interrupt`), and
//! `EmergencyWriter` asks the queue to send what it still holds before its
//! own text, so output stays in order. The firmware never opts in: its
//! console stays polled.

use core::fmt::{self, Write};
use core::ptr::NonNull;
use spin::{Mutex, Once};
use uart_16550::backend::MmioBackend;
use uart_16550::{Config, Uart16550};

/// 16550 register offsets (in registers) and bits used by the raw path.
/// Source: TI PC16550D data sheet, "Register Summary"; QEMU `hw/char/serial.c`.
const THR: usize = 0;
const LSR: usize = 5;
const LSR_THRE: u8 = 1 << 5;
const LSR_DATA_READY: u8 = 1 << 0;
const RBR: usize = 0;
const LSR_TRANSMITTER_IDLE: u8 = 1 << 6;
/// Bytes the transmitter FIFO takes at once when LSR.THRE says it is
/// empty. `Uart::new` enables the FIFOs; like the `uart_16550` crate, the
/// driver takes the device to be a 16550 (a FIFO-less 16450 is not
/// supported).
pub const TX_FIFO_SIZE: usize = uart_16550::spec::FIFO_SIZE;
/// Bound on polling the transmitter before dropping a byte, so a wedged
/// UART cannot hang the panic path.
const TX_POLL_LIMIT: u32 = 100_000;

/// A memory-mapped 16550 console.
pub struct Uart {
    uart: Uart16550<MmioBackend>,
    base: usize,
    stride: usize,
}

/// Why the console could not be set up.
#[derive(Debug)]
pub enum ConsoleError {
    /// The address or stride was refused by the driver.
    BadAddress,
    /// Initialisation failed (no device answers there).
    Init,
}

impl Uart {
    /// Takes over the UART at virtual address `base` with register stride
    /// `stride` bytes, and programs it for 115200 8N1 with FIFOs.
    ///
    /// # Safety
    ///
    /// `base` must map a 16550 for the whole program, and nothing else may
    /// drive it except the lock-free paths of this module
    /// (`EmergencyWriter`, `emergency_write_raw`, `emergency_try_read`).
    pub unsafe fn new(base: usize, stride: u8) -> Result<Self, ConsoleError> {
        let ptr = NonNull::new(base as *mut u8).ok_or(ConsoleError::BadAddress)?;
        // SAFETY: the caller guarantees `base` maps a 16550 we own.
        let mut uart = unsafe { Uart16550::new_mmio(ptr, stride) }.map_err(|_| ConsoleError::BadAddress)?;
        uart.init(Config::default()).map_err(|_| ConsoleError::Init)?;
        Ok(Uart { uart, base, stride: stride as usize })
    }

    /// A received byte, if one is waiting.
    pub fn try_read(&mut self) -> Option<u8> {
        self.uart.try_receive_byte().ok()
    }

    /// Writes bytes: to the transmit queue if one is set
    /// (`set_transmit_queue`), otherwise polled (`write_polled`).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        match QUEUE.get() {
            Some(queue) => (queue.write)(self, bytes),
            None => self.write_polled(bytes),
        }
    }

    /// Writes bytes, waiting for room in the transmitter.
    pub fn write_polled(&mut self, bytes: &[u8]) {
        self.uart.send_bytes_exact(bytes);
    }

    /// If the transmitter FIFO is empty (LSR.THRE), fills it with up to
    /// `TX_FIFO_SIZE` bytes taken from `next` (until it returns `None`);
    /// returns how many were written. Does not wait.
    pub fn load_fifo(&mut self, mut next: impl FnMut() -> Option<u8>) -> usize {
        if self.uart.ready_to_send().is_err() {
            return 0;
        }
        let thr = (self.base + THR * self.stride) as *mut u8;
        let mut n = 0;
        while n < TX_FIFO_SIZE {
            let Some(b) = next() else { break };
            // SAFETY: `base` maps this 16550 for the whole program (the
            // contract of `new`); THRE said the FIFO is empty, so it takes
            // TX_FIFO_SIZE byte stores to THR without overrunning.
            unsafe { thr.write_volatile(b) };
            n += 1;
        }
        n
    }

    /// Enables or disables the "transmitter holding register empty"
    /// interrupt (IER bit 1), keeping the others as they are. While it is
    /// enabled the UART interrupts whenever its transmit FIFO is empty.
    pub fn set_tx_interrupt(&mut self, on: bool) {
        let thre = uart_16550::spec::registers::IER::THR_EMPTY;
        if on {
            self.uart.enable_interrupts(thre);
        } else {
            self.uart.disable_interrupts(thre);
        }
    }

    /// The highest-priority interrupt condition pending in the UART (from
    /// IIR), if any. Reading IIR clears a pending THRE condition, so a
    /// caller that gets `TransmitterEmpty` must load the FIFO or disable
    /// the interrupt. Line and modem status conditions are cleared here.
    pub fn next_interrupt(&mut self) -> Option<UartInterrupt> {
        use uart_16550::spec::registers::InterruptType as Iir;
        Some(match self.uart.isr().interrupt_type()? {
            Iir::ReceivedDataReady | Iir::ReceptionTimeout => UartInterrupt::Received,
            Iir::TransmitterHoldingRegisterEmpty => UartInterrupt::TransmitterEmpty,
            Iir::ReceiverLineStatus => {
                let _ = self.uart.lsr();
                UartInterrupt::Status
            }
            Iir::ModemStatus => {
                let _ = self.uart.msr();
                UartInterrupt::Status
            }
            // Non-standard DMA-end conditions, cleared by the IIR read.
            Iir::DmaReceptionEndOfTransfer | Iir::DmaTransmissionEndOfTransfer => UartInterrupt::Status,
        })
    }

    /// Waits (bounded) until the transmitter has sent its last bit: FIFO
    /// and shift register empty (LSR.TEMT). For power-off and reset.
    pub fn wait_transmitter_idle(&mut self) {
        let lsr = (self.base + LSR * self.stride) as *const u8;
        for _ in 0..TX_POLL_LIMIT {
            // SAFETY: `base` maps this 16550 for the whole program (the
            // contract of `new`); reading LSR clears only its error flags,
            // which nothing here reports.
            if unsafe { lsr.read_volatile() } & LSR_TRANSMITTER_IDLE != 0 {
                break;
            }
        }
    }

    /// Makes the UART raise its interrupt when received data is waiting.
    pub fn enable_rx_interrupt(&mut self) {
        self.uart.enable_interrupts(uart_16550::spec::registers::IER::DATA_READY);
    }

    /// Virtual base address and register stride.
    pub fn location(&self) -> (usize, usize) {
        (self.base, self.stride)
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.split_inclusive('\n') {
            match chunk.strip_suffix('\n') {
                Some(line) => {
                    self.write_bytes(line.as_bytes());
                    self.write_bytes(b"\r\n");
                }
                None => self.write_bytes(chunk.as_bytes()),
            }
        }
        Ok(())
    }
}

/// What the UART reports in IIR, for an interrupt handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartInterrupt {
    /// Received data is waiting (or timed out in the FIFO): read it all.
    Received,
    /// The transmit FIFO is empty and the THRE interrupt is enabled.
    TransmitterEmpty,
    /// A line or modem status change, already cleared.
    Status,
}

/// A transmit queue a kernel puts in front of the console UART.
#[derive(Clone, Copy)]
pub struct TransmitQueue {
    /// Takes every locked write (`print!`, `Stdout`, `write_bytes`),
    /// '\n' already turned into "\r\n". Called with the console lock held
    /// and the critical section entered; the `&mut Uart` lets it send
    /// polled (`write_polled`) or fill the FIFO (`load_fifo`).
    pub write: fn(&mut Uart, &[u8]),
    /// Sends whatever is still queued, polled, without the console lock:
    /// `EmergencyWriter` calls it before its own text. It must not wait
    /// for any lock (the code holding one may have failed).
    pub drain_emergency: fn(),
}

static QUEUE: Once<TransmitQueue> = Once::new();

/// Sends every later locked write of the console to `queue` instead of
/// polling the UART, and makes `EmergencyWriter` drain it first. Later
/// calls are ignored. The firmware never calls this.
pub fn set_transmit_queue(queue: TransmitQueue) {
    QUEUE.call_once(|| queue);
}

static CONSOLE: Once<Mutex<Uart>> = Once::new();
/// Entered around every locked console access, so a kernel can keep
/// interrupts (and preemption) off while the lock is held; returns a token
/// for `exit`. Unset in the firmware, which takes no interrupts.
static CRITICAL: Once<CriticalSection> = Once::new();

/// Enter (returns a token) and exit (takes it) of a critical section.
type CriticalSection = (fn() -> bool, fn(bool));

/// Installs the enter/exit pair that brackets every locked console access.
pub fn set_critical_section(enter: fn() -> bool, exit: fn(bool)) {
    CRITICAL.call_once(|| (enter, exit));
}
/// Where the raw path writes: (base, stride), recorded at install time.
static RAW: Once<(usize, usize)> = Once::new();

/// Makes `uart` the console. Later calls are ignored.
pub fn install(uart: Uart) {
    RAW.call_once(|| uart.location());
    CONSOLE.call_once(|| Mutex::new(uart));
}

/// Releases the console lock, whoever holds it: for a fatal path that has
/// abandoned the code that may have held it.
///
/// # Safety
///
/// The holder must never run again (it faulted, and nothing else on any
/// core uses the console).
pub unsafe fn force_unlock() {
    if let Some(console) = CONSOLE.get()
        && console.is_locked()
    {
        // SAFETY: the caller guarantees the holder is gone for good.
        unsafe { console.force_unlock() }
    }
}

/// Runs `f` with the console locked; `None` before `install`.
pub fn with<R>(f: impl FnOnce(&mut Uart) -> R) -> Option<R> {
    let console = CONSOLE.get()?;
    let token = CRITICAL.get().map(|(enter, _)| enter());
    let r = f(&mut console.lock());
    if let (Some((_, exit)), Some(token)) = (CRITICAL.get(), token) {
        exit(token);
    }
    Some(r)
}

/// A received byte, if the console has one.
pub fn try_read() -> Option<u8> {
    with(|u| u.try_read()).flatten()
}

/// The console as a `fmt::Write` (through the lock).
pub struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        with(|u| u.write_str(s)).unwrap_or(Ok(()))
    }
}

/// Writes raw bytes (echo) through the lock.
pub fn write_bytes(bytes: &[u8]) {
    with(|u| u.write_bytes(bytes));
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    with(|u| u.write_fmt(args));
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// A writer that takes no lock: for panics and fatal exceptions only.
pub struct EmergencyWriter;

impl EmergencyWriter {
    fn put(base: usize, stride: usize, byte: u8) {
        let lsr = (base + LSR * stride) as *const u8;
        let thr = (base + THR * stride) as *mut u8;
        for _ in 0..TX_POLL_LIMIT {
            // SAFETY: RAW holds the address of the installed console UART,
            // which maps for the whole program; byte reads of LSR have no
            // side effect.
            if unsafe { lsr.read_volatile() } & LSR_THRE != 0 {
                break;
            }
        }
        // SAFETY: as above; a byte store to THR transmits it.
        unsafe { thr.write_volatile(byte) }
    }
}

impl Write for EmergencyWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let Some(&(base, stride)) = RAW.get() else { return Ok(()) };
        // What writers queued earlier goes out first, so nothing is reordered.
        if let Some(queue) = QUEUE.get() {
            (queue.drain_emergency)();
        }
        for b in s.bytes() {
            if b == b'\n' {
                Self::put(base, stride, b'\r');
            }
            Self::put(base, stride, b);
        }
        Ok(())
    }
}

/// Sends raw bytes (no '\n' conversion) without the lock, polling the
/// transmitter as `EmergencyWriter` does: for a transmit queue's
/// `drain_emergency`.
pub fn emergency_write_raw(bytes: &[u8]) {
    let Some(&(base, stride)) = RAW.get() else { return };
    for &b in bytes {
        EmergencyWriter::put(base, stride, b);
    }
}

/// Polls the receiver without the lock: for fatal paths that wait for a
/// key (reading RBR does not disturb a transmission in progress under the
/// lock).
pub fn emergency_try_read() -> Option<u8> {
    let &(base, stride) = RAW.get()?;
    let lsr = (base + LSR * stride) as *const u8;
    let rbr = (base + RBR * stride) as *const u8;
    // SAFETY: RAW holds the installed console's address (see `put`).
    unsafe { (lsr.read_volatile() & LSR_DATA_READY != 0).then(|| rbr.read_volatile()) }
}

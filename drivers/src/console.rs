//! The serial console: a 16550 UART behind a lock, plus a lock-free path for
//! panics and exceptions.
//!
//! `install` puts the board's UART in the global slot once; `print!` and
//! `println!` write through the lock. `emergency_write` bypasses the lock
//! (and the driver) and polls the transmitter directly, so a panic that
//! strikes while the lock is held still gets its message out.

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
    /// drive it except `emergency_write`.
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

    /// Writes bytes, waiting for room in the transmitter.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.uart.send_bytes_exact(bytes);
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
        for b in s.bytes() {
            if b == b'\n' {
                Self::put(base, stride, b'\r');
            }
            Self::put(base, stride, b);
        }
        Ok(())
    }
}

/// Polls the receiver without the lock: for fatal paths that wait for a
/// key, and for the receive interrupt handler (reading RBR does not disturb
/// a transmission in progress under the lock).
pub fn emergency_try_read() -> Option<u8> {
    let &(base, stride) = RAW.get()?;
    let lsr = (base + LSR * stride) as *const u8;
    let rbr = (base + RBR * stride) as *const u8;
    // SAFETY: RAW holds the installed console's address (see `put`).
    unsafe { (lsr.read_volatile() & LSR_DATA_READY != 0).then(|| rbr.read_volatile()) }
}

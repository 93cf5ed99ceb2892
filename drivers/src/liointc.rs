//! Loongson LIOINTC: the local I/O interrupt controller of Loongson-3.
//!
//! Source: QEMU `hw/intc/loongson_liointc.c`; `shared/specs/loongson3-virt.md`
//! §12. 32 level-triggered inputs; each input's route byte picks one core
//! (bits 3:0) and one of four outputs INT0..INT3 (bits 7:4), which drive
//! the core's CPU lines IP2..IP5. Route bytes take 8-bit accesses, the rest
//! aligned 32-bit ones. The controller has no acknowledge register: an
//! input stays pending until its device drops the line, so "ack" is the
//! device's business and `ack` here only documents that.

use core::ptr::NonNull;
use volatile::VolatilePtr;

/// Number of inputs.
pub const INPUTS: u32 = 32;
/// Offset of the first route byte (input n at `ROUTE + n`).
const ROUTE: usize = 0x00;
/// Pending = level AND enable, all cores.
const ISR: usize = 0x20;
/// Enable mask (read).
const IEN: usize = 0x24;
/// Write 1s to enable inputs.
const IEN_SET: usize = 0x28;
/// Write 1s to disable inputs.
const IEN_CLR: usize = 0x2C;
/// Per-core pending registers: core c at `CORE_ISR + 8 * c`.
const CORE_ISR: usize = 0x40;
/// Cores a node's LIOINTC serves.
pub const CORES: u32 = 4;
/// Outputs per core.
pub const OUTPUTS: u32 = 4;

/// The controller's register block.
pub struct Liointc {
    base: NonNull<u8>,
}

// SAFETY: MMIO registers; ownership (behind the kernel's lock) serialises access.
unsafe impl Send for Liointc {}

/// Why a routing request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// Input number out of range.
    BadInput(u32),
    /// Core out of range.
    BadCore(u32),
    /// Output out of range.
    BadOutput(u32),
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RouteError::BadInput(i) => write!(f, "LIOINTC input {i} out of range (0..{INPUTS})"),
            RouteError::BadCore(c) => write!(f, "LIOINTC core {c} out of range (0..{CORES})"),
            RouteError::BadOutput(o) => write!(f, "LIOINTC output {o} out of range (0..{OUTPUTS})"),
        }
    }
}

impl Liointc {
    /// Takes the controller at `base` and masks every input.
    ///
    /// # Safety
    ///
    /// `base` must map the LIOINTC registers for the life of the value,
    /// and nothing else may program them.
    pub unsafe fn new(base: usize) -> Self {
        // SAFETY: the caller passes the (non-null) register block address.
        let c = Liointc { base: unsafe { NonNull::new_unchecked(base as *mut u8) } };
        c.write32(IEN_CLR, u32::MAX);
        c
    }

    fn reg32(&self, offset: usize) -> VolatilePtr<'_, u32> {
        // SAFETY: `offset` is one of the register offsets above, inside
        // the block the constructor's caller vouched for, and 4-aligned.
        unsafe { VolatilePtr::new(self.base.byte_add(offset).cast::<u32>()) }
    }

    fn write32(&self, offset: usize, v: u32) {
        self.reg32(offset).write(v);
    }

    /// Routes `input` to `core`'s output `output` (CPU line IP2 + output).
    pub fn route(&mut self, input: u32, core: u32, output: u32) -> Result<(), RouteError> {
        if input >= INPUTS {
            return Err(RouteError::BadInput(input));
        }
        if core >= CORES {
            return Err(RouteError::BadCore(core));
        }
        if output >= OUTPUTS {
            return Err(RouteError::BadOutput(output));
        }
        let value = (1u8 << core) | (1u8 << (4 + output));
        // SAFETY: route bytes sit at ROUTE + input inside the block and
        // take byte accesses.
        unsafe { VolatilePtr::new(self.base.byte_add(ROUTE + input as usize)) }.write(value);
        Ok(())
    }

    /// Enables (unmasks) `input`.
    pub fn unmask(&mut self, input: u32) {
        self.write32(IEN_SET, 1 << (input % INPUTS));
    }

    /// Disables (masks) `input`.
    pub fn mask(&mut self, input: u32) {
        self.write32(IEN_CLR, 1 << (input % INPUTS));
    }

    /// Inputs currently enabled.
    pub fn enabled(&self) -> u32 {
        self.reg32(IEN).read()
    }

    /// Pending inputs (level AND enable), all cores.
    pub fn pending(&self) -> u32 {
        self.reg32(ISR).read()
    }

    /// Pending inputs routed to `core`.
    pub fn pending_for_core(&self, core: u32) -> u32 {
        self.reg32(CORE_ISR + 8 * (core % CORES) as usize).read()
    }

    /// Acknowledges `input`. Inputs are level-triggered: the line drops
    /// when the device's own interrupt status is cleared, so there is
    /// nothing to write here; handlers must clear their device.
    pub fn ack(&mut self, _input: u32) {}
}

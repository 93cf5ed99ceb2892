//! Legacy INTx pins and the bridge swizzle up to the root bus.
//!
//! Each PCI-to-PCI bridge maps a secondary-side device's pin to its own
//! primary-side pin by (device + pin − 1) mod 4 (PPB 1.2 §9.1). The host
//! bridge applies the same rule once more on the root bus; which interrupt
//! controller input that lands on is the board's business (loongson3-virt:
//! LIOINTC input 2 + `RootIntx::gpex_irq`, spec §14.5).

use core::fmt;

/// One of the four legacy interrupt pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IntxPin {
    /// INTA (Interrupt Pin register value 1).
    A,
    /// INTB (value 2).
    B,
    /// INTC (value 3).
    C,
    /// INTD (value 4).
    D,
}

impl IntxPin {
    /// Decode the Interrupt Pin register: 1..=4 give a pin, 0 and anything
    /// else `None`.
    pub const fn from_register(value: u8) -> Option<Self> {
        match value {
            1 => Some(IntxPin::A),
            2 => Some(IntxPin::B),
            3 => Some(IntxPin::C),
            4 => Some(IntxPin::D),
            _ => None,
        }
    }

    /// Zero-based index: INTA 0 … INTD 3.
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The pin with zero-based index `index mod 4`.
    pub const fn from_index(index: u8) -> Self {
        match index % 4 {
            0 => IntxPin::A,
            1 => IntxPin::B,
            2 => IntxPin::C,
            _ => IntxPin::D,
        }
    }
}

impl fmt::Display for IntxPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntxPin::A => "INTA",
            IntxPin::B => "INTB",
            IntxPin::C => "INTC",
            IntxPin::D => "INTD",
        })
    }
}

/// The pin a bridge (or the host bridge) sees for `pin` of the device in
/// `slot` on its secondary side: (slot + pin − 1) mod 4 (PPB 1.2 §9.1).
pub const fn swizzle(slot: u8, pin: IntxPin) -> IntxPin {
    IntxPin::from_index((slot % 4) + pin.index())
}

/// Where a function's interrupt arrives on the root bus: the slot of the
/// root-bus device it is behind (itself when on bus 0) and the pin after
/// every bridge's swizzle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootIntx {
    /// Device number on the root bus.
    pub slot: u8,
    /// Pin as it enters the host bridge.
    pub pin: IntxPin,
}

impl RootIntx {
    /// The host bridge's interrupt number 0..=3: (slot + pin − 1) mod 4,
    /// which is how QEMU's GPEX host (and the usual ECAM host bridge
    /// interrupt-map) routes root-bus INTx (spec §14.5).
    pub const fn gpex_irq(self) -> u8 {
        swizzle(self.slot, self.pin).index()
    }
}

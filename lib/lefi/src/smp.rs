//! Which core boots Linux, what LEFI says about it, and where the others park.
//!
//! Linux numbering (`lefi-boot-protocol.md` §12.1): physical id *p* = IPI block
//! *p*; Linux's boot CPU is the lowest physical id not in
//! `reserved_cores_mask`; `cpu_startup_core_id` only picks the LIOINTC core
//! bit every device interrupt is routed to (torvalds/linux
//! `drivers/irqchip/irq-loongson-liointc.c`: `BIT(boot_cpu_id)` in a route
//! byte whose bits 4..7 select the INT pin, so it must be below 4); and the
//! LIOINTC handler reads the status register of core `EBase.CPUNum mod 4`.
//! Device interrupts therefore work only if the boot core's EBase.CPUNum mod 4
//! equals its LIOINTC core index.
//!
//! On a correctly wired machine (real hardware, QEMU ≤ 9.x) EBase.CPUNum is
//! the wiring index and the plain plan applies: boot on core 0, startup core
//! 0, nothing reserved. QEMU 10.0.2 numbers EBase in reverse
//! (EBase = N − 1 − wiring index, `loongson3-virt.md` §15.4), which the plan of
//! `lefi-boot-protocol.md` §13 works around. Use [`CoreWiring::ReversedQemu10`]
//! only for QEMU 10.0.x; whether later releases fix the order is UNVERIFIED.
//!
//! Note on §13: the invariant above (EBase mod 4 = LIOINTC core, both < 4)
//! has a second solution for some odd N: for N = 5 and 9 wiring index 0
//! (EBase 4 or 8) also satisfies it and would give Linux all N CPUs. This
//! module follows §13 as written (verified for N = 3) and does not use it.

use crate::LefiError;

/// Most CPUs `loongson3-virt` has (`-smp` 1..16, `loongson3-virt.md` §15.1);
/// also the width of the 16-bit `reserved_cores_mask` (§5.4).
pub const MAX_CPUS: u16 = 16;
/// Cores per node: physical id *p* is core *p* mod 4 of node *p* / 4 (§12.1).
pub const CORES_PER_NODE: u16 = 4;
/// LIOINTC has one status register and one route bit per core of node 0
/// (`LIOINTC_NUM_CORES` in the Linux driver; `loongson3-virt.md` §12).
pub const LIOINTC_CORES: u16 = 4;

/// How EBase.CPUNum relates to the IPI block / LIOINTC core a vCPU is wired to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreWiring {
    /// EBase.CPUNum = wiring index: real hardware and QEMU before 10.0.
    Straight,
    /// EBase.CPUNum = N − 1 − wiring index: QEMU 10.0.2 (`loongson3-virt.md` §15.4).
    ReversedQemu10,
}

/// One core that does not boot Linux: it parks polling the mailbox of its
/// IPI block (§12.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParkedCore {
    /// The core's EBase.CPUNum (what it can read about itself).
    pub ebase: u16,
    /// The IPI block it must poll: its wiring index = Linux physical id.
    pub ipi_block: u16,
    /// False for cores in `reserved_cores_mask`: Linux never releases them.
    pub released_by_linux: bool,
}

/// The boot-core plan for `cpu_count` CPUs (§12.1, §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootCorePlan {
    /// Number of CPUs (LEFI `nr_cpus`).
    pub cpu_count: u16,
    /// How the machine numbers its cores.
    pub wiring: CoreWiring,
    /// Wiring index (IPI block, LIOINTC core, Linux physical id) of the boot core.
    pub boot_index: u16,
    /// EBase.CPUNum of the boot core: the core that must run the firmware's
    /// hand-off.
    pub boot_ebase: u16,
    /// LEFI `cpu_startup_core_id`.
    pub cpu_startup_core_id: u16,
    /// LEFI `reserved_cores_mask`.
    pub reserved_cores_mask: u16,
    /// How many CPUs Linux will bring up.
    pub linux_cpus: u16,
    /// Whether Linux's LIOINTC handler will read the boot core's own status
    /// register; false means the first device interrupt storms (§13, even N
    /// on QEMU 10.0.2).
    pub device_interrupts_work: bool,
}

impl BootCorePlan {
    /// Computes the plan.
    ///
    /// * [`CoreWiring::Straight`]: boot on wiring index 0, startup core 0,
    ///   mask 0 (§12.1).
    /// * [`CoreWiring::ReversedQemu10`] (§13): N = 1 → the only core. Odd N →
    ///   boot on wiring index b = (N − 1) / 2, whose EBase is also b;
    ///   `cpu_startup_core_id` = b; mask = bits 0..b−1 (verified \[run\] for
    ///   N = 3; N = 5, 7 UNVERIFIED per §13). For odd N ≥ 9 §13's b would be
    ///   ≥ 4, which LIOINTC cannot route to; this plan then uses
    ///   b = ((N − 1) / 2) mod 4 instead, derived from the same rule (EBase mod 4
    ///   = LIOINTC core) and UNVERIFIED. Even N → boot on wiring index 0, mask
    ///   0: all CPUs start but device interrupts storm (§13), reported as
    ///   `device_interrupts_work = false`.
    pub fn new(cpu_count: u16, wiring: CoreWiring) -> Result<Self, LefiError> {
        if cpu_count == 0 || cpu_count > MAX_CPUS {
            return Err(LefiError::CpuCount { count: cpu_count, max: MAX_CPUS });
        }
        let boot_index = match wiring {
            CoreWiring::Straight => 0,
            CoreWiring::ReversedQemu10 if !cpu_count.is_multiple_of(2) => ((cpu_count - 1) / 2) % LIOINTC_CORES,
            CoreWiring::ReversedQemu10 => 0,
        };
        let boot_ebase = ebase_of(wiring, cpu_count, boot_index);
        Ok(Self {
            cpu_count,
            wiring,
            boot_index,
            boot_ebase,
            cpu_startup_core_id: boot_index,
            reserved_cores_mask: (1u16 << boot_index) - 1,
            linux_cpus: cpu_count - boot_index,
            device_interrupts_work: boot_index < LIOINTC_CORES && boot_ebase % LIOINTC_CORES == boot_index,
        })
    }

    /// The IPI block the core with this EBase.CPUNum owns, or `None` if no
    /// such core exists.
    pub fn ipi_block_of(&self, ebase: u16) -> Option<u16> {
        (ebase < self.cpu_count).then(|| ebase_of(self.wiring, self.cpu_count, ebase))
    }

    /// True if the core with this EBase.CPUNum is the one that boots Linux.
    pub fn is_boot_core(&self, ebase: u16) -> bool {
        ebase == self.boot_ebase
    }

    /// Where the core with this EBase.CPUNum parks, or `None` for the boot
    /// core and for EBase values with no core.
    pub fn parked(&self, ebase: u16) -> Option<ParkedCore> {
        let ipi_block = self.ipi_block_of(ebase)?;
        (!self.is_boot_core(ebase)).then_some(ParkedCore {
            ebase,
            ipi_block,
            released_by_linux: self.reserved_cores_mask & (1 << ipi_block) == 0,
        })
    }

    /// Every non-boot core, in EBase order.
    pub fn parked_cores(&self) -> impl Iterator<Item = ParkedCore> + '_ {
        (0..self.cpu_count).filter_map(|ebase| self.parked(ebase))
    }
}

/// The mapping between EBase.CPUNum and wiring index; it is its own inverse.
const fn ebase_of(wiring: CoreWiring, cpu_count: u16, index: u16) -> u16 {
    match wiring {
        CoreWiring::Straight => index,
        CoreWiring::ReversedQemu10 => cpu_count - 1 - index,
    }
}

//! What the firmware needs from a board: the board implements this trait,
//! and every board difference lives behind it.

use crate::platform::PlatformError;
use tianshan_bootinfo::Console;
use tianshan_drivers::ecam::Ecam;

/// A physical address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    /// First address.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

/// Facts the platform phase learns from the machine.
#[derive(Clone, Copy, Debug)]
pub struct MachineInfo {
    /// Total RAM in bytes.
    pub ram_size: u64,
    /// CPU cores present.
    pub cpu_count: u32,
    /// CPU clock in Hz.
    pub cpu_hz: u64,
}

/// Where PCI devices may be placed, and how their interrupts arrive.
#[derive(Clone, Copy, Debug)]
pub struct PciWindows {
    /// Memory window `[base, end)` (bus address = CPU physical address).
    pub mem: (u64, u64),
    /// I/O port window `[base, end)`.
    pub io: (u64, u64),
}

/// How the secondary cores were parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParkReport {
    /// Cores told to park (all but the boot core).
    pub expected: u32,
    /// The core numbering is reversed relative to the IPI blocks
    /// (QEMU 10.0.x, `shared/specs/loongson3-virt.md` §15.4).
    pub reversed: bool,
}

/// Addresses of firmware code that outlives the firmware (in ROM): the
/// CPU crate defines them with the reset code.
pub use tianshan_arch_mips64::RomServices;

/// A board the firmware can run on.
pub trait Board: Sync {
    /// Board name, as in `boards/<name>`.
    const NAME: &'static str;
    /// RAM the firmware itself occupies (.data, .bss, heap, stack).
    const FIRMWARE_RAM: PhysRange;
    /// RAM reserved for what the firmware hands to the kernel.
    const HANDOFF_RAM: PhysRange;
    /// Longest kernel command line accepted.
    const MAX_CMDLINE: usize = 4096;
    /// The firmware's console as Linux names it, the value of the
    /// `console=` added to a Linux command line that names none
    /// (`ttyS0,115200`: the UART `console` describes, at the speed the
    /// firmware set).
    const LINUX_CONSOLE: &'static str;
    /// DMA memory and address translation for virtio devices (the disk).
    type DmaHal: virtio_drivers::Hal;

    /// Puts the CPU in a known state the reset code left out (the TLB).
    fn init_cpu(&self);
    /// The RAM between the firmware's .bss and its stack: its heap.
    fn heap_range(&self) -> (usize, usize);
    /// Sets up the console; `print!` works afterwards.
    fn install_console(&self);
    /// The console, as described to the kernel.
    fn console(&self) -> Console;
    /// RAM size, CPU count and clock, as the machine reports them.
    fn machine_info(&self) -> Result<MachineInfo, PlatformError>;
    /// The usable RAM ranges for `ram_size` bytes of RAM, each byte once.
    fn ram_ranges(&self, ram_size: u64, out: &mut dyn FnMut(PhysRange));
    /// Size of the fw_cfg file `name`, if the machine has one.
    fn fw_cfg_size(&self, name: &str) -> Result<Option<u32>, PlatformError>;
    /// Reads the fw_cfg file `name` into the start of `buf`; returns its size.
    fn fw_cfg_read(&self, name: &str, buf: &mut [u8]) -> Result<usize, PlatformError>;
    /// Calls `f(name, size)` for each fw_cfg file.
    fn fw_cfg_list(&self, f: &mut dyn FnMut(&str, u32)) -> Result<(), PlatformError>;
    /// Tells every other core, waiting at reset, to park on its own IPI
    /// mailbox (where an OS can release it), after quieting the interrupt
    /// controllers. Returns at once: cores report in `core_parked`.
    fn park_secondaries(&self, cpu_count: u32) -> ParkReport;
    /// True once the core owning IPI block `block` waits on its mailbox.
    fn core_parked(&self, block: u32) -> bool;
    /// Starts the parked core owning IPI block `block`: a1, gp, sp, then pc
    /// last (the mailbox protocol, `docs/boot-protocol.md`).
    fn release_core(&self, block: u32, pc: u64, sp: u64, gp: u64, a1: u64);
    /// This core's number as the CPU reports it (EBase.CPUNum).
    fn cpu_num(&self) -> u32;
    /// Parks the calling core on its own mailbox, for the OS to release.
    ///
    /// # Safety
    ///
    /// Nothing may rely on this core afterwards.
    unsafe fn park_this_core(&self) -> !;
    /// ROM addresses of the reset, power-off and suspend routines an OS may
    /// call, and of the routine a released core enters an OS through.
    fn rom_services(&self) -> RomServices;
    /// Enters an OS with a0..a3, Status and Cause zero.
    ///
    /// # Safety
    ///
    /// The OS and everything a0..a3 point at must be in place.
    unsafe fn enter_os(&self, entry: u64, args: [u64; 4]) -> !;
    /// Interrupt-controller input that root-bus INTx line `gpex_irq`
    /// (0..4, after swizzling) arrives on.
    fn pci_irq_line(&self, gpex_irq: u8) -> u32;
    /// The PCIe configuration space, if the board has one (called once).
    fn pci(&self) -> Option<(Ecam, PciWindows)>;
    /// The boot flash as mapped, and the offset of its payload directory.
    fn rom(&self) -> (&'static [u8], usize);
    /// A cached virtual address through which `pa` can be read and written.
    fn phys_to_virt(&self, pa: u64) -> u64;
    /// The physical address behind a link address in an unmapped segment.
    fn virt_to_phys(&self, va: u64) -> Option<u64>;
    /// Free-running cycle counter (CP0 Count), wrapping at 2^32.
    fn counter(&self) -> u32;
    /// Counter frequency for a CPU clock of `cpu_hz`.
    fn counter_hz(&self, cpu_hz: u64) -> u64;
    /// Wall-clock nanoseconds from a real-time clock, if the board has one
    /// (used to check the counter's frequency).
    fn wall_clock_ns(&self) -> Option<u64>;
    /// Makes freshly written code in `[va, va+len)` executable.
    fn sync_icache(&self, va: u64, len: u64);
    /// Leaves exception level so a fatal-exception path can run normally.
    fn leave_exception_level(&self);
    /// Powers the machine off.
    fn power_off(&self) -> !;
    /// Resets the machine.
    fn reset(&self) -> !;
    /// Jumps to a loaded kernel.
    ///
    /// # Safety
    ///
    /// The kernel's segments and the block at `bootinfo` must be in place.
    unsafe fn enter_kernel(&self, entry: u64, magic: u64, bootinfo: u64) -> !;
}

//! QEMU `loongson3-virt`: the reference board.
//!
//! Everything that is particular to this machine is here: device addresses,
//! how its RAM is laid out, and how the firmware and kernel reach the CPU.
//! Device facts come from `shared/specs/loongson3-virt.md` (section numbers
//! below), which cites QEMU 10.0.2's `hw/mips/loongson3_virt.c`.
#![no_std]

mod dma;
mod layout;

pub use layout::*;

use spin::{Mutex, Once};
use tianshan_arch_mips64::{addr, cache, cp0, ipi, semihosting, tlb};
use tianshan_bootinfo::Console;
use tianshan_drivers::console::{self, Uart};
use tianshan_drivers::ecam::Ecam;
use tianshan_drivers::fw_cfg::FwCfg;
use tianshan_drivers::liointc::Liointc;
use tianshan_drivers::power::PowerControl;
use tianshan_drivers::rtc::GoldfishRtc;
use tianshan_firmware::board::{MachineInfo, ParkReport, PciWindows, PhysRange, RomServices};
use tianshan_firmware::platform::PlatformError;

/// 16550 UART, byte registers one apart (§9).
pub const UART_PA: u64 = 0x1FE0_01E0;
/// UART register stride in bytes.
pub const UART_STRIDE: u8 = 1;
/// Power-management control byte (§7).
pub const PM_CNTL_PA: u64 = 0x1008_0010;
/// The same byte through KSEG1, as the ROM's reset/power-off code uses it.
pub const PM_CNTL_KSEG1: i64 = (0xFFFF_FFFF_A000_0000u64 + PM_CNTL_PA) as i64;
/// fw_cfg selector register (§8.1).
pub const FW_CFG_SELECTOR_PA: u64 = 0x1008_0100;
/// fw_cfg data register (§8.1).
pub const FW_CFG_DATA_PA: u64 = 0x1008_0108;
/// All of RAM starts here (§5).
pub const RAM_HIGH_PA: u64 = 0x8000_0000;
/// The first 256 MiB of RAM also appear at physical 0 (§5).
pub const RAM_LOW_ALIAS_SIZE: u64 = 0x1000_0000;
/// LIOINTC registers (§12), reached through XKPHYS (above 512 MiB).
pub const LIOINTC_PA: u64 = 0x3FF0_1400;
/// Goldfish RTC (§10).
pub const RTC_PA: u64 = 0x1008_1000;
/// LIOINTC input of the UART (§12).
pub const UART_IRQ: u32 = 0;
/// LIOINTC input of PCIe INTx 0 (GPEX interrupt 0), §12.
pub const PCI_IRQ_BASE: u32 = 2;
/// PCIe ECAM base (§14.1): buses 0..31, 1 MiB each.
pub const ECAM_PA: u64 = 0x1A00_0000;
/// Buses the ECAM window covers.
pub const ECAM_BUSES: u16 = 32;
/// PCI memory window (bus address = CPU address), §14.1.
pub const PCI_MEM_WINDOW: (u64, u64) = (0x4000_0000, 0x8000_0000);
/// PCI I/O ports the firmware assigns: from 0x4000, as Linux's device tree
/// for this machine expects (ports below are legacy ISA), §14.1.
pub const PCI_IO_WINDOW: (u64, u64) = (0x4000, 0x1_0000);

/// The board. One static instance; its devices are created on first use.
pub struct QemuLoongson3Virt {
    fw_cfg: Once<Option<Mutex<FwCfg>>>,
}

/// The board instance both binaries use.
pub static BOARD: QemuLoongson3Virt = QemuLoongson3Virt { fw_cfg: Once::new() };

const fn kseg1(pa: u64) -> usize {
    match addr::kseg1(pa) {
        Some(va) => va as usize,
        None => panic!("device address above 512 MiB"),
    }
}

fn power() -> PowerControl {
    // SAFETY: PM_CNTL_PA is the PM control byte on this machine (§7).
    unsafe { PowerControl::new(kseg1(PM_CNTL_PA)) }
}

/// Powers off; should the machine ignore it, stops this core.
fn power_off() -> ! {
    power().power_off();
    tianshan_arch_mips64::halt()
}

/// Resets; should the machine ignore it, stops this core.
fn reset() -> ! {
    power().reset();
    tianshan_arch_mips64::halt()
}

fn install_uart() {
    // SAFETY: the UART lives at UART_PA for the machine's lifetime (§9), and
    // only the console (and its lock-free emergency path) drives it.
    match unsafe { Uart::new(kseg1(UART_PA), UART_STRIDE) } {
        Ok(uart) => console::install(uart),
        // Without a console nothing can be said: stop here.
        Err(_) => tianshan_arch_mips64::halt(),
    }
}

unsafe extern "C" {
    static __rom_end: u8;
    /// Where the packed firmware image ends in the ROM (arch/mips64
    /// `__rom_image_end_word_asm`, written by xtask).
    static __tianshan_rom_image_end: u64;
    static __heap_start: u8;
    static __heap_end: u8;
    static __kernel_start: u8;
    static __kernel_end: u8;
    static __kernel_vectors: u8;
    static __text_end: u8;
}

impl QemuLoongson3Virt {
    fn fw_cfg(&self) -> Result<&Mutex<FwCfg>, PlatformError> {
        self.fw_cfg
            .call_once(|| {
                // SAFETY: these are fw_cfg's registers on this machine (§8),
                // and this is the only place that creates the driver.
                unsafe { FwCfg::new(kseg1(FW_CFG_SELECTOR_PA), kseg1(FW_CFG_DATA_PA)) }.ok().map(Mutex::new)
            })
            .as_ref()
            .ok_or(PlatformError::NoMachineInfo("fw_cfg does not answer (was QEMU started with -kernel?)"))
    }
}

impl tianshan_firmware::Board for QemuLoongson3Virt {
    const NAME: &'static str = "qemu-loongson3-virt";
    const FIRMWARE_RAM: PhysRange = PhysRange { base: FIRMWARE_RAM_PA, size: FIRMWARE_RAM_SIZE };
    const HANDOFF_RAM: PhysRange = PhysRange { base: HANDOFF_PA, size: HANDOFF_SIZE };
    /// The UART at `UART_PA` is Linux's `ttyS0` on this machine (the port
    /// the Linux boot tests read), at the 115200 8N1 the console driver
    /// programs (`tianshan_drivers::console`).
    const LINUX_CONSOLE: &'static str = "ttyS0,115200";
    type DmaHal = dma::DmaHal;

    fn install_console(&self) {
        install_uart();
    }

    fn init_cpu(&self) {
        tlb::invalidate_all();
    }

    fn heap_range(&self) -> (usize, usize) {
        (core::ptr::addr_of!(__heap_start) as usize, core::ptr::addr_of!(__heap_end) as usize)
    }

    fn console(&self) -> Console {
        Console::Ns16550 { base: UART_PA, reg_shift: 0 }
    }

    fn machine_info(&self) -> Result<MachineInfo, PlatformError> {
        let mut fw_cfg = self.fw_cfg()?.lock();
        Ok(MachineInfo {
            ram_size: fw_cfg.ram_size(),
            cpu_count: u32::from(fw_cfg.cpu_count()).max(1),
            cpu_hz: fw_cfg.cpu_freq(),
        })
    }

    fn ram_ranges(&self, ram_size: u64, out: &mut dyn FnMut(PhysRange)) {
        // Describe each byte once (§5): the low alias for the first 256 MiB,
        // the high addresses for the rest.
        let low = ram_size.min(RAM_LOW_ALIAS_SIZE);
        out(PhysRange { base: 0, size: low });
        if ram_size > RAM_LOW_ALIAS_SIZE {
            out(PhysRange { base: RAM_HIGH_PA + RAM_LOW_ALIAS_SIZE, size: ram_size - RAM_LOW_ALIAS_SIZE });
        }
    }

    fn fw_cfg_size(&self, name: &str) -> Result<Option<u32>, PlatformError> {
        Ok(self.fw_cfg()?.lock().find(name).map(|f| f.size))
    }

    fn fw_cfg_read(&self, name: &str, buf: &mut [u8]) -> Result<usize, PlatformError> {
        let mut fw_cfg = self.fw_cfg()?.lock();
        let file = fw_cfg.find(name).ok_or(PlatformError::NoMachineInfo("fw_cfg file disappeared"))?;
        fw_cfg.read_file(&file, buf).map_err(|_| PlatformError::NoMachineInfo("fw_cfg file larger than its buffer"))
    }

    fn fw_cfg_list(&self, f: &mut dyn FnMut(&str, u32)) -> Result<(), PlatformError> {
        self.fw_cfg()?.lock().for_each_file(|file| {
            f(file.name(), file.size);
            true
        });
        Ok(())
    }

    fn park_secondaries(&self, cpu_count: u32) -> ParkReport {
        // Everything survives a guest reset (§12, §15.2): mask the
        // controller and quiet every IPI block before anything else.
        // SAFETY: the LIOINTC of this machine; creating the driver masks
        // every input, which is what a fresh controller looks like; the
        // kernel creates its own later.
        let _masked = unsafe { Liointc::new(addr::xkphys_uncached(LIOINTC_PA) as usize) };
        let n = cpu_count.max(1);
        for i in 0..n {
            // SAFETY: block i exists for every core present; KX is set by
            // the reset code.
            unsafe {
                ipi::write32(ipi::block(i), ipi::EN, 0);
                ipi::write32(ipi::block(i), ipi::CLEAR, u32::MAX);
            }
        }
        if n == 1 {
            ipi::publish_park_word(1, false);
            return ParkReport { expected: 0, reversed: false };
        }
        // Which block is ours? Raise block 0's IPI and see if it reaches this
        // core: on QEMU 10.0.2 it does not (§15.4).
        // SAFETY: as above; the IPI is cleared and disabled again at once.
        let ours = unsafe {
            ipi::write32(ipi::block(0), ipi::EN, 1);
            ipi::write32(ipi::block(0), ipi::SET, 1);
            let seen = cp0::cause() & ipi::CAUSE_IP6 != 0;
            ipi::write32(ipi::block(0), ipi::CLEAR, 1);
            ipi::write32(ipi::block(0), ipi::EN, 0);
            seen
        };
        let reversed = !ours;
        ipi::publish_park_word(n, reversed);
        ParkReport { expected: n - 1, reversed }
    }

    fn core_parked(&self, block: u32) -> bool {
        // SAFETY: callers pass blocks of existing cores; reading a mailbox
        // has no side effect.
        unsafe { ipi::read64(ipi::block(block), ipi::MAILBOX_A1) == ipi::PARKED_MARKER }
    }

    fn release_core(&self, block: u32, pc: u64, sp: u64, gp: u64, a1: u64) {
        // SAFETY: the firmware only releases blocks of existing cores.
        unsafe { ipi::release(ipi::block(block), pc, sp, gp, a1) }
    }

    fn cpu_num(&self) -> u32 {
        cp0::cpu_num()
    }

    unsafe fn park_this_core(&self) -> ! {
        // SAFETY: forwarded from the caller; the park word is published.
        unsafe { tianshan_arch_mips64::park_this_core() }
    }

    fn rom_services(&self) -> RomServices {
        tianshan_arch_mips64::rom_services()
    }

    unsafe fn enter_os(&self, entry: u64, args: [u64; 4]) -> ! {
        // SAFETY: forwarded from the caller.
        unsafe { tianshan_arch_mips64::enter_os(entry, args[0], args[1], args[2], args[3]) }
    }

    fn pci_irq_line(&self, gpex_irq: u8) -> u32 {
        // GPEX interrupts 0..3 are LIOINTC inputs 2..5 (§12, §14.5).
        PCI_IRQ_BASE + u32::from(gpex_irq % 4)
    }

    fn pci(&self) -> Option<(Ecam, PciWindows)> {
        // SAFETY: the ECAM window of this machine (§14.1), reached through
        // KSEG1 (it lies below 512 MiB); the firmware calls this once.
        let ecam = unsafe { Ecam::new(kseg1(ECAM_PA), ECAM_BUSES) };
        Some((ecam, PciWindows { mem: PCI_MEM_WINDOW, io: PCI_IO_WINDOW }))
    }

    fn rom(&self) -> (&'static [u8], usize) {
        // SAFETY: the boot flash is mapped read-only at ROM_VA for its full
        // size and never changes while the firmware runs.
        let rom = unsafe { core::slice::from_raw_parts(ROM_VA as *const u8, FLASH_SIZE as usize) };
        // SAFETY: a word in the ROM's reset section that xtask wrote when it
        // packed the image (xtask/src/stage.rs); aligned, never written.
        let packed_end = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(__tianshan_rom_image_end)) };
        // An image that was not packed keeps the linker's end.
        let end = match packed_end {
            0 => core::ptr::addr_of!(__rom_end) as u64 - ROM_VA,
            n => n,
        };
        (rom, tianshan_rom_image_align(end as usize))
    }

    fn phys_to_virt(&self, pa: u64) -> u64 {
        addr::cached(pa)
    }

    fn virt_to_phys(&self, va: u64) -> Option<u64> {
        addr::virt_to_phys(va)
    }

    fn counter(&self) -> u32 {
        cp0::count()
    }

    fn counter_hz(&self, cpu_hz: u64) -> u64 {
        // Count runs at half the CPU clock (CCRes = 2), §13.
        cpu_hz / 2
    }

    fn wall_clock_ns(&self) -> Option<u64> {
        // SAFETY: RTC_PA is the goldfish RTC (§10); reading the time has no
        // side effect.
        Some(unsafe { GoldfishRtc::new(kseg1(RTC_PA)) }.now_ns())
    }

    fn sync_icache(&self, va: u64, len: u64) {
        cache::sync_icache(va, len);
    }

    fn leave_exception_level(&self) {
        // SAFETY: clearing EXL returns to normal kernel mode on the current
        // stack; BEV stays set, so the ROM vectors still catch exceptions.
        unsafe { cp0::set_status(cp0::status() - cp0::Status::EXL) }
    }

    fn power_off(&self) -> ! {
        power_off()
    }

    fn reset(&self) -> ! {
        reset()
    }

    unsafe fn enter_kernel(&self, entry: u64, magic: u64, bootinfo: u64) -> ! {
        // SAFETY: forwarded from the caller.
        unsafe { tianshan_arch_mips64::jump_to_image(entry, magic, bootinfo) }
    }
}

/// The ROM directory sits at the first payload-aligned offset after the
/// firmware image (see `tianshan-rom-image`).
fn tianshan_rom_image_align(firmware_len: usize) -> usize {
    tianshan_rom_image::align_up(firmware_len)
}

impl tianshan_kernel::Board for QemuLoongson3Virt {
    const NAME: &'static str = "qemu-loongson3-virt";
    const UART_IRQ: u32 = UART_IRQ;

    fn install_console(&self) {
        install_uart();
    }

    fn is_handoff_memory(&self, va: u64, len: u64) -> bool {
        // The firmware only ever puts the block in the low RAM alias, which
        // exists whatever -m is (at least 512 MiB).
        match (addr::virt_to_phys(va), va.checked_add(len)) {
            (Some(pa), Some(_)) => va >= addr::KSEG0_BASE && pa.saturating_add(len) <= RAM_LOW_ALIAS_SIZE,
            _ => false,
        }
    }

    fn phys_to_virt(&self, pa: u64) -> u64 {
        addr::cached(pa)
    }

    fn phys_to_virt_uncached(&self, pa: u64) -> u64 {
        addr::kseg1(pa).unwrap_or(addr::xkphys_uncached(pa))
    }

    fn kernel_image(&self) -> (u64, u64) {
        let start = core::ptr::addr_of!(__kernel_start) as u64;
        let end = core::ptr::addr_of!(__kernel_end) as u64;
        (start - KSEG0, end - KSEG0)
    }

    fn kernel_text(&self) -> (u64, u64) {
        (core::ptr::addr_of!(__kernel_start) as u64, core::ptr::addr_of!(__text_end) as u64)
    }

    fn interrupt_controller(&self) -> Liointc {
        // SAFETY: LIOINTC_PA is the controller on this machine (§12), the
        // kernel calls this once, and nothing else programs it.
        unsafe { Liointc::new(addr::xkphys_uncached(LIOINTC_PA) as usize) }
    }

    fn interrupt_controller_core(&self, cpu_count: u32, boot_cpu: u32) -> u32 {
        // QEMU 10.0.2 creates vCPUs in reverse order: the core with
        // EBase.CPUNum n is wired to LIOINTC core N-1-n (§15.4, verified by
        // the -smp 2 console test in qemu-tests).
        let n = cpu_count.clamp(1, tianshan_drivers::liointc::CORES);
        n - 1 - boot_cpu.min(n - 1)
    }

    fn rtc(&self) -> GoldfishRtc {
        // SAFETY: RTC_PA is the goldfish RTC (§10); reading time has no
        // side effect another user could notice.
        unsafe { GoldfishRtc::new(kseg1(RTC_PA)) }
    }

    fn install_trap_vectors(&self) {
        let vectors = core::ptr::addr_of!(__kernel_vectors) as u64;
        // SAFETY: `__kernel_vectors` is the 4 KiB-aligned vector page that
        // `kernel_entry!` emits, in KSEG0; once EBase points at it, BEV can
        // be cleared.
        unsafe {
            cp0::set_ebase(vectors);
            cp0::set_status(cp0::status() - cp0::Status::BEV);
        }
    }

    fn counter(&self) -> u32 {
        cp0::count()
    }

    fn power_off(&self) -> ! {
        power_off()
    }

    fn reset(&self) -> ! {
        reset()
    }

    fn halt(&self) -> ! {
        tianshan_arch_mips64::halt()
    }

    fn exit_emulator(&self, code: i32) {
        semihosting::exit(code);
    }
}

//! What the kernel needs from a board.

use tianshan_drivers::liointc::Liointc;
use tianshan_drivers::rtc::GoldfishRtc;

/// A board the kernel can run on.
pub trait Board: Sync {
    /// Board name, as in `boards/<name>`.
    const NAME: &'static str;
    /// Interrupt controller input of the console UART.
    const UART_IRQ: u32;
    /// Sets up the console at the board's known address; `print!` works
    /// afterwards. (The boot info describes the console too; the board's
    /// own knowledge is what lets the kernel report a bad boot info.)
    fn install_console(&self);
    /// True when `[va, va + len)` is RAM the firmware could have placed the
    /// boot-info block in, so the kernel may read it.
    fn is_handoff_memory(&self, va: u64, len: u64) -> bool;
    /// A cached virtual address for physical address `pa`.
    fn phys_to_virt(&self, pa: u64) -> u64;
    /// An uncached virtual address for physical address `pa`.
    fn phys_to_virt_uncached(&self, pa: u64) -> u64;
    /// The physical range `[start, end)` the kernel image occupies.
    fn kernel_image(&self) -> (u64, u64);
    /// The virtual range `[start, end)` of the kernel's code.
    fn kernel_text(&self) -> (u64, u64);
    /// Points the CPU's exceptions at the kernel's vectors.
    fn install_trap_vectors(&self);
    /// The interrupt controller (called once).
    fn interrupt_controller(&self) -> Liointc;
    /// The controller's index for the boot CPU, given the CPU count and
    /// the boot CPU's number as the boot info reports them.
    fn interrupt_controller_core(&self, cpu_count: u32, boot_cpu: u32) -> u32;
    /// The real-time clock (called when needed).
    fn rtc(&self) -> GoldfishRtc;
    /// Free-running cycle counter (CP0 Count).
    fn counter(&self) -> u32;
    /// Powers off.
    fn power_off(&self) -> !;
    /// Resets.
    fn reset(&self) -> !;
    /// Stops this core for good.
    fn halt(&self) -> !;
    /// Ends an emulated run with `code` as the emulator's exit status
    /// (self-tests); returns if the platform cannot do that.
    fn exit_emulator(&self, code: i32);
}

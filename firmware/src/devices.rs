//! Device discovery: PCIe enumeration and resource assignment.
//!
//! Every function on every bus (behind bridges too) is found, its BARs are
//! sized and placed in the board's windows, and memory/I/O decoding and bus
//! mastering are enabled; the result is the device table `lspci` prints.
//! Problems (a BAR that does not fit, say) are reported and the device is
//! left disabled; the boot goes on.
//!
//! The ECAM window is kept afterwards (`with_ecam`) for drivers that bring
//! up a device the table lists, such as the virtio-blk disks (`disk`); they
//! use the BARs assigned here and never re-assign them.

use crate::board::Board;
use spin::{Mutex, Once};
use tianshan_drivers::ecam::Ecam;
use tianshan_drivers::println;
use tianshan_pci::{Enumeration, Window};

static PCI: Once<Enumeration> = Once::new();
static ECAM: Once<Mutex<Ecam>> = Once::new();

/// Enumerates PCI (once) and prints a one-line summary and any problems.
pub fn init<B: Board>(board: &B) {
    let Some((mut ecam, windows)) = board.pci() else {
        println!("devices: no PCI host on this board");
        return;
    };
    let max_bus = ecam.max_bus();
    let e = PCI.call_once(|| {
        tianshan_pci::configure(
            &mut ecam,
            max_bus,
            Window::new(windows.mem.0, windows.mem.1),
            Window::new(windows.io.0, windows.io.1),
        )
    });
    println!(
        "devices: {} PCI function{}, buses 0..{}",
        e.devices.len(),
        if e.devices.len() == 1 { "" } else { "s" },
        e.last_bus
    );
    for p in e.problems.iter() {
        println!("devices: {p}");
    }
    ECAM.call_once(|| Mutex::new(ecam));
}

/// Runs `f` with the configuration space, if discovery ran.
pub fn with_ecam<R>(f: impl FnOnce(&mut Ecam) -> R) -> Option<R> {
    ECAM.get().map(|ecam| f(&mut ecam.lock()))
}

/// The enumeration, if it ran.
pub fn pci() -> Option<&'static Enumeration> {
    PCI.get()
}

/// The device table as the boot-info block describes it.
pub fn boot_info_devices<B: Board>(board: &B) -> alloc::vec::Vec<tianshan_bootinfo::Device> {
    let Some(e) = pci() else { return alloc::vec::Vec::new() };
    e.devices
        .iter()
        .map(|f| {
            let mem =
                f.bars.iter().flatten().find(|b| !matches!(b.kind, tianshan_pci::BarKind::Io) && b.address.is_some());
            tianshan_bootinfo::Device {
                bdf: u32::from(f.bdf.bus) << 16 | u32::from(f.bdf.device) << 8 | u32::from(f.bdf.function),
                vendor: f.vendor,
                device: f.device,
                class: u32::from(f.class.base) << 16 | u32::from(f.class.sub) << 8 | u32::from(f.class.prog_if),
                irq: f.root_intx.map_or(tianshan_bootinfo::NO_IRQ, |r| board.pci_irq_line(r.gpex_irq())),
                mem_base: mem.and_then(|b| b.address).unwrap_or(0),
                mem_size: mem.map_or(0, |b| b.size),
            }
        })
        .collect()
}

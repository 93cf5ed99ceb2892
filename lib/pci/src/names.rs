//! Short names for the devices and classes this machine is likely to show.
//!
//! Only for listings: nothing decides behaviour on these names. IDs are from
//! the PCI ID registry and the virtio 1.x specification §4.1.2 (PCI device
//! discovery); class codes from the PCI Code and ID Assignment Specification.

use crate::table::ClassCode;

/// Red Hat / Qumranet, the virtio vendor.
pub const VENDOR_VIRTIO: u16 = 0x1AF4;
/// Red Hat, QEMU's own emulated devices.
pub const VENDOR_REDHAT_QEMU: u16 = 0x1B36;
/// Cirrus Logic.
pub const VENDOR_CIRRUS: u16 = 0x1013;
/// Apple (QEMU's OHCI controller uses this vendor).
pub const VENDOR_APPLE: u16 = 0x106B;

/// Virtio device type (virtio 1.x §5) to name.
fn virtio_type_name(device_type: u16) -> &'static str {
    match device_type {
        1 => "virtio-net",
        2 => "virtio-blk",
        3 => "virtio-console",
        4 => "virtio-rng",
        5 => "virtio-balloon",
        8 => "virtio-scsi",
        9 => "virtio-9p",
        16 => "virtio-gpu",
        18 => "virtio-input",
        19 => "virtio-vsock",
        26 => "virtio-fs",
        _ => "virtio",
    }
}

/// A short name for a function, from its IDs first and its class second;
/// `None` when neither is known.
pub fn device_name(vendor: u16, device: u16, class: ClassCode) -> Option<&'static str> {
    let by_id = match (vendor, device) {
        // Transitional devices: 0x1000 + (legacy id − 1), virtio 1.x §4.1.2.1.
        (VENDOR_VIRTIO, 0x1000) => Some("virtio-net"),
        (VENDOR_VIRTIO, 0x1001) => Some("virtio-blk"),
        (VENDOR_VIRTIO, 0x1002) => Some("virtio-balloon"),
        (VENDOR_VIRTIO, 0x1003) => Some("virtio-console"),
        (VENDOR_VIRTIO, 0x1004) => Some("virtio-scsi"),
        (VENDOR_VIRTIO, 0x1005) => Some("virtio-rng"),
        (VENDOR_VIRTIO, 0x1009) => Some("virtio-9p"),
        (VENDOR_VIRTIO, 0x1000..=0x103F) => Some("virtio"),
        // Modern devices: 0x1040 + virtio device type.
        (VENDOR_VIRTIO, 0x1040..=0x107F) => Some(virtio_type_name(device - 0x1040)),
        (VENDOR_REDHAT_QEMU, 0x0001) => Some("pci-bridge"),
        (VENDOR_REDHAT_QEMU, 0x0008) => Some("host bridge"),
        (VENDOR_REDHAT_QEMU, 0x000C) => Some("pcie-root-port"),
        (VENDOR_REDHAT_QEMU, 0x000D) => Some("xhci"),
        (VENDOR_CIRRUS, 0x00B8) => Some("cirrus-vga"),
        _ => None,
    };
    by_id.or_else(|| class_name(class))
}

/// A short name for a class code, `None` when not in the table.
pub fn class_name(class: ClassCode) -> Option<&'static str> {
    Some(match (class.base, class.sub, class.prog_if) {
        (0x01, 0x00, _) => "scsi",
        (0x01, 0x01, _) => "ide",
        (0x01, 0x06, _) => "sata",
        (0x01, 0x08, _) => "nvme",
        (0x01, _, _) => "storage",
        (0x02, 0x00, _) => "ethernet",
        (0x02, _, _) => "network",
        (0x03, 0x00, _) => "vga",
        (0x03, _, _) => "display",
        (0x06, 0x00, _) => "host bridge",
        (0x06, 0x01, _) => "isa bridge",
        (0x06, 0x04, _) => "pci bridge",
        (0x06, _, _) => "bridge",
        (0x0C, 0x03, 0x00) => "usb-uhci",
        (0x0C, 0x03, 0x10) => "usb-ohci",
        (0x0C, 0x03, 0x20) => "usb-ehci",
        (0x0C, 0x03, 0x30) => "usb-xhci",
        (0x0C, 0x03, _) => "usb",
        _ => return None,
    })
}

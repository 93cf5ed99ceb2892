//! Configuration-space register offsets and bits used by the enumerator.
//!
//! Sources: "PCI Local Bus Specification, Revision 3.0" (cited as PCI 3.0)
//! for the common header and the type 0 (device) layout, and "PCI-to-PCI
//! Bridge Architecture Specification, Revision 1.2" (cited as PPB 1.2) for
//! the type 1 (bridge) layout. Offsets are bytes from the start of one
//! function's configuration space.

/// Vendor ID, 16 bits; 0xFFFF when no function answers (PCI 3.0 §6.2.1).
pub const PCI_VENDOR_ID: u16 = 0x00;
/// Device ID, 16 bits (PCI 3.0 §6.2.1).
pub const PCI_DEVICE_ID: u16 = 0x02;
/// Command register, 16 bits (PCI 3.0 §6.2.2).
pub const PCI_COMMAND: u16 = 0x04;
/// Status register, 16 bits; error bits are write-1-to-clear (PCI 3.0 §6.2.3).
pub const PCI_STATUS: u16 = 0x06;
/// Revision ID (byte 0x08) and class code (bytes 0x09..0x0B) as one dword
/// (PCI 3.0 §6.2.1).
pub const PCI_CLASS_REVISION: u16 = 0x08;
/// Header type, 8 bits: layout in bits 6:0, multi-function in bit 7
/// (PCI 3.0 §6.2.1).
pub const PCI_HEADER_TYPE: u16 = 0x0E;
/// First Base Address Register; BAR *n* is at `PCI_BAR0 + 4 * n`
/// (PCI 3.0 §6.2.5.1).
pub const PCI_BAR0: u16 = 0x10;
/// Interrupt Line, 8 bits: scratch for software, not used by QEMU's routing
/// (PCI 3.0 §6.2.4).
pub const PCI_INTERRUPT_LINE: u16 = 0x3C;
/// Interrupt Pin, 8 bits: 0 none, 1..4 INTA..INTD (PCI 3.0 §6.2.4).
pub const PCI_INTERRUPT_PIN: u16 = 0x3D;

/// Command bit 0: respond to I/O space accesses (PCI 3.0 §6.2.2).
pub const PCI_COMMAND_IO: u16 = 1 << 0;
/// Command bit 1: respond to memory space accesses (PCI 3.0 §6.2.2).
pub const PCI_COMMAND_MEMORY: u16 = 1 << 1;
/// Command bit 2: may act as a bus master (DMA; for a bridge, forward
/// upstream) (PCI 3.0 §6.2.2).
pub const PCI_COMMAND_MASTER: u16 = 1 << 2;
/// The three decode/master bits the enumerator owns.
pub const PCI_COMMAND_DECODE_MASK: u16 = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;

/// Header type bit 7: the device has functions 1..7 (PCI 3.0 §6.2.1).
pub const PCI_HEADER_MULTI_FUNCTION: u8 = 0x80;
/// Header type bits 6:0: the layout of bytes 0x10..0x3F (PCI 3.0 §6.2.1).
pub const PCI_HEADER_LAYOUT_MASK: u8 = 0x7F;
/// Layout 0: a device with six BARs (PCI 3.0 §6.1).
pub const PCI_HEADER_TYPE_DEVICE: u8 = 0x00;
/// Layout 1: a PCI-to-PCI bridge with two BARs (PPB 1.2 §3.2).
pub const PCI_HEADER_TYPE_BRIDGE: u8 = 0x01;
/// BARs in a type 0 header (PCI 3.0 §6.2.5.1).
pub const PCI_DEVICE_BARS: usize = 6;
/// BARs in a type 1 header (PPB 1.2 §3.2).
pub const PCI_BRIDGE_BARS: usize = 2;

/// BAR bit 0: 1 for an I/O BAR, 0 for a memory BAR (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_IO_SPACE: u32 = 1 << 0;
/// Address bits of an I/O BAR (bits 1:0 are flags) (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_IO_MASK: u32 = !0x3;
/// Memory BAR type field, bits 2:1 (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_MEM_TYPE_MASK: u32 = 0x6;
/// Memory BAR type 00: 32-bit, anywhere below 4 GiB (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_MEM_TYPE_32: u32 = 0x0;
/// Memory BAR type 01: below 1 MiB (PCI 2.x; reserved in PCI 3.0 §6.2.5.1).
/// Treated as 32-bit here: every window this crate assigns from qualifies
/// or the BAR simply gets an address the device cannot decode, so it is
/// reported like any other 32-bit BAR.
pub const PCI_BAR_MEM_TYPE_1M: u32 = 0x2;
/// Memory BAR type 10: 64-bit, uses the next BAR as the upper dword
/// (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_MEM_TYPE_64: u32 = 0x4;
/// Memory BAR bit 3: prefetchable (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_MEM_PREFETCH: u32 = 1 << 3;
/// Address bits of a memory BAR (bits 3:0 are flags) (PCI 3.0 §6.2.5.1).
pub const PCI_BAR_MEM_MASK: u32 = !0xF;

/// Bridge bus numbers as one dword: primary (byte 0x18), secondary (0x19),
/// subordinate (0x1A) and secondary latency timer (0x1B) (PPB 1.2 §3.2.5).
pub const PCI_PRIMARY_BUS: u16 = 0x18;
/// Bridge I/O base (byte 0x1C) and I/O limit (byte 0x1D): address bits
/// 15:12 in bits 7:4, 4 KiB granularity (PPB 1.2 §3.2.5).
pub const PCI_IO_BASE: u16 = 0x1C;
/// Bridge memory base (0x20) and memory limit (0x22): address bits 31:20
/// in bits 15:4, 1 MiB granularity (PPB 1.2 §3.2.5).
pub const PCI_MEMORY_BASE: u16 = 0x20;
/// Bridge prefetchable memory base (0x24) and limit (0x26), same encoding
/// as the memory window (PPB 1.2 §3.2.5).
pub const PCI_PREF_MEMORY_BASE: u16 = 0x24;
/// Upper 32 bits of the prefetchable base (PPB 1.2 §3.2.5).
pub const PCI_PREF_BASE_UPPER32: u16 = 0x28;
/// Upper 32 bits of the prefetchable limit (PPB 1.2 §3.2.5).
pub const PCI_PREF_LIMIT_UPPER32: u16 = 0x2C;
/// Upper 16 bits of the I/O base (0x30) and limit (0x32) (PPB 1.2 §3.2.5).
pub const PCI_IO_BASE_UPPER16: u16 = 0x30;

/// Bridge I/O window granularity: 4 KiB (PPB 1.2 §3.2.5).
pub const BRIDGE_IO_GRANULE: u64 = 0x1000;
/// Bridge memory window granularity: 1 MiB (PPB 1.2 §3.2.5).
pub const BRIDGE_MEM_GRANULE: u64 = 0x10_0000;

//! Fuzz target: the boot-info block, read (`BootInfo::parse`) and written.
//!
//! Input, two uses of the same bytes:
//! - as a block a kernel is handed: when `parse` accepts it, every accessor
//!   answers, and writing the values read (`BootInfoWriter`) and reading
//!   that back gives the same values;
//! - as the firmware's side: `arbitrary` turns the bytes into writer inputs
//!   (memory map, strings, console, timings, devices); a block written from
//!   them must parse, with every value as given, and be exactly `size()`
//!   bytes.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tianshan_bootinfo::{
    BootInfo, BootInfoWriter, Console, Device, MAX_BLOCK_SIZE, MAX_REGIONS, MemoryKind, MemoryMap, Phase,
};

/// Most devices and timings the constructed blocks carry.
const MAX_DEVICES: usize = 32;
const MAX_TIMINGS: usize = 12;
/// Memory-map ABI kinds tried (the known ones and one unknown).
const MAX_KIND: u32 = 8;

/// Everything a block says, owned, for comparing two blocks.
#[derive(Debug, PartialEq)]
struct Contents {
    regions: Vec<(u64, u64, u32)>,
    cmdline: String,
    board: String,
    firmware_version: String,
    console: Console,
    counter_hz: u64,
    timings: Vec<(u32, u64)>,
    cpu_count: u32,
    boot_cpu: u32,
    devices: Vec<Device>,
}

fn contents(info: &BootInfo<'_>) -> Contents {
    Contents {
        regions: info.memory_map().regions().iter().map(|r| (r.base, r.size, r.kind.to_abi())).collect(),
        cmdline: info.cmdline().into(),
        board: info.board().into(),
        firmware_version: info.firmware_version().into(),
        console: info.console(),
        counter_hz: info.counter_hz(),
        timings: info.timings().map(|t| (t.phase_id, t.counter)).collect(),
        cpu_count: info.cpu_count(),
        boot_cpu: info.boot_cpu(),
        devices: info.devices().collect(),
    }
}

/// Writes `writer`'s block and parses it back.
fn write_and_read(writer: &BootInfoWriter<'_>) -> Contents {
    let mut buf = vec![0u8; writer.size()];
    let written = writer.write(&mut buf).expect("a buffer of size() bytes is enough");
    assert_eq!(written, writer.size(), "write() wrote another size than size() said");
    let info = BootInfo::parse(&buf[..written]).unwrap_or_else(|e| panic!("a written block is refused: {e}"));
    assert_eq!(info.size(), written);
    contents(&info)
}

/// Reads a hostile block; if it is accepted, writes its values again.
fn read_hostile(data: &[u8]) {
    let _ = BootInfo::claimed_size(data);
    let Ok(info) = BootInfo::parse(data) else { return };
    let _ = info.version();
    assert!(info.size() <= data.len());
    let read = contents(&info);
    // Only known phases can be written again.
    let Some(timings) = info.timings().map(|t| t.phase.map(|p| (p, t.counter))).collect::<Option<Vec<_>>>() else {
        return;
    };
    let devices: Vec<Device> = info.devices().collect();
    let writer = BootInfoWriter {
        memory_map: info.memory_map(),
        cmdline: info.cmdline(),
        board: info.board(),
        firmware_version: info.firmware_version(),
        console: info.console(),
        counter_hz: info.counter_hz(),
        timings: &timings,
        cpu_count: info.cpu_count(),
        boot_cpu: info.boot_cpu(),
        devices: &devices,
    };
    if writer.size() <= MAX_BLOCK_SIZE {
        assert_eq!(write_and_read(&writer), read, "values changed when written again");
    }
}

fn string(u: &mut Unstructured<'_>) -> Result<String> {
    u.arbitrary()
}

/// Builds writer inputs from the bytes and checks their round trip.
fn round_trip(u: &mut Unstructured<'_>) -> Result<()> {
    let mut map = MemoryMap::new();
    for _ in 0..u.int_in_range(0..=MAX_REGIONS + 2)? {
        let kind = MemoryKind::from_abi(u.int_in_range(0..=MAX_KIND)?);
        let (base, size) = (u.arbitrary()?, u.arbitrary()?);
        // add() refuses overlaps and a full map; carving is tried too.
        if u.arbitrary()? {
            let _ = map.carve(base, size, kind);
        } else {
            let _ = map.add(base, size, kind);
        }
    }
    let (cmdline, board, firmware_version) = (string(u)?, string(u)?, string(u)?);
    let console = if u.arbitrary()? {
        Console::Ns16550 { base: u.arbitrary()?, reg_shift: u.arbitrary()? }
    } else {
        Console::None
    };
    let mut timings = Vec::new();
    for _ in 0..u.int_in_range(0..=MAX_TIMINGS)? {
        timings.push((*u.choose(&Phase::ALL)?, u.arbitrary()?));
    }
    let mut devices = Vec::new();
    for _ in 0..u.int_in_range(0..=MAX_DEVICES)? {
        devices.push(Device {
            bdf: u.arbitrary()?,
            vendor: u.arbitrary()?,
            device: u.arbitrary()?,
            class: u.arbitrary()?,
            irq: u.arbitrary()?,
            mem_base: u.arbitrary()?,
            mem_size: u.arbitrary()?,
        });
    }
    let writer = BootInfoWriter {
        memory_map: &map,
        cmdline: &cmdline,
        board: &board,
        firmware_version: &firmware_version,
        console,
        counter_hz: u.arbitrary()?,
        timings: &timings,
        cpu_count: u.arbitrary()?,
        boot_cpu: u.arbitrary()?,
        devices: &devices,
    };
    let expected = Contents {
        regions: map.regions().iter().map(|r| (r.base, r.size, r.kind.to_abi())).collect(),
        cmdline: cmdline.clone(),
        board: board.clone(),
        firmware_version: firmware_version.clone(),
        console,
        counter_hz: writer.counter_hz,
        timings: timings.iter().map(|&(p, c)| (p as u32, c)).collect(),
        cpu_count: writer.cpu_count,
        boot_cpu: writer.boot_cpu,
        devices: devices.clone(),
    };
    assert_eq!(write_and_read(&writer), expected, "a written block reads back other values");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    read_hostile(data);
    let _ = round_trip(&mut Unstructured::new(data));
});

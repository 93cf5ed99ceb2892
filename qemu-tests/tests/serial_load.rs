//! `loady`: kernels sent by YMODEM and XMODEM-1K over the serial line
//! from the host side of QEMU's console, damaged and cancelled transfers,
//! and a file too large for the load area.

use std::time::Duration;
use tianshan_qemu_tests::{Machine, MachineConfig, gzip, image, scratch_file};
use tianshan_rom_image::{PayloadKind, RomBuilder};
use tianshan_ymodem::send::{self, Link, SendOptions, frame, header};
use tianshan_ymodem::{CAN, CRC_MODE};

/// What `loady` prints when it starts listening.
const READY: &str = "start the send now (Ctrl-C cancels)";
/// A kernel of a few hundred KiB crosses the line in seconds.
const TRANSFER: Duration = Duration::from_secs(120);

/// The firmware at its shell: the ROM's kernel is not one.
fn shell(test: &str) -> Machine {
    let rom = RomBuilder::new(image("firmware.bin"), image("firmware.rom").len())
        .payload("kernel", PayloadKind::Kernel, b"not a kernel".to_vec())
        .build()
        .expect("ROM fits");
    let mut m = Machine::start(&MachineConfig::rom(scratch_file(test, "firmware.rom", &rom)));
    m.expect("tianshan-fw> ");
    m
}

fn loady(m: &mut Machine, line: &str) {
    m.send_line(line);
    m.expect(READY);
}

fn options() -> SendOptions {
    SendOptions { start_timeout: Duration::from_secs(20), ..SendOptions::default() }
}

#[test]
fn loady_boots_our_kernel_by_ymodem() {
    let kernel = image("kernel.stripped.elf");
    let mut m = shell("loady_boots_our_kernel_by_ymodem");
    loady(&mut m, "loady");
    send::send_batch(&mut m, &[("kernel.elf", &kernel)], &options()).expect("YMODEM send");
    m.expect(&format!("loady: received kernel.elf ({} bytes)", kernel.len()));
    m.expect_line_with(&["loady: ", " bytes in ", " KiB/s), 0 packet(s) sent again"], TRANSFER);
    m.expect("loader: ymodem:kernel.elf:");
    m.expect("Tianshan kernel 0.1.0");
    m.expect("tianshan> ");
}

#[test]
fn loady_boots_a_gzip_kernel_by_xmodem() {
    let kernel = image("kernel.stripped.elf");
    let z = gzip(&kernel);
    let mut m = shell("loady_boots_a_gzip_kernel_by_xmodem");
    loady(&mut m, "loady");
    send::send_xmodem(&mut m, &z, &options()).expect("XMODEM send");
    m.expect(&format!("loady: received (xmodem) ({} bytes)", z.len()));
    m.expect(&format!("loader: gzip image, {} bytes decompressed to {}", z.len(), kernel.len()));
    m.expect("tianshan> ");
}

/// Flips one byte of the packet stream, once.
struct Damaging<'m> {
    m: &'m mut Machine,
    sent: usize,
    at: usize,
}

impl Link for Damaging<'_> {
    fn recv(&mut self, timeout: Duration) -> Option<u8> {
        self.m.recv(timeout)
    }
    fn send(&mut self, bytes: &[u8]) {
        let mut bytes = bytes.to_vec();
        if (self.sent..self.sent + bytes.len()).contains(&self.at) {
            bytes[self.at - self.sent] ^= 0x5A;
        }
        self.sent += bytes.len();
        self.m.send_bytes(&bytes);
    }
}

#[test]
fn loady_asks_again_for_a_damaged_packet() {
    let kernel = image("kernel.stripped.elf");
    let mut m = shell("loady_asks_again_for_a_damaged_packet");
    loady(&mut m, "loady");
    // Byte 5000 lies in the fifth data packet.
    let mut link = Damaging { m: &mut m, sent: 0, at: 5000 };
    send::send_batch(&mut link, &[("kernel.elf", &kernel)], &options()).expect("YMODEM send");
    m.expect_line_with(&["loady: ", " KiB/s), 1 packet(s) sent again"], TRANSFER);
    m.expect("tianshan> ");
}

#[test]
fn loady_refuses_a_file_too_large_and_the_shell_goes_on() {
    let mut m = shell("loady_refuses_a_file_too_large_and_the_shell_goes_on");
    loady(&mut m, "loady");
    wait_for_c(&mut m);
    // A header declaring a terabyte: refused before any data moves, and
    // the sender is told with CAN CAN.
    let huge = 1u64 << 40;
    m.send_bytes(&frame(0, &header_declaring("huge.img", huge)));
    wait_for(&mut m, CAN, 2, "CAN CAN from the firmware");
    m.expect_line_with(&[&format!("loady: huge.img is {huge} bytes but only "), "transfer cancelled"], TRANSFER);
    m.expect("tianshan-fw> ");
    m.send_line("version");
    m.expect("Tianshan firmware");
    m.refute("unknown command");
}

fn header_declaring(name: &str, size: u64) -> Vec<u8> {
    let mut h = name.as_bytes().to_vec();
    h.push(0);
    h.extend_from_slice(size.to_string().as_bytes());
    h.resize(128, 0);
    h
}

fn wait_for_c(m: &mut Machine) {
    wait_for(m, CRC_MODE, 1, "loady asking for the transfer ('C')");
}

/// Reads the console until `byte` has come `count` times.
fn wait_for(m: &mut Machine, byte: u8, count: usize, what: &str) {
    let mut seen = 0;
    while seen < count {
        match m.read_byte_within(Duration::from_secs(20)) {
            Some(b) if b == byte => seen += 1,
            Some(_) => {}
            None => panic!("no {what}"),
        }
    }
}

#[test]
fn loady_ctrl_c_cancels_before_the_start() {
    let mut m = shell("loady_ctrl_c_cancels_before_the_start");
    loady(&mut m, "loady");
    m.send_bytes(&[0x03]);
    m.expect("loady: cancelled (Ctrl-C) before the transfer started");
    m.expect("tianshan-fw> ");
}

#[test]
fn loady_reports_a_sender_cancel() {
    let mut m = shell("loady_reports_a_sender_cancel");
    loady(&mut m, "loady");
    wait_for_c(&mut m);
    m.send_bytes(&frame(0, &header(Some(("kernel.elf", 4096)))));
    m.send_bytes(&frame(1, &[0x7F; 1024]));
    m.send_bytes(&[CAN, CAN]);
    m.expect("loady: the sender cancelled the transfer (0 file(s) complete, 1 block(s) of the next)");
    m.expect("tianshan-fw> ");
}

#[test]
fn loady_names_a_refused_kernel() {
    let mut m = shell("loady_names_a_refused_kernel");
    loady(&mut m, "loady");
    send::send_batch(&mut m, &[("junk.bin", b"this is not a kernel at all")], &options()).expect("send");
    m.expect("loady: received junk.bin (27 bytes)");
    m.expect("boot: ymodem:junk.bin: not an ELF file (starts 74 68 69 73, expected 7f 45 4c 46)");
    m.expect("loady: kernel refused");
    m.expect("tianshan-fw> ");
}

#[test]
fn loady_refuses_more_files_than_a_boot_takes() {
    let mut m = shell("loady_refuses_more_files_than_a_boot_takes");
    loady(&mut m, "loady");
    let files: [(&str, &[u8]); 3] = [("a", b"1"), ("b", b"2"), ("c", b"3")];
    send::send_batch(&mut m, &files, &options()).expect("send");
    m.expect("loady: 3 files received; send the kernel and at most one initrd");
    m.expect("tianshan-fw> ");
}

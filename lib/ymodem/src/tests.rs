//! The receiver against the sender over an in-memory line that can drop
//! and damage bytes, and against scripted senders that misbehave.

use super::send::{self, Link, SendError, SendOptions, frame, header};
use super::*;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// Short timings, so a lost packet costs milliseconds.
const FAST: Timeouts = Timeouts { start_poll_ms: 50, start_polls: 40, packet_ms: 200, byte_ms: 50, drain_ms: 20 };
const SENDER: SendOptions =
    SendOptions { start_timeout: Duration::from_secs(5), answer_timeout: Duration::from_millis(500), tries: 10 };

/// What a fault does to the byte at an index of one direction's stream:
/// `None` drops it.
type FaultFn = Box<dyn FnMut(usize, u8) -> Option<u8> + Send>;

/// One end of the line.
struct End {
    rx: Receiver<u8>,
    tx: Sender<u8>,
    sent: usize,
    fault: Option<FaultFn>,
    /// Everything this end sent (before faults).
    log: Vec<u8>,
}

impl End {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.log.push(b);
            let i = self.sent;
            self.sent += 1;
            let b = match self.fault.as_mut() {
                Some(f) => f(i, b),
                None => Some(b),
            };
            if let Some(b) = b {
                // The other end may be gone (it finished or gave up).
                let _ = self.tx.send(b);
            }
        }
    }
}

impl Port for End {
    fn read_byte(&mut self, timeout_ms: u32) -> Option<u8> {
        self.rx.recv_timeout(Duration::from_millis(u64::from(timeout_ms))).ok()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }
}

impl Link for End {
    fn recv(&mut self, timeout: Duration) -> Option<u8> {
        self.rx.recv_timeout(timeout).ok()
    }
    fn send(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }
}

fn line(to_receiver: Option<FaultFn>, to_sender: Option<FaultFn>) -> (End, End) {
    let (a_tx, a_rx) = channel();
    let (b_tx, b_rx) = channel();
    let receiver = End { rx: a_rx, tx: b_tx, sent: 0, fault: to_sender, log: Vec::new() };
    let sender = End { rx: b_rx, tx: a_tx, sent: 0, fault: to_receiver, log: Vec::new() };
    (receiver, sender)
}

/// Deterministic test data.
fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Runs a YMODEM send of `files` in a thread against `receive` into a
/// buffer of `room` bytes.
fn transfer(
    files: Vec<(String, Vec<u8>)>,
    room: usize,
    to_receiver: Option<FaultFn>,
    to_sender: Option<FaultFn>,
) -> (Result<Batch, Error>, Vec<u8>, Result<(), SendError>, End) {
    let (mut rx_end, mut tx_end) = line(to_receiver, to_sender);
    let sender = std::thread::spawn(move || {
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        send::send_batch(&mut tx_end, &refs, &SENDER)
    });
    let mut buf = vec![0u8; room];
    let result = receive(&mut rx_end, &mut buf, FAST);
    let sent = sender.join().expect("sender thread");
    (result, buf, sent, rx_end)
}

#[test]
fn batch_of_kernel_and_initrd_arrives_intact() {
    let kernel = data(300 * 1024 + 17, 1); // more than 256 blocks: the number wraps
    let initrd = data(130, 2);
    let files = vec![("vmlinux".to_string(), kernel.clone()), ("initrd.img".to_string(), initrd.clone())];
    let (result, buf, sent, _) = transfer(files, 1 << 20, None, None);
    sent.expect("send");
    let batch = result.expect("receive");
    assert!(!batch.xmodem);
    assert_eq!(batch.retries, 0);
    let f = batch.files();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].name.as_str(), "vmlinux");
    assert_eq!(f[0].declared, Some(kernel.len()));
    assert_eq!(f[0].bytes(&buf), &kernel[..]);
    assert_eq!(f[1].name.as_str(), "initrd.img");
    assert_eq!(f[1].offset % 8, 0);
    assert!(f[1].offset >= f[0].offset + kernel.len());
    assert_eq!(f[1].bytes(&buf), &initrd[..]);
    assert_eq!(batch.end(), f[1].offset + initrd.len());
}

#[test]
fn empty_file_in_a_batch() {
    let files = vec![("empty".to_string(), Vec::new()), ("one".to_string(), vec![7])];
    let (result, buf, sent, _) = transfer(files, 4096, None, None);
    sent.expect("send");
    let batch = result.expect("receive");
    assert_eq!(batch.files()[0].len, 0);
    assert_eq!(batch.files()[1].bytes(&buf), &[7]);
}

#[test]
fn damaged_byte_is_asked_for_again() {
    let kernel = data(5000, 3);
    // Byte 2000 of the stream lies inside the second data packet.
    let flip: FaultFn = Box::new(|i, b| Some(if i == 2000 { b ^ 0x40 } else { b }));
    let (result, buf, sent, rx_end) = transfer(vec![("k".to_string(), kernel.clone())], 1 << 16, Some(flip), None);
    sent.expect("send");
    let batch = result.expect("receive");
    assert_eq!(batch.files()[0].bytes(&buf), &kernel[..]);
    assert_eq!(batch.retries, 1);
    assert_eq!(rx_end.log.iter().filter(|&&b| b == NAK).count(), 1, "one NAK");
}

#[test]
fn lost_bytes_are_asked_for_again() {
    let kernel = data(5000, 4);
    let drop: FaultFn = Box::new(|i, b| if (1500..1550).contains(&i) { None } else { Some(b) });
    let (result, buf, sent, _) = transfer(vec![("k".to_string(), kernel.clone())], 1 << 16, Some(drop), None);
    sent.expect("send");
    let batch = result.expect("receive");
    assert_eq!(batch.files()[0].bytes(&buf), &kernel[..]);
    assert!(batch.retries >= 1);
}

#[test]
fn repeated_block_after_a_lost_ack_is_stored_once() {
    let kernel = data(4 * 1024, 5);
    // The receiver sends C (start), ACK + C (header), then ACKs: drop the
    // ACK of data block 2 (the 5th byte the receiver sends).
    let drop_ack: FaultFn = Box::new(|i, b| if i == 4 { None } else { Some(b) });
    let (result, buf, sent, rx_end) = transfer(vec![("k".to_string(), kernel.clone())], 1 << 16, None, Some(drop_ack));
    sent.expect("send");
    let batch = result.expect("receive");
    // Header, 4 blocks, EOT, end of batch, and one more for the repeat.
    assert_eq!(rx_end.log.iter().filter(|&&b| b == ACK).count(), 8);
    assert_eq!(batch.files()[0].len, kernel.len());
    assert_eq!(batch.files()[0].bytes(&buf), &kernel[..]);
}

#[test]
fn file_larger_than_the_room_is_refused_from_its_header() {
    let (result, _, sent, rx_end) = transfer(vec![("big".to_string(), data(10_000, 6))], 4096, None, None);
    match result {
        Err(Error::TooLarge { name, size: Some(10_000), room: 4096 }) => assert_eq!(name.as_str(), "big"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(sent, Err(SendError::Cancelled));
    assert!(rx_end.log.ends_with(&[CAN, CAN, CAN]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "big is 10000 bytes but only 4096 bytes of the load area are left; transfer cancelled"
    );
}

#[test]
fn damaged_every_time_gives_up_after_ten() {
    let garble: FaultFn = Box::new(|i, b| Some(if i > 140 && i % 200 == 0 { b ^ 1 } else { b }));
    let (result, _, sent, _) = transfer(vec![("k".to_string(), data(3000, 7))], 1 << 16, Some(garble), None);
    match result {
        Err(Error::TooManyErrors { block: 1, fault: Fault::BadCrc { .. } }) => {}
        other => panic!("expected TooManyErrors at block 1, got {other:?}"),
    }
    assert!(sent.is_err());
}

#[test]
fn xmodem_file_has_its_padding_removed() {
    let file = data(1000, 8);
    let (mut rx_end, mut tx_end) = line(None, None);
    let f2 = file.clone();
    let sender = std::thread::spawn(move || send::send_xmodem(&mut tx_end, &f2, &SENDER));
    let mut buf = vec![0u8; 4096];
    let batch = receive(&mut rx_end, &mut buf, FAST).expect("receive");
    sender.join().expect("thread").expect("send");
    assert!(batch.xmodem);
    assert_eq!(batch.files().len(), 1);
    assert_eq!(batch.files()[0].name, Name::XMODEM);
    assert_eq!(batch.files()[0].declared, None);
    assert_eq!(batch.files()[0].bytes(&buf), &file[..]);
}

/// Runs the receiver on bytes queued up front (a sender that does not
/// listen); returns the result and what the receiver sent.
fn scripted(input: &[u8], room: usize) -> (Result<Batch, Error>, Vec<u8>) {
    let (mut rx_end, mut tx_end) = line(None, None);
    tx_end.send(input);
    let mut buf = vec![0u8; room];
    let r = receive(&mut rx_end, &mut buf, FAST);
    (r, rx_end.log)
}

fn script(packets: &[Vec<u8>]) -> Vec<u8> {
    packets.concat()
}

#[test]
fn sender_cancel_is_reported_with_the_progress() {
    let input = script(&[frame(0, &header(Some(("k", 4096)))), frame(1, &[1; 1024]), vec![CAN, CAN]]);
    let (r, _) = scripted(&input, 1 << 16);
    assert_eq!(r.unwrap_err(), Error::CancelledBySender { files: 0, blocks: 1 });
}

#[test]
fn skipped_block_cancels() {
    let input = script(&[frame(0, &header(Some(("k", 4096)))), frame(2, &[1; 1024])]);
    let (r, log) = scripted(&input, 1 << 16);
    assert_eq!(r.unwrap_err(), Error::OutOfSequence { expected: 1, got: 2 });
    assert!(log.ends_with(&CANCEL_BYTES));
}

const CANCEL_BYTES: [u8; 3] = [CAN; 3];

#[test]
fn file_ended_early_is_truncated() {
    let input = script(&[frame(0, &header(Some(("k", 5000)))), frame(1, &[1; 1024]), vec![EOT]]);
    let (r, _) = scripted(&input, 1 << 16);
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "k: the sender ended the file after 1024 of its 5000 bytes");
}

#[test]
fn xmodem_overflow_names_the_room() {
    let input = script(&[frame(1, &[1; 1024]), frame(2, &[2; 1024])]);
    let (r, _) = scripted(&input, 1500);
    assert_eq!(r.unwrap_err(), Error::TooLarge { name: Name::XMODEM, size: None, room: 1500 });
}

#[test]
fn too_many_files() {
    let mut packets = Vec::new();
    for _ in 0..=receive::MAX_FILES {
        packets.push(frame(0, &header(Some(("f", 1)))));
        packets.push(frame(1, &[9]));
        packets.push(vec![EOT]);
    }
    let (r, _) = scripted(&script(&packets), 1 << 16);
    assert_eq!(r.unwrap_err(), Error::TooManyFiles);
}

#[test]
fn bad_headers_are_refused() {
    let mut no_nul = vec![b'x'; 128];
    no_nul[127] = b'y';
    let mut bad_size = b"k\x0012a4\x00".to_vec();
    bad_size.resize(128, 0);
    let mut huge = b"k\x0099999999999999999999999\x00".to_vec();
    huge.resize(128, 0);
    for (block, why) in [
        (no_nul, "the file name has no terminating NUL"),
        (bad_size, "the file size is not a decimal number"),
        (huge, "the file size does not fit in an address"),
    ] {
        let (r, _) = scripted(&frame(0, &block), 1 << 16);
        assert_eq!(r.unwrap_err(), Error::BadHeader(why));
    }
}

#[test]
fn header_with_modification_time_and_no_size() {
    let mut with_mtime = b"vmlinux\x00321 14571234567 100644\x00".to_vec();
    with_mtime.resize(128, 0);
    let mut no_size = b"blob\x00\x00".to_vec();
    no_size.resize(128, 0);
    let mut d = vec![5u8; 200];
    d.resize(1024, SUB);
    let input = script(&[
        frame(0, &with_mtime),
        frame(1, &[3; 321]),
        vec![EOT],
        frame(0, &no_size),
        frame(1, &d),
        vec![EOT],
        frame(0, &header(None)),
    ]);
    let mut buf = vec![0u8; 1 << 16];
    let (mut rx_end, mut tx_end) = line(None, None);
    tx_end.send(&input);
    let batch = receive(&mut rx_end, &mut buf, FAST).expect("receive");
    assert_eq!(batch.files()[0].bytes(&buf), &[3u8; 321][..]);
    assert_eq!(batch.files()[1].declared, None);
    assert_eq!(batch.files()[1].bytes(&buf), &[5u8; 200][..]);
}

#[test]
fn nobody_sending_times_out() {
    let (mut rx_end, _tx_end) = line(None, None);
    let t = Timeouts { start_polls: 3, ..FAST };
    let r = receive(&mut rx_end, &mut [0u8; 16], t);
    assert_eq!(r.unwrap_err(), Error::NoSender { waited_ms: 150 });
    assert_eq!(rx_end.log, vec![CRC_MODE; 3]);
}

#[test]
fn ctrl_c_before_the_start_cancels() {
    let (r, _) = scripted(&[b'\r', CTRL_C], 16);
    assert_eq!(r.unwrap_err(), Error::CancelledByUser);
}

#[test]
fn drain_swallows_a_cancelled_senders_tail() {
    // After the refusal the sender's next packet is still on the line; the
    // receiver reads it away instead of leaving it for the shell.
    let input = script(&[frame(0, &header(Some(("k", 1 << 20)))), frame(1, &[1; 1024])]);
    let (mut rx_end, mut tx_end) = line(None, None);
    tx_end.send(&input);
    let r = receive(&mut rx_end, &mut [0u8; 4096], FAST);
    assert!(matches!(r, Err(Error::TooLarge { .. })));
    assert!(rx_end.rx.try_recv().is_err(), "the line was drained");
}

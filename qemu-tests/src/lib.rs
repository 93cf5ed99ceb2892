//! A harness that boots Tianshan images in QEMU and talks over the serial
//! line, for tests that run on the host.
//!
//! Every wait has a deadline; every QEMU is killed when its `Machine` is
//! dropped, on every path, so no process outlives its test; a test that
//! fails prints the whole serial transcript. Tests find the images and
//! QEMU through the environment `cargo xtask test` sets
//! (`TIANSHAN_IMAGES`, `TIANSHAN_QEMU`, `TIANSHAN_QEMU_ARGS`).
//!
//! [`disk`] builds the FAT disk images the disk-boot tests and `cargo xtask
//! bench linux` attach.

pub mod disk;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// fw_cfg name of the firmware configuration.
pub const CONFIG_FILE: &str = "opt/tianshan/config";

/// Default deadline for one `expect`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where `cargo xtask test` put the images.
pub fn image_dir() -> PathBuf {
    match std::env::var_os("TIANSHAN_IMAGES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/images/qemu-loongson3-virt"),
    }
}

/// Reads an image the build produced, with a hint when it is missing.
pub fn image(name: &str) -> Vec<u8> {
    let path = image_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; run the QEMU tests through `cargo xtask test`, which builds the images first", path.display())
    })
}

/// This test's scratch directory `name`, emptied.
pub fn scratch_dir(test: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qemu-tests").join(test).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs a host tool and returns its standard output; a tool that cannot
/// start or fails stops the test with its command line and output.
pub fn run_tool(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `bytes` to a fresh file in this test's scratch directory.
pub fn scratch_file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qemu-tests").join(test);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

/// How to start one machine.
#[derive(Clone, Debug)]
pub struct MachineConfig {
    /// The ROM image given as `-bios` (or `None` with `kernel`).
    pub rom: Option<PathBuf>,
    /// A kernel for QEMU's own `-kernel` boot.
    pub kernel: Option<PathBuf>,
    /// `-initrd` for QEMU's own `-kernel` boot.
    pub initrd: Option<PathBuf>,
    /// `-append` (the command line) for QEMU's own `-kernel` boot.
    pub append: Option<String>,
    /// `-m`.
    pub memory: String,
    /// `-smp`.
    pub cpus: u32,
    /// `-fw_cfg name=...,file=...` pairs.
    pub fw_cfg_files: Vec<(String, PathBuf)>,
    /// `-fw_cfg name=...,string=...` pairs.
    pub fw_cfg_strings: Vec<(String, String)>,
    /// Raw disk images, attached as virtio-blk.
    pub disks: Vec<PathBuf>,
    /// Anything else.
    pub extra: Vec<String>,
    /// The QEMU binary and the board's machine arguments; `None` reads
    /// `TIANSHAN_QEMU` and `TIANSHAN_QEMU_ARGS` (set by `cargo xtask test`).
    pub qemu: Option<(PathBuf, Vec<String>)>,
}

impl MachineConfig {
    /// Boots `rom` with 1 GiB and one CPU, and a firmware configuration
    /// of `bootdelay=0` (no countdown), which a test may replace.
    pub fn rom(rom: impl AsRef<Path>) -> Self {
        MachineConfig {
            rom: Some(rom.as_ref().to_path_buf()),
            kernel: None,
            initrd: None,
            append: None,
            memory: "1G".into(),
            cpus: 1,
            fw_cfg_files: vec![],
            fw_cfg_strings: vec![(CONFIG_FILE.into(), "bootdelay=0".into())],
            disks: vec![],
            extra: vec![],
            qemu: None,
        }
    }

    /// Replaces the firmware configuration with the file at `path`.
    pub fn config_file(&mut self, path: PathBuf) {
        self.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
        self.fw_cfg_files.retain(|(n, _)| n != CONFIG_FILE);
        self.fw_cfg_files.push((CONFIG_FILE.into(), path));
    }

    /// The command line this configuration runs.
    pub fn command(&self) -> Command {
        let (qemu, board_args) = match &self.qemu {
            Some((binary, args)) => (binary.clone(), args.clone()),
            None => (
                PathBuf::from(std::env::var("TIANSHAN_QEMU").unwrap_or_else(|_| "qemu-system-mips64el".into())),
                std::env::var("TIANSHAN_QEMU_ARGS")
                    .unwrap_or_else(|_| "-M loongson3-virt -m 1G -nodefaults -display none".into())
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            ),
        };
        let mut cmd = Command::new(qemu);
        cmd.args(board_args);
        // A later -m overrides the board's default.
        cmd.args(["-m", &self.memory, "-smp", &self.cpus.to_string()]);
        cmd.args(["-serial", "stdio", "-monitor", "none", "-semihosting", "-no-reboot"]);
        if let Some(rom) = &self.rom {
            cmd.arg("-bios").arg(rom);
        }
        if let Some(kernel) = &self.kernel {
            cmd.arg("-kernel").arg(kernel);
        }
        if let Some(initrd) = &self.initrd {
            cmd.arg("-initrd").arg(initrd);
        }
        if let Some(append) = &self.append {
            cmd.arg("-append").arg(append);
        }
        for (name, file) in &self.fw_cfg_files {
            cmd.arg("-fw_cfg").arg(format!("name={name},file={}", file.display()));
        }
        for (name, s) in &self.fw_cfg_strings {
            cmd.arg("-fw_cfg").arg(format!("name={name},string={s}"));
        }
        for (i, disk) in self.disks.iter().enumerate() {
            cmd.arg("-drive").arg(format!("file={},if=none,format=raw,id=disk{i}", disk.display()));
            cmd.arg("-device").arg(format!("virtio-blk-pci,drive=disk{i}"));
        }
        cmd.args(&self.extra);
        cmd
    }
}

#[derive(Default)]
struct Serial {
    bytes: Vec<u8>,
    closed: bool,
}

/// A running QEMU.
pub struct Machine {
    child: Child,
    stdin: Option<ChildStdin>,
    serial: Arc<(Mutex<Serial>, Condvar)>,
    /// How far `expect` has consumed the transcript.
    cursor: usize,
    command_line: String,
}

impl Machine {
    /// Starts QEMU.
    pub fn start(config: &MachineConfig) -> Machine {
        let mut cmd = config.command();
        let command_line = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start QEMU ({command_line}): {e}"));
        let serial = Arc::new((Mutex::new(Serial::default()), Condvar::new()));
        for mut stream in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let serial = Arc::clone(&serial);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    let (lock, cvar) = &*serial;
                    let mut s = lock.lock().expect("serial lock");
                    if n == 0 {
                        s.closed = true;
                        cvar.notify_all();
                        return;
                    }
                    s.bytes.extend_from_slice(&buf[..n]);
                    cvar.notify_all();
                }
            });
        }
        let stdin = child.stdin.take();
        Machine { child, stdin, serial, cursor: 0, command_line }
    }

    /// Everything the machine printed so far (serial and QEMU's stderr).
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.serial.0.lock().expect("serial lock").bytes).into_owned()
    }

    /// Waits until `text` appears after what earlier expects consumed.
    pub fn expect(&mut self, text: &str) {
        self.expect_within(text, DEFAULT_TIMEOUT)
    }

    /// `expect` with an explicit deadline.
    pub fn expect_within(&mut self, text: &str, timeout: Duration) {
        self.wait_for(&format!("{text:?}"), timeout, |b| find(b, text.as_bytes()).map(|at| (at + text.len(), ())))
    }

    /// Waits for whichever of `texts` appears first after what earlier
    /// expects consumed; returns its index.
    pub fn expect_any_within(&mut self, texts: &[&str], timeout: Duration) -> usize {
        self.wait_for(&format!("one of {texts:?}"), timeout, |b| {
            texts
                .iter()
                .enumerate()
                .filter_map(|(i, t)| find(b, t.as_bytes()).map(|at| (at, i, t.len())))
                .min_by_key(|&(at, _, _)| at)
                .map(|(at, i, len)| (at + len, i))
        })
    }

    /// Waits for a whole line that contains `prefix`; returns the rest of
    /// that line after it (without the line ending).
    pub fn expect_line_within(&mut self, prefix: &str, timeout: Duration) -> String {
        self.wait_for(&format!("a line with {prefix:?}"), timeout, |b| {
            let at = find(b, prefix.as_bytes())?;
            let rest = &b[at + prefix.len()..];
            let end = rest.iter().position(|&c| c == b'\n')?;
            let line = String::from_utf8_lossy(&rest[..end]).trim_end_matches('\r').to_string();
            Some((at + prefix.len() + end + 1, line))
        })
    }

    /// Waits for a whole line that contains every one of `parts`; returns
    /// the line (without the line ending).
    pub fn expect_line_with(&mut self, parts: &[&str], timeout: Duration) -> String {
        self.wait_for(&format!("a line with all of {parts:?}"), timeout, |b| {
            let mut start = 0;
            while let Some(len) = b[start..].iter().position(|&c| c == b'\n') {
                let line = String::from_utf8_lossy(&b[start..start + len]).trim_end_matches('\r').to_string();
                start += len + 1;
                if parts.iter().all(|p| line.contains(p)) {
                    return Some((start, line));
                }
            }
            None
        })
    }

    /// Waits until `found` recognises something in the output after what
    /// earlier expects consumed. `found` returns how many of those bytes
    /// it consumed and the value to return; `what` names it for the panic
    /// at the deadline.
    fn wait_for<T>(&mut self, what: &str, timeout: Duration, mut found: impl FnMut(&[u8]) -> Option<(usize, T)>) -> T {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.serial;
        let mut s = lock.lock().expect("serial lock");
        loop {
            if let Some((consumed, value)) = found(&s.bytes[self.cursor..]) {
                self.cursor += consumed;
                return value;
            }
            let now = Instant::now();
            if s.closed || now >= deadline {
                let why = if s.closed { "QEMU exited" } else { "timed out" };
                drop(s);
                panic!("expected {what} ({why} after {timeout:?})");
            }
            s = cvar.wait_timeout(s, deadline - now).expect("serial lock").0;
        }
    }

    /// Asserts that `text` does not appear in what was printed so far.
    pub fn refute(&self, text: &str) {
        let t = self.transcript();
        assert!(!t.contains(text), "unexpected {text:?} in the output");
    }

    /// The next byte the machine prints after what earlier reads and
    /// expects consumed, waiting up to `timeout`; `None` at the deadline or
    /// when QEMU has exited.
    pub fn read_byte_within(&mut self, timeout: Duration) -> Option<u8> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.serial;
        let mut s = lock.lock().expect("serial lock");
        loop {
            if let Some(&b) = s.bytes.get(self.cursor) {
                self.cursor += 1;
                return Some(b);
            }
            let now = Instant::now();
            if s.closed || now >= deadline {
                return None;
            }
            s = cvar.wait_timeout(s, deadline - now).expect("serial lock").0;
        }
    }

    /// Sends raw bytes to the serial line.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).and_then(|_| stdin.flush()).expect("write to QEMU");
    }

    /// Types a line (with CR, as a terminal sends Enter).
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(line.as_bytes())
            .and_then(|_| stdin.write_all(b"\r"))
            .and_then(|_| stdin.flush())
            .expect("write to QEMU");
    }

    /// Waits for QEMU to exit; panics at the deadline.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for QEMU") {
                return status;
            }
            if Instant::now() >= deadline {
                panic!("QEMU did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len().max(1)).position(|w| w == needle)
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- QEMU command: {}", self.command_line);
            eprintln!("---- serial transcript ----\n{}\n---- end of transcript ----", self.transcript());
        }
    }
}

/// `data` as a gzip member (RFC 1952): no name or other optional fields,
/// OS "Unix", CRC-32 and length in the trailer.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The serial line as a YMODEM sender's link (the firmware's `loady`).
impl tianshan_ymodem::send::Link for Machine {
    fn recv(&mut self, timeout: Duration) -> Option<u8> {
        self.read_byte_within(timeout)
    }
    fn send(&mut self, bytes: &[u8]) {
        self.send_bytes(bytes);
    }
}

//! A minimal QMP client: enough to read QEMU's instruction counter.
//!
//! QMP (QEMU Machine Protocol, docs/interop/qmp-spec.rst) sends one JSON
//! object per line: a greeting, then per command one `{"return": ...}` or
//! `{"error": ...}`, with asynchronous `{"event": ...}` lines in between.
//! The replies read here are flat objects of numbers and strings, so a
//! field is picked out by its key instead of with a JSON parser.

use crate::{Result, fail};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A QMP connection in command mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects to the socket of `-qmp unix:PATH,server=on,wait=off`
    /// (retrying until `timeout` while QEMU creates it) and leaves
    /// capabilities negotiation.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    fail!("QMP socket {}: {e} (after {timeout:?})", path.display())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream.set_read_timeout(Some(timeout))?;
        let mut qmp = Qmp { reader: BufReader::new(stream.try_clone()?), writer: stream };
        let greeting = qmp.line()?;
        if !greeting.contains("\"QMP\"") {
            fail!("QMP socket {}: expected QEMU's greeting, got {greeting:?}", path.display());
        }
        qmp.execute("qmp_capabilities")?;
        Ok(qmp)
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            fail!("QMP: QEMU closed the connection");
        }
        Ok(line)
    }

    /// Runs a command without arguments; returns its `return` line.
    pub fn execute(&mut self, command: &str) -> Result<String> {
        writeln!(self.writer, "{{\"execute\": \"{command}\"}}")?;
        loop {
            let line = self.line()?;
            if line.contains("\"return\"") {
                return Ok(line);
            }
            if line.contains("\"error\"") {
                fail!("QMP {command}: {}", line.trim());
            }
            // An asynchronous event (STOP, SHUTDOWN, ...): not the reply.
        }
    }

    /// Waits until the machine is no longer running; returns its state
    /// (`shutdown` after a guest power-off under `-no-shutdown`).
    pub fn wait_stopped(&mut self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.execute("query-status")?;
            let status = field(&reply, "status").unwrap_or("").to_string();
            if status != "running" {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                fail!("QMP: the machine was still running after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Instructions the vCPUs executed since QEMU started, under `-icount`
    /// (`query-replay`'s `icount`: QEMU's raw instruction counter, which
    /// does not include the virtual time skipped while the guest idles).
    pub fn icount(&mut self) -> Result<u64> {
        let reply = self.execute("query-replay")?;
        match field(&reply, "icount").and_then(|n| n.parse().ok()) {
            Some(n) => Ok(n),
            None => fail!("QMP query-replay: no icount in {}", reply.trim()),
        }
    }

    /// Ends QEMU.
    pub fn quit(&mut self) -> Result<()> {
        writeln!(self.writer, "{{\"execute\": \"quit\"}}")?;
        Ok(())
    }
}

/// The value of `"key": value` in a flat JSON object: a string's contents
/// or a number's digits.
fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let rest = json[json.find(&quoted)? + quoted.len()..].trim_start().strip_prefix(':')?.trim_start();
    match rest.strip_prefix('"') {
        Some(s) => s.split('"').next(),
        None => rest.split([',', '}', ' ']).next(),
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn picks_fields_out_of_replies() {
        let reply = r#"{"return": {"icount": 3214241937, "mode": "none"}}"#;
        assert_eq!(field(reply, "icount"), Some("3214241937"));
        assert_eq!(field(reply, "mode"), Some("none"));
        let status = r#"{"return": {"status": "shutdown", "running": false}}"#;
        assert_eq!(field(status, "status"), Some("shutdown"));
        assert_eq!(field(status, "running"), Some("false"));
        assert_eq!(field(status, "singlestep"), None);
    }
}

//! Driving the real binary's `watch --no-tui` and `agent` and reading
//! their JSON lines.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A child process killed when the test ends, however it ends.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a child prints, read on a thread, each turned into a `T` by
/// `parse` (lines it refuses are skipped).
pub fn read_lines<T: Send + 'static>(
    stdout: impl std::io::Read + Send + 'static,
    parse: fn(&str) -> Option<T>,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(v) = parse(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    rx
}

/// The JSON lines a child prints.
pub fn json_lines(stdout: ChildStdout) -> mpsc::Receiver<Value> {
    read_lines(stdout, |line| serde_json::from_str(line).ok())
}

/// Starts `modelwatch watch --no-tui --status-every 1 ARGS...` (logging
/// into `dir`) and reads its JSON lines.
pub fn watch(dir: &std::path::Path, args: &[&std::ffi::OsStr]) -> (Reaped, mpsc::Receiver<Value>) {
    let mut child = super::modelwatch()
        .args(["watch", "--no-tui", "--status-every", "1"])
        .args(args)
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = json_lines(child.stdout.take().unwrap());
    (Reaped(child), lines)
}

/// Starts `modelwatch agent --status-every 1 ARGS...` and reads its JSON
/// lines: stdout's, then its logs on stderr (one JSON object a line).
pub fn agent(
    args: &[&std::ffi::OsStr],
    envs: &[(&str, &str)],
) -> (Reaped, mpsc::Receiver<Value>, mpsc::Receiver<String>) {
    let mut child = super::modelwatch()
        .args(["agent", "--status-every", "1"])
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = json_lines(child.stdout.take().unwrap());
    let logs = read_lines(child.stderr.take().unwrap(), |l| Some(l.to_string()));
    (Reaped(child), lines, logs)
}

/// Waits (bounded) for a line that satisfies `want`.
pub fn wait_line(
    rx: &mpsc::Receiver<Value>,
    limit: Duration,
    what: &str,
    mut want: impl FnMut(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if want(&v) => return v,
            Ok(_) => {}
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

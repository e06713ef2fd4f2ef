//! The real binary's websocket source (`watch --no-tui ws://...`) under a
//! hostile peer and under load, on loopback:
//! * a peer that floods pings and never reads the pongs: memory stays
//!   bounded and the source drops it and reconnects;
//! * a model server on Python's `websockets` (`tests/ws_model_server.py`)
//!   streaming predictions and their feedback at 20,000 and 100,000 lines
//!   a second: every line counted, none dropped.
//!
//! The Python tests run the interpreter named by `MW_TEST_PYTHON` (`.ci/run`
//! makes a venv with the pinned `websockets` and sets it); without it they
//! fail, unless `MW_SKIP_PYTHON_TESTS` is set, which skips them saying so.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::no_tui::{Reaped, read_lines, sigterm, wait_line, watch};
use serde_json::Value;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Peak memory allowed while flooded.
const MAX_RSS_KB: u64 = 64 * 1024;

/// A peer that completes the websocket handshake, then writes 125-byte
/// pings as fast as the socket takes them and never reads. Accepts for at
/// most `for_how_long`; returns its port and the connections accepted.
fn ping_flooder(for_how_long: Duration) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let end = Instant::now() + for_how_long;
    std::thread::spawn(move || {
        while Instant::now() < end {
            match listener.accept() {
                Ok((tcp, _)) => {
                    count.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || flood_pings(tcp, end));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Paces the server's accept loop until its end time.
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
    (port, accepted)
}

fn flood_pings(mut tcp: TcpStream, end: Instant) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = tcp.set_write_timeout(Some(Duration::from_millis(100)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf) {
            Ok(n) if n > 0 && head.len() < 16 << 10 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let Some(key) = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    }) else {
        return;
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    if tcp.write_all(response.as_bytes()).is_err() {
        return;
    }
    // Whole frames: a partial write goes on from where it stopped.
    let ping: Vec<u8> = [0x89, 125].into_iter().chain([b'p'; 125]).collect();
    let block = ping.repeat(512);
    let mut at = 0;
    while Instant::now() < end {
        match tcp.write(&block[at..]) {
            Ok(0) => return,
            Ok(n) => at = (at + n) % block.len(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// A `/proc/PID/status` field in kB.
fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_peer_flooding_pings_and_never_reading_is_dropped_with_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let watched_for = Duration::from_secs(10);
    let (port, accepted) = ping_flooder(watched_for + Duration::from_secs(5));
    let config = write_config(
        dir.path(),
        "[sources.websocket]\npong_timeout_ms = 1000\n\
         reconnect_initial_ms = 100\nreconnect_max_ms = 500\n",
    );
    let url = format!("ws://127.0.0.1:{port}/");
    let (watcher, lines) = watch(
        dir.path(),
        &["--config".as_ref(), config.as_os_str(), url.as_ref()],
    );
    let pid = watcher.0.id();
    let end = Instant::now() + watched_for;
    let mut peak_rss_kb = 0;
    let mut last_status = Value::Null;
    while Instant::now() < end {
        peak_rss_kb = peak_rss_kb.max(proc_kb(pid, "VmRSS"));
        // Samples every 50 ms, and between them takes the status lines.
        if let Ok(v) = lines.recv_timeout(Duration::from_millis(50))
            && v["type"] == "status"
        {
            last_status = v;
        }
    }
    let peak_kb = proc_kb(pid, "VmHWM").max(peak_rss_kb);
    sigterm(&watcher.0);
    let summary = wait_line(&lines, Duration::from_secs(10), "the summary", |v| {
        v["type"] == "summary"
    });
    assert!(
        peak_kb > 0 && peak_kb < MAX_RSS_KB,
        "peak RSS {peak_kb} kB while flooded with pings"
    );
    let source = &summary["sources"][0];
    assert!(
        source["reconnects"].as_u64() >= Some(1) && accepted.load(Ordering::SeqCst) >= 2,
        "the stalled peer was not dropped: {summary}, last status {last_status}"
    );
    drop(watcher);
    let log = std::fs::read_to_string(dir.path().join("modelwatch.log")).unwrap_or_default();
    assert!(
        log.contains("has not read what was sent to it"),
        "no reason logged: {log}"
    );
}

/// The Python model server (`tests/ws_model_server.py ARGS`) and its port;
/// what it says next (`sent N in S s`) comes through the receiver.
fn model_server(python: &Path, args: &[&str]) -> (Reaped, u16, mpsc::Receiver<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ws_model_server.py");
    let mut server = Command::new(python)
        .arg(&script)
        .args(args)
        .args(["--linger", "120"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let said = read_lines(server.stdout.take().expect("stdout"), |l| {
        Some(l.to_string())
    });
    let server = Reaped(server);
    let port = said
        .recv_timeout(Duration::from_secs(20))
        .ok()
        .and_then(|l| l.strip_prefix("port ")?.parse::<u16>().ok())
        .expect("the server's port (is `websockets` installed for this python?)");
    (server, port, said)
}

/// Streams 60,000 lines (30,000 predictions, then each one's feedback 100
/// predictions later) from the Python server at `rate` lines a second, at
/// most `lines_per_message` to a message, into `watch --no-tui`; every line
/// must be counted and none dropped.
fn every_line_counted(test: &str, rate: u32, lines_per_message: u32) {
    let Some(python) = common::test_python(test) else {
        return;
    };
    let (server, port, said) = model_server(
        &python,
        &[
            "--lines",
            "60000",
            "--rate",
            &rate.to_string(),
            "--lines-per-message",
            &lines_per_message.to_string(),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("ws://127.0.0.1:{port}/");
    let (watcher, lines) = watch(dir.path(), &[url.as_ref()]);
    let sent = said
        .recv_timeout(Duration::from_secs(60))
        .expect("the server sent every line");
    wait_line(
        &lines,
        Duration::from_secs(30),
        "every line ingested",
        |v| {
            assert_ne!(v["alert_kind"], "ingest_overload", "{v}");
            // The source's own count comes at most once a second.
            v["type"] == "status" && v["lines"] == 60_000 && v["sources"][0]["lines"] == 60_000
        },
    );
    sigterm(&watcher.0);
    let summary = wait_line(&lines, Duration::from_secs(10), "the summary", |v| {
        v["type"] == "summary"
    });
    drop(server);
    let source = &summary["sources"][0];
    let counts = (
        &summary["predictions"],
        &summary["feedback"],
        &summary["malformed"],
        &source["lines"],
        &source["dropped"],
    );
    assert_eq!(
        counts,
        (
            &30_000.into(),
            &30_000.into(),
            &0.into(),
            &60_000.into(),
            &0.into()
        ),
        "{summary}"
    );
    eprintln!("{test}: server {sent}");
}

#[test]
fn a_python_model_server_at_20k_lines_a_second_loses_nothing() {
    every_line_counted("20k lines/s", 20_000, 1);
}

#[test]
fn a_python_model_server_at_100k_lines_a_second_loses_nothing() {
    every_line_counted("100k lines/s", 100_000, 10);
}

#[test]
fn lines_beyond_a_full_queue_are_dropped_and_raise_ingest_overload() {
    let Some(python) = common::test_python("ingest overload") else {
        return;
    };
    // A queue of one byte holds one line: of every message of 100 lines,
    // 99 find it full.
    let (_server, port, _said) = model_server(
        &python,
        &[
            "--lines",
            "10000",
            "--rate",
            "0",
            "--lines-per-message",
            "100",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[sources.websocket]\nqueue_bytes = 1\n");
    let url = format!("ws://127.0.0.1:{port}/");
    let (watcher, lines) = watch(
        dir.path(),
        &["--config".as_ref(), config.as_os_str(), url.as_ref()],
    );
    let alert = wait_line(&lines, Duration::from_secs(30), "the overload alert", |v| {
        v["type"] == "alert" && v["alert_kind"] == "ingest_overload"
    });
    assert_eq!(alert["state"], "fired", "{alert}");
    assert!(
        alert["detail"].as_str().is_some_and(|d| d.contains(&url)),
        "{alert}"
    );
    // Each line read was either ingested or dropped.
    let status = wait_line(
        &lines,
        Duration::from_secs(30),
        "every line accounted for",
        |v| {
            let source = &v["sources"][0];
            v["type"] == "status"
                && source["lines"] == 10_000
                && v["lines"]
                    .as_u64()
                    .zip(source["dropped"].as_u64())
                    .is_some_and(|(n, d)| n + d == 10_000)
        },
    );
    let dropped = &status["sources"][0]["dropped"];
    assert!(dropped.as_u64() >= Some(9_900), "{status}");
    sigterm(&watcher.0);
}

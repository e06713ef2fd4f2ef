//! An HTTP kill-switch actuator against a real https gateway on loopback
//! whose certificate is signed by a private CA, through `modelwatch trip`:
//! confirmed only when the CA is trusted (the actuator's `ca_file` or
//! `--ca-file`), and a bad CA file is an error before anything runs.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// An https gateway answering 200 to every request; returns its port, the
/// CA's PEM and the request lines it received.
fn gateway() -> (u16, String, Arc<Mutex<Vec<String>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let (port, ca_pem) = common::tls::serve(LIMIT, move |mut tls| {
        // A client that refuses the certificate fails in this first read.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut byte) {
                Ok(1) if head.len() < 16 * 1024 => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length.min(64 * 1024)];
        if tls.read_exact(&mut body).is_err() {
            return;
        }
        let line = head.lines().next().unwrap_or("").to_string();
        seen.lock().unwrap().push(line);
        let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (port, ca_pem, requests)
}

/// A config with one http actuator (plus `extra` keys) and its audit log.
fn config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let path = dir.join("modelwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[audit]\noperator = \"ci\"\npath = \"{}\"\n\n[[kill_switch.actuator]]\nkind = \"http\"\nurl = \"https://127.0.0.1:{port}/models/{{model}}/state\"\nmethod = \"PUT\"\ntimeout = \"5s\"\n{extra}",
            dir.join("audit.jsonl").display()
        ),
    )
    .unwrap();
    path
}

/// Trips `fraud-v3`, checks the exit status, returns stdout and stderr.
fn trip(code: i32, dir: &Path, cfg: &Path, extra: &[&str]) -> (String, String) {
    let mut cmd = common::modelwatch();
    cmd.current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .args([
            "trip", "--model", "fraud-v3", "--reason", "drift", "--config",
        ])
        .arg(cfg)
        .args(extra);
    let out = common::run(&mut cmd, LIMIT);
    let (stdout, stderr) = (common::text(&out.stdout), common::text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{stdout}{stderr}");
    (stdout, stderr)
}

fn ca_file_key(path: &Path) -> String {
    format!("ca_file = \"{}\"\n", path.display())
}

#[test]
fn a_private_ca_gateway_confirms_only_when_its_ca_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca_pem, requests) = gateway();
    let ca = dir.path().join("gateway-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();

    // System roots only: the handshake fails and says why.
    let cfg = config(dir.path(), port, "");
    let (stdout, _) = trip(1, dir.path(), &cfg, &[]);
    let http = stdout
        .lines()
        .find(|l| l.contains("http PUT"))
        .unwrap_or("");
    assert!(http.starts_with("FAIL"), "{stdout}");
    assert!(http.contains("TLS: invalid peer certificate"), "{stdout}");
    assert!(stdout.contains("KILL NOT CONFIRMED fraud-v3"), "{stdout}");
    assert!(requests.lock().unwrap().is_empty());

    // The actuator's own ca_file.
    let cfg = config(dir.path(), port, &ca_file_key(&ca));
    let (stdout, _) = trip(0, dir.path(), &cfg, &[]);
    assert!(stdout.contains("-> HTTP 200"), "{stdout}");
    assert!(stdout.contains("TRIPPED fraud-v3"), "{stdout}");
    assert_eq!(
        *requests.lock().unwrap(),
        ["PUT /models/fraud-v3/state HTTP/1.1"]
    );

    // --ca-file reaches the actuator too.
    let cfg = config(dir.path(), port, "");
    trip(0, dir.path(), &cfg, &["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(requests.lock().unwrap().len(), 2);
    let log = dir.path().join("audit.jsonl");
    assert_eq!(
        common::records(&log).len(),
        6,
        "request and result per trip"
    );
}

#[test]
fn a_bad_ca_file_stops_the_trip_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _, requests) = gateway();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let flag = dir.path().join("flag");
    let kill_file = ["--kill-file", flag.to_str().unwrap()];

    // In the config: a config error naming the config's line and the file.
    let cfg = config(dir.path(), port, &ca_file_key(&junk));
    let (_, stderr) = trip(2, dir.path(), &cfg, &kill_file);
    let at = format!("{}:10: ca_file {}: ", cfg.display(), junk.display());
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stderr.contains("no PEM certificate"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // On the command line: names the file.
    let cfg = config(dir.path(), port, "");
    let missing = dir.path().join("missing.pem");
    let flags = [&kill_file[..], &["--ca-file", missing.to_str().unwrap()]].concat();
    let (_, stderr) = trip(2, dir.path(), &cfg, &flags);
    let named = format!("--ca-file {}: cannot read", missing.display());
    assert!(stderr.contains(&named), "{stderr}");

    assert!(!flag.exists(), "no actuator ran");
    assert!(requests.lock().unwrap().is_empty());
    assert!(common::records(&dir.path().join("audit.jsonl")).is_empty());
}

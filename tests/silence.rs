//! A producer that stops is an alert: `watch --no-tui` on a file that
//! stops growing raises `silence` for its model once `after_secs` pass, and
//! clears it when predictions come again.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::no_tui::{sigterm, wait_line, watch};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_file_that_stops_growing_raises_silence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    let line = |i: u32| format!(r#"{{"id":"{i}","model":"m","prediction":"x","confidence":0.9}}"#);
    std::fs::write(&file, format!("{}\n{}\n", line(0), line(1))).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[alerts.silence]\nafter_secs = 2\n").unwrap();
    let (child, lines) = watch(
        dir.path(),
        &[
            "--from-start".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            file.as_os_str(),
        ],
    );
    let fired = wait_line(&lines, LIMIT, "silence fired", |v| {
        v["type"] == "alert" && v["alert_kind"] == "silence" && v["state"] == "fired"
    });
    assert_eq!(fired["model"], "m", "{fired}");
    assert!(
        fired["detail"]
            .as_str()
            .unwrap()
            .contains("sent no prediction"),
        "{fired}"
    );
    // The producer comes back: the alert clears.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    writeln!(f, "{}", line(2)).unwrap();
    wait_line(&lines, LIMIT, "silence cleared", |v| {
        v["type"] == "alert" && v["alert_kind"] == "silence" && v["state"] == "cleared"
    });
    sigterm(&child.0);
}

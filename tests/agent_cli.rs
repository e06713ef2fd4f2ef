//! `modelwatch agent`: the `watch --no-tui` JSON lines on stdout, its logs
//! on stderr as one JSON object a line, and a clean stop with the summary
//! on SIGTERM or SIGINT.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::drift;
use common::no_tui::{Reaped, agent, wait_line, watch};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// The alert lines up to the drift alert's clear, without their times
/// (arrival times: the stream has none).
fn alerts_until_cleared(lines: &mpsc::Receiver<Value>) -> Vec<Value> {
    let mut alerts = Vec::new();
    wait_line(lines, LIMIT, "confidence_drift cleared", |v| {
        if v["type"] == "alert" {
            let mut a = v.clone();
            a.as_object_mut().unwrap().remove("ts");
            alerts.push(a);
        }
        v["type"] == "alert" && v["alert_kind"] == "confidence_drift" && v["state"] == "cleared"
    });
    alerts
}

/// Sends `signal`; the summary line comes, then a clean exit.
fn stop(mut child: Reaped, lines: &mpsc::Receiver<Value>, signal: i32) -> Value {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, signal) }, 0);
    let summary = wait_line(lines, LIMIT, "the summary", |v| v["type"] == "summary");
    let status = common::wait(&mut child.0, LIMIT);
    assert!(status.success(), "{status}");
    summary
}

/// Every log line written, once stderr closed.
fn all_logs(logs: &mpsc::Receiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(line) = logs.recv_timeout(LIMIT) {
        out.push(line);
    }
    out
}

#[test]
fn the_agent_writes_the_watch_lines_and_logs_json_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift::lines("fraud-v3")).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = drift::ARGS.iter().map(|a| a.as_ref()).collect();
    args.push(file.as_os_str());

    let (watched, watch_lines) = watch(dir.path(), &args);
    let expected = alerts_until_cleared(&watch_lines);
    drop(watched);

    let (child, lines, logs) = agent(&args, &[]);
    let alerts = alerts_until_cleared(&lines);
    assert_eq!(alerts, expected, "the alert lines of watch --no-tui");
    wait_line(&lines, LIMIT, "a status line", |v| {
        v["type"] == "status" && v["predictions"] == drift::PREDICTIONS
    });
    let summary = stop(child, &lines, libc::SIGTERM);
    assert_eq!(summary["reason"], "terminated");
    assert_eq!(summary["predictions"], drift::PREDICTIONS);

    let logs = all_logs(&logs);
    assert!(!logs.is_empty());
    for line in &logs {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        for key in ["ts", "level", "target", "msg"] {
            assert!(v[key].is_string(), "{key} in {line}");
        }
    }
    let ended: Value = logs
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["msg"] == "session ended")
        .expect("a log line at the end");
    assert_eq!(ended["reason"], "terminated");
    assert_eq!(ended["predictions"], drift::PREDICTIONS);
}

#[test]
fn sigint_stops_it_with_the_summary_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, drift::lines("m")).unwrap();
    let (child, lines, _logs) = agent(&["--from-start".as_ref(), file.as_os_str()], &[]);
    wait_line(&lines, LIMIT, "a status line", |v| v["type"] == "status");
    let summary = stop(child, &lines, libc::SIGINT);
    assert_eq!(summary["reason"], "interrupted");
}

#[test]
fn the_agent_needs_a_source() {
    let out = common::run(common::modelwatch().arg("agent"), LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("SOURCE"));
    let out = common::run(
        common::modelwatch().args(["agent", "--metrics-addr", "256.0.0.1:1", "-"]),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = common::text(&out.stderr);
    assert!(err.contains("--metrics-addr 256.0.0.1:1"), "{err}");
}

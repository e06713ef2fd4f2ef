//! Text from the stream that could steer a terminal (a one-byte CSI
//! U+009B, DEL, a bidi override U+202E, NEL U+0085) in model names, labels
//! and ids never reaches the operator raw through the real binary's
//! outputs — `replay`, `watch --no-tui`, `baseline`, `export-labels`,
//! `verify-log` and their errors — and the JSON still parses to the
//! original strings.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use modelwatch::decision::audit::AuditLog;
use modelwatch::decision::audited::record_decision;
use modelwatch::engine::Decision;
use modelwatch::engine::review::{CaseState, QueueReason, ReviewItem};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);
const HOSTILE: [char; 4] = ['\u{9b}', '\u{7f}', '\u{202e}', '\u{85}'];
const MODEL: &str = "fr\u{9b}31maud\u{202e}";
const VERSION: &str = "3\u{85}\u{7f}";
const USUAL: &str = "ok\u{9b}2J\u{202e}";
const SHIFTED: &str = "bad\u{7f}\u{85}";
const OPERATOR: &str = "op\u{85}\u{202e}";
const BASELINE: usize = 400;
const PREDICTIONS: usize = 1000;

fn model_key() -> String {
    format!("{MODEL}@{VERSION}")
}

fn id(i: usize) -> String {
    format!("req\u{85}-{i}\u{9b}\u{202e}")
}

/// Every byte of `bytes` free of the hostile characters, raw.
fn assert_no_raw(bytes: &[u8], what: &str) {
    assert!(!bytes.contains(&0x7f), "{what}: raw DEL");
    let text = String::from_utf8_lossy(bytes);
    for c in HOSTILE {
        assert!(!text.contains(c), "{what}: raw {c:?} in {text}");
    }
}

/// Predictions whose mix shifts after the baseline (so an alert names a
/// label), some with low confidence (review), feedback for some ids, one
/// feedback that never meets its prediction, and one malformed line.
fn write_events(dir: &Path) -> PathBuf {
    let mut out = String::new();
    for i in 0..PREDICTIONS {
        let shifted = if i < BASELINE { i % 5 == 0 } else { i % 5 != 0 };
        let label = if shifted { SHIFTED } else { USUAL };
        let confidence = if i % 7 == 0 { 0.3 } else { 0.9 };
        let event = serde_json::json!({
            "ts": 1_800_000_000_000u64 + i as u64,
            "id": id(i),
            "model": MODEL,
            "version": VERSION,
            "prediction": label,
            "confidence": confidence,
            "segment": USUAL,
        });
        out.push_str(&format!("{event}\n"));
        if i % 10 == 0 {
            let feedback = serde_json::json!({"type": "feedback", "id": id(i), "label": SHIFTED});
            out.push_str(&format!("{feedback}\n"));
        }
    }
    let early = serde_json::json!({"type": "feedback", "id": id(PREDICTIONS), "label": USUAL});
    out.push_str(&format!("{early}\n"));
    out.push_str(&format!("{{\"model\":\"{MODEL}\",\"prediction\":\n"));
    let path = dir.join(format!("events{}.jsonl", '\u{9b}'));
    std::fs::write(&path, out).unwrap();
    path
}

fn in_dir(dir: &Path) -> Command {
    let mut cmd = common::modelwatch();
    cmd.env("XDG_STATE_HOME", dir.join("state"))
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"));
    cmd
}

fn parse(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: {e}: {}", common::text(bytes)))
}

/// Each line of JSON-lines output, parsed.
fn parse_lines(bytes: &[u8], what: &str) -> Vec<Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| parse(l, what))
        .collect()
}

fn alert_names_a_label(alert: &Value) -> bool {
    alert["detail"]
        .as_str()
        .is_some_and(|d| d.contains(USUAL) || d.contains(SHIFTED))
}

#[test]
fn replay_and_baseline_escape_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let events = write_events(dir.path());
    for pretty in [false, true] {
        let mut cmd = in_dir(dir.path());
        cmd.args(["replay", "--baseline", "400", "--window", "200"])
            .arg(&events);
        if pretty {
            cmd.arg("--pretty");
        }
        let out = common::run(&mut cmd, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
        assert_no_raw(&out.stdout, "replay");
        assert_no_raw(&out.stderr, "replay stderr");
        let report = parse(&out.stdout, "replay");
        let model = &report["models"][model_key()];
        assert_eq!(model["predictions"], PREDICTIONS as u64, "{report}");
        let mix = model["baseline"]["mix"].as_object().unwrap();
        assert_eq!(mix[USUAL], 320);
        assert_eq!(mix[SHIFTED], 80);
        let alerts = model["alerts"].as_array().unwrap();
        assert!(alerts.iter().any(alert_names_a_label), "{alerts:?}");
        assert_eq!(report["input"]["malformed"], 1);
        assert_eq!(report["input"]["feedback_unmatched"], 1);
    }

    let baseline = dir.path().join(format!("baseline{}.json", '\u{202e}'));
    let out = common::run(
        in_dir(dir.path())
            .args(["baseline", "--baseline", "400"])
            .arg(&events)
            .arg("-o")
            .arg(&baseline),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert_no_raw(&out.stdout, "baseline stdout");
    assert_no_raw(&out.stderr, "baseline stderr");
    let file = std::fs::read(&baseline).unwrap();
    assert_no_raw(&file, "baseline file");
    let snapshot = parse(&file, "baseline file");
    let mix = snapshot["models"][model_key()]["mix"].as_object().unwrap();
    assert_eq!(
        (mix[USUAL].as_u64(), mix[SHIFTED].as_u64()),
        (Some(320), Some(80))
    );

    // An error quoting a hostile path is escaped too.
    let missing = dir.path().join(format!("missing{}.jsonl", '\u{9b}'));
    let out = common::run(in_dir(dir.path()).arg("replay").arg(&missing), LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert_no_raw(&out.stderr, "replay error");
    assert!(common::text(&out.stderr).contains("missing\\x9b.jsonl"));
}

/// The lines a child writes to stdout, as raw bytes, read on a thread.
fn raw_lines(stdout: std::process::ChildStdout) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if tx.send(line).is_err() => break,
                Ok(_) => {}
            }
        }
    });
    rx
}

#[test]
fn watch_no_tui_lines_escape_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let events = write_events(dir.path());
    let mut child = in_dir(dir.path())
        .args(["watch", "--no-tui", "--from-start", "--status-every", "1"])
        .args(["--baseline", "400", "--window", "200"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = raw_lines(child.stdout.take().unwrap());
    let mut seen: Vec<Value> = Vec::new();
    let read = |seen: &mut Vec<Value>, until: &dyn Fn(&Value) -> bool| {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                return false;
            };
            assert_no_raw(&line, "--no-tui line");
            let v = parse(&line, "--no-tui line");
            let done = until(&v);
            seen.push(v);
            if done {
                return true;
            }
        }
    };
    let all_read = |v: &Value| v["type"] == "status" && v["predictions"] == PREDICTIONS as u64;
    if !read(&mut seen, &all_read) {
        let _ = child.kill();
        panic!("no status with every prediction: {seen:?}");
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let summary = read(&mut seen, &|v: &Value| v["type"] == "summary");
    let out = common::finish(child, LIMIT);
    assert!(summary, "no summary: {seen:?}");
    assert_no_raw(&out.stderr, "--no-tui stderr");
    let status = seen.iter().find(|v| v["type"] == "status").unwrap();
    assert_eq!(status["models"][0]["name"], model_key().as_str());
    assert_eq!(status["feedback_unmatched"], 1);
    assert!(
        seen.iter().any(|v| v["type"] == "alert"
            && v["model"] == model_key().as_str()
            && alert_names_a_label(v)),
        "{seen:?}"
    );
}

/// A case as the dashboard shows it, for an audited decision.
fn case(i: usize) -> ReviewItem {
    ReviewItem {
        seq: i as u64,
        case_id: id(i),
        generated_id: false,
        model: model_key(),
        index: i as u64,
        ts_ms: 1_800_000_000_000,
        queued_ms: 1_800_000_000_000,
        confidence: 0.3,
        margin: None,
        label: USUAL.into(),
        reason: QueueReason::LowConfidence,
        raw: None,
        state: CaseState::Pending,
    }
}

#[test]
fn audit_log_export_and_verify_escape_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir
        .path()
        .join(format!("audit{}{}.jsonl", '\u{9b}', '\u{202e}'));
    let out = common::run(
        in_dir(dir.path())
            .env("USER", OPERATOR)
            .args(["trip", "--model", &model_key(), "--reason"])
            .arg(format!("why{SHIFTED}"))
            .arg("--kill-file")
            .arg(dir.path().join("killed"))
            .arg("--audit-log")
            .arg(&log),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    // What trip prints names the model and the flag file: escaped too.
    assert_no_raw(&out.stdout, "trip's report");
    assert_no_raw(&out.stderr, "trip's messages");
    let killed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("killed")).unwrap()).unwrap();
    assert_no_raw(
        &std::fs::read(dir.path().join("killed")).unwrap(),
        "flag file",
    );
    assert_eq!(killed["model"], model_key().as_str());
    {
        let (mut audit, _) = AuditLog::open(&log).unwrap();
        record_decision(&mut audit, OPERATOR, &case(1), &Decision::Approve, None).unwrap();
        let overridden = Decision::Override(SHIFTED.into());
        record_decision(&mut audit, OPERATOR, &case(2), &overridden, None).unwrap();
    }
    let written = std::fs::read(&log).unwrap();
    assert_no_raw(&written, "audit log");
    let records = parse_lines(&written, "audit record");
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r["model"] == model_key().as_str()));
    assert_eq!(records[0]["reason"], format!("why{SHIFTED}").as_str());
    assert_eq!(records[0]["operator"], OPERATOR);

    let labels_file = dir.path().join("labels.jsonl");
    for to_file in [false, true] {
        let mut cmd = in_dir(dir.path());
        cmd.arg("export-labels").arg(&log);
        if to_file {
            cmd.arg("-o").arg(&labels_file);
        }
        let out = common::run(&mut cmd, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
        assert_no_raw(&out.stderr, "export-labels stderr");
        let exported = if to_file {
            std::fs::read(&labels_file).unwrap()
        } else {
            out.stdout
        };
        assert_no_raw(&exported, "export-labels");
        let labels = parse_lines(&exported, "exported label");
        let got: Vec<(&str, &str, &str, &str)> = labels
            .iter()
            .map(|l| {
                let s = |k: &str| l[k].as_str().unwrap();
                (s("id"), s("label"), s("model"), s("operator"))
            })
            .collect();
        let key = model_key();
        let (one, two) = (id(1), id(2));
        assert_eq!(
            got,
            [
                (one.as_str(), USUAL, key.as_str(), OPERATOR),
                (two.as_str(), SHIFTED, key.as_str(), OPERATOR)
            ]
        );
    }

    let verify = |path: &Path| common::run(in_dir(dir.path()).arg("verify-log").arg(path), LIMIT);
    let out = verify(&log);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stdout));
    assert_no_raw(&out.stdout, "verify-log");
    assert!(common::text(&out.stdout).contains("audit\\x9b\\u{202e}.jsonl: ok, 4 records"));
    // A changed record: the line naming it is escaped as well.
    let tampered = dir.path().join(format!("tampered{}.jsonl", '\u{85}'));
    let text = String::from_utf8(written).unwrap();
    std::fs::write(&tampered, text.replacen("why", "who", 1)).unwrap();
    let out = verify(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert_no_raw(&out.stdout, "verify-log of a changed log");
    assert!(common::text(&out.stdout).contains("tampered\\x85.jsonl:1: bad record"));
    let out = verify(&dir.path().join(format!("gone{}", '\u{202e}')));
    assert_eq!(out.status.code(), Some(2));
    assert_no_raw(&out.stderr, "verify-log error");
}

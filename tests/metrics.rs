//! `--metrics-addr`: `/metrics` scraped from a real `agent` during a real
//! run, parsed by the Prometheus project's own Python parser
//! (`prometheus_client.parser`, from the test venv), and held against the
//! `--no-tui` status line; series stay bounded; clients that never send
//! hold nothing for long.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::no_tui::{Reaped, agent, wait_line};
use common::{test_python, wait_until};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

/// Names a stream may send, none of them friendly to a text format.
const ROUTER: &str = "ticket-router@2.1";
const HOSTILE: &str = "a\"b\\c\nd}{ \u{202e}x,le=\"1\"";

/// The address the agent says it serves metrics at (its log on stderr).
fn metrics_addr(logs: &mpsc::Receiver<String>) -> SocketAddr {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = logs
            .recv_timeout(left)
            .expect("the agent's metrics log line");
        let v: Value = serde_json::from_str(&line).expect("a JSON log line");
        if v["msg"] == "metrics served at /metrics" {
            return v["addr"].as_str().unwrap().parse().unwrap();
        }
    }
}

/// `agent --from-start --metrics-addr 127.0.0.1:0 FILE`, its JSON lines
/// and where it serves metrics.
fn start(file: &Path) -> (Reaped, mpsc::Receiver<Value>, SocketAddr) {
    start_with(file, &[])
}

/// [`start`] with `extra` arguments before the file.
fn start_with(
    file: &Path,
    extra: &[&std::ffi::OsStr],
) -> (Reaped, mpsc::Receiver<Value>, SocketAddr) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--from-start".as_ref(),
        "--metrics-addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ];
    args.extend_from_slice(extra);
    args.push(file.as_os_str());
    let (child, lines, logs) = agent(&args, &[]);
    (child, lines, metrics_addr(&logs))
}

/// The first scrape, parsed, that has counted `lines` input lines (the
/// board follows the session every second).
fn scrape_counting(python: &Path, addr: SocketAddr, lines: f64) -> Vec<Value> {
    wait_until("a scrape of every line", LIMIT, || {
        let (code, body) = scrape(addr).ok()?;
        assert_eq!(code, 200);
        let samples = parse(python, &body);
        (value(&samples, "modelwatch_lines_total", json!({})) == lines).then_some(samples)
    })
}

/// One scrape: status code and body.
fn scrape(addr: SocketAddr) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(LIMIT))?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: modelwatch\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// Every sample of a scrape as Python's parser reads it:
/// `{"family", "type", "name", "labels", "value"}`.
fn parse(python: &Path, text: &str) -> Vec<Value> {
    const SCRIPT: &str = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = [dict(family=f.name, type=f.type, name=s.name, labels=s.labels, value=s.value)\n\
               for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
        print(json.dumps(out))";
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = common::finish(child, LIMIT);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The value of the one sample named `name` with these labels.
fn value(samples: &[Value], name: &str, labels: Value) -> f64 {
    let found: Vec<&Value> = samples
        .iter()
        .filter(|s| s["name"] == name && s["labels"] == labels)
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels}");
    found[0]["value"].as_f64().unwrap()
}

fn prediction(model: &str, i: u64) -> String {
    let c = 0.3 + (i % 70) as f64 / 100.0;
    let label = if i.is_multiple_of(4) { "x" } else { "y" };
    json!({"id": format!("{model}-{i}"), "model": model, "prediction": label, "confidence": c})
        .to_string()
}

#[test]
fn a_scrape_matches_the_status_line() {
    let Some(python) = test_python("metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    let mut text = String::new();
    for i in 0..300 {
        text += &(prediction(ROUTER, i) + "\n");
    }
    for i in 0..200 {
        text += &(prediction(HOSTILE, i) + "\n");
    }
    for i in 0..50 {
        text += &(json!({"type": "feedback", "id": format!("{ROUTER}-{i}"), "label": "y"})
            .to_string()
            + "\n");
    }
    text += "not json\n{\"confidence\":1.5,\"prediction\":\"x\"}\n\n{}\n";
    std::fs::write(&file, text).unwrap();
    let (child, lines, addr) = start(&file);
    let status = wait_line(&lines, LIMIT, "every line counted", |v| {
        v["type"] == "status" && v["lines"] == 554 && v["feedback"] == 50
    });
    let samples = scrape_counting(&python, addr, 554.0);
    for (name, field) in [
        ("modelwatch_lines_total", "lines"),
        ("modelwatch_feedback_total", "feedback"),
        ("modelwatch_malformed_total", "malformed"),
    ] {
        assert_eq!(
            value(&samples, name, json!({})),
            status[field].as_f64().unwrap(),
            "{name}"
        );
    }
    assert_eq!(status["malformed"], 3);
    assert_eq!(
        value(&samples, "modelwatch_blank_lines_total", json!({})),
        1.0
    );
    let models = status["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    for m in models {
        let name = m["name"].as_str().unwrap();
        let model = json!({"model": name});
        let predictions = m["predictions"].as_f64().unwrap();
        assert_eq!(
            value(&samples, "modelwatch_predictions_total", model.clone()),
            predictions
        );
        assert_eq!(
            value(&samples, "modelwatch_confidence_count", model.clone()),
            predictions
        );
        let inf = json!({"model": name, "le": "+Inf"});
        assert_eq!(
            value(&samples, "modelwatch_confidence_bucket", inf),
            predictions
        );
        let half = json!({"model": name, "le": "0.5"});
        let below_half = (0..predictions as u64).filter(|i| i % 70 <= 20).count();
        assert_eq!(
            value(&samples, "modelwatch_confidence_bucket", half),
            below_half as f64
        );
        assert_eq!(
            value(&samples, "modelwatch_review_queue_cases", model.clone()),
            m["in_queue"].as_f64().unwrap()
        );
        let kill = json!({"model": name, "state": m["kill"]});
        assert_eq!(value(&samples, "modelwatch_kill_switch_state", kill), 1.0);
        let armed = json!({"model": name, "state": "armed"});
        assert_eq!(value(&samples, "modelwatch_kill_switch_state", armed), 1.0);
    }
    // The hostile name comes back as it was sent.
    assert_eq!(models[1]["name"], HOSTILE);
    let router = json!({"model": ROUTER});
    assert_eq!(
        value(&samples, "modelwatch_model_feedback_total", router),
        50.0
    );
    let active: f64 = samples
        .iter()
        .filter(|s| s["name"] == "modelwatch_alerts_active")
        .map(|s| s["value"].as_f64().unwrap())
        .sum();
    assert_eq!(active, status["active_alerts"].as_f64().unwrap());
    let source = &status["sources"][0];
    let by_source = json!({"source": source["name"]});
    assert_eq!(
        value(&samples, "modelwatch_source_lines_total", by_source),
        source["lines"].as_f64().unwrap()
    );
    let state = json!({"source": source["name"], "state": source["state"]});
    assert_eq!(value(&samples, "modelwatch_source_state", state), 1.0);
    assert!(
        samples
            .iter()
            .all(|s| s["family"].as_str().unwrap().starts_with("modelwatch_")),
        "every series is modelwatch's"
    );
    assert!(
        !samples.iter().any(|s| s["family"]
            .as_str()
            .unwrap()
            .starts_with("modelwatch_checkpoint")),
        "no checkpoint series without a state directory"
    );
    drop(child);
}

#[test]
fn checkpoints_are_scraped_as_the_status_line_shows_them() {
    let Some(python) = test_python("metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    let text: String = (0..100).map(|i| prediction(ROUTER, i) + "\n").collect();
    std::fs::write(&file, text).unwrap();
    let state = dir.path().join("state");
    let (_child, lines, addr) = start_with(
        &file,
        &[
            "--state-dir".as_ref(),
            state.as_os_str(),
            "--checkpoint-every".as_ref(),
            "1".as_ref(),
        ],
    );
    let status = wait_line(&lines, LIMIT, "a checkpoint of every line", |v| {
        v["type"] == "status" && v["checkpoint"]["lines"] == 100
    });
    let saved = &status["checkpoint"];
    // The board follows the session every second; a later checkpoint of
    // the same lines has the same size.
    let samples = wait_until("a scrape with the checkpoint", LIMIT, || {
        let (_, body) = scrape(addr).ok()?;
        let samples = parse(&python, &body);
        samples
            .iter()
            .any(|s| s["name"] == "modelwatch_checkpoint_size_bytes")
            .then_some(samples)
    });
    assert_eq!(
        value(&samples, "modelwatch_checkpoint_size_bytes", json!({})),
        saved["bytes"].as_f64().unwrap()
    );
    assert_eq!(
        value(&samples, "modelwatch_checkpoint_failing", json!({})),
        0.0
    );
    let taken = value(
        &samples,
        "modelwatch_checkpoint_timestamp_seconds",
        json!({}),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(taken > now - 60.0 && taken <= now + 1.0, "{taken} vs {now}");
}

#[test]
fn series_stay_bounded_whatever_the_stream_names() {
    let Some(python) = test_python("metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    let text: String = (0..300)
        .map(|i| prediction(&format!("m{i}"), 0) + "\n")
        .collect();
    std::fs::write(&file, text).unwrap();
    let (child, lines, addr) = start(&file);
    wait_line(&lines, LIMIT, "every line counted", |v| {
        v["type"] == "status" && v["lines"] == 300
    });
    let samples = scrape_counting(&python, addr, 300.0);
    let models: std::collections::HashSet<&str> = samples
        .iter()
        .filter_map(|s| s["labels"]["model"].as_str())
        .filter(|m| !m.is_empty())
        .collect();
    assert_eq!(models.len(), 256, "the engine's cap on models");
    assert_eq!(
        value(&samples, "modelwatch_malformed_total", json!({})),
        44.0
    );
    drop(child);
}

#[test]
fn clients_that_never_send_are_cut_off_and_ingest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, prediction(ROUTER, 0) + "\n").unwrap();
    let (child, lines, addr) = start(&file);
    wait_line(&lines, LIMIT, "the first line", |v| {
        v["type"] == "status" && v["predictions"] == 1
    });
    // Connections that never send take every slot; one more is closed at
    // once, unanswered.
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut extra = TcpStream::connect(addr).unwrap();
    extra.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 64];
    wait_until("the extra connection closed unanswered", LIMIT, || {
        matches!(extra.read(&mut buf), Ok(0) | Err(_))
    });
    // Ingest does not notice.
    let more: String = (1..100).map(|i| prediction(ROUTER, i) + "\n").collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(more.as_bytes())
        .unwrap();
    wait_line(&lines, LIMIT, "the appended lines", |v| {
        v["type"] == "status" && v["predictions"] == 100
    });
    // The idle ones are cut off (a few seconds), and scrapes work again.
    for mut s in idle {
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        assert!(answer.is_empty(), "no answer to no request");
    }
    let want = "modelwatch_predictions_total{model=\"ticket-router@2.1\"} 100";
    wait_until("a scrape with every prediction", LIMIT, || {
        scrape(addr).is_ok_and(|(code, body)| code == 200 && body.contains(want))
    });
    drop(child);
}

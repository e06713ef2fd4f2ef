//! Alert hooks end to end: `watch --no-tui` on a stream that fires and
//! clears alerts, delivering to real loopback HTTP servers and a real
//! command — each transition once, in order, through failures; a receiver
//! that never answers slows nothing and the exit stays bounded.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::http_hook::{Answer, HookServer};
use common::no_tui::{Reaped, json_lines, sigterm, wait_line};
use common::{drift, wait_until};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "s3cr3t-h00k-t0ken";

/// `watch --no-tui` on the drift stream with `config`, logging into `dir`.
fn watch(dir: &Path, config: &str) -> (Reaped, mpsc::Receiver<Value>) {
    let stream = dir.join("preds.jsonl");
    std::fs::write(&stream, drift::lines("fraud\"v3")).unwrap();
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = common::modelwatch()
        .args(["watch", "--no-tui", "--status-every", "1"])
        .args(drift::ARGS)
        .arg("--config")
        .arg(&config_path)
        .arg(&stream)
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"))
        .env("MW_TEST_HOOK_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = json_lines(child.stdout.take().unwrap());
    (Reaped(child), lines)
}

/// Every line up to the summary (SIGTERM sent), then the exit status.
fn stop(mut child: Reaped, lines: &mpsc::Receiver<Value>) -> (Vec<Value>, bool) {
    sigterm(&child.0);
    let mut seen = Vec::new();
    let summary = wait_line(lines, LIMIT, "the summary", |v| {
        seen.push(v.clone());
        v["type"] == "summary"
    });
    seen.push(summary);
    let status = common::wait(&mut child.0, LIMIT);
    (seen, status.success())
}

fn key(v: &Value) -> (u64, String) {
    (
        v["id"].as_u64().unwrap(),
        v["state"].as_str().unwrap().to_string(),
    )
}

/// A delivered body without what the hook adds to the alert line.
fn as_alert_line(body: &Value) -> Value {
    let mut line = body.clone();
    let object = line.as_object_mut().unwrap();
    assert!(object.remove("at").is_some(), "{body}");
    assert!(object.remove("delivery_id").is_some(), "{body}");
    line
}

#[test]
fn fired_and_cleared_are_each_delivered_once_in_order_through_failures() {
    let dir = tempfile::tempdir().unwrap();
    // The generic hook's receiver fails twice before it accepts anything.
    let flaky = HookServer::start(|n| Answer::Status(if n <= 2 { 503 } else { 200 }));
    let manager = HookServer::start(|_| Answer::Status(200));
    let command_out = dir.path().join("command.jsonl");
    let config = format!(
        r#"
[[alerts.hook]]
kind = "webhook"
name = "generic"
url = "{flaky}"
headers = {{ Authorization = "Bearer ${{MW_TEST_HOOK_TOKEN}}" }}
backoff = "20ms"
backoff_max = "100ms"

[[alerts.hook]]
kind = "webhook"
url = "{manager}"
format = "alertmanager"
labels = {{ team = "ml" }}

[[alerts.hook]]
kind = "command"
argv = ["/bin/sh", "-c", "cat >> \"$1\"; echo \"$MODELWATCH_ALERT_STATE $MODELWATCH_ALERT_KIND $MODELWATCH_ALERT_MODEL\" >> \"$1.env\"", "sh", "{out}"]
"#,
        flaky = flaky.url(),
        manager = manager.url(),
        out = command_out.display(),
    );
    let (child, lines) = watch(dir.path(), &config);
    let mut alerts = Vec::new();
    wait_line(&lines, LIMIT, "confidence_drift cleared", |v| {
        if v["type"] == "alert" {
            alerts.push(v.clone());
        }
        v["type"] == "alert" && v["alert_kind"] == "confidence_drift" && v["state"] == "cleared"
    });
    let expected: Vec<(u64, String)> = alerts.iter().map(key).collect();
    assert!(expected.len() >= 3, "{alerts:?}");
    wait_until("every hook to deliver every transition", LIMIT, || {
        flaky.delivered().len() >= expected.len()
            && manager.delivered().len() >= expected.len()
            && std::fs::read_to_string(&command_out).map_or(0, |t| t.lines().count())
                >= expected.len()
    });
    let (rest, clean) = stop(child, &lines);
    assert!(clean, "exit status");

    // The generic hook: each transition once, in the engine's order, the
    // first after two refusals; the body is the --no-tui alert line.
    let requests = flaky.requests();
    let delivered = flaky.delivered();
    assert_eq!(
        requests.len(),
        delivered.len() + 2,
        "two refused attempts, no more"
    );
    assert_eq!(
        requests[0].body, requests[2].body,
        "the refused attempts were the first transition's"
    );
    assert_eq!(delivered.iter().map(key).collect::<Vec<_>>(), expected);
    let by_key: HashMap<(u64, String), &Value> = alerts.iter().map(|a| (key(a), a)).collect();
    for (body, request) in delivered.iter().zip(&requests[2..]) {
        assert_eq!(&as_alert_line(body), by_key[&key(body)], "{body}");
        assert_eq!(
            request.header("idempotency-key"),
            body["delivery_id"].as_str()
        );
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(request.path, "/hook");
    }
    // The token was sent, and is nowhere else.
    let log = std::fs::read_to_string(dir.path().join("modelwatch.log")).unwrap();
    let stdout: String = alerts.iter().chain(&rest).map(|v| v.to_string()).collect();
    assert!(!log.contains(TOKEN) && !stdout.contains(TOKEN));
    assert!(log.contains("alert hook delivered"), "{log}");

    // Alertmanager: an array of alerts with labels, annotations and times.
    let bodies = manager.delivered();
    assert_eq!(bodies.len(), expected.len());
    for (body, (id, state)) in bodies.iter().zip(&expected) {
        let alert = &body[0];
        let line = by_key[&(*id, state.clone())];
        assert_eq!(alert["labels"]["alertname"], line["alert_kind"], "{body}");
        assert_eq!(alert["labels"]["severity"], line["severity"]);
        assert_eq!(alert["labels"]["model"], "fraud\"v3");
        assert_eq!(alert["labels"]["team"], "ml");
        assert_eq!(alert["annotations"]["description"], line["detail"]);
        assert_eq!(alert["annotations"]["alert_id"], id.to_string());
        let starts = alert["startsAt"].as_str().unwrap();
        let ends = alert["endsAt"].as_str().unwrap();
        assert!(ends >= starts, "{body}");
        if state == "cleared" {
            let fired = bodies
                .iter()
                .find(|b| b[0]["annotations"]["alert_id"].as_str() == Some(&*id.to_string()))
                .unwrap();
            assert_eq!(
                fired[0]["startsAt"], alert["startsAt"],
                "one alert, one start"
            );
        }
    }

    // The command: the same line on stdin, the state and kind in variables.
    let text = std::fs::read_to_string(&command_out).unwrap();
    let got: Vec<(u64, String)> = text
        .lines()
        .map(|l| key(&serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(got, expected);
    let env = std::fs::read_to_string(format!("{}.env", command_out.display())).unwrap();
    let first = env.lines().next().unwrap();
    assert_eq!(first, "fired confidence_drift fraud\"v3");
}

#[test]
fn a_hook_that_never_answers_slows_nothing_and_the_exit_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let silent = HookServer::start(|_| Answer::Never);
    let config = format!(
        "[[alerts.hook]]\nkind = \"webhook\"\nurl = \"{}\"\ntimeout = \"30s\"\nqueue_items = 1\n",
        silent.url()
    );
    let (child, lines) = watch(dir.path(), &config);
    let mut alerts = 0;
    let status = wait_line(&lines, LIMIT, "every prediction counted", |v| {
        alerts += usize::from(v["type"] == "alert");
        v["type"] == "status" && v["predictions"] == drift::PREDICTIONS
    });
    assert!(alerts >= 3, "the alert lines came as usual: {alerts}");
    assert_eq!(status["models"][0]["predictions"], drift::PREDICTIONS);
    wait_until("the hook's first request", LIMIT, || {
        !silent.requests().is_empty()
    });
    // SIGTERM while a delivery hangs: the session ends with its summary
    // and the process exits (the hooks get a bounded time, not 30 s).
    let (rest, clean) = stop(child, &lines);
    assert!(clean, "exit status");
    let summary = rest.last().unwrap();
    assert_eq!(summary["predictions"], drift::PREDICTIONS);
    assert_eq!(summary["reason"], "terminated");
    let log = std::fs::read_to_string(dir.path().join("modelwatch.log")).unwrap();
    assert!(log.contains("alert hook queue full"), "{log}");
    assert!(log.contains("still delivering at exit"), "{log}");
}

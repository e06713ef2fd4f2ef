//! `feature_drift` through the real binary: one alert per model naming the
//! input features that drift, announced again (`updated`, at the check where
//! it joins) when another joins, the same in `replay`'s report and `watch
//! --no-tui`'s lines.

mod common;

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

/// Baseline 2,000 and window 500: `x` moves at 3,000, the share of `c`
/// at 4,000; `steady` never moves.
fn stream() -> String {
    let mut rng = common::xorshift::Xorshift::new(0x2545_f491_4f6c_dd1d);
    let mut uniform = || rng.uniform();
    let mut out = String::new();
    for i in 0..5_000u64 {
        let x = uniform() + if i >= 3_000 { 0.5 } else { 0.0 };
        let a_share = if i >= 4_000 { 0.9 } else { 0.5 };
        let c = if uniform() < a_share { "a" } else { "b" };
        let steady = uniform() * 10.0;
        let confidence = 0.6 + 0.3 * uniform();
        out.push_str(&format!(
            r#"{{"id":"r{i}","prediction":"p","confidence":{confidence:.4},"input":{{"x":{x:.6},"c":"{c}","steady":{steady:.6}}}}}"#
        ));
        out.push('\n');
    }
    out
}

const ARGS: [&str; 4] = ["--baseline", "2000", "--window", "500"];

fn names(alert: &Value) -> Vec<&str> {
    alert["features"]
        .as_array()
        .unwrap_or_else(|| panic!("no features in {alert}"))
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect()
}

#[test]
fn replay_names_the_drifting_features_in_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.jsonl");
    std::fs::write(&path, stream()).unwrap();
    let out = common::run(
        common::modelwatch().arg("replay").args(ARGS).arg(&path),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts: Vec<&Value> = report["models"]["default"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "feature_drift")
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0]["index"].as_u64().unwrap() >= 3_000);
    assert_eq!(names(alerts[0]), ["x", "c"]);
    let window = &report["models"]["default"]["windows"][0]["features"];
    assert_eq!(window["x"]["kind"], "numeric");
    assert_eq!(window["c"]["kind"], "categorical");
    let baseline = &report["models"]["default"]["baseline"]["features"];
    assert_eq!(baseline["c"]["n"], 2_000);
}

#[test]
fn no_tui_fires_then_updates_as_a_feature_joins() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::modelwatch()
        .args(["watch", "--no-tui"])
        .args(ARGS)
        .arg("-")
        .env("MODELWATCH_LOG_FILE", dir.path().join("modelwatch.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(stream().as_bytes()).unwrap();
    });
    let out = common::finish(child, Duration::from_secs(60));
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["type"] == "alert" && v["alert_kind"] == "feature_drift")
        .collect();
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["fired", "updated"], "{lines:?}");
    assert_eq!(names(&lines[0]), ["x"]);
    assert_eq!(names(&lines[1]), ["x", "c"]);
    assert_eq!(lines[0]["id"], lines[1]["id"], "one alert");
    let index = |l: &Value| l["index"].as_u64().unwrap();
    assert!(index(&lines[0]) >= 3_000, "x moves at 3,000");
    assert!(index(&lines[1]) >= 4_000, "c joins when it moves, at 4,000");
}

//! `replay` on no-drift streams from benches/drift_streams.py (the first
//! four of its catalogue: two, three and ten classes, skewed and
//! near-uniform confidence, 2 decimals, 6 decimals and full precision,
//! baselines 2,000 to 20,000 with windows a tenth of them): the same
//! distribution throughout, so any alert is a false alarm.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

const PREDICTIONS: u64 = 30_000;
const GENERATOR_LIMIT: Duration = Duration::from_secs(120);

fn generator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/drift_streams.py")
}

/// Writes one no-drift stream into `dir` and returns its manifest entry.
fn generate(name: &str, dir: &Path) -> Value {
    let out = common::run(
        Command::new("python3")
            .arg(generator())
            .args(["--kinds", "nodrift", "--count", "4"])
            .args(["--predictions", &PREDICTIONS.to_string()])
            .args(["--baselines", "2000,5000,10000,20000", "--select", name])
            .arg("--out")
            .arg(dir),
        GENERATOR_LIMIT,
    );
    assert!(
        out.status.success(),
        "drift_streams.py failed: {}",
        common::text(&out.stderr)
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let streams = manifest["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "one stream selected");
    streams[0].clone()
}

/// Every alert of a report, the input's and each model's.
fn alerts(report: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = report["alerts"].as_array().cloned().unwrap_or_default();
    for model in report["models"].as_object().unwrap().values() {
        all.extend(model["alerts"].as_array().unwrap().iter().cloned());
    }
    all
}

fn assert_no_alert(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let stream = generate(name, dir.path());
    // The report outgrows a pipe's buffer: read it while replay writes it.
    let out = common::modelwatch()
        .arg("replay")
        .args(["--baseline", &stream["baseline"].to_string()])
        .args(["--window", &stream["window"].to_string()])
        .arg(dir.path().join(stream["file"].as_str().unwrap()))
        .output()
        .expect("run modelwatch");
    assert!(
        out.status.success(),
        "replay failed: {}",
        common::text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report is JSON");
    assert_eq!(report["input"]["predictions"], PREDICTIONS);
    assert_eq!(report["input"]["feedback"], PREDICTIONS);
    assert_eq!(report["input"]["malformed"], 0);
    let fired = alerts(&report);
    assert!(
        fired.is_empty(),
        "{name} ({} classes, {} confidence, {} decimals, baseline {}, window {}): {} false alarms, first {}",
        stream["classes"],
        stream["shape"],
        stream["decimals"],
        stream["baseline"],
        stream["window"],
        fired.len(),
        fired[0]
    );
}

#[test]
fn no_alert_on_nodrift_00() {
    assert_no_alert("nodrift_00");
}

#[test]
fn no_alert_on_nodrift_01() {
    assert_no_alert("nodrift_01");
}

#[test]
fn no_alert_on_nodrift_02() {
    assert_no_alert("nodrift_02");
}

#[test]
fn no_alert_on_nodrift_03() {
    assert_no_alert("nodrift_03");
}

#[test]
fn generator_writes_the_same_bytes_for_the_same_arguments() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, second) = (
        generate("nodrift_01", a.path()),
        generate("nodrift_01", b.path()),
    );
    assert_eq!(first["sha256"], second["sha256"]);
    let file = first["file"].as_str().unwrap();
    assert!(
        std::fs::read(a.path().join(file)).unwrap() == std::fs::read(b.path().join(file)).unwrap(),
        "{file} differs between two runs"
    );
}

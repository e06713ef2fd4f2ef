//! `replay` on no-drift streams from benches/drift_streams.py (the first
//! four of its catalogue: two, three and ten classes, skewed and
//! near-uniform confidence, 2 decimals, 6 decimals and full precision,
//! baselines 2,000 to 20,000 with windows a tenth of them): the same
//! distribution throughout, so any alert is a false alarm. And its first
//! label-mix shift, too small for its window of 200, found by the mix's
//! sequential test.

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
    let predictions = PREDICTIONS.to_string();
    generate_with(
        &[
            "--kinds",
            "nodrift",
            "--count",
            "4",
            "--predictions",
            &predictions,
            "--baselines",
            "2000,5000,10000,20000",
            "--select",
            name,
        ],
        dir,
    )
}

/// Writes the one stream `args` select into `dir` and returns its
/// manifest entry.
fn generate_with(args: &[&str], dir: &Path) -> Value {
    let out = common::run(
        Command::new("python3")
            .arg(generator())
            .args(args)
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

/// `replay` of `stream` (in `dir`) with its baseline and window, and
/// `config` when given.
fn replay(stream: &Value, dir: &Path, config: Option<&Path>) -> Value {
    let mut command = common::modelwatch();
    command
        .arg("replay")
        .args(["--baseline", &stream["baseline"].to_string()])
        .args(["--window", &stream["window"].to_string()]);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    // The report outgrows a pipe's buffer: read it while replay writes it.
    let out = command
        .arg(dir.join(stream["file"].as_str().unwrap()))
        .output()
        .expect("run modelwatch");
    assert!(
        out.status.success(),
        "replay failed: {}",
        common::text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

fn assert_no_alert(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let stream = generate(name, dir.path());
    let report = replay(&stream, dir.path(), None);
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

/// The first alert at or after the onset: its delay and detail. None
/// fires before the onset.
fn first_after_onset(report: &Value, onset: u64) -> Option<(u64, String)> {
    let fired = alerts(report);
    assert!(
        fired.iter().all(|a| a["index"].as_u64().unwrap() >= onset),
        "an alert before the onset at {onset}: {fired:?}"
    );
    fired
        .iter()
        .min_by_key(|a| a["index"].as_u64().unwrap())
        .map(|a| {
            (
                a["index"].as_u64().unwrap() - onset,
                a["detail"].as_str().unwrap().to_string(),
            )
        })
}

#[test]
fn a_mix_shift_too_small_for_the_window_is_found_by_the_sequential_test() {
    // Two labels, 50/50 to about 62/38 (Jensen–Shannon 0.127), with a
    // baseline of 2,000 and a window of 200: the window's chi-square
    // cannot reach 1e-6 on so few predictions.
    let dir = tempfile::tempdir().unwrap();
    let stream = generate_with(
        &[
            "--kinds",
            "shift_label_mix",
            "--select",
            "shift_label_mix_00",
        ],
        dir.path(),
    );
    assert_eq!(
        (stream["baseline"].as_u64(), stream["window"].as_u64()),
        (Some(2000), Some(200))
    );
    let onset = stream["onset"].as_u64().unwrap();
    let report = replay(&stream, dir.path(), None);
    let (delay, detail) = first_after_onset(&report, onset).expect("the shift is alerted");
    assert!(
        delay <= 1_000,
        "found {delay} predictions after the shift: {detail}"
    );
    // The windows alone find it much later, by chance.
    let off = dir.path().join("windows-only.toml");
    std::fs::write(&off, "[alerts.prediction_mix_drift]\nsequential = false\n").unwrap();
    let windows = replay(&stream, dir.path(), Some(&off));
    let later = first_after_onset(&windows, onset).map(|(d, _)| d);
    assert!(later.is_none_or(|d| d > 2_000), "{later:?}");
}

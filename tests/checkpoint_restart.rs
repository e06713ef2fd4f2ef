//! Restarts, on the real binary and real files: a writer appends 200,000
//! predictions (and feedback for some of them) to a file and rotates it
//! once; `agent --state-dir` follows it, is killed with SIGKILL at
//! three seeded random points and restarted each time. In the end its
//! counts are the lines written (none missed, none twice), and its alerts
//! and windows are those of one uninterrupted `replay` of the same lines.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::no_tui::{Reaped, json_lines, sigterm};
use serde_json::Value;

const PREDICTIONS: u64 = 200_000;
const BASELINE: &str = "10000";
const WINDOW: &str = "1000";
/// Feedback is kept for one prediction in this many.
const FEEDBACK_EVERY: usize = 4;
/// Lines appended at a time.
const CHUNK: usize = 5_000;
/// Seeds the kill points; `MW_RESTART_SEED` tries others.
const SEED: u64 = 0x5eed_0c4e_c401;
const LIMIT: Duration = Duration::from_secs(300);

/// The stream: a confidence shift (benches/drift_streams.py), feedback
/// thinned out.
fn stream(dir: &Path) -> Vec<String> {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/drift_streams.py");
    let out = common::run(
        std::process::Command::new("python3")
            .arg(generator)
            .args(["--kinds", "shift_confidence", "--per-kind", "1"])
            .args(["--predictions", &PREDICTIONS.to_string()])
            .args(["--baselines", BASELINE, "--select", "shift_confidence_00"])
            .arg("--out")
            .arg(dir),
        LIMIT,
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let text = std::fs::read_to_string(dir.join("shift_confidence_00.jsonl")).unwrap();
    let mut feedback = 0;
    text.lines()
        .filter(|l| {
            if !l.contains("\"feedback\"") {
                return true;
            }
            feedback += 1;
            feedback % FEEDBACK_EVERY == 0
        })
        .map(str::to_string)
        .collect()
}

/// Appends the stream to `path`; rotates it once by renaming it to
/// `path.1` (the writer goes on in a new file).
struct Writer {
    lines: Vec<String>,
    written: usize,
    path: PathBuf,
    file: File,
    rotated: bool,
}

impl Writer {
    fn new(lines: Vec<String>, path: &Path) -> Self {
        let file = File::create(path).unwrap();
        Writer {
            lines,
            written: 0,
            path: path.to_path_buf(),
            file,
            rotated: false,
        }
    }

    fn rotated_path(&self) -> PathBuf {
        self.path.with_extension("jsonl.1")
    }

    fn rotate(&mut self) {
        std::fs::rename(&self.path, self.rotated_path()).unwrap();
        self.file = File::create(&self.path).unwrap();
        self.rotated = true;
    }

    /// Appends until `n` lines are written, in chunks.
    fn write_until(&mut self, n: usize) {
        while self.written < n.min(self.lines.len()) {
            let end = (self.written + CHUNK).min(n).min(self.lines.len());
            let mut chunk = self.lines[self.written..end].join("\n");
            chunk.push('\n');
            self.file.write_all(chunk.as_bytes()).unwrap();
            self.written = end;
        }
    }
}

/// Three seeded kill points.
fn points(seed: u64, total: usize) -> Vec<usize> {
    let mut rng = common::xorshift::Xorshift::new(seed);
    let mut next = || rng.next_u64();
    // Three points between 10% and 90% of the lines, each in its own third.
    let mut at: Vec<usize> = (0..3)
        .map(|k| {
            let third = total * 8 / 30;
            total / 10 + k * third + (next() % third as u64) as usize
        })
        .collect();
    at.sort_unstable();
    at
}

struct Run {
    child: Reaped,
    lines: Receiver<Value>,
    stderr: PathBuf,
}

fn start(dir: &Path, n: usize, followed: &Path, report: &Path) -> Run {
    let stderr = dir.join(format!("stderr-{n}.txt"));
    let mut child = common::modelwatch()
        .args(["agent", "--status-every", "1"])
        .args(["--checkpoint-every", "1", "--from-start"])
        .args(["--baseline", BASELINE, "--window", WINDOW])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--report")
        .arg(report)
        .arg(followed)
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"))
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let lines = json_lines(child.stdout.take().unwrap());
    Run {
        child: Reaped(child),
        lines,
        stderr,
    }
}

/// Reads a run's lines (keeping the alerts) until one satisfies `want`.
fn read_until(
    run: &Run,
    alerts: &mut Vec<Value>,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = run
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        if line["type"] == "alert" {
            alerts.push(line.clone());
        }
        if want(&line) {
            return line;
        }
    }
}

fn kill_hard(run: &mut Run, alerts: &mut Vec<Value>) {
    run.child.0.kill().unwrap();
    run.child.0.wait().unwrap();
    // What it wrote before it died.
    while let Ok(line) = run.lines.recv_timeout(LIMIT) {
        if line["type"] == "alert" {
            alerts.push(line);
        }
    }
}

fn number(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The alerts the lines tell of, one per id: (kind, index fired,
/// severity last, index cleared). A line repeated after a restart must be
/// the same line.
fn alerts_told(lines: &[Value]) -> Vec<(String, u64, String, Option<u64>)> {
    let mut seen: BTreeMap<(u64, String), &Value> = BTreeMap::new();
    for line in lines {
        let key = (
            number(&line["id"]),
            line["state"].as_str().unwrap().to_string(),
        );
        if let Some(before) = seen.insert(key.clone(), line) {
            assert_eq!(before, line, "alert {key:?} told twice, differently");
        }
    }
    let mut by_id: BTreeMap<u64, (String, u64, String, Option<u64>)> = BTreeMap::new();
    for ((id, state), line) in &seen {
        let kind = line["alert_kind"].as_str().unwrap().to_string();
        let severity = line["severity"].as_str().unwrap().to_string();
        let index = number(&line["index"]);
        let entry = by_id
            .entry(*id)
            .or_insert_with(|| (kind.clone(), index, severity.clone(), None));
        match state.as_str() {
            "fired" => {
                entry.1 = index;
                if kind == "change_point" {
                    // An event, over at once (one line).
                    entry.3 = Some(index);
                }
            }
            "escalated" => entry.2 = severity,
            "cleared" => entry.3 = Some(index),
            _ => {}
        }
    }
    let mut all: Vec<_> = by_id.into_values().collect();
    all.sort();
    all
}

fn alerts_reported(report: &Value) -> Vec<(String, u64, String, Option<u64>)> {
    let mut all: Vec<_> = report["models"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m["alerts"].as_array().unwrap().iter())
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                number(&a["index"]),
                a["severity"].as_str().unwrap().to_string(),
                a["cleared_index"].as_u64(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn killed_and_restarted_it_counts_every_line_once_and_alerts_as_replay_does() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let lines = stream(&dir.join("gen"));
    let total = lines.len();
    let followed = dir.join("preds.jsonl");
    let report = dir.join("report.json");
    let mut writer = Writer::new(lines, &followed);
    let seed = std::env::var("MW_RESTART_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let kills = points(seed, total);
    let mut alerts = Vec::new();
    writer.write_until(total * 3 / 10);
    for (n, &target) in kills.iter().enumerate() {
        let mut run = start(dir, n, &followed, &report);
        // The writer keeps appending while it follows, ahead of it.
        writer.write_until(target + total / 5);
        read_until(&run, &mut alerts, "a checkpoint past the kill point", |v| {
            v["type"] == "status" && number(&v["checkpoint"]["lines"]) >= target as u64
        });
        kill_hard(&mut run, &mut alerts);
        let said = std::fs::read_to_string(&run.stderr).unwrap();
        assert_eq!(said.contains("resumed from"), n > 0, "run {n} said: {said}");
        if n == 2 {
            // Rotated while it was down: the rest of the file it was
            // reading is found under its new name.
            assert!(said.contains("rotated since the checkpoint"), "{said}");
        }
        // And appends while it is down; once, it rotates the file first.
        if n == 1 {
            writer.rotate();
        }
        writer.write_until(writer.written + total / 20);
    }
    let mut run = start(dir, kills.len(), &followed, &report);
    writer.write_until(total);
    assert!(writer.rotated);
    // Every line in the engine, and the source's own count caught up (its
    // status comes about once a second).
    read_until(&run, &mut alerts, "every line", |v| {
        assert!(
            number(&v["lines"]) <= total as u64,
            "lines counted twice: {v}"
        );
        v["type"] == "status"
            && number(&v["lines"]) == total as u64
            && number(&v["sources"][0]["lines"]) == total as u64
    });
    sigterm(&run.child.0);
    let summary = read_until(&run, &mut alerts, "the summary", |v| v["type"] == "summary");
    assert!(common::wait(&mut run.child.0, LIMIT).success());
    let said = std::fs::read_to_string(&run.stderr).unwrap();
    assert!(said.contains("resumed from"), "the last run said: {said}");

    // Every line once: the counts are those of the lines written.
    let predictions = PREDICTIONS;
    let feedback = total as u64 - predictions;
    assert_eq!(
        (
            number(&summary["lines"]),
            number(&summary["predictions"]),
            number(&summary["feedback"]),
            number(&summary["malformed"]),
        ),
        (total as u64, predictions, feedback, 0),
        "{summary}"
    );
    assert_eq!(number(&summary["sources"][0]["lines"]), total as u64);

    // One uninterrupted replay of the same lines.
    let out = common::run(
        common::modelwatch()
            .args(["replay", "--baseline", BASELINE, "--window", WINDOW])
            .arg(writer.rotated_path())
            .arg(&followed),
        LIMIT,
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let watched: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let told = alerts_told(&alerts);
    assert!(
        told.iter().any(|a| a.0 == "confidence_drift"),
        "the stream drifts: {told:?}"
    );
    assert_eq!(told, alerts_reported(&replayed));
    // Windows, baseline, detectors, alerts (with their details), review
    // and label counts: all of it as replay has it.
    assert_eq!(watched["input"], replayed["input"]);
    assert_eq!(watched["models"], replayed["models"]);
}

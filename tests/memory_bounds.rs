//! Memory is bounded in bytes, not only in items: the real binary's
//! `replay` on streams built to grow memory (huge labels, model names and
//! feedback that waits for predictions that never come) stays under
//! 128 MB of peak RSS, and what is over a cap is malformed with a reason
//! naming the field and the cap.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);
const PEAK_LIMIT_KB: u64 = 128 * 1024;

/// Writes `lines` gzip-compressed (the streams are hundreds of megabytes
/// but repetitive: the files stay small).
fn gz_file(dir: &Path, name: &str, lines: impl Iterator<Item = String>) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::fast());
    for line in lines {
        gz.write_all(line.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap().flush().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 64 << 20);
    path
}

/// Runs `replay` (with `args` before the file) and returns its report and
/// peak resident memory in KiB, taken from the kernel when it is reaped.
// The child is reaped by `wait4`, which also reports its peak.
#[allow(clippy::zombie_processes)]
fn replay_peak(dir: &Path, file: &Path, args: &[&str]) -> (Value, u64) {
    let mut child = common::modelwatch()
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"))
        .arg("replay")
        .args(args)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let report = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let pid = child.id() as libc::pid_t;
    let guard = common::KilledWhenDropped(&mut child);
    let (status, usage) = common::wait_until("replay to exit", LIMIT, || {
        let mut status = 0;
        // SAFETY: plain syscall on our own child; both pointers are to
        // live locals of the right types.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        (reaped == pid).then_some((status, usage))
    });
    drop(guard);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "replay failed: {stderr}"
    );
    let out = report.join().unwrap();
    let report = serde_json::from_slice(&out).expect("a JSON report");
    (report, usage.ru_maxrss as u64)
}

/// The report's input section, after checking the peak.
fn input_of(report: &Value, peak_kb: u64, what: &str) -> Value {
    assert!(
        peak_kb < PEAK_LIMIT_KB,
        "{what}: peak RSS {} MB",
        peak_kb / 1024
    );
    report["input"].clone()
}

fn padded(prefix: &str, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes);
    s.push_str(prefix);
    s.extend(std::iter::repeat_n('x', bytes - prefix.len()));
    s
}

/// Replays `n` lines, line `i` being `line(padded text)` with a field of
/// `bytes` bytes: under the peak, each malformed, the last ones with
/// `reason`, and no model watched.
fn huge_fields_are_malformed(
    what: &str,
    n: usize,
    bytes: usize,
    line: impl Fn(&str) -> String,
    reason: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let lines = (0..n).map(|i| line(&padded(&format!("{what}{i}-"), bytes)));
    let file = gz_file(dir.path(), "huge.jsonl.gz", lines);
    let (report, peak) = replay_peak(dir.path(), &file, &[]);
    let input = input_of(&report, peak, what);
    let counts = ["malformed", "predictions", "feedback"].map(|k| input[k].as_u64());
    assert_eq!(counts, [Some(n as u64), Some(0), Some(0)], "{what}");
    assert!(report["models"].as_object().unwrap().is_empty());
    let last = input["malformed_last"].as_array().unwrap();
    assert!(!last.is_empty());
    for m in last {
        let got = m["reason"].as_str().unwrap();
        assert!(got.contains(reason), "{got} (expected {reason})");
    }
}

#[test]
fn early_feedback_with_huge_labels() {
    huge_fields_are_malformed(
        "label",
        4_000,
        200 * 1024,
        |label| {
            format!(
                r#"{{"type":"feedback","id":"{}","label":"{label}"}}"#,
                &label[..12]
            )
        },
        "feedback label of 204800 bytes is over the 256-byte cap",
    );
}

#[test]
fn a_thousand_huge_labels_for_one_model() {
    huge_fields_are_malformed(
        "label",
        1_000,
        500 * 1024,
        |label| format!(r#"{{"id":"p","model":"m","prediction":"{label}","confidence":0.4}}"#),
        "predicted label of 512000 bytes is over the 256-byte cap",
    );
}

#[test]
fn many_models_with_huge_names() {
    huge_fields_are_malformed(
        "model",
        256,
        200 * 1024,
        |model| format!(r#"{{"model":"{model}","prediction":"a","confidence":0.9}}"#),
        "model name of 204800 bytes is over the 256-byte cap",
    );
}

/// Within the caps: feedback at the largest label and id for ids never
/// predicted fills the waiting table to its byte budget, and low-confidence
/// predictions with the largest ids fill a review queue to its own.
#[test]
fn the_byte_budgets_hold_within_the_caps() {
    let dir = tempfile::tempdir().unwrap();
    let feedback = 200_000;
    let predictions = 20_000;
    let lines = (0..feedback)
        .map(|i| {
            let id = padded(&format!("never-predicted-{i}-"), 1024);
            let label = padded(&format!("{i}-"), 256);
            format!(r#"{{"type":"feedback","id":"{id}","label":"{label}"}}"#)
        })
        .chain((0..predictions).map(|i| {
            let id = padded(&format!("case-{i}-"), 1024);
            format!(r#"{{"id":"{id}","model":"m","prediction":"a","confidence":0.3}}"#)
        }));
    let file = gz_file(dir.path(), "budget.jsonl.gz", lines);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[review]\nmax_bytes = 4194304\n").unwrap();
    let config = config.to_str().unwrap();
    let (report, peak) = replay_peak(dir.path(), &file, &["--config", config]);
    let input = input_of(&report, peak, "byte budgets");
    assert_eq!(input["malformed"].as_u64(), Some(0));
    assert_eq!(input["feedback_unmatched"].as_u64(), Some(feedback));
    let over_bytes = input["feedback_evicted_over_bytes"].as_u64().unwrap();
    assert!(over_bytes > 100_000, "{input}");
    let review = &report["models"]["m"]["review"];
    assert_eq!(review["queued_total"].as_u64(), Some(predictions));
    let evicted = review["evicted_over_bytes"].as_u64().unwrap();
    assert!(
        evicted > 0 && evicted == review["evicted"].as_u64().unwrap(),
        "{review}"
    );
    assert!(review["in_queue"].as_u64().unwrap() < 4_194_304 / 1024);
}

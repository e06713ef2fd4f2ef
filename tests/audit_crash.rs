//! Acceptance: decisions survive SIGKILL at any moment. A child (this
//! test binary re-executed) records decisions as fast as it can and
//! prints each one after `append` returned; it is killed at random
//! moments, 200 rounds. Every acknowledged decision must be in the log
//! exactly once and the chain must verify.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use modelwatch::decision::audit::AuditLog;
use modelwatch::decision::audited::record_decision;
use modelwatch::decision::verify::verify_file;
use modelwatch::engine::Decision;
use modelwatch::engine::review::{CaseState, QueueReason, ReviewItem};

const CHILD_ENV: &str = "MODELWATCH_CRASH_CHILD";
const ROUNDS: u32 = 200;
/// Decisions one child makes at most (bounds the run time).
const PER_CHILD: u32 = 300;

fn item(case_id: String, i: u32) -> ReviewItem {
    ReviewItem {
        seq: u64::from(i),
        case_id,
        generated_id: false,
        model: "fraud-v3".into(),
        index: u64::from(i),
        ts_ms: 1_700_000_000_000,
        queued_ms: 1_700_000_000_100,
        confidence: 0.42,
        margin: Some(0.1),
        label: "fraud".into(),
        reason: QueueReason::LowConfidence,
        raw: None,
        state: CaseState::Pending,
    }
}

/// The child: runs only when re-executed with `CHILD_ENV` set.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        common::skip(
            "crash_child runs only as the child of acknowledged_decisions_survive_sigkill",
        );
        return;
    };
    let (path, round) = spec.split_once('|').expect("spec");
    let (mut log, _) = AuditLog::open(Path::new(path)).expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0..PER_CHILD {
        let case = format!("r{round}-{i}");
        let decision = if i.is_multiple_of(3) {
            Decision::Override("legit".into())
        } else {
            Decision::Approve
        };
        record_decision(
            &mut log,
            "crash-test",
            &item(case.clone(), i),
            &decision,
            None,
        )
        .expect("append");
        // One write per ack, after the record is durable.
        out.write_all(format!("ack {case} .\n").as_bytes()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_decisions_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        common::skip("in the child only crash_child runs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("decisions.jsonl");
    let exe = std::env::current_exe().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = common::xorshift::Xorshift::new(seed);
    let mut acked: Vec<String> = Vec::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}|{round}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A kill moment between 0 and 60 ms after the spawn; the sleep
        // picks that moment on purpose, it waits for nothing.
        std::thread::sleep(Duration::from_micros(rng.next_u64() % 60_000));
        let _ = child.kill(); // SIGKILL
        let out = common::finish(child, Duration::from_secs(30));
        let stdout = common::text(&out.stdout);
        // Only whole lines count: a line cut by the kill was not an ack.
        for line in stdout.split_inclusive('\n') {
            if let Some(rest) = line.strip_prefix("ack ")
                && let Some(case) = rest.strip_suffix(" .\n")
            {
                acked.push(case.to_owned());
            }
        }
    }
    // Reopening moves any torn tail aside; then the chain must hold.
    let (log, report) = AuditLog::open(&log_path).unwrap();
    drop(log);
    let verified = verify_file(&log_path).unwrap().expect("chain verifies");
    assert_eq!(verified.records, report.records);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for r in common::records(&log_path) {
        *seen
            .entry(r["case_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "a decision was recorded twice"
    );
    for case in &acked {
        assert_eq!(seen.get(case), Some(&1), "acknowledged {case} missing");
    }
    eprintln!(
        "{ROUNDS} rounds in {:?}: {} acknowledged, {} recorded, torn now: {:?}",
        started.elapsed(),
        acked.len(),
        verified.records,
        report.torn
    );
    assert!(
        acked.len() > 100,
        "the children hardly ran: {}",
        acked.len()
    );
    let out = common::run(
        common::modelwatch().arg("verify-log").arg(&log_path),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stdout));
}

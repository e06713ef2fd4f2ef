//! Kill-switch latency: from the trip request to the flag file being
//! durable, p50/p99 over 1,000 trips, while an engine ingests ~100k
//! events/s on another thread.
//!
//! `cargo bench --bench kill_switch` (set `KS_TRIPS` to change the count).
//! Two figures: the switch alone (`KillSwitch::trip`: temp file, fsync,
//! rename, directory fsync), and the audited sequence the dashboard runs
//! (`trip_audited`: request record fsynced, then the switch, then the
//! result record fsynced), the latter while a second process appends
//! review decisions to the same audit log as fast as it can (the log is
//! shared: each append locks it for a moment).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use modelwatch::decision::audit::AuditLog;
use modelwatch::decision::audited::trip_audited;
use modelwatch::decision::kill_request::KillRequest;
use modelwatch::decision::kill_switch::{KillSwitch, SwitchState};
use modelwatch::decision::settings::{ActuatorSpec, FlagFileSpec};
use modelwatch::engine::{Engine, EngineSettings, LineOrigin};
use modelwatch::record::Parser;

const RATE: u64 = 100_000;

/// Feeds the engine ~`RATE` lines a second in 1 ms batches until stopped.
fn ingest_load(stop: Arc<AtomicBool>, fed: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut engine = Engine::new(EngineSettings::default());
        let start = Instant::now();
        let mut n: u64 = 0;
        let mut line = String::new();
        while !stop.load(Ordering::Relaxed) {
            let due = start.elapsed().as_micros() as u64 * RATE / 1_000_000;
            while n < due {
                line.clear();
                let conf = 0.5 + ((n * 7919) % 500) as f64 / 1000.0;
                let label = if n.is_multiple_of(3) {
                    "fraud"
                } else {
                    "legit"
                };
                line.push_str(&format!(
                    r#"{{"ts":{},"id":"r{n}","model":"fraud-v3","prediction":"{label}","confidence":{conf}}}"#,
                    1_700_000_000_000u64 + n
                ));
                engine.ingest_line(
                    &Parser::default(),
                    line.as_bytes(),
                    LineOrigin {
                        source: "bench",
                        line: n + 1,
                    },
                    1_700_000_000_000 + n as i64,
                );
                n += 1;
            }
            fed.store(n, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
}

/// The second process: appends decisions to the log at `path` until
/// `stop` exists (at most a minute).
fn append_until(path: &std::path::Path, stop: &std::path::Path) {
    use modelwatch::decision::audit_record::{AuditAction, AuditEntry};
    let (mut log, _) = AuditLog::open(path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0u64;
    while !stop.exists() && Instant::now() < deadline {
        let mut e = AuditEntry::new("second", AuditAction::Approve);
        e.model = Some("other".into());
        e.case_id = Some(format!("c{n}"));
        log.append(e).unwrap();
        n += 1;
    }
    println!("{n}");
}

fn main() {
    if let (Ok(log), Ok(stop)) = (std::env::var("KS_APPEND_TO"), std::env::var("KS_STOP")) {
        append_until(log.as_ref(), stop.as_ref());
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let trips: usize = std::env::var("KS_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let dir = std::env::current_dir()
        .unwrap()
        .join("target")
        .join("ks-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let flag = dir.join("fraud-v3.killed");
    let switch = KillSwitch::new(
        vec![ActuatorSpec::FlagFile(FlagFileSpec::from_path(
            flag.clone(),
        ))],
        None,
    );
    let log_path = dir.join("audit.jsonl");
    let log = Mutex::new(AuditLog::open(&log_path).unwrap().0);
    let stop_file = dir.join("stop");
    let second = std::process::Command::new(std::env::current_exe().unwrap())
        .env("KS_APPEND_TO", &log_path)
        .env("KS_STOP", &stop_file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let fed = Arc::new(AtomicU64::new(0));
    let load = ingest_load(Arc::clone(&stop), Arc::clone(&fed));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let fed_before = fed.load(Ordering::Relaxed);
    let (bare, audited) = runtime.block_on(async {
        let mut bare = Vec::with_capacity(trips);
        let mut audited = Vec::with_capacity(trips);
        for i in 0..trips {
            let request = KillRequest::new("fraud-v3", format!("bench {i}"), "bench");
            let t = Instant::now();
            let out = switch.trip(&request).await.unwrap();
            bare.push(t.elapsed());
            assert_eq!(out.state, SwitchState::Tripped, "{out:?}");
            let request = KillRequest::new("fraud-v3", format!("bench {i}"), "bench");
            let t = Instant::now();
            let done = trip_audited(Some(&log), &switch, request).await.unwrap();
            audited.push(t.elapsed());
            assert!(done.outcome.confirmed() && done.record_missing().is_none());
        }
        (bare, audited)
    });
    let secs = started.elapsed().as_secs_f64();
    let rate = (fed.load(Ordering::Relaxed) - fed_before) as f64 / secs;
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    std::fs::write(&stop_file, b"").unwrap();
    let second = second.wait_with_output().unwrap();
    let appended = String::from_utf8_lossy(&second.stdout).trim().to_string();
    let verified = modelwatch::decision::verify::verify_file(&log_path)
        .unwrap()
        .expect("one chain");
    println!("engine ingest during the run: {rate:.0} events/s");
    println!(
        "second process appended {appended} records meanwhile; the log verifies: {} records",
        verified.records
    );
    report("trip -> flag file durable (KillSwitch::trip)", bare);
    report(
        "audited trip (request fsync + flag file + result fsync)",
        audited,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

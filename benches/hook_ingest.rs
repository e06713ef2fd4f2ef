//! Ingest with alert hooks: `watch --no-tui` (the release binary) reading
//! a stream on stdin that fires and clears alerts all along (its
//! confidence drifts and comes back every 2,900 predictions), timed from
//! start to the summary line, with no hook, with a webhook whose receiver
//! accepts and never answers, and with one that answers at once. The hooks
//! deliver on their own tasks, so the three should ingest alike.
//!
//! `cargo bench --bench hook_ingest` (`HOOK_BENCH_LINES`, default 1,000,000;
//! `HOOK_BENCH_RUNS`, default 3: the median is printed).

#[path = "../tests/common/drift.rs"]
mod drift;
#[allow(dead_code)]
#[path = "../tests/common/http_hook.rs"]
mod http_hook;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_hook::{Answer, HookServer};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds from start to the summary line, and the summary.
fn run(input: &[u8], config: &str) -> (Duration, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["watch", "--no-tui", "--status-every", "3600"])
        .args(drift::ARGS)
        .arg("--config")
        .arg(&config_path)
        .arg("-")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("MODELWATCH_LOG_FILE", dir.path().join("log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let owned = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&owned);
    });
    let mut summary = serde_json::Value::Null;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "summary" {
            summary = v;
            break;
        }
    }
    let elapsed = start.elapsed();
    writer.join().unwrap();
    child.wait().unwrap();
    (elapsed, summary)
}

fn main() {
    let lines = env_or("HOOK_BENCH_LINES", 1_000_000);
    let runs = env_or("HOOK_BENCH_RUNS", 3).max(1);
    let block = drift::lines("bench-model");
    let blocks = lines.div_ceil(drift::PREDICTIONS);
    let input = block.repeat(blocks as usize).into_bytes();
    let silent = HookServer::start(|_| Answer::Never);
    let answering = HookServer::start(|_| Answer::Status(200));
    let hook = |url: String| format!("[[alerts.hook]]\nkind = \"webhook\"\nurl = \"{url}\"\n");
    let cases = [
        ("no hook", String::new()),
        ("a hook that never answers", hook(silent.url())),
        ("a hook that answers at once", hook(answering.url())),
    ];
    println!(
        "{} predictions on stdin, {} runs each, the cases taking turns (median, fastest):",
        blocks * drift::PREDICTIONS,
        runs
    );
    // Taking turns, so a machine whose load changes slows every case alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for ((_, config), times) in cases.iter().zip(&mut times) {
            let (t, summary) = run(&input, config);
            assert_eq!(
                summary["predictions"],
                blocks * drift::PREDICTIONS,
                "{summary}"
            );
            times.push(t);
        }
    }
    for ((name, _), mut times) in cases.iter().zip(times) {
        times.sort();
        let rate = |t: Duration| (blocks * drift::PREDICTIONS) as f64 / t.as_secs_f64();
        let median = times[times.len() / 2];
        println!(
            "  {name:<30} {:>6.2} s  {:>9.0} lines/s   fastest {:>9.0} lines/s",
            median.as_secs_f64(),
            rate(median),
            rate(times[0])
        );
    }
    let delivered = answering.delivered().len();
    println!(
        "  the answering receiver got {delivered} deliveries; the silent one {} requests",
        silent.requests().len()
    );
}

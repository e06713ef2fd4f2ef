//! Ingest with alert hooks: `watch --no-tui` (the release binary) reading
//! a stream on stdin that fires and clears alerts all along (its
//! confidence drifts and comes back every 2,900 predictions), timed from
//! start to the summary line, with no hook, with a webhook whose receiver
//! accepts and never answers, and with one that answers at once. The hooks
//! deliver on their own tasks, so the three should ingest alike. Wall time
//! follows the machine's load; the process's CPU time (user + system, from
//! getrusage) much less, so both are printed.
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

/// One run: time from start to the summary line, CPU time of the whole
/// process, and the summary.
struct Run {
    wall: Duration,
    cpu: Duration,
    summary: serde_json::Value,
}

/// CPU time (user + system) of the children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage with an out-pointer to a local.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn run(input: &[u8], config: &str) -> Run {
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
    let wall = start.elapsed();
    writer.join().unwrap();
    let before = children_cpu();
    child.wait().unwrap();
    let cpu = children_cpu() - before;
    Run { wall, cpu, summary }
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
        "{} predictions on stdin, {} runs each, the cases taking turns (medians):",
        blocks * drift::PREDICTIONS,
        runs
    );
    // Taking turns, so a machine whose load changes slows every case alike.
    let mut results: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for ((_, config), results) in cases.iter().zip(&mut results) {
            let r = run(&input, config);
            assert_eq!(
                r.summary["predictions"],
                blocks * drift::PREDICTIONS,
                "{}",
                r.summary
            );
            results.push(r);
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    for ((name, _), results) in cases.iter().zip(results) {
        let wall = median(results.iter().map(|r| r.wall).collect());
        let cpu = median(results.iter().map(|r| r.cpu).collect());
        let predictions = (blocks * drift::PREDICTIONS) as f64;
        println!(
            "  {name:<30} wall {:>5.2} s ({:>7.0} lines/s)   CPU {:>5.2} s ({:>7.0} lines per CPU second)",
            wall.as_secs_f64(),
            predictions / wall.as_secs_f64(),
            cpu.as_secs_f64(),
            predictions / cpu.as_secs_f64()
        );
    }
    let delivered = answering.delivered().len();
    println!(
        "  the answering receiver got {delivered} deliveries; the silent one {} requests",
        silent.requests().len()
    );
}

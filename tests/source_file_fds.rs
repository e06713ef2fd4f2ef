//! Resource use of following a file: descriptors stay flat over 1,000
//! rotations, and idle following costs no CPU. In a test binary of its own
//! so that no other test opens files or burns CPU meanwhile.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::Duration;

use common::events::{Collector, block, runtime};
use modelwatch::record::Parser;
use modelwatch::source::settings::SourcesConfig;
use modelwatch::source::{SourceOptions, SourceSet, SourceSpec, SourceState};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(5);

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// User plus system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

#[test]
fn descriptors_stay_flat_over_1000_rotations_and_idle_costs_nothing() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        common::skip("no /proc/self/fd to count descriptors with");
        return;
    }
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preds.jsonl");
    let rotated = dir.path().join("preds.jsonl.1");
    fs::write(&path, "").unwrap();
    let _guard = rt.enter();
    let (tx, rx) = mpsc::channel(64);
    let options = SourceOptions {
        settings: SourcesConfig {
            rotate_grace_ms: 200,
            ..SourcesConfig::default()
        },
        ..SourceOptions::default()
    };
    let set = SourceSet::start(
        vec![SourceSpec::File(path.clone())],
        options,
        Parser::default(),
        tx,
    )
    .unwrap();
    let seen = Collector::spawn(rx);
    seen.wait_state(0, LIMIT, |st| *st == SourceState::Following);

    // Idle: blocked on inotify, no CPU at all. The sleep is the
    // observation window, not a wait for something to happen.
    let ticks = cpu_ticks();
    std::thread::sleep(Duration::from_secs(2));
    let idle = cpu_ticks() - ticks;
    assert!(idle <= 2, "{idle} ticks of CPU in 2 s of idle following");

    let write = |i: u64| {
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .unwrap();
        f.write_all(block(i..i + 1).as_bytes()).unwrap();
    };
    write(0);
    seen.wait_ids(1, LIMIT);
    let before = open_fds();
    let mut peak = before;
    for i in 1..=1000u64 {
        fs::rename(&path, &rotated).unwrap();
        write(i);
        seen.wait_ids(i as usize + 1, LIMIT);
        peak = peak.max(open_fds());
    }
    // After the grace period every rotated file is closed.
    let after = common::wait_until(
        format!("{before} descriptors open again, as before the rotations"),
        LIMIT,
        || Some(open_fds()).filter(|&n| n == before),
    );
    rt.block_on(set.shutdown());
    eprintln!(
        "open descriptors: {before} before, peak {peak}, {after} after 1000 rotations; idle CPU {idle} ticks in 2 s"
    );
    seen.lock().assert_each_once(0..=1000);
    assert_eq!(after, before, "descriptors flat");
    assert!(
        peak <= before + 6,
        "at most a few rotated files open at once: peak {peak}"
    );
}

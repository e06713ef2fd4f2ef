//! Following files like `tail -F` with a real writer: appends, rename
//! rotation with late writes, copytruncate, delete and recreate, partial
//! lines, over-long lines and invalid UTF-8; a file that does not exist
//! yet; polling mode. Every id written must arrive exactly once.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::events::{Collector, block, prediction, runtime, start_one};
use common::open_files::{self, own, wait_read_to_end};
use modelwatch::record::Parser;
use modelwatch::source::settings::SourcesConfig;
use modelwatch::source::{SourceOptions, SourceSet, SourceSpec, SourceState};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(5);

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append")
}

fn options(poll: bool) -> SourceOptions {
    SourceOptions {
        poll,
        max_line_bytes: 4096,
        settings: SourcesConfig {
            poll_interval_ms: std::num::NonZeroU64::new(50).expect("nonzero"),
            rotate_grace_ms: 1500,
            ..SourcesConfig::default()
        },
        ..SourceOptions::default()
    }
}

/// Starts following `path`; returns the set and what it delivers.
fn follow(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    options: SourceOptions,
) -> (SourceSet, Collector) {
    let _guard = rt.enter();
    start_one(SourceSpec::File(path.to_path_buf()), options, 16)
}

/// Waits until the line with this id arrived.
fn wait_id(seen: &Collector, id: u64) {
    let id = id.to_string();
    seen.wait_until(&format!("id {id}"), LIMIT, |s| s.ids.contains(&id));
}

/// The writer: every way a log file changes under a follower. Each step
/// waits for the follower to have seen the one before.
fn write_everything(path: &Path, seen: &Collector) {
    let mut log = append(path);
    // Appends, in writes of several lines.
    for chunk in (0..100).step_by(20) {
        log.write_all(block(chunk..chunk + 20).as_bytes()).unwrap();
    }
    // A partial line, completed later: one event, no error.
    let line = prediction(100) + "\n";
    let (head, tail) = line.split_at(17);
    log.write_all(head.as_bytes()).unwrap();
    wait_id(seen, 99);
    wait_read_to_end(own(), &log, LIMIT);
    log.write_all(tail.as_bytes()).unwrap();
    // An over-long line and invalid UTF-8: counted, following continues.
    let long = format!("{{\"id\":\"long\",\"pad\":\"{}\"}}\n", "x".repeat(10_000));
    log.write_all(long.as_bytes()).unwrap();
    log.write_all(b"{\"id\":\"\xff\xfe\",\"prediction\":\"a\",\"confidence\":0.5}\n")
        .unwrap();
    log.write_all(block(101..200).as_bytes()).unwrap();

    // logrotate: rename, keep writing to the old file for a while, create
    // a new one.
    let rotated = path.with_extension("jsonl.1");
    fs::rename(path, &rotated).unwrap();
    log.write_all(block(200..210).as_bytes()).unwrap();
    let mut fresh = append(path);
    fresh.write_all(block(210..300).as_bytes()).unwrap();
    // The follower moved to the new file before the late write.
    wait_id(seen, 299);
    log.write_all(block(300..305).as_bytes()).unwrap(); // late, within grace
    drop(log);
    seen.wait_ids(305, LIMIT);

    // copytruncate: the file is emptied in place, the writer goes on.
    fresh.set_len(0).unwrap();
    // Noticed: the follower went back to the start.
    wait_read_to_end(own(), &fresh, LIMIT);
    fresh.write_all(block(305..400).as_bytes()).unwrap();
    seen.wait_ids(400, LIMIT);

    // Deleted and created again; the deleted file still gets a late write.
    fs::remove_file(path).unwrap();
    fresh.write_all(block(400..405).as_bytes()).unwrap();
    wait_id(seen, 404);
    let mut again = append(path);
    again.write_all(block(405..500).as_bytes()).unwrap();
    seen.wait_ids(500, LIMIT);
}

fn check_everything(path: PathBuf, poll: bool) {
    if !open_files::available() {
        common::skip("no /proc/self/fdinfo to see how far the follower read");
        return;
    }
    let rt = runtime();
    // What is there before following starts is not read (start at end),
    // except a partial last line, which is read whole once completed.
    fs::write(&path, block(1000..1005) + "{\"id\":\"999\",").unwrap();
    let (set, seen) = follow(&rt, &path, options(poll));
    seen.wait_state(0, LIMIT, |st| *st == SourceState::Following);
    append(&path)
        .write_all(b"\"prediction\":\"a\",\"confidence\":0.5}\n")
        .unwrap();
    seen.wait_ids(1, LIMIT);
    write_everything(&path, &seen);
    // Counters are sent at most once a second.
    seen.wait_until("503 lines counted", LIMIT, |s| {
        s.status.get(&0).is_some_and(|st| st.lines == 503)
    });
    rt.block_on(set.shutdown());
    let s = seen.lock();
    s.assert_each_once((0..500).chain([999]));
    let status = s.status(0);
    assert_eq!(status.errors, 2, "the over-long line and the invalid UTF-8");
    assert_eq!(s.bad_lines, 2);
    assert_eq!(status.behind_bytes, 0);
    assert_eq!(status.state, SourceState::Following);
    assert!(status.last_line_ms.is_some());
    let states: Vec<_> = s.states.iter().map(|(_, st)| st.clone()).collect();
    assert!(
        states
            .iter()
            .all(|st| matches!(st, SourceState::Following | SourceState::Waiting(_))),
        "{states:?}"
    );
}

#[test]
fn follows_appends_rotation_truncation_and_recreation() {
    let dir = tempfile::tempdir().unwrap();
    check_everything(dir.path().join("preds.jsonl"), false);
}

#[test]
fn polling_follows_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    check_everything(dir.path().join("preds.jsonl"), true);
}

#[test]
fn waits_for_a_file_and_directory_that_do_not_exist_yet() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later/deeper/preds.jsonl");
    if !open_files::available() {
        common::skip("no /proc/self/fdinfo to see what the follower watches");
        return;
    }
    let (set, seen) = follow(&rt, &path, options(false));
    seen.wait_state(0, LIMIT, |st| matches!(st, SourceState::Waiting(_)));
    // Each directory level is watched once it appears.
    let watched = |dir: &Path| {
        common::wait_until(format!("a watch on {}", dir.display()), LIMIT, || {
            open_files::watched(own(), dir)
        })
    };
    watched(dir.path());
    fs::create_dir(dir.path().join("later")).unwrap();
    watched(&dir.path().join("later"));
    fs::create_dir(dir.path().join("later/deeper")).unwrap();
    watched(&dir.path().join("later/deeper"));
    // A file that appears later is read from its start.
    append(&path).write_all(block(0..10).as_bytes()).unwrap();
    seen.wait_ids(10, LIMIT);
    append(&path).write_all(block(10..20).as_bytes()).unwrap();
    seen.wait_ids(20, LIMIT);
    // The whole directory removed and made again at once.
    fs::remove_dir_all(dir.path().join("later")).unwrap();
    fs::create_dir_all(dir.path().join("later/deeper")).unwrap();
    append(&path).write_all(block(20..30).as_bytes()).unwrap();
    seen.wait_ids(30, LIMIT);
    watched(&dir.path().join("later/deeper"));
    append(&path).write_all(block(30..40).as_bytes()).unwrap();
    seen.wait_ids(40, LIMIT);
    seen.wait_state(0, LIMIT, |st| *st == SourceState::Following);
    rt.block_on(set.shutdown());
    seen.lock().assert_each_once(0..40);
}

#[test]
fn from_start_reads_what_is_there() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preds.jsonl");
    fs::write(&path, block(0..50)).unwrap();
    let opts = SourceOptions {
        from_start: true,
        ..options(false)
    };
    let (set, seen) = follow(&rt, &path, opts);
    seen.wait_ids(50, LIMIT);
    append(&path).write_all(block(50..60).as_bytes()).unwrap();
    seen.wait_ids(60, LIMIT);
    rt.block_on(set.shutdown());
    seen.lock().assert_each_once(0..60);
}

#[test]
fn a_full_channel_pauses_reading_and_shows_how_far_behind() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preds.jsonl");
    fs::write(&path, block(0..20_000)).unwrap();
    let _guard = rt.enter();
    let (tx, mut rx) = mpsc::channel(1);
    let opts = SourceOptions {
        from_start: true,
        ..options(false)
    };
    let set = SourceSet::start(
        vec![SourceSpec::File(path.clone())],
        opts,
        Parser::default(),
        tx,
    )
    .unwrap();
    // Nobody reads: once the channel is full the source waits, its read
    // position short of the end, and drops nothing.
    common::wait_until("a full channel", LIMIT, || rx.len() == rx.max_capacity());
    if open_files::available() {
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let positions = open_files::read_positions(own(), &file);
        assert!(
            positions.iter().any(|&p| p > 0 && p < len),
            "reading paused part way: {positions:?} of {len}"
        );
    }
    let mut ids = 0usize;
    let mut behind_seen = false;
    let done = rt.block_on(async {
        tokio::time::timeout(LIMIT, async {
            while ids < 20_000 {
                match rx.recv().await {
                    Some(modelwatch::source::SourceEvent::Batch { batch, .. }) => {
                        ids += batch.len()
                    }
                    Some(modelwatch::source::SourceEvent::Status(s)) => {
                        behind_seen |= s.behind_bytes > 0
                    }
                    None => break,
                }
            }
        })
        .await
    });
    rt.block_on(set.shutdown());
    assert!(done.is_ok(), "{ids} lines arrived");
    assert_eq!(ids, 20_000);
    assert!(behind_seen, "behind_bytes reported while paused");
}

/// Each write arrives on its own, woken by inotify: the poll interval is
/// far longer than the wait allows, so polling could not deliver it.
#[test]
fn each_write_is_delivered_on_notification_not_by_polling() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preds.jsonl");
    fs::write(&path, "").unwrap();
    let mut opts = options(false);
    opts.settings.poll_interval_ms = std::num::NonZeroU64::new(600_000).expect("nonzero");
    let (set, seen) = follow(&rt, &path, opts);
    seen.wait_state(0, LIMIT, |st| *st == SourceState::Following);
    let mut log = append(&path);
    for i in 0..20u64 {
        log.write_all(block(i..i + 1).as_bytes()).unwrap();
        wait_id(&seen, i);
    }
    rt.block_on(set.shutdown());
    seen.lock().assert_each_once(0..20);
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_panic() {
    let (tx, _rx) = mpsc::channel(1);
    let started = SourceSet::start(
        vec![SourceSpec::Stdin],
        options(false),
        Parser::default(),
        tx,
    );
    assert!(started.is_err());
}

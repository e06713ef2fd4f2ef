//! `--state-dir` on the real binary: one writer per state directory (a
//! second headless one is a usage error, a dashboard reads it without
//! writing), and a checkpoint that cannot be resumed from is moved aside
//! with one line naming it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::no_tui::{Reaped, json_lines, sigterm};
use common::tmux::{Tmux, exit_status, quote};
use modelwatch::checkpoint::{self, Loaded};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn predictions(from: u64, to: u64) -> String {
    (from..to)
        .map(|i| {
            format!(
                "{{\"ts\":{},\"id\":\"r{i}\",\"model\":\"m\",\"prediction\":\"{}\",\"confidence\":0.{}}}\n",
                1_700_000_000 + i,
                ["a", "b"][(i % 2) as usize],
                50 + i % 49
            )
        })
        .collect()
}

type Lines = std::sync::mpsc::Receiver<Value>;

/// `watch --no-tui --state-dir DIR/state --from-start FILE` with `extra`
/// flags (else `--window 50`): the process, its JSON lines and the file of
/// its stderr (`DIR/NAME.stderr`).
fn watch(dir: &Path, name: &str, file: &Path, extra: &[&str]) -> (Reaped, Lines, PathBuf) {
    let stderr = dir.join(format!("{name}.stderr"));
    let mut child = common::modelwatch()
        .args(["watch", "--no-tui", "--status-every", "1", "--from-start"])
        .args(["--checkpoint-every", "1", "--baseline", "100"])
        .args(if extra.is_empty() {
            &["--window", "50"]
        } else {
            extra
        })
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg(file)
        .env("MODELWATCH_LOG_FILE", dir.join("modelwatch.log"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let lines = json_lines(child.stdout.take().unwrap());
    (Reaped(child), lines, stderr)
}

/// Waits for a status line whose checkpoint holds `n` lines; shows the
/// run's stderr (`said`) if none comes.
fn checkpointed(lines: &Lines, n: u64, said: &Path) {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(v) if v["type"] == "status" && v["checkpoint"]["lines"] == n => return,
            Ok(_) => {}
            Err(e) => panic!(
                "no checkpoint of {n} lines ({e}); stderr: {}",
                std::fs::read_to_string(said).unwrap_or_default()
            ),
        }
    }
}

fn stop(child: &mut Reaped) {
    sigterm(&child.0);
    assert!(common::wait(&mut child.0, LIMIT).success());
}

#[test]
fn a_second_headless_writer_is_a_usage_error_naming_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, predictions(0, 300)).unwrap();
    let (mut first, lines, said) = watch(dir.path(), "first", &file, &[]);
    checkpointed(&lines, 300, &said);
    let out = common::run(
        common::modelwatch()
            .args(["watch", "--no-tui", "--state-dir"])
            .arg(dir.path().join("state"))
            .arg(&file),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    let said = common::text(&out.stderr);
    let owner = format!("another modelwatch (pid {}) owns it", first.0.id());
    assert!(said.contains(&owner), "{said}");
    assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    stop(&mut first);
}

#[test]
fn a_checkpoint_that_cannot_be_resumed_from_is_moved_aside_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, predictions(0, 300)).unwrap();
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("checkpoint"), b"not one\n").unwrap();
    std::fs::write(state.join("checkpoint.bad"), b"an earlier one\n").unwrap();

    let (mut run, lines, stderr) = watch(dir.path(), "bad", &file, &[]);
    checkpointed(&lines, 300, &stderr);
    stop(&mut run);
    let said = std::fs::read_to_string(&stderr).unwrap();
    let moved = format!(
        "{}: not a modelwatch checkpoint; moved to {}, starting without it",
        state.join("checkpoint").display(),
        state.join("checkpoint.bad.1").display()
    );
    assert!(said.contains(&moved), "{said}");
    assert_eq!(
        std::fs::read(state.join("checkpoint.bad.1")).unwrap(),
        b"not one\n"
    );
    assert_eq!(
        std::fs::read(state.join("checkpoint.bad")).unwrap(),
        b"an earlier one\n"
    );
    assert!(matches!(checkpoint::load(&state), Loaded::Found(_)));

    // Taken with another window: not resumed, moved aside too.
    let (mut run, lines, stderr) = watch(dir.path(), "other", &file, &["--window", "60"]);
    checkpointed(&lines, 300, &stderr);
    stop(&mut run);
    let said = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        said.contains("taken with other settings: window 50 (now 60)"),
        "{said}"
    );
    assert!(
        said.contains("checkpoint.bad.2, starting without it"),
        "{said}"
    );
}

#[test]
fn a_dashboard_on_a_running_writers_state_reads_it_and_writes_nothing() {
    let tmux = Tmux::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preds.jsonl");
    std::fs::write(&file, predictions(0, 1_000)).unwrap();
    let (mut agent, lines, said) = watch(dir.path(), "agent", &file, &[]);
    checkpointed(&lines, 1_000, &said);

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modelwatch"));
    let exit = dir.path().join("exit");
    let script = format!(
        "MODELWATCH_LOG_FILE={log} {bin} watch --baseline 100 --window 50 --checkpoint-every 1 \
         --audit-log {audit} --state-dir {state} {file}; echo EXIT=$? > {exit}",
        log = quote(&dir.path().join("dashboard.log")),
        bin = quote(&bin),
        audit = quote(&dir.path().join("audit.jsonl")),
        state = quote(&dir.path().join("state")),
        file = quote(&file),
        exit = quote(&exit),
    );
    tmux.start("mw", &script);
    let owner = format!("read-only: another modelwatch (pid {}) owns", agent.0.id());
    tmux.wait_screen("mw", "the read-only notice", LIMIT, |s| s.contains(&owner));
    // The writer's history: its lines, not read again.
    tmux.wait_screen("mw", "the resumed count", LIMIT, |s| {
        s.contains("following 1000 lines")
    });

    // The writer stops, saving its last checkpoint; the dashboard goes on
    // reading and, at quit, saves nothing.
    stop(&mut agent);
    let saved = std::fs::read(dir.path().join("state/checkpoint")).unwrap();
    append(&file, &predictions(1_000, 1_100));
    tmux.wait_screen("mw", "the new lines", LIMIT, |s| {
        s.contains("following 1100 lines")
    });
    tmux.keys("mw", "q");
    assert_eq!(
        exit_status("the dashboard to quit", &exit, LIMIT).trim(),
        "EXIT=0"
    );
    assert!(std::fs::read(dir.path().join("state/checkpoint")).unwrap() == saved);
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

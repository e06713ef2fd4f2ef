//! `modelwatch trip` and `reset` through the real binary: exit codes, the
//! per-actuator summary, the audit records, and SIGTERM in mid-trip.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

fn config(dir: &Path, actuators: &str) -> std::path::PathBuf {
    let path = dir.join("modelwatch.toml");
    std::fs::write(&path, format!("[audit]\noperator = \"ci\"\n\n{actuators}")).unwrap();
    path
}

/// The binary run in `dir`, with its per-user state directory inside it.
fn in_dir(dir: &Path) -> std::process::Command {
    let mut cmd = common::modelwatch();
    cmd.current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"));
    cmd
}

/// Where the audit log is when nothing names it.
fn default_log(dir: &Path) -> std::path::PathBuf {
    dir.join("state").join("modelwatch").join("audit.jsonl")
}

fn trip(dir: &Path, cfg: &Path, extra: &[&str]) -> std::process::Output {
    common::run(
        in_dir(dir)
            .args([
                "trip",
                "--model",
                "fraud-v3",
                "--reason",
                "confidence collapse",
                "--config",
            ])
            .arg(cfg)
            .args(extra),
        LIMIT,
    )
}

#[test]
fn trip_and_reset_exit_codes_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"true\", \"{model}\"]\n",
    );
    // The default audit log is in the per-user state directory, created.
    let out = trip(dir.path(), &cfg, &["--kill-file", "flag"]);
    let stdout = common::text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        common::text(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("ok   command true fraud-v3: exit 0 within 5s -> exit 0 ("),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(
            "ok   flag file flag: add to the tripped models -> flag written (tripped) ("
        ),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("TRIPPED fraud-v3 (request ks-"),
        "{stdout}"
    );
    assert!(lines[2].ends_with("audit seq 1, 2)"), "{stdout}");
    let flag: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("flag")).unwrap()).unwrap();
    assert_eq!(flag["state"], "tripped");
    assert_eq!(flag["operator"], "ci");
    assert_eq!(flag["reason"], "confidence collapse");
    let log = default_log(dir.path());
    let recs = common::records(&log);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["operator"], "ci");
    assert_eq!(recs[1]["result"], "tripped");

    let reset = |confirm: &str| {
        common::run(
            in_dir(dir.path())
                .args([
                    "reset",
                    "--model",
                    "fraud-v3",
                    "--confirm",
                    confirm,
                    "--kill-file",
                    "flag",
                    "--config",
                ])
                .arg(&cfg),
            LIMIT,
        )
    };
    let out = reset("fraud-v4");
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("type the model's name"));
    assert!(dir.path().join("flag").exists());
    let out = reset("fraud-v3");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stdout));
    assert!(common::text(&out.stdout).contains("ARMED fraud-v3"));
    assert!(!dir.path().join("flag").exists());
    assert_eq!(common::records(&log).len(), 4);
    let out = common::run(common::modelwatch().arg("verify-log").arg(&log), LIMIT);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn refusals_and_failures_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = config(dir.path(), "");
    let out = trip(dir.path(), &empty, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        common::text(&out.stderr).trim(),
        "modelwatch: trip: no kill-switch actuator configured (use --kill-file or [[kill_switch.actuator]])"
    );
    let out = trip(dir.path(), &empty, &["--kill-file", "flag", "--read-only"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("read-only"));
    assert!(!dir.path().join("flag").exists());
    assert!(!default_log(dir.path()).exists());

    let bad = config(
        dir.path(),
        "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"sh\", \"-c\", \"run {model}\"]\n",
    );
    let out = trip(dir.path(), &bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::text(&out.stderr).contains("whole argv elements"));

    let failing = config(
        dir.path(),
        "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"false\"]\n\n[[kill_switch.actuator]]\nkind = \"websocket\"\ntimeout = \"100ms\"\n",
    );
    let out = trip(dir.path(), &failing, &["--kill-file", "flag"]);
    let stdout = common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL command false: exit 0 within 5s -> exit status 1 ("),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL websocket: send kill_switch tripped on the websocket source, ack within 100ms -> no websocket source connected"), "{stdout}");
    assert!(
        stdout.contains("KILL NOT CONFIRMED fraud-v3: 2 of 3 actuators failed"),
        "{stdout}"
    );
    assert!(dir.path().join("flag").exists(), "the others still ran");
    let recs = common::records(&default_log(dir.path()));
    assert_eq!(recs.last().unwrap()["result"], "not_confirmed");
}

#[test]
fn an_unwritable_audit_log_still_trips_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    // A log whose parent is a regular file cannot be created, even as root.
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let out = trip(
        dir.path(),
        &cfg,
        &["--kill-file", "flag", "--audit-log", "file/audit.jsonl"],
    );
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(dir.path().join("flag").exists(), "the trip must happen");
    assert!(common::text(&out.stdout).contains("TRIPPED fraud-v3"));
    assert!(
        stderr.contains("acting without an audit record"),
        "{stderr}"
    );
    assert!(stderr.contains("could not be written"), "{stderr}");
}

/// Acceptance: a SIGTERM right after the trip started does not cut it
/// short: the slow actuator finishes and the result is audited.
#[test]
fn sigterm_during_a_trip_completes_the_trip() {
    let dir = tempfile::tempdir().unwrap();
    let done_marker = dir.path().join("slow-done");
    let cfg = config(
        dir.path(),
        &format!(
            "[[kill_switch.actuator]]\nkind = \"command\"\nargv = [\"sh\", \"-c\", \"sleep 1; touch \\\"$0\\\"\", \"{}\"]\ntimeout = \"10s\"\n",
            done_marker.display()
        ),
    );
    let log = default_log(dir.path());
    let start = Instant::now();
    let mut child = in_dir(dir.path())
        .args([
            "trip",
            "--model",
            "fraud-v3",
            "--reason",
            "r",
            "--kill-file",
            "flag",
            "--config",
        ])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The request record is written after the signal handlers are set.
    common::wait_until("the request record", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("kill_switch_trip"))
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled_at = start.elapsed();
    let status = common::wait(&mut child, LIMIT);
    let out = common::finish(child, LIMIT);
    let stderr = common::text(&out.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        signalled_at < Duration::from_millis(900),
        "signal came late: {signalled_at:?}"
    );
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(
        stderr.contains("signal received; finishing the trip first"),
        "{stderr}"
    );
    assert!(done_marker.exists(), "the slow actuator was cut short");
    assert!(dir.path().join("flag").exists());
    let recs = common::records(&log);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["action"], "kill_switch_result");
    assert_eq!(recs[1]["result"], "tripped");
}

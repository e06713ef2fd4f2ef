//! The real binary's live mode (`watch --no-tui`): a followed file that is
//! rotated, truncated and recreated under it counts every event exactly
//! once; a websocket from `demo --serve` reconnects by itself after the
//! server dies and comes back; SIGTERM ends with a summary.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::no_tui::{Reaped, sigterm, wait_line, watch};
use common::open_files::{self, wait_read_to_end};
use serde_json::Value;

fn event(i: u64) -> String {
    format!(
        r#"{{"id":"e{i}","model":"m","prediction":"{}","confidence":0.{}}}"#,
        ["a", "b"][(i % 2) as usize],
        50 + i % 49
    ) + "\n"
}

#[test]
fn a_followed_file_counts_every_event_once_through_rotation_truncation_and_recreation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("predictions.jsonl");
    std::fs::write(&log, b"").unwrap();
    let (watcher, lines) = watch(
        dir.path(),
        &[
            "--baseline".as_ref(),
            "50".as_ref(),
            "--window".as_ref(),
            "20".as_ref(),
            log.as_os_str(),
        ],
    );
    wait_line(&lines, Duration::from_secs(10), "the first status", |v| {
        v["type"] == "status"
    });

    // A writer process (sh) for each phase: appends, rotates by rename,
    // truncates in place, deletes and recreates. Each phase waits for the
    // watcher to have counted (or seen) the one before. Its lines come
    // from chunk files written here.
    let chunks = [200u64, 150, 100, 120];
    let mut next = 0u64;
    for (i, n) in chunks.iter().enumerate() {
        let text: String = (next..next + n).map(event).collect();
        std::fs::write(dir.path().join(format!("chunk{i}")), text).unwrap();
        next += n;
    }
    let total = next;
    let write = |script: &str| {
        let writer = Command::new("sh")
            .args(["-c", &format!("set -e; L=predictions.jsonl; {script}")])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(writer.success(), "{script}");
    };
    let counted = |n: u64| {
        wait_line(
            &lines,
            Duration::from_secs(15),
            &format!("{n} counted"),
            |v| v["type"] == "status" && v["predictions"].as_u64() == Some(n),
        );
    };
    write("cat chunk0 >> $L");
    counted(200);
    write("mv $L $L.1; cat chunk1 >> $L");
    counted(350);
    write(": > $L");
    if open_files::available() {
        let file = std::fs::File::open(&log).unwrap();
        wait_read_to_end(watcher.0.id(), &file, Duration::from_secs(15));
    }
    write("cat chunk2 >> $L");
    counted(450);
    write("rm $L");
    wait_line(&lines, Duration::from_secs(15), "the file missed", |v| {
        v["type"] == "status" && v["sources"][0]["state"] == "waiting"
    });
    write("cat chunk3 >> $L");

    let status = wait_line(
        &lines,
        Duration::from_secs(15),
        "every event counted",
        |v| v["type"] == "status" && v["predictions"].as_u64() == Some(total),
    );
    assert_eq!(status["malformed"], 0, "{status}");
    sigterm(&watcher.0);
    let summary = wait_line(&lines, Duration::from_secs(10), "the summary", |v| {
        v["type"] == "summary"
    });
    assert_eq!(summary["predictions"], total, "{summary}");
    assert_eq!(summary["reason"], "terminated");
    assert_eq!(summary["sources"][0]["state"], "following");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(port: u16, dir: &std::path::Path) -> Reaped {
    Reaped(
        common::modelwatch()
            .args([
                "demo",
                "--serve",
                &format!("127.0.0.1:{port}"),
                "--rate",
                "300",
            ])
            .env("MODELWATCH_LOG_FILE", dir.join("server.log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_websocket_reconnects_after_the_server_dies_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = serve(port, dir.path());
    let url = format!("ws://127.0.0.1:{port}/");
    let (watcher, lines) = watch(dir.path(), &[url.as_ref()]);
    let source = |v: &Value| v["sources"][0].clone();
    let up = wait_line(
        &lines,
        Duration::from_secs(15),
        "events over the websocket",
        |v| {
            v["type"] == "status"
                && source(v)["state"] == "connected"
                && source(v)["lines"].as_u64() > Some(0)
        },
    );
    let before = source(&up)["lines"].as_u64().unwrap();

    drop(server); // killed
    wait_line(
        &lines,
        Duration::from_secs(15),
        "the source to notice",
        |v| v["type"] == "status" && source(v)["state"] == "reconnecting",
    );
    let _server = serve(port, dir.path());
    let back = wait_line(&lines, Duration::from_secs(20), "the reconnect", |v| {
        v["type"] == "status"
            && source(v)["state"] == "connected"
            && source(v)["reconnects"].as_u64() >= Some(1)
            && source(v)["lines"].as_u64() > Some(before)
    });
    assert_eq!(
        source(&back)["dropped"],
        0,
        "a new server run has new ids: {back}"
    );
    sigterm(&watcher.0);
    let summary = wait_line(&lines, Duration::from_secs(10), "the summary", |v| {
        v["type"] == "summary"
    });
    assert!(summary["predictions"].as_u64() > Some(0));
}

#[test]
fn a_source_with_its_own_field_mapping() {
    // KServe v2 responses in one file: the file's [[sources.source]] entry
    // maps their shape.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kserve.jsonl");
    let lines: String = (0..100)
        .map(|i| {
            format!(
                "{{\"id\":\"r{i}\",\"model_name\":\"fraud\",\"outputs\":[{{\"name\":\"p\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[0.{a:02},0.{b:02}]}}]}}\n",
                a = 10 + i % 40,
                b = 90 - i % 40
            )
        })
        .collect();
    std::fs::write(&log, lines).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources.source]]\nurl = \"{}\"\n[sources.source.mapping]\nclass_names = [\"legit\", \"fraud\"]\n[sources.source.mapping.fields]\nmodel = \"/model_name\"\nprobs = \"/outputs/0/data\"\n",
            log.display()
        ),
    )
    .unwrap();
    let (watcher, lines) = watch(
        dir.path(),
        &[
            "--from-start".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            log.as_os_str(),
        ],
    );
    let status = wait_line(&lines, Duration::from_secs(15), "the mapped events", |v| {
        v["type"] == "status" && v["predictions"].as_u64() == Some(100)
    });
    assert_eq!(status["malformed"], 0, "{status}");
    assert_eq!(status["models"][0]["name"], "fraud", "{status}");
    sigterm(&watcher.0);
}

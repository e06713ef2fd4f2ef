//! NATS sources through the real binary against a real nats-server:
//! `watch --no-tui nats://…/preds.>` counts exactly what a publisher sent
//! on a core subscription; with a JetStream stream capturing the subject,
//! `--from-start` reads what was published before it started and the
//! default only what came after; a server restart is survived without
//! losing a stored message; `tls://` trusts a private CA given with
//! `--ca-file`, and refuses the server without it.

mod common;

use std::ffi::OsStr;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::events::prediction;
use common::nats::NatsCluster;
use common::no_tui::{Reaped, wait_line, watch};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Publishes predictions `ids` on `preds.a` and `preds.b` in turn, every
/// fifth message holding three lines; through JetStream (each publish
/// acknowledged) when `js`.
async fn publish(url: &str, ids: std::ops::Range<u64>, js: bool) {
    let client = async_nats::connect(url).await.unwrap();
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut id = ids.start;
    let mut n = 0;
    while id < ids.end {
        let subject = if n % 2 == 0 { "preds.a" } else { "preds.b" };
        let take = if n % 5 == 0 { 3.min(ids.end - id) } else { 1 };
        let body: String = (id..id + take)
            .map(prediction)
            .collect::<Vec<_>>()
            .join("\n");
        if js {
            jetstream
                .publish(subject, body.into())
                .await
                .unwrap()
                .await
                .unwrap();
        } else {
            client.publish(subject, body.into()).await.unwrap();
        }
        id += take;
        n += 1;
    }
    client.flush().await.unwrap();
}

async fn create_stream(url: &str) {
    let client = async_nats::connect(url).await.unwrap();
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: "PREDS".into(),
            subjects: vec!["preds.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
}

fn source(line: &Value) -> &Value {
    &line["sources"][0]
}

fn wait_connected(lines: &Receiver<Value>) {
    wait_line(lines, LIMIT, "the NATS source to be connected", |l| {
        l["type"] == "status" && source(l)["state"] == "connected"
    });
}

fn wait_predictions(lines: &Receiver<Value>, n: u64) -> Value {
    wait_line(lines, LIMIT, &format!("{n} predictions"), |l| {
        l["type"] == "status" && l["predictions"] == n
    })
}

/// Stops the watcher and returns its summary line.
fn summary(child: Reaped, lines: &Receiver<Value>) -> Value {
    common::no_tui::sigterm(&child.0);
    wait_line(lines, LIMIT, "the summary", |l| l["type"] == "summary")
}

fn start_watch(dir: &std::path::Path, url: &str, extra: &[&str]) -> (Reaped, Receiver<Value>) {
    let mut args: Vec<&OsStr> = extra.iter().map(OsStr::new).collect();
    args.push(OsStr::new(url));
    watch(dir, &args)
}

#[test]
fn a_core_subscription_counts_exactly_what_was_published() {
    let Some(nats) = NatsCluster::single("nats_source core") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/preds.>", nats.url());
    let (child, lines) = start_watch(dir.path(), &url, &[]);
    wait_connected(&lines);
    let n = 2_000;
    runtime().block_on(publish(&nats.url(), 0..n, false));
    // The source's counters reach the status at most a second late.
    let status = wait_line(&lines, LIMIT, "the source to count every line", |l| {
        l["type"] == "status" && l["predictions"] == n && source(l)["lines"] == n
    });
    assert_eq!(source(&status)["name"], url.as_str());
    assert_eq!(source(&status)["dropped"], 0);
    let summary = summary(child, &lines);
    assert_eq!(summary["predictions"], n, "{summary}");
    assert_eq!(summary["malformed"], 0, "{summary}");
}

#[test]
fn a_jetstream_stream_is_read_from_its_start_from_a_time_or_from_now() {
    let Some(nats) = NatsCluster::single("nats_source jetstream") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(create_stream(&nats.url()));
    let before = 700;
    rt.block_on(publish(&nats.url(), 0..before, true));
    let url = format!("{}/preds.>", nats.url());
    let (all, all_lines) = start_watch(dir.path(), &url, &["--from-start"]);
    let (new, new_lines) = start_watch(dir.path(), &url, &[]);
    // From a time: an hour back holds every message; a millisecond back
    // (the messages were all stored before the process started) none.
    let (hour, hour_lines) = start_watch(dir.path(), &url, &["--since", "1h"]);
    let (now, now_lines) = start_watch(dir.path(), &url, &["--since", "1ms"]);
    for lines in [&all_lines, &new_lines, &hour_lines, &now_lines] {
        wait_connected(lines);
    }
    let after = 500;
    rt.block_on(publish(&nats.url(), before..before + after, true));
    wait_predictions(&all_lines, before + after);
    wait_predictions(&new_lines, after);
    wait_predictions(&hour_lines, before + after);
    wait_predictions(&now_lines, after);
    for (child, lines, expected) in [
        (all, &all_lines, before + after),
        (new, &new_lines, after),
        (hour, &hour_lines, before + after),
        (now, &now_lines, after),
    ] {
        let s = summary(child, lines);
        assert_eq!(s["predictions"], expected, "{s}");
    }
}

#[test]
fn a_restarted_server_loses_no_stored_message() {
    let Some(mut nats) = NatsCluster::single("nats_source restart") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(create_stream(&nats.url()));
    let url = format!("{}/preds.>", nats.url());
    // Slow reconnects: the messages after the restart are stored while
    // the source is still away, and read from the stream when it is back.
    let config = dir.path().join("slow.toml");
    std::fs::write(&config, "[sources.nats]\nreconnect_initial_ms = 5000\n").unwrap();
    let config = config.to_str().unwrap();
    let (child, lines) = start_watch(dir.path(), &url, &["--from-start", "--config", config]);
    wait_connected(&lines);
    rt.block_on(publish(&nats.url(), 0..300, true));
    wait_predictions(&lines, 300);
    nats.kill(0);
    wait_line(&lines, LIMIT, "the source to be reconnecting", |l| {
        l["type"] == "status" && source(l)["state"] == "reconnecting"
    });
    nats.restart(0);
    rt.block_on(publish(&nats.url(), 300..600, true));
    let status = wait_predictions(&lines, 600);
    assert!(
        source(&status)["reconnects"].as_u64() >= Some(1),
        "{status}"
    );
    let s = summary(child, &lines);
    assert_eq!(s["predictions"], 600, "{s}");
}

/// Without `--from-start`, a consumer made again before its first message
/// starts where the first one did: what was stored before never comes.
#[test]
fn a_restart_before_the_first_message_keeps_reading_only_new_ones() {
    let Some(mut nats) = NatsCluster::single("nats_source restart before reading") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(create_stream(&nats.url()));
    rt.block_on(publish(&nats.url(), 0..300, true));
    let url = format!("{}/preds.>", nats.url());
    let (child, lines) = start_watch(dir.path(), &url, &[]);
    wait_connected(&lines);
    nats.kill(0);
    wait_line(&lines, LIMIT, "the source to be reconnecting", |l| {
        l["type"] == "status" && source(l)["state"] == "reconnecting"
    });
    nats.restart(0);
    wait_line(&lines, LIMIT, "the source back", |l| {
        l["type"] == "status" && source(l)["state"] == "connected" && source(l)["reconnects"] == 1
    });
    rt.block_on(publish(&nats.url(), 300..500, true));
    wait_predictions(&lines, 200);
    let s = summary(child, &lines);
    assert_eq!(s["predictions"], 200, "{s}");
}

#[test]
fn tls_trusts_the_ca_file_and_refuses_the_server_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let certs = common::tls::certificates();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (cert, key, ca) = (
        write("cert.pem", &certs.cert_pem),
        write("key.pem", &certs.key_pem),
        write("ca.pem", &certs.ca_pem),
    );
    let tls = ["--tls", "--tlscert", &cert, "--tlskey", &key];
    let Some(nats) = NatsCluster::single_with("nats_source tls", &tls) else {
        return;
    };
    let url = format!("{}/preds.>", nats.url().replace("nats://", "tls://"));
    let (_refused, refused_lines) = start_watch(dir.path(), &url, &[]);
    let (child, lines) = start_watch(dir.path(), &url, &["--ca-file", &ca]);
    wait_connected(&lines);
    let n = 100;
    runtime().block_on(async {
        let client = async_nats::ConnectOptions::new()
            .add_root_certificates(ca.clone().into())
            .require_tls(true)
            .connect(nats.url())
            .await
            .unwrap();
        for id in 0..n {
            client
                .publish("preds.x", prediction(id).into())
                .await
                .unwrap();
        }
        client.flush().await.unwrap();
    });
    wait_predictions(&lines, n);
    let refused = wait_line(&refused_lines, LIMIT, "the refusal", |l| {
        l["type"] == "status" && source(l)["state"] == "failed"
    });
    let why = source(&refused)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.to_lowercase().contains("tls"), "{refused}");
    assert_eq!(summary(child, &lines)["predictions"], n);
}

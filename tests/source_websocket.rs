//! Websocket sources against a real tokio-tungstenite server on loopback:
//! reconnects after the server is killed and restarted (duplicates
//! dropped), no reconnect storm on 401, dead peer detection, oversized and
//! invalid frames, subscription and headers with `${VAR}`, the kill
//! switch's acknowledged control messages, and wss with a certificate made
//! at test time.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::events::{prediction, state_is};
use common::ws_server::{Server, any_addr, drain, ms, options, send_ids, start};
use futures_util::{SinkExt, StreamExt};
use modelwatch::record::Parser;
use modelwatch::source::settings::SourceEntry;
use modelwatch::source::{SourceSet, SourceSpec, SourceState};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

const LIMIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_restart_and_drops_duplicates() {
    let server = Server::start(any_addr(), None, |_, mut ws| async move {
        send_ids(&mut ws, 0..50).await;
        // Several lines in one message.
        let three = format!(
            "{}\n{}\n{}\n",
            prediction(50),
            prediction(51),
            prediction(52)
        );
        ws.send(Message::text(three)).await.expect("send");
        drain(ws).await;
    })
    .await;
    let (set, seen) = start(&server.url(), options());
    seen.wait_ids(53, LIMIT);
    let addr = server.kill();
    seen.wait_state(0, LIMIT, |st| {
        matches!(st, SourceState::Reconnecting { .. })
    });
    // The restarted server replays from 40: 40..53 are duplicates.
    let _server = Server::start(addr, None, |_, mut ws| async move {
        send_ids(&mut ws, 40..80).await;
        drain(ws).await;
    })
    .await;
    seen.wait_until("80 ids, 13 dropped, one reconnect", LIMIT, |s| {
        s.ids.len() >= 80
            && s.status
                .get(&0)
                .is_some_and(|st| st.dropped == 13 && st.reconnects == 1 && st.lines == 80)
    });
    set.shutdown().await;
    let s = seen.lock();
    s.assert_each_once(0..80);
    assert_eq!(s.status(0).state, SourceState::Connected);
    assert_eq!(s.status(0).errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_do_not_cause_a_reconnect_storm() {
    let server = Server::start(any_addr(), Some(StatusCode::UNAUTHORIZED), |_, _| async {}).await;
    let mut opts = options();
    // The default cap (30 s) is what matters here.
    opts.settings.websocket.reconnect_max_ms = ms(30_000);
    let (set, seen) = start(&server.url(), opts);
    seen.wait_state(
        0,
        LIMIT,
        |st| matches!(st, SourceState::Failed(r) if r.contains("401")),
    );
    // A control message cannot go anywhere meanwhile.
    let control = set.control(0).expect("a websocket has a control handle");
    let answer = control
        .send_and_await_ack("{}".into(), "r".into(), Duration::from_secs(2))
        .await;
    assert!(answer.is_err_and(|e| e.contains("not connected")));
    // An observation window: no retry may happen in it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    set.shutdown().await;
    assert_eq!(
        server.attempts.load(Ordering::SeqCst),
        1,
        "one attempt in 2 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_detected_and_replaced() {
    let server = Server::start(any_addr(), None, |n, mut ws| async move {
        send_ids(&mut ws, n as u64 - 1..n as u64).await;
        if n == 1 {
            // Neither reads (so no pong) nor writes: a wedged server,
            // for longer than the test runs.
            tokio::time::sleep(Duration::from_secs(8)).await;
        } else {
            drain(ws).await;
        }
    })
    .await;
    let mut opts = options();
    opts.settings.websocket.ping_interval_ms = ms(200);
    opts.settings.websocket.pong_timeout_ms = ms(300);
    let (set, seen) = start(&server.url(), opts);
    seen.wait_until("2 ids and one reconnect", LIMIT, |s| {
        s.ids.len() >= 2 && s.status.get(&0).is_some_and(|st| st.reconnects == 1)
    });
    // A healthy peer answers pings: no further reconnects in this
    // observation window (several ping intervals).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    set.shutdown().await;
    let s = seen.lock();
    assert!(
        s.last_errors.iter().any(|e| e.contains("dead peer")),
        "{:?}",
        s.last_errors
    );
    assert_eq!(s.status(0).reconnects, 1);
    assert_eq!(server.attempts.load(Ordering::SeqCst), 2);
    s.assert_each_once(0..2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_invalid_messages_are_counted_and_reading_goes_on() {
    let server = Server::start(any_addr(), None, |n, mut ws| async move {
        match n {
            1 => {
                send_ids(&mut ws, 0..1).await;
                // Over max_message_bytes (1000) but readable: skipped.
                let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(2000));
                ws.send(Message::text(big)).await.expect("send");
                send_ids(&mut ws, 1..2).await;
                ws.send(Message::binary(vec![1u8, 2, 3]))
                    .await
                    .expect("send");
                send_ids(&mut ws, 2..3).await;
                // A text frame that is not UTF-8: the library stops there.
                let bad =
                    Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
                ws.send(Message::Frame(bad)).await.expect("send");
            }
            2 => {
                send_ids(&mut ws, 3..4).await;
                // Beyond what the library reads at all.
                let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(10_000));
                ws.send(Message::text(huge)).await.expect("send");
            }
            _ => send_ids(&mut ws, 4..5).await,
        }
        drain(ws).await;
    })
    .await;
    let (set, seen) = start(&server.url(), options());
    seen.wait_until("5 ids, 4 errors, 2 reconnects", LIMIT, |s| {
        s.ids.len() >= 5
            && s.status
                .get(&0)
                .is_some_and(|st| st.errors == 4 && st.reconnects == 2 && st.lines == 5)
    });
    set.shutdown().await;
    let s = seen.lock();
    s.assert_each_once(0..5);
}

/// Some variable that is set in the test's environment (tests cannot set
/// one safely: other threads read the environment).
fn some_env_var() -> (String, String) {
    ["CARGO_PKG_NAME", "CARGO_MANIFEST_DIR", "PATH", "HOME"]
        .iter()
        .find_map(|n| Some((n.to_string(), std::env::var(n).ok()?)))
        .expect("an environment variable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_headers_and_acknowledged_control_messages() {
    let subscriptions = Arc::new(Mutex::new(Vec::<String>::new()));
    let got = Arc::clone(&subscriptions);
    let server = Server::start(any_addr(), None, move |_, mut ws| {
        let got = Arc::clone(&got);
        async move {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                got.lock().unwrap().push(t.to_string());
            }
            send_ids(&mut ws, 0..5).await;
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let id = v["request_id"].as_str().unwrap_or_default().to_string();
                if v["type"] == "kill_switch" && id != "ignore-me" {
                    // The ack shares its message with an event.
                    let ack = serde_json::json!({"type": "kill_switch_ack", "request_id": id});
                    let reply = format!("{ack}\n{}", prediction(5));
                    ws.send(Message::text(reply)).await.expect("send");
                }
            }
        }
    })
    .await;
    let (var, value) = some_env_var();
    let url = format!(
        "ws://user:s3cret@{}/stream?token=t0ken&model=m",
        server.addr
    );
    let mut opts = options();
    opts.headers = vec![("Authorization".into(), format!("Bearer ${{{var}}}"))];
    opts.settings.sources.push(SourceEntry {
        url: url.clone(),
        headers: [("X-Config".to_string(), "from-config".to_string())].into(),
        subscribe: Some(format!("{{\"type\":\"subscribe\",\"who\":\"${{{var}}}\"}}")),
        ..SourceEntry::default()
    });
    let (set, seen) = start(&url, opts);
    seen.wait_ids(5, LIMIT);
    let name = &set.names()[0];
    assert!(
        !name.contains("s3cret") && !name.contains("t0ken"),
        "{name}"
    );
    {
        let headers = server.headers.lock().unwrap();
        assert_eq!(headers["authorization"], format!("Bearer {value}").as_str());
        assert_eq!(headers["x-config"], "from-config");
    }
    let expected = format!(
        "{{\"type\":\"subscribe\",\"who\":\"{}\"}}",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    );
    assert_eq!(subscriptions.lock().unwrap().as_slice(), [expected]);

    let control = set.control(0).expect("control handle");
    let trip = r#"{"type":"kill_switch","state":"tripped","model":"m","request_id":"r-1"}"#;
    let acked = control
        .send_and_await_ack(trip.into(), "r-1".into(), Duration::from_secs(3))
        .await;
    assert_eq!(acked, Ok(()));
    let ignored =
        r#"{"type":"kill_switch","state":"tripped","model":"m","request_id":"ignore-me"}"#;
    let timed_out = control
        .send_and_await_ack(
            ignored.into(),
            "ignore-me".into(),
            Duration::from_millis(300),
        )
        .await;
    assert!(timed_out.is_err_and(|e| e.contains("no acknowledgement")));
    seen.wait_until("6 lines counted", LIMIT, |s| {
        s.status.get(&0).is_some_and(|st| st.lines == 6)
    });
    set.shutdown().await;
    let s = seen.lock();
    s.assert_each_once(0..6);
    assert_eq!(s.status(0).errors, 0, "acks are not malformed");
    assert_eq!(s.bad_lines, 0);
    assert!(!s.status(0).name.contains("s3cret"));
}

mod tls {
    //! A blocking wss server (rustls + tungstenite) with a certificate
    //! signed by a CA made at test time.

    use std::time::Duration;

    use tokio_tungstenite::tungstenite::{self, Message};

    /// Starts the server; returns its port and the CA's PEM.
    pub fn serve(ids: std::ops::Range<u64>, for_how_long: Duration) -> (u16, String) {
        super::common::tls::serve(for_how_long, move |tls| {
            // A client that refuses the certificate fails here.
            let Ok(mut ws) = tungstenite::accept(tls) else {
                return;
            };
            for i in ids.clone() {
                if ws.send(Message::text(super::prediction(i))).is_err() {
                    return;
                }
            }
            while ws.read().is_ok() {}
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_refuses_an_unknown_certificate_and_trusts_ca_file() {
    let (port, ca_pem) = tls::serve(0..3, Duration::from_secs(8));
    let url = format!("wss://127.0.0.1:{port}/stream");
    let (set, seen) = start(&url, options());
    seen.wait_state(
        0,
        LIMIT,
        |st| matches!(st, SourceState::Failed(r) if r.contains("certificate")),
    );
    set.shutdown().await;
    assert!(seen.lock().ids.is_empty());

    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write CA");
    let mut opts = options();
    opts.ca_file = Some(ca_file);
    let (set, seen) = start(&url, opts);
    seen.wait_ids(3, LIMIT);
    let connected = state_is(&seen.lock(), 0, |st| *st == SourceState::Connected);
    set.shutdown().await;
    assert!(connected, "{:?}", seen.lock().states);
    seen.lock().assert_each_once(0..3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_at_start_without_showing_secrets() {
    let (tx, _rx) = mpsc::channel(1);
    let mut opts = options();
    opts.headers = vec![("X-Token".into(), "${MODELWATCH_TEST_SURELY_UNSET}".into())];
    let e = SourceSet::start(
        vec![SourceSpec::WebSocket("ws://u:s3cret@127.0.0.1:1/".into())],
        opts,
        Parser::default(),
        tx.clone(),
    )
    .err()
    .expect("an unset variable is an error")
    .to_string();
    assert!(
        e.contains("MODELWATCH_TEST_SURELY_UNSET") && !e.contains("s3cret"),
        "{e}"
    );
    let mut opts = options();
    opts.ca_file = Some("/nonexistent/ca.pem".into());
    let e = SourceSet::start(
        vec![SourceSpec::WebSocket("wss://127.0.0.1:1/".into())],
        opts,
        Parser::default(),
        tx,
    )
    .err()
    .expect("a missing CA file is an error")
    .to_string();
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
}

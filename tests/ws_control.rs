//! The kill switch's control link over websocket sources
//! (`live::control::WebSocketControl`) against real loopback servers: the
//! message goes to every websocket source, and it is confirmed only when
//! every one acknowledged it; a silent one is named in the error.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use modelwatch::decision::kill_request::ControlLink;
use modelwatch::live::control::WebSocketControl;
use modelwatch::record::Parser;
use modelwatch::source::{SourceOptions, SourceSet, SourceSpec};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// A websocket server that acknowledges kill-switch messages, except those
/// whose request id starts with `ignore` (when `picky`).
async fn server(picky: bool) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            connections.spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    let id = v["request_id"].as_str().unwrap_or_default().to_string();
                    if v["type"] == "kill_switch" && !(picky && id.starts_with("ignore")) {
                        let ack = serde_json::json!({"type": "kill_switch_ack", "request_id": id});
                        if ws.send(Message::text(ack.to_string())).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("ws://{addr}/stream"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_only_when_every_websocket_source_acknowledges() {
    let (a, server_a) = server(false).await;
    let (b, server_b) = server(true).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let specs = vec![
        SourceSpec::WebSocket(a),
        SourceSpec::Stdin,
        SourceSpec::WebSocket(b),
    ];
    let set = SourceSet::start(specs, SourceOptions::default(), Parser::default(), tx).unwrap();
    let link = WebSocketControl::from_set(Some(&set));
    assert_eq!(link.len(), 2, "stdin has no control link");
    let message = |id: &str| {
        format!(r#"{{"type":"kill_switch","state":"tripped","model":"m","request_id":"{id}"}}"#)
    };
    // Until both are connected a send fails; retry, bounded.
    let runtime = tokio::runtime::Handle::current();
    let mut n = 0;
    tokio::task::block_in_place(|| {
        common::wait_until("a trip confirmed by both", Duration::from_secs(10), || {
            n += 1;
            let id = format!("r-{n}");
            let ack = link.send_and_await_ack(message(&id), id, Duration::from_millis(500));
            runtime.block_on(ack).is_ok()
        })
    });
    // One source stays silent: not confirmed, and the error names it.
    let err = link
        .send_and_await_ack(
            message("ignore-1"),
            "ignore-1".into(),
            Duration::from_millis(400),
        )
        .await
        .unwrap_err();
    assert!(err.contains("no acknowledgement"), "{err}");
    assert!(
        err.contains(&set.names()[2]) && !err.contains(&set.names()[0]),
        "{err}"
    );
    set.shutdown().await;
    server_a.abort();
    server_b.abort();
    drain.abort();
}

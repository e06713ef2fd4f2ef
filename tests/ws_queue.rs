//! A websocket source whose consumer is busy, against a real
//! tokio-tungstenite server on loopback: the lines wait in the source's
//! queue (bounded in bytes) and none is lost; a full queue drops lines,
//! counts them as overload, and the source goes on reading; the kill
//! switch's control messages get through a flood.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::events::{Collector, prediction};
use common::ws_server::{Server, Ws, any_addr, drain, ms, options, send_ids};
use futures_util::{SinkExt, StreamExt};
use modelwatch::record::Parser;
use modelwatch::source::{SourceEvent, SourceOptions, SourceSet, SourceSpec};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;

const LIMIT: Duration = Duration::from_secs(10);
/// Lines sent while the consumer is busy, then after it is back.
const WHILE_BUSY: u64 = 300;
const AFTER: u64 = 10;

/// Server side of the busy-consumer tests: sends `WHILE_BUSY` lines, then
/// a ping; the pong proves the source has read every line before it
/// (`read_all`). After `resumed`, `AFTER` more lines.
struct Busy {
    server: Server,
    read_all: Arc<Notify>,
    resumed: Arc<Notify>,
}

async fn busy_server() -> Busy {
    let read_all = Arc::new(Notify::new());
    let resumed = Arc::new(Notify::new());
    let (read, resume) = (Arc::clone(&read_all), Arc::clone(&resumed));
    let server = Server::start(any_addr(), None, move |_, mut ws: Ws| {
        let (read, resume) = (Arc::clone(&read), Arc::clone(&resume));
        async move {
            send_ids(&mut ws, 0..WHILE_BUSY).await;
            ws.send(Message::Ping("read-all".into()))
                .await
                .expect("send");
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Pong(_) = message {
                    read.notify_one();
                    break;
                }
            }
            resume.notified().await;
            send_ids(&mut ws, WHILE_BUSY..WHILE_BUSY + AFTER).await;
            drain(ws).await;
        }
    })
    .await;
    Busy {
        server,
        read_all,
        resumed,
    }
}

/// Runs a source whose consumer takes nothing until the server knows every
/// line sent so far was read; returns what the consumer saw in the end.
async fn with_busy_consumer(opts: SourceOptions) -> Collector {
    let busy = busy_server().await;
    // One batch in flight at most: the rest must wait in the source.
    let (tx, rx) = mpsc::channel(1);
    let set = SourceSet::start(
        vec![SourceSpec::WebSocket(busy.server.url())],
        opts,
        Parser::default(),
        tx,
    )
    .expect("sources start");
    let read_all = tokio::time::timeout(LIMIT, busy.read_all.notified()).await;
    assert!(read_all.is_ok(), "the source never answered the ping");
    let seen = Collector::spawn(rx);
    let taken_all = |total: u64| {
        move |s: &common::events::Seen| {
            s.status
                .get(&0)
                .is_some_and(|st| st.lines == total && st.dropped + s.ids.len() as u64 == total)
        }
    };
    // The queue is empty once everything read was taken or dropped.
    seen.wait_until("the queue drained", LIMIT, taken_all(WHILE_BUSY));
    busy.resumed.notify_one();
    seen.wait_until("everything taken", LIMIT, taken_all(WHILE_BUSY + AFTER));
    set.shutdown().await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_consumer_costs_queue_memory_not_lines() {
    let seen = with_busy_consumer(options()).await;
    let s = seen.lock();
    s.assert_each_once(0..WHILE_BUSY + AFTER);
    assert_eq!(s.status(0).dropped, 0);
    assert_eq!(s.status(0).dropped_overload, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_full_queue_drops_lines_and_counts_them_as_overload() {
    let mut opts = options();
    // Room for a few dozen parsed lines.
    opts.settings.websocket.queue_bytes = ms(2000);
    let seen = with_busy_consumer(opts).await;
    let s = seen.lock();
    let status = s.status(0);
    assert!(status.dropped > 0, "{status:?}");
    assert_eq!(status.dropped_overload, status.dropped, "{status:?}");
    // What was queued arrived once each, in order, and so did every line
    // sent once the consumer was back: reading never stopped.
    let ids: Vec<u64> = s.ids.iter().map(|id| id.parse().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let after: Vec<u64> = ids.iter().copied().filter(|&i| i >= WHILE_BUSY).collect();
    assert_eq!(after, (WHILE_BUSY..WHILE_BUSY + AFTER).collect::<Vec<_>>());
    assert!(
        ids.len() as u64 > AFTER,
        "the queue held some lines: {ids:?}"
    );
}

/// A server sending 50,000 predictions a second (ten to a message),
/// acknowledging control messages between messages, for at most
/// `for_how_long`. (Faster than the source reads, a flood would queue in
/// the sockets, and an acknowledgement would wait behind it.)
async fn flooding_server(for_how_long: Duration) -> Server {
    Server::start(any_addr(), None, move |_, ws: Ws| async move {
        let (mut sink, mut stream) = ws.split();
        let (acks, mut to_ack) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["type"] == "kill_switch" {
                    let id = v["request_id"].as_str().unwrap_or_default().to_string();
                    if acks.send(id).is_err() {
                        return;
                    }
                }
            }
        });
        let end = Instant::now() + for_how_long;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut n = 0u64;
        while Instant::now() < end {
            tick.tick().await;
            while let Ok(id) = to_ack.try_recv() {
                let ack = serde_json::json!({"type": "kill_switch_ack", "request_id": id});
                if sink.send(Message::text(ack.to_string())).await.is_err() {
                    return;
                }
            }
            for _ in 0..5 {
                // Within the test options' 1000-byte messages.
                let block: String = (n..n + 10).map(|i| prediction(i) + "\n").collect();
                n += 10;
                if sink.send(Message::text(block)).await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_messages_get_through_a_flood() {
    let server = flooding_server(Duration::from_secs(20)).await;
    let (tx, mut rx) = mpsc::channel(64);
    let lines = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&lines);
    let consumer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let SourceEvent::Batch { batch, .. } = event {
                counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
    });
    let set = SourceSet::start(
        vec![SourceSpec::WebSocket(server.url())],
        options(),
        Parser::default(),
        tx,
    )
    .expect("sources start");
    tokio::task::block_in_place(|| {
        common::wait_until("the flood", LIMIT, || {
            lines.load(Ordering::Relaxed) >= 10_000
        })
    });
    let control = set.control(0).expect("control handle");
    for n in 0..20 {
        let id = format!("trip-{n}");
        let message = format!(
            r#"{{"type":"kill_switch","state":"tripped","model":"m","request_id":"{id}"}}"#
        );
        let acked = control
            .send_and_await_ack(message, id.clone(), Duration::from_secs(3))
            .await;
        assert_eq!(acked, Ok(()), "{id} while flooded");
    }
    assert!(lines.load(Ordering::Relaxed) > 10_000);
    set.shutdown().await;
    consumer.abort();
}

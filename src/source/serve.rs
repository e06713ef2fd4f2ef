//! Outputs of the simulated model: `demo --serve ADDR` (a websocket server
//! streaming it to every client, one JSON object per text message, and
//! answering kill-switch control messages) and `demo --write FILE`.
//!
//! Every client has a bounded queue. When paced (`--rate N`) a client whose
//! queue is full misses messages (counted in the log); unpaced (`--rate 0`)
//! the generator waits for the slowest client, so a benchmark measures the
//! reader, not the drops.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tracing::{info, warn};

use super::demo::{DemoModel, DemoSpec, Pacer, TICK};
use crate::record::time::now_ms;

/// Messages queued per client.
const CLIENT_QUEUE: usize = 4096;
/// Predictions per turn when unpaced.
const UNPACED_BURST: u64 = 1024;

type Clients = Arc<Mutex<Vec<mpsc::Sender<String>>>>;

/// Serves the model on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    spec: DemoSpec,
    stop: impl std::future::Future<Output = ()>,
) {
    // A new prefix per run, so ids never repeat across server restarts.
    let prefix = format!("{:x}-", now_ms());
    let clients: Clients = Arc::new(Mutex::new(Vec::new()));
    let accept = accept_loop(listener, Arc::clone(&clients));
    let generate = generate(spec, prefix, Arc::clone(&clients));
    tokio::select! {
        () = stop => {}
        () = accept => {}
        () = generate => {}
    }
}

async fn accept_loop(listener: TcpListener, clients: Clients) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let clients = Arc::clone(&clients);
                tokio::spawn(async move { serve_client(stream, peer, clients).await });
            }
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_client(stream: TcpStream, peer: SocketAddr, clients: Clients) {
    let ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            warn!("websocket handshake with {peer} failed: {e}");
            return;
        }
    };
    info!("client {peer} connected");
    let (mut sink, mut incoming) = ws.split();
    let (tx, mut rx) = mpsc::channel::<String>(CLIENT_QUEUE);
    if let Ok(mut list) = clients.lock() {
        list.push(tx);
    }
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => {
                    if sink.send(Message::text(line)).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    // Straight onto the socket: this loop is what drains the
                    // client's queue, so waiting for room there could wait
                    // for ever.
                    if let Some(ack) = kill_switch_ack(text.as_str(), peer)
                        && sink.send(Message::text(ack)).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    info!("client {peer} disconnected");
}

/// Answers `{"type":"kill_switch",...}` with `{"type":"kill_switch_ack",
/// "request_id":...}`, saying on stderr what was asked.
fn kill_switch_ack(text: &str, peer: SocketAddr) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("type")?.as_str()? != "kill_switch" {
        return None;
    }
    let request_id = v.get("request_id")?.as_str()?;
    let state = v.get("state").and_then(|s| s.as_str()).unwrap_or("?");
    let model = v.get("model").and_then(|s| s.as_str()).unwrap_or("?");
    let esc = crate::record::sanitize::escape_untrusted;
    info!(
        "kill switch {} for model {} (request {}) from {peer}",
        esc(state),
        esc(model),
        esc(request_id)
    );
    eprintln!(
        "modelwatch demo: kill switch {} for model {} (request {}) from {peer}; acknowledged",
        esc(state),
        esc(model),
        esc(request_id)
    );
    let ack = serde_json::json!({"type": "kill_switch_ack", "request_id": request_id});
    crate::record::safe_json::to_string(&ack).ok()
}

async fn generate(spec: DemoSpec, prefix: String, clients: Clients) {
    let mut model = DemoModel::new(spec.seed, spec.rate).with_id_prefix(&prefix);
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pacer = Pacer::new(spec, UNPACED_BURST);
    let mut text = String::new();
    let mut missed = 0u64;
    loop {
        let live: Vec<mpsc::Sender<String>> = match clients.lock() {
            Ok(mut list) => {
                list.retain(|c| !c.is_closed());
                list.clone()
            }
            Err(_) => return,
        };
        if live.is_empty() {
            // Nobody listening: the model waits (and its clock with it).
            ticks.tick().await;
            pacer.resume(model.emitted());
            continue;
        }
        if spec.rate > 0 {
            ticks.tick().await;
        }
        let Some(owed) = pacer.owed(model.emitted()) else {
            // The limit was reached: keep serving what was queued.
            std::future::pending::<()>().await;
            return;
        };
        text.clear();
        let now = now_ms();
        for _ in 0..owed {
            model.next_lines(now, &mut text);
        }
        for line in text.lines() {
            for client in &live {
                if spec.rate == 0 {
                    let _ = client.send(line.to_string()).await;
                } else if client.try_send(line.to_string()).is_err() {
                    missed += 1;
                    if missed.is_power_of_two() {
                        warn!("a slow client has missed {missed} messages");
                    }
                }
            }
        }
        if spec.rate == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Appends the model's lines to `path` until the limit or `stop`.
pub async fn write_to(
    path: &Path,
    spec: DemoSpec,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut model = DemoModel::new(spec.seed, spec.rate);
    let pacer = Pacer::new(spec, UNPACED_BURST);
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut text = String::new();
    tokio::pin!(stop);
    loop {
        if spec.rate > 0 {
            tokio::select! {
                () = &mut stop => break,
                _ = ticks.tick() => {}
            }
        } else {
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = tokio::task::yield_now() => {}
            }
        }
        let Some(owed) = pacer.owed(model.emitted()) else {
            break;
        };
        text.clear();
        let now = now_ms();
        for _ in 0..owed {
            model.next_lines(now, &mut text);
        }
        out.write_all(text.as_bytes())?;
        // Whole lines reach the file at each turn: a follower never waits
        // on a buffer.
        out.flush()?;
    }
    out.flush()
}

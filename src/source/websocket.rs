//! A websocket source (`ws://`, `wss://`): connects, reads text messages
//! (each one JSON line, or several separated by newlines), reconnects with
//! backoff, detects a dead peer with pings, and carries the kill switch's
//! control messages (`ControlHandle`).
//!
//! Policies:
//! * a message over `max_message_bytes` is skipped and counted in `errors`;
//!   the library reads messages up to four times that and keeps the
//!   connection; bigger ones, and invalid frames (a text frame that is not
//!   UTF-8), are errors the library cannot read past, so they are counted
//!   and the source reconnects;
//! * binary messages are counted in `errors` and skipped;
//! * a server that sends nothing for `ping_interval_ms` is pinged; when
//!   nothing at all (pong or data) arrives within `pong_timeout_ms` after,
//!   it is taken for dead and the source reconnects;
//! * HTTP 401/403 and a refused certificate are not retried before the cap
//!   (state `Failed` with the reason meanwhile): no reconnect storm;
//! * the source never waits for the consumer: a batch that finds the
//!   channel full is dropped, its lines counted in `dropped`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};

use super::backoff::Backoff;
use super::batching::{BATCH_LINES, Counters, is_full, new_batch};
use super::dedup::Dedup;
use super::set::ControlRequest;
use super::settings::WebSocketSettings;
use super::status::{Closed, Reporter, sleep_until_opt};
use super::ws_setup::WsTarget;
use super::{SourceEvent, SourceId, SourceOptions, SourceState};
use crate::record::Parser;
use crate::record::batch::{ParsedBatch, ParsedLine};
use crate::record::lines::{Line, LineReader};
use crate::record::time::now_ms;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Control messages awaiting their acknowledgement, at most.
const MAX_PENDING_ACKS: usize = 64;
/// Grace for the close handshake at shutdown.
const CLOSE_GRACE: Duration = Duration::from_millis(250);

/// Why a connection attempt failed.
enum Failure {
    /// Credentials or certificate refused: wait the longest delay.
    Refused(String),
    Other(String),
}

/// Why a connection ended.
enum End {
    Stop,
    Lost(String),
}

pub(crate) struct WsSource {
    pub id: SourceId,
    pub target: WsTarget,
    pub options: Arc<SourceOptions>,
    pub parser: Arc<Parser>,
}

/// The source's task: connect, read, reconnect, until shutdown.
pub(crate) async fn run(
    source: WsSource,
    tx: mpsc::Sender<SourceEvent>,
    mut control: mpsc::Receiver<ControlRequest>,
    mut shutdown: watch::Receiver<bool>,
) {
    let ws = &source.options.settings.websocket;
    let ms = Duration::from_millis;
    let mut backoff = Backoff::new(
        ms(ws.reconnect_initial_ms.get()),
        ms(ws.reconnect_max_ms.get()),
    );
    let mut reporter = Reporter::new(source.id, source.target.name.clone(), tx.clone());
    let mut inbound = Inbound::new(&source);
    let max_message = inbound.max_message_bytes.saturating_mul(4);
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let name = &source.target.name;
    loop {
        let _ = reporter.try_flush();
        let attempt = connect(&source.target, config, ms(ws.connect_timeout_ms.get()));
        tokio::pin!(attempt);
        let result = loop {
            tokio::select! {
                r = &mut attempt => break r,
                _ = shutdown.changed() => return,
                Some(req) = control.recv() => reply_not_connected(req),
                _ = sleep_until_opt(reporter.next_due()) => {
                    if reporter.try_flush().is_err() { return }
                }
            }
        };
        let mut refused = false;
        let delay = match result {
            Ok(stream) => {
                inbound.generation += 1;
                if inbound.generation > 1 {
                    reporter.status.reconnects += 1;
                }
                info!(source = %name, "websocket connected");
                reporter.set_state(SourceState::Connected);
                reporter.status.last_error = None;
                let started = Instant::now();
                let end = session(
                    stream,
                    &source,
                    &mut inbound,
                    &mut reporter,
                    &mut control,
                    &mut shutdown,
                )
                .await;
                inbound.fail_pending_acks("connection lost before the acknowledgement");
                match end {
                    End::Stop => return,
                    End::Lost(reason) => {
                        warn!(source = %name, %reason, "websocket disconnected");
                        reporter.status.last_error = Some(reason);
                    }
                }
                if started.elapsed() >= ms(ws.stable_after_ms) {
                    backoff.reset();
                }
                backoff.next_delay()
            }
            Err(Failure::Refused(reason)) => {
                warn!(source = %name, %reason, "websocket refused; retrying after the longest delay");
                reporter.set_state(SourceState::Failed(reason.clone()));
                reporter.status.last_error = Some(reason);
                refused = true;
                backoff.cap_delay()
            }
            Err(Failure::Other(reason)) => {
                debug!(source = %name, %reason, "websocket connection failed");
                reporter.status.last_error = Some(reason);
                backoff.next_delay()
            }
        };
        // A refusal keeps showing `Failed` with its reason until the retry.
        if !refused {
            let at_ms = now_ms() + delay.as_millis() as i64;
            reporter.set_state(SourceState::Reconnecting { at_ms });
        }
        if reporter.try_flush().is_err() {
            return;
        }
        let wake = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = sleep_until(wake) => break,
                _ = shutdown.changed() => return,
                Some(req) = control.recv() => reply_not_connected(req),
                _ = sleep_until_opt(reporter.next_due()) => {
                    if reporter.try_flush().is_err() { return }
                }
            }
        }
    }
}

fn reply_not_connected(req: ControlRequest) {
    let _ = req.reply.send(Err("websocket not connected".into()));
}

async fn connect(
    target: &WsTarget,
    config: WebSocketConfig,
    limit: Duration,
) -> Result<Ws, Failure> {
    let request = target.request().map_err(Failure::Other)?;
    let connector = match &target.tls {
        Some(tls) => Connector::Rustls(Arc::clone(tls)),
        None => Connector::Plain,
    };
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    match timeout(limit, attempt).await {
        Err(_) => Err(Failure::Other(format!(
            "no connection within {} ms",
            limit.as_millis()
        ))),
        Ok(Ok((stream, _response))) => Ok(stream),
        Ok(Err(e)) => Err(classify(e)),
    }
}

/// A reason for the operator (never a header or URL credential).
fn classify(e: WsError) -> Failure {
    match e {
        WsError::Http(response) => {
            let status = response.status();
            let reason = format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if status.as_u16() == 401 || status.as_u16() == 403 {
                Failure::Refused(format!("{} (credentials refused)", reason.trim_end()))
            } else {
                Failure::Other(reason.trim_end().to_string())
            }
        }
        WsError::Io(io) => {
            let tls = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            match tls {
                Some(rustls::Error::InvalidCertificate(cert)) => {
                    Failure::Refused(format!("TLS certificate refused: {cert:?}"))
                }
                Some(other) => Failure::Other(format!("TLS: {other}")),
                None => Failure::Other(io.to_string()),
            }
        }
        WsError::Tls(tls) => Failure::Other(format!("TLS: {tls}")),
        other => Failure::Other(other.to_string()),
    }
}

/// One connection, until it ends.
async fn session(
    mut ws: Ws,
    source: &WsSource,
    inbound: &mut Inbound,
    reporter: &mut Reporter,
    control: &mut mpsc::Receiver<ControlRequest>,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let settings: &WebSocketSettings = &source.options.settings.websocket;
    let ping_every = Duration::from_millis(settings.ping_interval_ms.get());
    let pong_within = Duration::from_millis(settings.pong_timeout_ms.get());
    if let Some(message) = &source.target.subscribe
        && let Err(reason) = send(&mut ws, Message::text(message.clone()), pong_within).await
    {
        return End::Lost(format!("cannot send the subscription: {reason}"));
    }
    if reporter.try_flush().is_err() {
        return End::Stop;
    }
    let mut last_seen = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut control_open = true;
    loop {
        let check_at = match ping_sent {
            Some(t) => t + pong_within,
            None => last_seen + ping_every,
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                let _ = timeout(CLOSE_GRACE, ws.close(None)).await;
                return End::Stop;
            }
            // Control messages (the kill switch) before data: a flooding
            // peer must not keep them from going out.
            req = control.recv(), if control_open => match req {
                Some(req) => {
                    if let Err(reason) = inbound.control(&mut ws, req, pong_within).await {
                        return End::Lost(reason);
                    }
                }
                None => control_open = false,
            },
            message = ws.next() => {
                last_seen = Instant::now();
                ping_sent = None;
                let mut next = message;
                let mut taken = 0usize;
                // Everything already received goes into one batch.
                let ended = loop {
                    match next {
                        Some(Ok(m)) => inbound.message(m),
                        Some(Err(e)) => break Some(inbound.read_error(e)),
                        None => break Some("closed by the server".to_string()),
                    }
                    taken += 1;
                    if inbound.batch_full() || taken >= BATCH_LINES {
                        break None;
                    }
                    match ws.next().now_or_never() {
                        Some(m) => next = m,
                        None => break None,
                    }
                };
                if inbound.flush(reporter).is_err() {
                    return End::Stop;
                }
                if let Some(reason) = ended {
                    return End::Lost(reason);
                }
            }
            _ = sleep_until(check_at) => {
                if ping_sent.is_some() {
                    return End::Lost(format!(
                        "no answer to a ping within {} ms (dead peer)",
                        pong_within.as_millis()
                    ));
                }
                if let Err(reason) = send(&mut ws, Message::Ping(Default::default()), pong_within).await {
                    return End::Lost(reason);
                }
                ping_sent = Some(Instant::now());
            }
            _ = sleep_until_opt(reporter.next_due()) => {}
        }
        if reporter.try_flush().is_err() {
            return End::Stop;
        }
    }
}

/// Sends with a time limit: a peer that stopped reading must not wedge the
/// source.
async fn send(ws: &mut Ws, message: Message, limit: Duration) -> Result<(), String> {
    match timeout(limit, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err(format!("send blocked for {} ms", limit.as_millis())),
    }
}

/// Reading state that outlives connections: counters, the duplicate
/// filter, the batch being filled and pending acknowledgements.
struct Inbound {
    id: SourceId,
    parser: Arc<Parser>,
    keep_raw: bool,
    max_line_bytes: usize,
    max_message_bytes: usize,
    dedup: Dedup,
    /// Connections made so far; the current one's number.
    generation: u64,
    /// Lines passed on (duplicates are not) and unreadable messages.
    counters: Counters,
    dropped: u64,
    batch: ParsedBatch,
    acks: HashMap<String, oneshot::Sender<Result<(), String>>>,
}

impl Inbound {
    fn new(source: &WsSource) -> Self {
        let o = &source.options;
        let max_message = o.settings.websocket.max_message_bytes;
        let max_message_bytes = max_message.map_or(o.max_line_bytes, |n| {
            usize::try_from(n.get()).unwrap_or(usize::MAX)
        });
        Inbound {
            id: source.id,
            parser: Arc::clone(&source.parser),
            keep_raw: o.keep_raw,
            max_line_bytes: o.max_line_bytes,
            max_message_bytes,
            dedup: Dedup::new(o.settings.websocket.dedup_ids),
            generation: 0,
            counters: Counters::default(),
            dropped: 0,
            batch: new_batch(source.id, 1),
            acks: HashMap::new(),
        }
    }

    fn batch_full(&self) -> bool {
        is_full(&self.batch)
    }

    fn message(&mut self, message: Message) {
        match message {
            Message::Text(text) => self.text(text.as_bytes()),
            Message::Binary(data) => {
                debug!(bytes = data.len(), "binary message skipped");
                self.counters.errors += 1;
            }
            // Pings are answered by the library; close is followed by the
            // end of the stream.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }

    /// An error reading the connection: counted when the server sent
    /// something unreadable. The connection cannot be read further.
    fn read_error(&mut self, e: WsError) -> String {
        use tokio_tungstenite::tungstenite::error::ProtocolError;
        match &e {
            // A dropped connection is not something unreadable.
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {}
            WsError::Utf8(_) | WsError::Capacity(_) | WsError::Protocol(_) => {
                self.counters.errors += 1;
            }
            _ => {}
        }
        match e {
            WsError::Utf8(_) => "invalid UTF-8 in a text message".into(),
            other => other.to_string(),
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        if bytes.len() > self.max_message_bytes {
            debug!(
                bytes = bytes.len(),
                max = self.max_message_bytes,
                "message too large; skipped"
            );
            self.counters.errors += 1;
            return;
        }
        let mut reader = LineReader::new(bytes, self.max_line_bytes);
        loop {
            let line = match reader.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => match reader.take_partial() {
                    Some(line) => line,
                    None => break,
                },
                Err(_) => break,
            };
            self.line(line);
        }
    }

    fn line(&mut self, line: Line<'_>) {
        let bytes: &[u8] = match line {
            Line::Text(text) => {
                if let Some(request_id) = ack_id(text) {
                    match self.acks.remove(&request_id) {
                        Some(reply) => {
                            let _ = reply.send(Ok(()));
                        }
                        None => debug!("acknowledgement for an unknown request"),
                    }
                    return;
                }
                text
            }
            Line::TooLong { .. } => {
                self.counters.errors += 1;
                &[]
            }
        };
        // Parsed once: for the duplicate check and for the batch.
        let parsed = ParsedLine::parse(&self.parser, &line);
        if self.dedup.enabled()
            && let ParsedLine::Event(event) = &parsed
            && let Some(key) = self.dedup.event_key(event)
            && self.dedup.is_duplicate(key, self.generation)
        {
            self.dropped += 1;
            return;
        }
        self.counters.lines += 1;
        self.batch.push_parsed(parsed, bytes, self.keep_raw);
    }

    /// Hands the batch over without waiting; drops it when the channel is
    /// full. Counters go into the status.
    fn flush(&mut self, reporter: &mut Reporter) -> Result<(), Closed> {
        if !self.batch.is_empty() {
            let next = new_batch(self.id, self.counters.lines + 1);
            let batch = std::mem::replace(&mut self.batch, next);
            let n = batch.len() as u64;
            match reporter.tx().try_send(SourceEvent::Batch {
                source: self.id,
                batch,
            }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    debug!(lines = n, "consumer behind; batch dropped");
                    self.dropped += n;
                }
                Err(TrySendError::Closed(_)) => return Err(Closed),
            }
        }
        reporter.sync(&self.counters);
        reporter.status.dropped = self.dropped;
        Ok(())
    }

    /// Sends a control message and registers its acknowledgement; an error
    /// means the connection is unusable.
    async fn control(
        &mut self,
        ws: &mut Ws,
        req: ControlRequest,
        limit: Duration,
    ) -> Result<(), String> {
        if req.reply.is_closed() {
            return Ok(()); // the caller gave up already
        }
        self.acks.retain(|_, reply| !reply.is_closed());
        if self.acks.len() >= MAX_PENDING_ACKS {
            let _ = req.reply.send(Err(
                "too many control messages awaiting acknowledgement".into()
            ));
            return Ok(());
        }
        match send(ws, Message::text(req.message), limit).await {
            Ok(()) => {
                self.acks.insert(req.request_id, req.reply);
                Ok(())
            }
            Err(reason) => {
                let _ = req.reply.send(Err(format!("websocket {reason}")));
                Err(reason)
            }
        }
    }

    fn fail_pending_acks(&mut self, reason: &str) {
        for (_, reply) in self.acks.drain() {
            let _ = reply.send(Err(reason.to_string()));
        }
    }
}

/// The request id of a `{"type":"kill_switch_ack","request_id":..}` line.
fn ack_id(line: &[u8]) -> Option<String> {
    memchr::memmem::find(line, b"kill_switch_ack")?;
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    if value.get("type")?.as_str()? != "kill_switch_ack" {
        return None;
    }
    Some(match value.get("request_id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_recognised() {
        assert_eq!(
            ack_id(br#"{"type":"kill_switch_ack","request_id":"r-1"}"#).as_deref(),
            Some("r-1")
        );
        assert_eq!(
            ack_id(br#"{"request_id":7,"type":"kill_switch_ack"}"#).as_deref(),
            Some("7")
        );
        assert_eq!(
            ack_id(br#"{"type":"prediction","note":"kill_switch_ack"}"#),
            None
        );
        assert_eq!(
            ack_id(br#"{"id":"1","prediction":"a","confidence":0.5}"#),
            None
        );
        assert_eq!(ack_id(b"kill_switch_ack {"), None);
    }
}

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
//! * a server that does not read what is sent to it (the pongs answering
//!   its pings) for `pong_timeout_ms` is dead too; what waits to be sent is
//!   bounded meanwhile (`ws_setup::protocol_config`), so a peer flooding
//!   pings cannot grow memory;
//! * HTTP 401/403 and a refused certificate are not retried before the cap
//!   (state `Failed` with the reason meanwhile): no reconnect storm;
//! * the source never stops reading for the consumer: lines wait in a
//!   queue bounded in bytes (`ws_queue`) and go on as the channel has room,
//!   across reconnects too; only a full queue drops lines, counted in
//!   `dropped` and `dropped_overload`;
//! * control messages (the kill switch) go out before anything else is
//!   read or handed on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use super::batching::BATCH_LINES;
use super::settings::WebSocketSettings;
use super::status::{Reporter, sleep_until_opt};
use super::ws_inbound::Inbound;
use super::ws_link::{ControlRequest, Ws, WsSource, send};
use super::ws_setup::{WsTarget, protocol_config};
use super::{SourceEvent, SourceState};
use crate::backoff::Backoff;
use crate::record::time::now_ms;

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

/// The source's channels: batches out, control requests and the shutdown
/// signal in.
struct Links<'a> {
    tx: mpsc::Sender<SourceEvent>,
    control: &'a mut mpsc::Receiver<ControlRequest>,
    shutdown: &'a mut watch::Receiver<bool>,
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
    let config = protocol_config(
        inbound.max_message_bytes,
        source.target.subscribe.as_deref(),
    );
    let name = &source.target.name;
    let mut links = Links {
        tx,
        control: &mut control,
        shutdown: &mut shutdown,
    };
    loop {
        let _ = reporter.try_flush();
        let attempt = connect(&source.target, config, ms(ws.connect_timeout_ms.get()));
        let Some(result) = idle(attempt, &mut links, &mut inbound, &mut reporter).await else {
            return;
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
                let end = session(stream, &source, &mut inbound, &mut reporter, &mut links).await;
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
        let wake = sleep_until(Instant::now() + delay);
        if idle(wake, &mut links, &mut inbound, &mut reporter)
            .await
            .is_none()
        {
            return;
        }
    }
}

/// Waits for `until` while not connected: control messages are refused,
/// queued lines keep going to the consumer, status goes out. `None` when
/// the source is to stop.
async fn idle<T>(
    until: impl Future<Output = T>,
    links: &mut Links<'_>,
    inbound: &mut Inbound,
    reporter: &mut Reporter,
) -> Option<T> {
    tokio::pin!(until);
    loop {
        tokio::select! {
            r = &mut until => return Some(r),
            _ = links.shutdown.changed() => return None,
            Some(req) = links.control.recv() => reply_not_connected(req),
            permit = links.tx.reserve(), if !inbound.queue.is_empty() => match permit {
                Ok(permit) => inbound.queue.send(permit),
                Err(_) => return None,
            },
            _ = sleep_until_opt(reporter.next_due()) => {
                if reporter.try_flush().is_err() { return None }
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
    links: &mut Links<'_>,
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
    let mut unsent = Unsent::default();
    let mut control_open = true;
    loop {
        let check_at = match ping_sent {
            Some(t) => t + pong_within,
            None => last_seen + ping_every,
        };
        let check_at = unsent
            .deadline(pong_within)
            .map_or(check_at, |t| t.min(check_at));
        tokio::select! {
            biased;
            _ = links.shutdown.changed() => {
                let _ = timeout(CLOSE_GRACE, ws.close(None)).await;
                return End::Stop;
            }
            // Control messages (the kill switch) before data: a flooding
            // peer must not keep them from going out.
            req = links.control.recv(), if control_open => match req {
                Some(req) => {
                    if let Err(reason) = inbound.control(&mut ws, req, pong_within).await {
                        return End::Lost(reason);
                    }
                }
                None => control_open = false,
            },
            // Handing on before reading: a flood fills the queue, not
            // the time between hand-overs.
            permit = links.tx.reserve(), if !inbound.queue.is_empty() => match permit {
                Ok(permit) => inbound.queue.send(permit),
                Err(_) => return End::Stop,
            },
            message = ws.next() => {
                last_seen = Instant::now();
                ping_sent = None;
                if let Some(reason) = read_burst(&mut ws, message, inbound) {
                    return End::Lost(reason);
                }
                if (inbound.take_ping() || unsent.pending())
                    && let Err(reason) = unsent.check(&mut ws, pong_within)
                {
                    return End::Lost(reason);
                }
            }
            _ = sleep_until(check_at) => {
                if let Err(reason) = unsent.check(&mut ws, pong_within) {
                    return End::Lost(reason);
                }
                let now = Instant::now();
                match ping_sent {
                    Some(t) if now >= t + pong_within => {
                        return End::Lost(format!(
                            "no answer to a ping within {} ms (dead peer)",
                            pong_within.as_millis()
                        ));
                    }
                    None if now >= last_seen + ping_every => {
                        if let Err(reason) = send(&mut ws, Message::Ping(Default::default()), pong_within).await {
                            return End::Lost(reason);
                        }
                        ping_sent = Some(now);
                    }
                    _ => {}
                }
            }
            _ = sleep_until_opt(reporter.next_due()) => {}
        }
        inbound.sync(reporter);
        if reporter.try_flush().is_err() {
            return End::Stop;
        }
    }
}

/// Reads everything already received, `first` included, up to
/// [`BATCH_LINES`] messages or lines (then control messages and hand-overs
/// get their turn). `Some(reason)` when the connection ended.
fn read_burst(
    ws: &mut Ws,
    first: Option<Result<Message, WsError>>,
    inbound: &mut Inbound,
) -> Option<String> {
    let bound = BATCH_LINES as u64;
    let lines_before = inbound.lines_taken();
    let mut next = first;
    let mut taken = 0;
    loop {
        match next {
            Some(Ok(m)) => inbound.message(m),
            Some(Err(e)) => return Some(inbound.read_error(e)),
            None => return Some("closed by the server".to_string()),
        }
        taken += 1;
        if taken >= bound || inbound.lines_taken() - lines_before >= bound {
            return None;
        }
        next = ws.next().now_or_never()?;
    }
}

/// What the library queued to send (the pongs answering the server's
/// pings) and the server has not taken yet: a server that stopped reading
/// is as dead as a silent one.
#[derive(Default)]
struct Unsent {
    /// When something was first seen waiting.
    since: Option<Instant>,
}

impl Unsent {
    fn pending(&self) -> bool {
        self.since.is_some()
    }

    fn deadline(&self, limit: Duration) -> Option<Instant> {
        self.since.map(|t| t + limit)
    }

    /// Writes out what can be written without waiting; an error when the
    /// server has not taken it for `limit`.
    fn check(&mut self, ws: &mut Ws, limit: Duration) -> Result<(), String> {
        match ws.flush().now_or_never() {
            Some(Ok(())) => {
                self.since = None;
                Ok(())
            }
            Some(Err(e)) => Err(format!("send failed: {e}")),
            None => {
                let since = *self.since.get_or_insert_with(Instant::now);
                if since.elapsed() < limit {
                    return Ok(());
                }
                Err(format!(
                    "the server has not read what was sent to it for {} ms (dead peer)",
                    limit.as_millis()
                ))
            }
        }
    }
}

//! What a websocket source reads, turned into queued lines: text messages
//! split into lines, kill-switch acknowledgements picked out, duplicates
//! after a reconnect dropped, lines queued for the engine (dropped only
//! when the queue is full), and control messages awaiting their
//! acknowledgement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, warn};

use super::batching::{Counters, each_message_line, message_caps};
use super::dedup::Dedup;
use super::status::Reporter;
use super::ws_link::{ControlRequest, Ws, WsSource, send};
use super::ws_queue::IngestQueue;
use crate::record::Parser;
use crate::record::batch::ParsedLine;
use crate::record::lines::Line;

/// Control messages awaiting their acknowledgement, at most.
const MAX_PENDING_ACKS: usize = 64;

/// Reading state that outlives connections: counters, the duplicate
/// filter, the queue and pending acknowledgements.
pub(crate) struct Inbound {
    parser: Arc<Parser>,
    keep_raw: bool,
    max_line_bytes: usize,
    pub max_message_bytes: usize,
    dedup: Dedup,
    /// Connections made so far; the current one's number.
    pub generation: u64,
    /// Lines read (duplicates and acknowledgements are not) and unreadable
    /// messages.
    counters: Counters,
    /// Duplicates plus `dropped_overload`.
    dropped: u64,
    /// Lines dropped because the queue was full.
    dropped_overload: u64,
    /// Whether the last line read found the queue full (logged once).
    overloaded: bool,
    /// Whether a ping arrived since [`Inbound::take_ping`].
    pinged: bool,
    pub queue: IngestQueue,
    acks: HashMap<String, oneshot::Sender<Result<(), String>>>,
}

impl Inbound {
    pub fn new(source: &WsSource) -> Self {
        let o = &source.options;
        let ws = &o.settings.websocket;
        let (max_message_bytes, queue_bytes) =
            message_caps(ws.max_message_bytes, ws.queue_bytes, o.max_line_bytes);
        Inbound {
            parser: Arc::clone(&source.parser),
            keep_raw: o.keep_raw,
            max_line_bytes: o.max_line_bytes,
            max_message_bytes,
            dedup: Dedup::new(ws.dedup_ids),
            generation: 0,
            counters: Counters::default(),
            dropped: 0,
            dropped_overload: 0,
            overloaded: false,
            pinged: false,
            queue: IngestQueue::new(source.id, queue_bytes),
            acks: HashMap::new(),
        }
    }

    pub fn message(&mut self, message: Message) {
        match message {
            Message::Text(text) => self.text(text.as_bytes()),
            Message::Binary(data) => {
                debug!(bytes = data.len(), "binary message skipped");
                self.counters.errors += 1;
            }
            // The library queues the pong; whether it goes out is watched.
            Message::Ping(_) => self.pinged = true,
            // Close is followed by the end of the stream.
            Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }

    /// Lines taken from messages so far (a measure of work done, for
    /// bounding a burst).
    pub fn lines_taken(&self) -> u64 {
        self.counters.lines + self.dropped
    }

    /// Whether a ping arrived since the last call.
    pub fn take_ping(&mut self) -> bool {
        std::mem::take(&mut self.pinged)
    }

    /// An error reading the connection: counted when the server sent
    /// something unreadable. The connection cannot be read further.
    pub fn read_error(&mut self, e: WsError) -> String {
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
        let (max_message, max_line) = (self.max_message_bytes, self.max_line_bytes);
        if !each_message_line(bytes, max_message, max_line, |line| self.line(line)) {
            self.counters.errors += 1;
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
        // A full queue drops before parsing: the engine is behind, so
        // this task's time is better spent reading.
        if !self.queue.has_room() {
            self.overflow();
            return;
        }
        self.overloaded = false;
        // Parsed once: for the duplicate check and for the queue.
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
        self.queue
            .push(self.counters.lines, parsed, bytes, self.keep_raw);
    }

    fn overflow(&mut self) {
        if !self.overloaded {
            warn!(
                queued_bytes = self.queue.bytes(),
                "the engine is behind and the ingest queue is full: dropping lines"
            );
            self.overloaded = true;
        }
        self.counters.lines += 1;
        self.dropped += 1;
        self.dropped_overload += 1;
        self.queue.skip_line();
    }

    /// Counters into the status.
    pub fn sync(&self, reporter: &mut Reporter) {
        reporter.sync(&self.counters);
        reporter.status.dropped = self.dropped;
        reporter.status.dropped_overload = self.dropped_overload;
    }

    /// Sends a control message and registers its acknowledgement; an error
    /// means the connection is unusable.
    pub async fn control(
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

    pub fn fail_pending_acks(&mut self, reason: &str) {
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

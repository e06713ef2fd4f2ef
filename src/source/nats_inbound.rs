//! What a NATS source reads, turned into queued lines: each message's
//! payload split into JSON lines (as a websocket text message is), size
//! caps applied, and lines queued for the engine in a queue bounded in
//! bytes. A core subscription drops lines only when that queue is full; a
//! JetStream consumer never drops (the source stops fetching instead).

use std::sync::Arc;

use super::batching::{Counters, each_message_line, message_caps, parse_counting_errors};
use super::nats::NatsSource;
use super::status::Reporter;
use super::ws_queue::IngestQueue;
use crate::record::Parser;
use crate::record::lines::Line;

pub(crate) struct NatsInbound {
    parser: Arc<Parser>,
    keep_raw: bool,
    max_line_bytes: usize,
    max_message_bytes: usize,
    /// Lines read and unreadable messages.
    counters: Counters,
    /// Lines lost: to a full queue, or by the client for a slow consumer.
    dropped: u64,
    /// Whether the last line found the queue full (logged once).
    overloaded: bool,
    /// A JetStream consumer: the queue may go over its bound by one
    /// message rather than drop (fetching pauses while it is full).
    pub lossless: bool,
    pub queue: IngestQueue,
}

impl NatsInbound {
    pub fn new(source: &NatsSource) -> Self {
        let o = &source.options;
        let nats = &o.settings.nats;
        let (max_message_bytes, queue_bytes) =
            message_caps(nats.max_message_bytes, nats.queue_bytes, o.max_line_bytes);
        NatsInbound {
            parser: Arc::clone(&source.parser),
            keep_raw: o.keep_raw,
            max_line_bytes: o.max_line_bytes,
            max_message_bytes,
            counters: Counters::default(),
            dropped: 0,
            overloaded: false,
            lossless: false,
            queue: IngestQueue::new(source.id, queue_bytes),
        }
    }

    /// Whether the next message may be fetched (a JetStream consumer waits
    /// while the queue is full; a core subscription never waits).
    pub fn wants_more(&self) -> bool {
        !self.lossless || self.queue.has_room()
    }

    /// One message: one JSON line, or several separated by newlines.
    pub fn message(&mut self, payload: &[u8]) {
        let (max_message, max_line) = (self.max_message_bytes, self.max_line_bytes);
        if !each_message_line(payload, max_message, max_line, |line| self.line(line)) {
            self.counters.errors += 1;
        }
    }

    fn line(&mut self, line: Line<'_>) {
        self.counters.lines += 1;
        if !self.lossless && !self.queue.has_room() {
            if !self.overloaded {
                tracing::warn!(
                    queued_bytes = self.queue.bytes(),
                    "the engine is behind and the NATS ingest queue is full: dropping lines"
                );
                self.overloaded = true;
            }
            self.dropped += 1;
            self.queue.skip_line();
            return;
        }
        self.overloaded = false;
        let (parsed, bytes) = parse_counting_errors(&self.parser, line, &mut self.counters);
        self.queue
            .push(self.counters.lines, parsed, bytes, self.keep_raw);
    }

    /// The client dropped messages for this subscription (its own buffer
    /// was full): at least one was lost.
    pub fn slow_consumer(&mut self) {
        self.dropped += 1;
    }

    /// Lines and messages taken so far (bounds a burst).
    pub fn lines_taken(&self) -> u64 {
        self.counters.lines + self.counters.errors
    }

    /// Counters into the status.
    pub fn sync(&self, reporter: &mut Reporter) {
        reporter.sync(&self.counters);
        reporter.status.dropped = self.dropped;
        reporter.status.dropped_overload = self.dropped;
    }
}

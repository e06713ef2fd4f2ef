//! Sources of lines: files read to the end (`input`), files followed like
//! `tail -F` (`file`), stdin, websockets, NATS subjects (`nats`: a core
//! subscription, or a JetStream stream read by an ordered consumer) and the
//! built-in demo model.
//! Sources parse what they read (`record::batch`) and hand batches to the
//! live session over one bounded channel; they know nothing of statistics.
//!
//! # Live sources
//!
//! ```no_run
//! # async fn follow() -> Result<(), Box<dyn std::error::Error>> {
//! use modelwatch::record::Parser;
//! use modelwatch::source::{SourceEvent, SourceOptions, SourceSet, SourceSpec};
//!
//! let (tx, mut rx) = tokio::sync::mpsc::channel(64);
//! let specs = vec![SourceSpec::parse("/var/log/model/predictions.jsonl")];
//! let set = SourceSet::start(specs, SourceOptions::default(), Parser::default(), tx)?;
//! while let Some(event) = rx.recv().await {
//!     match event {
//!         SourceEvent::Batch { source, batch, .. } => println!("{source}: {} lines", batch.len()),
//!         SourceEvent::Status(status) => println!("{}: {:?}", status.name, status.state),
//!     }
//! }
//! set.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! * [`SourceSet::start`]`(specs, options, parser, tx) -> Result<SourceSet, SourceError>`
//!   spawns one tokio task per source (call it inside a tokio runtime).
//!   Every source parses its lines into [`ParsedBatch`]es of at most 4096
//!   lines, sent as soon as no more input is immediately available (a
//!   websocket's as soon as the channel has room, gathering lines
//!   meanwhile), and
//!   sends a [`SourceEvent::Status`] whenever its state changes and at most
//!   about once a second when only its counters changed.
//! * [`SourceSet::control`]`(id) -> Option<ControlHandle>` for websocket
//!   sources; [`ControlHandle::send_and_await_ack`]`(&self, message,
//!   request_id, timeout) -> Result<(), String>` sends a text message on the
//!   live connection and resolves on `{"type":"kill_switch_ack",
//!   "request_id":..}` with that id (the kill switch's websocket actuator).
//!   Ack messages are consumed by the source, never parsed as events.
//! * [`SourceSet::shutdown`]`(self)` (async) stops every source promptly;
//!   dropping the set aborts them too.
//! * [`SourceSet::names`] gives each source's display name (credentials
//!   removed), indexed by [`SourceId`].
//! * A followed file's batches carry where its reading stands after them
//!   ([`SourcePosition`], for checkpoints; an empty batch when it moved
//!   without a line); [`position::reopen`] finds a saved position's files
//!   again, handed to the file sources through [`SourceOptions::resume`].
//!
//! Backpressure: files and stdin wait for room in the channel (reading
//! pauses; `behind_bytes` tells how far behind a file is); websockets never
//! stop reading: lines wait in a queue bounded in bytes
//! (`[sources.websocket] queue_bytes`) and only a full queue drops them,
//! counted in `dropped` and `dropped_overload`.
//!
//! Only websockets drop duplicates (events whose id was seen on an earlier
//! connection, within the last `dedup_ids` ids); files and replay never drop
//! by id.
//!
//! Status counters: `lines` counts lines handed on (duplicates dropped and
//! kill-switch acks are not lines), `errors` lines or frames that could not
//! be read (too long, invalid UTF-8, oversized or binary messages),
//! `dropped` duplicates plus lines lost to a full queue, `reconnects`
//! connections re-established; `last_error` says why the source last
//! disconnected or failed.
//!
//! Helpers for the command line: [`settings::parse_header`] for `-H`,
//! [`settings::redact_url`] for showing URLs. `${VAR}` in headers and
//! subscription messages is expanded when a source starts; an unset
//! variable makes [`SourceSet::start`] fail. The `[sources]` section of the
//! config file is [`SourcesConfig`] (every key documented there).

mod batching;
mod dedup;
pub mod demo;
mod dir_watch;
mod file;
pub mod input;
mod nats;
mod nats_inbound;
pub mod nats_settings;
pub mod position;
pub mod serve;
mod set;
pub mod settings;
mod status;
mod stdin;
mod websocket;
mod ws_inbound;
mod ws_link;
mod ws_queue;
mod ws_setup;

pub use position::{Resumes, SourcePosition};
pub use set::SourceSet;
pub use settings::SourcesConfig;
pub use ws_link::ControlHandle;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::record::batch::ParsedBatch;

/// Index of a source in the order it was given.
pub type SourceId = usize;

/// Where lines come from, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A file followed by name, like `tail -F`.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A `ws://` or `wss://` URL.
    WebSocket(String),
    /// A `nats://` or `tls://` URL naming a subject.
    Nats(String),
    /// The built-in simulated model (`modelwatch demo`).
    Demo(demo::DemoSpec),
}

impl SourceSpec {
    /// The source as given on the command line (what `[[sources.source]]`
    /// entries are matched against); `None` for the demo.
    pub fn argument(&self) -> Option<String> {
        match self {
            SourceSpec::File(path) => Some(path.display().to_string()),
            SourceSpec::Stdin => Some("-".into()),
            SourceSpec::WebSocket(url) | SourceSpec::Nats(url) => Some(url.clone()),
            SourceSpec::Demo(_) => None,
        }
    }

    /// `-` is stdin, `ws://` and `wss://` are websockets, `nats://` and
    /// `tls://` NATS subjects, anything else is a file path.
    pub fn parse(arg: &str) -> SourceSpec {
        let lower = arg.to_ascii_lowercase();
        if arg == "-" {
            SourceSpec::Stdin
        } else if lower.starts_with("ws://") || lower.starts_with("wss://") {
            SourceSpec::WebSocket(arg.to_string())
        } else if crate::team::nats_url::is_nats_url(arg) {
            SourceSpec::Nats(arg.to_string())
        } else {
            SourceSpec::File(PathBuf::from(arg))
        }
    }
}

/// What a source sends to the live session.
#[derive(Debug)]
pub enum SourceEvent {
    /// Lines, parsed, in the order they were read.
    Batch {
        source: SourceId,
        batch: ParsedBatch,
        /// A followed file's position once these lines are taken (for
        /// checkpoints; `None` from other sources).
        position: Option<Box<SourcePosition>>,
    },
    /// The source's state or counters changed.
    Status(SourceStatus),
}

/// A source's state, as the status bar and `--no-tui` status lines show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum SourceState {
    Starting,
    /// A file being followed.
    Following,
    /// A websocket connected.
    Connected,
    /// Waiting for something to appear (a file not created yet).
    Waiting(String),
    /// Disconnected; the next attempt is at this wall-clock time (epoch ms).
    Reconnecting {
        at_ms: i64,
    },
    /// The input ended (stdin closed, `--limit` reached).
    Ended,
    /// Given up (authentication refused, ...): the reason.
    Failed(String),
}

/// A source's counters and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    pub id: SourceId,
    /// Display name (a path or URL, credentials removed).
    pub name: String,
    pub state: SourceState,
    /// Lines (or messages) read.
    pub lines: u64,
    /// Lines or frames that could not be read (too long, invalid UTF-8,
    /// invalid frames), also counted as malformed by the engine.
    pub errors: u64,
    /// Connections re-established after one was lost (websockets).
    pub reconnects: u64,
    /// Lines dropped because the engine could not keep up (websockets,
    /// once their queue is full), or duplicates dropped after a reconnect.
    pub dropped: u64,
    /// The part of `dropped` lost because the engine could not keep up
    /// (what the `ingest_overload` alert reports).
    pub dropped_overload: u64,
    /// Bytes written to the file but not read yet (files): how far behind.
    pub behind_bytes: u64,
    /// Wall-clock time of the last line (epoch ms).
    pub last_line_ms: Option<i64>,
    /// Why the source last disconnected or failed (never a credential);
    /// `None` while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl SourceStatus {
    pub fn new(id: SourceId, name: String) -> Self {
        SourceStatus {
            id,
            name,
            state: SourceState::Starting,
            lines: 0,
            errors: 0,
            reconnects: 0,
            dropped: 0,
            dropped_overload: 0,
            behind_bytes: 0,
            last_line_ms: None,
            last_error: None,
        }
    }
}

/// How live sources behave: the command line's flags and the config file's
/// `[sources]` section.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// Read followed files from their beginning instead of their end.
    pub from_start: bool,
    /// Read JetStream streams from this long before the source starts.
    pub since: Option<std::time::Duration>,
    /// Follow files by polling (every `settings.poll_interval_ms`) instead
    /// of inotify.
    pub poll: bool,
    /// Longer lines are skipped and counted in `errors`.
    pub max_line_bytes: usize,
    /// `-H` headers for every websocket source, parsed with
    /// [`settings::parse_header`]; `${VAR}` is expanded when a source starts.
    pub headers: Vec<(String, String)>,
    /// Extra CA certificates (PEM) trusted for `wss://` besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Whether batches keep each line's raw bytes (for the reviewer).
    pub keep_raw: bool,
    pub settings: SourcesConfig,
    /// Followed files found again at a checkpoint's positions.
    pub resume: Resumes,
    /// Whether file sources say where reading stands with each batch (for
    /// checkpoints; nothing else reads it).
    pub track_positions: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            from_start: false,
            since: None,
            poll: false,
            max_line_bytes: crate::record::lines::DEFAULT_MAX_LINE_BYTES,
            headers: Vec::new(),
            ca_file: None,
            keep_raw: false,
            settings: SourcesConfig::default(),
            resume: Resumes::default(),
            track_positions: false,
        }
    }
}

/// A source that cannot start: bad URL, header, missing environment
/// variable, unreadable CA file. One line, never a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The source's display name (or the CA file).
    pub source: String,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_arguments() {
        assert_eq!(SourceSpec::parse("-"), SourceSpec::Stdin);
        assert_eq!(
            SourceSpec::parse("WSS://h:1/x"),
            SourceSpec::WebSocket("WSS://h:1/x".into())
        );
        assert_eq!(
            SourceSpec::parse("nats://h:4222/preds.>"),
            SourceSpec::Nats("nats://h:4222/preds.>".into())
        );
        assert_eq!(
            SourceSpec::parse("./ws://odd"),
            SourceSpec::File(PathBuf::from("./ws://odd"))
        );
    }
}

//! Sources of lines: files read to the end (`input`), files followed like
//! `tail -F` (`file`), stdin, websockets and the built-in demo model.
//! Sources parse what they read (`record::batch`) and hand batches to the
//! live session over one bounded channel; they know nothing of statistics.

pub mod demo;
pub mod input;

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
}

impl SourceSpec {
    /// `-` is stdin, `ws://` and `wss://` are websockets, anything else is a
    /// file path.
    pub fn parse(arg: &str) -> SourceSpec {
        let lower = arg.to_ascii_lowercase();
        if arg == "-" {
            SourceSpec::Stdin
        } else if lower.starts_with("ws://") || lower.starts_with("wss://") {
            SourceSpec::WebSocket(arg.to_string())
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
    pub reconnects: u64,
    /// Messages dropped because the engine was behind (websockets), or
    /// duplicates dropped after a reconnect.
    pub dropped: u64,
    /// Bytes written to the file but not read yet (files): how far behind.
    pub behind_bytes: u64,
    /// Wall-clock time of the last line (epoch ms).
    pub last_line_ms: Option<i64>,
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
            behind_bytes: 0,
            last_line_ms: None,
        }
    }
}

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
            SourceSpec::parse("./ws://odd"),
            SourceSpec::File(PathBuf::from("./ws://odd"))
        );
    }
}

//! Filling batches, shared by the sources: the size bounds, line numbering
//! and what counts as an unreadable line.

use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use super::position::SourcePosition;
use super::{SourceEvent, SourceId};
use crate::record::Parser;
use crate::record::batch::{ParsedBatch, ParsedLine};
use crate::record::lines::{Line, LineReader};

/// Lines per batch.
pub(crate) const BATCH_LINES: usize = 4096;
/// Bytes per batch (with raw lines kept, 4096 long lines would be huge).
pub(crate) const BATCH_BYTES: usize = 4 << 20;

/// An empty batch for lines numbered from `first_line`.
pub(crate) fn new_batch(source: SourceId, first_line: u64) -> ParsedBatch {
    let mut batch = ParsedBatch::default();
    batch.source = source;
    batch.first_line = first_line;
    batch
}

pub(crate) fn is_full(batch: &ParsedBatch) -> bool {
    batch.len() >= BATCH_LINES || batch.bytes() >= BATCH_BYTES
}

/// Running counters of a source's lines.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub lines: u64,
    pub errors: u64,
}

/// Hands a batch (with where a file source stands after it) to the
/// consumer, waiting for room (that wait is the backpressure on a
/// reader); false when the source is to stop.
pub(crate) async fn send_batch(
    tx: &Sender<SourceEvent>,
    batch: ParsedBatch,
    position: Option<Box<SourcePosition>>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let event = SourceEvent::Batch {
        source: batch.source,
        batch,
        position,
    };
    tokio::select! {
        sent = tx.send(event) => sent.is_ok(),
        _ = shutdown.changed() => false,
    }
}

/// Counts and parses one line into the batch, counting unreadable ones
/// (too long, invalid UTF-8) in `errors`; they still reach the engine,
/// which counts them as malformed.
pub(crate) fn push_line(
    batch: &mut ParsedBatch,
    counters: &mut Counters,
    parser: &Parser,
    line: Line<'_>,
    keep_raw: bool,
) {
    counters.lines += 1;
    let (parsed, bytes) = parse_counting_errors(parser, line, counters);
    batch.push_parsed(parsed, bytes, keep_raw);
}

/// Parses one line, counting it in `errors` when it is unreadable (too
/// long, invalid UTF-8); its bytes as kept (none for a line too long).
pub(crate) fn parse_counting_errors<'a>(
    parser: &Parser,
    line: Line<'a>,
    counters: &mut Counters,
) -> (ParsedLine<'a>, &'a [u8]) {
    let parsed = ParsedLine::parse(parser, &line);
    let (bytes, unreadable) = match line {
        Line::TooLong { .. } => (&[][..], true),
        // Invalid UTF-8 never parses: only a malformed line needs the check.
        Line::Text(t) => (
            t,
            matches!(parsed, ParsedLine::Malformed(_)) && std::str::from_utf8(t).is_err(),
        ),
    };
    counters.errors += u64::from(unreadable);
    (parsed, bytes)
}

/// Passes each line of one message (a websocket text message, a NATS
/// payload: one JSON line or several) to `each`, the last one without its
/// newline too. A message over `max_message_bytes` is skipped whole:
/// false, for the caller to count.
pub(crate) fn each_message_line(
    bytes: &[u8],
    max_message_bytes: usize,
    max_line_bytes: usize,
    mut each: impl FnMut(Line<'_>),
) -> bool {
    if bytes.len() > max_message_bytes {
        tracing::debug!(
            bytes = bytes.len(),
            max = max_message_bytes,
            "message too large; skipped"
        );
        return false;
    }
    let mut reader = LineReader::new(bytes, max_line_bytes);
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => match reader.take_partial() {
                Some(line) => line,
                None => break,
            },
            Err(_) => break,
        };
        each(line);
    }
    true
}

/// A message source's caps in bytes: its longest message (`max_message`,
/// else the longest line) and its queue.
pub fn message_caps(
    max_message: Option<std::num::NonZeroU64>,
    queue: std::num::NonZeroU64,
    max_line_bytes: usize,
) -> (usize, usize) {
    let bytes = |n: std::num::NonZeroU64| usize::try_from(n.get()).unwrap_or(usize::MAX);
    (max_message.map_or(max_line_bytes, bytes), bytes(queue))
}

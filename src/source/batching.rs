//! Filling batches, shared by the sources: the size bounds, line numbering
//! and what counts as an unreadable line.

use super::SourceId;
use crate::record::Parser;
use crate::record::batch::ParsedBatch;
use crate::record::lines::Line;

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
#[derive(Default)]
pub(crate) struct Counters {
    pub lines: u64,
    pub errors: u64,
}

/// Parses one line into the batch, counting unreadable ones (too long,
/// invalid UTF-8) in `errors`; they still reach the engine, which counts
/// them as malformed.
pub(crate) fn push_line(
    batch: &mut ParsedBatch,
    counters: &mut Counters,
    parser: &Parser,
    line: Line<'_>,
    keep_raw: bool,
) {
    match line {
        Line::TooLong { .. } => counters.errors += 1,
        Line::Text(t) if std::str::from_utf8(t).is_err() => counters.errors += 1,
        Line::Text(_) => {}
    }
    batch.push(parser, line, keep_raw);
}

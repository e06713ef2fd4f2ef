//! A websocket source's ingest queue: parsed lines wait here, bounded in
//! bytes, until the live session has room for them. The reader never
//! waits for the engine (a model server must not be pushed back on), so a
//! burst, or a moment the engine is busy, costs memory instead of lines;
//! only a full queue drops.
//!
//! Lines gather into batches while the channel is busy: the busier the
//! engine, the fewer and larger the hand-overs, up to [`SEAL_LINES`].

use std::collections::VecDeque;

use tokio::sync::mpsc::Permit;

use super::batching::{is_full, new_batch};
use super::{SourceEvent, SourceId};
use crate::record::batch::{ParsedBatch, ParsedLine};

/// Lines per batch at most. Smaller than other sources' batches: what is
/// in flight to the engine (a channel of batches) then holds little beside
/// the queue, which is what bounds memory here.
pub(crate) const SEAL_LINES: usize = 1024;

pub(crate) struct IngestQueue {
    source: SourceId,
    max_bytes: usize,
    /// Full batches (or ones cut short by a dropped line), oldest first.
    sealed: VecDeque<ParsedBatch>,
    sealed_bytes: usize,
    /// Where the next line goes.
    filling: ParsedBatch,
}

impl IngestQueue {
    pub fn new(source: SourceId, max_bytes: usize) -> Self {
        IngestQueue {
            source,
            max_bytes,
            sealed: VecDeque::new(),
            sealed_bytes: 0,
            filling: new_batch(source, 1),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.sealed_bytes + self.filling.bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.filling.is_empty()
    }

    /// Whether another line may be queued.
    pub fn has_room(&self) -> bool {
        self.bytes() < self.max_bytes
    }

    /// Queues line number `line` (numbers count every line read, dropped
    /// ones included).
    pub fn push(&mut self, line: u64, parsed: ParsedLine<'_>, bytes: &[u8], keep_raw: bool) {
        if self.filling.is_empty() {
            self.filling.first_line = line;
        }
        self.filling.push_parsed(parsed, bytes, keep_raw);
        if self.filling.len() >= SEAL_LINES || is_full(&self.filling) {
            self.seal();
        }
    }

    /// A line was dropped: the batch being filled ends before it, so that
    /// line numbers within a batch stay consecutive.
    pub fn skip_line(&mut self) {
        self.seal();
    }

    fn seal(&mut self) {
        if !self.filling.is_empty() {
            let batch = std::mem::replace(&mut self.filling, new_batch(self.source, 1));
            self.sealed_bytes += batch.bytes();
            self.sealed.push_back(batch);
        }
    }

    /// The oldest batch, taken out of the queue.
    fn take(&mut self) -> Option<ParsedBatch> {
        match self.sealed.pop_front() {
            Some(batch) => {
                self.sealed_bytes -= batch.bytes();
                Some(batch)
            }
            None if !self.filling.is_empty() => Some(std::mem::replace(
                &mut self.filling,
                new_batch(self.source, 1),
            )),
            None => None,
        }
    }

    /// Hands the oldest batch over through a reserved place in the channel.
    pub fn send(&mut self, permit: Permit<'_, SourceEvent>) {
        if let Some(batch) = self.take() {
            permit.send(SourceEvent::Batch {
                source: self.source,
                batch,
                position: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Parser;
    use crate::record::lines::Line;

    fn push(q: &mut IngestQueue, parser: &Parser, n: u64) {
        let text = format!(r#"{{"id":"{n}","prediction":"a","confidence":0.5}}"#);
        let line = Line::Text(text.as_bytes());
        q.push(n, ParsedLine::parse(parser, &line), text.as_bytes(), false);
    }

    fn received(rx: &mut tokio::sync::mpsc::Receiver<SourceEvent>) -> (u64, usize) {
        match rx.try_recv() {
            Ok(SourceEvent::Batch { batch, .. }) => (batch.first_line, batch.len()),
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn lines_gather_until_taken_and_the_bound_is_in_bytes() {
        let parser = Parser::default();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let mut q = IngestQueue::new(3, 4096);
        assert!(q.is_empty() && q.has_room());
        for n in 1..=3 {
            push(&mut q, &parser, n);
        }
        q.send(tx.try_reserve().unwrap());
        assert_eq!(received(&mut rx), (1, 3), "one hand-over for three lines");
        assert!(q.is_empty() && q.bytes() == 0);

        let mut n = 4;
        while q.has_room() {
            push(&mut q, &parser, n);
            n += 1;
        }
        assert!(q.bytes() >= 4096);
        // Line n is dropped: the next batch starts after it.
        q.skip_line();
        let after_gap = n + 1;
        q.send(tx.try_reserve().unwrap());
        assert_eq!(received(&mut rx), (4, (n - 4) as usize));
        push(&mut q, &parser, after_gap);
        q.send(tx.try_reserve().unwrap());
        assert_eq!(received(&mut rx), (after_gap, 1));
        assert!(q.is_empty() && q.bytes() == 0);
    }

    #[test]
    fn full_batches_are_sealed_and_go_oldest_first() {
        let parser = Parser::default();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let mut q = IngestQueue::new(0, usize::MAX);
        let lines = SEAL_LINES as u64;
        for n in 1..=lines + 5 {
            push(&mut q, &parser, n);
        }
        q.send(tx.try_reserve().unwrap());
        q.send(tx.try_reserve().unwrap());
        assert_eq!(received(&mut rx), (1, lines as usize));
        assert_eq!(received(&mut rx), (lines + 1, 5));
        q.send(tx.try_reserve().unwrap());
        assert!(rx.try_recv().is_err(), "nothing left to send");
    }
}

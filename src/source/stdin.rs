//! Standard input (`-`): lines until end of input, then `Ended`.
//!
//! Reading stdin blocks and cannot be cancelled, so it runs on a thread of
//! its own (a blocked read must not hold up the runtime's shutdown); the
//! thread parses each chunk it reads into a batch, and the source's task
//! forwards batches and status. A batch is sent after every read, since the
//! next read may block: a slow writer's lines arrive at once.

use std::io::{self, BufRead, Read};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::warn;

use super::batching::{Counters, is_full, new_batch, push_line, send_batch};
use super::status::{Reporter, sleep_until_opt};
use super::{SourceEvent, SourceId, SourceOptions, SourceState};
use crate::record::Parser;
use crate::record::batch::ParsedBatch;
use crate::record::lines::LineReader;

const READ_CHUNK: usize = 256 * 1024;

/// What the reading thread hands the task.
enum Chunk {
    Batch {
        batch: ParsedBatch,
        counters: Counters,
    },
    /// End of input, or the read error that ended it.
    End(Option<String>),
}

/// Bytes read and not yet split into lines: the `BufRead` a
/// [`LineReader`] splits, whose end is "nothing more read yet".
#[derive(Default)]
pub(crate) struct Chunks {
    data: Vec<u8>,
    pos: usize,
}

impl Chunks {
    /// Adds bytes; call when the reader returned `None` (all consumed).
    pub fn append(&mut self, bytes: &[u8]) {
        self.data.drain(..self.pos);
        self.pos = 0;
        self.data.extend_from_slice(bytes);
    }
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.data[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.data.len());
    }
}

/// Reads standard input until its end.
pub(crate) async fn run(
    id: SourceId,
    options: Arc<SourceOptions>,
    parser: Arc<Parser>,
    tx: mpsc::Sender<SourceEvent>,
    shutdown: watch::Receiver<bool>,
) {
    run_reader(
        id,
        "stdin".into(),
        io::stdin(),
        options,
        parser,
        tx,
        shutdown,
    )
    .await;
}

/// [`run`] on any blocking reader.
pub(crate) async fn run_reader(
    id: SourceId,
    name: String,
    input: impl Read + Send + 'static,
    options: Arc<SourceOptions>,
    parser: Arc<Parser>,
    tx: mpsc::Sender<SourceEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reporter = Reporter::new(id, name, tx.clone());
    let (chunk_tx, mut chunks) = mpsc::channel(2);
    let (max, keep_raw) = (options.max_line_bytes, options.keep_raw);
    let spawned = std::thread::Builder::new()
        .name("modelwatch-stdin".into())
        .spawn(move || {
            let end = read_chunks(input, id, &parser, keep_raw, max, &chunk_tx);
            let _ = chunk_tx.blocking_send(Chunk::End(end.err().map(|e| e.to_string())));
        });
    if let Err(e) = spawned {
        warn!(error = %e, "cannot start the stdin reader");
        reporter.set_state(SourceState::Failed(format!("cannot start a thread: {e}")));
        let _ = reporter.force().await;
        return;
    }
    reporter.set_state(SourceState::Following);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            chunk = chunks.recv() => match chunk {
                Some(Chunk::Batch { batch, counters }) => {
                    reporter.sync(&counters);
                    if !send_batch(&tx, batch, None, &mut shutdown).await {
                        return;
                    }
                }
                end => {
                    let error = match end {
                        Some(Chunk::End(error)) => error,
                        _ => Some("the reader stopped".to_string()),
                    };
                    let state = match error {
                        None => SourceState::Ended,
                        Some(e) => {
                            warn!(error = %e, "cannot read stdin");
                            SourceState::Failed(format!("read error: {e}"))
                        }
                    };
                    reporter.set_state(state);
                    let _ = reporter.force().await;
                    return;
                }
            },
            _ = sleep_until_opt(reporter.next_due()) => {}
        }
        if reporter.flush().await.is_err() {
            return;
        }
    }
}

/// The thread's side: read, split, parse, send. Returns when the input
/// ends or the task is gone.
fn read_chunks(
    mut input: impl Read,
    id: SourceId,
    parser: &Parser,
    keep_raw: bool,
    max_line_bytes: usize,
    out: &mpsc::Sender<Chunk>,
) -> io::Result<()> {
    let mut lines = LineReader::new(Chunks::default(), max_line_bytes);
    let mut counters = Counters::default();
    let mut buf = vec![0u8; READ_CHUNK];
    let new_batch = |first_line| new_batch(id, first_line);
    let send = |batch, counters: &Counters| {
        out.blocking_send(Chunk::Batch {
            batch,
            counters: *counters,
        })
        .is_ok()
    };
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines.get_mut().append(&buf[..n]);
        let mut batch = new_batch(counters.lines + 1);
        while let Some(line) = lines.next_line()? {
            push_line(&mut batch, &mut counters, parser, line, keep_raw);
            if is_full(&batch) {
                let full = std::mem::replace(&mut batch, new_batch(counters.lines + 1));
                if !send(full, &counters) {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() && !send(batch, &counters) {
            return Ok(());
        }
    }
    // The input really ended: an unfinished last line counts.
    let mut batch = new_batch(counters.lines + 1);
    if let Some(line) = lines.take_partial() {
        push_line(&mut batch, &mut counters, parser, line, keep_raw);
    }
    if !batch.is_empty() {
        send(batch, &counters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::ParsedLine;

    /// Hands out its input a few bytes per read, like a slow pipe.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[tokio::test]
    async fn reads_to_the_end_then_ends() {
        let mut input = Vec::new();
        for i in 0..50 {
            input.extend_from_slice(
                format!("{{\"id\":\"{i}\",\"prediction\":\"a\",\"confidence\":0.5}}\n").as_bytes(),
            );
        }
        input.extend_from_slice(&[b'x'; 300]);
        input.extend_from_slice(
            b"\n\xff\xfe\n{\"id\":\"last\",\"prediction\":\"a\",\"confidence\":0.5}",
        );
        let options = Arc::new(SourceOptions {
            max_line_bytes: 200,
            ..SourceOptions::default()
        });
        let (tx, mut rx) = mpsc::channel(4);
        let (_stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(run_reader(
            3,
            "t".into(),
            Trickle(input, 0),
            options,
            Arc::new(Parser::default()),
            tx,
            shutdown,
        ));
        let mut ids = Vec::new();
        let mut last = None;
        let limit = std::time::Duration::from_secs(10);
        while let Some(event) = tokio::time::timeout(limit, rx.recv()).await.unwrap() {
            match event {
                SourceEvent::Batch { source, batch, .. } => {
                    assert_eq!(source, 3);
                    for (_, parsed, _) in batch.iter() {
                        if let ParsedLine::Event(crate::record::Event::Prediction(p)) = parsed {
                            ids.push(p.id.unwrap_or_default().into_owned());
                        }
                    }
                }
                SourceEvent::Status(s) => last = Some(s),
            }
        }
        task.await.unwrap();
        let last = last.unwrap();
        assert_eq!(last.state, SourceState::Ended);
        assert_eq!((last.lines, last.errors), (53, 2));
        assert_eq!(ids.len(), 51);
        assert_eq!(ids.last().map(String::as_str), Some("last"));
    }
}

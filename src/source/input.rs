//! Opening input files for reading to the end: plain or gzip (detected by
//! its magic bytes, whatever the file is called), or `-` for stdin.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

/// Buffer size for reading input (large reads make replay fast).
pub const READ_BUFFER: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` (or stdin for `-`), decompressing gzip transparently.
pub fn open_input(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, raw);
    if reader.fill_buf()?.starts_with(&GZIP_MAGIC) {
        let decoder = MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, decoder)))
    } else {
        Ok(Box::new(reader))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn reads_plain_and_gzip_alike() {
        let dir = std::env::temp_dir().join(format!("mw-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("a.jsonl");
        std::fs::write(&plain, b"one\ntwo\n").unwrap();
        let gz = dir.join("b.data");
        let mut enc = GzEncoder::new(File::create(&gz).unwrap(), Compression::fast());
        enc.write_all(b"one\ntwo\n").unwrap();
        enc.finish().unwrap();
        for p in [&plain, &gz] {
            let mut s = String::new();
            open_input(p).unwrap().read_to_string(&mut s).unwrap();
            assert_eq!(s, "one\ntwo\n");
        }
        assert!(open_input(&dir).is_err());
        assert!(open_input(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A file that could not be opened or read to its end.
#[derive(Debug)]
pub struct InputError {
    pub path: std::path::PathBuf,
    /// Lines read before the error.
    pub line: u64,
    pub error: io::Error,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.error)
        } else {
            write!(
                f,
                "{}:{}: {}",
                self.path.display(),
                self.line + 1,
                self.error
            )
        }
    }
}

/// Batches in flight: bounds memory whatever the input's size.
const BATCHES_IN_FLIGHT: usize = 4;

/// Reads each file to its end, in order, into the engine. A final line
/// without a newline counts as a line.
///
/// Reading and parsing run on a second thread, a few bounded batches ahead
/// of the engine (`record::batch`); the engine sees the lines in order.
pub fn feed_files(
    engine: &mut crate::engine::Engine,
    parser: &crate::record::Parser,
    files: &[std::path::PathBuf],
    max_line_bytes: usize,
) -> Result<(), InputError> {
    use crate::record::batch::ParsedBatch;
    use crate::record::time::now_ms;
    use std::sync::mpsc;

    let keep_raw = engine.settings().review.keep_input;
    let (full_tx, full_rx) =
        mpsc::sync_channel::<Result<ParsedBatch, InputError>>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<ParsedBatch>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let result = parse_files(files, max_line_bytes, parser, keep_raw, &full_tx, &empty_rx);
            if let Err(e) = result {
                let _ = full_tx.send(Err(e));
            }
        });
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        for message in full_rx {
            let batch = message?;
            engine.ingest_batch(&batch, &names[batch.source], now_ms());
            // The reader may have finished; then the batch is just dropped.
            let _ = empty_tx.send(batch);
        }
        Ok(())
    })
}

/// The parsing side of [`feed_files`].
fn parse_files(
    files: &[std::path::PathBuf],
    max_line_bytes: usize,
    parser: &crate::record::Parser,
    keep_raw: bool,
    full: &std::sync::mpsc::SyncSender<Result<crate::record::batch::ParsedBatch, InputError>>,
    empty: &std::sync::mpsc::Receiver<crate::record::batch::ParsedBatch>,
) -> Result<(), InputError> {
    use crate::record::lines::LineReader;

    let next_batch = |source: usize, first_line: u64| {
        let mut b = empty.try_recv().unwrap_or_default();
        b.clear();
        b.source = source;
        b.first_line = first_line;
        b
    };
    for (source, path) in files.iter().enumerate() {
        let fail = |line, error| InputError {
            path: path.clone(),
            line,
            error,
        };
        let reader = open_input(path).map_err(|e| fail(0, e))?;
        let mut lines = LineReader::new(reader, max_line_bytes);
        let mut batch = next_batch(source, 1);
        loop {
            let n = lines.lines();
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => match lines.take_partial() {
                    Some(line) => line,
                    None => break,
                },
                Err(e) => return Err(fail(n, e)),
            };
            batch.push(parser, line, keep_raw);
            if super::batching::is_full(&batch) {
                let first = batch.first_line + batch.len() as u64;
                let done = std::mem::replace(&mut batch, next_batch(source, first));
                if full.send(Ok(done)).is_err() {
                    return Ok(()); // the engine side stopped
                }
            }
        }
        if !batch.is_empty() && full.send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

impl std::error::Error for InputError {}

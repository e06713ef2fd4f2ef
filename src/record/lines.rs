//! Splitting a byte stream into lines with a bound on line length.
//!
//! A line longer than the bound is skipped without ever being held in memory
//! whole: the reader keeps at most `max_line_bytes` of it and reports
//! [`Line::TooLong`]. A trailing line without its newline is kept back, since
//! a followed file may still complete it; [`LineReader::take_partial`] hands
//! it over when the input has really ended.

use std::io::{self, BufRead};

/// Default bound on one line (1 MiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// One line, without its `\n`, `\r\n` or a leading UTF-8 byte order mark.
    Text(&'a [u8]),
    /// A line longer than the bound; `bytes` is its full length.
    TooLong { bytes: usize },
}

pub struct LineReader<R> {
    inner: R,
    max_line_bytes: usize,
    /// Bytes of the line being assembled when it spans reads.
    buf: Vec<u8>,
    /// Length of the line being assembled (may exceed `buf` when too long).
    len: usize,
    /// Bytes of `inner`'s buffer handed out as the last line, consumed on
    /// the next call.
    pending_consume: usize,
    lines: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        LineReader {
            inner,
            max_line_bytes: max_line_bytes.max(1),
            buf: Vec::new(),
            len: 0,
            pending_consume: 0,
            lines: 0,
        }
    }

    /// Complete lines returned so far (including too-long ones).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes of the last line handed out that `inner` has not been told
    /// were consumed yet (they are on the next call).
    pub fn handed_out_unconsumed(&self) -> usize {
        self.pending_consume
    }

    /// Bytes of an unfinished last line held back.
    pub fn partial_len(&self) -> usize {
        self.len
    }

    /// The next complete line, or `None` at the current end of input (an
    /// unfinished last line stays buffered).
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.pending_consume > 0 {
            self.inner.consume(self.pending_consume);
            self.pending_consume = 0;
        }
        // Fast path: a whole line sits in the reader's buffer.
        if self.len == 0 {
            let max = self.max_line_bytes;
            let found = memchr::memchr(b'\n', self.inner.fill_buf()?).filter(|&i| i <= max);
            if let Some(i) = found {
                self.pending_consume = i + 1;
                self.lines += 1;
                // A non-empty buffer is returned again without reading.
                let available = self.inner.fill_buf()?;
                return Ok(Some(Line::Text(clean(&available[..i]))));
            }
        }
        if self.len == 0 {
            self.buf.clear();
        }
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                return Ok(None);
            }
            let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            let room = self.max_line_bytes.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.len += chunk.len();
            let used = chunk.len() + usize::from(found_newline);
            self.inner.consume(used);
            if found_newline {
                self.lines += 1;
                return Ok(Some(self.finish_line()));
            }
        }
    }

    /// Hands over an unfinished last line as if it had its newline (for input
    /// that has really ended, such as a file being replayed).
    pub fn take_partial(&mut self) -> Option<Line<'_>> {
        if self.len == 0 {
            return None;
        }
        self.lines += 1;
        Some(self.finish_line())
    }

    /// Drops an unfinished last line (its file was truncated or replaced);
    /// returns how many bytes were dropped.
    pub fn discard_partial(&mut self) -> usize {
        let dropped = self.len;
        self.buf.clear();
        self.len = 0;
        dropped
    }

    fn finish_line(&mut self) -> Line<'_> {
        let len = std::mem::take(&mut self.len);
        if len > self.max_line_bytes {
            Line::TooLong { bytes: len }
        } else {
            Line::Text(clean(&self.buf))
        }
    }
}

/// Strips a trailing `\r` and a leading byte order mark.
fn clean(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix(BOM).unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn collect(input: &[u8], cap: usize, max: usize) -> Vec<String> {
        let mut r = LineReader::new(BufReader::with_capacity(cap, input), max);
        let mut out = Vec::new();
        while let Some(line) = r.next_line().unwrap() {
            out.push(describe(line));
        }
        if let Some(line) = r.take_partial() {
            out.push(format!("partial {}", describe(line)));
        }
        out
    }

    fn describe(line: Line<'_>) -> String {
        match line {
            Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
            Line::TooLong { bytes } => format!("too long {bytes}"),
        }
    }

    #[test]
    fn splits_strips_and_bounds() {
        let input = b"\xEF\xBB\xBFa\r\nbb\n\ncccccccccc\ndd\nlast";
        for cap in [1, 2, 3, 7, 64] {
            assert_eq!(
                collect(input, cap, 5),
                ["a", "bb", "", "too long 10", "dd", "partial last"],
                "capacity {cap}"
            );
        }
    }

    #[test]
    fn partial_line_is_completed_by_later_writes() {
        let mut data = std::io::Cursor::new(b"{\"x\":".to_vec());
        let mut r = LineReader::new(BufReader::new(&mut data), 100);
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.partial_len(), 5);
        let inner = r.get_mut().get_mut();
        let pos = inner.position();
        inner.get_mut().extend_from_slice(b"1}\n");
        inner.set_position(pos);
        assert_eq!(r.next_line().unwrap(), Some(Line::Text(b"{\"x\":1}")));
        assert_eq!(r.lines(), 1);
    }
}

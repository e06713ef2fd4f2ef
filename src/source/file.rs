//! Following a file by name, like `tail -F`.
//!
//! The file is checked whenever inotify (through `notify`) reports a change
//! in its directory, or every poll interval with `--poll` (or when no
//! watcher can be had). Each check stats the name and then reads:
//!
//! * a different file under the name (rename rotation, delete and
//!   recreate): the old one is kept open for a grace period, so late writes
//!   to it are still read, then closed; the new one is read from its start;
//! * the same file, shorter than what was read (copytruncate): read again
//!   from its start;
//! * no file (or no directory) yet: state `Waiting`, the nearest existing
//!   ancestor directory is watched until the file appears.
//!
//! Reading and parsing are blocking work, done on tokio's blocking pool one
//! batch at a time; the task itself only waits (for the watcher,
//! `dir_watch`, a timer, or room in the channel), so idle following costs
//! nothing. Each batch carries where reading stands after it (`position`);
//! started from a checkpoint, the follower goes on in the files it found
//! again, at their offsets, a file rotated away among the rotated ones.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};
use tracing::{debug, info, warn};

use super::batching::{Counters, is_full, new_batch, push_line, send_batch};
use super::dir_watch::{DirWatcher, WatchWant};
use super::position::{FileId, Reopened, ReopenedFile, SourcePosition, file_id};
use super::status::{Reporter, sleep_until_opt};
use super::{SourceEvent, SourceId, SourceOptions, SourceState};
use crate::record::Parser;
use crate::record::batch::ParsedBatch;
use crate::record::lines::LineReader;

/// Rotated files kept open at once; older ones are read to their end and
/// closed early, so descriptors stay bounded however fast logs rotate.
const MAX_ROTATED: usize = 4;
const READ_BUFFER: usize = 64 * 1024;
/// How far back from the end a partial last line is looked for when
/// starting at the end.
const BACKTRACK: u64 = 64 * 1024;

/// Counts the bytes read, so the read position costs no system call. The
/// file is shared with the positions batches carry (for checkpoints).
struct Counting {
    file: Arc<File>,
    pos: u64,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.file).read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = (&*self.file).seek(to)?;
        Ok(self.pos)
    }
}

struct OpenFile {
    reader: LineReader<BufReader<Counting>>,
    id: FileId,
    /// The last read reached the end (nothing handed out but unconsumed).
    at_eof: bool,
}

impl OpenFile {
    fn open(path: &Path, start_at_end: bool, max_line_bytes: usize) -> io::Result<OpenFile> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let pos = if start_at_end {
            start_of_last_line(&mut file, meta.len())?
        } else {
            0
        };
        Self::at(file, file_id(&meta), pos, max_line_bytes)
    }

    /// A file found again at a checkpoint's position.
    fn resume(found: ReopenedFile, max_line_bytes: usize) -> io::Result<OpenFile> {
        Self::at(found.file, found.id, found.offset, max_line_bytes)
    }

    fn at(mut file: File, id: FileId, pos: u64, max_line_bytes: usize) -> io::Result<OpenFile> {
        file.seek(SeekFrom::Start(pos))?;
        let counting = Counting {
            file: Arc::new(file),
            pos,
        };
        Ok(OpenFile {
            reader: LineReader::new(
                BufReader::with_capacity(READ_BUFFER, counting),
                max_line_bytes,
            ),
            id,
            at_eof: false,
        })
    }

    /// Bytes consumed from the file (a held-back partial line included).
    fn position(&self) -> u64 {
        let buffered = self.reader.get_ref();
        buffered.get_ref().pos - buffered.buffer().len() as u64
    }

    /// Where the next line starts: every line before it was handed out.
    fn next_line_at(&self) -> u64 {
        self.position() + self.reader.handed_out_unconsumed() as u64
            - self.reader.partial_len() as u64
    }
}

/// Where to start reading at the end: after the last newline, so a line
/// being written when following starts is read whole once completed.
fn start_of_last_line(file: &mut File, len: u64) -> io::Result<u64> {
    let back = len.min(BACKTRACK);
    if back == 0 {
        return Ok(len);
    }
    file.seek(SeekFrom::Start(len - back))?;
    let mut tail = vec![0; back as usize];
    file.read_exact(&mut tail)?;
    Ok(match memchr::memrchr(b'\n', &tail) {
        Some(i) => len - back + i as u64 + 1,
        None if back == len => 0,
        None => len,
    })
}

/// Reads complete lines of `open` into `batch` until its end or the batch
/// is full; returns whether the batch is full.
fn fill(
    open: &mut OpenFile,
    counters: &mut Counters,
    batch: &mut ParsedBatch,
    parser: &Parser,
    keep_raw: bool,
) -> io::Result<bool> {
    loop {
        if is_full(batch) {
            open.at_eof = false;
            return Ok(true);
        }
        match open.reader.next_line()? {
            Some(line) => {
                push_line(batch, counters, parser, line, keep_raw);
            }
            None => {
                open.at_eof = true;
                return Ok(false);
            }
        }
    }
}

/// The blocking half: what is open and how far it was read.
struct Follower {
    id: SourceId,
    /// Absolute path followed.
    path: PathBuf,
    max_line_bytes: usize,
    from_start: bool,
    grace: Duration,
    current: Option<OpenFile>,
    /// Files rotated away, oldest first, with the time they are closed.
    rotated: VecDeque<(OpenFile, Instant)>,
    /// Whether the name was checked once (only the file found then is
    /// read from its end).
    looked: bool,
    counters: Counters,
    state: SourceState,
    last_error: Option<String>,
    behind: u64,
}

/// What one step produced.
struct Step {
    batch: ParsedBatch,
    /// The batch filled up: more is available at once.
    more: bool,
    /// Directories to watch and the paths whose changes matter.
    watch: WatchWant,
}

impl Follower {
    fn step(&mut self, parser: &Parser, keep_raw: bool) -> Step {
        let mut batch = new_batch(self.id, self.counters.lines + 1);
        let now = Instant::now();
        self.check_name(now);
        let more = self.read_all(&mut batch, parser, keep_raw, now);
        self.looked = true;
        Step {
            batch,
            more,
            watch: self.watch_want(),
        }
    }

    /// Stats the name and reacts to replacement, truncation or absence.
    fn check_name(&mut self, now: Instant) {
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.is_file() => {
                let id = file_id(&meta);
                if let Some(open) = self.current.as_mut().filter(|o| o.id == id) {
                    // Only trusted at the end: mid-read, the position may
                    // be ahead of the data just handed out.
                    if open.at_eof && meta.len() < open.position() {
                        self.truncated();
                    }
                    return;
                }
                if let Some(old) = self.current.take() {
                    info!(path = %self.path.display(), "file replaced (rotated); reading the new one");
                    self.retire(old, now);
                }
                let at_end = !self.looked && !self.from_start;
                match OpenFile::open(&self.path, at_end, self.max_line_bytes) {
                    Ok(open) => {
                        self.current = Some(open);
                        self.state = SourceState::Following;
                        self.last_error = None;
                    }
                    Err(e) => self.wait(format!("cannot open: {e}")),
                }
            }
            Ok(_) => {
                self.retire_current(now);
                self.wait("not a regular file".into());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.retire_current(now);
                self.wait("no such file yet".into());
            }
            Err(e) => {
                self.retire_current(now);
                self.wait(format!("cannot read: {e}"));
            }
        }
    }

    fn wait(&mut self, reason: String) {
        if self.state != SourceState::Waiting(reason.clone()) {
            debug!(path = %self.path.display(), %reason, "waiting for the file");
        }
        self.state = SourceState::Waiting(reason);
    }

    fn truncated(&mut self) {
        let Some(open) = self.current.as_mut() else {
            return;
        };
        info!(path = %self.path.display(), "file truncated; reading from its start");
        if open.reader.discard_partial() > 0 {
            // An unfinished line whose end was cut away.
            self.counters.errors += 1;
        }
        match open.reader.get_mut().seek(SeekFrom::Start(0)) {
            Ok(_) => open.at_eof = false,
            Err(e) => {
                warn!(path = %self.path.display(), error = %e, "cannot seek after truncation");
                self.current = None;
            }
        }
    }

    fn retire_current(&mut self, now: Instant) {
        if let Some(old) = self.current.take() {
            info!(path = %self.path.display(), "file gone (rotated or deleted); waiting for a new one");
            self.retire(old, now);
        }
    }

    fn retire(&mut self, old: OpenFile, now: Instant) {
        if self.rotated.len() >= MAX_ROTATED
            && let Some(oldest) = self.rotated.front_mut()
        {
            oldest.1 = now;
        }
        self.rotated.push_back((old, now + self.grace));
    }

    /// Reads rotated files (oldest first, closing expired ones), then the
    /// current one; returns whether the batch filled up.
    fn read_all(
        &mut self,
        batch: &mut ParsedBatch,
        parser: &Parser,
        keep_raw: bool,
        now: Instant,
    ) -> bool {
        let mut i = 0;
        while i < self.rotated.len() {
            let (open, deadline) = &mut self.rotated[i];
            match fill(open, &mut self.counters, batch, parser, keep_raw) {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    warn!(path = %self.path.display(), error = %e, "cannot read a rotated file; closing it");
                    *deadline = now;
                }
            }
            if *deadline <= now {
                if let Some((mut open, _)) = self.rotated.remove(i) {
                    if let Some(line) = open.reader.take_partial() {
                        push_line(batch, &mut self.counters, parser, line, keep_raw);
                    }
                    debug!(path = %self.path.display(), "rotated file closed");
                }
            } else {
                i += 1;
            }
        }
        let Some(open) = self.current.as_mut() else {
            self.behind = 0;
            return false;
        };
        let full = match fill(open, &mut self.counters, batch, parser, keep_raw) {
            Ok(full) => full,
            Err(e) => {
                // Transient (EIO on a network mount, ...): tried again on
                // the next change.
                warn!(path = %self.path.display(), error = %e, "read error");
                self.last_error = Some(format!("read error: {e}"));
                false
            }
        };
        let len = open
            .reader
            .get_ref()
            .get_ref()
            .file
            .metadata()
            .map_or(0, |m| m.len());
        self.behind = len.saturating_sub(open.position());
        full
    }

    /// Where reading stands once the last batch is taken: each open file's
    /// offset before which every line was handed out.
    fn position(&self) -> SourcePosition {
        let mut at =
            SourcePosition::new(self.path.clone(), self.counters.lines, self.counters.errors);
        let rotated = self.rotated.iter().map(|(open, _)| (open, false));
        for (open, current) in rotated.chain(self.current.iter().map(|o| (o, true))) {
            let file = Arc::clone(&open.reader.get_ref().get_ref().file);
            at.push(file, open.id, open.next_line_at(), current);
        }
        at
    }

    /// Starts from the files a checkpoint's position found again.
    fn resume(&mut self, found: Reopened, now: Instant) {
        let open = |f| match OpenFile::resume(f, self.max_line_bytes) {
            Ok(open) => Some(open),
            Err(e) => {
                warn!(path = %self.path.display(), error = %e, "cannot resume a file at its checkpoint");
                None
            }
        };
        self.current = found.current.and_then(open);
        if self.current.is_some() {
            self.state = SourceState::Following;
        }
        let rotated: Vec<OpenFile> = found.rotated.into_iter().filter_map(open).collect();
        for file in rotated {
            self.retire(file, now);
        }
        self.looked = found.continues;
        self.counters = Counters {
            lines: found.lines,
            errors: found.errors,
        };
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.rotated.iter().map(|(_, d)| *d).min()
    }

    fn watch_want(&self) -> WatchWant {
        let mut want = WatchWant {
            any: !self.rotated.is_empty(),
            paths: vec![self.path.clone()],
            ..WatchWant::default()
        };
        if let Some(parent) = self.path.parent() {
            // A missing directory: watch the nearest existing ancestor.
            let mut dir = parent;
            while !dir.is_dir() {
                match dir.parent() {
                    Some(p) => dir = p,
                    None => break,
                }
            }
            want.dirs.push(dir.to_path_buf());
        }
        // A symbolic link: the file it points to changes in its own
        // directory.
        if let Ok(real) = std::fs::canonicalize(&self.path)
            && real != self.path
        {
            if let Some(dir) = real.parent()
                && !want.dirs.iter().any(|d| d == dir)
            {
                want.dirs.push(dir.to_path_buf());
            }
            want.paths.push(real);
        }
        want
    }
}

/// Follows `path` until shutdown or until the receiver is dropped.
pub(crate) async fn run(
    id: SourceId,
    path: PathBuf,
    options: Arc<SourceOptions>,
    parser: Arc<Parser>,
    tx: mpsc::Sender<SourceEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reporter = Reporter::new(id, path.display().to_string(), tx.clone());
    let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
    let wake = Arc::new(Notify::new());
    let mut watcher = if options.poll {
        None
    } else {
        match DirWatcher::new(Arc::clone(&wake)) {
            Ok(w) => Some(w),
            Err(e) => {
                warn!(path = %path.display(), error = %e, "cannot watch files; polling instead");
                None
            }
        }
    };
    let poll_every = options.settings.poll_interval();
    let keep_raw = options.keep_raw;
    let track_positions = options.track_positions;
    let mut follower = Follower {
        id,
        path: abs,
        max_line_bytes: options.max_line_bytes,
        from_start: options.from_start,
        grace: options.settings.rotate_grace(),
        current: None,
        rotated: VecDeque::new(),
        looked: false,
        counters: Counters::default(),
        state: SourceState::Starting,
        last_error: None,
        behind: 0,
    };
    if let Some(found) = options.resume.take(id) {
        follower.resume(found, Instant::now());
    }
    let mut sent: Option<SourcePosition> = None;
    loop {
        let p = Arc::clone(&parser);
        let stepped = tokio::task::spawn_blocking(move || {
            let step = follower.step(&p, keep_raw);
            (follower, step)
        });
        let (f, step) = tokio::select! {
            r = stepped => match r {
                Ok(done) => done,
                Err(e) => {
                    warn!(error = %e, "file source stopped");
                    return;
                }
            },
            _ = shutdown.changed() => return,
        };
        follower = f;
        // A position that moved without a line (a file opened at its end,
        // truncated, or a rotated one closed) goes in an empty batch, so a
        // checkpoint always has where reading stands.
        let position = track_positions.then(|| follower.position());
        let moved = position
            .as_ref()
            .is_some_and(|p| sent.as_ref().is_none_or(|s| !s.same_place(p)));
        if !step.batch.is_empty() || moved {
            sent.clone_from(&position);
            let position = position.map(Box::new);
            if !send_batch(&tx, step.batch, position, &mut shutdown).await {
                return;
            }
        }
        reporter.sync(&follower.counters);
        reporter.status.behind_bytes = follower.behind;
        reporter.status.last_error.clone_from(&follower.last_error);
        reporter.set_state(follower.state.clone());
        tokio::select! {
            r = reporter.flush() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
        if let Some(w) = watcher.as_mut() {
            match w.update(&step.watch) {
                // Something may have appeared before the watch was in place.
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot watch the directory; polling instead");
                    watcher = None;
                }
            }
        }
        if step.more {
            continue;
        }
        let poll_at = watcher
            .is_none()
            .then(|| tokio::time::Instant::now() + poll_every);
        let deadline = follower.next_deadline().map(tokio::time::Instant::from_std);
        let timer = match (poll_at, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = wake.notified() => {}
            _ = sleep_until_opt(timer) => {}
            _ = sleep_until_opt(reporter.next_due()) => {}
        }
    }
}

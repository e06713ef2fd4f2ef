//! The audit log file: exclusive, append-only, fsynced per record.
//!
//! Opening takes an exclusive lock on the log (a second process fails at
//! once, naming the holder written in `LOG.lock`), moves a torn last line
//! (bytes after the last `\n`, left by a crash mid-write) aside byte for
//! byte into `LOG.torn` (`LOG.torn.1`, ...) before cutting it off, and
//! reads the last record so appends continue the chain.
//!
//! Appending writes one line with `O_APPEND` and `fdatasync`s it before
//! returning. A failed write or sync poisons the log: every later append
//! fails with the same cause until the log is reopened, so decisions stop
//! visibly instead of carrying on with holes in the record.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::durable::sync_dir;
use crate::record::time::{format_ms, now_ms};

use super::record::{AuditEntry, AuditRecord, GENESIS, MAX_RECORD_BYTES, check_line};

/// Where appended bytes go: the log file, or a fault-injecting stand-in in
/// tests.
pub trait Sink: Send {
    /// Appends all of `bytes` at the end.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was appended durable (fdatasync).
    fn sync(&mut self) -> io::Result<()>;
}

impl Sink for File {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// Why the log cannot be used. Every message is one line naming the file.
#[derive(Debug)]
pub enum AuditError {
    /// The log could not be opened, read or repaired.
    Open { path: PathBuf, source: io::Error },
    /// Another process holds the log.
    Locked { path: PathBuf, holder: String },
    /// The last complete record is not a valid record.
    Corrupt { path: PathBuf, message: String },
    /// Writing or syncing a record failed; the log is now poisoned.
    Write { path: PathBuf, source: io::Error },
    /// An earlier write failed; nothing more is appended until reopened.
    Poisoned { path: PathBuf, cause: String },
    /// The record could not be encoded (too large, ...): nothing written.
    Refused { path: PathBuf, message: String },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Open { path, source } => {
                write!(f, "audit log {}: {source}", path.display())
            }
            AuditError::Locked { path, holder } => write!(
                f,
                "audit log {} is in use by {holder}; use that process or another --audit-log",
                path.display()
            ),
            AuditError::Corrupt { path, message } => write!(
                f,
                "audit log {}: {message}; run `modelwatch verify-log {}`",
                path.display(),
                path.display()
            ),
            AuditError::Write { path, source } => write!(
                f,
                "audit log {}: write failed: {source}; decisions are stopped until it is fixed",
                path.display()
            ),
            AuditError::Poisoned { path, cause } => write!(
                f,
                "audit log {}: an earlier write failed ({cause}); decisions are stopped until it is reopened",
                path.display()
            ),
            AuditError::Refused { path, message } => {
                write!(f, "audit log {}: record refused: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for AuditError {}

/// A torn tail found at open and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The file now holding the torn bytes, exactly as they were.
    pub moved_to: PathBuf,
    pub bytes: u64,
}

/// What opening found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Records already in the log.
    pub records: u64,
    pub torn: Option<TornTail>,
}

/// The open audit log. Dropping it releases the lock.
pub struct AuditLog {
    path: PathBuf,
    sink: Box<dyn Sink>,
    lock_note: Option<PathBuf>,
    next_seq: u64,
    prev: String,
    poisoned: Option<String>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// Bytes scanned backwards at a time.
const CHUNK: u64 = 64 * 1024;
/// Most `LOG.torn.N` names tried.
const MAX_TORN_FILES: u32 = 10_000;

impl AuditLog {
    /// Opens (creating) the log: lock, move a torn tail aside, read the
    /// chain's end.
    pub fn open(path: &Path) -> Result<(AuditLog, OpenReport), AuditError> {
        let open_err = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(open_err)?;
        if created {
            // The new file's name must be durable too, or a crash after the
            // first decision could lose the whole log.
            sync_dir(path).map_err(open_err)?;
        }
        // Fully qualified: std's own `File::try_lock` is newer than our MSRV.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    path: path.to_path_buf(),
                    holder: read_holder(&lock_note_path(path)),
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(open_err(e)),
        }
        let lock_note = write_holder(path);
        let torn = move_torn_tail(&file, path).map_err(open_err)?;
        let (records, prev) = read_chain_end(&file, path)?;
        if let Some(t) = &torn {
            tracing::warn!(log = %path.display(), moved_to = %t.moved_to.display(), bytes = t.bytes,
                "torn last line moved aside");
        }
        let log = AuditLog {
            path: path.to_path_buf(),
            sink: Box::new(file),
            lock_note,
            next_seq: records + 1,
            prev,
            poisoned: None,
        };
        Ok((log, OpenReport { records, torn }))
    }

    /// A log over any sink, continuing after `records` records whose last
    /// hash is `prev` (tests; no lock, no repair).
    pub fn with_sink(path: &Path, sink: Box<dyn Sink>, records: u64, prev: &str) -> AuditLog {
        AuditLog {
            path: path.to_path_buf(),
            sink,
            lock_note: None,
            next_seq: records + 1,
            prev: prev.to_owned(),
            poisoned: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `seq` the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last record's hash (64 zeros when empty).
    pub fn last_hash(&self) -> &str {
        &self.prev
    }

    /// Why appends are refused, if an earlier write failed.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Appends one record and fdatasyncs it; only an `Ok` means the record
    /// is durable. A write or sync failure poisons the log.
    pub fn append(&mut self, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        if let Some(cause) = &self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
                cause: cause.clone(),
            });
        }
        let ts = format_ms(now_ms());
        let mut record = AuditRecord::from_entry(entry, self.next_seq, ts, self.prev.clone());
        let refused = |message| AuditError::Refused {
            path: self.path.clone(),
            message,
        };
        let line = record.seal().map_err(refused)?;
        if line.len() > MAX_RECORD_BYTES {
            return Err(refused(format!(
                "{} bytes, more than the {MAX_RECORD_BYTES} a record may have",
                line.len()
            )));
        }
        if let Err(e) = self.sink.append(&line).and_then(|()| self.sink.sync()) {
            tracing::error!(log = %self.path.display(), error = %e, "audit write failed; log poisoned");
            self.poisoned = Some(e.to_string());
            return Err(AuditError::Write {
                path: self.path.clone(),
                source: e,
            });
        }
        self.next_seq += 1;
        self.prev.clone_from(&record.hash);
        Ok(record)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Before the lock goes (with the sink's descriptor), so a note on
        // disk always names a live holder or none.
        if let Some(note) = &self.lock_note {
            let _ = std::fs::remove_file(note);
        }
    }
}

fn lock_note_path(path: &Path) -> PathBuf {
    sibling(path, ".lock")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Records who holds the lock, for the error a second process shows.
/// Informational only: failing to write it does not stop the log.
fn write_holder(path: &Path) -> Option<PathBuf> {
    let note = lock_note_path(path);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown host".into());
    let text = format!(
        "pid {} on {host} since {}\n",
        std::process::id(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    match std::fs::write(&note, text) {
        Ok(()) => Some(note),
        Err(e) => {
            tracing::warn!(note = %note.display(), error = %e, "cannot write lock holder note");
            None
        }
    }
}

fn read_holder(note: &Path) -> String {
    let text = File::open(note).and_then(|f| {
        let mut buf = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(f, 512), &mut buf)?;
        Ok(buf)
    });
    match text {
        Ok(buf) if !buf.is_empty() => {
            let s = String::from_utf8_lossy(&buf);
            let line = s.lines().next().unwrap_or_default();
            crate::record::sanitize::escape_untrusted(line).into_owned()
        }
        _ => "another process".into(),
    }
}

/// Position just after the last `\n` at or before `end` (0 when none),
/// scanning backwards at most `limit` bytes (`None` when not found within).
fn line_start_before(file: &File, end: u64, limit: u64) -> io::Result<Option<u64>> {
    let floor = end.saturating_sub(limit);
    let mut hi = end;
    let mut buf = vec![0u8; CHUNK as usize];
    while hi > floor {
        let lo = hi.saturating_sub(CHUNK).max(floor);
        let n = (hi - lo) as usize;
        file.read_exact_at(&mut buf[..n], lo)?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(Some(lo + i as u64 + 1));
        }
        hi = lo;
    }
    Ok(if floor == 0 { Some(0) } else { None })
}

/// Copies the bytes after the last `\n` to a new `LOG.torn*` file, makes
/// the copy durable, and only then cuts them off the log.
fn move_torn_tail(file: &File, path: &Path) -> io::Result<Option<TornTail>> {
    let len = file.metadata()?.len();
    let start = line_start_before(file, len, u64::MAX)?.unwrap_or(0);
    if start == len {
        return Ok(None);
    }
    let (mut out, moved_to) = create_torn_file(path)?;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut at = start;
    while at < len {
        let n = (len - at).min(CHUNK) as usize;
        file.read_exact_at(&mut buf[..n], at)?;
        out.write_all(&buf[..n])?;
        at += n as u64;
    }
    out.sync_all()?;
    sync_dir(&moved_to)?;
    file.set_len(start)?;
    file.sync_all()?;
    Ok(Some(TornTail {
        moved_to,
        bytes: len - start,
    }))
}

/// `LOG.torn`, then `LOG.torn.1`, `LOG.torn.2`, ...
fn torn_name(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        sibling(path, ".torn")
    } else {
        sibling(path, &format!(".torn.{n}"))
    }
}

/// The torn tails moved aside beside `path` so far.
pub fn torn_files(path: &Path) -> Vec<PathBuf> {
    (0..MAX_TORN_FILES)
        .map(|n| torn_name(path, n))
        .take_while(|p| p.exists())
        .collect()
}

fn create_torn_file(path: &Path) -> io::Result<(File, PathBuf)> {
    for n in 0..MAX_TORN_FILES {
        let candidate = torn_name(path, n);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => return Ok((f, candidate)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{MAX_TORN_FILES} torn files already exist beside it"
    )))
}

/// Reads the last record: the number of records and its hash.
fn read_chain_end(file: &File, path: &Path) -> Result<(u64, String), AuditError> {
    let open_err = |source| AuditError::Open {
        path: path.to_path_buf(),
        source,
    };
    let len = file.metadata().map_err(open_err)?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_owned()));
    }
    let corrupt = |message: String| AuditError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    // `len` ends with '\n' now; find where the last line starts.
    let limit = MAX_RECORD_BYTES as u64 + 1;
    let Some(start) = line_start_before(file, len - 1, limit).map_err(open_err)? else {
        return Err(corrupt(
            "the last record is longer than any record can be".into(),
        ));
    };
    let mut line = vec![0u8; (len - 1 - start) as usize];
    file.read_exact_at(&mut line, start).map_err(open_err)?;
    let fields = check_line(&line).map_err(|e| corrupt(format!("last record: {e}")))?;
    if fields.seq == 0 {
        return Err(corrupt("last record: seq 0".into()));
    }
    Ok((fields.seq, fields.hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::record::Action;

    /// Accepts `budget` bytes, then fails like a full disk.
    struct FailAfter {
        budget: usize,
        written: Vec<u8>,
    }

    impl Sink for FailAfter {
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            let n = bytes.len().min(self.budget);
            self.written.extend_from_slice(&bytes[..n]);
            self.budget -= n;
            if n < bytes.len() {
                return Err(io::Error::from_raw_os_error(28));
            }
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn entry(case: &str) -> AuditEntry {
        let mut e = AuditEntry::new("op", Action::Approve);
        e.case_id = Some(case.into());
        e
    }

    #[test]
    fn a_failed_write_poisons_the_log() {
        let sink = FailAfter {
            budget: 300,
            written: Vec::new(),
        };
        let mut log = AuditLog::with_sink(Path::new("mem"), Box::new(sink), 0, GENESIS);
        assert_eq!(log.append(entry("a")).unwrap().seq, 1);
        let e = log.append(entry("b")).unwrap_err();
        assert!(matches!(e, AuditError::Write { .. }), "{e}");
        assert!(e.to_string().contains("No space left"), "{e}");
        let e = log.append(entry("c")).unwrap_err();
        assert!(matches!(e, AuditError::Poisoned { .. }), "{e}");
        assert!(log.poisoned().is_some());
        assert_eq!(log.next_seq(), 2);
    }

    /// Records what was called; its sync fails once `fail_sync` is set.
    struct Recorder {
        calls: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
        fail_sync: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Sink for Recorder {
        fn append(&mut self, _: &[u8]) -> io::Result<()> {
            self.calls.lock().unwrap().push("append");
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            self.calls.lock().unwrap().push("sync");
            if self.fail_sync.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(5));
            }
            Ok(())
        }
    }

    #[test]
    fn every_record_is_synced_before_append_returns_and_a_failed_sync_poisons() {
        let calls = std::sync::Arc::default();
        let fail_sync = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
        let sink = Recorder {
            calls: std::sync::Arc::clone(&calls),
            fail_sync: std::sync::Arc::clone(&fail_sync),
        };
        let mut log = AuditLog::with_sink(Path::new("mem"), Box::new(sink), 0, GENESIS);
        log.append(entry("a")).unwrap();
        assert_eq!(*calls.lock().unwrap(), ["append", "sync"]);
        fail_sync.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = log.append(entry("b")).unwrap_err();
        assert!(matches!(e, AuditError::Write { .. }), "{e}");
        assert!(log.poisoned().is_some());
        assert!(matches!(
            log.append(entry("c")),
            Err(AuditError::Poisoned { .. })
        ));
        assert_eq!(*calls.lock().unwrap(), ["append", "sync", "append", "sync"]);
    }

    #[test]
    fn oversized_records_are_refused_without_poisoning() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = AuditLog::open(&dir.path().join("a.jsonl")).unwrap();
        let mut e = entry("x");
        e.reason = Some("r".repeat(MAX_RECORD_BYTES));
        assert!(matches!(log.append(e), Err(AuditError::Refused { .. })));
        assert_eq!(log.append(entry("y")).unwrap().seq, 1);
    }

    #[test]
    fn reopening_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let last = {
            let (mut log, report) = AuditLog::open(&path).unwrap();
            assert_eq!(report.records, 0);
            log.append(entry("a")).unwrap();
            log.append(entry("b")).unwrap().hash
        };
        let (mut log, report) = AuditLog::open(&path).unwrap();
        assert_eq!((report.records, report.torn), (2, None));
        let r = log.append(entry("c")).unwrap();
        assert_eq!((r.seq, r.prev), (3, last));
    }
}

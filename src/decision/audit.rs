//! The audit log: append-only, hash-chained, fsynced per record, shared
//! by every process that records decisions.
//!
//! Each append locks the file for a moment, re-reads the chain's end (so
//! appends from several processes stay one chain), writes one line and
//! `fdatasync`s it before returning (see [`super::audit_file`]). A failed
//! write or sync poisons this process's log: every later append fails with
//! the same cause, so decisions stop visibly instead of carrying on with
//! holes in the record.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::record::time::{format_ms, now_ms};

use super::audit_file::{FileError, LOCK_WAIT, LockedLog};
pub use super::audit_file::{TornTail, torn_files};
use super::audit_record::{AuditEntry, AuditRecord, MAX_RECORD_BYTES};

/// Where appended bytes go in tests: a fault-injecting stand-in for the
/// file.
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
    /// Another process held the log for longer than an append takes.
    Busy { path: PathBuf },
    /// The path is not one the log may use (a symlink, a shared directory).
    Unsafe { path: PathBuf, message: String },
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
            AuditError::Busy { path } => write!(
                f,
                "audit log {}: another process held it for over {}",
                path.display(),
                humantime::format_duration(LOCK_WAIT)
            ),
            AuditError::Unsafe { path, message } => {
                write!(f, "audit log {}: {message}", path.display())
            }
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

/// What opening found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Records already in the log.
    pub records: u64,
    pub torn: Option<TornTail>,
}

/// Where records go: the shared file, or (tests) a sink with the chain's
/// end kept here.
enum Backend {
    File,
    Sink {
        sink: Box<dyn Sink>,
        records: u64,
        prev: String,
    },
}

/// The audit log of this process. Holds no lock and no descriptor between
/// appends.
pub struct AuditLog {
    path: PathBuf,
    backend: Backend,
    poisoned: Option<String>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Checks that the log can be used: creates it (0600) if missing,
    /// moves a torn tail aside and reads the chain's end, under the lock.
    pub fn open(path: &Path) -> Result<(AuditLog, OpenReport), AuditError> {
        let locked = LockedLog::open(path).map_err(|e| file_error(path, e))?;
        let report = OpenReport {
            records: locked.records,
            torn: locked.torn,
        };
        let log = AuditLog {
            path: path.to_path_buf(),
            backend: Backend::File,
            poisoned: None,
        };
        Ok((log, report))
    }

    /// A log over any sink, continuing after `records` records whose last
    /// hash is `prev` (tests; no lock, no repair).
    pub fn with_sink(path: &Path, sink: Box<dyn Sink>, records: u64, prev: &str) -> AuditLog {
        AuditLog {
            path: path.to_path_buf(),
            backend: Backend::Sink {
                sink,
                records,
                prev: prev.to_owned(),
            },
            poisoned: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why appends are refused, if an earlier write failed.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Appends one record after the chain's current end (whoever wrote
    /// it) and fdatasyncs it; only an `Ok` means the record is durable. A
    /// write or sync failure poisons the log.
    pub fn append(&mut self, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        if let Some(cause) = &self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
                cause: cause.clone(),
            });
        }
        let path = self.path.clone();
        let written = match &mut self.backend {
            Backend::File => {
                let mut locked = LockedLog::open(&path).map_err(|e| file_error(&path, e))?;
                let (records, prev) = (locked.records, locked.last_hash.clone());
                write_record(&path, &mut locked.file, entry, records, prev)
            }
            Backend::Sink {
                sink,
                records,
                prev,
            } => {
                let r = write_record(&path, sink.as_mut(), entry, *records, prev.clone());
                if let Ok(record) = &r {
                    *records = record.seq;
                    prev.clone_from(&record.hash);
                }
                r
            }
        };
        if let Err(AuditError::Write { source, .. }) = &written {
            tracing::error!(log = %path.display(), error = %source, "audit write failed; log poisoned");
            self.poisoned = Some(source.to_string());
        }
        written
    }
}

/// Seals `entry` as record `records + 1` after `prev` and writes it.
fn write_record(
    path: &Path,
    sink: &mut dyn Sink,
    entry: AuditEntry,
    records: u64,
    prev: String,
) -> Result<AuditRecord, AuditError> {
    let ts = format_ms(now_ms());
    let mut record = AuditRecord::from_entry(entry, records + 1, ts, prev);
    let refused = |message| AuditError::Refused {
        path: path.to_path_buf(),
        message,
    };
    let line = record.seal().map_err(refused)?;
    if line.len() > MAX_RECORD_BYTES {
        return Err(refused(format!(
            "{} bytes, more than the {MAX_RECORD_BYTES} a record may have",
            line.len()
        )));
    }
    sink.append(&line)
        .and_then(|()| sink.sync())
        .map_err(|source| AuditError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(record)
}

fn file_error(path: &Path, e: FileError) -> AuditError {
    let path = path.to_path_buf();
    match e {
        FileError::Io(source) => AuditError::Open { path, source },
        FileError::Busy => AuditError::Busy { path },
        FileError::Corrupt(message) => AuditError::Corrupt { path, message },
        FileError::Unsafe(message) => AuditError::Unsafe { path, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::audit_record::{AuditAction, GENESIS};

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
        let mut e = AuditEntry::new("op", AuditAction::Approve);
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

    #[test]
    fn two_logs_on_one_file_append_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (mut a, _) = AuditLog::open(&path).unwrap();
        let (mut b, _) = AuditLog::open(&path).unwrap();
        let mut prev = super::super::audit_record::GENESIS.to_string();
        for i in 0..6u64 {
            let log = if i % 2 == 0 { &mut a } else { &mut b };
            let r = log.append(entry(&format!("c{i}"))).unwrap();
            assert_eq!((r.seq, &r.prev), (i + 1, &prev));
            prev = r.hash;
        }
        let v = crate::decision::verify::verify_file(&path)
            .unwrap()
            .unwrap();
        assert_eq!((v.records, v.last_hash), (6, prev));
    }

    #[test]
    fn the_log_is_private_and_never_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (mut log, _) = AuditLog::open(&path).unwrap();
        log.append(entry("a")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = AuditLog::open(&link).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}

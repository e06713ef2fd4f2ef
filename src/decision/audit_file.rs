//! The audit log's file on disk, as one append sees it: opened without
//! following a symlink (created 0600), locked for the append only, its torn
//! tail moved aside, and the chain's end read back.
//!
//! Several processes share one log (dashboards, `trip` from cron, an
//! agent): each append opens the file, takes an exclusive `flock` for a
//! moment, repairs and reads the tail, appends, syncs and closes. Nothing
//! holds the log between appends, so the kill switch never waits on a
//! process that merely has the log open.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::durable::{parent_dir, sync_dir};

use super::audit_record::{GENESIS, MAX_RECORD_BYTES, check_line};

/// Bytes scanned backwards at a time.
const CHUNK: u64 = 64 * 1024;
/// Most `LOG.torn.N` names tried.
const MAX_TORN_FILES: u32 = 10_000;
/// Longest wait for another process's append (each takes milliseconds).
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(1);
/// Mode of the files the log creates: decisions are the operator's.
const PRIVATE: u32 = 0o600;

/// A torn tail found and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The file now holding the torn bytes, exactly as they were.
    pub moved_to: PathBuf,
    pub bytes: u64,
}

/// Why the file could not be used for an append.
#[derive(Debug)]
pub(super) enum FileError {
    Io(io::Error),
    /// Another process held the lock longer than [`LOCK_WAIT`].
    Busy,
    /// The last complete record is not a valid record.
    Corrupt(String),
    /// The path is not a plain file the log may use.
    Unsafe(String),
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}

/// The log file, exclusively locked until dropped.
pub(super) struct LockedLog {
    pub file: File,
    /// Records in the log and the last one's hash.
    pub records: u64,
    pub last_hash: String,
    pub torn: Option<TornTail>,
}

impl LockedLog {
    /// Opens (creating) the log at `path`, locks it, moves a torn tail
    /// aside and reads the chain's end.
    pub fn open(path: &Path) -> Result<LockedLog, FileError> {
        check_parent(path)?;
        let (file, created) = match open_private(path, true) {
            Ok(f) => (f, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                (open_private(path, false)?, false)
            }
            Err(e) => return Err(e.into()),
        };
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(FileError::Unsafe(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if created {
            // The new name must be durable too, or a crash after the first
            // decision could lose the whole log.
            sync_dir(path)?;
        }
        lock(&file)?;
        let torn = move_torn_tail(&file, path)?;
        if let Some(t) = &torn {
            tracing::warn!(log = %path.display(), moved_to = %t.moved_to.display(), bytes = t.bytes,
                "torn last line moved aside");
        }
        let (records, last_hash) = read_chain_end(&file)?;
        Ok(LockedLog {
            file,
            records,
            last_hash,
            torn,
        })
    }
}

/// Opens `path` for appending, refusing a symlink at the last component;
/// `create_new`: only a new file, created 0600.
fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(create_new)
        .mode(PRIVATE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::other("is a symlink; the audit log must be a plain file")
            } else {
                e
            }
        })
}

/// The log's directory must not let other users swap the file: a
/// directory anyone may write without the sticky bit is refused.
fn check_parent(path: &Path) -> Result<(), FileError> {
    let dir = parent_dir(path);
    let meta = std::fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(FileError::Unsafe(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mode = meta.permissions().mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        return Err(FileError::Unsafe(format!(
            "{} is writable by anyone (mode {:o}): another user could replace the log",
            dir.display(),
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Takes the exclusive lock, waiting at most [`LOCK_WAIT`].
///
/// A busy lock is waited for with a blocking `flock` on a helper thread:
/// the kernel wakes a blocked waiter as soon as the holder lets go, so a
/// process appending in a tight loop cannot starve this one the way
/// polling would. The lock belongs to the open file, which the thread
/// shares; if the wait times out, the thread lets go when it gets it.
fn lock(file: &File) -> Result<(), FileError> {
    // Fully qualified: std's own `File::try_lock` is newer than our MSRV.
    match fs4::FileExt::try_lock(file) {
        Ok(()) => return Ok(()),
        Err(fs4::TryLockError::WouldBlock) => {}
        Err(fs4::TryLockError::Error(e)) => return Err(FileError::Io(e)),
    }
    let shared = file.try_clone()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("audit-lock".into())
        .spawn(move || {
            let locked = fs4::FileExt::lock(&shared);
            let _ = tx.send(locked);
        })?;
    match rx.recv_timeout(LOCK_WAIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(FileError::Io(e)),
        Err(_) => Err(FileError::Busy),
    }
}

pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
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
    // Every append checks: a log ending in `\n` (the usual case) costs one
    // byte, not a scan.
    let mut last = [0u8; 1];
    if len == 0 || (file.read_exact_at(&mut last, len - 1).is_ok() && last[0] == b'\n') {
        return Ok(None);
    }
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
        .take_while(|p| p.symlink_metadata().is_ok())
        .collect()
}

/// A new torn file: `create_new` never follows a symlink or reuses a name.
fn create_torn_file(path: &Path) -> io::Result<(File, PathBuf)> {
    for n in 0..MAX_TORN_FILES {
        let candidate = torn_name(path, n);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
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
fn read_chain_end(file: &File) -> Result<(u64, String), FileError> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_owned()));
    }
    // `len` ends with '\n' now; find where the last line starts.
    let limit = MAX_RECORD_BYTES as u64 + 1;
    let Some(start) = line_start_before(file, len - 1, limit)? else {
        return Err(FileError::Corrupt(
            "the last record is longer than any record can be".into(),
        ));
    };
    let mut line = vec![0u8; (len - 1 - start) as usize];
    file.read_exact_at(&mut line, start)?;
    let fields = check_line(&line).map_err(|e| FileError::Corrupt(format!("last record: {e}")))?;
    if fields.seq == 0 {
        return Err(FileError::Corrupt("last record: seq 0".into()));
    }
    Ok((fields.seq, fields.hash))
}

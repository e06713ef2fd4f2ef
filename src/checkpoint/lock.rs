//! Who owns a state directory: the process holding an exclusive lock on
//! `DIR/lock`, for as long as it runs (the system releases it however the
//! process ends, SIGKILL included). Only the owner writes checkpoints;
//! another process may read them. The owner writes its pid into the file
//! so that others can say who owns it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The lock file's name in the state directory.
pub const LOCK_NAME: &str = "lock";

/// An open state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    /// Held while this process owns the directory.
    lock: Option<File>,
    /// The owner's pid, when another process owns it.
    other: Option<u32>,
}

impl StateDir {
    /// Opens `path` (created, 0700, when missing) and takes its lock
    /// unless another process holds it.
    pub fn open(path: &Path) -> Result<StateDir, String> {
        if !path.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .and_then(|()| crate::durable::sync_dir(path))
                .map_err(|e| {
                    format!("{}: cannot create the state directory: {e}", path.display())
                })?;
        }
        let lock_path = path.join(LOCK_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock_path)
            .map_err(|e| format!("{}: cannot open: {e}", lock_path.display()))?;
        // Fully qualified: std's own `File::try_lock` is newer than our MSRV.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {
                let pid = std::process::id().to_string();
                file.set_len(0)
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(|e| format!("{}: cannot write: {e}", lock_path.display()))?;
                remove_stale_temp_files(path);
                Ok(StateDir {
                    path: path.to_path_buf(),
                    lock: Some(file),
                    other: None,
                })
            }
            Err(fs4::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file
                    .seek(SeekFrom::Start(0))
                    .and_then(|_| (&file).take(32).read_to_string(&mut text));
                Ok(StateDir {
                    path: path.to_path_buf(),
                    lock: None,
                    other: text.trim().parse().ok(),
                })
            }
            Err(fs4::TryLockError::Error(e)) => {
                Err(format!("{}: cannot lock: {e}", lock_path.display()))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this process owns the directory (and may write in it).
    pub fn owned(&self) -> bool {
        self.lock.is_some()
    }

    /// Who owns it, when another process does, as words for a message.
    pub fn owner(&self) -> String {
        match self.other {
            Some(pid) => format!("another modelwatch (pid {pid})"),
            None => "another modelwatch".into(),
        }
    }
}

/// Temp files a writer left when it died mid-write (only the owner, who
/// alone writes there, removes them).
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{}.", super::FILE_NAME);
    for entry in entries.flatten().take(10_000) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_the_others_know_who() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        let first = StateDir::open(&dir).unwrap();
        assert!(first.owned());
        std::fs::write(dir.join(".checkpoint.1.2.tmp"), b"half").unwrap();
        let second = StateDir::open(&dir).unwrap();
        assert!(!second.owned());
        let me = format!("another modelwatch (pid {})", std::process::id());
        assert_eq!(second.owner(), me);
        drop(first);
        let third = StateDir::open(&dir).unwrap();
        assert!(third.owned());
        // The new owner clears what a writer that died left.
        assert!(!dir.join(".checkpoint.1.2.tmp").exists());
    }
}

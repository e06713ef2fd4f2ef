//! Writing files so they survive a crash: directory fsyncs, atomic
//! replacement, directories created durably. Shared by the audit log, the
//! flag-file actuator and the baseline file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// fsyncs the directory holding `path`, so a new name in it is durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// Replaces `path` by `bytes` (temp file in the same directory, write,
/// fsync, rename, fsync of the directory): a reader sees the old content
/// or the new, and the new survives a crash once this returns. The file
/// is 0644: readable by model servers whatever the umask, never more.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomically_with_mode(path, bytes, 0o644)
}

/// [`write_atomically`] with the file's mode, whatever the umask.
pub fn write_atomically_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| format!("cannot create a temp file in {}: {e}", dir.display()))?;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, path)
            .map_err(|e| format!("cannot rename into {}: {e}", path.display()))?;
        sync_dir(path).map_err(|e| format!("cannot sync {}: {e}", dir.display()))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates `dir` and any missing parents, fsyncing each new directory's
/// parent so the new names survive a crash.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    // Outermost first: each name is made durable in a durable directory.
    missing.iter().rev().try_for_each(|d| sync_dir(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_creates_nested_directories() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_dir_all(&dir).unwrap();
        assert!(dir.is_dir());
        create_dir_all(&dir).unwrap();
        let file = dir.join("flag");
        write_atomically(&file, b"one").unwrap();
        write_atomically(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        // No temp file is left beside it.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_atomically(&root.path().join("none").join("f"), b"x").unwrap_err();
        assert!(err.starts_with("cannot create a temp file in "), "{err}");
    }

    #[test]
    fn a_bare_name_is_in_the_working_directory() {
        assert_eq!(parent_dir(Path::new("flag")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/run/flag")), Path::new("/run"));
    }
}

//! Where a followed file's reading stands, for checkpoints.
//!
//! After each batch a file source says, for every file it has open (files
//! rotated away and still read, then the one under the name), its device,
//! inode and the offset before which every line has been handed out
//! ([`SourcePosition`]). A checkpoint saves that with a SHA-256 of the
//! bytes before the offset — the last [`TAIL_HASHED`] of them, so saving
//! costs the same whatever the file's size — ([`SavedSource`]). On resume
//! each saved file is looked for under the name, else (rotated since) in
//! the name's directory by device and inode, and read on from its offset
//! only if those bytes still hash the same ([`reopen`]).

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SourceId;

/// Bytes before a saved offset that are hashed to recognise the file.
pub const TAIL_HASHED: u64 = 64 * 1024;
/// Entries of a directory looked through for a rotated file, at most.
const DIR_ENTRIES_SEARCHED: usize = 10_000;

/// Device and inode: what makes "the same file" under a name.
pub(crate) type FileId = (u64, u64);

pub(crate) fn file_id(meta: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// One open file as a batch leaves it.
#[derive(Debug, Clone)]
struct OpenPosition {
    /// Kept to hash the bytes before `offset` when a checkpoint is saved.
    file: Arc<File>,
    id: FileId,
    offset: u64,
    /// The file under the followed name (else one rotated away).
    current: bool,
}

/// A file source's position after a batch: its open files, rotated ones
/// first, and its line counters.
#[derive(Debug, Clone)]
pub struct SourcePosition {
    /// The followed name, absolute.
    pub path: PathBuf,
    files: Vec<OpenPosition>,
    lines: u64,
    errors: u64,
}

impl SourcePosition {
    pub(crate) fn new(path: PathBuf, lines: u64, errors: u64) -> Self {
        SourcePosition {
            path,
            files: Vec::new(),
            lines,
            errors,
        }
    }

    pub(crate) fn push(&mut self, file: Arc<File>, id: FileId, offset: u64, current: bool) {
        self.files.push(OpenPosition {
            file,
            id,
            offset,
            current,
        });
    }

    /// Whether `other` stands at the same place (the same files at the same
    /// offsets, the same counts).
    pub fn same_place(&self, other: &SourcePosition) -> bool {
        (self.lines, self.errors) == (other.lines, other.errors)
            && self.files.len() == other.files.len()
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|(a, b)| (a.id, a.offset, a.current) == (b.id, b.offset, b.current))
    }

    /// The position as a checkpoint keeps it. A file whose bytes before its
    /// offset cannot be read any more (truncated since) is left out: on
    /// resume it is not recognised, as if it had gone.
    pub fn save(&self) -> SavedSource {
        let files = self
            .files
            .iter()
            .filter_map(|f| {
                let hash = tail_hash(&f.file, f.offset).ok()?;
                Some(SavedFile {
                    dev: f.id.0,
                    ino: f.id.1,
                    offset: f.offset,
                    tail_sha256: hash,
                    current: f.current,
                })
            })
            .collect();
        SavedSource {
            path: self.path.clone(),
            files,
            lines: self.lines,
            errors: self.errors,
        }
    }
}

/// A followed file as a checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    pub dev: u64,
    pub ino: u64,
    /// Every line before it was taken.
    pub offset: u64,
    /// SHA-256 (hex) of the last [`TAIL_HASHED`] bytes before `offset`
    /// (all of them when fewer).
    pub tail_sha256: String,
    /// Whether it was the file under the name (else rotated away).
    pub current: bool,
}

/// A file source as a checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSource {
    /// The followed name, absolute.
    pub path: PathBuf,
    /// Rotated files first, then the one under the name.
    pub files: Vec<SavedFile>,
    pub lines: u64,
    pub errors: u64,
}

/// SHA-256 of the last [`TAIL_HASHED`] bytes of `file` before `offset`.
fn tail_hash(file: &File, offset: u64) -> io::Result<String> {
    let start = offset.saturating_sub(TAIL_HASHED);
    let mut tail = vec![0; (offset - start) as usize];
    file.read_exact_at(&mut tail, start)?;
    Ok(hex::encode(Sha256::digest(&tail)))
}

/// A file found again at its saved position, open.
#[derive(Debug)]
pub(crate) struct ReopenedFile {
    pub(crate) file: File,
    pub(crate) id: FileId,
    pub(crate) offset: u64,
}

/// What a checkpoint's position of one file source found on disk.
#[derive(Debug, Default)]
pub struct Reopened {
    pub(crate) current: Option<ReopenedFile>,
    /// Rotated away (before or since the checkpoint), oldest first: read to
    /// their end, then closed after the rotation grace.
    pub(crate) rotated: Vec<ReopenedFile>,
    /// The file the name held at the checkpoint was accounted for (found,
    /// or replaced since): any other file under the name came after it and
    /// is read from its start. False when the name's file was rewritten:
    /// the source then starts as without a checkpoint.
    pub(crate) continues: bool,
    pub(crate) lines: u64,
    pub(crate) errors: u64,
}

/// Finds the files of `saved` again and opens them at their offsets;
/// returns them with a line for the operator about each file that was not
/// resumed where it stood under its name.
pub fn reopen(saved: &SavedSource) -> (Reopened, Vec<String>) {
    let name = saved.path.display();
    let at_name = std::fs::metadata(&saved.path)
        .ok()
        .filter(Metadata::is_file)
        .map(|m| file_id(&m));
    let mut out = Reopened {
        continues: true,
        lines: saved.lines,
        errors: saved.errors,
        ..Reopened::default()
    };
    let mut notes = Vec::new();
    for f in &saved.files {
        let id = (f.dev, f.ino);
        let found = if at_name == Some(id) {
            Some(saved.path.clone())
        } else {
            find_by_id(&saved.path, id)
        };
        let Some(path) = found else {
            notes.push(format!(
                "{name}: the file read to byte {} (device {}, inode {}) is gone; what was written to it after the checkpoint is not read",
                f.offset, f.dev, f.ino
            ));
            continue;
        };
        let checked = File::open(&path).map_err(|e| format!("cannot be read ({e})"));
        let same = checked.and_then(|file| match tail_hash(&file, f.offset) {
            Ok(hash) if hash == f.tail_sha256 => Ok(file),
            _ => Err(format!(
                "rewritten since the checkpoint (the {} bytes before byte {} differ)",
                f.offset.min(TAIL_HASHED),
                f.offset
            )),
        });
        match same {
            Ok(file) => {
                let reopened = ReopenedFile {
                    file,
                    id,
                    offset: f.offset,
                };
                if path == saved.path && f.current {
                    out.current = Some(reopened);
                } else {
                    if f.current {
                        notes.push(format!(
                            "{name}: rotated since the checkpoint: reading {} on from byte {}, then the new file from its start",
                            path.display(),
                            f.offset
                        ));
                    }
                    out.rotated.push(reopened);
                }
            }
            Err(why) if path == saved.path => {
                notes.push(format!(
                    "{name}: {why}; starting it as without a checkpoint"
                ));
                out.continues = false;
            }
            Err(why) => notes.push(format!(
                "{name}: {} (rotated since the checkpoint): {why}; not read",
                path.display()
            )),
        }
    }
    (out, notes)
}

/// The file with this device and inode in the directory of `path`.
fn find_by_id(path: &Path, id: FileId) -> Option<PathBuf> {
    let dir = crate::durable::parent_dir(path);
    std::fs::read_dir(dir)
        .ok()?
        .take(DIR_ENTRIES_SEARCHED)
        .flatten()
        .find(|entry| {
            std::fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_file() && file_id(&m) == id)
        })
        .map(|entry| entry.path())
}

/// Files reopened at a checkpoint's positions, each taken by its file
/// source as it starts (the handles move to the source: nothing else keeps
/// a rotated file open).
#[derive(Debug, Clone, Default)]
pub struct Resumes(Arc<Mutex<HashMap<SourceId, Reopened>>>);

impl Resumes {
    pub fn insert(&self, source: SourceId, reopened: Reopened) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(source, reopened);
        }
    }

    pub(crate) fn take(&self, source: SourceId) -> Option<Reopened> {
        self.0.lock().ok()?.remove(&source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(from: u64, to: u64) -> String {
        (from..to).map(|i| format!("{{\"id\":{i}}}\n")).collect()
    }

    /// The position a follower at `offset` of `path` would report.
    fn at(path: &Path, offset: u64, current: bool) -> SavedSource {
        let file = File::open(path).unwrap();
        let id = file_id(&file.metadata().unwrap());
        let mut p = SourcePosition::new(path.to_path_buf(), 7, 1);
        p.push(Arc::new(file), id, offset, current);
        p.save()
    }

    #[test]
    fn the_same_file_resumes_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        // More than the hashed tail, so only its end is hashed.
        std::fs::write(&path, lines(0, 20_000)).unwrap();
        let offset = lines(0, 15_000).len() as u64;
        assert!(offset > TAIL_HASHED);
        let saved = at(&path, offset, true);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(lines(20_000, 20_010).as_bytes())
            .unwrap();
        let (found, notes) = reopen(&saved);
        assert!(notes.is_empty(), "{notes:?}");
        let current = found.current.expect("resumed");
        assert_eq!(current.offset, offset);
        assert!(found.continues && found.rotated.is_empty());
        assert_eq!((found.lines, found.errors), (7, 1));
    }

    #[test]
    fn a_file_rotated_since_is_found_by_its_inode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, lines(0, 100)).unwrap();
        let saved = at(&path, lines(0, 60).len() as u64, true);
        let rotated = dir.path().join("p.jsonl.1");
        std::fs::rename(&path, &rotated).unwrap();
        std::fs::write(&path, lines(100, 110)).unwrap();
        let (found, notes) = reopen(&saved);
        assert!(found.current.is_none() && found.continues);
        assert_eq!(found.rotated.len(), 1);
        assert_eq!(found.rotated[0].offset, lines(0, 60).len() as u64);
        assert!(
            notes[0].contains("rotated since the checkpoint"),
            "{notes:?}"
        );
        assert!(notes[0].contains("p.jsonl.1"), "{notes:?}");
    }

    #[test]
    fn a_rewritten_file_starts_as_without_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, lines(0, 100)).unwrap();
        let saved = at(&path, lines(0, 60).len() as u64, true);
        // The same inode, other bytes before the offset.
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(b"{\"id\":9}\n").unwrap();
        let (found, notes) = reopen(&saved);
        assert!(found.current.is_none() && !found.continues);
        assert!(
            notes[0].contains("rewritten since the checkpoint"),
            "{notes:?}"
        );
        // Cut short (copytruncate), likewise: saved again over the bytes
        // now there, so only the missing bytes tell.
        let saved = at(&path, lines(0, 60).len() as u64, true);
        f.set_len(10).unwrap();
        let (found, notes) = reopen(&saved);
        assert!(!found.continues);
        assert!(
            notes[0].contains("rewritten since the checkpoint"),
            "{notes:?}"
        );
    }

    #[test]
    fn a_file_gone_or_replaced_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, lines(0, 100)).unwrap();
        let saved = at(&path, 50, true);
        std::fs::remove_file(&path).unwrap();
        // Another file under the name (whatever inode it gets, its bytes
        // differ from the saved tail's).
        std::fs::write(&path, "x".repeat(200)).unwrap();
        let (found, notes) = reopen(&saved);
        assert!(found.current.is_none());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}

//! Checkpoints: the engine's state and every followed file's position,
//! saved together in a state directory so that a restart goes on where the
//! last checkpoint stood, neither missing nor counting twice a line of a
//! followed file (README, Checkpoints).
//!
//! The file, `DIR/checkpoint`: one text line `modelwatch-checkpoint N`
//! (N is [`FORMAT_VERSION`]), then a gzip stream (its CRC checks every
//! byte) of one CBOR value, a [`Checkpoint`]. CBOR keeps every f64 exactly,
//! so a resumed engine computes what an uninterrupted one would. It is
//! replaced atomically (temp file, fsync, rename, fsync of the directory),
//! mode 0600 (it holds review cases' raw lines), only by the process that
//! owns the directory (`lock`). One that cannot be read, or that another
//! version or other settings wrote, is moved aside to `checkpoint.bad`
//! (`.bad.1`, ...), never silently ignored. `writer` saves them off the
//! engine's thread.

pub mod lock;
pub mod writer;

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::engine::state::EngineState;
use crate::source::position::SavedSource;

/// Bumped whenever what a checkpoint holds changes form.
pub const FORMAT_VERSION: u32 = 1;
/// The checkpoint's name in the state directory.
pub const FILE_NAME: &str = "checkpoint";
const MAGIC: &str = "modelwatch-checkpoint";

/// Everything a checkpoint holds, describing one instant: every line
/// before each file's offset is in the engine's state, none after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// When it was taken (wall clock, epoch ms).
    pub taken_ms: i64,
    /// The settings the engine state's form depends on
    /// (`engine::state::shape`): it resumes only under the same.
    pub shape: Vec<(String, String)>,
    /// Each followed file source's position.
    pub sources: Vec<SavedSource>,
    pub engine: EngineState,
}

/// What the state directory held.
#[derive(Debug)]
pub enum Loaded {
    Missing,
    Found(Box<Checkpoint>),
    /// Unreadable or of another format version: why.
    Bad(String),
}

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The file's bytes.
pub fn encode(c: &Checkpoint) -> Result<Vec<u8>, String> {
    let mut out = format!("{MAGIC} {FORMAT_VERSION}\n").into_bytes();
    let gz = GzEncoder::new(&mut out, Compression::fast());
    // CBOR is written a few bytes at a time: the compressor takes blocks.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, gz);
    ciborium::into_writer(c, &mut buffered).map_err(|e| format!("cannot encode: {e}"))?;
    buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(GzEncoder::finish)
        .map_err(|e| format!("cannot compress: {e}"))?;
    Ok(out)
}

/// Reads a checkpoint's bytes; the error says why they are not one.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let newline = bytes
        .iter()
        .take(64)
        .position(|&b| b == b'\n')
        .ok_or("not a modelwatch checkpoint")?;
    let header = String::from_utf8_lossy(&bytes[..newline]);
    let version = header
        .strip_prefix(MAGIC)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or("not a modelwatch checkpoint")?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}; this modelwatch reads version {FORMAT_VERSION}"
        ));
    }
    let mut gz = std::io::BufReader::with_capacity(1 << 16, GzDecoder::new(&bytes[newline + 1..]));
    let c: Checkpoint = ciborium::from_reader(&mut gz).map_err(|e| format!("corrupt: {e}"))?;
    // Reading on to the end checks the gzip trailer (CRC and length).
    let mut rest = Vec::new();
    gz.read_to_end(&mut rest)
        .map_err(|e| format!("corrupt: {e}"))?;
    if !rest.is_empty() {
        return Err("corrupt: bytes after the checkpoint".into());
    }
    Ok(c)
}

/// Replaces the directory's checkpoint; returns its size in bytes.
pub fn save(dir: &Path, c: &Checkpoint) -> Result<u64, String> {
    let bytes = encode(c)?;
    crate::durable::write_atomically_with_mode(&path_in(dir), &bytes, 0o600)?;
    Ok(bytes.len() as u64)
}

/// Reads the directory's checkpoint.
pub fn load(dir: &Path) -> Loaded {
    let path = path_in(dir);
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes));
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::Missing,
        Err(e) => Loaded::Bad(format!("cannot be read: {e}")),
        Ok(_) => match decode(&bytes) {
            Ok(c) => Loaded::Found(Box::new(c)),
            Err(why) => Loaded::Bad(why),
        },
    }
}

/// Whether a checkpoint taken under `saved` settings resumes under `now`;
/// the error names each setting that differs.
pub fn check_shape(saved: &[(String, String)], now: &[(String, String)]) -> Result<(), String> {
    let differ: Vec<String> = now
        .iter()
        .filter_map(|(key, value)| {
            let was = saved.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            (was != Some(value)).then(|| match was {
                Some(was) => format!("{key} {was} (now {value})"),
                None => format!("{key} unknown (now {value})"),
            })
        })
        .collect();
    if differ.is_empty() && saved.len() == now.len() {
        return Ok(());
    }
    Err(format!(
        "taken with other settings: {}",
        if differ.is_empty() {
            "settings this modelwatch does not know".to_string()
        } else {
            differ.join(", ")
        }
    ))
}

/// Moves the directory's checkpoint aside to the first free name of
/// `checkpoint.bad`, `checkpoint.bad.1`, ...; returns that name.
pub fn move_aside(dir: &Path) -> Result<PathBuf, String> {
    let from = path_in(dir);
    let to = (0..10_000)
        .map(|i| match i {
            0 => dir.join(format!("{FILE_NAME}.bad")),
            i => dir.join(format!("{FILE_NAME}.bad.{i}")),
        })
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .ok_or_else(|| format!("no free name for {}.bad in {}", FILE_NAME, dir.display()))?;
    std::fs::rename(&from, &to)
        .and_then(|()| crate::durable::sync_dir(&from))
        .map_err(|e| format!("cannot move {} aside: {e}", from.display()))?;
    Ok(to)
}

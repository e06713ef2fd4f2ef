//! Saving checkpoints off the engine's thread: the engine's state and the
//! sources' positions are copied between batches (a copy is cheap), then
//! the files' tails are hashed and everything encoded, compressed and
//! written on a thread of its own, one save at a time.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Checkpoint, save};
use crate::engine::state::EngineState;
use crate::source::position::{SavedSource, SourcePosition};

/// Where a file source stands for a checkpoint.
#[derive(Debug, Clone)]
pub enum SourceAt {
    /// As its last batch left it.
    Live(Box<SourcePosition>),
    /// As the checkpoint resumed from had it (no batch since).
    Saved(SavedSource),
}

impl SourceAt {
    fn saved(&self) -> SavedSource {
        match self {
            SourceAt::Live(p) => p.save(),
            SourceAt::Saved(s) => s.clone(),
        }
    }
}

/// One instant to save.
pub struct Job {
    pub taken_ms: i64,
    /// How long copying the state took (on the engine's thread).
    pub copy_took: Duration,
    pub shape: Vec<(String, String)>,
    pub sources: Vec<SourceAt>,
    pub engine: EngineState,
}

/// A save that succeeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saved {
    pub taken_ms: i64,
    /// Lines the engine had taken.
    pub lines: u64,
    pub bytes: u64,
    /// Copying the state on the engine's thread, then hashing, encoding
    /// and writing it on the writer's.
    pub copy_took: Duration,
    pub write_took: Duration,
}

pub struct Writer {
    dir: PathBuf,
    running: Option<JoinHandle<Result<Saved, String>>>,
}

impl Writer {
    /// Saves into `dir` (which this process owns).
    pub fn new(dir: PathBuf) -> Self {
        Writer { dir, running: None }
    }

    /// Whether a save is under way.
    pub fn busy(&self) -> bool {
        self.running.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Starts saving `job` on a thread of its own; false, with nothing
    /// done, while the previous save runs.
    pub fn start(&mut self, job: Job) -> bool {
        if self.busy() {
            return false;
        }
        let dir = self.dir.clone();
        let spawned = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || write(&dir, job));
        match spawned {
            Ok(handle) => {
                self.running = Some(handle);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a checkpoint thread");
                false
            }
        }
    }

    /// The outcome of a save that finished since the last call.
    pub fn finished(&mut self) -> Option<Result<Saved, String>> {
        if self.busy() {
            return None;
        }
        let handle = self.running.take()?;
        Some(
            handle
                .join()
                .unwrap_or_else(|_| Err("the checkpoint thread panicked".into())),
        )
    }

    /// Waits for a save under way, then saves `job` on this thread.
    pub fn save_now(&mut self, job: Job) -> Result<Saved, String> {
        if let Some(handle) = self.running.take() {
            let _ = handle.join();
        }
        write(&self.dir, job)
    }
}

fn write(dir: &std::path::Path, job: Job) -> Result<Saved, String> {
    let started = Instant::now();
    let (lines, copy_took) = (job.engine.counters().lines, job.copy_took);
    let checkpoint = Checkpoint {
        taken_ms: job.taken_ms,
        shape: job.shape,
        sources: job.sources.iter().map(SourceAt::saved).collect(),
        engine: job.engine,
    };
    let bytes = save(dir, &checkpoint)?;
    Ok(Saved {
        taken_ms: job.taken_ms,
        lines,
        bytes,
        copy_took,
        write_took: started.elapsed(),
    })
}

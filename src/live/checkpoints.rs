//! A live session's checkpoints (README, Checkpoints): resumed from the
//! state directory as the session starts, saved every few seconds between
//! batches (where every line before each file's position has been ingested
//! and none after it) and once more when the session stops.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::checkpoint::lock::StateDir;
use crate::checkpoint::writer::{Job, Saved, SourceAt, Writer};
use crate::checkpoint::{self, Loaded};
use crate::engine::Engine;
use crate::engine::state::shape;
use crate::record::time::format_ms;
use crate::source::position::reopen;
use crate::source::{Resumes, SourceSpec};

/// Seconds between checkpoints unless told.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);

/// Where and how often a session keeps its checkpoints.
#[derive(Debug, Clone)]
pub struct StateOptions {
    pub dir: PathBuf,
    pub every: Duration,
    /// Whether this process must write them: it then fails when another
    /// owns the directory (a headless run); a dashboard opens it
    /// read-only instead.
    pub must_own: bool,
}

/// How the last save went, for status lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointStatus {
    pub last: Option<Saved>,
    /// Why the last save failed (cleared by the next that succeeds).
    pub error: Option<String>,
}

/// The saving half, held by a session that owns its state directory.
pub(super) struct Checkpoints {
    /// Holds the directory's lock for the session's life.
    dir: StateDir,
    writer: Writer,
    every: Duration,
    next: Instant,
    shape: Vec<(String, String)>,
    pub(super) status: CheckpointStatus,
}

impl Checkpoints {
    fn new(dir: StateDir, every: Duration, shape: Vec<(String, String)>) -> Self {
        Checkpoints {
            writer: Writer::new(dir.path().to_path_buf()),
            dir,
            every,
            next: Instant::now() + every,
            shape,
            status: CheckpointStatus::default(),
        }
    }

    pub(super) fn due(&mut self) -> bool {
        self.collect();
        Instant::now() >= self.next && !self.writer.busy()
    }

    /// Starts saving on the writer's thread.
    pub(super) fn start(&mut self, engine: &Engine, sources: &[Option<SourceAt>]) {
        let job = self.job(engine, sources);
        if self.writer.start(job) {
            self.next = Instant::now() + self.every;
        }
    }

    /// Saves now and waits (the session is stopping).
    pub(super) fn finish(&mut self, engine: &Engine, sources: &[Option<SourceAt>]) {
        let job = self.job(engine, sources);
        let outcome = self.writer.save_now(job);
        self.record(outcome);
    }

    fn job(&self, engine: &Engine, sources: &[Option<SourceAt>]) -> Job {
        let started = Instant::now();
        let (sources, engine) = (sources.iter().flatten().cloned().collect(), engine.state());
        Job {
            taken_ms: crate::record::time::now_ms(),
            copy_took: started.elapsed(),
            shape: self.shape.clone(),
            sources,
            engine,
        }
    }

    /// Takes the outcome of a save that finished.
    fn collect(&mut self) {
        if let Some(outcome) = self.writer.finished() {
            self.record(outcome);
        }
    }

    fn record(&mut self, outcome: Result<Saved, String>) {
        let path = checkpoint::path_in(self.dir.path());
        match outcome {
            Ok(saved) => {
                tracing::debug!(
                    path = %path.display(),
                    bytes = saved.bytes,
                    copy_ms = saved.copy_took.as_secs_f64() * 1e3,
                    write_ms = saved.write_took.as_secs_f64() * 1e3,
                    "checkpoint saved"
                );
                self.status = CheckpointStatus {
                    last: Some(saved),
                    error: None,
                };
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot save a checkpoint");
                self.status.error = Some(format!("{}: {e}", path.display()));
            }
        }
    }
}

/// What opening the state directory gave the session about to start.
pub(super) struct Opened {
    pub(super) checkpoints: Option<Checkpoints>,
    /// Each source's position as the checkpoint had it, by source id.
    pub(super) positions: Vec<Option<SourceAt>>,
    /// What the operator should know: what was resumed, what was not.
    pub(super) notes: Vec<String>,
}

/// Opens the state directory and resumes `engine` from its checkpoint,
/// reopening each followed file of `specs` at its position (into
/// `resumes`, which the sources take as they start).
pub(super) fn open(
    state: &StateOptions,
    engine: &mut Engine,
    specs: &[SourceSpec],
    resumes: &Resumes,
) -> Result<Opened, String> {
    let dir = StateDir::open(&state.dir)?;
    let path = checkpoint::path_in(dir.path());
    if !dir.owned() && state.must_own {
        return Err(format!(
            "--state-dir {}: {} owns it and writes its checkpoints; stop that one or give another directory",
            state.dir.display(),
            dir.owner()
        ));
    }
    let mut opened = Opened {
        checkpoints: None,
        positions: vec![None; specs.len()],
        notes: Vec::new(),
    };
    if !dir.owned() {
        opened.notes.push(format!(
            "read-only: {} owns {}; its checkpoint is loaded, nothing is written",
            dir.owner(),
            state.dir.display()
        ));
    }
    let now_shape = shape(engine.settings());
    let started = Instant::now();
    let resumed = match checkpoint::load(dir.path()) {
        Loaded::Missing => None,
        Loaded::Bad(why) => {
            opened.notes.push(set_aside(&dir, &path, &why));
            None
        }
        Loaded::Found(c) => {
            let checkpoint::Checkpoint {
                taken_ms,
                shape,
                sources,
                engine: state,
            } = *c;
            let (lines, predictions) = (state.counters().lines, state.predictions());
            let fits =
                checkpoint::check_shape(&shape, &now_shape).and_then(|()| engine.resume(state));
            match fits {
                Ok(()) => {
                    opened.notes.push(format!(
                        "resumed from {} taken {}: {lines} lines, {predictions} predictions (read in {:.2} s)",
                        path.display(),
                        format_ms(taken_ms),
                        started.elapsed().as_secs_f64()
                    ));
                    Some(sources)
                }
                Err(why) => {
                    opened.notes.push(set_aside(&dir, &path, &why));
                    None
                }
            }
        }
    };
    for (id, spec) in specs.iter().enumerate() {
        let SourceSpec::File(name) = spec else {
            continue;
        };
        let abs = std::path::absolute(name).unwrap_or_else(|_| name.clone());
        let saved = resumed.iter().flatten().find(|s| s.path == abs);
        if let Some(saved) = saved {
            let (reopened, notes) = reopen(saved);
            opened.notes.extend(notes);
            resumes.insert(id, reopened);
            opened.positions[id] = Some(SourceAt::Saved(saved.clone()));
        } else if resumed.is_some() {
            opened.notes.push(format!(
                "{}: not in the checkpoint; started as without one",
                name.display()
            ));
        }
    }
    if dir.owned() {
        opened.checkpoints = Some(Checkpoints::new(dir, state.every, now_shape));
    }
    Ok(opened)
}

/// Moves a checkpoint that cannot be resumed from aside (when this
/// process owns the directory); says what happened.
fn set_aside(dir: &StateDir, path: &Path, why: &str) -> String {
    if !dir.owned() {
        return format!("{}: {why}; not used", path.display());
    }
    match checkpoint::move_aside(dir.path()) {
        Ok(to) => format!(
            "{}: {why}; moved to {}, starting without it",
            path.display(),
            to.display()
        ),
        Err(e) => format!("{}: {why}; {e}; starting without it", path.display()),
    }
}

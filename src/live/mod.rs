//! The live session: sources feeding the engine, source status, the
//! ingest rate, and (with the decision desk) operator actions. The terminal
//! UI and the `--no-tui` JSON-lines output both drive one of these from a
//! tokio `select!` loop; the session itself never draws or prints.

pub mod checkpoints;
pub mod control;
pub mod desk;
mod rate;
pub mod team_review;

use tokio::sync::mpsc;

use crate::checkpoint::writer::SourceAt;
use crate::engine::Engine;
use crate::record::Parser;
use crate::record::time::now_ms;
use crate::source::{
    SourceError, SourceEvent, SourceOptions, SourceSet, SourceSpec, SourceState, SourceStatus,
};

pub use checkpoints::{CheckpointStatus, StateOptions};
pub use rate::RateMeter;

/// Told about the session once a second, after the clock's rules ran,
/// whatever drives it (the dashboard or the JSON lines): metrics read it
/// here. It runs on the session's loop, so it only copies figures.
pub trait TickObserver: Send {
    fn on_tick(&mut self, session: &Session, now_ms: i64);

    /// Before [`TickObserver::on_tick`]: applies to the engine what others
    /// did (the team's acknowledgements).
    fn apply(&mut self, _engine: &mut Engine) {}
}

/// Batches in flight between the sources and the engine: bounded, so a
/// flood pauses files and makes websockets queue (then drop) what waits.
pub const SOURCE_CHANNEL: usize = 64;
/// Time spent ingesting per wake-up before the loop looks at other work
/// (keys, redraws): a flood becomes one update per frame, not a frozen
/// screen, whatever a batch costs.
pub const INGEST_PER_TURN: std::time::Duration = std::time::Duration::from_millis(20);

pub struct Session {
    pub engine: Engine,
    /// One status per source, indexed by source id.
    pub sources: Vec<SourceStatus>,
    set: Option<SourceSet>,
    events: mpsc::Receiver<SourceEvent>,
    pub rate: RateMeter,
    /// Whether anything a screen shows changed since [`Session::take_dirty`].
    dirty: bool,
    pub started_ms: i64,
    observers: Vec<Box<dyn TickObserver>>,
    /// Where each file source stood after its last batch taken, by source
    /// id: what a checkpoint saves beside the engine's state.
    positions: Vec<Option<SourceAt>>,
    /// Saving checkpoints, when the session owns a state directory.
    checkpoints: Option<checkpoints::Checkpoints>,
    /// What resuming from the state directory found, for the operator.
    pub notes: Vec<String>,
}

impl Session {
    /// Starts the sources (inside a tokio runtime) feeding `engine`; they
    /// parse their lines with `parser`.
    pub fn start(
        engine: Engine,
        parser: Parser,
        specs: Vec<SourceSpec>,
        options: SourceOptions,
    ) -> Result<Session, SourceError> {
        let (tx, events) = mpsc::channel(SOURCE_CHANNEL);
        let set = SourceSet::start(specs, options, parser, tx)?;
        let sources: Vec<SourceStatus> = set
            .names()
            .iter()
            .enumerate()
            .map(|(id, name)| SourceStatus::new(id, name.clone()))
            .collect();
        Ok(Session {
            engine,
            positions: vec![None; sources.len()],
            sources,
            set: Some(set),
            events,
            rate: RateMeter::default(),
            dirty: true,
            started_ms: now_ms(),
            observers: Vec::new(),
            checkpoints: None,
            notes: Vec::new(),
        })
    }

    /// [`Session::start`] with checkpoints in `state.dir`: `engine` (new)
    /// resumes from the checkpoint there and each followed file from its
    /// position, checkpoints are saved every `state.every` (on
    /// [`Session::tick`]) and when the session stops ([`Session::shutdown`]).
    /// A directory another process owns is only read (or, with
    /// `state.must_own`, an error); a checkpoint that cannot be resumed
    /// from is moved aside. [`Session::notes`] says what happened.
    pub fn start_with_state(
        mut engine: Engine,
        parser: Parser,
        specs: Vec<SourceSpec>,
        mut options: SourceOptions,
        state: &StateOptions,
    ) -> Result<Session, String> {
        let opened = checkpoints::open(state, &mut engine, &specs, &options.resume)?;
        options.track_positions = opened.checkpoints.is_some();
        let mut session =
            Session::start(engine, parser, specs, options).map_err(|e| e.to_string())?;
        session.positions = opened.positions;
        session.checkpoints = opened.checkpoints;
        session.notes = opened.notes;
        Ok(session)
    }

    /// The next event from the sources; `None` once every source has ended
    /// and everything they sent has been taken. Cancel-safe.
    pub async fn next_event(&mut self) -> Option<SourceEvent> {
        self.events.recv().await
    }

    /// Applies one event, then whatever else is already waiting, for at
    /// most [`INGEST_PER_TURN`].
    pub fn handle(&mut self, event: SourceEvent) {
        self.handle_until(event, std::time::Instant::now() + INGEST_PER_TURN);
    }

    /// Like [`Session::handle`], stopping at `until` (the next frame's
    /// time, so that a flood never delays a frame).
    pub fn handle_until(&mut self, event: SourceEvent, until: std::time::Instant) {
        let until = until.min(std::time::Instant::now() + INGEST_PER_TURN);
        self.apply(event);
        while std::time::Instant::now() < until {
            match self.events.try_recv() {
                Ok(event) => self.apply(event),
                Err(_) => break,
            }
        }
    }

    fn apply(&mut self, event: SourceEvent) {
        let now = now_ms();
        self.dirty = true;
        match event {
            SourceEvent::Batch {
                source,
                batch,
                position,
            } => {
                let name = self.sources.get(source).map_or("", |s| s.name.as_str());
                let predictions = self.engine.ingest_batch(&batch, name, now);
                self.rate.add(now, predictions);
                if let (Some(at), Some(position)) = (self.positions.get_mut(source), position) {
                    *at = Some(SourceAt::Live(position));
                }
            }
            SourceEvent::Status(status) => {
                let healthy = matches!(
                    status.state,
                    SourceState::Following
                        | SourceState::Connected
                        | SourceState::Starting
                        | SourceState::Ended
                );
                let detail = match (&status.state, &status.last_error) {
                    (_, Some(e)) => e.clone(),
                    (state, None) => format!("{state:?}"),
                };
                self.engine
                    .source_health(&status.name, healthy, &detail, now);
                self.engine
                    .source_overload(&status.name, status.dropped_overload, now);
                self.engine.source_lines(&status.name, status.last_line_ms);
                if let Some(slot) = self.sources.get_mut(status.id) {
                    *slot = status;
                }
            }
        }
    }

    /// Adds an observer told at every [`Session::tick`].
    pub fn observe_ticks(&mut self, observer: Box<dyn TickObserver>) {
        self.observers.push(observer);
    }

    /// Time-based work: the source-down rule, the rate meter's window, a
    /// checkpoint when one is due (called between batches, so the engine
    /// and the positions describe one instant), then the observers.
    pub fn tick(&mut self, now: i64) {
        self.engine.tick(now);
        self.rate.roll(now);
        if let Some(c) = self.checkpoints.as_mut()
            && c.due()
        {
            c.start(&self.engine, &self.positions);
        }
        let mut observers = std::mem::take(&mut self.observers);
        for o in &mut observers {
            o.apply(&mut self.engine);
            o.on_tick(self, now);
        }
        self.observers = observers;
    }

    /// How saving checkpoints goes; `None` without a state directory of
    /// this session's own.
    pub fn checkpoint_status(&self) -> Option<&CheckpointStatus> {
        self.checkpoints.as_ref().map(|c| &c.status)
    }

    /// Whether every source has ended (stdin closed, a demo limit reached)
    /// and nothing is left to ingest.
    pub fn all_ended(&self) -> bool {
        self.set.as_ref().is_none_or(SourceSet::is_finished) && self.events.is_empty()
    }

    /// Whether something changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The websocket control link of a source, for the kill switch.
    pub fn source_set(&self) -> Option<&SourceSet> {
        self.set.as_ref()
    }

    /// Stops the sources, then saves a last checkpoint (what the sources
    /// sent and was not taken is read again by the next run).
    pub async fn shutdown(&mut self) {
        if let Some(set) = self.set.take() {
            set.shutdown().await;
        }
        if let Some(c) = self.checkpoints.as_mut() {
            c.finish(&self.engine, &self.positions);
        }
    }
}

//! The live session: sources feeding the engine, source status, the
//! ingest rate, and (with the decision desk) operator actions. The terminal
//! UI and the `--no-tui` JSON-lines output both drive one of these from a
//! tokio `select!` loop; the session itself never draws or prints.

pub mod control;
pub mod desk;
mod rate;

use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::record::Parser;
use crate::record::time::now_ms;
use crate::source::{
    SourceError, SourceEvent, SourceOptions, SourceSet, SourceSpec, SourceState, SourceStatus,
};

pub use rate::RateMeter;

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
        let sources = set
            .names()
            .iter()
            .enumerate()
            .map(|(id, name)| SourceStatus::new(id, name.clone()))
            .collect();
        Ok(Session {
            engine,
            sources,
            set: Some(set),
            events,
            rate: RateMeter::default(),
            dirty: true,
            started_ms: now_ms(),
        })
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
            SourceEvent::Batch { source, batch, .. } => {
                let name = self.sources.get(source).map_or("", |s| s.name.as_str());
                let predictions = self.engine.ingest_batch(&batch, name, now);
                self.rate.add(now, predictions);
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
                if let Some(slot) = self.sources.get_mut(status.id) {
                    *slot = status;
                }
            }
        }
    }

    /// Time-based work: the source-down rule, the rate meter's window.
    pub fn tick(&mut self, now: i64) {
        self.engine.tick(now);
        self.rate.roll(now);
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

    /// Stops the sources.
    pub async fn shutdown(&mut self) {
        if let Some(set) = self.set.take() {
            set.shutdown().await;
        }
    }
}

//! The engine: everything between a parsed event and an alert. Knows
//! nothing of terminals, async runtimes or files.
//!
//! [`Engine`] is defined here with its fields private and its public verbs
//! listed in one place; each verb's work is done by the submodule that owns
//! it, which takes the engine explicitly: `ingest` (lines in), `actions`
//! (what an operator does), `timed` (the rules the clock drives),
//! `snapshot` and `review_query` (the read path for screens and reports)
//! and `state` (everything learnt, as plain data for checkpoints).

pub mod actions;
pub mod alert_log;
pub mod alerts;
pub mod baseline;
pub mod cbpe;
pub mod compare;
pub mod confidence_buckets;
pub mod detectors;
pub mod features;
pub mod history;
pub mod ingest;
pub mod join;
mod known_name;
pub mod labels;
pub mod model;
pub mod recent_accuracy;
pub mod review;
pub mod review_query;
pub mod rules;
pub mod scales;
pub mod segments;
pub mod settings;
pub mod snapshot;
mod source_health;
pub mod state;
pub mod stats;
mod timed;
pub mod window;

use std::collections::{HashMap, VecDeque};

pub use actions::Decision;
pub use ingest::{InputCounters, LineKind, LineOrigin, MalformedRecord};
pub use settings::{BaselineSpec, EngineSettings};

use alert_log::AlertLog;
use alerts::{Alert, Transition};
use baseline::BaselineFile;
use join::{JoinTable, PendingTable};
use model::{ModelMonitor, Sequences};
use review::ReviewItem;
use review_query::CaseQuery;
use snapshot::{FleetEntry, Snapshot};
use source_health::SourceHealth;
use state::EngineState;

use crate::record::Parser;
use crate::record::batch::{ParsedBatch, ParsedLine};

/// Most models watched at once; predictions for further models are counted
/// as malformed rather than growing memory without bound.
pub const MAX_MODELS: usize = 256;

pub struct Engine {
    settings: EngineSettings,
    models: Vec<ModelMonitor>,
    by_name: HashMap<String, u32>,
    baseline_file: Option<(BaselineFile, String)>,
    join: JoinTable,
    pending: PendingTable,
    counters: InputCounters,
    malformed: VecDeque<MalformedRecord>,
    malformed_window: ingest::MalformedWindow,
    /// Alerts about the input as a whole.
    input_alerts: AlertLog,
    /// Where alert ids and review case numbers are at.
    ids: Sequences,
    /// Health of each live source, for the source-down rule.
    sources: HashMap<String, SourceHealth>,
    emit: bool,
    transitions: Vec<(Transition, Alert)>,
    taps: Vec<TransitionTap>,
    /// Alerts acknowledged so far (a consumer sees that one was).
    acknowledgements: u64,
}

/// Told of every alert transition as it happens, in every mode (alert
/// hooks); it must not block, as it runs inside ingest.
pub type TransitionTap = Box<dyn FnMut(Transition, &Alert) + Send + Sync>;

impl Engine {
    pub fn new(mut settings: EngineSettings) -> Self {
        // Resolved once, so every rule's hysteresis reads one number.
        settings.alerts.clear_after = Some(settings.clear_after());
        Engine {
            join: JoinTable::new(settings.labels.join_capacity),
            pending: PendingTable::new(
                settings.labels.pending_capacity,
                settings.labels.pending_max_bytes,
            ),
            malformed_window: ingest::MalformedWindow::new(&settings),
            settings,
            models: Vec::new(),
            by_name: HashMap::new(),
            baseline_file: None,
            counters: InputCounters::default(),
            malformed: VecDeque::new(),
            input_alerts: AlertLog::new(1_000),
            ids: Sequences::default(),
            sources: HashMap::new(),
            emit: true,
            transitions: Vec::new(),
            taps: Vec::new(),
            acknowledgements: 0,
        }
    }

    /// Keeps alert transitions for [`Engine::take_transitions`] (on by
    /// default; `replay` turns it off since the report has every alert).
    pub fn set_emit_transitions(&mut self, emit: bool) {
        self.emit = emit;
    }

    /// Hands every alert transition to `tap` as well (after the taps
    /// added before), whether or not they are kept for
    /// [`Engine::take_transitions`].
    pub fn add_transition_tap(&mut self, tap: TransitionTap) {
        self.taps.push(tap);
    }

    /// Uses the baselines of a snapshot file for the models it names.
    pub fn set_baseline_file(&mut self, file: BaselineFile, path: &str) {
        self.baseline_file = Some((file, path.to_string()));
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn counters(&self) -> &InputCounters {
        &self.counters
    }

    /// Alerts about the input as a whole (not about one model).
    pub fn input_alerts(&self) -> &AlertLog {
        &self.input_alerts
    }

    pub fn models(&self) -> &[ModelMonitor] {
        &self.models
    }

    pub fn model(&self, name: &str) -> Option<&ModelMonitor> {
        self.by_name.get(name).map(|&i| &self.models[i as usize])
    }

    pub fn malformed(&self) -> impl DoubleEndedIterator<Item = &MalformedRecord> {
        self.malformed.iter()
    }

    /// Feedback that never met its prediction, waiting or dropped.
    pub fn feedback_unmatched(&self) -> u64 {
        self.pending.waiting() as u64 + self.pending.evicted
    }

    /// Waiting feedback dropped because the table was over its bytes
    /// (`labels.pending_max_bytes`); also in [`Engine::feedback_unmatched`].
    pub fn feedback_evicted_over_bytes(&self) -> u64 {
        self.pending.evicted_over_bytes
    }

    /// Predictions dropped from the join before any label arrived.
    pub fn join_evicted(&self) -> u64 {
        self.join.evicted_unlabelled
    }

    /// Alert transitions since the last call.
    pub fn take_transitions(&mut self) -> Vec<(Transition, Alert)> {
        std::mem::take(&mut self.transitions)
    }

    // Lines in (`ingest`).

    /// Takes one line (without its terminator), parsed with `parser`.
    pub fn ingest_line(
        &mut self,
        parser: &Parser,
        line: &[u8],
        origin: LineOrigin<'_>,
        now_ms: i64,
    ) -> LineKind {
        let parsed = ParsedLine::parse(parser, &crate::record::lines::Line::Text(line));
        ingest::line(self, parsed, line, None, origin, now_ms)
    }

    /// Takes a batch of lines parsed by a source or a replay thread, all
    /// from the input called `source`; returns how many were predictions.
    pub fn ingest_batch(&mut self, batch: &ParsedBatch, source: &str, now_ms: i64) -> u64 {
        let mut predictions = 0;
        for ((line, parsed, raw), features) in batch.iter().zip(batch.features()) {
            let origin = LineOrigin { source, line };
            let kind = ingest::line(self, parsed, raw, Some(features), origin, now_ms);
            predictions += u64::from(kind == LineKind::Prediction);
        }
        predictions
    }

    // What an operator does (`actions`).

    /// Applies a decision to the case the operator saw (`shown`, from the
    /// snapshot they acted on), even if the queue has moved since: the case
    /// leaves the queue (or goes to its back when skipped) and approvals and
    /// overrides count as labels for the accuracy figures (replaced by
    /// ground truth if that arrives later).
    pub fn decide(&mut self, shown: &ReviewItem, decision: &Decision, now_ms: i64) {
        actions::decide(self, shown, decision, now_ms);
    }

    /// Marks an alert acknowledged; false when there is no such alert.
    pub fn acknowledge_alert(&mut self, id: u64) -> bool {
        let found = self.input_alerts.acknowledge(id)
            || self.models.iter_mut().any(|m| m.alerts.acknowledge(id));
        self.acknowledgements += u64::from(found);
        found
    }

    /// How many times an alert was acknowledged so far.
    pub fn acknowledgements(&self) -> u64 {
        self.acknowledgements
    }

    /// Starts a new baseline for `model` from its next prediction; false when
    /// there is no such model. Its active alerts clear (they were about the
    /// old baseline); its review queue stays (the cases are still cases).
    pub fn rebaseline(&mut self, model: &str, now_ms: i64) -> bool {
        actions::rebaseline(self, model, now_ms)
    }

    // What the clock and the sources report (`timed`).

    /// Reports whether a source is delivering; the source-down rule fires
    /// once a source has been down for `alerts.source_down.after_secs`.
    pub fn source_health(&mut self, source: &str, healthy: bool, detail: &str, now_ms: i64) {
        timed::source_health(self, source, healthy, detail, now_ms);
    }

    /// Reports how many lines a source has dropped so far because the
    /// engine could not keep up; the ingest-overload rule fires while that
    /// count grows and clears after `alerts.ingest_overload.clear_after_secs`
    /// without a further drop.
    pub fn source_overload(&mut self, source: &str, dropped_overload: u64, now_ms: i64) {
        timed::source_overload(self, source, dropped_overload, now_ms);
    }

    /// Reports when a source last delivered a line (wall clock): the silence
    /// rule fires once a source that sent lines has sent none for
    /// `alerts.silence_after`, and clears when it sends again.
    pub fn source_lines(&mut self, source: &str, last_line_ms: Option<i64>) {
        timed::source_lines(self, source, last_line_ms);
    }

    /// Time-based rules (source down, ingest overload, silence); call about
    /// once a second.
    pub fn tick(&mut self, now_ms: i64) {
        timed::tick(self, now_ms);
    }

    // The read path (`snapshot`).

    /// Copies what a screen or a report needs about `model` (the first
    /// model when `None` or unknown).
    pub fn snapshot(&self, model: Option<&str>) -> Snapshot {
        snapshot::take(self, model)
    }

    /// Every model as the status bar and the `--no-tui` status lines show
    /// it, in order of appearance.
    pub fn fleet(&self) -> Vec<FleetEntry> {
        self.models.iter().map(FleetEntry::of).collect()
    }

    /// The review cases of `model` that match `query`, in its order, as
    /// case numbers (cheap to hold for every case; see [`Engine::cases`]).
    pub fn find_cases(&self, model: &str, query: &CaseQuery) -> Vec<u64> {
        self.model(model)
            .map(|m| review_query::find_cases(m, query))
            .unwrap_or_default()
    }

    /// The review cases of `model` with these case numbers (those still in
    /// the queue), in the order given.
    pub fn cases(&self, model: &str, seqs: &[u64]) -> Vec<ReviewItem> {
        self.model(model)
            .map(|m| review_query::cases(m, seqs))
            .unwrap_or_default()
    }

    // Checkpoints (`state`).

    /// A copy of everything the engine has learnt from its input, for a
    /// checkpoint (taken between batches, it describes one instant).
    pub fn state(&self) -> EngineState {
        state::take(self)
    }

    /// Continues from `state` (replacing whatever was learnt), which was
    /// taken under settings of the same [`state::shape`] as this engine's
    /// (the caller checks); unchanged when the state does not hold up.
    pub fn resume(&mut self, state: EngineState) -> Result<(), String> {
        state::resume(self, state)
    }

    /// Hands alert transitions to [`Engine::take_transitions`] (when kept),
    /// bounded.
    fn push_transitions(&mut self, mut ts: Vec<(Transition, Alert)>) {
        /// Alert transitions held for a consumer that has not taken them.
        const MAX_PENDING_TRANSITIONS: usize = 10_000;
        for tap in &mut self.taps {
            ts.iter().for_each(|(t, a)| tap(*t, a));
        }
        if !self.emit || ts.is_empty() {
            return;
        }
        self.transitions.append(&mut ts);
        if self.transitions.len() > MAX_PENDING_TRANSITIONS {
            let excess = self.transitions.len() - MAX_PENDING_TRANSITIONS;
            self.transitions.drain(..excess);
        }
    }
}

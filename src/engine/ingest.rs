//! The engine: lines in, per-model state and alerts out.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::alert_log::{AlertLog, CheckPoint, RuleState};
use super::alerts::{Alert, AlertKind, Breach, Severity, Transition};
use super::baseline::{Baseline, BaselineFile};
use super::join::{JoinEntry, JoinTable, LabelSource, PendingFeedback, PendingTable, id_hash};
use super::labels::LabelTable;
use super::model::{ModelMonitor, Observation, Sequences};
use super::settings::EngineSettings;
use super::source_health::SourceHealth;
use crate::record::batch::{ParsedBatch, ParsedLine};
use crate::record::lines::Line;
use crate::record::sanitize::escape_bytes;
use crate::record::{Event, Feedback, Parser, Prediction};

/// Most models watched at once; predictions for further models are counted
/// as malformed rather than growing memory without bound.
pub const MAX_MODELS: usize = 256;
/// Alert transitions held for a consumer that has not taken them.
const MAX_PENDING_TRANSITIONS: usize = 10_000;

/// What came in, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputCounters {
    /// Every line or message read, including blank and malformed ones.
    pub lines: u64,
    pub blank: u64,
    pub predictions: u64,
    pub feedback: u64,
    pub malformed: u64,
    /// Lines over the length bound (also counted as malformed).
    pub too_long: u64,
    /// Labels for a prediction that already had one (ignored).
    pub duplicate_labels: u64,
    /// Human labels later replaced by ground truth.
    pub labels_replaced: u64,
}

/// A line that was not an event, kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedRecord {
    pub source: String,
    pub line: u64,
    /// Why, as the parser said it (untrusted: escape before showing).
    pub reason: String,
    /// The start of the line, escaped for display.
    pub excerpt: String,
    pub at_ms: i64,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy)]
pub struct LineOrigin<'a> {
    pub source: &'a str,
    /// 1-based line (or message) number within the source.
    pub line: u64,
}

/// What one line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    Prediction,
    Feedback,
    Malformed,
}

/// Rolling share of malformed lines, in ten blocks.
#[derive(Debug, Clone)]
struct MalformedWindow {
    block: u64,
    blocks: VecDeque<(u64, u64)>,
    state: RuleState,
}

pub struct Engine {
    settings: EngineSettings,
    parser: Parser,
    pub(super) models: Vec<ModelMonitor>,
    pub(super) by_name: HashMap<String, u32>,
    baseline_file: Option<(BaselineFile, String)>,
    pub(super) join: JoinTable,
    pending: PendingTable,
    pub counters: InputCounters,
    malformed: VecDeque<MalformedRecord>,
    malformed_window: MalformedWindow,
    /// Alerts about the input as a whole.
    pub input_alerts: AlertLog,
    /// Where alert ids and review case numbers are at.
    pub(super) ids: Sequences,
    /// Health of each live source, for the source-down rule.
    pub(super) sources: HashMap<String, SourceHealth>,
    emit: bool,
    transitions: Vec<(Transition, Alert)>,
}

impl Engine {
    pub fn new(settings: EngineSettings, parser: Parser) -> Self {
        let block = (settings.alerts.malformed_burst.lines / 10).max(1);
        Engine {
            join: JoinTable::new(settings.labels.join_capacity),
            pending: PendingTable::new(
                settings.labels.pending_capacity,
                settings.labels.pending_max_bytes,
            ),
            malformed_window: MalformedWindow {
                block,
                blocks: VecDeque::from([(0, 0)]),
                state: RuleState::default(),
            },
            settings,
            parser,
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
        }
    }

    /// Keeps alert transitions for [`Engine::take_transitions`] (on by
    /// default; `replay` turns it off since the report has every alert).
    pub fn set_emit_transitions(&mut self, emit: bool) {
        self.emit = emit;
    }

    /// Uses the baselines of a snapshot file for the models it names.
    pub fn set_baseline_file(&mut self, file: BaselineFile, path: &str) {
        self.baseline_file = Some((file, path.to_string()));
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
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

    /// Takes one line (without its terminator).
    pub fn ingest_line(&mut self, line: &[u8], origin: LineOrigin<'_>, now_ms: i64) -> LineKind {
        let parsed = ParsedLine::parse(&self.parser, &Line::Text(line));
        self.ingest_parsed(parsed, line, origin, now_ms)
    }

    /// The parser lines are read with (for parsing on another thread).
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// Takes a batch of lines parsed by a source or a replay thread, all
    /// from the input called `source`; returns how many were predictions.
    pub fn ingest_batch(&mut self, batch: &ParsedBatch, source: &str, now_ms: i64) -> u64 {
        let mut predictions = 0;
        for (line, parsed, raw) in batch.iter() {
            let kind = self.ingest_parsed(parsed, raw, LineOrigin { source, line }, now_ms);
            predictions += u64::from(kind == LineKind::Prediction);
        }
        predictions
    }

    /// Takes a line already parsed (see `record::batch`); `raw` is the line
    /// as far as it was kept (for the reviewer and the malformed-line samples).
    pub fn ingest_parsed(
        &mut self,
        parsed: ParsedLine<'_>,
        raw: &[u8],
        origin: LineOrigin<'_>,
        now_ms: i64,
    ) -> LineKind {
        self.counters.lines += 1;
        let kind = match parsed {
            ParsedLine::Blank => {
                self.counters.blank += 1;
                LineKind::Blank
            }
            ParsedLine::Event(Event::Prediction(p)) => self.on_prediction(p, raw, origin, now_ms),
            ParsedLine::Event(Event::Feedback(f)) => {
                self.on_feedback(f, now_ms);
                LineKind::Feedback
            }
            ParsedLine::Malformed(m) => {
                self.record_malformed(origin, m.reason, raw, now_ms);
                LineKind::Malformed
            }
            ParsedLine::TooLong(bytes) => {
                self.counters.too_long += 1;
                let reason = format!("line of {bytes} bytes is over the length bound; skipped");
                self.record_malformed(origin, reason, b"", now_ms);
                LineKind::Malformed
            }
        };
        self.count_line(kind == LineKind::Malformed, now_ms);
        kind
    }

    fn on_prediction(
        &mut self,
        p: Prediction<'_>,
        raw: &[u8],
        origin: LineOrigin<'_>,
        now_ms: i64,
    ) -> LineKind {
        let Some(m) = self.model_index(&p.model) else {
            let reason = format!("more than {MAX_MODELS} models; this model is not watched");
            self.record_malformed(origin, reason, raw, now_ms);
            return LineKind::Malformed;
        };
        self.counters.predictions += 1;
        let hash = p.id.as_deref().map(id_hash);
        if let Some(h) = hash {
            self.join.prefetch(h);
        }
        let model = &mut self.models[m as usize];
        let label = model.labels.intern(&p.label);
        let ts_ms = p.ts_ms.unwrap_or(now_ms);
        let mut out = Vec::new();
        let index = model.observe(
            Observation {
                label,
                confidence: p.confidence,
                margin: p.margin,
                ts_ms,
                now_ms,
                case_id: p.id.as_deref(),
                raw,
            },
            &self.settings,
            &mut self.ids,
            &mut out,
        );
        self.push_transitions(out);
        if let Some(hash) = hash {
            let seq = self.join.insert(
                hash,
                JoinEntry {
                    model: m,
                    index,
                    label,
                    ts_ms,
                    labelled: None,
                    prev: None,
                },
            );
            if let Some(waiting) = self.pending.take(hash, &p.model) {
                self.apply_label(
                    seq,
                    &waiting.label,
                    LabelSource::Feedback,
                    Some(waiting.ts_ms),
                );
            }
        }
        LineKind::Prediction
    }

    fn on_feedback(&mut self, f: Feedback<'_>, now_ms: i64) {
        self.counters.feedback += 1;
        let hash = id_hash(&f.id);
        let ts_ms = f.ts_ms.unwrap_or(now_ms);
        // Every model that predicted this id, or the one the feedback names.
        let only = f.model.as_deref().map(|m| self.by_name.get(m).copied());
        let targets = self
            .join
            .entries_where(hash, |e| only.is_none_or(|model| Some(e.model) == model));
        if targets.is_empty() {
            self.pending.insert(
                hash,
                PendingFeedback {
                    label: f.label.into_owned(),
                    ts_ms,
                    model: f.model.map(|m| m.into_owned()),
                },
            );
            return;
        }
        for seq in targets {
            self.apply_label(seq, &f.label, LabelSource::Feedback, Some(ts_ms));
        }
    }

    /// Counts a label for the join entry `seq`.
    pub(super) fn apply_label(
        &mut self,
        seq: u64,
        label: &str,
        source: LabelSource,
        ts_ms: Option<i64>,
    ) {
        let Some(entry) = self.join.entry_mut(seq) else {
            return;
        };
        let model = &mut self.models[entry.model as usize];
        let correct = model.labels.get(label) == Some(entry.label);
        let delay = ts_ms.map(|t| t - entry.ts_ms);
        let previous = match entry.labelled {
            None => None,
            Some((LabelSource::Human, was)) if source == LabelSource::Feedback => {
                self.counters.labels_replaced += 1;
                Some(was)
            }
            Some(_) => {
                self.counters.duplicate_labels += 1;
                return;
            }
        };
        entry.labelled = Some((source, correct));
        model.record_label(entry.index, correct, previous, delay);
    }

    fn model_index(&mut self, name: &str) -> Option<u32> {
        if let Some(&i) = self.by_name.get(name) {
            return Some(i);
        }
        if self.models.len() >= MAX_MODELS {
            return None;
        }
        let from_file = self.baseline_file.as_ref().and_then(|(file, path)| {
            let model = file.models.get(name)?;
            let mut labels = LabelTable::default();
            Baseline::from_file(model, &mut labels, path)
                .ok()
                .map(|b| (b, labels))
        });
        let monitor = ModelMonitor::new(name, &self.settings, from_file);
        let i = self.models.len() as u32;
        self.models.push(monitor);
        self.by_name.insert(name.to_string(), i);
        Some(i)
    }

    fn record_malformed(
        &mut self,
        origin: LineOrigin<'_>,
        reason: String,
        line: &[u8],
        now_ms: i64,
    ) {
        self.counters.malformed += 1;
        if self.settings.malformed_kept == 0 {
            return;
        }
        if self.malformed.len() >= self.settings.malformed_kept {
            self.malformed.pop_front();
        }
        self.malformed.push_back(MalformedRecord {
            source: origin.source.to_string(),
            line: origin.line,
            reason,
            excerpt: escape_bytes(crate::record::sanitize::excerpt(line)),
            at_ms: now_ms,
        });
    }

    /// Feeds the malformed-burst rule; checks at each block boundary.
    fn count_line(&mut self, malformed: bool, now_ms: i64) {
        let w = &mut self.malformed_window;
        let rule = self.settings.alerts.malformed_burst;
        let back = w.blocks.back_mut().expect("one block always open");
        back.0 += 1;
        back.1 += u64::from(malformed);
        if back.0 < w.block {
            return;
        }
        let (lines, bad) = w.blocks.iter().fold((0, 0), |(l, b), x| (l + x.0, b + x.1));
        if w.blocks.len() >= 10 {
            w.blocks.pop_front();
        }
        w.blocks.push_back((0, 0));
        if !rule.enabled {
            return;
        }
        let share = bad as f64 / lines.max(1) as f64;
        let breach = (bad >= rule.min_count && share >= rule.min_share).then(|| Breach {
            severity: Severity::Warning,
            direction: None,
            detail: format!(
                "{bad} of the last {lines} lines were malformed ({:.1}%); the last ones are kept with their reasons",
                share * 100.0
            ),
        });
        let at = CheckPoint {
            model: None,
            index: self.counters.lines,
            ts_ms: now_ms,
        };
        let transition = self.input_alerts.step(
            &mut w.state,
            &self.settings.alerts,
            AlertKind::MalformedBurst,
            at,
            breach,
            &mut self.ids.alert,
        );
        if let Some(t) = transition {
            self.push_transitions(vec![t]);
        }
    }

    pub(super) fn push_transitions(&mut self, mut ts: Vec<(Transition, Alert)>) {
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

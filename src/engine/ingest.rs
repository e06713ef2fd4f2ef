//! Lines in: each parsed line counted, a prediction handed to its model
//! (and the label join), feedback joined to its prediction, a malformed line
//! kept for inspection and counted for the malformed-burst rule.

use std::collections::VecDeque;

use serde::Serialize;

use super::alert_log::{CheckPoint, RuleState};
use super::alerts::{AlertKind, Breach, Severity};
use super::baseline::Baseline;
use super::join::{JoinEntry, LabelSource, PendingFeedback, id_hash};
use super::labels::LabelTable;
use super::model::{ModelMonitor, Observation};
use super::settings::EngineSettings;
use super::{Engine, MAX_MODELS};
use crate::record::batch::ParsedLine;
use crate::record::features::{FeatureArena, Features};
use crate::record::{Event, Feedback, Prediction};

/// What came in, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MalformedRecord {
    pub source: String,
    pub line: u64,
    /// Why, as the parser said it (untrusted: escape before showing).
    pub reason: String,
    /// The start of the line as read (untrusted bytes, perhaps not UTF-8:
    /// escape before showing).
    #[serde(skip)]
    pub excerpt: Vec<u8>,
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct MalformedWindow {
    block: u64,
    blocks: VecDeque<(u64, u64)>,
    state: RuleState,
}

impl MalformedWindow {
    pub(super) fn new(settings: &EngineSettings) -> Self {
        MalformedWindow {
            block: (settings.alerts.malformed_burst.lines / 10).max(1),
            blocks: VecDeque::from([(0, 0)]),
            state: RuleState::default(),
        }
    }
}

/// Takes a line already parsed (see `record::batch`); `raw` is the line
/// as far as it was kept (for the reviewer and the malformed-line samples),
/// `features` a prediction's features when read already (batches).
pub(super) fn line(
    e: &mut Engine,
    parsed: ParsedLine<'_>,
    raw: &[u8],
    features: Option<Features<'_>>,
    origin: LineOrigin<'_>,
    now_ms: i64,
) -> LineKind {
    e.counters.lines += 1;
    let kind = match parsed {
        ParsedLine::Blank => {
            e.counters.blank += 1;
            LineKind::Blank
        }
        ParsedLine::Event(Event::Prediction(p)) => {
            on_prediction(e, p, raw, features, origin, now_ms)
        }
        ParsedLine::Event(Event::Feedback(f)) => {
            on_feedback(e, f, now_ms);
            LineKind::Feedback
        }
        ParsedLine::Malformed(m) => {
            record_malformed(e, origin, m.reason, raw, now_ms);
            LineKind::Malformed
        }
        ParsedLine::TooLong(bytes) => {
            e.counters.too_long += 1;
            let reason = format!("line of {bytes} bytes is over the length bound; skipped");
            record_malformed(e, origin, reason, b"", now_ms);
            LineKind::Malformed
        }
    };
    count_line(e, kind == LineKind::Malformed, now_ms);
    kind
}

fn on_prediction(
    e: &mut Engine,
    p: Prediction<'_>,
    raw: &[u8],
    features: Option<Features<'_>>,
    origin: LineOrigin<'_>,
    now_ms: i64,
) -> LineKind {
    // Batches hold features read already; a single line's are read here.
    let read;
    let features = match features {
        Some(f) => f,
        None if p.has_input => {
            let at;
            (read, at) = FeatureArena::of_line(raw);
            read.get(at)
        }
        None => Features::default(),
    };
    let Some(m) = model_index(e, &p.model) else {
        let reason = format!("more than {MAX_MODELS} models; this model is not watched");
        record_malformed(e, origin, reason, raw, now_ms);
        return LineKind::Malformed;
    };
    e.counters.predictions += 1;
    let hash = p.id.as_deref().map(id_hash);
    if let Some(h) = hash {
        e.join.prefetch(h);
    }
    let model = &mut e.models[m as usize];
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
            features: &features,
            segment: p.segment.as_deref(),
        },
        &e.settings,
        &mut e.ids,
        &mut out,
    );
    e.push_transitions(out);
    if let Some(hash) = hash {
        let seq = e.join.insert(
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
        if let Some(waiting) = e.pending.take(hash, &p.model) {
            apply_label(
                e,
                seq,
                &waiting.label,
                LabelSource::Feedback,
                Some(waiting.ts_ms),
            );
        }
    }
    LineKind::Prediction
}

fn on_feedback(e: &mut Engine, f: Feedback<'_>, now_ms: i64) {
    e.counters.feedback += 1;
    let hash = id_hash(&f.id);
    let ts_ms = f.ts_ms.unwrap_or(now_ms);
    // Every model that predicted this id, or the one the feedback names.
    let only = f.model.as_deref().map(|m| e.by_name.get(m).copied());
    let targets = e
        .join
        .entries_where(hash, |j| only.is_none_or(|model| Some(j.model) == model));
    if targets.is_empty() {
        e.pending.insert(
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
        apply_label(e, seq, &f.label, LabelSource::Feedback, Some(ts_ms));
    }
}

/// Counts a label for the join entry `seq`.
pub(super) fn apply_label(
    e: &mut Engine,
    seq: u64,
    label: &str,
    source: LabelSource,
    ts_ms: Option<i64>,
) {
    let Some(entry) = e.join.entry_mut(seq) else {
        return;
    };
    let model = &mut e.models[entry.model as usize];
    let correct = model.labels.get(label) == Some(entry.label);
    let delay = ts_ms.map(|t| t - entry.ts_ms);
    let previous = match entry.labelled {
        None => None,
        Some((LabelSource::Human, was)) if source == LabelSource::Feedback => {
            e.counters.labels_replaced += 1;
            Some(was)
        }
        Some(_) => {
            e.counters.duplicate_labels += 1;
            return;
        }
    };
    entry.labelled = Some((source, correct));
    model.record_label(entry.index, correct, previous, delay);
}

fn model_index(e: &mut Engine, name: &str) -> Option<u32> {
    if let Some(&i) = e.by_name.get(name) {
        return Some(i);
    }
    if e.models.len() >= MAX_MODELS {
        return None;
    }
    let from_file = e.baseline_file.as_ref().and_then(|(file, path)| {
        let model = file.models.get(name)?;
        let mut labels = LabelTable::default();
        Baseline::from_file(model, &mut labels, path)
            .ok()
            .map(|b| (b, labels))
    });
    let monitor = ModelMonitor::new(name, &e.settings, from_file);
    let i = e.models.len() as u32;
    e.models.push(monitor);
    e.by_name.insert(name.to_string(), i);
    Some(i)
}

fn record_malformed(
    e: &mut Engine,
    origin: LineOrigin<'_>,
    reason: String,
    line: &[u8],
    now_ms: i64,
) {
    e.counters.malformed += 1;
    if e.settings.malformed_kept == 0 {
        return;
    }
    if e.malformed.len() >= e.settings.malformed_kept {
        e.malformed.pop_front();
    }
    e.malformed.push_back(MalformedRecord {
        source: origin.source.to_string(),
        line: origin.line,
        reason,
        excerpt: crate::record::sanitize::excerpt(line).to_vec(),
        at_ms: now_ms,
    });
}

/// Feeds the malformed-burst rule; checks at each block boundary.
fn count_line(e: &mut Engine, malformed: bool, now_ms: i64) {
    let w = &mut e.malformed_window;
    let rule = e.settings.alerts.malformed_burst;
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
        index: e.counters.lines,
        ts_ms: now_ms,
    };
    let transition = e.input_alerts.step(
        &mut w.state,
        &e.settings.alerts,
        AlertKind::MalformedBurst,
        at,
        breach,
        &mut e.ids.alert,
    );
    if let Some(t) = transition {
        e.push_transitions(vec![t]);
    }
}

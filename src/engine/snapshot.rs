//! The read path: immutable copies of what a screen or a report shows,
//! taken from the engine once per frame (and not at all while the view is
//! paused). Everything here is owned, so drawing never touches live state.
//! The review queue is read through [`super::review_query`], page by page.

use std::sync::Arc;

use super::Engine;
use super::alerts::{Alert, AlertKind, Direction, Severity};
use super::cbpe::AccuracyEstimate;
use super::compare::Comparison;
use super::features::view::FeaturesView;
use super::history::BucketView;
use super::ingest::{InputCounters, MalformedRecord};
use super::model::{BaselineState, ModelMonitor};
use super::recent_accuracy::RecentAccuracy;
use super::rules::{AlertRules, RULES};
use super::window::ConfidenceSummary;

/// The baseline as the charts compare with it.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineView {
    Collecting {
        so_far: u64,
    },
    Frozen {
        n: u64,
        summary: ConfidenceSummary,
        /// Share of each label (by label id).
        shares: Vec<f64>,
        realized: Option<f64>,
        labelled: u64,
        estimated: AccuracyEstimate,
    },
}

/// The sliding window of the last W predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowView {
    pub n: u64,
    pub summary: Option<ConfidenceSummary>,
    /// The window against the baseline as the rules last checked it
    /// (`None` until checks start: see `alerts.min_samples`).
    pub comparison: Option<Comparison>,
    pub shares: Vec<f64>,
    pub estimated: Option<AccuracyEstimate>,
}

/// One rule's state for the drift panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleView {
    /// Prediction index where the current breaching run began.
    pub breaching_since: Option<u64>,
    pub active: bool,
    pub direction: Option<Direction>,
}

/// Every rule of the model's, in the order of `rules::RULES`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RulesView(pub Vec<(AlertKind, RuleView)>);

impl RulesView {
    /// The rule raising `kind` (a rule not run for models shows as idle).
    pub fn get(&self, kind: AlertKind) -> RuleView {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DetectorsView {
    pub page_hinkley_last: Option<u64>,
    pub page_hinkley_count: usize,
    pub adwin_last: Option<u64>,
    pub adwin_count: usize,
}

/// Everything about the model on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelView {
    pub name: String,
    pub predictions: u64,
    pub labels: Vec<String>,
    pub baseline: BaselineView,
    pub window: Option<WindowView>,
    pub history: Vec<BucketView>,
    pub history_bucket_ms: i64,
    pub rules: RulesView,
    pub detectors: DetectorsView,
    /// Confidence below which a prediction is queued for review.
    pub review_threshold: f64,
    pub label_delay_ms: Option<f64>,
    pub labelled_total: u64,
    /// Realized accuracy of the last labelled predictions (what
    /// `accuracy_drop` decides on).
    pub recent_accuracy: RecentAccuracy,
    /// The input features against their baseline.
    pub features: FeaturesView,
    /// The segments against their own baselines.
    pub segments: SegmentsView,
}

/// A model's segments (its traffic split by a field's value), each watched
/// against its own baseline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentsView {
    /// The model's baseline is being collected: no segment is watched yet.
    pub collecting: bool,
    /// Each watched segment, field by field, the largest in the baseline
    /// first (the order `segment_drift` lists them in).
    pub rows: Vec<SegmentRow>,
    /// What splits the traffic (`segment`, `input.NAME`); none when
    /// segments are off.
    pub fields: Vec<Arc<str>>,
    /// Predictions whose value is not watched.
    pub unwatched: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    /// `field=value`, as `segment_drift` names it; the value came from the
    /// stream.
    pub name: Arc<str>,
    /// Predictions in its sliding window now.
    pub window: u64,
    pub baseline_mean: f64,
    /// Its sliding window as last tested (none before its first test).
    pub last: Option<SegmentCheck>,
    /// Labelled predictions in its sliding window, and those right.
    pub labelled: u64,
    pub correct: u64,
    /// Listed by the active `segment_drift` alert.
    pub in_alert: bool,
}

/// A segment's sliding window at its last test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentCheck {
    /// Predictions tested.
    pub n: u64,
    pub mean: f64,
    pub comparison: Comparison,
}

impl SegmentRow {
    /// Realized accuracy of its window (none without labels).
    pub fn accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub counters: InputCounters,
    /// Every model, in order of appearance.
    pub fleet: Vec<FleetEntry>,
    pub model: Option<ModelView>,
    /// The model's alerts and those about the input as a whole: active
    /// first, then newest first (the alerts panel's order).
    pub alerts: Vec<Alert>,
    /// Newest first.
    pub malformed: Vec<MalformedRecord>,
}

/// One model as the status bar (and a list of models) shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetEntry {
    pub name: String,
    pub predictions: u64,
    /// Active alerts by severity, and those not yet acknowledged.
    pub critical: usize,
    pub warning: usize,
    pub unacknowledged: usize,
    pub in_queue: usize,
    /// Cases the review queue evicted, and of those for its bytes.
    pub review_evicted: u64,
    pub review_evicted_over_bytes: u64,
    /// Predictions in the frozen baseline, or `None` while it is collecting
    /// (`collecting` of them so far).
    pub baseline_n: Option<u64>,
    pub collecting: u64,
    /// When its last prediction arrived (wall clock).
    pub last_arrival_ms: Option<i64>,
    /// Predictions per second over the last minute before that arrival.
    pub rate: f64,
    /// Realized accuracy of its last labelled predictions.
    pub recent_accuracy: RecentAccuracy,
}

impl FleetEntry {
    pub(super) fn of(m: &ModelMonitor) -> FleetEntry {
        // One pass over the alert log: this runs per model per frame.
        let (mut critical, mut warning, mut unacknowledged) = (0, 0, 0);
        for a in m.alerts.alerts.iter().filter(|a| a.is_active()) {
            match a.severity {
                Severity::Critical => critical += 1,
                Severity::Warning => warning += 1,
            }
            unacknowledged += usize::from(!a.acknowledged);
        }
        FleetEntry {
            name: m.name.clone(),
            predictions: m.predictions,
            critical,
            warning,
            unacknowledged,
            in_queue: m.review.len(),
            review_evicted: m.review.evicted,
            review_evicted_over_bytes: m.review.evicted_over_bytes,
            baseline_n: match &m.baseline {
                BaselineState::Frozen(b) => Some(b.n()),
                BaselineState::Collecting(_) => None,
            },
            collecting: match &m.baseline {
                BaselineState::Collecting(b) => b.len(),
                BaselineState::Frozen(_) => 0,
            },
            last_arrival_ms: m.last_arrival_ms,
            rate: m.last_arrival_ms.map_or(0.0, |t| m.history.rate(t, 60_000)),
            recent_accuracy: m.recent.figures(),
        }
    }

    /// How much it needs the operator: critical alerts first, then
    /// warnings, then unacknowledged ones.
    pub fn trouble(&self) -> (usize, usize, usize) {
        (self.critical, self.warning, self.unacknowledged)
    }
}

impl Snapshot {
    /// Every model's name, in order of appearance.
    pub fn model_names(&self) -> Vec<String> {
        self.fleet.iter().map(|f| f.name.clone()).collect()
    }

    /// The model on screen as the fleet lists it.
    pub fn fleet_entry(&self) -> Option<&FleetEntry> {
        let name = &self.model.as_ref()?.name;
        self.fleet.iter().find(|f| &f.name == name)
    }

    /// The model needing the operator most, if any has an active alert.
    pub fn worst_model(&self) -> Option<&str> {
        self.fleet
            .iter()
            .filter(|f| f.critical + f.warning > 0)
            .max_by_key(|f| f.trouble())
            .map(|f| f.name.as_str())
    }
}

/// Alerts copied per model (the newest).
const ALERTS_SHOWN: usize = 50;
const MALFORMED_SHOWN: usize = 20;

/// See [`Engine::snapshot`].
pub(super) fn take(e: &Engine, model: Option<&str>) -> Snapshot {
    let current = model
        .and_then(|name| e.model(name))
        .or_else(|| e.models().first());
    let mut alerts: Vec<Alert> = current
        .map(|m| newest(&m.alerts.alerts))
        .into_iter()
        .flatten()
        .chain(newest(&e.input_alerts().alerts))
        .cloned()
        .collect();
    alerts.sort_by(|a, b| {
        b.is_active()
            .cmp(&a.is_active())
            .then(b.ts_ms.cmp(&a.ts_ms))
            .then(b.id.cmp(&a.id))
    });
    Snapshot {
        counters: e.counters().clone(),
        fleet: e.fleet(),
        model: current.map(|m| model_view(m, &e.settings().alerts)),
        alerts,
        malformed: e.malformed().rev().take(MALFORMED_SHOWN).cloned().collect(),
    }
}

/// What the active alert of `kind` names (features, segments).
fn listed_by(m: &ModelMonitor, kind: AlertKind) -> &[Arc<str>] {
    m.alerts
        .alerts
        .iter()
        .rev()
        .find(|a| a.kind == kind && a.is_active())
        .and_then(|a| a.names.as_deref())
        .unwrap_or_default()
}

fn segments_view(m: &ModelMonitor) -> SegmentsView {
    let listed = listed_by(m, AlertKind::SegmentDrift);
    SegmentsView {
        collecting: matches!(m.baseline, BaselineState::Collecting(_)),
        rows: m
            .segments
            .segments()
            .map(|(_, s)| {
                let (window, labelled, correct) = s.sliding_counts();
                SegmentRow {
                    name: Arc::clone(&s.name),
                    window,
                    baseline_mean: s.baseline.mean,
                    last: s.last.map(|f| SegmentCheck {
                        n: f.n,
                        mean: f.mean,
                        comparison: f.comparison,
                    }),
                    labelled,
                    correct,
                    in_alert: listed.iter().any(|l| **l == *s.name),
                }
            })
            .collect(),
        fields: m.segments.fields().cloned().collect(),
        unwatched: m.segments.unwatched(),
    }
}

/// The newest alerts of a log, newest first.
fn newest(alerts: &[Alert]) -> impl Iterator<Item = &Alert> {
    alerts.iter().rev().take(ALERTS_SHOWN)
}

fn shares(counts: &[u64], n_labels: usize) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    (0..n_labels)
        .map(|i| {
            let c = counts.get(i).copied().unwrap_or(0);
            if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            }
        })
        .collect()
}

fn model_view(m: &ModelMonitor, rules: &AlertRules) -> ModelView {
    let n_labels = m.labels.len();
    let baseline = match &m.baseline {
        BaselineState::Collecting(b) => BaselineView::Collecting { so_far: b.len() },
        BaselineState::Frozen(b) => BaselineView::Frozen {
            n: b.n(),
            summary: ConfidenceSummary {
                mean: b.mean,
                p10: b.p10,
                p50: b.p50,
                p90: b.p90,
            },
            shares: shares(&b.mix.0, n_labels),
            realized: b.accuracy(),
            labelled: b.labelled,
            estimated: b.calibration.baseline_estimate(b.mean),
        },
    };
    let window = m
        .frozen_baseline()
        .filter(|_| m.sliding.n() > 0)
        .map(|_| WindowView {
            n: m.sliding.n(),
            summary: m.sliding.summary(),
            comparison: m.sliding.last_comparison(),
            shares: shares(&m.sliding.mix().0, n_labels),
            estimated: m.sliding.estimated(),
        });
    let rule = |kind: AlertKind| {
        let active = m
            .alerts
            .alerts
            .iter()
            .rev()
            .find(|a| a.kind == kind && a.is_active());
        RuleView {
            breaching_since: m.rules.of(kind).breaching_since(),
            active: active.is_some(),
            direction: active.and_then(|a| a.direction),
        }
    };
    ModelView {
        name: m.name.clone(),
        predictions: m.predictions,
        labels: m.labels.names().map(str::to_string).collect(),
        baseline,
        window,
        history: m.history.buckets(),
        history_bucket_ms: m.history.bucket_ms(),
        rules: RulesView(
            RULES
                .iter()
                .filter(|r| r.per_model)
                .map(|r| (r.kind, rule(r.kind)))
                .collect(),
        ),
        detectors: DetectorsView {
            page_hinkley_last: m.detectors.page_hinkley_hits.last().copied(),
            page_hinkley_count: m.detectors.page_hinkley_hits.len(),
            adwin_last: m.detectors.adwin_hits.last().copied(),
            adwin_count: m.detectors.adwin_hits.len(),
        },
        review_threshold: m.review.threshold(),
        label_delay_ms: m.mean_label_delay_ms(),
        labelled_total: m.labelled,
        recent_accuracy: m.recent.figures(),
        features: m
            .features
            .view(&rules.feature_drift, listed_by(m, AlertKind::FeatureDrift)),
        segments: segments_view(m),
    }
}

//! Immutable copies of what a screen shows, taken from the engine once per
//! frame (and not at all while the view is paused). Everything here is
//! owned, so drawing never touches live state.

use super::alerts::{Alert, Direction, Severity};
use super::cbpe::AccuracyEstimate;
use super::compare::Comparison;
use super::history::BucketView;
use super::ingest::{Engine, InputCounters, MalformedRecord};
use super::model::{BaselineState, ModelMonitor};
use super::review::{CaseState, QueuedCase, ReviewItem, ReviewQueue};
use super::window::ConfidenceSummary;

/// How the review queue is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewOrder {
    /// A queue: the case waiting longest first.
    #[default]
    OldestFirst,
    LowestConfidenceFirst,
    NewestFirst,
}

/// Which part of the review queue to copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewQuery {
    pub order: ReviewOrder,
    /// Case-insensitive text that the id, label or model must contain.
    pub filter: Option<String>,
    /// The case the operator has selected.
    pub selected: Option<u64>,
    /// Where the selection was, used when that case has left the queue.
    pub fallback_position: usize,
    /// Cases to copy around the selection.
    pub page: usize,
}

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
    pub comparison: Comparison,
    pub shares: Vec<f64>,
    pub realized: Option<f64>,
    pub labelled: u64,
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

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RulesView {
    pub confidence: RuleView,
    pub mix: RuleView,
    pub accuracy: RuleView,
    pub change_point: RuleView,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DetectorsView {
    pub page_hinkley_last: Option<u64>,
    pub page_hinkley_count: usize,
    pub adwin_last: Option<u64>,
    pub adwin_count: usize,
}

/// The review queue page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewView {
    pub threshold: f64,
    pub evicted: u64,
    /// Cases matching the filter.
    pub total: usize,
    /// Index of `page[0]` in the sorted, filtered list.
    pub page_start: usize,
    pub page: Vec<ReviewItem>,
    /// Index into `page` of the selected case.
    pub selected: Option<usize>,
}

impl ReviewView {
    pub fn selected_item(&self) -> Option<&ReviewItem> {
        self.selected.and_then(|i| self.page.get(i))
    }
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
    pub review: ReviewView,
    pub label_delay_ms: Option<f64>,
    pub labelled_total: u64,
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl FleetEntry {
    fn of(m: &ModelMonitor) -> FleetEntry {
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

impl Engine {
    /// Copies what a screen needs about `model` (the first model when
    /// `None` or unknown).
    pub fn snapshot(&self, model: Option<&str>, query: &ReviewQuery) -> Snapshot {
        let current = model
            .and_then(|name| self.model(name))
            .or_else(|| self.models().first());
        let mut alerts: Vec<Alert> = current
            .map(|m| newest(&m.alerts.alerts))
            .into_iter()
            .flatten()
            .chain(newest(&self.input_alerts.alerts))
            .cloned()
            .collect();
        alerts.sort_by(|a, b| {
            b.is_active()
                .cmp(&a.is_active())
                .then(b.ts_ms.cmp(&a.ts_ms))
                .then(b.id.cmp(&a.id))
        });
        Snapshot {
            counters: self.counters.clone(),
            fleet: self.fleet(),
            model: current.map(|m| model_view(m, query)),
            alerts,
            malformed: self
                .malformed()
                .rev()
                .take(MALFORMED_SHOWN)
                .cloned()
                .collect(),
        }
    }
}

impl Engine {
    /// Every model as the status bar and the `--no-tui` status lines show
    /// it, in order of appearance.
    pub fn fleet(&self) -> Vec<FleetEntry> {
        self.models().iter().map(FleetEntry::of).collect()
    }

    /// Copies only the review queue's page of `model` (a paused screen
    /// scrolling past the cases it copied).
    pub fn review_page(&self, model: &str, query: &ReviewQuery) -> Option<ReviewView> {
        self.model(model).map(|m| review_view(m, query))
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

fn model_view(m: &ModelMonitor, query: &ReviewQuery) -> ModelView {
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
        .map(|b| WindowView {
            n: m.sliding.n(),
            summary: m.sliding.summary(),
            comparison: m.sliding.evaluate(b, &m.labels),
            shares: shares(&m.sliding.mix().0, n_labels),
            realized: m.sliding.realized_accuracy(),
            labelled: m.sliding.labelled,
            estimated: m.sliding.estimated(),
        });
    let rule = |state: &super::alert_log::RuleState, kind: super::alerts::AlertKind| {
        let active = m
            .alerts
            .alerts
            .iter()
            .rev()
            .find(|a| a.kind == kind && a.is_active());
        RuleView {
            breaching_since: state.breaching_since(),
            active: active.is_some(),
            direction: active.and_then(|a| a.direction),
        }
    };
    use super::alerts::AlertKind as K;
    ModelView {
        name: m.name.clone(),
        predictions: m.predictions,
        labels: m.labels.names().map(str::to_string).collect(),
        baseline,
        window,
        history: m.history.buckets(),
        history_bucket_ms: m.history.bucket_ms(),
        rules: RulesView {
            confidence: rule(&m.rules.confidence, K::ConfidenceDrift),
            mix: rule(&m.rules.mix, K::PredictionMixDrift),
            accuracy: rule(&m.rules.accuracy, K::AccuracyDrop),
            change_point: rule(&m.rules.change_point, K::ChangePoint),
        },
        detectors: DetectorsView {
            page_hinkley_last: m.detectors.page_hinkley_hits.last().copied(),
            page_hinkley_count: m.detectors.page_hinkley_hits.len(),
            adwin_last: m.detectors.adwin_hits.last().copied(),
            adwin_count: m.detectors.adwin_hits.len(),
        },
        review: review_view(m, query),
        label_delay_ms: m.mean_label_delay_ms(),
        labelled_total: m.labelled,
    }
}

fn review_view(m: &ModelMonitor, query: &ReviewQuery) -> ReviewView {
    let filter = query
        .filter
        .as_ref()
        .map(|f| f.to_lowercase())
        .filter(|f| !f.is_empty());
    // Every case in the queue is this model's: a filter matching its name
    // matches them all.
    let filter = filter.filter(|f| !contains_lowercase(&m.name, f));
    let matches = |i: &QueuedCase| {
        filter.as_ref().is_none_or(|f| {
            contains_lowercase(&i.case_id(&m.name), f)
                || contains_lowercase(m.labels.name(i.label), f)
        })
    };
    let mut order: Vec<&QueuedCase> = m.review.cases().filter(|i| matches(i)).collect();
    let skipped = |i: &QueuedCase| i.state == CaseState::Skipped;
    match query.order {
        ReviewOrder::OldestFirst => {
            order.sort_by(|a, b| skipped(a).cmp(&skipped(b)).then(a.seq.cmp(&b.seq)))
        }
        ReviewOrder::NewestFirst => {
            order.sort_by(|a, b| skipped(a).cmp(&skipped(b)).then(b.seq.cmp(&a.seq)))
        }
        ReviewOrder::LowestConfidenceFirst => order.sort_by(|a, b| {
            skipped(a)
                .cmp(&skipped(b))
                .then(a.confidence.total_cmp(&b.confidence))
                .then(b.seq.cmp(&a.seq))
        }),
    }
    let total = order.len();
    let position = query
        .selected
        .and_then(|seq| order.iter().position(|i| i.seq == seq))
        .unwrap_or(query.fallback_position.min(total.saturating_sub(1)));
    let page = query.page.max(1);
    let start = position
        .saturating_sub(page / 2)
        .min(total.saturating_sub(page));
    let end = (start + page).min(total);
    ReviewView {
        threshold: m.review.threshold(),
        evicted: m.review.evicted,
        total,
        page_start: start,
        page: order[start..end]
            .iter()
            .map(|c| ReviewQueue::item(c, &m.name, &m.labels))
            .collect(),
        selected: (total > 0).then_some(position - start),
    }
}

/// Whether `hay`, lower-cased, contains `needle` (already lower-case);
/// without allocating for ASCII text, as this runs per case per frame.
fn contains_lowercase(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineSettings, LineOrigin};
    use crate::record::Parser;

    fn engine_with_cases() -> Engine {
        let mut e = Engine::new(EngineSettings::default(), Parser::default());
        for (i, c) in [0.3, 0.5, 0.1, 0.9, 0.55].iter().enumerate() {
            let line = format!(r#"{{"id":"c{i}","model":"m","prediction":"x","confidence":{c}}}"#);
            e.ingest_line(
                line.as_bytes(),
                LineOrigin {
                    source: "t",
                    line: i as u64,
                },
                0,
            );
        }
        e
    }

    #[test]
    fn review_pages_follow_order_selection_and_filter() {
        let e = engine_with_cases();
        let q = ReviewQuery {
            page: 10,
            ..ReviewQuery::default()
        };
        // A queue by default: the case waiting longest first.
        let s = e.snapshot(None, &q);
        let view = &s.model.as_ref().unwrap().review;
        let ids: Vec<&str> = view.page.iter().map(|i| i.case_id.as_str()).collect();
        assert_eq!(ids, ["c0", "c1", "c2", "c4"]);
        let q = ReviewQuery {
            order: ReviewOrder::NewestFirst,
            ..q
        };
        let s = e.snapshot(None, &q);
        let view = &s.model.as_ref().unwrap().review;
        let ids: Vec<&str> = view.page.iter().map(|i| i.case_id.as_str()).collect();
        assert_eq!(ids, ["c4", "c2", "c1", "c0"]);
        assert_eq!(view.selected, Some(0));
        let q = ReviewQuery {
            order: ReviewOrder::LowestConfidenceFirst,
            selected: Some(view.page[2].seq),
            page: 2,
            ..ReviewQuery::default()
        };
        let s = e.snapshot(Some("m"), &q);
        let view = &s.model.as_ref().unwrap().review;
        assert_eq!(view.selected_item().unwrap().case_id, "c1");
        assert_eq!(view.total, 4);
        assert_eq!(view.page.len(), 2);
        let q = ReviewQuery {
            filter: Some("C2".into()),
            page: 10,
            ..ReviewQuery::default()
        };
        assert_eq!(e.snapshot(None, &q).model.unwrap().review.total, 1);
        // The model's name matches every case; an empty filter is none;
        // no page is a page of one.
        for (filter, page, total, shown) in [("M", 10, 4, 4), ("", 0, 4, 1), ("zz", 10, 0, 0)] {
            let q = ReviewQuery {
                filter: Some(filter.into()),
                page,
                ..ReviewQuery::default()
            };
            let review = e.snapshot(None, &q).model.unwrap().review;
            assert_eq!(
                (review.total, review.page.len()),
                (total, shown),
                "{filter:?}"
            );
        }
        assert!(contains_lowercase("Ünïcode-ID", "ünï") && !contains_lowercase("abc", "abcd"));
    }
}

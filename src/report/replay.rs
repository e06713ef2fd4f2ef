//! The `replay` report (its schema is in the README), built from the engine
//! at end of input.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::alerts::{Alert, Direction};
use crate::engine::baseline::{Baseline, BaselineOrigin};
use crate::engine::cbpe::{self, AccuracyEstimate, CalibrationInfo, EstimateMethod};
use crate::engine::compare::Comparison;
use crate::engine::labels::{LabelCounts, LabelTable};
use crate::engine::model::{BaselineState, ModelMonitor};
use crate::engine::window::{ConfidenceSummary, WindowSummary};
use crate::engine::{Engine, InputCounters};
use crate::record::time::format_ms;

use super::features::{BaselineFeatures, FeaturesNotWatched, WindowFeatures};
use super::segments::{BaselineSegments, WindowSegments};

pub const REPORT_VERSION: u32 = 1;

/// The report, borrowing the engine: windows are turned into JSON one at a
/// time as they are written, so memory does not grow with the report.
#[derive(Serialize)]
pub struct Report<'a> {
    pub report_version: u32,
    pub input: InputReport<'a>,
    pub models: BTreeMap<String, ModelReport<'a>>,
    /// Alerts about the input as a whole (malformed bursts).
    pub alerts: Vec<AlertReport>,
}

#[derive(Debug, Serialize)]
pub struct InputReport<'a> {
    #[serde(flatten)]
    pub counters: InputCounters,
    /// Feedback whose prediction never arrived (or had been evicted).
    pub feedback_unmatched: u64,
    /// Of those, feedback dropped while waiting for its prediction because
    /// the waiting feedback was over its bytes (`labels.pending_max_bytes`).
    pub feedback_evicted_over_bytes: u64,
    /// Predictions evicted from the label join before their feedback came.
    pub join_evicted: u64,
    /// The last malformed lines (at most [`MALFORMED_REPORTED`]): where
    /// they were and why.
    pub malformed_last: Vec<MalformedLine<'a>>,
}

/// Malformed lines named in the report.
pub const MALFORMED_REPORTED: usize = 10;

#[derive(Debug, Serialize)]
pub struct MalformedLine<'a> {
    pub source: &'a str,
    pub line: u64,
    pub reason: &'a str,
}

#[derive(Serialize)]
pub struct ModelReport<'a> {
    pub predictions: u64,
    pub baseline: BaselineReport<'a>,
    pub windows: Windows<'a>,
    /// Closed windows not kept (live runs bound their history).
    #[serde(skip_serializing_if = "is_zero")]
    pub windows_dropped: u64,
    pub detectors: DetectorsReport,
    pub alerts: Vec<AlertReport>,
    pub review: ReviewReport,
    /// Input features the caps kept out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features_not_watched: Option<FeaturesNotWatched>,
}

#[derive(Serialize)]
pub struct BaselineReport<'a> {
    /// False when the input ended before the baseline was complete.
    pub complete: bool,
    pub n: u64,
    pub start: u64,
    pub end_exclusive: u64,
    pub confidence_mean: Option<f64>,
    pub confidence_std: Option<f64>,
    pub mix: BTreeMap<String, u64>,
    pub accuracy: AccuracyReport,
    /// The calibration estimated accuracy uses (null until enough labels).
    pub calibration: Option<CalibrationInfo>,
    pub origin: Option<BaselineOrigin>,
    /// Each input feature's baseline.
    pub features: BaselineFeatures<'a>,
    /// Each watched segment's baseline.
    pub segments: BaselineSegments<'a>,
}

#[derive(Serialize)]
pub struct WindowReport<'a> {
    pub start: u64,
    pub end_exclusive: u64,
    pub n: u64,
    /// False for a trailing window cut short by the end of input.
    pub complete: bool,
    pub confidence: ConfidenceSummary,
    pub mix: BTreeMap<String, u64>,
    /// KS, chi-square, PSI, Jensen–Shannon and Wasserstein against the
    /// baseline, at the top level of the window as the report's schema has them.
    #[serde(flatten)]
    pub comparison: Comparison,
    pub accuracy: AccuracyReport,
    /// Each input feature against the baseline.
    pub features: WindowFeatures<'a>,
    /// Each watched segment against its own baseline.
    pub segments: WindowSegments<'a>,
}

#[derive(Debug, Serialize)]
pub struct AccuracyReport {
    /// Share of labelled predictions whose label matched (null: none yet).
    pub realized: Option<f64>,
    pub labelled: u64,
    /// CBPE, calibrated on the baseline's labels; the mean confidence until
    /// the baseline has `labels.cbpe_min_labels` of them.
    pub estimated: Option<f64>,
    /// Which of the two `estimated` is.
    pub estimated_method: Option<EstimateMethod>,
    /// nannyml's sampling error of a CBPE estimate (null otherwise).
    pub estimated_sampling_error: Option<f64>,
}

impl AccuracyReport {
    fn new(
        realized: Option<f64>,
        labelled: u64,
        estimate: Option<(AccuracyEstimate, u64)>,
        baseline: Option<&Baseline>,
    ) -> Self {
        let sampling_error = match (estimate, baseline) {
            (Some((e, n)), Some(b)) if e.method == EstimateMethod::Cbpe => {
                cbpe::sampling_error(b.labelled, b.correct, n)
            }
            _ => None,
        };
        AccuracyReport {
            realized,
            labelled,
            estimated: estimate.map(|(e, _)| e.value),
            estimated_method: estimate.map(|(e, _)| e.method),
            estimated_sampling_error: sampling_error,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DetectorsReport {
    pub page_hinkley: Vec<u64>,
    pub adwin: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct AlertReport {
    pub kind: &'static str,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    pub index: u64,
    pub ts: String,
    pub detail: String,
    /// The input features a `feature_drift` alert names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// The segments a `segment_drift` alert names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<String>>,
    pub breaching_since: u64,
    pub cleared_index: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ReviewReport {
    pub queued_total: u64,
    pub in_queue: u64,
    pub evicted: u64,
    /// Of those, the cases evicted because the queue was over its bytes.
    pub evicted_over_bytes: u64,
    /// Cases that qualified but were left out by `review.sample`.
    pub sampled_out: u64,
    pub threshold: f64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// A model's windows, closed ones then the trailing partial one.
pub struct Windows<'a>(&'a ModelMonitor);

impl Serialize for Windows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let m = self.0;
        let mut seq = s.serialize_seq(None)?;
        let baseline = m.frozen_baseline();
        for w in &m.closed {
            seq.serialize_element(&window_report(w, m, baseline, true))?;
        }
        if let (Some(acc), Some(baseline)) = (m.current_window(), baseline)
            && acc.n() > 0
        {
            let mut partial = acc.summarize(baseline, &m.labels);
            partial.features = m.features.current_window();
            partial.segments = m.segments.partial_windows(&m.labels, acc.start + acc.n());
            seq.serialize_element(&window_report(&partial, m, Some(baseline), false))?;
        }
        seq.end()
    }
}

impl Report<'_> {
    /// Whether any alert fired (for `replay --check`).
    pub fn any_alert(&self) -> bool {
        !self.alerts.is_empty() || self.models.values().any(|m| !m.alerts.is_empty())
    }
}

pub fn build_report(engine: &Engine) -> Report<'_> {
    Report {
        report_version: REPORT_VERSION,
        input: InputReport {
            counters: engine.counters().clone(),
            feedback_unmatched: engine.feedback_unmatched(),
            feedback_evicted_over_bytes: engine.feedback_evicted_over_bytes(),
            join_evicted: engine.join_evicted(),
            malformed_last: {
                let last = engine.malformed().rev().take(MALFORMED_REPORTED);
                let mut lines: Vec<_> = last
                    .map(|m| MalformedLine {
                        source: &m.source,
                        line: m.line,
                        reason: &m.reason,
                    })
                    .collect();
                lines.reverse();
                lines
            },
        },
        models: engine
            .models()
            .iter()
            .map(|m| (m.name.clone(), model_report(m)))
            .collect(),
        alerts: engine
            .input_alerts()
            .alerts
            .iter()
            .map(alert_report)
            .collect(),
    }
}

fn model_report(m: &ModelMonitor) -> ModelReport<'_> {
    ModelReport {
        predictions: m.predictions,
        baseline: baseline_report(m),
        windows: Windows(m),
        windows_dropped: m.closed_dropped,
        detectors: DetectorsReport {
            page_hinkley: m.detectors.page_hinkley_hits.clone(),
            adwin: m.detectors.adwin_hits.clone(),
        },
        alerts: m.alerts.alerts.iter().map(alert_report).collect(),
        review: ReviewReport {
            queued_total: m.review.queued_total,
            sampled_out: m.review.sampled_out,
            in_queue: m.review.len() as u64,
            evicted: m.review.evicted,
            evicted_over_bytes: m.review.evicted_over_bytes,
            threshold: m.review.threshold(),
        },
        features_not_watched: FeaturesNotWatched::of(&m.features),
    }
}

fn baseline_report(m: &ModelMonitor) -> BaselineReport<'_> {
    match &m.baseline {
        BaselineState::Frozen(b) => BaselineReport {
            complete: true,
            n: b.n(),
            start: b.start,
            end_exclusive: b.end_exclusive,
            confidence_mean: Some(b.mean),
            confidence_std: Some(b.std),
            mix: mix_map(&b.mix, &m.labels),
            accuracy: AccuracyReport::new(
                b.accuracy(),
                b.labelled,
                Some((b.calibration.baseline_estimate(b.mean), b.n())),
                Some(b),
            ),
            calibration: b.calibration.info(),
            origin: Some(b.origin.clone()),
            features: BaselineFeatures(&m.features),
            segments: BaselineSegments {
                segments: &m.segments,
                labels: &m.labels,
            },
        },
        BaselineState::Collecting(builder) => BaselineReport {
            complete: false,
            n: builder.len(),
            start: 0,
            end_exclusive: builder.len(),
            confidence_mean: None,
            confidence_std: None,
            mix: BTreeMap::new(),
            accuracy: AccuracyReport::new(None, 0, None, None),
            calibration: None,
            origin: None,
            features: BaselineFeatures(&m.features),
            segments: BaselineSegments {
                segments: &m.segments,
                labels: &m.labels,
            },
        },
    }
}

fn window_report<'a>(
    w: &'a WindowSummary,
    m: &'a ModelMonitor,
    baseline: Option<&Baseline>,
    complete: bool,
) -> WindowReport<'a> {
    WindowReport {
        start: w.start,
        end_exclusive: w.end_exclusive,
        n: w.n,
        complete,
        confidence: w.confidence,
        mix: mix_map(&w.mix, &m.labels),
        comparison: w.comparison,
        accuracy: AccuracyReport::new(
            w.realized_accuracy(),
            w.labelled,
            Some((w.estimated, w.n)),
            baseline,
        ),
        features: WindowFeatures {
            names: m.features.names(),
            figures: &w.features,
        },
        segments: WindowSegments {
            windows: &w.segments,
            labels: &m.labels,
        },
    }
}

pub(super) fn mix_map(mix: &LabelCounts, labels: &LabelTable) -> BTreeMap<String, u64> {
    labels
        .names()
        .enumerate()
        .filter_map(|(i, name)| {
            let c = mix.get(i as u32);
            (c > 0).then(|| (name.to_string(), c))
        })
        .collect()
}

/// The names an alert carries when the report calls them `key`.
fn listed(a: &Alert, key: &str) -> Option<Vec<String>> {
    let names = a.names.as_ref().filter(|_| a.names_key() == key)?;
    Some(names.iter().map(|n| n.to_string()).collect())
}

fn alert_report(a: &Alert) -> AlertReport {
    AlertReport {
        kind: a.kind.as_str(),
        severity: a.severity.as_str(),
        direction: a.direction,
        index: a.index,
        ts: format_ms(a.ts_ms),
        detail: a.detail.clone(),
        features: listed(a, "features"),
        segments: listed(a, "segments"),
        breaching_since: a.breaching_since,
        cleared_index: a.cleared_index,
    }
}

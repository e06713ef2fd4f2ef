//! The board as Prometheus text (format 0.0.4), encoded at each scrape by
//! `prometheus-client` (names prefixed `modelwatch_`, counters suffixed
//! `_total`, units in base units; label values escaped by the crate).

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::{AlertCounts, Board, Figures};
use crate::decision::kill_switch::SwitchState;
use crate::engine::alerts::Severity;
use crate::engine::confidence_buckets::{BUCKETS, bound};
use crate::engine::rules::RULES;
use crate::hooks::queue::HookStats;
use crate::record::time::now_ms;

/// Every state a source reports (`report::stream::state_name`).
pub const SOURCE_STATES: [&str; 7] = [
    "starting",
    "following",
    "connected",
    "waiting",
    "reconnecting",
    "ended",
    "failed",
];

const KILL_STATES: [SwitchState; 6] = [
    SwitchState::Armed,
    SwitchState::Tripping,
    SwitchState::Tripped,
    SwitchState::NotConfirmed,
    SwitchState::Resetting,
    SwitchState::ResetNotConfirmed,
];

const SEVERITIES: [Severity; 2] = [Severity::Warning, Severity::Critical];

/// A registry whose one collector reads `board` at each scrape.
pub fn registry(board: Arc<Board>) -> Registry {
    let mut registry = Registry::with_prefix("modelwatch");
    registry.register_collector(Box::new(BoardView(board)));
    registry
}

/// Encodes `registry` in the Prometheus text format.
pub fn text(registry: &Registry) -> String {
    let mut out = String::with_capacity(64 << 10);
    // Writing to a String cannot fail; a collector's error leaves what was
    // written (never a panic).
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

#[derive(Debug)]
struct BoardView(Arc<Board>);

impl Collector for BoardView {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let figures = self.0.latest();
        let now = now_ms();
        encode_input(&mut encoder, &figures)?;
        encode_models(&mut encoder, &figures)?;
        encode_alerts(&mut encoder, &figures)?;
        encode_sources(&mut encoder, &figures, now)?;
        encode_checkpoint(&mut encoder, &figures)?;
        encode_hooks(&mut encoder, &self.0)
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One metric family: its descriptor, then a sample per label set.
fn family<L: EncodeLabelSet, V>(
    encoder: &mut DescriptorEncoder,
    (name, help, unit): (&str, &str, Option<&Unit>),
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, V)>,
    write: impl Fn(MetricEncoder<'_>, V) -> fmt::Result,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, value) in samples {
        write(metric.encode_family(&labels)?, value)?;
    }
    Ok(())
}

fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    family(
        encoder,
        (name, help, None),
        MetricType::Counter,
        samples,
        |m, v| ConstCounter::new(v).encode(m),
    )
}

fn gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (L, f64)>,
) -> fmt::Result {
    family(
        encoder,
        (name, help, unit),
        MetricType::Gauge,
        samples,
        gauge,
    )
}

fn gauge(m: MetricEncoder<'_>, v: f64) -> fmt::Result {
    ConstGauge::new(v).encode(m)
}

/// `1.0` for the state a thing is in, `0.0` for the others.
fn one_if(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
}

fn encode_input(e: &mut DescriptorEncoder, f: &Figures) -> fmt::Result {
    let total = |v: u64| [(Labels::new(), v)];
    counters(
        e,
        "lines",
        "Lines or messages read from every source, blank and malformed included",
        total(f.lines),
    )?;
    counters(e, "blank_lines", "Blank lines read", total(f.blank))?;
    counters(
        e,
        "feedback",
        "Feedback (ground-truth) events read",
        total(f.feedback),
    )?;
    counters(
        e,
        "malformed",
        "Lines that were neither a valid prediction nor valid feedback (no model can be told from them)",
        total(f.malformed),
    )?;
    gauges(
        e,
        "feedback_unmatched",
        "Feedback that has not met its prediction: waiting, or dropped",
        None,
        [(Labels::new(), f.feedback_unmatched as f64)],
    )?;
    gauges(
        e,
        "figures_timestamp",
        "When these figures were taken from the session (updated every second)",
        Some(&Unit::Seconds),
        [(Labels::new(), f.at_ms as f64 / 1000.0)],
    )
}

/// Only with a state directory of the session's own; the time and size
/// once a checkpoint was saved.
fn encode_checkpoint(e: &mut DescriptorEncoder, f: &Figures) -> fmt::Result {
    let Some(c) = f.checkpoint else {
        return Ok(());
    };
    let one = |v: Option<f64>| v.map(|v| (Labels::new(), v));
    gauges(
        e,
        "checkpoint_timestamp",
        "When the last checkpoint saved was taken",
        Some(&Unit::Seconds),
        one(c.last.map(|(ms, _)| ms as f64 / 1000.0)),
    )?;
    gauges(
        e,
        "checkpoint_size",
        "Size of the last checkpoint saved",
        Some(&Unit::Bytes),
        one(c.last.map(|(_, bytes)| bytes as f64)),
    )?;
    gauges(
        e,
        "checkpoint_failing",
        "1 while the last attempt to save a checkpoint failed",
        None,
        [(Labels::new(), one_if(c.failing))],
    )
}

fn model_label(name: &str) -> Labels<'_> {
    vec![("model", name)]
}

fn encode_models(e: &mut DescriptorEncoder, f: &Figures) -> fmt::Result {
    let models = &f.models;
    counters(
        e,
        "predictions",
        "Predictions of the model",
        models.iter().map(|m| (model_label(&m.name), m.predictions)),
    )?;
    counters(
        e,
        "model_feedback",
        "Labels joined to the model's predictions (feedback, approvals, overrides) since its baseline was taken",
        models.iter().map(|m| (model_label(&m.name), m.labelled)),
    )?;
    let mut histogram = e.encode_descriptor(
        "confidence",
        "Confidence of the model's predictions",
        None,
        MetricType::Histogram,
    )?;
    for m in models.iter().filter(|m| m.predictions > 0) {
        let labels = model_label(&m.name);
        let c = &m.confidences;
        let buckets: Vec<(f64, u64)> = (0..BUCKETS).map(|i| (bound(i), c.counts[i])).collect();
        histogram
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(c.sum, c.count(), &buckets, None)?;
    }
    let drift = [
        (
            "drift_ks_statistic",
            "KS D of the sliding window's confidence against the baseline",
            0,
        ),
        (
            "drift_wasserstein_normed",
            "Wasserstein-1 distance of the sliding window's confidence from the baseline, over the baseline's standard deviation",
            1,
        ),
        (
            "drift_js_distance",
            "Jensen-Shannon distance (base 2) of the sliding window's prediction mix from the baseline",
            2,
        ),
        (
            "drift_psi",
            "PSI of the sliding window's confidence against the baseline",
            3,
        ),
    ];
    for (name, help, which) in drift {
        let samples = models.iter().filter_map(|m| {
            let d = m.drift;
            let v = [d.ks, d.wasserstein_normed, d.js, d.psi][which]?;
            v.is_finite().then(|| (model_label(&m.name), v))
        });
        gauges(e, name, help, None, samples)?;
    }
    gauges(
        e,
        "review_queue_cases",
        "Cases waiting in the model's review queue",
        None,
        models
            .iter()
            .map(|m| (model_label(&m.name), m.in_queue as f64)),
    )?;
    gauges(
        e,
        "baseline_predictions",
        "Predictions in the model's frozen baseline (absent while it is collected)",
        None,
        models
            .iter()
            .filter_map(|m| Some((model_label(&m.name), m.baseline? as f64))),
    )?;
    gauges(
        e,
        "kill_switch_state",
        "The model's kill switch: 1 for its state (armed, tripping, tripped, not_confirmed, resetting, reset_not_confirmed), 0 for the others",
        None,
        models.iter().flat_map(|m| {
            KILL_STATES.iter().map(|s| {
                (
                    vec![("model", m.name.as_str()), ("state", s.as_str())],
                    one_if(m.kill == *s),
                )
            })
        }),
    )
}

fn encode_alerts(e: &mut DescriptorEncoder, f: &Figures) -> fmt::Result {
    let mut samples: Vec<(Labels<'_>, f64)> = Vec::new();
    for m in &f.models {
        alert_series(&mut samples, &m.name, &m.alerts, true);
    }
    alert_series(&mut samples, "", &f.input_alerts, false);
    gauges(
        e,
        "alerts_active",
        "Active alerts by kind and severity (model \"\" for alerts about the input as a whole)",
        None,
        samples,
    )
}

/// A scope's series, every one there is (0 when inactive): a model's with
/// the per-model rules' kinds, the input's with the others.
fn alert_series<'a>(
    out: &mut Vec<(Labels<'a>, f64)>,
    model: &'a str,
    counts: &AlertCounts,
    per_model: bool,
) {
    for rule in RULES.iter().filter(|r| r.per_model == per_model) {
        for s in SEVERITIES {
            let labels = vec![
                ("model", model),
                ("kind", rule.kind.as_str()),
                ("severity", s.as_str()),
            ];
            out.push((labels, f64::from(counts.get(rule.kind, s))));
        }
    }
}

/// One of a source's counters.
type SourceCount = fn(&super::SourceFigures) -> u64;

fn source_label(name: &str) -> Labels<'_> {
    vec![("source", name)]
}

fn encode_sources(e: &mut DescriptorEncoder, f: &Figures, now_ms: i64) -> fmt::Result {
    let sources = &f.sources;
    let totals: [(&str, &str, SourceCount); 4] = [
        ("source_lines", "Lines or messages the source read", |s| {
            s.lines
        }),
        (
            "source_errors",
            "Lines or frames the source could not read",
            |s| s.errors,
        ),
        (
            "source_reconnects",
            "Connections re-established after one was lost",
            |s| s.reconnects,
        ),
        (
            "source_dropped",
            "Lines dropped: the engine could not keep up, or duplicates after a reconnect",
            |s| s.dropped,
        ),
    ];
    for (name, help, value) in totals {
        counters(
            e,
            name,
            help,
            sources.iter().map(|s| (source_label(&s.name), value(s))),
        )?;
    }
    gauges(
        e,
        "source_behind",
        "Bytes written to a followed file and not read yet",
        Some(&Unit::Bytes),
        sources
            .iter()
            .map(|s| (source_label(&s.name), s.behind_bytes as f64)),
    )?;
    gauges(
        e,
        "source_last_line_age",
        "Time since the source's last line (absent before its first)",
        Some(&Unit::Seconds),
        sources.iter().filter_map(|s| {
            let age = (now_ms - s.last_line_ms?).max(0) as f64 / 1000.0;
            Some((source_label(&s.name), age))
        }),
    )?;
    gauges(
        e,
        "source_state",
        "The source's state: 1 for its state, 0 for the others",
        None,
        sources.iter().flat_map(|s| {
            SOURCE_STATES.iter().map(|&state| {
                (
                    vec![("source", s.name.as_str()), ("state", state)],
                    one_if(s.state == state),
                )
            })
        }),
    )
}

fn encode_hooks(e: &mut DescriptorEncoder, board: &Board) -> fmt::Result {
    if board.hooks.is_empty() {
        return Ok(());
    }
    let stats: Vec<&HookStats> = board.hooks.iter().map(|q| &q.stats).collect();
    let outcome = |s: &'_ HookStats| {
        let name = s.name.clone();
        [
            ("delivered", HookStats::count(&s.delivered)),
            ("failed", HookStats::count(&s.failed)),
            ("dropped", HookStats::count(&s.dropped)),
        ]
        .map(move |(o, v)| (vec![("hook", name.clone()), ("outcome", o.to_owned())], v))
    };
    counters(
        e,
        "hook_transitions",
        "Alert transitions by hook: delivered, given up (failed) or dropped because its queue was full",
        stats.iter().flat_map(|s| outcome(s)),
    )?;
    let hook = |s: &HookStats| vec![("hook", s.name.clone())];
    counters(
        e,
        "hook_retries",
        "Delivery attempts after a failed one",
        stats
            .iter()
            .map(|s| (hook(s), HookStats::count(&s.retries))),
    )?;
    counters(
        e,
        "hook_resent",
        "Active alerts sent again to Alertmanager",
        stats.iter().map(|s| (hook(s), HookStats::count(&s.resent))),
    )?;
    gauges(
        e,
        "hook_queue_transitions",
        "Alert transitions waiting for delivery",
        None,
        stats
            .iter()
            .map(|s| (hook(s), HookStats::count(&s.queued) as f64)),
    )
}

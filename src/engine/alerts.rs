//! Alerts are decisions, not raw test results: what an alert is, its kind,
//! severity and direction, and a breach (one check's verdict). The rules
//! that decide breaches are in `rules/`, the hysteresis and the log in
//! `alert_log`.

use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    ConfidenceDrift,
    PredictionMixDrift,
    AccuracyDrop,
    AccuracyEstimatedDrop,
    ChangePoint,
    SourceDown,
    MalformedBurst,
    IngestOverload,
    Silence,
    FeatureDrift,
    SegmentDrift,
}

impl AlertKind {
    /// Every kind, in declaration order (`kind as usize` indexes it).
    pub const ALL: [AlertKind; 11] = [
        AlertKind::ConfidenceDrift,
        AlertKind::PredictionMixDrift,
        AlertKind::AccuracyDrop,
        AlertKind::AccuracyEstimatedDrop,
        AlertKind::ChangePoint,
        AlertKind::SourceDown,
        AlertKind::MalformedBurst,
        AlertKind::IngestOverload,
        AlertKind::Silence,
        AlertKind::FeatureDrift,
        AlertKind::SegmentDrift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ConfidenceDrift => "confidence_drift",
            AlertKind::PredictionMixDrift => "prediction_mix_drift",
            AlertKind::AccuracyDrop => "accuracy_drop",
            AlertKind::AccuracyEstimatedDrop => "accuracy_estimated_drop",
            AlertKind::ChangePoint => "change_point",
            AlertKind::SourceDown => "source_down",
            AlertKind::MalformedBurst => "malformed_burst",
            AlertKind::IngestOverload => "ingest_overload",
            AlertKind::Silence => "silence",
            AlertKind::FeatureDrift => "feature_drift",
            AlertKind::SegmentDrift => "segment_drift",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Which way a statistic moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    Both,
}

/// One alert, from the check that fired it to the one that cleared it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Alert {
    /// Unique within the process, for acknowledging.
    pub id: u64,
    /// The model it concerns (`None` for input-wide alerts).
    pub model: Option<String>,
    pub kind: AlertKind,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Prediction index (of the model; of lines for input-wide alerts) when
    /// the engine knew.
    pub index: u64,
    /// Event time of that prediction.
    pub ts_ms: i64,
    /// Where the breaching run began.
    pub breaching_since: u64,
    pub detail: String,
    /// What it names, each once, in the order they joined: input features
    /// (`feature_drift`, shared with the model's list of features) or
    /// segments (`segment_drift`); outputs call them by that (`names_key`).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "names")]
    pub names: Option<Vec<Arc<str>>>,
    pub cleared_index: Option<u64>,
    pub cleared_ts_ms: Option<i64>,
    pub acknowledged: bool,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.cleared_index.is_none()
    }

    /// What outputs call the names it carries.
    pub fn names_key(&self) -> &'static str {
        match self.kind {
            AlertKind::SegmentDrift => "segments",
            _ => "features",
        }
    }
}

fn names<S: Serializer>(names: &Option<Vec<Arc<str>>>, s: S) -> Result<S::Ok, S::Error> {
    let names = names.iter().flatten().map(|n| &**n);
    s.collect_seq(names)
}

/// What happened to an alert, for live consumers (JSON lines, the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Fired,
    Escalated,
    /// An active alert has news: a feature or segment joined its list.
    Updated,
    Cleared,
}

/// The outcome of one check of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub severity: Severity,
    pub direction: Option<Direction>,
    pub detail: String,
}

//! The engine's state as plain data, for checkpoints: everything learnt
//! from the input (baselines, windows, detectors, the label join and the
//! feedback waiting for it, review queues, alerts and their rules' states,
//! the alert transitions not yet taken), never the settings, which the
//! process resuming from it gives again. [`shape`] names the settings the
//! state's form depends on: a state resumes only under the same.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::alert_log::AlertLog;
use super::alerts::{Alert, Transition};
use super::ingest::{InputCounters, MalformedRecord, MalformedWindow};
use super::join::{JoinTable, PendingTable};
use super::model::{ModelMonitor, Sequences};
use super::settings::EngineSettings;
use super::source_health::SourceHealth;
use super::{Engine, MAX_MODELS};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    models: Vec<ModelMonitor>,
    join: JoinTable,
    pending: PendingTable,
    counters: InputCounters,
    malformed: VecDeque<MalformedRecord>,
    malformed_window: MalformedWindow,
    input_alerts: AlertLog,
    ids: Sequences,
    sources: Vec<(String, SourceHealth)>,
    transitions: Vec<(Transition, Alert)>,
}

impl EngineState {
    /// Predictions taken by every model, for messages.
    pub fn predictions(&self) -> u64 {
        self.counters.predictions
    }

    pub fn counters(&self) -> &InputCounters {
        &self.counters
    }
}

/// The settings a state's form depends on (window sizes, the ladder, the
/// caps of every bounded structure, detector parameters, features), each
/// named, as text to compare and to show. Thresholds of the alert rules
/// and the review settings are not among them: they may change between
/// runs.
pub fn shape(s: &EngineSettings) -> Vec<(String, String)> {
    let named = [
        ("baseline", s.baseline.to_string()),
        ("baseline_max", s.baseline_max.to_string()),
        ("window", s.window.to_string()),
        ("ladder", format!("{:?}", s.ladder())),
        ("check_every", s.check_every().to_string()),
        ("min_samples", s.min_samples().to_string()),
        ("labels", format!("{:?}", s.labels)),
        ("history", format!("{:?}", s.history)),
        ("detectors", format!("{:?}", s.detectors)),
        ("features", format!("{:?}", s.features)),
        ("segments", format!("{:?}", s.segments)),
        ("malformed_kept", s.malformed_kept.to_string()),
        (
            "malformed_burst.lines",
            s.alerts.malformed_burst.lines.to_string(),
        ),
        ("windows_kept", format!("{:?}", s.windows_kept)),
        ("detections_kept", s.detections_kept.to_string()),
    ];
    named.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(super) fn take(e: &Engine) -> EngineState {
    let mut sources: Vec<(String, SourceHealth)> = e
        .sources
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    EngineState {
        models: e.models.clone(),
        join: e.join.clone(),
        pending: e.pending.clone(),
        counters: e.counters.clone(),
        malformed: e.malformed.clone(),
        malformed_window: e.malformed_window.clone(),
        input_alerts: e.input_alerts.clone(),
        ids: e.ids,
        sources,
        transitions: e.transitions.clone(),
    }
}

pub(super) fn resume(e: &mut Engine, state: EngineState) -> Result<(), String> {
    if state.models.len() > MAX_MODELS {
        return Err(format!(
            "{} models, more than the {MAX_MODELS} watched",
            state.models.len()
        ));
    }
    let mut by_name = HashMap::with_capacity(state.models.len());
    for (i, model) in state.models.iter().enumerate() {
        if by_name.insert(model.name.clone(), i as u32).is_some() {
            return Err(format!("model {:?} listed twice", model.name));
        }
    }
    e.models = state.models;
    for model in &mut e.models {
        model.apply_settings(&e.settings);
    }
    e.by_name = by_name;
    e.join = state.join;
    e.pending = state.pending;
    e.counters = state.counters;
    e.malformed = state.malformed;
    e.malformed_window = state.malformed_window;
    e.input_alerts = state.input_alerts;
    e.ids = state.ids;
    e.sources = state.sources.into_iter().collect();
    // Alert lines not yet written, for a consumer that writes them.
    if e.emit {
        e.transitions = state.transitions;
    }
    Ok(())
}

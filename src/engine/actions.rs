//! What an operator can do to the engine: decide on a case, acknowledge an
//! alert, take a new baseline, and report a source's health and lost
//! lines. The session audits each of these before it calls here.

use super::alert_log::{CheckPoint, RuleState};
use super::alerts::{Alert, AlertKind, Breach, Severity, Transition};
use super::ingest::Engine;
use super::join::{LabelSource, id_hash};
use super::model::ModelMonitor;
use super::review::{CaseState, ReviewItem};
use super::rules::{self, AlertRules};

/// A reviewer's decision on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The model was right: its label becomes the case's label.
    Approve,
    /// The model was wrong: this is the right label.
    Override(String),
    /// Hand the case to someone else (no label).
    Escalate,
    /// Decide later: the case goes to the back of the queue.
    Skip,
}

impl Decision {
    /// The label this decision gives the case, if any.
    pub fn label<'a>(&'a self, shown: &'a ReviewItem) -> Option<&'a str> {
        match self {
            Decision::Approve => Some(&shown.label),
            Decision::Override(label) => Some(label),
            Decision::Escalate | Decision::Skip => None,
        }
    }

    fn state(&self) -> CaseState {
        match self {
            Decision::Approve => CaseState::Approved,
            Decision::Override(label) => CaseState::Overridden(label.clone()),
            Decision::Escalate => CaseState::Escalated,
            Decision::Skip => CaseState::Skipped,
        }
    }
}

impl Engine {
    /// Applies a decision to the case the operator saw (`shown`, from the
    /// snapshot they acted on), even if the queue has moved since: the case
    /// leaves the queue (or goes to its back when skipped) and approvals and
    /// overrides count as labels for the accuracy figures (replaced by
    /// ground truth if that arrives later).
    pub fn decide(&mut self, shown: &ReviewItem, decision: &Decision, now_ms: i64) {
        if let Some(&m) = self.by_name.get(shown.model.as_str()) {
            self.models[m as usize]
                .review
                .decide(shown.seq, decision.state());
        }
        let Some(label) = decision.label(shown) else {
            return;
        };
        let hash = id_hash(&shown.case_id);
        let model = self.by_name.get(shown.model.as_str()).copied();
        let joined = if shown.generated_id {
            None
        } else {
            self.join
                .entries_where(hash, |e| e.index == shown.index && Some(e.model) == model)
                .first()
                .copied()
        };
        if let Some(seq) = joined {
            self.apply_label(seq, label, LabelSource::Human, Some(now_ms));
        } else if let Some(m) = model {
            // No join entry (a generated id, or evicted): count it directly.
            let correct = label == shown.label;
            self.models[m as usize].record_label(shown.index, correct, None, None);
        }
    }

    /// Marks an alert acknowledged; false when there is no such alert.
    pub fn acknowledge_alert(&mut self, id: u64) -> bool {
        self.input_alerts.acknowledge(id)
            || self.models.iter_mut().any(|m| m.alerts.acknowledge(id))
    }

    /// Starts a new baseline for `model` from its next prediction; false when
    /// there is no such model. Its active alerts clear (they were about the
    /// old baseline); its review queue stays (the cases are still cases).
    pub fn rebaseline(&mut self, model: &str, now_ms: i64) -> bool {
        let Some(&m) = self.by_name.get(model) else {
            return false;
        };
        let settings = self.settings().clone();
        let old = &mut self.models[m as usize];
        let mut fresh = ModelMonitor::new(model, &settings, None);
        // The stream goes on: indices continue, labels keep their ids, and
        // the alert log and the review queue are history worth keeping.
        fresh.predictions = old.predictions;
        fresh.labels = std::mem::take(&mut old.labels);
        fresh.alerts = std::mem::take(&mut old.alerts);
        fresh.review = std::mem::replace(&mut old.review, fresh.review);
        let mut cleared = Vec::new();
        for alert in fresh.alerts.alerts.iter_mut().filter(|a| a.is_active()) {
            alert.cleared_index = Some(fresh.predictions);
            alert.cleared_ts_ms = Some(now_ms);
            alert.detail.push_str(" (cleared: new baseline)");
            cleared.push((Transition::Cleared, alert.clone()));
        }
        *old = fresh;
        self.push_transitions(cleared);
        true
    }

    /// Reports whether a source is delivering; the source-down rule fires
    /// once a source has been down for `alerts.source_down.after_secs`.
    pub fn source_health(&mut self, source: &str, healthy: bool, detail: &str, now_ms: i64) {
        let h = self.sources.entry(source.to_string()).or_default();
        if healthy {
            h.down_since_ms = None;
        } else if h.down_since_ms.is_none() {
            h.down_since_ms = Some(now_ms);
        }
        h.detail = detail.to_string();
        self.tick(now_ms);
    }

    /// Reports how many lines a source has dropped so far because the
    /// engine could not keep up; the ingest-overload rule fires while that
    /// count grows and clears after `alerts.ingest_overload.clear_after_secs`
    /// without a further drop.
    pub fn source_overload(&mut self, source: &str, dropped_overload: u64, now_ms: i64) {
        let h = self.sources.entry(source.to_string()).or_default();
        if dropped_overload > h.dropped_overload {
            h.dropped_overload = dropped_overload;
            h.last_drop_ms = Some(now_ms);
            self.tick(now_ms);
        }
    }

    /// Time-based rules (source down, ingest overload); call about once a
    /// second.
    pub fn tick(&mut self, now_ms: i64) {
        let alerts = &self.settings().alerts;
        let (down, overload, silence) =
            (alerts.source_down, alerts.ingest_overload, alerts.silence);
        // Time already debounces these rules: one breaching check fires
        // them and one healthy check clears them.
        let once = AlertRules {
            consecutive: 1,
            clear_after: 1,
            ..alerts.clone()
        };
        let at = CheckPoint {
            model: None,
            index: self.counters.lines,
            ts_ms: now_ms,
        };
        let mut out: Vec<(Transition, Alert)> = Vec::new();
        for (name, h) in &mut self.sources {
            let down_for = h.down_since_ms.map(|t| now_ms - t);
            let breach = down_for
                .filter(|&d| down.enabled && d >= down.after_secs as i64 * 1000)
                .map(|d| Breach {
                    severity: Severity::Critical,
                    direction: None,
                    detail: format!("source {name} down for {} s: {}", d / 1000, h.detail),
                });
            let mut step = |state: &mut RuleState, kind, breach: Option<Breach>| {
                if breach.is_some() || state.is_active() {
                    let t =
                        self.input_alerts
                            .step(state, &once, kind, at, breach, &mut self.ids.alert);
                    out.extend(t);
                }
            };
            step(&mut h.rule, AlertKind::SourceDown, breach);
            let clear_ms = overload.clear_after_secs as i64 * 1000;
            let dropping = h.last_drop_ms.is_some_and(|t| now_ms - t < clear_ms);
            let breach = (overload.enabled && dropping).then(|| Breach {
                severity: Severity::Warning,
                direction: None,
                detail: format!(
                    "source {name} dropped {} lines: the engine could not keep up",
                    h.dropped_overload
                ),
            });
            step(&mut h.overload_rule, AlertKind::IngestOverload, breach);
        }
        for m in &mut self.models {
            let breach = rules::silence::check(&silence, &m.name, m.last_arrival_ms, now_ms);
            if breach.is_some() || m.rules.silence.is_active() {
                let at = CheckPoint {
                    model: Some(&m.name),
                    index: m.predictions,
                    ts_ms: now_ms,
                };
                let state = &mut m.rules.silence;
                let t = m.alerts.step(
                    state,
                    &once,
                    AlertKind::Silence,
                    at,
                    breach,
                    &mut self.ids.alert,
                );
                out.extend(t);
            }
        }
        self.push_transitions(out);
    }
}

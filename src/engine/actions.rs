//! What an operator does to the engine: decide on a case and take a new
//! baseline. The session audits each of these before it calls here.

use super::Engine;
use super::alerts::Transition;
use super::join::{LabelSource, id_hash};
use super::model::ModelMonitor;
use super::review::{CaseState, ReviewItem};

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

/// See [`Engine::decide`].
pub(super) fn decide(e: &mut Engine, shown: &ReviewItem, decision: &Decision, now_ms: i64) {
    if let Some(&m) = e.by_name.get(shown.model.as_str()) {
        e.models[m as usize]
            .review
            .decide(shown.seq, decision.state());
    }
    let Some(label) = decision.label(shown) else {
        return;
    };
    let hash = id_hash(&shown.case_id);
    let model = e.by_name.get(shown.model.as_str()).copied();
    let joined = if shown.generated_id {
        None
    } else {
        e.join
            .entries_where(hash, |j| j.index == shown.index && Some(j.model) == model)
            .first()
            .copied()
    };
    if let Some(seq) = joined {
        super::ingest::apply_label(e, seq, label, LabelSource::Human, Some(now_ms));
    } else if let Some(m) = model {
        // No join entry (a generated id, or evicted): count it directly.
        let correct = label == shown.label;
        e.models[m as usize].record_label(shown.index, correct, None, None);
    }
}

/// See [`Engine::rebaseline`].
pub(super) fn rebaseline(e: &mut Engine, model: &str, now_ms: i64) -> bool {
    let Some(&m) = e.by_name.get(model) else {
        return false;
    };
    let settings = e.settings().clone();
    let old = &mut e.models[m as usize];
    let mut fresh = ModelMonitor::new(model, &settings, None);
    // The stream goes on: indices continue, labels keep their ids, and
    // the alert log and the review queue are history worth keeping.
    fresh.predictions = old.predictions;
    fresh.confidences = std::mem::take(&mut old.confidences);
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
    e.push_transitions(cleared);
    true
}

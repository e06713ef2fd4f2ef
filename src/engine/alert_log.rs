//! Turning breaches into alerts: each rule's hysteresis (fire after
//! [`AlertRules::consecutive`] breaching checks in a row, clear after
//! [`AlertRules::clear_after`] clean ones, so a single noisy check neither
//! pages anyone nor silences a real problem), and the log of one scope's
//! alerts (a model, or the input as a whole), bounded in length.

use super::alerts::{Alert, AlertKind, Breach, Transition};
use super::rules::AlertRules;

/// Hysteresis for one rule of one model.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleState {
    streak: u32,
    clean: u32,
    breaching_since: Option<u64>,
    /// Id of the active alert (not its position: the log drops old
    /// alerts from the front).
    active: Option<u64>,
}

impl RuleState {
    pub fn breaching_since(&self) -> Option<u64> {
        self.breaching_since
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Forgets a streak without clearing an active alert (the data the rule
    /// looks at was reset).
    pub fn reset_streak(&mut self) {
        self.streak = 0;
        self.clean = 0;
        self.breaching_since = None;
    }
}

/// The alerts of one scope (a model, or the input as a whole) and the
/// transitions not yet taken by a consumer.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AlertLog {
    pub alerts: Vec<Alert>,
    /// Alerts dropped from the front to bound memory.
    pub dropped: u64,
    max: usize,
}

/// Where a check happened.
#[derive(Debug, Clone, Copy)]
pub struct CheckPoint<'a> {
    pub model: Option<&'a str>,
    pub index: u64,
    pub ts_ms: i64,
}

impl AlertLog {
    pub fn new(max: usize) -> Self {
        AlertLog {
            alerts: Vec::new(),
            dropped: 0,
            max: max.max(1),
        }
    }

    /// Feeds one check's outcome through a rule's hysteresis.
    pub fn step(
        &mut self,
        state: &mut RuleState,
        rules: &AlertRules,
        kind: AlertKind,
        at: CheckPoint<'_>,
        breach: Option<Breach>,
        ids: &mut u64,
    ) -> Option<(Transition, Alert)> {
        match breach {
            Some(b) => {
                state.clean = 0;
                state.streak = state.streak.saturating_add(1);
                let since = *state.breaching_since.get_or_insert(at.index);
                if let Some(id) = state.active {
                    let alert = self.by_id(id)?;
                    if b.severity > alert.severity {
                        alert.severity = b.severity;
                        alert.detail = b.detail;
                        return Some((Transition::Escalated, alert.clone()));
                    }
                    return None;
                }
                if state.streak < rules.consecutive {
                    return None;
                }
                *ids += 1;
                let alert = Alert {
                    id: *ids,
                    model: at.model.map(str::to_string),
                    kind,
                    severity: b.severity,
                    direction: b.direction,
                    index: at.index,
                    ts_ms: at.ts_ms,
                    breaching_since: since,
                    detail: b.detail,
                    names: None,
                    cleared_index: None,
                    cleared_ts_ms: None,
                    acknowledged: false,
                };
                state.active = Some(alert.id);
                self.push(alert.clone());
                Some((Transition::Fired, alert))
            }
            None => {
                state.streak = 0;
                state.breaching_since = None;
                let id = state.active?;
                state.clean += 1;
                if state.clean < rules.clear_after.unwrap_or(1) {
                    return None;
                }
                state.clean = 0;
                state.active = None;
                let alert = self.by_id(id)?;
                alert.cleared_index = Some(at.index);
                alert.cleared_ts_ms = Some(at.ts_ms);
                Some((Transition::Cleared, alert.clone()))
            }
        }
    }

    fn push(&mut self, alert: Alert) {
        if self.alerts.len() >= self.max {
            // Drop the oldest cleared alert; active ones are never dropped.
            if let Some(pos) = self.alerts.iter().position(|a| !a.is_active()) {
                self.alerts.remove(pos);
                self.dropped += 1;
            }
        }
        self.alerts.push(alert);
    }

    /// The alert with this id (active alerts are never dropped, and are
    /// near the end).
    fn by_id(&mut self, id: u64) -> Option<&mut Alert> {
        self.alerts.iter_mut().rev().find(|a| a.id == id)
    }

    /// Marks an alert acknowledged; false when there is no such alert.
    pub fn acknowledge(&mut self, id: u64) -> bool {
        self.by_id(id).map(|a| a.acknowledged = true).is_some()
    }

    /// Alerts firing now.
    pub fn active_count(&self) -> usize {
        self.alerts.iter().filter(|a| a.is_active()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::Severity;

    fn breach() -> Option<Breach> {
        Some(Breach {
            severity: Severity::Warning,
            direction: None,
            detail: "x".into(),
        })
    }

    #[test]
    fn fires_after_k_breaches_and_clears_after_k_clean() {
        let rules = AlertRules {
            consecutive: 3,
            clear_after: Some(3),
            ..AlertRules::default()
        };
        let mut log = AlertLog::new(10);
        let mut st = RuleState::default();
        let mut ids = 0;
        let mut step = |log: &mut AlertLog, i, b| {
            let at = CheckPoint {
                model: Some("m"),
                index: i,
                ts_ms: 0,
            };
            log.step(&mut st, &rules, AlertKind::ConfidenceDrift, at, b, &mut ids)
                .map(|(t, a)| (t, a.index, a.breaching_since))
        };
        assert_eq!(step(&mut log, 1, breach()), None);
        assert_eq!(step(&mut log, 2, None), None); // a gap resets the streak
        assert_eq!(step(&mut log, 3, breach()), None);
        assert_eq!(step(&mut log, 4, breach()), None);
        assert_eq!(step(&mut log, 5, breach()), Some((Transition::Fired, 5, 3)));
        assert_eq!(step(&mut log, 6, breach()), None);
        assert_eq!(step(&mut log, 7, None), None);
        assert_eq!(step(&mut log, 8, None), None);
        assert_eq!(step(&mut log, 9, breach()), None); // clean run broken
        assert_eq!(step(&mut log, 10, None), None);
        assert_eq!(step(&mut log, 11, None), None);
        assert_eq!(step(&mut log, 12, None), Some((Transition::Cleared, 5, 3)));
        assert_eq!(log.alerts.len(), 1);
        assert!(log.acknowledge(1));
        assert!(!log.acknowledge(99));
    }

    #[test]
    fn rules_keep_their_own_alert_when_old_ones_are_dropped() {
        let rules = AlertRules {
            consecutive: 1,
            clear_after: Some(1),
            ..AlertRules::default()
        };
        let mut log = AlertLog::new(3);
        let (mut conf, mut mix, mut other) = (
            RuleState::default(),
            RuleState::default(),
            RuleState::default(),
        );
        let mut ids = 0;
        let at = |index| CheckPoint {
            model: Some("m"),
            index,
            ts_ms: 0,
        };
        // An old cleared alert, then two active ones: the log is full.
        log.step(
            &mut other,
            &rules,
            AlertKind::ChangePoint,
            at(1),
            breach(),
            &mut ids,
        );
        log.step(
            &mut other,
            &rules,
            AlertKind::ChangePoint,
            at(2),
            None,
            &mut ids,
        );
        log.step(
            &mut conf,
            &rules,
            AlertKind::ConfidenceDrift,
            at(3),
            breach(),
            &mut ids,
        );
        log.step(
            &mut mix,
            &rules,
            AlertKind::PredictionMixDrift,
            at(4),
            breach(),
            &mut ids,
        );
        // A new alert drops the oldest cleared one, shifting the rest.
        log.step(
            &mut other,
            &rules,
            AlertKind::ChangePoint,
            at(5),
            breach(),
            &mut ids,
        );
        let (t, a) = log
            .step(
                &mut conf,
                &rules,
                AlertKind::ConfidenceDrift,
                at(6),
                None,
                &mut ids,
            )
            .unwrap();
        assert_eq!(
            (t, a.kind),
            (Transition::Cleared, AlertKind::ConfidenceDrift)
        );
        let mix_alert = log
            .alerts
            .iter()
            .find(|a| a.kind == AlertKind::PredictionMixDrift)
            .unwrap();
        assert!(mix_alert.is_active());
    }
}

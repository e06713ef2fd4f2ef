//! Alerts are decisions, not raw test results.
//!
//! Each rule says when one check *breaches*: enough samples, a significance
//! level, an effect size that matters at any n (p-values alone flag
//! everything at large n), and a direction where one applies. A rule fires
//! after [`AlertRules::consecutive`] breaching checks in a row and clears
//! after [`AlertRules::clear_after`] clean ones, so a single noisy check
//! neither pages anyone nor silences a real problem. The state machine here
//! is shared by every rule; what a breach is lives with the data it needs
//! (see `model.rs`).

use serde::{Deserialize, Serialize};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    ConfidenceDrift,
    PredictionMixDrift,
    AccuracyDrop,
    ChangePoint,
    SourceDown,
    MalformedBurst,
    IngestOverload,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ConfidenceDrift => "confidence_drift",
            AlertKind::PredictionMixDrift => "prediction_mix_drift",
            AlertKind::AccuracyDrop => "accuracy_drop",
            AlertKind::ChangePoint => "change_point",
            AlertKind::SourceDown => "source_down",
            AlertKind::MalformedBurst => "malformed_burst",
            AlertKind::IngestOverload => "ingest_overload",
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

/// Confidence drift of the sliding window from the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfidenceRule {
    pub enabled: bool,
    /// Breach only when the KS p-value is below this...
    pub max_p_value: f64,
    /// ...and the normed Wasserstein distance is at least this.
    pub min_effect: f64,
    /// Normed Wasserstein from which a fall in confidence is critical (a
    /// rise is never critical: it is not degradation).
    pub critical_effect: f64,
    /// Which movements count: `both`, `down` or `up`.
    pub direction: Direction,
}

/// Prediction-mix drift of the sliding window from the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MixRule {
    pub enabled: bool,
    /// Breach only when the chi-square p-value is below this...
    pub max_p_value: f64,
    /// ...and the Jensen–Shannon distance is at least this.
    pub min_effect: f64,
    /// Jensen–Shannon distance from which the alert is critical.
    pub critical_effect: f64,
}

/// A rule on realized accuracy from feedback against the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccuracyRule {
    pub enabled: bool,
    /// Labelled predictions needed in the window and in the baseline.
    pub min_labelled: u64,
    /// One-sided two-proportion test.
    pub max_p_value: f64,
    /// Absolute drop (0.02 = two points) needed to breach.
    pub min_drop: f64,
    pub critical_drop: f64,
}

/// Confirmation of a detector's change point by the data after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangePointRule {
    pub enabled: bool,
    /// Predictions after the detection before it can be confirmed.
    pub min_samples: u64,
    /// KS p-value of the post-change predictions against the baseline.
    pub max_p_value: f64,
    /// Normed Wasserstein of the post-change predictions.
    pub min_effect: f64,
    pub critical_effect: f64,
    /// Predictions after which an unconfirmed detection is dropped
    /// (default: the window).
    pub confirm_within: Option<u64>,
}

/// A burst of malformed lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MalformedRule {
    pub enabled: bool,
    /// Lines in the rolling window.
    pub lines: u64,
    pub min_share: f64,
    pub min_count: u64,
}

/// A source that stopped delivering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceDownRule {
    pub enabled: bool,
    /// Seconds a source may be disconnected or silent before it alerts.
    pub after_secs: u64,
}

/// A source dropping lines because the engine could not keep up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestOverloadRule {
    pub enabled: bool,
    /// Seconds without a further dropped line before the alert clears.
    pub clear_after_secs: u64,
}

/// Every rule, with defaults set on principle: significance far beyond
/// what thousands of checks produce by chance (1e-6), effect sizes at the
/// thresholds practitioners use (evidently's 0.1 normed Wasserstein, three
/// points of accuracy), two consecutive breaching checks (a fifth of a
/// window) to fire and a whole window of clean ones to clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRules {
    /// Breaching checks in a row to fire.
    pub consecutive: u32,
    /// Clean checks in a row to clear: longer than to fire (a whole window
    /// at the default cadence), so a shift hovering at a threshold does not
    /// page, clear and page again.
    pub clear_after: u32,
    /// Predictions between checks (default: window / 10).
    pub check_every: Option<u64>,
    /// Predictions the sliding window needs before checks start (default:
    /// half the window).
    pub min_samples: Option<u64>,
    pub confidence_drift: ConfidenceRule,
    pub prediction_mix_drift: MixRule,
    pub accuracy_drop: AccuracyRule,
    pub change_point: ChangePointRule,
    pub malformed_burst: MalformedRule,
    pub source_down: SourceDownRule,
    pub ingest_overload: IngestOverloadRule,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            consecutive: 2,
            clear_after: 10,
            check_every: None,
            min_samples: None,
            confidence_drift: ConfidenceRule {
                enabled: true,
                max_p_value: 1e-6,
                min_effect: 0.1,
                critical_effect: 0.3,
                direction: Direction::Both,
            },
            prediction_mix_drift: MixRule {
                enabled: true,
                max_p_value: 1e-6,
                min_effect: 0.05,
                critical_effect: 0.15,
            },
            accuracy_drop: AccuracyRule {
                enabled: true,
                min_labelled: 200,
                max_p_value: 1e-6,
                min_drop: 0.03,
                critical_drop: 0.06,
            },
            change_point: ChangePointRule {
                enabled: true,
                min_samples: 200,
                max_p_value: 1e-6,
                min_effect: 0.1,
                critical_effect: 0.3,
                confirm_within: None,
            },
            malformed_burst: MalformedRule {
                enabled: true,
                lines: 1_000,
                min_share: 0.05,
                min_count: 20,
            },
            source_down: SourceDownRule {
                enabled: true,
                after_secs: 30,
            },
            ingest_overload: IngestOverloadRule {
                enabled: true,
                clear_after_secs: 30,
            },
        }
    }
}

impl Default for ConfidenceRule {
    fn default() -> Self {
        AlertRules::default().confidence_drift
    }
}

impl Default for MixRule {
    fn default() -> Self {
        AlertRules::default().prediction_mix_drift
    }
}

impl Default for AccuracyRule {
    fn default() -> Self {
        AlertRules::default().accuracy_drop
    }
}

impl Default for ChangePointRule {
    fn default() -> Self {
        AlertRules::default().change_point
    }
}

impl Default for MalformedRule {
    fn default() -> Self {
        AlertRules::default().malformed_burst
    }
}

impl Default for SourceDownRule {
    fn default() -> Self {
        AlertRules::default().source_down
    }
}

impl Default for IngestOverloadRule {
    fn default() -> Self {
        AlertRules::default().ingest_overload
    }
}

impl AlertRules {
    pub fn validate(&self) -> Result<(), String> {
        if self.consecutive == 0 || self.clear_after == 0 {
            return Err("alerts.consecutive and alerts.clear_after must be at least 1".into());
        }
        let p_values = [
            ("confidence_drift", self.confidence_drift.max_p_value),
            (
                "prediction_mix_drift",
                self.prediction_mix_drift.max_p_value,
            ),
            ("accuracy_drop", self.accuracy_drop.max_p_value),
            ("change_point", self.change_point.max_p_value),
        ];
        for (name, p) in p_values {
            if !(p > 0.0 && p <= 1.0) {
                return Err(format!("alerts.{name}.max_p_value {p} is not in (0, 1]"));
            }
        }
        let effects = [
            (
                "confidence_drift.min_effect",
                self.confidence_drift.min_effect,
            ),
            (
                "prediction_mix_drift.min_effect",
                self.prediction_mix_drift.min_effect,
            ),
            ("change_point.min_effect", self.change_point.min_effect),
            ("accuracy_drop.min_drop", self.accuracy_drop.min_drop),
            ("malformed_burst.min_share", self.malformed_burst.min_share),
        ];
        for (name, x) in effects {
            if !(x.is_finite() && x >= 0.0) {
                return Err(format!("alerts.{name} {x} must be a non-negative number"));
            }
        }
        if self.malformed_burst.lines == 0 {
            return Err("alerts.malformed_burst.lines must be at least 1".into());
        }
        Ok(())
    }
}

/// One alert, from the check that fired it to the one that cleared it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub cleared_index: Option<u64>,
    pub cleared_ts_ms: Option<i64>,
    pub acknowledged: bool,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.cleared_index.is_none()
    }
}

/// What happened to an alert, for live consumers (JSON lines, the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Fired,
    Escalated,
    Cleared,
}

/// The outcome of one check of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub severity: Severity,
    pub direction: Option<Direction>,
    pub detail: String,
}

/// Hysteresis for one rule of one model.
#[derive(Debug, Clone, Default)]
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
#[derive(Debug, Clone, Default)]
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
                if state.clean < rules.clear_after {
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
            clear_after: 3,
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
            clear_after: 1,
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

    #[test]
    fn defaults_validate() {
        AlertRules::default().validate().unwrap();
        let mut r = AlertRules::default();
        r.confidence_drift.max_p_value = 0.0;
        assert!(r.validate().unwrap_err().contains("confidence_drift"));
    }
}

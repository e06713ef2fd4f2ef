//! `accuracy_drop`: realized accuracy of the last labelled predictions
//! (`labels.accuracy_over`, whenever their labels arrived) against the
//! baseline's: a one-sided two-proportion z-test plus a minimum drop.

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::{Breach, Direction};

/// A rule on realized accuracy from feedback against the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccuracyRule {
    pub enabled: bool,
    /// Labelled predictions needed among the last labels and in the
    /// baseline.
    pub min_labelled: u64,
    /// One-sided two-proportion test.
    pub max_p_value: f64,
    /// Absolute drop (0.02 = two points) needed to breach.
    pub min_drop: f64,
    pub critical_drop: f64,
}

impl Default for AccuracyRule {
    fn default() -> Self {
        AccuracyRule {
            enabled: true,
            min_labelled: 200,
            max_p_value: 1e-6,
            min_drop: 0.03,
            critical_drop: 0.06,
        }
    }
}

impl AccuracyRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("accuracy_drop", self.max_p_value)?;
        non_negative("accuracy_drop.min_drop", self.min_drop)
    }
}

/// Realized accuracy of the `recent` labelled predictions (labelled,
/// right) against the baseline's: a one-sided two-proportion z-test plus a
/// minimum drop.
pub fn check(rule: &AccuracyRule, recent: (u64, u64), baseline: (u64, u64)) -> Option<Breach> {
    if !rule.enabled {
        return None;
    }
    let (nw, cw) = recent;
    let (nb, cb) = baseline;
    if nw < rule.min_labelled || nb < rule.min_labelled {
        return None;
    }
    let (pw, pb) = (cw as f64 / nw as f64, cb as f64 / nb as f64);
    let drop = pb - pw;
    if drop < rule.min_drop {
        return None;
    }
    let pooled = (cw + cb) as f64 / (nw + nb) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / nw as f64 + 1.0 / nb as f64)).sqrt();
    let p_value = super::one_sided_p(drop, se);
    if p_value >= rule.max_p_value {
        return None;
    }
    Some(Breach {
        severity: super::severity_from(drop, rule.critical_drop),
        direction: Some(Direction::Down),
        detail: format!(
            "realized accuracy fell from {:.3} to {:.3} over the last {nw} labelled predictions (drop {:.3} ≥ {}, p {p_value:.1e})",
            pb, pw, drop, rule.min_drop
        ),
    })
}

/// The rule at a check of the sliding window.
pub fn check_window(
    rules: &super::AlertRules,
    f: &super::WindowFigures<'_>,
    hold: super::Hold,
) -> Option<Breach> {
    let rule = &rules.accuracy_drop;
    let (max_p_value, min_drop) = hold.thresholds(rules, rule.max_p_value, rule.min_drop);
    let at = AccuracyRule {
        max_p_value,
        min_drop,
        ..*rule
    };
    let recent = f.recent_labels;
    check(&at, (recent.labelled, recent.correct), f.baseline_labels)
}

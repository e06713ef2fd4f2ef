//! `change_point`: a detector's (Page–Hinkley, ADWIN) change point,
//! confirmed by the predictions after it against the baseline.

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::{Breach, Direction, Severity};
use crate::engine::compare::Comparison;

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

impl Default for ChangePointRule {
    fn default() -> Self {
        ChangePointRule {
            enabled: true,
            min_samples: 200,
            max_p_value: 1e-6,
            min_effect: 0.1,
            critical_effect: 0.3,
            confirm_within: None,
        }
    }
}

impl ChangePointRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("change_point", self.max_p_value)?;
        non_negative("change_point.min_effect", self.min_effect)
    }
}

/// A detector's change point, confirmed by the predictions after it.
pub fn check(
    rule: &ChangePointRule,
    detector: &str,
    detected_at: u64,
    n_after: u64,
    cmp: &Comparison,
    mean_after: f64,
    baseline_mean: f64,
) -> Option<Breach> {
    if !rule.enabled || n_after < rule.min_samples {
        return None;
    }
    let ks = cmp.ks?;
    let effect = cmp.wasserstein_norm?;
    if ks.p_value >= rule.max_p_value || effect < rule.min_effect {
        return None;
    }
    let direction = if mean_after < baseline_mean {
        Direction::Down
    } else {
        Direction::Up
    };
    Some(Breach {
        severity: if direction == Direction::Down && effect >= rule.critical_effect {
            Severity::Critical
        } else {
            Severity::Warning
        },
        direction: Some(direction),
        detail: format!(
            "{detector} change at index {detected_at}, confirmed by {n_after} predictions after it: mean {:.3} vs baseline {:.3}, normed Wasserstein {:.3}, KS p {:.1e}",
            mean_after, baseline_mean, effect, ks.p_value
        ),
    })
}

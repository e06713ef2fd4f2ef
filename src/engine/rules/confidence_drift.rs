//! `confidence_drift`: the sliding window's confidences against the
//! baseline's: KS significance, normed Wasserstein effect, direction from
//! the means (a rise is never critical: it is not degradation).

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::{Breach, Direction, Severity};
use crate::engine::compare::Comparison;

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

impl Default for ConfidenceRule {
    fn default() -> Self {
        ConfidenceRule {
            enabled: true,
            max_p_value: 1e-6,
            min_effect: 0.1,
            critical_effect: 0.3,
            direction: Direction::Both,
        }
    }
}

impl ConfidenceRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("confidence_drift", self.max_p_value)?;
        non_negative("confidence_drift.min_effect", self.min_effect)
    }
}

/// Confidence drift of the sliding window against the baseline: KS
/// significance and normed Wasserstein effect, with direction from the means.
pub fn check(
    rule: &ConfidenceRule,
    cmp: &Comparison,
    window_mean: f64,
    baseline_mean: f64,
) -> Option<Breach> {
    if !rule.enabled {
        return None;
    }
    let ks = cmp.ks?;
    let effect = cmp.wasserstein_norm?;
    if ks.p_value >= rule.max_p_value || effect < rule.min_effect {
        return None;
    }
    let direction = if window_mean < baseline_mean {
        Direction::Down
    } else {
        Direction::Up
    };
    if !direction_allowed(rule.direction, direction) {
        return None;
    }
    let severity = if direction == Direction::Down && effect >= rule.critical_effect {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(Breach {
        severity,
        direction: Some(direction),
        detail: format!(
            "confidence {} from mean {:.3} to {:.3}: normed Wasserstein {:.3} (≥ {}), KS D {:.3} p {:.1e}",
            if direction == Direction::Down {
                "fell"
            } else {
                "rose"
            },
            baseline_mean,
            window_mean,
            effect,
            rule.min_effect,
            ks.statistic,
            ks.p_value
        ),
    })
}

/// The rule at a check of the sliding window.
pub fn check_window(
    rules: &super::AlertRules,
    f: &super::WindowFigures<'_>,
    hold: super::Hold,
) -> Option<Breach> {
    let rule = &rules.confidence_drift;
    let (max_p, min_effect) = hold.thresholds(rules, rule.max_p_value, rule.min_effect);
    super::over_scales(f, max_p, |scale, alpha| {
        let at_scale = ConfidenceRule {
            max_p_value: alpha,
            min_effect,
            ..*rule
        };
        check(&at_scale, &scale.comparison, scale.mean, f.baseline_mean)
    })
}

fn direction_allowed(rule: Direction, seen: Direction) -> bool {
    rule == Direction::Both || rule == seen
}

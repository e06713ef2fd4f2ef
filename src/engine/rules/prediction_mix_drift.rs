//! `prediction_mix_drift`: the sliding window's predicted labels against
//! the baseline's: chi-square significance, Jensen–Shannon effect.

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::{Breach, Severity};
use crate::engine::compare::Comparison;

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

impl Default for MixRule {
    fn default() -> Self {
        MixRule {
            enabled: true,
            max_p_value: 1e-6,
            min_effect: 0.05,
            critical_effect: 0.15,
        }
    }
}

impl MixRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("prediction_mix_drift", self.max_p_value)?;
        non_negative("prediction_mix_drift.min_effect", self.min_effect)
    }
}

/// Prediction-mix drift: chi-square significance and Jensen–Shannon effect.
pub fn check(
    rule: &MixRule,
    cmp: &Comparison,
    shifted: Option<(&str, f64, f64)>,
) -> Option<Breach> {
    if !rule.enabled {
        return None;
    }
    let chi2 = cmp.chi2?;
    let js = cmp.js?;
    if chi2.p_value >= rule.max_p_value || js < rule.min_effect {
        return None;
    }
    let moved = shifted
        .map(|(label, from, to)| {
            format!(
                "; largest move: {label} {:.1}% → {:.1}%",
                from * 100.0,
                to * 100.0
            )
        })
        .unwrap_or_default();
    Some(Breach {
        severity: if js >= rule.critical_effect {
            Severity::Critical
        } else {
            Severity::Warning
        },
        direction: None,
        detail: format!(
            "prediction mix moved: Jensen–Shannon {js:.3} (≥ {}), chi² {:.1} p {:.1e}{moved}",
            rule.min_effect, chi2.statistic, chi2.p_value
        ),
    })
}

/// The rule at a check of the sliding window.
pub fn check_window(
    rules: &super::AlertRules,
    f: &super::WindowFigures<'_>,
    hold: super::Hold,
) -> Option<Breach> {
    let rule = &rules.prediction_mix_drift;
    let (max_p, min_effect) = hold.thresholds(rules, rule.max_p_value, rule.min_effect);
    super::over_scales(f, max_p, |scale, alpha| {
        let at_scale = MixRule {
            max_p_value: alpha,
            min_effect,
            ..*rule
        };
        let moved = f.largest_share_move.filter(|_| {
            f.scales
                .first()
                .is_some_and(|whole| std::ptr::eq(whole, scale))
        });
        scale
            .mix_testable
            .then(|| check(&at_scale, &scale.comparison, moved))
            .flatten()
    })
}

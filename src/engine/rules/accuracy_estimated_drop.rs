//! `accuracy_estimated_drop`: the sliding window's CBPE-estimated accuracy
//! against the baseline's, before any label arrives: a one-sided z-test
//! with nannyml's sampling error plus a minimum drop. It runs only once the
//! estimate is calibrated on the baseline's labels (mean confidence alone
//! is what `confidence_drift` already watches).

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::{Breach, Direction};
use crate::engine::cbpe::{EstimateMethod, sampling_error};

/// A rule on estimated accuracy (CBPE) against the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EstimatedAccuracyRule {
    pub enabled: bool,
    /// Predictions in the window needed before it is judged.
    pub min_window: u64,
    /// One-sided z-test of the drop against its sampling error.
    pub max_p_value: f64,
    /// Absolute drop (0.03 = three points) needed to breach.
    pub min_drop: f64,
    pub critical_drop: f64,
}

impl Default for EstimatedAccuracyRule {
    fn default() -> Self {
        EstimatedAccuracyRule {
            enabled: true,
            min_window: 500,
            max_p_value: 1e-6,
            min_drop: 0.03,
            critical_drop: 0.06,
        }
    }
}

impl EstimatedAccuracyRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("accuracy_estimated_drop", self.max_p_value)?;
        non_negative("accuracy_estimated_drop.min_drop", self.min_drop)
    }
}

/// The estimates a check compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimates {
    /// The window's estimated accuracy, its method and size.
    pub window: f64,
    pub method: EstimateMethod,
    pub n: u64,
    /// The baseline's estimated accuracy.
    pub baseline: f64,
    /// Labelled and correct baseline predictions (for the sampling error).
    pub baseline_labels: (u64, u64),
}

/// The window's estimated accuracy fell from the baseline's by at least
/// `min_drop`, beyond its sampling error.
pub fn check(rule: &EstimatedAccuracyRule, e: &Estimates) -> Option<Breach> {
    if !rule.enabled || e.method != EstimateMethod::Cbpe || e.n < rule.min_window {
        return None;
    }
    let drop = e.baseline - e.window;
    if drop < rule.min_drop {
        return None;
    }
    let (labelled, correct) = e.baseline_labels;
    let se = sampling_error(labelled, correct, e.n)?;
    let p = super::one_sided_p(drop, se);
    if p >= rule.max_p_value {
        return None;
    }
    Some(Breach {
        severity: super::severity_from(drop, rule.critical_drop),
        direction: Some(Direction::Down),
        detail: format!(
            "estimated accuracy (CBPE, before labels) fell from {:.3} to {:.3} over the last {} predictions (drop {drop:.3} ≥ {}, sampling error {se:.4}, p {p:.1e})",
            e.baseline, e.window, e.n, rule.min_drop
        ),
    })
}

/// The rule at a check of the sliding window.
pub fn check_window(
    rules: &super::AlertRules,
    f: &super::WindowFigures<'_>,
    hold: super::Hold,
) -> Option<Breach> {
    let rule = &rules.accuracy_estimated_drop;
    let (max_p_value, min_drop) = hold.thresholds(rules, rule.max_p_value, rule.min_drop);
    let at = EstimatedAccuracyRule {
        max_p_value,
        min_drop,
        ..*rule
    };
    check(&at, f.estimates.as_ref()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::Severity;

    fn estimates(window: f64, method: EstimateMethod, n: u64) -> Estimates {
        Estimates {
            window,
            method,
            n,
            baseline: 0.95,
            baseline_labels: (10_000, 9_500),
        }
    }

    #[test]
    fn needs_a_calibrated_significant_drop() {
        let rule = EstimatedAccuracyRule::default();
        let b = check(&rule, &estimates(0.90, EstimateMethod::Cbpe, 5_000)).unwrap();
        assert_eq!(b.severity, Severity::Warning);
        let b = check(&rule, &estimates(0.85, EstimateMethod::Cbpe, 5_000)).unwrap();
        assert_eq!(b.severity, Severity::Critical);
        // Mean confidence is not an estimate this rule trusts.
        assert!(
            check(
                &rule,
                &estimates(0.85, EstimateMethod::MeanConfidence, 5_000)
            )
            .is_none()
        );
        // Too small a drop, too small a window, too noisy a window.
        assert!(check(&rule, &estimates(0.93, EstimateMethod::Cbpe, 5_000)).is_none());
        assert!(check(&rule, &estimates(0.85, EstimateMethod::Cbpe, 100)).is_none());
        assert!(check(&rule, &estimates(0.91, EstimateMethod::Cbpe, 600)).is_none());
        // A rise is not a drop.
        assert!(check(&rule, &estimates(0.99, EstimateMethod::Cbpe, 5_000)).is_none());
    }
}

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
    let (max_p_value, min_drop) = match hold {
        super::Hold::Fire => (rule.max_p_value, rule.min_drop),
        // The last N labels change by a few labels a check, so checks in a
        // row look at nearly one sample: a significance level to keep the
        // alert would clear and fire it again on that sample's noise. It
        // stays while accuracy is still down by the kept share of the drop.
        super::Hold::Keep => (1.0, rule.min_drop * rules.keep_effect_ratio),
        super::Hold::EffectOnly => (f64::INFINITY, rule.min_drop),
    };
    let at = AccuracyRule {
        max_p_value,
        min_drop,
        ..*rule
    };
    let recent = f.recent_labels;
    check(&at, (recent.labelled, recent.correct), f.baseline_labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::recent_accuracy::RecentAccuracy;
    use crate::engine::rules::{AlertRules, Hold, WindowFigures};

    fn figures(labelled: u64, correct: u64) -> WindowFigures<'static> {
        WindowFigures {
            scales: &[],
            ladder_len: 1,
            baseline_mean: 0.9,
            largest_share_move: None,
            recent_labels: RecentAccuracy {
                labelled,
                correct,
                over: 1_000,
            },
            baseline_labels: (10_000, 9_500),
            estimates: None,
            mix_crossing: None,
        }
    }

    #[test]
    fn fires_on_a_significant_drop_and_keeps_while_half_of_it_remains() {
        let rules = AlertRules::default();
        // 88% of the last 1,000 against 95%: significant, fires.
        assert!(check_window(&rules, &figures(1_000, 880), Hold::Fire).is_some());
        // 93%: two points down, far from significant: does not fire...
        assert!(check_window(&rules, &figures(1_000, 930), Hold::Fire).is_none());
        // ...but keeps an active alert (at least half the three points).
        assert!(check_window(&rules, &figures(1_000, 930), Hold::Keep).is_some());
        // Back within a point of the baseline: it clears.
        assert!(check_window(&rules, &figures(1_000, 940), Hold::Keep).is_none());
        // Too few labels decide nothing.
        assert!(check_window(&rules, &figures(100, 50), Hold::Keep).is_none());
    }
}

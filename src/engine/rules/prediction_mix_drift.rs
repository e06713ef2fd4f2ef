//! `prediction_mix_drift`: the sliding window's predicted labels against
//! the baseline's: chi-square significance, Jensen–Shannon effect; and the
//! mix's sequential test (`detectors::mix_cusum`), which keeps adding
//! evidence past the window, with the same effect asked of the predictions
//! since the change it found.

use serde::{Deserialize, Serialize};

use super::{non_negative, p_value};
use crate::engine::alerts::Breach;
use crate::engine::compare::Comparison;
use crate::engine::detectors::mix_cusum::{Crossing, Tuning};

/// A crossing of the mix's sequential test, with the predictions since the
/// change it found (at most the sliding window) against the baseline.
#[derive(Debug, Clone, Copy)]
pub struct MixCrossing<'a> {
    pub crossing: Crossing,
    pub label: &'a str,
    /// Predictions measured, the label's share among them and their mix's
    /// Jensen–Shannon distance from the baseline's.
    pub n: u64,
    pub share: f64,
    pub js: Option<f64>,
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
    /// Whether the sequential test runs (CUSUMs of each label's share at
    /// the same false-alarm rate as the windows' tests)...
    pub sequential: bool,
    /// ...tuned to find fastest a label moving the mix by this
    /// Jensen–Shannon distance...
    pub sequential_effect: f64,
    /// ...once the baseline holds this many predictions; each label's
    /// share tested against its baseline share moved this many standard
    /// errors towards the change (the share is an estimate).
    pub sequential_min_baseline: u64,
    pub sequential_baseline_margin: f64,
}

impl Default for MixRule {
    fn default() -> Self {
        MixRule {
            enabled: true,
            max_p_value: 1e-6,
            min_effect: 0.05,
            critical_effect: 0.15,
            sequential: true,
            sequential_effect: 0.1,
            sequential_min_baseline: 1000,
            sequential_baseline_margin: 3.0,
        }
    }
}

impl MixRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        p_value("prediction_mix_drift", self.max_p_value)?;
        non_negative("prediction_mix_drift.min_effect", self.min_effect)?;
        if !(self.sequential_effect > 0.0 && self.sequential_effect < 1.0) {
            return Err(format!(
                "alerts.prediction_mix_drift.sequential_effect must be above 0 and below 1 (a Jensen–Shannon distance), not {}",
                self.sequential_effect
            ));
        }
        non_negative(
            "prediction_mix_drift.sequential_baseline_margin",
            self.sequential_baseline_margin,
        )
    }

    /// How the sequential test is tuned with a check every `check_every`
    /// predictions (`None`: it does not run).
    pub fn sequential_tuning(&self, check_every: u64) -> Option<Tuning> {
        (self.enabled && self.sequential).then_some(Tuning {
            effect: self.sequential_effect,
            max_p_value: self.max_p_value,
            check_every,
            baseline_margin: self.sequential_baseline_margin,
        })
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
        severity: super::severity_from(js, rule.critical_effect),
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
    let windows = super::over_scales(f, max_p, |scale, alpha| {
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
    });
    windows.or_else(|| {
        let found = f.mix_crossing.as_ref()?;
        check_crossing(rule, found, min_effect)
    })
}

/// The sequential test's crossing, when the predictions since the change
/// moved the mix by `min_effect`.
pub fn check_crossing(rule: &MixRule, found: &MixCrossing<'_>, min_effect: f64) -> Option<Breach> {
    if !(rule.enabled && rule.sequential) {
        return None;
    }
    let js = found.js?;
    if js < min_effect {
        return None;
    }
    let c = &found.crossing;
    Some(Breach {
        severity: super::severity_from(js, rule.critical_effect),
        direction: None,
        detail: format!(
            "prediction mix moved: {} {:.1}% → {:.1}%, Jensen–Shannon {js:.3} (≥ {min_effect}) over the last {} predictions; \
             seen by the sequential test of the label's share ({} since prediction {}: CUSUM {:.1} ≥ {:.1})",
            found.label,
            c.from * 100.0,
            found.share * 100.0,
            found.n,
            if c.rising { "rising" } else { "falling" },
            c.since,
            c.sum,
            c.threshold,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::Severity;

    fn found(js: f64) -> MixCrossing<'static> {
        MixCrossing {
            crossing: Crossing {
                label: 0,
                rising: true,
                from: 0.5,
                since: 48_400,
                at: 48_780,
                sum: 18.6,
                threshold: 18.4,
            },
            label: "fraud",
            n: 200,
            share: 0.62,
            js: Some(js),
        }
    }

    #[test]
    fn a_crossing_fires_with_the_effect_and_says_what_moved() {
        let rule = MixRule::default();
        let breach = check_crossing(&rule, &found(0.127), rule.min_effect).unwrap();
        assert_eq!(breach.severity, Severity::Warning);
        assert_eq!(
            breach.detail,
            "prediction mix moved: fraud 50.0% → 62.0%, Jensen–Shannon 0.127 (≥ 0.05) over the last 200 predictions; \
             seen by the sequential test of the label's share (rising since prediction 48400: CUSUM 18.6 ≥ 18.4)"
        );
        let critical = check_crossing(&rule, &found(0.2), rule.min_effect).unwrap();
        assert_eq!(critical.severity, Severity::Critical);
        // Too small a move since the change: evidence, not an alert.
        assert!(check_crossing(&rule, &found(0.04), rule.min_effect).is_none());
        let off = MixRule {
            sequential: false,
            ..rule
        };
        assert!(check_crossing(&off, &found(0.2), rule.min_effect).is_none());
    }

    #[test]
    fn the_sequential_effect_must_be_a_distance() {
        for bad in [0.0, 1.0, f64::NAN, -0.1] {
            let rule = MixRule {
                sequential_effect: bad,
                ..MixRule::default()
            };
            assert!(rule.validate().is_err(), "{bad}");
        }
        assert!(MixRule::default().validate().is_ok());
    }
}

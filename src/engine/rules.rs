//! What one check of each rule decides: breach or not, how bad, which way.
//! Pure functions of the figures, so that the same rules run live and in
//! `replay` and can be tested on their own.

use statrs::function::erf::erfc;

use super::alerts::{
    AccuracyRule, Breach, ChangePointRule, ConfidenceRule, Direction, MixRule, Severity,
};
use super::compare::Comparison;

/// Confidence drift of the sliding window against the baseline: KS
/// significance and normed Wasserstein effect, with direction from the means.
pub fn confidence_drift(
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

/// Prediction-mix drift: chi-square significance and Jensen–Shannon effect.
pub fn prediction_mix_drift(
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

/// Realized accuracy of the window's labelled predictions against the
/// baseline's: a one-sided two-proportion z-test plus a minimum drop.
pub fn accuracy_drop(
    rule: &AccuracyRule,
    window: (u64, u64),
    baseline: (u64, u64),
) -> Option<Breach> {
    if !rule.enabled {
        return None;
    }
    let (nw, cw) = window;
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
    let p_value = if se > 0.0 {
        0.5 * erfc(drop / se / std::f64::consts::SQRT_2)
    } else {
        0.0
    };
    if p_value >= rule.max_p_value {
        return None;
    }
    Some(Breach {
        severity: if drop >= rule.critical_drop {
            Severity::Critical
        } else {
            Severity::Warning
        },
        direction: Some(Direction::Down),
        detail: format!(
            "realized accuracy fell from {:.3} to {:.3} ({nw} labelled, drop {:.3} ≥ {}, p {p_value:.1e})",
            pb, pw, drop, rule.min_drop
        ),
    })
}

/// A detector's change point, confirmed by the predictions after it.
pub fn change_point(
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

fn direction_allowed(rule: Direction, seen: Direction) -> bool {
    rule == Direction::Both || rule == seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::AlertRules;
    use crate::engine::compare::{Chi2Figures, KsFigures};

    fn cmp(p: f64, effect: f64) -> Comparison {
        Comparison {
            ks: Some(KsFigures {
                statistic: 0.2,
                p_value: p,
                method: "asymptotic",
            }),
            chi2: Some(Chi2Figures {
                statistic: 50.0,
                p_value: p,
                dof: 1,
            }),
            psi: Some(0.1),
            js: Some(effect),
            wasserstein: Some(effect / 10.0),
            wasserstein_norm: Some(effect),
        }
    }

    #[test]
    fn confidence_needs_significance_effect_and_direction() {
        let mut rule = AlertRules::default().confidence_drift;
        assert!(confidence_drift(&rule, &cmp(1e-3, 0.5), 0.8, 0.9).is_none());
        assert!(confidence_drift(&rule, &cmp(1e-9, 0.05), 0.8, 0.9).is_none());
        let b = confidence_drift(&rule, &cmp(1e-9, 0.5), 0.8, 0.9).unwrap();
        assert_eq!(
            (b.severity, b.direction),
            (Severity::Critical, Some(Direction::Down))
        );
        let b = confidence_drift(&rule, &cmp(1e-9, 0.5), 0.95, 0.9).unwrap();
        assert_eq!(
            (b.severity, b.direction),
            (Severity::Warning, Some(Direction::Up))
        );
        rule.direction = Direction::Down;
        assert!(confidence_drift(&rule, &cmp(1e-9, 0.5), 0.95, 0.9).is_none());
    }

    #[test]
    fn accuracy_drop_is_one_sided_with_minimum() {
        let rule = AlertRules::default().accuracy_drop;
        assert!(accuracy_drop(&rule, (1000, 900), (10_000, 9500)).is_some());
        assert!(accuracy_drop(&rule, (1000, 990), (10_000, 9500)).is_none()); // better
        assert!(accuracy_drop(&rule, (100, 50), (10_000, 9500)).is_none()); // too few
        assert!(accuracy_drop(&rule, (1000, 945), (10_000, 9500)).is_none()); // too small
    }
}

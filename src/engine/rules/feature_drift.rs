//! `feature_drift`: a model's input features in the sliding window against
//! the baseline. A feature drifts when its test is significant (KS p for a
//! number, chi-square p for a category, below `max_p_value` split over the
//! features tested: Bonferroni, so one check's chance of a false breach
//! stays below `max_p_value` however many features a model has) **and** its
//! effect is large (normed Wasserstein for a number, Jensen–Shannon for a
//! category, both at evidently's 0.1). One alert per model lists the
//! drifting features; a feature that joins while it is active re-announces
//! it (`updated`). Driven by the model's checks where the features live
//! (`Drive::Own`): a window rule's breach has no list of features.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::listed::ListedBreach;
use super::{AlertRules, Hold, non_negative, p_value};
use crate::engine::alerts::{Breach, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureDriftRule {
    pub enabled: bool,
    /// Breach only when a feature's p-value is below this over the number
    /// of features tested...
    pub max_p_value: f64,
    /// ...and its normed Wasserstein distance (numbers) is at least this...
    pub min_wasserstein_norm: f64,
    /// ...or its Jensen–Shannon distance, base 2 (categories), this.
    pub min_js: f64,
}

impl Default for FeatureDriftRule {
    fn default() -> Self {
        FeatureDriftRule {
            enabled: true,
            max_p_value: 1e-6,
            min_wasserstein_norm: 0.1,
            min_js: 0.1,
        }
    }
}

impl FeatureDriftRule {
    pub fn validate(&self) -> Result<(), String> {
        p_value("feature_drift", self.max_p_value)?;
        non_negative(
            "feature_drift.min_wasserstein_norm",
            self.min_wasserstein_norm,
        )?;
        non_negative("feature_drift.min_js", self.min_js)
    }
}

/// One feature in the sliding window against the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureTest<'a> {
    Numeric {
        p_value: f64,
        statistic: f64,
        wasserstein_norm: f64,
        /// The baseline's mean and the window's (when both are finite).
        means: Option<(f64, f64)>,
    },
    Categorical {
        p_value: f64,
        js: f64,
        /// The category whose share moved most: name, baseline share,
        /// window share.
        largest_move: Option<(&'a str, f64, f64)>,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct FeatureCheck<'a> {
    pub name: &'a Arc<str>,
    pub test: FeatureTest<'a>,
}

/// Features described in an alert's detail; the rest are counted.
const DESCRIBED: usize = 5;

/// Which features drift at one check. While the alert is active
/// (`Hold::Keep`) a feature keeps it at the lower bar every rule keeps by.
pub fn check(
    rule: &FeatureDriftRule,
    rules: &AlertRules,
    checks: &[FeatureCheck<'_>],
    hold: Hold,
) -> Option<ListedBreach> {
    if !rule.enabled || checks.is_empty() {
        return None;
    }
    let (max_p_value, ratio) = match hold {
        Hold::Fire => (rule.max_p_value, 1.0),
        Hold::EffectOnly => (f64::INFINITY, 1.0),
        Hold::Keep => (
            rules.keep_p_value.max(rule.max_p_value),
            rules.keep_effect_ratio,
        ),
    };
    let alpha = max_p_value / checks.len() as f64;
    // (how far past its threshold the effect is, the check)
    let mut drifting: Vec<(f64, &FeatureCheck<'_>)> = checks
        .iter()
        .filter_map(|c| {
            let (p, effect, min) = match c.test {
                FeatureTest::Numeric {
                    p_value,
                    wasserstein_norm,
                    ..
                } => (p_value, wasserstein_norm, rule.min_wasserstein_norm * ratio),
                FeatureTest::Categorical { p_value, js, .. } => (p_value, js, rule.min_js * ratio),
            };
            (p < alpha && effect >= min).then(|| (effect / min.max(f64::MIN_POSITIVE), c))
        })
        .collect();
    if drifting.is_empty() {
        return None;
    }
    drifting.sort_by(|a, b| b.0.total_cmp(&a.0));
    let described: Vec<String> = drifting
        .iter()
        .take(DESCRIBED)
        .map(|(_, c)| describe(rule, c))
        .collect();
    let more = match drifting.len().saturating_sub(DESCRIBED) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    Some(ListedBreach {
        breach: Breach {
            severity: Severity::Warning,
            direction: None,
            detail: format!(
                "{} of {} input features drifted: {}{more} (p < {alpha:.1e} per feature tested)",
                drifting.len(),
                checks.len(),
                described.join("; ")
            ),
        },
        names: drifting.iter().map(|(_, c)| Arc::clone(c.name)).collect(),
    })
}

fn describe(rule: &FeatureDriftRule, c: &FeatureCheck<'_>) -> String {
    match c.test {
        FeatureTest::Numeric {
            p_value,
            statistic,
            wasserstein_norm,
            means,
        } => {
            let moved = means
                .map(|(from, to)| format!(" mean {from:.4} → {to:.4},"))
                .unwrap_or_default();
            format!(
                "{}{moved} normed Wasserstein {wasserstein_norm:.3} (≥ {}), KS D {statistic:.3} p {p_value:.1e}",
                c.name, rule.min_wasserstein_norm
            )
        }
        FeatureTest::Categorical {
            p_value,
            js,
            largest_move,
        } => {
            let moved = largest_move
                .map(|(name, from, to)| {
                    format!(", {name} {:.1}% → {:.1}%", from * 100.0, to * 100.0)
                })
                .unwrap_or_default();
            format!(
                "{}{moved}, Jensen–Shannon {js:.3} (≥ {}), chi² p {p_value:.1e}",
                c.name, rule.min_js
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(p_value: f64, wasserstein_norm: f64) -> FeatureTest<'static> {
        FeatureTest::Numeric {
            p_value,
            statistic: 0.3,
            wasserstein_norm,
            means: Some((1.0, 2.0)),
        }
    }

    fn categorical(p_value: f64, js: f64) -> FeatureTest<'static> {
        FeatureTest::Categorical {
            p_value,
            js,
            largest_move: Some(("x", 0.5, 0.8)),
        }
    }

    #[test]
    fn significance_is_split_over_the_features_and_needs_an_effect() {
        let rule = FeatureDriftRule::default();
        let rules = AlertRules::default();
        let names: Vec<Arc<str>> = ["a", "b", "c", "d"].map(Arc::from).to_vec();
        let checks = |tests: [FeatureTest<'static>; 4]| -> Vec<FeatureCheck<'_>> {
            names
                .iter()
                .zip(tests)
                .map(|(name, test)| FeatureCheck { name, test })
                .collect()
        };
        // p 5e-7 is below 1e-6 but not below 1e-6 / 4.
        let quiet = checks([
            numeric(5e-7, 0.5),
            numeric(1e-9, 0.05),
            categorical(1e-9, 0.09),
            categorical(0.5, 0.5),
        ]);
        assert_eq!(check(&rule, &rules, &quiet, Hold::Fire), None);
        let loud = checks([
            numeric(1e-9, 0.2),
            numeric(1e-9, 0.05),
            categorical(1e-12, 0.5),
            categorical(0.5, 0.5),
        ]);
        let b = check(&rule, &rules, &loud, Hold::Fire).unwrap();
        let listed: Vec<&str> = b.names.iter().map(|n| &**n).collect();
        assert_eq!(listed, ["c", "a"], "largest effect first");
        assert!(
            b.breach
                .detail
                .starts_with("2 of 4 input features drifted: c, x 50.0% → 80.0%")
        );
        assert!(
            check(
                &FeatureDriftRule {
                    enabled: false,
                    ..rule
                },
                &rules,
                &loud,
                Hold::Fire
            )
            .is_none()
        );
        assert!(check(&rule, &rules, &[], Hold::Fire).is_none());
    }
}

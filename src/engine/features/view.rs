//! What a screen shows of a model's input features: the features panel
//! (each feature's last check against its threshold, whether the active
//! `feature_drift` alert lists it, its effect over the last checks) and the
//! review case's marks (each feature's baseline range). Copied once per
//! frame from what the checks keep: nothing here computes a statistic.

use std::cmp::Ordering;
use std::sync::Arc;

use super::categories::{MISSING, OTHER};
use super::column::Column;
use super::history::LastCheck;
#[cfg(test)]
use super::history::Moved;
use super::{FeatureKind, FeatureMonitor, Phase};
use crate::engine::rules::feature_drift::FeatureDriftRule;
use crate::record::features::FeatureValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeaturesPhase {
    /// Features are off, or the baseline came from a file (no features).
    Off,
    Collecting,
    Frozen,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeaturesView {
    pub phase: FeaturesPhase,
    /// Frozen: ranked by drift (how far the effect is past its threshold,
    /// then p), features without a test last. Collecting: the features
    /// seen so far, in that order.
    pub rows: Vec<FeatureRow>,
    /// The p a feature's test must be below at the last check:
    /// `max_p_value` over the features tested (none before a check).
    pub max_p_value: Option<f64>,
    /// Features given up for `max_bytes`, and values of features not
    /// watched for a cap.
    pub dropped_over_bytes: u64,
    pub untracked_values: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    pub name: Arc<str>,
    pub kind: FeatureKind,
    /// The effect `feature_drift` asks for.
    pub threshold: f64,
    pub last: Option<LastCheck>,
    /// Listed by the active `feature_drift` alert.
    pub in_alert: bool,
    /// The effect at each of the last checks, oldest first; NaN where a
    /// check had no test.
    pub trend: Vec<f32>,
    pub range: BaselineRange,
}

impl FeatureRow {
    /// The last check breached both bars of `feature_drift`.
    pub fn drifting(&self, max_p_value: Option<f64>) -> bool {
        match (&self.last, max_p_value) {
            (Some(l), Some(alpha)) => l.p_value < alpha && l.effect >= self.threshold,
            _ => false,
        }
    }

    /// How far past its threshold the effect is (the alert's order).
    fn excess(&self) -> Option<f64> {
        let l = self.last.as_ref()?;
        Some(l.effect / self.threshold.max(f64::MIN_POSITIVE))
    }
}

/// What the baseline held of a feature, to tell whether a value is new.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineRange {
    /// No value in the baseline (or it is not frozen).
    Unknown,
    Numeric {
        min: f64,
        max: f64,
    },
    Categorical {
        /// The categories the baseline saw, `(missing)` and `(other)` aside.
        seen: Vec<Arc<str>>,
        /// Some baseline values were counted as `(other)`: a category not
        /// listed may have been among them.
        other: bool,
        /// Numbers are categories (by their text).
        numbers: bool,
    },
}

/// How a value lies outside its feature's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outside {
    Below {
        min: f64,
        max: f64,
    },
    Above {
        min: f64,
        max: f64,
    },
    /// A category the baseline never saw.
    Unseen,
}

impl BaselineRange {
    /// Whether `value` (read as the engine reads it: a value of another
    /// kind counts as missing, and missing is never outside) is beyond
    /// what the baseline saw.
    pub fn outside(&self, value: FeatureValue<&str>) -> Option<Outside> {
        match (self, value) {
            (BaselineRange::Numeric { min, max }, FeatureValue::Number(x)) => {
                let (min, max) = (*min, *max);
                if x < min {
                    Some(Outside::Below { min, max })
                } else if x > max {
                    Some(Outside::Above { min, max })
                } else {
                    None
                }
            }
            (BaselineRange::Categorical { numbers: false, .. }, FeatureValue::Number(_)) => None,
            (BaselineRange::Categorical { .. }, value) => self.unseen(&value.category_text()),
            _ => None,
        }
    }

    fn unseen(&self, category: &str) -> Option<Outside> {
        let BaselineRange::Categorical { seen, other, .. } = self else {
            return None;
        };
        let known = category == MISSING || seen.iter().any(|s| **s == *category);
        // Where the baseline counted values as `(other)` (past the cap on
        // categories, or over the cap on their length), an unlisted one
        // may have been among them.
        (!known && !*other).then_some(Outside::Unseen)
    }
}

impl FeatureMonitor {
    /// The features as a screen shows them; `listed` are the features the
    /// active `feature_drift` alert names.
    pub fn view(&self, rule: &FeatureDriftRule, listed: &[Arc<str>]) -> FeaturesView {
        let frozen = self.phase == Phase::Frozen;
        let mut rows: Vec<FeatureRow> = self
            .registry
            .names()
            .iter()
            .zip(&self.columns)
            .zip(&self.history)
            .map(|((name, c), history)| FeatureRow {
                name: Arc::clone(name),
                kind: c.kind(),
                threshold: match c.kind() {
                    FeatureKind::Numeric => rule.min_wasserstein_norm,
                    FeatureKind::Categorical => rule.min_js,
                },
                last: history.last().cloned(),
                in_alert: listed.iter().any(|l| **l == **name),
                trend: history.effects().collect(),
                range: if frozen {
                    range(c)
                } else {
                    BaselineRange::Unknown
                },
            })
            .collect();
        if frozen {
            rows.sort_by(drift_order);
        }
        let tested = rows.iter().filter(|r| r.last.is_some()).count();
        FeaturesView {
            phase: match self.phase {
                Phase::Off => FeaturesPhase::Off,
                Phase::Collecting => FeaturesPhase::Collecting,
                Phase::Frozen => FeaturesPhase::Frozen,
            },
            rows,
            max_p_value: (tested > 0).then(|| rule.max_p_value / tested as f64),
            dropped_over_bytes: self.dropped_over_bytes,
            untracked_values: self.untracked_values,
        }
    }
}

/// Largest excess first, then smallest p; features without a test last
/// (a stable sort keeps them in the order seen).
fn drift_order(a: &FeatureRow, b: &FeatureRow) -> Ordering {
    match (a.excess(), b.excess(), &a.last, &b.last) {
        (Some(x), Some(y), Some(la), Some(lb)) => {
            y.total_cmp(&x).then(la.p_value.total_cmp(&lb.p_value))
        }
        (Some(_), None, ..) => Ordering::Less,
        (None, Some(_), ..) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

fn range(c: &Column) -> BaselineRange {
    match c {
        Column::Numeric(n) => match n.baseline() {
            Some(b) if b.n > 0 => BaselineRange::Numeric {
                min: b.min,
                max: b.max,
            },
            _ => BaselineRange::Unknown,
        },
        Column::Categorical { column, numbers } => {
            let mut other = false;
            let seen = column
                .baseline_shared()
                .filter(|(name, _)| {
                    other |= ***name == *OTHER;
                    ***name != *OTHER && ***name != *MISSING
                })
                .map(|(name, _)| Arc::clone(name))
                .collect();
            BaselineRange::Categorical {
                seen,
                other,
                numbers: *numbers,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::tests::{feed, monitor};

    fn categorical(seen: &[&str], other: bool, numbers: bool) -> BaselineRange {
        BaselineRange::Categorical {
            seen: seen.iter().map(|s| Arc::from(*s)).collect(),
            other,
            numbers,
        }
    }

    #[test]
    fn a_value_is_outside_as_the_engine_reads_it() {
        use FeatureValue::{Bool, Number, Text};
        let range = BaselineRange::Numeric { min: 2.0, max: 9.5 };
        let (min, max) = (2.0, 9.5);
        assert_eq!(
            range.outside(Number(1.0)),
            Some(Outside::Below { min, max })
        );
        assert_eq!(
            range.outside(Number(9.6)),
            Some(Outside::Above { min, max })
        );
        assert_eq!(range.outside(Number(9.5)), None);
        assert_eq!(range.outside(Text("99")), None, "missing, not outside");
        let cats = categorical(&["DE", "true"], false, false);
        assert_eq!(cats.outside(Text("BR")), Some(Outside::Unseen));
        assert_eq!(cats.outside(Text("DE")), None);
        assert_eq!(cats.outside(Bool(true)), None);
        assert_eq!(cats.outside(Bool(false)), Some(Outside::Unseen));
        assert_eq!(cats.outside(Text(MISSING)), None);
        assert_eq!(
            cats.outside(Number(7.0)),
            None,
            "an inferred category: missing"
        );
        let fixed = categorical(&["7"], false, true);
        assert_eq!(fixed.outside(Number(7.0)), None);
        assert_eq!(fixed.outside(Number(8.0)), Some(Outside::Unseen));
        // The baseline counted some values as (other): BR may have been one.
        assert_eq!(categorical(&["DE"], true, false).outside(Text("BR")), None);
        assert_eq!(BaselineRange::Unknown.outside(Number(1e9)), None);
    }

    #[test]
    fn rows_rank_by_drift_and_keep_each_check() {
        let rule = FeatureDriftRule::default();
        let mut m = monitor(10, |_| {});
        for i in 0..10 {
            let c = ["x", "y"][i % 2];
            feed(&mut m, &format!(r#"{{"quiet":{i},"moved":{i},"c":"{c}"}}"#));
        }
        assert_eq!(m.view(&rule, &[]).phase, FeaturesPhase::Collecting);
        assert!(
            m.view(&rule, &[])
                .rows
                .iter()
                .all(|r| r.range == BaselineRange::Unknown)
        );
        m.freeze();
        let before = m.view(&rule, &[]);
        assert_eq!(before.max_p_value, None, "no check yet");
        assert!(
            before
                .rows
                .iter()
                .all(|r| r.last.is_none() && r.trend.is_empty())
        );
        let names = |v: &FeaturesView| -> Vec<String> {
            v.rows.iter().map(|r| r.name.to_string()).collect()
        };
        assert_eq!(names(&before), ["quiet", "moved", "c"], "the order seen");
        // The sliding window (2) holds 4.5 twice for `quiet`, 30 for `moved`
        // and an unseen category.
        for _ in 0..2 {
            feed(&mut m, r#"{"quiet":4.5,"moved":30,"c":"z"}"#);
        }
        for _ in 0..3 {
            assert_eq!(m.record_checks().len(), 3);
        }
        let listed: Vec<Arc<str>> = vec![Arc::from("moved")];
        let v = m.view(&rule, &listed);
        assert_eq!(v.phase, FeaturesPhase::Frozen);
        assert_eq!(names(&v), ["moved", "c", "quiet"]);
        assert_eq!(v.max_p_value, Some(rule.max_p_value / 3.0));
        let moved = &v.rows[0];
        assert!(moved.in_alert && !v.rows[1].in_alert);
        assert_eq!(moved.trend.len(), 3);
        assert_eq!(moved.range, BaselineRange::Numeric { min: 0.0, max: 9.0 });
        assert_eq!(moved.threshold, rule.min_wasserstein_norm);
        let c = &v.rows[1];
        assert_eq!(c.range, categorical(&["x", "y"], false, false));
        match &c.last.as_ref().unwrap().moved {
            Moved::Share { category, to, .. } => assert_eq!((&**category, *to), ("z", 1.0)),
            other => panic!("{other:?}"),
        }
        assert!(v.rows[0].last.as_ref().unwrap().effect > v.rows[2].last.as_ref().unwrap().effect);
    }
}

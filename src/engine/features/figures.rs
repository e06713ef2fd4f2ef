//! What a window says about one feature against the baseline, as the
//! report writes it (README, Input features) and the drift rule reads it.

use serde::Serialize;

use crate::engine::compare::{Chi2Figures, KsFigures};

/// One feature in one window. `None` where a side has no value to compare.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureFigures {
    Numeric {
        ks: Option<KsFigures>,
        wasserstein: Option<f64>,
        wasserstein_norm: Option<f64>,
    },
    Categorical {
        chi2: Option<Chi2Figures>,
        js: Option<f64>,
    },
}

/// A statistic as reported: a figure that overflowed f64 (features can be
/// any JSON number) is no figure rather than an infinity.
pub(super) fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// One feature's baseline, as the report describes it: `n` predictions with
/// a value and `missing` without one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BaselineSummary<'a> {
    Numeric {
        n: u64,
        missing: u64,
        mean: Option<f64>,
        std: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
    },
    Categorical {
        n: u64,
        missing: u64,
        /// Counts by category, `(missing)` aside.
        #[serde(serialize_with = "in_order")]
        counts: Vec<(&'a str, u64)>,
    },
}

/// Pairs as a JSON object in their order.
fn in_order<S: serde::Serializer>(pairs: &[(&str, u64)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

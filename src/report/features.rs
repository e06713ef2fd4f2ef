//! The input features in the `replay` report: each window's figures and the
//! baseline's summary, keyed by feature name in the order first seen, and
//! what the caps kept out.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::engine::features::FeatureMonitor;
use crate::engine::features::figures::FeatureFigures;

/// One window's features: `{NAME: {"kind": ..., figures}}`.
pub struct WindowFeatures<'a> {
    pub names: &'a [Arc<str>],
    pub figures: &'a [FeatureFigures],
}

impl Serialize for WindowFeatures<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.names.iter().map(|n| &**n).zip(self.figures))
    }
}

/// The baseline's features: `{NAME: {"kind", "n", "missing", ...}}`.
pub struct BaselineFeatures<'a>(pub &'a FeatureMonitor);

impl Serialize for BaselineFeatures<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.baselines())
    }
}

/// Features the caps kept out (`[features]`), when any were.
#[derive(Debug, Serialize)]
pub struct FeaturesNotWatched {
    /// Values of features not watched because `max_per_model` or
    /// `max_bytes` was reached.
    pub values: u64,
    /// Features given up while the baseline grew past `max_bytes`.
    pub dropped_over_bytes: u64,
}

impl FeaturesNotWatched {
    pub fn of(m: &FeatureMonitor) -> Option<Self> {
        (m.untracked_values > 0 || m.dropped_over_bytes > 0).then_some(FeaturesNotWatched {
            values: m.untracked_values,
            dropped_over_bytes: m.dropped_over_bytes,
        })
    }
}

//! `[features]`: which input features are watched, their kinds, and the
//! caps that bound what they keep.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::input_features::MAX_FEATURES_PER_EVENT;

/// How a feature is compared: numbers by their distribution (KS,
/// Wasserstein), strings and booleans by their shares (chi-square,
/// Jensen–Shannon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    Numeric,
    Categorical,
}

impl FeatureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Numeric => "numeric",
            FeatureKind::Categorical => "categorical",
        }
    }
}

/// Most categories a feature may be given (`max_categories`): a category is
/// held in a byte, with `(other)` and `(missing)` beside them.
pub const MAX_CATEGORIES: usize = 250;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureSettings {
    pub enabled: bool,
    /// Features watched per model; the first seen in the baseline win.
    pub max_per_model: usize,
    /// Categories kept per categorical feature; later ones count as `(other)`.
    pub max_categories: usize,
    /// Bytes one model's features may hold (baselines, windows, sliding
    /// window); a feature that would go over it is not watched.
    pub max_bytes: usize,
    /// Only these features (empty: every feature).
    pub include: Vec<String>,
    /// Never these features.
    pub exclude: Vec<String>,
    /// Kinds fixed by name instead of inferred from the first value.
    pub kinds: BTreeMap<String, FeatureKind>,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            enabled: true,
            max_per_model: 64,
            max_categories: 50,
            max_bytes: 32 << 20,
            include: Vec::new(),
            exclude: Vec::new(),
            kinds: BTreeMap::new(),
        }
    }
}

impl FeatureSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_per_model > MAX_FEATURES_PER_EVENT {
            return Err(format!(
                "features.max_per_model {} is over {MAX_FEATURES_PER_EVENT} (features read from one line)",
                self.max_per_model
            ));
        }
        if !(1..=MAX_CATEGORIES).contains(&self.max_categories) {
            return Err(format!(
                "features.max_categories {} is not in 1..={MAX_CATEGORIES}",
                self.max_categories
            ));
        }
        Ok(())
    }

    /// Whether a feature of this name is watched at all (include/exclude).
    pub fn admits(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_exclude_and_validation() {
        let mut s = FeatureSettings::default();
        assert!(s.admits("a"));
        s.include = vec!["a".into(), "b".into()];
        s.exclude = vec!["b".into()];
        assert!(s.admits("a") && !s.admits("b") && !s.admits("c"));
        s.validate().unwrap();
        s.max_categories = 0;
        assert!(s.validate().unwrap_err().contains("max_categories"));
        s.max_categories = 50;
        s.max_per_model = MAX_FEATURES_PER_EVENT + 1;
        assert!(s.validate().unwrap_err().contains("max_per_model"));
    }
}

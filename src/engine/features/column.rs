//! One watched feature of either kind: what a value means for it (a value
//! of another kind counts as missing) and what it costs in bytes.

use super::categorical::CategoricalColumn;
use super::categories::MISSING;
use std::sync::Arc;

use super::figures::{BaselineSummary, FeatureFigures, finite};
use super::history;
use super::numeric::{GRID_BINS, NumericColumn};
use super::settings::{FeatureKind, FeatureSettings};
use crate::engine::rules::feature_drift::FeatureTest;
use crate::record::features::FeatureValue;
use crate::record::malformed::MAX_NAME_BYTES;

/// A prediction's value of a feature: `None` when it had none.
pub type Value<'a> = Option<FeatureValue<&'a str>>;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Column {
    Numeric(NumericColumn),
    Categorical {
        column: CategoricalColumn,
        /// Numbers are categories (by their text) only when the kind was
        /// fixed in the config; an inferred categorical counts them missing.
        numbers: bool,
    },
}

/// Bookkeeping per feature besides its counts (names, table entries).
const OVERHEAD_BYTES: usize = 512;

impl Column {
    /// The kind a first value implies.
    pub fn kind_of(value: FeatureValue<&str>) -> FeatureKind {
        match value {
            FeatureValue::Number(_) => FeatureKind::Numeric,
            FeatureValue::Text(_) | FeatureValue::Bool(_) => FeatureKind::Categorical,
        }
    }

    /// A feature first seen after `missing` baseline predictions without it.
    pub fn new(kind: FeatureKind, fixed: bool, settings: &FeatureSettings, missing: u64) -> Self {
        match kind {
            FeatureKind::Numeric => Column::Numeric(NumericColumn::new(missing)),
            FeatureKind::Categorical => Column::Categorical {
                column: CategoricalColumn::new(settings.max_categories, missing),
                numbers: fixed,
            },
        }
    }

    /// Bytes a feature of this kind holds whatever its baseline's length:
    /// the tumbling window, the sliding window's ring and grid or counts,
    /// the category names, and the last checks (`history`).
    pub fn fixed_bytes(kind: FeatureKind, settings: &FeatureSettings, window: u64) -> usize {
        let window = usize::try_from(window).unwrap_or(usize::MAX);
        let per = match kind {
            // A tumbling value (8), a ring slot (16); two grids.
            FeatureKind::Numeric => window.saturating_mul(24).saturating_add(2 * GRID_BINS * 4),
            // A ring slot; names (shared: a pointer and two counts) and
            // three counts per category.
            FeatureKind::Categorical => {
                window.saturating_add((settings.max_categories + 2) * (MAX_NAME_BYTES + 32 + 3 * 8))
            }
        };
        per.saturating_add(OVERHEAD_BYTES + history::BYTES)
    }

    pub fn kind(&self) -> FeatureKind {
        match self {
            Column::Numeric(_) => FeatureKind::Numeric,
            Column::Categorical { .. } => FeatureKind::Categorical,
        }
    }

    /// Adds a baseline prediction's value; the bytes the baseline grew by.
    #[inline]
    pub fn add_baseline(&mut self, value: Value<'_>) -> usize {
        match self {
            Column::Numeric(c) => c.add_baseline(number(value)),
            Column::Categorical { column, numbers } => {
                let id = category(column, *numbers, value);
                column.add_baseline(id);
                0
            }
        }
    }

    pub fn freeze(&mut self, window: u64) {
        match self {
            Column::Numeric(c) => c.freeze(window),
            Column::Categorical { column, .. } => column.freeze(window),
        }
    }

    /// Adds a value after the baseline (to the tumbling window too when
    /// `tumbling`).
    #[inline]
    pub fn add(&mut self, value: Value<'_>, tumbling: bool) {
        match self {
            Column::Numeric(c) => c.add(number(value), tumbling),
            Column::Categorical { column, numbers } => {
                let id = category(column, *numbers, value);
                column.add(id, tumbling);
            }
        }
    }

    /// The tumbling window's figures; it starts again empty.
    pub fn close(&mut self) -> FeatureFigures {
        match self {
            Column::Numeric(c) => c.close().unwrap_or(NO_NUMERIC_FIGURES),
            Column::Categorical { column, .. } => column.close(),
        }
    }

    /// The tumbling window's figures so far.
    pub fn peek(&self) -> FeatureFigures {
        match self {
            Column::Numeric(c) => c.peek().unwrap_or(NO_NUMERIC_FIGURES),
            Column::Categorical { column, .. } => column.peek(),
        }
    }

    /// The sliding window against the baseline.
    pub fn check(&self) -> Option<FeatureTest<'_>> {
        match self {
            Column::Numeric(c) => c.check(),
            Column::Categorical { column, .. } => column.check(),
        }
    }

    /// A category's shared name (`None` for a numeric feature).
    pub fn shared_category(&self, name: &str) -> Option<Arc<str>> {
        match self {
            Column::Numeric(_) => None,
            Column::Categorical { column, .. } => column
                .categories
                .shared()
                .iter()
                .find(|n| ***n == *name)
                .cloned(),
        }
    }

    /// The frozen baseline, for the report.
    pub fn baseline(&self) -> Option<BaselineSummary<'_>> {
        match self {
            Column::Numeric(c) => c.baseline().map(|b| {
                let has = b.n > 0;
                BaselineSummary::Numeric {
                    n: b.n,
                    missing: b.missing,
                    mean: finite(Some(b.mean)).filter(|_| has),
                    std: finite(Some(b.std)).filter(|_| has),
                    min: Some(b.min).filter(|_| has),
                    max: Some(b.max).filter(|_| has),
                }
            }),
            Column::Categorical { column, .. } => {
                let mut missing = 0;
                let counts: Vec<(&str, u64)> = column
                    .baseline_counts()
                    .filter(|&(name, c)| {
                        let is_missing = name == MISSING;
                        missing += if is_missing { c } else { 0 };
                        !is_missing
                    })
                    .collect();
                Some(BaselineSummary::Categorical {
                    n: counts.iter().map(|(_, c)| c).sum(),
                    missing,
                    counts,
                })
            }
        }
    }
}

const NO_NUMERIC_FIGURES: FeatureFigures = FeatureFigures::Numeric {
    ks: None,
    wasserstein: None,
    wasserstein_norm: None,
};

#[inline]
fn number(value: Value<'_>) -> Option<f64> {
    match value {
        Some(FeatureValue::Number(x)) => Some(x),
        _ => None,
    }
}

#[inline]
fn category(column: &mut CategoricalColumn, numbers: bool, value: Value<'_>) -> u8 {
    let table = &mut column.categories;
    match value {
        Some(FeatureValue::Number(_)) if !numbers => table.missing(),
        Some(v) => table.id(&v.category_text()),
        None => table.missing(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FeatureValue::{Bool, Number, Text};

    fn counts(c: &Column) -> Vec<(String, u64)> {
        match c.baseline() {
            Some(BaselineSummary::Categorical { counts, .. }) => {
                counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_of_another_kind_count_as_missing() {
        let s = FeatureSettings::default();
        assert_eq!(Column::kind_of(Number(1.0)), FeatureKind::Numeric);
        assert_eq!(Column::kind_of(Bool(true)), FeatureKind::Categorical);
        let mut num = Column::new(FeatureKind::Numeric, false, &s, 1);
        for v in [
            Some(Number(2.0)),
            Some(Text("2")),
            Some(Bool(true)),
            None,
            Some(Number(4.0)),
        ] {
            num.add_baseline(v);
        }
        num.freeze(10);
        let Some(BaselineSummary::Numeric {
            n, missing, mean, ..
        }) = num.baseline()
        else {
            panic!("numeric")
        };
        assert_eq!((n, missing, mean), (2, 4, Some(3.0)));

        let mut cat = Column::new(FeatureKind::Categorical, false, &s, 0);
        for v in [Some(Text("a")), Some(Bool(false)), Some(Number(3.0)), None] {
            cat.add_baseline(v);
        }
        assert_eq!(counts(&cat), [("a".into(), 1), ("false".into(), 1)]);
        let Some(BaselineSummary::Categorical { missing, n, .. }) = cat.baseline() else {
            panic!("categorical")
        };
        assert_eq!((n, missing), (2, 2));
        // A kind fixed in the config takes numbers as their text.
        let mut fixed = Column::new(FeatureKind::Categorical, true, &s, 0);
        fixed.add_baseline(Some(Number(3.0)));
        fixed.add_baseline(Some(Number(2.5)));
        assert_eq!(counts(&fixed), [("3".into(), 1), ("2.5".into(), 1)]);
    }

    #[test]
    fn fixed_bytes_grow_with_the_window() {
        let s = FeatureSettings::default();
        for kind in [FeatureKind::Numeric, FeatureKind::Categorical] {
            assert!(Column::fixed_bytes(kind, &s, 5000) > Column::fixed_bytes(kind, &s, 1000));
        }
        assert!(Column::fixed_bytes(FeatureKind::Numeric, &s, u64::MAX) > 0);
    }
}

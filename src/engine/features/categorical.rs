//! A categorical feature: category counts for the baseline, the tumbling
//! window and the sliding window of the last W predictions, compared as the
//! prediction mix is: Pearson chi-square on [baseline counts; window
//! counts] (`stats::chi2`) and the Jensen–Shannon distance, base 2
//! (`stats::divergence`). Counts are exact everywhere: a category is a byte
//! per prediction in the sliding window's ring.

use std::collections::VecDeque;
use std::sync::Arc;

use super::categories::CategoryTable;
use super::figures::FeatureFigures;
use crate::engine::compare::Chi2Figures;
use crate::engine::labels::LabelCounts;
use crate::engine::rules::feature_drift::FeatureTest;
use crate::engine::stats::chi2::chi2_contingency;
use crate::engine::stats::divergence::jensen_shannon;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CategoricalColumn {
    pub categories: CategoryTable,
    /// Counts by category id (as the prediction mix counts labels).
    baseline: LabelCounts,
    window: LabelCounts,
    capacity: usize,
    ring: VecDeque<u8>,
    sliding: LabelCounts,
}

impl CategoricalColumn {
    /// A feature first seen after `missing` baseline predictions without it.
    pub fn new(max_categories: usize, missing: u64) -> Self {
        let mut column = CategoricalColumn {
            categories: CategoryTable::new(max_categories),
            baseline: LabelCounts::default(),
            window: LabelCounts::default(),
            capacity: 1,
            ring: VecDeque::new(),
            sliding: LabelCounts::default(),
        };
        if missing > 0 {
            let id = column.categories.missing();
            column.baseline.set(u32::from(id), missing);
        }
        column
    }

    #[inline]
    pub fn add_baseline(&mut self, id: u8) {
        self.baseline.add(u32::from(id));
    }

    pub fn freeze(&mut self, window: u64) {
        self.capacity = window.max(1) as usize;
    }

    /// Baseline counts with their category names, in the table's order.
    pub fn baseline_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.baseline_shared().map(|(name, c)| (&**name, c))
    }

    /// The same with the names shared.
    pub fn baseline_shared(&self) -> impl Iterator<Item = (&Arc<str>, u64)> {
        self.categories
            .shared()
            .iter()
            .enumerate()
            .map(|(id, name)| (name, self.baseline.get(id as u32)))
            .filter(|(_, c)| *c > 0)
    }

    /// A prediction after the baseline.
    #[inline]
    pub fn add(&mut self, id: u8, tumbling: bool) {
        if tumbling {
            self.window.add(u32::from(id));
        }
        if self.ring.len() == self.capacity
            && let Some(old) = self.ring.pop_front()
        {
            self.sliding.sub(u32::from(old));
        }
        self.ring.push_back(id);
        self.sliding.add(u32::from(id));
    }

    /// Chi-square and Jensen–Shannon of `counts` against the baseline.
    fn compare(&self, counts: &LabelCounts) -> FeatureFigures {
        let len = self.categories.len();
        let (base, window) = (self.baseline.padded(len), counts.padded(len));
        let names: Vec<&str> = self.categories.names().collect();
        FeatureFigures::Categorical {
            chi2: chi2_contingency(&base, &window).map(Chi2Figures::from),
            js: jensen_shannon(&names, &base, &window),
        }
    }

    /// The tumbling window's figures; it starts again empty.
    pub fn close(&mut self) -> FeatureFigures {
        let figures = self.compare(&self.window);
        self.window.clear();
        figures
    }

    /// The tumbling window's figures so far (the trailing partial window).
    pub fn peek(&self) -> FeatureFigures {
        self.compare(&self.window)
    }

    /// The sliding window against the baseline, for the drift rule, with
    /// the category whose share moved most.
    pub fn check(&self) -> Option<FeatureTest<'_>> {
        let FeatureFigures::Categorical {
            chi2: Some(chi2),
            js: Some(js),
        } = self.compare(&self.sliding)
        else {
            return None;
        };
        let (nb, nw) = (
            self.baseline.0.iter().sum::<u64>() as f64,
            self.ring.len() as f64,
        );
        let share = |counts: &LabelCounts, i: usize, n: f64| counts.get(i as u32) as f64 / n;
        let largest_move = self
            .categories
            .names()
            .enumerate()
            .map(|(i, name)| {
                (
                    name,
                    share(&self.baseline, i, nb),
                    share(&self.sliding, i, nw),
                )
            })
            .max_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()));
        Some(FeatureTest::Categorical {
            p_value: chi2.p_value,
            js,
            largest_move,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::categories::MISSING;

    #[test]
    fn counts_follow_baseline_tumbling_and_sliding_windows() {
        let mut c = CategoricalColumn::new(10, 2);
        let (a, b) = (c.categories.id("a"), c.categories.id("b"));
        for id in [a, a, b, a] {
            c.add_baseline(id);
        }
        let counts: Vec<_> = c.baseline_counts().collect();
        assert_eq!(counts, [(MISSING, 2), ("a", 3), ("b", 1)]);
        c.freeze(2);
        let new = c.categories.id("new");
        c.add(a, true);
        c.add(new, true);
        c.add(new, true);
        // chi2_contingency([[2, 3, 1, 0], [0, 1, 0, 2]]): 135/24, dof 3
        let FeatureFigures::Categorical { chi2, js } = c.peek() else {
            panic!("categorical")
        };
        let chi2 = chi2.unwrap();
        assert_eq!(chi2.dof, 3);
        assert!((chi2.statistic - 5.625).abs() < 1e-9, "{}", chi2.statistic);
        assert!(js.unwrap() > 0.0);
        let before = c.peek();
        assert_eq!(c.close(), before);
        let FeatureFigures::Categorical { chi2: None, .. } = c.peek() else {
            panic!("an empty window has no chi-square")
        };
        // The sliding window holds the last two: new, new.
        match c.check() {
            Some(FeatureTest::Categorical { largest_move, .. }) => {
                let (name, from, to) = largest_move.unwrap();
                assert_eq!((name, from, to), ("new", 0.0, 1.0));
            }
            other => panic!("{other:?}"),
        }
    }
}

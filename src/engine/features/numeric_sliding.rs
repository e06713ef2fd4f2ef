//! A numeric feature over the sliding window of the last W predictions,
//! for the drift rule's checks: its values on a fixed grid of 1,024 bins
//! over the baseline's range (`stats::fine`, with the range mapped onto
//! [0, 1]), so a value enters and leaves in O(1) and a check costs one pass
//! over the grid whatever W is.
//!
//! Values beyond the baseline's range sit in the end bins for KS (never
//! more than the exact D) and add their exact distance past the range to
//! Wasserstein: there the baseline's ECDF is 0 or 1, so their part of
//! ∫|F_b − F_w| is the sum of those distances over W. The running sums are
//! recounted from the ring once per W values, so rounding cannot build up.

use std::collections::VecDeque;

use super::numeric::{GRID_BINS, NumericBaseline};
use crate::engine::rules::feature_drift::FeatureTest;
use crate::engine::stats::cdf::Distances;
use crate::engine::stats::divergence::wasserstein_normed;
use crate::engine::stats::fine::FineHistogram;
use crate::engine::stats::ks::ks_from_distances;

/// Each value's part of a sum is capped so that a window's sum stays finite.
const MAX_TERM: f64 = 1e300;

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Sums {
    /// Sum of the values' distances from the baseline's minimum (for the
    /// mean in an alert's detail).
    offsets: f64,
    /// Distances below the baseline's minimum and above its maximum.
    below: f64,
    above: f64,
}

impl Sums {
    #[inline]
    fn add(&mut self, base: &NumericBaseline, v: f64, sign: f64) {
        let offset = (v - base.min).clamp(-MAX_TERM, MAX_TERM);
        self.offsets += sign * offset;
        if offset < 0.0 {
            self.below = (self.below - sign * offset).max(0.0);
        } else if v > base.max {
            let excess = (v - base.max).min(MAX_TERM);
            self.above = (self.above + sign * excess).max(0.0);
        }
    }
}

/// A missing value's place in the ring.
const MISSING: f64 = f64::NAN;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NumericSliding {
    capacity: usize,
    /// The last W predictions' values; NaN (never a JSON number) where the
    /// feature was missing.
    ring: VecDeque<f64>,
    grid: FineHistogram<GRID_BINS>,
    sums: Sums,
    pushes_since_recount: usize,
}

impl NumericSliding {
    pub fn new(capacity: u64) -> Self {
        NumericSliding {
            capacity: capacity.max(1) as usize,
            ring: VecDeque::new(),
            grid: FineHistogram::default(),
            sums: Sums::default(),
            pushes_since_recount: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, base: &NumericBaseline, value: Option<f64>) {
        if self.ring.len() == self.capacity
            && let Some(old) = self.ring.pop_front()
            && !old.is_nan()
        {
            self.grid.remove(base.position(old));
            self.sums.add(base, old, -1.0);
        }
        match value {
            Some(v) => {
                self.ring.push_back(v);
                self.grid.add(base.position(v));
                self.sums.add(base, v, 1.0);
            }
            None => self.ring.push_back(MISSING),
        }
        self.pushes_since_recount += 1;
        if self.pushes_since_recount >= self.capacity {
            self.recount(base);
        }
    }

    fn recount(&mut self, base: &NumericBaseline) {
        self.sums = Sums::default();
        for &v in self.ring.iter().filter(|v| !v.is_nan()) {
            self.sums.add(base, v, 1.0);
        }
        self.pushes_since_recount = 0;
    }

    /// KS (asymptotic p, as every sliding-window check) and normed
    /// Wasserstein against the baseline; `None` without values on a side.
    pub fn check(&self, base: &NumericBaseline) -> Option<FeatureTest<'static>> {
        let d = self.grid.distances(&base.grid)?;
        let n = self.grid.n();
        let wasserstein =
            d.wasserstein * base.range() + (self.sums.below + self.sums.above) / n as f64;
        let ks = ks_from_distances(&Distances { wasserstein, ..d }, base.n, n, false);
        let normed = wasserstein_normed(wasserstein, base.std);
        let mean_to = base.min + self.sums.offsets / n as f64;
        normed.is_finite().then(|| FeatureTest::Numeric {
            p_value: ks.p_value,
            statistic: ks.statistic,
            wasserstein_norm: normed,
            means: (base.mean.is_finite() && mean_to.is_finite()).then_some((base.mean, mean_to)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::counts::SortedCounts;

    fn test_of(t: Option<FeatureTest<'_>>) -> (f64, f64, f64) {
        match t {
            Some(FeatureTest::Numeric {
                statistic,
                wasserstein_norm,
                means: Some((_, mean_to)),
                ..
            }) => (statistic, wasserstein_norm, mean_to),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn close_to_the_exact_figures_inside_and_beyond_the_range() {
        let mut base_values: Vec<f64> =
            (0..2000).map(|i| (i * 7919 % 1000) as f64 / 10.0).collect();
        let base = NumericBaseline::new(&mut base_values, 0);
        // A window shifted up by 30: a third of it beyond the baseline's max.
        let window: Vec<f64> = (0..300)
            .map(|i| 30.0 + (i * 104_729 % 997) as f64 / 10.0)
            .collect();
        let mut s = NumericSliding::new(300);
        for _ in 0..50 {
            s.push(&base, Some(-5.0)); // pushed out again below
        }
        for &v in &window {
            s.push(&base, Some(v));
        }
        let exact = base
            .cdf
            .distances(&SortedCounts::from_unsorted(&mut window.clone()))
            .unwrap();
        let (d, normed, mean) = test_of(s.check(&base));
        assert!(d <= exact.ks_statistic + 1e-12 && exact.ks_statistic - d < 0.01);
        let w = normed * base.std;
        assert!(
            (w - exact.wasserstein).abs() <= base.range() / (2 * GRID_BINS) as f64 + 1e-9,
            "{w} vs {}",
            exact.wasserstein
        );
        let want_mean = window.iter().sum::<f64>() / window.len() as f64;
        assert!((mean - want_mean).abs() < 1e-9);
    }

    #[test]
    fn missing_values_hold_their_place_and_an_empty_window_has_no_test() {
        let base = NumericBaseline::new(&mut vec![1.0, 2.0, 3.0], 0);
        let mut s = NumericSliding::new(2);
        s.push(&base, None);
        assert!(s.check(&base).is_none());
        s.push(&base, Some(2.0));
        s.push(&base, None);
        assert_eq!(test_of(s.check(&base)).2, 2.0);
        s.push(&base, None);
        assert!(s.check(&base).is_none());
    }
}

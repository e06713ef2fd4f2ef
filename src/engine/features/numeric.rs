//! A numeric feature: its baseline values (collected, then frozen as an
//! indexed ECDF, exactly like confidence's), the tumbling window's values,
//! and the exact comparison the report makes: KS (D and p as for
//! confidence) and Wasserstein-1, raw and normed by the baseline's
//! population standard deviation.

use super::figures::{FeatureFigures, finite};
use super::numeric_sliding::NumericSliding;
use crate::engine::compare::KsFigures;
use crate::engine::rules::feature_drift::FeatureTest;
use crate::engine::stats::cdf::BaselineCdf;
use crate::engine::stats::counts::{SortedCounts, mean_std};
use crate::engine::stats::divergence::wasserstein_normed;
use crate::engine::stats::fine::{FineCdf, FineHistogram};
use crate::engine::stats::ks::ks_from_distances;

/// Bins of the sliding window's grid over the baseline's range: Wasserstein
/// on it is within a 2,048th of the range of the exact figure (a few
/// thousandths of a standard deviation on usual data), and a check walks
/// a quarter of confidence's grid per feature.
pub const GRID_BINS: usize = 1024;

/// Bytes a baseline value may take at its peak: 8 while collected, then
/// the sorted counts (16) and the indexed ECDF (24) side by side at freeze.
pub const BASELINE_BYTES_PER_VALUE: usize = 40;

/// The frozen baseline of one numeric feature.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NumericBaseline {
    pub cdf: BaselineCdf,
    /// Predictions with a value, and without one.
    pub n: u64,
    pub missing: u64,
    pub mean: f64,
    /// Population standard deviation (ddof 0).
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// 1 / the range's width (0 when it has none): maps values onto the grid.
    scale: f64,
    /// The same values on the sliding window's grid (`numeric_sliding`).
    pub grid: FineCdf<GRID_BINS>,
}

impl NumericBaseline {
    /// Freezes collected values (emptied: their memory is given back
    /// before the ECDF is built).
    pub fn new(values: &mut Vec<f64>, missing: u64) -> Self {
        let counts = SortedCounts::from_unsorted(values);
        *values = Vec::new();
        let (mean, std) = mean_std(&counts).unwrap_or((0.0, 0.0));
        let min = counts.pairs().next().map_or(0.0, |(v, _)| v);
        let max = counts.pairs().last().map_or(0.0, |(v, _)| v);
        let range = max - min;
        let scale = if range > 0.0 && range.is_finite() {
            1.0 / range
        } else {
            0.0
        };
        let mut b = NumericBaseline {
            cdf: BaselineCdf::new(&counts),
            n: counts.n(),
            missing,
            mean,
            std,
            min,
            max,
            scale,
            grid: FineCdf::default(),
        };
        let mut grid = FineHistogram::<GRID_BINS>::default();
        for (v, c) in counts.pairs() {
            let at = b.position(v);
            for _ in 0..c {
                grid.add(at);
            }
        }
        b.grid = FineCdf::of(&grid);
        b
    }

    /// Where a value falls on the grid: the baseline's range mapped onto
    /// [0, 1], values beyond it at the ends.
    #[inline]
    pub fn position(&self, v: f64) -> f64 {
        if self.scale > 0.0 {
            ((v - self.min) * self.scale).clamp(0.0, 1.0)
        } else if v <= self.min {
            0.0
        } else {
            1.0
        }
    }

    /// The width of the baseline's range (0 when it is a single value or
    /// too wide for f64).
    pub fn range(&self) -> f64 {
        let r = self.max - self.min;
        if r.is_finite() { r } else { 0.0 }
    }

    /// KS and Wasserstein of a window's values against the baseline, exact.
    pub fn compare(&self, window: &SortedCounts) -> FeatureFigures {
        let walk = self.cdf.distances(window);
        let ks = walk.map(|d| KsFigures::from(ks_from_distances(&d, self.n, window.n(), true)));
        let wasserstein = finite(walk.map(|d| d.wasserstein));
        FeatureFigures::Numeric {
            ks,
            wasserstein,
            wasserstein_norm: finite(wasserstein.map(|w| wasserstein_normed(w, self.std))),
        }
    }
}

/// A numeric feature through baseline, tumbling windows and the sliding
/// window.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NumericColumn {
    collected: Vec<f64>,
    missing: u64,
    baseline: Option<Box<NumericBaseline>>,
    window: Vec<f64>,
    sliding: Option<NumericSliding>,
}

impl NumericColumn {
    /// A feature first seen after `missing` baseline predictions without it.
    pub fn new(missing: u64) -> Self {
        NumericColumn {
            collected: Vec::new(),
            missing,
            baseline: None,
            window: Vec::new(),
            sliding: None,
        }
    }

    /// Bytes the baseline grew by.
    #[inline]
    pub fn add_baseline(&mut self, value: Option<f64>) -> usize {
        match value {
            Some(v) => {
                self.collected.push(v);
                BASELINE_BYTES_PER_VALUE
            }
            None => {
                self.missing += 1;
                0
            }
        }
    }

    pub fn freeze(&mut self, window: u64) {
        let baseline = NumericBaseline::new(&mut self.collected, self.missing);
        self.sliding = Some(NumericSliding::new(window));
        self.baseline = Some(Box::new(baseline));
    }

    pub fn baseline(&self) -> Option<&NumericBaseline> {
        self.baseline.as_deref()
    }

    /// A prediction after the baseline.
    #[inline]
    pub fn add(&mut self, value: Option<f64>, tumbling: bool) {
        let (Some(base), Some(sliding)) = (&self.baseline, &mut self.sliding) else {
            return;
        };
        if tumbling && let Some(v) = value {
            self.window.push(v);
        }
        sliding.push(base, value);
    }

    /// The tumbling window's figures; it starts again empty.
    pub fn close(&mut self) -> Option<FeatureFigures> {
        let base = self.baseline.as_deref()?;
        let figures = base.compare(&SortedCounts::from_unsorted(&mut self.window));
        self.window.clear();
        Some(figures)
    }

    /// The tumbling window's figures so far (the trailing partial window).
    pub fn peek(&self) -> Option<FeatureFigures> {
        let base = self.baseline.as_deref()?;
        Some(base.compare(&SortedCounts::from_unsorted(&mut self.window.clone())))
    }

    /// The sliding window against the baseline, for the drift rule.
    pub fn check(&self) -> Option<FeatureTest<'_>> {
        self.sliding.as_ref()?.check(self.baseline.as_deref()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_baseline_figures_and_grid_positions() {
        let mut values = vec![4.0, 2.0, 6.0, 2.0, 8.0];
        let b = NumericBaseline::new(&mut values, 3);
        assert!(values.is_empty() && values.capacity() == 0);
        assert_eq!((b.n, b.missing, b.min, b.max), (5, 3, 2.0, 8.0));
        assert!((b.mean - 4.4).abs() < 1e-12);
        // numpy.std([4, 2, 6, 2, 8]) = 2.33238075793812
        assert!((b.std - 2.33238075793812).abs() < 1e-12);
        assert_eq!(
            (b.position(2.0), b.position(5.0), b.position(9.0)),
            (0.0, 0.5, 1.0)
        );
        assert_eq!(b.position(-1e300), 0.0);
        // scipy.stats.wasserstein_distance([4,2,6,2,8], [5, 7]) = 2.0
        let w = SortedCounts::from_unsorted(&mut [5.0, 7.0]);
        let FeatureFigures::Numeric {
            ks,
            wasserstein,
            wasserstein_norm,
        } = b.compare(&w)
        else {
            panic!("numeric");
        };
        assert!((wasserstein.unwrap() - 2.0).abs() < 1e-12);
        assert!((wasserstein_norm.unwrap() - 2.0 / b.std).abs() < 1e-12);
        // scipy.stats.ks_2samp([4,2,6,2,8], [5,7]).statistic = 0.6
        assert!((ks.unwrap().statistic - 0.6).abs() < 1e-12);
    }

    #[test]
    fn a_single_valued_or_overflowing_baseline_stays_finite() {
        let b = NumericBaseline::new(&mut vec![3.0, 3.0], 0);
        assert_eq!(
            (b.range(), b.position(3.0), b.position(4.0)),
            (0.0, 0.0, 1.0)
        );
        let huge = NumericBaseline::new(&mut vec![-1.5e308, 1.5e308], 0);
        assert_eq!(huge.range(), 0.0);
        let FeatureFigures::Numeric {
            wasserstein_norm, ..
        } = huge.compare(&SortedCounts::from_unsorted(&mut [1.5e308]))
        else {
            panic!("numeric");
        };
        assert!(wasserstein_norm.is_none_or(f64::is_finite));
    }
}

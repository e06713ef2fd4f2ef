//! The ladder of recent windows the drift rules test: the last W
//! predictions, and the last W/2, W/4, … down to `alerts.smallest_window`.
//! A large change shows in the smallest window within a couple of hundred
//! predictions; a subtle one needs the whole window's sample size. Each
//! rung keeps its counts incrementally (O(1) per prediction per rung), so a
//! check costs one comparison per rung.

use super::baseline::Baseline;
use super::compare::{Comparison, Confidences, WindowCounts, compare};
use super::labels::{LabelCounts, LabelTable};
use super::stats::fine::FineHistogram;
use super::stats::psi::{self, Bins};

/// The window sizes below `window` that the ladder adds: W/2, W/4, … while
/// at least `smallest`, then `smallest` itself when the last halving is
/// more than half as large again (none when `smallest` is 0 or at least W).
pub fn ladder(window: u64, smallest: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    if smallest == 0 || smallest >= window {
        return sizes;
    }
    let mut size = window / 2;
    while size >= smallest {
        sizes.push(size);
        size /= 2;
    }
    let last = sizes.last().copied().unwrap_or(window);
    if 2 * last > 3 * smallest {
        sizes.push(smallest);
    }
    sizes
}

/// Expected count of every label below which a smaller window's
/// chi-square test of the mix is not run (the usual rule of thumb: 5).
pub const MIN_EXPECTED_PER_LABEL: f64 = 5.0;

/// The counts of the last `size` predictions (the sliding window's own
/// counts are one, of its whole size).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rung {
    pub size: u64,
    counts: FineHistogram,
    bins: Bins,
    mix: LabelCounts,
}

impl Rung {
    pub fn new(size: u64) -> Self {
        Rung {
            size,
            counts: FineHistogram::default(),
            bins: [0; psi::BINS],
            mix: LabelCounts::default(),
        }
    }

    pub fn n(&self) -> u64 {
        self.counts.n()
    }

    #[inline]
    pub fn add(&mut self, confidence: f64, label: u32) {
        self.counts.add(confidence);
        self.bins[psi::bin(confidence)] += 1;
        self.mix.add(label);
    }

    #[inline]
    pub fn remove(&mut self, confidence: f64, label: u32) {
        self.counts.remove(confidence);
        self.bins[psi::bin(confidence)] -= 1;
        self.mix.sub(label);
    }

    /// Mean confidence of the rung (exact).
    pub fn mean(&self) -> Option<f64> {
        self.counts.mean()
    }

    /// Percentiles of its confidences, to the grid.
    pub fn percentiles<const N: usize>(&self, qs: [f64; N]) -> Option<[f64; N]> {
        self.counts.percentiles(qs)
    }

    pub fn mix(&self) -> &LabelCounts {
        &self.mix
    }

    /// The rung against the baseline, on the fine grid.
    pub fn evaluate(&self, baseline: &Baseline, labels: &LabelTable) -> Comparison {
        let view = WindowCounts {
            confidences: Confidences::Fine(&self.counts),
            bins: &self.bins,
            mix: &self.mix,
        };
        compare(baseline, labels, &view)
    }

    /// Whether every label the baseline has is expected at least `min`
    /// times in a rung of this size: below that the chi-square
    /// approximation is not to be trusted (a rare label seen twice in a
    /// small window would look like a shift).
    pub fn mix_testable(&self, baseline: &Baseline, min: f64) -> bool {
        mix_testable(baseline, self.n(), min)
    }
}

/// Whether every label the baseline has is expected at least `min` times
/// in a window of `n` predictions.
pub fn mix_testable(baseline: &Baseline, n: u64, min: f64) -> bool {
    let nb = baseline.n() as f64;
    nb > 0.0
        && baseline
            .mix
            .0
            .iter()
            .filter(|&&c| c > 0)
            .all(|&c| n as f64 * c as f64 / nb >= min)
}

/// One rung's figures at a check.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ScaleFigures {
    /// Predictions in the window tested (the last `n`).
    pub n: u64,
    pub comparison: Comparison,
    pub mean: f64,
    /// Whether the chi-square test of the mix is trusted at this size.
    pub mix_testable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_halves_down_to_the_smallest() {
        assert_eq!(ladder(5000, 150), [2500, 1250, 625, 312, 156]);
        assert_eq!(ladder(5000, 100), [2500, 1250, 625, 312, 156, 100]);
        assert_eq!(ladder(1000, 100), [500, 250, 125]);
        assert_eq!(ladder(2000, 150), [1000, 500, 250, 150]);
        assert_eq!(ladder(200, 100), [100]);
        assert_eq!(ladder(180, 100), [100]);
        assert!(ladder(140, 100).is_empty());
        assert!(ladder(500, 0).is_empty());
        assert!(ladder(500, 500).is_empty());
        assert!(ladder(1, 1).is_empty());
    }
}

//! Confidence counts on a fine fixed grid, for the sliding window the alert
//! rules check every W/10 predictions and the live view draws (and, with
//! fewer bins, input features mapped onto [0, 1]: `features`).
//!
//! The report's windows are compared exactly (`cdf.rs`); a check only needs
//! to know whether a threshold is crossed, and must cost little at a million
//! predictions a second. On a grid of 4,096 bins a value enters or leaves the
//! window in O(1), and KS and Wasserstein against the baseline take one pass
//! over the grid whatever the window's size: KS is evaluated at the grid's
//! edges (never more than the exact D) and Wasserstein moves each value to
//! its bin's centre (within 1/8192 of the exact distance).

use super::cdf::Distances;
use super::counts::SortedCounts;

/// Bins on [0, 1] for confidences; the last is closed.
pub const FINE_BINS: usize = 4096;
/// Fixed-point scale for exact running sums of confidences.
const SUM_SCALE: f64 = (1u64 << 40) as f64;

/// Counts of values in [0, 1] on `BINS` equal bins.
#[derive(Debug, Clone, PartialEq)]
pub struct FineHistogram<const BINS: usize = FINE_BINS> {
    counts: Box<[u32]>,
    n: u64,
    /// Sum of the values in fixed point, exact under adds and removes.
    sum: u128,
}

impl<const BINS: usize> Default for FineHistogram<BINS> {
    fn default() -> Self {
        FineHistogram {
            counts: vec![0; BINS].into_boxed_slice(),
            n: 0,
            sum: 0,
        }
    }
}

#[inline]
fn fixed(v: f64) -> u128 {
    (v * SUM_SCALE).round() as u128
}

impl<const BINS: usize> FineHistogram<BINS> {
    const WIDTH: f64 = 1.0 / BINS as f64;

    #[inline]
    fn bin(v: f64) -> usize {
        ((v * BINS as f64) as usize).min(BINS - 1)
    }

    pub fn from_counts(c: &SortedCounts) -> Self {
        let mut h = Self::default();
        for (v, k) in c.pairs() {
            h.counts[Self::bin(v)] += k as u32;
            h.n += k;
            h.sum += fixed(v) * u128::from(k);
        }
        h
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    #[inline]
    pub fn add(&mut self, v: f64) {
        self.counts[Self::bin(v)] += 1;
        self.n += 1;
        self.sum += fixed(v);
    }

    /// Removes one value that was added.
    #[inline]
    pub fn remove(&mut self, v: f64) {
        let c = &mut self.counts[Self::bin(v)];
        if *c > 0 {
            *c -= 1;
            self.n -= 1;
            self.sum -= fixed(v).min(self.sum);
        }
    }

    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / SUM_SCALE / self.n as f64)
    }

    /// Percentiles read off the grid, interpolating within a bin.
    pub fn percentiles<const N: usize>(&self, qs: [f64; N]) -> Option<[f64; N]> {
        if self.n == 0 {
            return None;
        }
        let mut out = [0.0; N];
        let (mut i, mut seen) = (0usize, 0u64);
        for (slot, q) in out.iter_mut().zip(qs) {
            let target = q.clamp(0.0, 1.0) * self.n as f64;
            while i + 1 < BINS && (seen + u64::from(self.counts[i])) as f64 <= target {
                seen += u64::from(self.counts[i]);
                i += 1;
            }
            let c = f64::from(self.counts[i]).max(1.0);
            let within = ((target - seen as f64) / c).clamp(0.0, 1.0);
            *slot = ((i as f64 + within) * Self::WIDTH).min(1.0);
        }
        Some(out)
    }

    /// KS and Wasserstein of `self` (the window) against `base` on the grid;
    /// `None` when either is empty.
    pub fn distances(&self, base: &Self) -> Option<Distances> {
        let (nb, nw) = (base.n, self.n);
        if nb == 0 || nw == 0 {
            return None;
        }
        // Below the first and above the last occupied bin both ECDFs are
        // 0 or 1 together: nothing to add there.
        let occupied = |h: &Self| {
            let first = h.counts.iter().position(|&c| c > 0).unwrap_or(0);
            let last = h.counts.iter().rposition(|&c| c > 0).unwrap_or(0);
            (first, last)
        };
        let ((fb, lb), (fw, lw)) = (occupied(base), occupied(self));
        let (lo, hi) = (fb.min(fw), lb.max(lw));
        let (rb, rw) = (1.0 / nb as f64, 1.0 / nw as f64);
        let (mut cb, mut cw) = (0u64, 0u64);
        let mut best = (0u128, 0u64, 0u64);
        let mut area = 0.0;
        let fits_u64 = nb.checked_mul(nw).is_some_and(|x| x < u64::MAX / 2);
        for (b, w) in base.counts[lo..=hi].iter().zip(&self.counts[lo..=hi]) {
            cb += u64::from(*b);
            cw += u64::from(*w);
            let gap = if fits_u64 {
                u128::from((cb * nw).abs_diff(cw * nb))
            } else {
                (u128::from(cb) * u128::from(nw)).abs_diff(u128::from(cw) * u128::from(nb))
            };
            if gap > best.0 {
                best = (gap, cb, cw);
            }
            area += (cb as f64 * rb - cw as f64 * rw).abs();
        }
        let (gap, cb, cw) = best;
        Some(Distances {
            ks_statistic: (cb as f64 / nb as f64 - cw as f64 / nw as f64).abs(),
            ks_scaled: u64::try_from(gap).unwrap_or(u64::MAX),
            wasserstein: area * Self::WIDTH,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::cdf::BaselineCdf;

    #[test]
    fn close_to_exact_and_exact_under_removal() {
        let base: Vec<f64> = (0..2000)
            .map(|i| 0.5 + 0.5 * ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let win: Vec<f64> = (0..300)
            .map(|i| 0.4 + 0.5 * ((i * 104_729) % 997) as f64 / 997.0)
            .collect();
        let exact = BaselineCdf::new(&SortedCounts::from_unsorted(&mut base.clone()))
            .distances(&SortedCounts::from_unsorted(&mut win.clone()))
            .unwrap();
        let hb: FineHistogram =
            FineHistogram::from_counts(&SortedCounts::from_unsorted(&mut base.clone()));
        let mut hw = FineHistogram::default();
        for &v in &win {
            hw.add(v);
        }
        hw.add(0.123);
        hw.remove(0.123);
        let binned = hw.distances(&hb).unwrap();
        assert!(binned.ks_statistic <= exact.ks_statistic + 1e-12);
        assert!(exact.ks_statistic - binned.ks_statistic < 0.01);
        assert!((binned.wasserstein - exact.wasserstein).abs() <= 1.0 / 8192.0 + 1e-12);
        let mean = win.iter().sum::<f64>() / win.len() as f64;
        assert!((hw.mean().unwrap() - mean).abs() < 1e-11);
        let [p50] = hw.percentiles([0.5]).unwrap();
        assert!((p50 - 0.65).abs() < 0.01, "{p50}");
        assert_eq!(hw.n(), 300);
        assert!(FineHistogram::default().distances(&hb).is_none());
    }
}

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

/// Counts of values in [0, 1] on `BINS` equal bins (a multiple of 64).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FineHistogram<const BINS: usize = FINE_BINS> {
    counts: Box<[u32]>,
    /// Bit `i` set while bin `i` holds a value: a window of n values is
    /// walked in O(n) bins, not the whole grid.
    occupied: Box<[u64]>,
    n: u64,
    /// Sum of the values in fixed point, exact under adds and removes.
    sum: u128,
}

impl<const BINS: usize> Default for FineHistogram<BINS> {
    fn default() -> Self {
        const { assert!(BINS.is_multiple_of(64) && BINS > 0) };
        FineHistogram {
            counts: vec![0; BINS].into_boxed_slice(),
            occupied: vec![0; BINS / 64].into_boxed_slice(),
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
            let bin = Self::bin(v);
            h.counts[bin] += k as u32;
            h.occupied[bin / 64] |= 1 << (bin % 64);
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
        let bin = Self::bin(v);
        self.counts[bin] += 1;
        self.occupied[bin / 64] |= 1 << (bin % 64);
        self.n += 1;
        self.sum += fixed(v);
    }

    /// Removes one value that was added.
    #[inline]
    pub fn remove(&mut self, v: f64) {
        let bin = Self::bin(v);
        let c = &mut self.counts[bin];
        if *c > 0 {
            *c -= 1;
            if *c == 0 {
                self.occupied[bin / 64] &= !(1 << (bin % 64));
            }
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

    /// The occupied bins in order, with their counts.
    fn occupied_bins(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.occupied
            .iter()
            .enumerate()
            .flat_map(move |(w, &word)| {
                let mut bits = word;
                std::iter::from_fn(move || {
                    (bits != 0).then(|| {
                        let bin = w * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        (bin, u64::from(self.counts[bin]))
                    })
                })
            })
    }

    /// KS and Wasserstein of `self` (the window) against `base` on the grid;
    /// `None` when either is empty. Between two occupied window bins the
    /// window's ECDF is constant, so each such run of bins costs one binary
    /// search in the baseline's cumulative counts (their prefix sums give
    /// the area) and the KS extreme is at one of its ends (the baseline's
    /// ECDF is monotone): O(occupied · log bins).
    pub fn distances(&self, base: &FineCdf<BINS>) -> Option<Distances> {
        let (nb, nw) = (base.n, self.n);
        if nb == 0 || nw == 0 {
            return None;
        }
        let mut best = (0u128, 0u64, 0u64);
        let mut area = 0.0;
        let fits_u64 = nb.checked_mul(nw).is_some_and(|x| x < u64::MAX / 2);
        let level = nb as f64 / nw as f64;
        let mut gap_at = |cb: u64, cw: u64| {
            let gap = scaled_gap(cb, cw, nb, nw, fits_u64);
            if gap > best.0 {
                best = (gap, cb, cw);
            }
        };
        let mut run = |a: usize, b: usize, cw: u64| {
            if a > b {
                return;
            }
            // Σ |cum_b[i] − t| over the run, t the window's level in baseline counts.
            let t = cw as f64 * level;
            gap_at(base.cum[a], cw);
            if a == b {
                area += (base.cum[a] as f64 - t).abs();
                return;
            }
            gap_at(base.cum[b], cw);
            let split = a + base.cum[a..=b].partition_point(|&c| (c as f64) < t);
            let (below, above) = ((split - a) as f64, (b + 1 - split) as f64);
            let sum_below = (base.prefix[split] - base.prefix[a]) as f64;
            let sum_above = (base.prefix[b + 1] - base.prefix[split]) as f64;
            area += (t * below - sum_below) + (sum_above - t * above);
        };
        let (mut start, mut cw) = (0usize, 0u64);
        for (bin, count) in self.occupied_bins() {
            if bin > 0 {
                run(start, bin - 1, cw);
            }
            start = bin;
            cw += count;
        }
        run(start, BINS - 1, cw);
        let (gap, cb, cw) = best;
        Some(Distances {
            ks_statistic: (cb as f64 / nb as f64 - cw as f64 / nw as f64).abs(),
            ks_scaled: u64::try_from(gap).unwrap_or(u64::MAX),
            wasserstein: area / nb as f64 * Self::WIDTH,
        })
    }
}

/// `|c_b·n_w − c_w·n_b|`: the ECDF gap times `n_b·n_w`, in u64 arithmetic
/// when the product fits.
fn scaled_gap(cb: u64, cw: u64, nb: u64, nw: u64, fits_u64: bool) -> u128 {
    if fits_u64 {
        u128::from((cb * nw).abs_diff(cw * nb))
    } else {
        (u128::from(cb) * u128::from(nw)).abs_diff(u128::from(cw) * u128::from(nb))
    }
}

/// A frozen histogram (the baseline's) indexed for [`FineHistogram::distances`]:
/// cumulative counts after each bin and their prefix sums.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FineCdf<const BINS: usize = FINE_BINS> {
    n: u64,
    /// Values in bins `0..=i`.
    cum: Box<[u64]>,
    /// `prefix[i]` = Σ `cum[0..i]`.
    prefix: Box<[u64]>,
}

impl<const BINS: usize> FineCdf<BINS> {
    pub fn of(h: &FineHistogram<BINS>) -> Self {
        let mut cum = Vec::with_capacity(BINS);
        let mut prefix = Vec::with_capacity(BINS + 1);
        let (mut c, mut p) = (0u64, 0u64);
        prefix.push(0);
        for &k in h.counts.iter() {
            c += u64::from(k);
            p += c;
            cum.push(c);
            prefix.push(p);
        }
        FineCdf {
            n: h.n,
            cum: cum.into(),
            prefix: prefix.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::cdf::BaselineCdf;

    type Confidences = FineHistogram<FINE_BINS>;

    /// The walk over every bin the sparse one replaces, as a reference.
    fn dense_distances(win: &FineHistogram, base: &FineHistogram) -> Option<Distances> {
        let (nb, nw) = (base.n, win.n);
        if nb == 0 || nw == 0 {
            return None;
        }
        // Below the first and above the last occupied bin both ECDFs are
        // 0 or 1 together: nothing to add there.
        let occupied = |h: &FineHistogram| {
            let first = h.counts.iter().position(|&c| c > 0).unwrap_or(0);
            let last = h.counts.iter().rposition(|&c| c > 0).unwrap_or(0);
            (first, last)
        };
        let ((fb, lb), (fw, lw)) = (occupied(base), occupied(win));
        let (lo, hi) = (fb.min(fw), lb.max(lw));
        let (rb, rw) = (1.0 / nb as f64, 1.0 / nw as f64);
        let (mut cb, mut cw) = (0u64, 0u64);
        let mut best = (0u128, 0u64, 0u64);
        let mut area = 0.0;
        let fits_u64 = nb.checked_mul(nw).is_some_and(|x| x < u64::MAX / 2);
        for (b, w) in base.counts[lo..=hi].iter().zip(&win.counts[lo..=hi]) {
            cb += u64::from(*b);
            cw += u64::from(*w);
            let gap = scaled_gap(cb, cw, nb, nw, fits_u64);
            if gap > best.0 {
                best = (gap, cb, cw);
            }
            area += (cb as f64 * rb - cw as f64 * rw).abs();
        }
        let (gap, cb, cw) = best;
        Some(Distances {
            ks_statistic: (cb as f64 / nb as f64 - cw as f64 / nw as f64).abs(),
            ks_scaled: u64::try_from(gap).unwrap_or(u64::MAX),
            wasserstein: area * Confidences::WIDTH,
        })
    }

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
        let hb = Confidences::from_counts(&SortedCounts::from_unsorted(&mut base.clone()));
        let mut hw = Confidences::default();
        for &v in &win {
            hw.add(v);
        }
        hw.add(0.123);
        hw.remove(0.123);
        let binned = hw.distances(&FineCdf::of(&hb)).unwrap();
        assert!(binned.ks_statistic <= exact.ks_statistic + 1e-12);
        assert!(exact.ks_statistic - binned.ks_statistic < 0.01);
        assert!((binned.wasserstein - exact.wasserstein).abs() <= 1.0 / 8192.0 + 1e-12);
        let mean = win.iter().sum::<f64>() / win.len() as f64;
        assert!((hw.mean().unwrap() - mean).abs() < 1e-11);
        let [p50] = hw.percentiles([0.5]).unwrap();
        assert!((p50 - 0.65).abs() < 0.01, "{p50}");
        assert_eq!(hw.n(), 300);
        assert!(
            Confidences::default()
                .distances(&FineCdf::of(&hb))
                .is_none()
        );
    }

    #[test]
    fn the_sparse_walk_equals_the_walk_over_every_bin() {
        // Pseudo-random windows against baselines of several shapes,
        // including values on bin edges, ties, and empty stretches.
        let mut rng = fastrand::Rng::with_seed(12345);
        let mut next = || rng.u32(0..1_000_000) as f64 / 1_000_000.0;
        for case in 0..40 {
            let mut base = Confidences::default();
            for _ in 0..(50 + case * 97) {
                let v = next();
                base.add(if case % 3 == 0 {
                    (v * 100.0).round() / 100.0
                } else {
                    0.5 + v / 2.0
                });
            }
            let mut win = Confidences::default();
            for _ in 0..(1 + case * 13) {
                let v = next();
                win.add(if case % 2 == 0 {
                    v * v
                } else {
                    (v * 10.0).round() / 10.0
                });
            }
            let sparse = win.distances(&FineCdf::of(&base)).unwrap();
            let dense = dense_distances(&win, &base).unwrap();
            assert_eq!(sparse.ks_scaled, dense.ks_scaled, "case {case}");
            assert!(
                (sparse.ks_statistic - dense.ks_statistic).abs() < 1e-15,
                "case {case}"
            );
            let tol = 1e-12 * dense.wasserstein.max(1e-3);
            assert!(
                (sparse.wasserstein - dense.wasserstein).abs() < tol,
                "case {case}: {} vs {}",
                sparse.wasserstein,
                dense.wasserstein
            );
        }
    }
}

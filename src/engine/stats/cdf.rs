//! The baseline's ECDF, indexed once, so that a window is compared with it
//! in time proportional to the window's distinct values (times a log), not
//! the baseline's: checks run every W/10 predictions against a baseline that
//! may hold tens of thousands of distinct confidences.
//!
//! Between two consecutive window values the window's ECDF is constant and
//! the baseline's only grows, so |F_b − F_w| peaks at one end of the run of
//! baseline values in between: two evaluations per window value give the KS
//! maximum over every point of the union, exactly as scipy evaluates it. The
//! Wasserstein integral over the same stretch comes from prefix integrals of
//! F_b, split where F_b crosses F_w.

use super::counts::SortedCounts;

/// What one comparison yields: the KS statistic (as scipy computes it) with
/// its exact integer form, and the Wasserstein-1 distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distances {
    pub ks_statistic: f64,
    /// `max |c_b·n_w − c_w·n_b|`, the statistic times `n_b·n_w`.
    pub ks_scaled: u64,
    pub wasserstein: f64,
}

/// Runs of baseline values this short are walked rather than searched.
const SHORT_RUN: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineCdf {
    values: Vec<f64>,
    /// Values ≤ `values[k]`.
    cum: Vec<u64>,
    /// ∫ from `values[0]` to `values[k]` of F_b.
    integral: Vec<f64>,
    n: u64,
}

impl BaselineCdf {
    pub fn new(counts: &SortedCounts) -> Self {
        let n = counts.n();
        let mut out = BaselineCdf {
            values: Vec::with_capacity(counts.distinct()),
            cum: Vec::with_capacity(counts.distinct()),
            integral: Vec::with_capacity(counts.distinct()),
            n,
        };
        let (mut cum, mut integral) = (0u64, 0.0f64);
        for (v, c) in counts.pairs() {
            if let (Some(&pv), Some(&pc)) = (out.values.last(), out.cum.last()) {
                integral += pc as f64 / n as f64 * (v - pv);
            }
            cum += c;
            out.values.push(v);
            out.cum.push(cum);
            out.integral.push(integral);
        }
        out
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    /// Baseline values ≤ the value at index `k − 1` (0 for k = 0).
    fn below(&self, k: usize) -> u64 {
        if k == 0 { 0 } else { self.cum[k - 1] }
    }

    /// ∫ from −∞ to `t` of F_b, given `k` = number of values ≤ t.
    fn g(&self, t: f64, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let i = k - 1;
        self.integral[i] + self.cum[i] as f64 / self.n as f64 * (t - self.values[i])
    }

    /// First index ≥ `from` whose value is ≥ `v`: a short linear scan (the
    /// usual gap is a few values), then a galloping search.
    fn seek(&self, from: usize, v: f64) -> usize {
        let len = self.values.len();
        let near = (from + SHORT_RUN).min(len);
        if let Some(i) = self.values[from..near].iter().position(|&x| x >= v) {
            return from + i;
        }
        if near == len {
            return len;
        }
        let from = near;
        let (mut lo, mut step) = (from, 1usize);
        let mut hi = from;
        while hi < len && self.values[hi] < v {
            lo = hi + 1;
            hi = from + step;
            step *= 2;
        }
        let hi = hi.min(len);
        lo + self.values[lo..hi].partition_point(|&x| x < v)
    }

    /// ∫ over [a, b] of |F_b − c|, with `ka`, `kb` the numbers of baseline
    /// values ≤ a and < b, and `c = cw / nw`.
    fn abs_integral(&self, a: f64, b: f64, ka: usize, kb: usize, cw: u64, nw: u64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let c = cw as f64 / nw as f64;
        if kb - ka <= SHORT_RUN {
            // Few steps of F_b: sum them directly.
            let mut x = a;
            let mut f = self.below(ka) as f64 / self.n as f64;
            let mut total = 0.0;
            for j in ka..kb {
                total += (f - c).abs() * (self.values[j] - x);
                x = self.values[j];
                f = self.cum[j] as f64 / self.n as f64;
            }
            return total + (f - c).abs() * (b - x);
        }
        // First baseline value in (a, b) where F_b reaches c; before it F_b < c.
        let reaches = |k: usize| {
            u128::from(self.cum[k]) * u128::from(nw) >= u128::from(cw) * u128::from(self.n)
        };
        let (s, ks) = if ka > 0 && reaches(ka - 1) {
            (a, ka)
        } else {
            let (mut lo, mut hi) = (ka, kb);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if reaches(mid) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            if lo < kb {
                (self.values[lo], lo + 1)
            } else {
                (b, kb)
            }
        };
        let (ga, gs, gb) = (self.g(a, ka), self.g(s, ks), self.g(b, kb));
        (c * (s - a) - (gs - ga)) + ((gb - gs) - c * (b - s))
    }

    /// KS and Wasserstein between the baseline and a window; `None` when
    /// either is empty.
    pub fn distances(&self, w: &SortedCounts) -> Option<Distances> {
        let (nb, nw) = (self.n, w.n());
        if nb == 0 || nw == 0 {
            return None;
        }
        let (nb128, nw128) = (u128::from(nb), u128::from(nw));
        let mut best = (0u128, 0u64, 0u64);
        let mut consider = |cb: u64, cw: u64| {
            let gap = (u128::from(cb) * nw128).abs_diff(u128::from(cw) * nb128);
            if gap > best.0 {
                best = (gap, cb, cw);
            }
        };
        let mut wasserstein = 0.0;
        let (mut k, mut cw) = (0usize, 0u64);
        let mut prev: Option<f64> = None;
        for (v, c) in w.pairs() {
            let k2 = self.seek(k, v);
            if k2 > k {
                // Baseline values strictly between the previous window value and v.
                consider(self.cum[k], cw);
                consider(self.cum[k2 - 1], cw);
            }
            let start = prev.unwrap_or_else(|| self.values.first().map_or(v, |&x| x.min(v)));
            wasserstein += self.abs_integral(start, v, k, k2, cw, nw);
            k = if k2 < self.values.len() && self.values[k2] == v {
                k2 + 1
            } else {
                k2
            };
            cw += c;
            consider(self.below(k), cw);
            prev = Some(v);
        }
        if k < self.values.len() {
            consider(self.cum[k], cw);
            let last = *self.values.last().expect("non-empty baseline");
            let start = prev.expect("non-empty window");
            wasserstein += self.abs_integral(start, last, k, self.values.len(), cw, nw);
        }
        let (gap, cb, cw) = best;
        Some(Distances {
            ks_statistic: (cb as f64 / nb as f64 - cw as f64 / nw as f64).abs(),
            ks_scaled: u64::try_from(gap).unwrap_or(u64::MAX),
            wasserstein,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: walk the union of values, as scipy does.
    fn reference(a: &SortedCounts, b: &SortedCounts) -> (f64, f64) {
        let mut all: Vec<f64> = a.pairs().chain(b.pairs()).map(|(v, _)| v).collect();
        all.sort_by(f64::total_cmp);
        all.dedup();
        let cdf = |s: &SortedCounts, x: f64| {
            s.pairs()
                .filter(|&(v, _)| v <= x)
                .map(|(_, c)| c)
                .sum::<u64>() as f64
                / s.n() as f64
        };
        let mut d = 0.0f64;
        let mut w = 0.0;
        for (i, &x) in all.iter().enumerate() {
            let gap = cdf(a, x) - cdf(b, x);
            d = d.max(gap.abs());
            if let Some(&next) = all.get(i + 1) {
                w += gap.abs() * (next - x);
            }
        }
        (d, w)
    }

    fn counts(xs: &[f64]) -> SortedCounts {
        SortedCounts::from_unsorted(&mut xs.to_vec())
    }

    #[test]
    fn matches_the_definition_on_many_shapes() {
        // A small deterministic generator: no test dependency needed.
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut next = |k: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % k
        };
        for round in 0..300 {
            let grid = [10, 100, 1000][round % 3];
            let na = 1 + next(300) as usize;
            let nb = 1 + next(60) as usize;
            let shift = next(grid / 2);
            let a: Vec<f64> = (0..na).map(|_| next(grid) as f64 / grid as f64).collect();
            let b: Vec<f64> = (0..nb)
                .map(|_| ((next(grid / 2) + shift) % grid) as f64 / grid as f64)
                .collect();
            let (ca, cb) = (counts(&a), counts(&b));
            let got = BaselineCdf::new(&ca).distances(&cb).unwrap();
            let (d, w) = reference(&ca, &cb);
            assert!(
                (got.ks_statistic - d).abs() < 1e-15,
                "round {round}: D {} vs {d}",
                got.ks_statistic
            );
            assert!(
                (got.wasserstein - w).abs() < 1e-12,
                "round {round}: W {} vs {w}",
                got.wasserstein
            );
            let scaled_d = got.ks_scaled as f64 / (ca.n() * cb.n()) as f64;
            assert!((scaled_d - d).abs() < 1e-12);
        }
    }

    #[test]
    fn edge_cases() {
        let base = BaselineCdf::new(&counts(&[0.5, 0.5, 0.6]));
        assert!(base.distances(&SortedCounts::default()).is_none());
        assert!(
            BaselineCdf::new(&SortedCounts::default())
                .distances(&counts(&[0.1]))
                .is_none()
        );
        // Window entirely below, entirely above, identical.
        let below = base.distances(&counts(&[0.1, 0.2])).unwrap();
        assert_eq!(below.ks_statistic, 1.0);
        assert!((below.wasserstein - (0.5 - 0.15 + 1.0 / 3.0 * 0.1)).abs() < 1e-12);
        let above = base.distances(&counts(&[0.9])).unwrap();
        assert_eq!(above.ks_statistic, 1.0);
        let same = base.distances(&counts(&[0.5, 0.6, 0.5])).unwrap();
        assert_eq!((same.ks_statistic, same.wasserstein), (0.0, 0.0));
    }
}

//! Exact value counts of confidences, the representation every distribution
//! statistic works on.
//!
//! Counting exact values (never rounding) keeps KS and Wasserstein exact on
//! data with any number of decimals, and makes them cheap on the usual
//! 2–6 decimal confidences, where a window of thousands holds far fewer
//! distinct values.

use std::collections::BTreeMap;

/// A key that sorts like the (non-negative, finite) confidence it encodes.
#[inline]
fn key(v: f64) -> u64 {
    debug_assert!(v >= 0.0 && v.is_finite() && v.to_bits() >> 63 == 0);
    v.to_bits()
}

/// Frozen value counts, sorted ascending.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SortedCounts {
    values: Vec<f64>,
    counts: Vec<u64>,
    n: u64,
}

impl SortedCounts {
    /// Counts the values of an unsorted sample (sorts it in place).
    pub fn from_unsorted(sample: &mut [f64]) -> Self {
        sample.sort_unstable_by(f64::total_cmp);
        let mut out = SortedCounts::default();
        for &v in sample.iter() {
            out.push_sorted(v, 1);
        }
        out
    }

    /// Builds from (value, count) pairs in any order; repeated values merge.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (f64, u64)>) -> Self {
        let mut map: BTreeMap<u64, u64> = BTreeMap::new();
        for (v, c) in pairs {
            if c > 0 {
                *map.entry(key(v + 0.0)).or_default() += c;
            }
        }
        let mut out = SortedCounts::default();
        for (k, c) in map {
            out.push_sorted(f64::from_bits(k), c);
        }
        out
    }

    fn push_sorted(&mut self, v: f64, c: u64) {
        if self.values.last() == Some(&v) {
            *self.counts.last_mut().expect("counts follow values") += c;
        } else {
            self.values.push(v);
            self.counts.push(c);
        }
        self.n += c;
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    pub fn distinct(&self) -> usize {
        self.values.len()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.values.iter().copied().zip(self.counts.iter().copied())
    }
}

/// Mean and population standard deviation of counted values.
pub fn mean_std(c: &SortedCounts) -> Option<(f64, f64)> {
    let n = c.n();
    if n == 0 {
        return None;
    }
    let sum: f64 = c.pairs().map(|(v, k)| v * k as f64).sum();
    let mean = sum / n as f64;
    let ss: f64 = c
        .pairs()
        .map(|(v, k)| (v - mean) * (v - mean) * k as f64)
        .sum();
    Some((mean, (ss / n as f64).sqrt()))
}

/// Percentile with linear interpolation between order statistics, as
/// numpy's default method computes it. `q` in [0, 1].
pub fn percentile(c: &SortedCounts, q: f64) -> Option<f64> {
    percentiles(c, [q]).map(|[p]| p)
}

/// Several percentiles in one pass over the counts (`qs` ascending).
pub fn percentiles<const N: usize>(c: &SortedCounts, qs: [f64; N]) -> Option<[f64; N]> {
    let n = c.n();
    if n == 0 {
        return None;
    }
    let mut out = [0.0; N];
    let (mut i, mut seen) = (0usize, 0u64); // pair index, values before it
    for (slot, q) in out.iter_mut().zip(qs) {
        let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
        let lo = h.floor() as u64;
        while lo >= seen + c.counts[i] {
            seen += c.counts[i];
            i += 1;
        }
        let a = c.values[i];
        let b = if lo + 1 < seen + c.counts[i] {
            a
        } else {
            c.values.get(i + 1).copied().unwrap_or(a)
        };
        *slot = lerp(a, b, h - lo as f64);
    }
    Some(out)
}

/// numpy's `_lerp`: exact at both ends.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles_match_numpy() {
        let mut xs = vec![0.5, 0.1, 0.9, 0.5, 0.3];
        let s = SortedCounts::from_unsorted(&mut xs);
        assert_eq!(s.n(), 5);
        assert_eq!(s.distinct(), 4);
        // numpy.percentile([0.1,0.3,0.5,0.5,0.9], [10,50,90]) = [0.18, 0.5, 0.74]
        assert!((percentile(&s, 0.1).unwrap() - 0.18).abs() < 1e-12);
        assert_eq!(percentile(&s, 0.5), Some(0.5));
        assert!((percentile(&s, 0.9).unwrap() - 0.74).abs() < 1e-12);
        assert_eq!(percentile(&s, 1.0), Some(0.9));
        assert_eq!(percentile(&SortedCounts::default(), 0.5), None);
        // Against the textbook definition on the expanded sample.
        let mut sample = vec![0.7, 0.2, 0.2, 0.2, 0.9, 0.4, 0.4];
        let counts = SortedCounts::from_unsorted(&mut sample.clone());
        sample.sort_by(f64::total_cmp);
        let qs = [0.0, 0.1, 0.33, 0.5, 0.9, 1.0];
        let all = percentiles(&counts, qs).unwrap();
        for (got, q) in all.iter().zip(qs) {
            let h = (sample.len() - 1) as f64 * q;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(sample.len() - 1);
            let want = sample[lo] + (sample[hi] - sample[lo]) * (h - lo as f64);
            assert!((got - want).abs() < 1e-12, "q={q}: {got} vs {want}");
        }
        let one = SortedCounts::from_unsorted(&mut [0.4]);
        assert_eq!(percentiles(&one, [0.1, 0.9]), Some([0.4, 0.4]));
    }
}

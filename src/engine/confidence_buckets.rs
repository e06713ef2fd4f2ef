//! Every confidence a model has sent, counted in fixed buckets since the
//! start (the metrics' histogram): a few words of memory per model and one
//! increment per prediction, so a scraper can take rates over any range.

/// Buckets per model: upper bounds 0.05, 0.10, …, 1.00.
pub const BUCKETS: usize = 20;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfidenceBuckets {
    /// Predictions with confidence in (bound(i-1), bound(i)], not cumulative.
    pub counts: [u64; BUCKETS],
    pub sum: f64,
}

impl Default for ConfidenceBuckets {
    fn default() -> Self {
        ConfidenceBuckets {
            counts: [0; BUCKETS],
            sum: 0.0,
        }
    }
}

/// The inclusive upper bound of bucket `i` (as Prometheus' `le`). A
/// quotient of small integers is the double nearest the decimal, so a
/// confidence of exactly 0.15 falls in the bucket whose bound is 0.15.
pub fn bound(i: usize) -> f64 {
    (i + 1) as f64 / BUCKETS as f64
}

impl ConfidenceBuckets {
    /// Counts one confidence (already checked to be in [0, 1]).
    #[inline]
    pub fn add(&mut self, confidence: f64) {
        // The product may round across a bound: compare with the bounds.
        let mut i = ((confidence * BUCKETS as f64).ceil() as usize).clamp(1, BUCKETS) - 1;
        if confidence > bound(i) {
            i = (i + 1).min(BUCKETS - 1);
        } else if i > 0 && confidence <= bound(i - 1) {
            i -= 1;
        }
        self.counts[i] += 1;
        self.sum += confidence;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_exact() {
        let mut b = ConfidenceBuckets::default();
        for c in [0.0, 0.05, 0.050001, 0.15, 0.6, 0.999, 1.0] {
            b.add(c);
        }
        assert_eq!(b.counts[0], 2, "0 and 0.05 are at most 0.05");
        assert_eq!(b.counts[1], 1);
        assert_eq!(b.counts[2], 1, "0.15 is in the bucket bounded by 0.15");
        assert_eq!(b.counts[11], 1, "0.6 is in the bucket bounded by 0.6");
        assert_eq!(b.counts[19], 2);
        assert_eq!(b.count(), 7);
        assert!((b.sum - 2.849001).abs() < 1e-12);
        assert_eq!(bound(19), 1.0);
        assert_eq!(bound(2), 0.15);
    }
}

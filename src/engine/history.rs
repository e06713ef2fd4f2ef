//! Time-bucketed history behind the live charts: struct-of-arrays over a
//! ring of buckets, a bucket with no predictions being a gap.
//!
//! Buckets follow the arrival clock (what the model is doing now), each
//! holding its predictions' count, confidence sum, a 50-bin confidence
//! histogram (percentiles for the chart band, to 0.02) and label counts.

use super::labels::LabelCounts;

/// Histogram bins per bucket (0.02 wide).
pub const HIST_BINS: usize = 50;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct History {
    bucket_ms: i64,
    capacity: usize,
    /// Bucket number (time / bucket_ms) of the newest bucket.
    head: Option<i64>,
    n: Vec<u32>,
    sum: Vec<f64>,
    #[serde(with = "flat_hist")]
    hist: Vec<[u32; HIST_BINS]>,
    mix: Vec<LabelCounts>,
}

/// The buckets' histograms as one flat list (serde has no arrays of 50).
mod flat_hist {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::HIST_BINS;

    pub fn serialize<S: Serializer>(hist: &[[u32; HIST_BINS]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hist.iter().flatten())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u32; HIST_BINS]>, D::Error> {
        let flat = Vec::<u32>::deserialize(d)?;
        if flat.len() % HIST_BINS != 0 {
            return Err(D::Error::custom("histograms of the wrong size"));
        }
        flat.chunks_exact(HIST_BINS)
            .map(|c| <[u32; HIST_BINS]>::try_from(c).map_err(D::Error::custom))
            .collect()
    }
}

/// One bucket as the charts read it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketView {
    /// Start of the bucket, epoch ms.
    pub start_ms: i64,
    pub n: u32,
    /// Sum of the bucket's confidences (the mean is `sum / n`).
    pub sum: f64,
    pub mix: LabelCounts,
    /// The bucket's confidences on the 50-bin grid, to merge buckets.
    pub hist: [u32; HIST_BINS],
}

/// Count, mean, p10 and p90 of several buckets taken together (a chart
/// column spanning them); `None` when they are all empty.
pub fn merged_summary(buckets: &[BucketView]) -> Option<(u32, f64, f64, f64)> {
    let n: u32 = buckets.iter().map(|b| b.n).sum();
    if n == 0 {
        return None;
    }
    let sum: f64 = buckets.iter().map(|b| b.sum).sum();
    let mut hist = [0u32; HIST_BINS];
    for b in buckets {
        for (h, c) in hist.iter_mut().zip(b.hist) {
            *h += c;
        }
    }
    let p10 = hist_percentile(&hist, n, 0.1)?;
    let p90 = hist_percentile(&hist, n, 0.9)?;
    Some((n, sum / f64::from(n), p10, p90))
}

impl History {
    pub fn new(bucket_ms: i64, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        History {
            bucket_ms: bucket_ms.max(1),
            capacity,
            head: None,
            n: vec![0; capacity],
            sum: vec![0.0; capacity],
            hist: vec![[0; HIST_BINS]; capacity],
            mix: vec![LabelCounts::default(); capacity],
        }
    }

    fn slot(&self, bucket: i64) -> usize {
        bucket.rem_euclid(self.capacity as i64) as usize
    }

    /// Moves the head forward to the bucket of `now_ms`, clearing buckets
    /// skipped over (gaps).
    pub fn advance(&mut self, now_ms: i64) {
        let bucket = now_ms.div_euclid(self.bucket_ms);
        let head = match self.head {
            None => {
                self.head = Some(bucket);
                return;
            }
            Some(h) => h,
        };
        if bucket <= head {
            return;
        }
        let steps = (bucket - head).min(self.capacity as i64);
        for b in (bucket - steps + 1)..=bucket {
            let s = self.slot(b);
            self.n[s] = 0;
            self.sum[s] = 0.0;
            self.hist[s] = [0; HIST_BINS];
            self.mix[s].clear();
        }
        self.head = Some(bucket);
    }

    pub fn add(&mut self, now_ms: i64, confidence: f64, label: u32) {
        self.advance(now_ms);
        let Some(head) = self.head else { return };
        let bucket = now_ms.div_euclid(self.bucket_ms);
        if bucket <= head - self.capacity as i64 {
            return; // older than the history: the clock went back
        }
        let s = self.slot(bucket.min(head));
        self.n[s] += 1;
        self.sum[s] += confidence;
        self.hist[s][((confidence * HIST_BINS as f64) as usize).min(HIST_BINS - 1)] += 1;
        self.mix[s].add(label);
    }

    /// The buckets from oldest to newest, up to the head.
    pub fn buckets(&self) -> Vec<BucketView> {
        let Some(head) = self.head else {
            return Vec::new();
        };
        let first = head - self.capacity as i64 + 1;
        (first..=head)
            .map(|b| {
                let s = self.slot(b);
                BucketView {
                    start_ms: b * self.bucket_ms,
                    n: self.n[s],
                    sum: self.sum[s],
                    mix: self.mix[s].clone(),
                    hist: self.hist[s],
                }
            })
            .collect()
    }

    /// Predictions per second over the `span_ms` before `now_ms` (whole
    /// buckets; buckets the head has not reached count as empty).
    pub fn rate(&self, now_ms: i64, span_ms: i64) -> f64 {
        let Some(head) = self.head else {
            return 0.0;
        };
        let now = now_ms.div_euclid(self.bucket_ms);
        let k = (span_ms / self.bucket_ms).clamp(1, self.capacity as i64);
        let n: u64 = (now - k + 1..=now)
            .filter(|&b| b <= head && b > head - self.capacity as i64)
            .map(|b| u64::from(self.n[self.slot(b)]))
            .sum();
        n as f64 * 1000.0 / (k * self.bucket_ms) as f64
    }

    pub fn bucket_ms(&self) -> i64 {
        self.bucket_ms
    }
}

/// A percentile read off a histogram, interpolating within the bin.
fn hist_percentile(hist: &[u32; HIST_BINS], n: u32, q: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let target = q * f64::from(n);
    let mut seen = 0.0;
    for (i, &c) in hist.iter().enumerate() {
        let c = f64::from(c);
        if c > 0.0 && seen + c >= target {
            let within = ((target - seen) / c).clamp(0.0, 1.0);
            return Some((i as f64 + within) / HIST_BINS as f64);
        }
        seen += c;
    }
    Some(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_with_gaps() {
        let mut h = History::new(1000, 4);
        h.add(10_000, 0.5, 0);
        h.add(10_500, 0.7, 1);
        h.add(12_100, 0.9, 0);
        let b = h.buckets();
        assert_eq!(b.len(), 4);
        assert_eq!(b[1].start_ms, 10_000);
        assert_eq!(b[1].n, 2);
        assert!((b[1].sum / f64::from(b[1].n) - 0.6).abs() < 1e-12);
        assert_eq!(b[2].n, 0); // gap
        assert_eq!(b[3].mix.get(0), 1);
        // Far ahead: everything old is cleared.
        h.add(100_000, 0.1, 0);
        assert_eq!(h.buckets().iter().map(|b| b.n).sum::<u32>(), 1);
        let all = h.buckets();
        let p10 = merged_summary(&all[3..]).unwrap().2;
        assert!((0.1..0.12).contains(&p10), "{p10}");
        assert_eq!(merged_summary(&all[..3]), None);
        let (n, mean, lo, hi) = merged_summary(&all).unwrap();
        assert_eq!(n, 1);
        assert!((mean - 0.1).abs() < 1e-12 && lo <= hi);
    }
}

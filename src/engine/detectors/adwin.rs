//! ADWIN (adaptive windowing) change detection on the confidence stream.
//!
//! Reproduces river 0.26's `drift.ADWIN` (Bifet & Gavaldà 2007, in river's
//! exponential-histogram form; BSD-3, read for the algorithm and written
//! anew here). The facts that decide where detections land:
//! * rows of buckets, row `i` summarising 2^i values each and holding at most
//!   `max_buckets` of them; when a row reaches `max_buckets + 1`, its two
//!   oldest buckets merge into one bucket of the next row (variance combined
//!   with the `n·(μ1 − μ2)²/2` term), cascading;
//! * the window variance is kept by a Welford-style update on insertion and
//!   reduced by the removed bucket's share on deletion;
//! * the cut check runs when the update count (from 1) is a multiple of
//!   `clock` and the width exceeds `grace_period`; it walks buckets from the
//!   oldest row to the newest, oldest bucket first, stopping before the very
//!   newest bucket, and cuts where both sides hold at least
//!   `min_window_length` values and |μ0 − μ1| exceeds
//!   ε = √(2·m·σ²·δ′) + (2/3)·δ′·m, with δ′ = ln(2·ln(width)/δ) and
//!   m = 1/(n0 − mwl + 1) + 1/(n1 − mwl + 1);
//! * a cut drops the oldest bucket and restarts the walk, and any cut in a
//!   check is one detection;
//! * after a detection the next update starts from a fresh detector, as
//!   river's wrapper does.

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdwinParams {
    pub delta: f64,
    pub clock: u64,
    pub max_buckets: usize,
    pub min_window_length: f64,
    pub grace_period: f64,
}

impl Default for AdwinParams {
    fn default() -> Self {
        AdwinParams {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5.0,
            grace_period: 10.0,
        }
    }
}

/// One row of the exponential histogram: totals and variances of its
/// buckets, oldest first.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Row {
    totals: Vec<f64>,
    variances: Vec<f64>,
}

impl Row {
    fn len(&self) -> usize {
        self.totals.len()
    }

    fn push(&mut self, total: f64, variance: f64) {
        self.totals.push(total);
        self.variances.push(variance);
    }

    fn drop_oldest(&mut self, k: usize) {
        self.totals.drain(..k);
        self.variances.drain(..k);
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Adwin {
    params: AdwinParams,
    rows: Vec<Row>,
    total: f64,
    variance: f64,
    width: f64,
    ticks: u64,
    detected: bool,
}

impl Adwin {
    pub fn new(params: AdwinParams) -> Self {
        Adwin {
            params,
            rows: vec![Row::default()],
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            ticks: 0,
            detected: false,
        }
    }

    /// Current window width and mean.
    pub fn window(&self) -> (f64, f64) {
        let mean = if self.width > 0.0 {
            self.total / self.width
        } else {
            0.0
        };
        (self.width, mean)
    }

    /// Feeds one value; returns true when a change is detected.
    pub fn update(&mut self, x: f64) -> bool {
        if self.detected {
            *self = Adwin::new(self.params);
        }
        self.insert(x);
        self.detected = self.check();
        self.detected
    }

    fn insert(&mut self, x: f64) {
        self.rows[0].push(x, 0.0);
        self.width += 1.0;
        if self.width > 1.0 {
            let d = x - self.total / (self.width - 1.0);
            self.variance += (self.width - 1.0) * d * d / self.width;
        }
        self.total += x;
        self.compress();
    }

    fn compress(&mut self) {
        let cap = self.params.max_buckets;
        let mut i = 0;
        while self.rows[i].len() == cap + 1 {
            let size = (1u64 << i) as f64;
            let row = &self.rows[i];
            let (t0, t1) = (row.totals[0], row.totals[1]);
            let (v0, v1) = (row.variances[0], row.variances[1]);
            let (mu0, mu1) = (t0 / size, t1 / size);
            let merged_var = v0 + v1 + size * 0.5 * (mu0 - mu1) * (mu0 - mu1);
            if i + 1 == self.rows.len() {
                self.rows.push(Row::default());
            }
            self.rows[i + 1].push(t0 + t1, merged_var);
            self.rows[i].drop_oldest(2);
            if self.rows[i + 1].len() <= cap {
                break;
            }
            i += 1;
        }
    }

    fn drop_oldest_bucket(&mut self) {
        let last = self.rows.len() - 1;
        let n = (1u64 << last) as f64;
        let (u, v) = (self.rows[last].totals[0], self.rows[last].variances[0]);
        let mu = u / n;
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.rows[last].drop_oldest(1);
        if self.rows[last].len() == 0 && last > 0 {
            self.rows.pop();
        }
    }

    fn check(&mut self) -> bool {
        self.ticks += 1;
        let p = self.params;
        if !self.ticks.is_multiple_of(p.clock) || self.width <= p.grace_period {
            return false;
        }
        let mut detected = false;
        'rescan: loop {
            let (mut n0, mut n1) = (0.0f64, self.width);
            let (mut u0, mut u1) = (0.0f64, self.total);
            for i in (0..self.rows.len()).rev() {
                let size = (1u64 << i) as f64;
                let len = self.rows[i].len();
                for k in 0..len {
                    n0 += size;
                    n1 -= size;
                    let t = self.rows[i].totals[k];
                    u0 += t;
                    u1 -= t;
                    if i == 0 && k + 1 == len {
                        break 'rescan;
                    }
                    let delta_mean = u0 / n0 - u1 / n1;
                    if n1 >= p.min_window_length
                        && n0 >= p.min_window_length
                        && self.cut(n0, n1, delta_mean)
                    {
                        detected = true;
                        if self.width > 0.0 {
                            self.drop_oldest_bucket();
                            continue 'rescan;
                        }
                    }
                }
            }
            break;
        }
        detected
    }

    fn cut(&self, n0: f64, n1: f64, delta_mean: f64) -> bool {
        let p = self.params;
        let delta_prime = (2.0 * self.width.ln() / p.delta).ln();
        let m = 1.0 / (n0 - p.min_window_length + 1.0) + 1.0 / (n1 - p.min_window_length + 1.0);
        let epsilon = (2.0 * m * (self.variance / self.width) * delta_prime).sqrt()
            + 2.0 / 3.0 * delta_prime * m;
        delta_mean.abs() > epsilon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exact_totals_while_compressing() {
        let mut a = Adwin::new(AdwinParams::default());
        for v in [1.0, 2.0, 3.0, 4.0, 5.0] {
            a.update(v);
        }
        assert_eq!(a.window(), (5.0, 3.0));
        assert!((a.variance - 10.0).abs() < 1e-12);
        for _ in 0..1000 {
            a.update(1.0);
        }
        assert_eq!(a.window().0, 1005.0);
        let buckets: usize = a.rows.iter().map(Row::len).sum();
        assert!(buckets < 60, "{buckets} buckets");
    }

    #[test]
    fn detects_a_large_shift_and_stays_quiet_on_a_constant() {
        let mut a = Adwin::new(AdwinParams {
            delta: 0.01,
            ..AdwinParams::default()
        });
        assert!((0..5000).all(|_| !a.update(0.5)));
        let hit = (0..200).position(|_| a.update(1.0));
        assert!(matches!(hit, Some(i) if i < 64), "{hit:?}");
    }
}

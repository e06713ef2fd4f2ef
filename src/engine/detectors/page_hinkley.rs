//! Page–Hinkley change detection on the confidence stream.
//!
//! Reproduces river 0.26's `drift.PageHinkley` (BSD-3; read for the
//! algorithm, this is an independent implementation): a running mean
//! updated as `mean += (x − mean)/n`, two fading cumulative sums of the
//! deviation (`alpha`-weighted, `delta` subtracted for increases and added
//! for decreases), tests against `threshold` once `min_instances` values
//! have been seen, the decrease extremum starting at −1 as river's does, and
//! a full reset on the update after a detection.

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageHinkleyParams {
    pub min_instances: u64,
    pub delta: f64,
    pub threshold: f64,
    pub alpha: f64,
}

impl Default for PageHinkleyParams {
    fn default() -> Self {
        PageHinkleyParams {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
        }
    }
}

/// Which way the mean moved when a change was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    Up,
    Down,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PageHinkley {
    params: PageHinkleyParams,
    n: f64,
    mean: f64,
    sum_increase: f64,
    sum_decrease: f64,
    min_increase: f64,
    max_decrease: f64,
    detected: bool,
}

impl PageHinkley {
    pub fn new(params: PageHinkleyParams) -> Self {
        let mut ph = PageHinkley {
            params,
            n: 0.0,
            mean: 0.0,
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: 0.0,
            max_decrease: 0.0,
            detected: false,
        };
        ph.reset();
        ph
    }

    fn reset(&mut self) {
        self.n = 0.0;
        self.mean = 0.0;
        self.sum_increase = 0.0;
        self.sum_decrease = 0.0;
        self.min_increase = f64::INFINITY;
        self.max_decrease = -1.0;
        self.detected = false;
    }

    /// Feeds one value; returns the direction when a change is detected.
    pub fn update(&mut self, x: f64) -> Option<Shift> {
        if self.detected {
            self.reset();
        }
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
        let dev = x - self.mean;
        let p = self.params;
        self.sum_increase = p.alpha * self.sum_increase + dev - p.delta;
        self.sum_decrease = p.alpha * self.sum_decrease + dev + p.delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        if self.n < p.min_instances as f64 {
            return None;
        }
        let up = self.sum_increase - self.min_increase > p.threshold;
        let down = self.max_decrease - self.sum_decrease > p.threshold;
        self.detected = up || down;
        match (up, down) {
            (true, _) => Some(Shift::Up),
            (false, true) => Some(Shift::Down),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_level_shift_like_river() {
        // river's docstring example: seeded choices of [0, 1] then range(4, 8)
        // detects at 1006; a deterministic stand-in: 0/1 alternating, then 5s.
        let mut ph = PageHinkley::new(PageHinkleyParams::default());
        let mut hits = Vec::new();
        for i in 0..2000 {
            let x = if i < 1000 { (i % 2) as f64 } else { 5.0 };
            if ph.update(x).is_some() {
                hits.push(i);
            }
        }
        assert!(
            !hits.is_empty() && hits[0] > 1000 && hits[0] < 1020,
            "{hits:?}"
        );
    }

    #[test]
    fn quiet_on_a_constant_stream() {
        let mut ph = PageHinkley::new(PageHinkleyParams::default());
        assert!((0..10_000).all(|_| ph.update(0.9).is_none()));
    }
}

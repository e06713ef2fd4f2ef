//! Predictions per second over the last few seconds, for the status bar.

use std::collections::VecDeque;

/// Seconds the rate is averaged over.
const SPAN_SECS: i64 = 5;

#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// (second, predictions in it), oldest first.
    seconds: VecDeque<(i64, u64)>,
}

impl RateMeter {
    pub fn add(&mut self, now_ms: i64, n: u64) {
        let sec = now_ms.div_euclid(1000);
        match self.seconds.back_mut() {
            Some((s, count)) if *s == sec => *count += n,
            _ => self.seconds.push_back((sec, n)),
        }
        self.roll(now_ms);
    }

    /// Forgets seconds older than the span.
    pub fn roll(&mut self, now_ms: i64) {
        let oldest = now_ms.div_euclid(1000) - SPAN_SECS;
        while self.seconds.front().is_some_and(|(s, _)| *s <= oldest) {
            self.seconds.pop_front();
        }
    }

    /// Predictions per second over the span (the current second counts as
    /// partly elapsed).
    pub fn per_second(&self, now_ms: i64) -> f64 {
        let total: u64 = self.seconds.iter().map(|(_, n)| n).sum();
        let now_s = now_ms as f64 / 1000.0;
        let from = self.seconds.front().map_or(now_s, |(s, _)| *s as f64);
        let span = (now_s - from).clamp(1.0, SPAN_SECS as f64);
        total as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_recent_seconds() {
        let mut r = RateMeter::default();
        for s in 0..10 {
            r.add(s * 1000, 100);
        }
        let rate = r.per_second(9_999);
        assert!((rate - 100.0).abs() < 21.0, "{rate}");
        r.roll(60_000);
        assert_eq!(r.per_second(60_000), 0.0);
    }
}

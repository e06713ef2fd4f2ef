//! Reconnect delays: exponential with jitter, so many clients that lost the
//! same server do not come back in lockstep.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        // A random seed without a dependency: std's hasher keys are random.
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The nominal delay of the next attempt: initial × 2^attempt, capped.
    pub fn nominal(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay: 50-100% of the nominal one; doubles the nominal.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.jitter(self.nominal());
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// The longest delay (credentials or certificate refused: retrying
    /// sooner would not help and would hammer the server).
    pub fn cap_delay(&mut self) -> Duration {
        self.jitter(self.max)
    }

    /// After a connection that stayed up: start again from the first delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn jitter(&mut self, d: Duration) -> Duration {
        // xorshift64*: plenty for spreading reconnects.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let unit = r as f64 / (1u64 << 53) as f64;
        d.mul_f64(0.5 + 0.5 * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_jitters_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(500), ms(30_000));
        let nominal: Vec<u128> = (0..9)
            .map(|_| {
                let n = b.nominal();
                let d = b.next_delay();
                assert!(d >= n / 2 && d <= n, "{d:?} outside [{:?}, {n:?}]", n / 2);
                n.as_millis()
            })
            .collect();
        assert_eq!(
            nominal,
            [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
        );
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.nominal(), ms(30_000));
        let cap = b.cap_delay();
        assert!(cap >= ms(15_000) && cap <= ms(30_000));
        b.reset();
        assert_eq!(b.nominal(), ms(500));
        let spread: std::collections::HashSet<_> = (0..20)
            .map(|_| {
                b.reset();
                b.next_delay()
            })
            .collect();
        assert!(spread.len() > 10, "delays are jittered");
    }
}

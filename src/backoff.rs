//! Reconnect delays: exponential with jitter, so many clients that lost the
//! same server do not come back in lockstep.

use std::time::Duration;

/// The delay before attempt `attempts` (counted from 1): `initial`
/// doubling per attempt up to `max`, each 50–100% of that.
pub fn reconnect_delay(initial: Duration, max: Duration, attempts: usize) -> Duration {
    jitter(nominal(initial, max, attempts))
}

/// `initial` doubled `attempts - 1` times, capped at `max`.
fn nominal(initial: Duration, max: Duration, attempts: usize) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    let factor = 1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max.max(initial))
}

/// 50–100% of `d`.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + 0.5 * fastrand::f64())
}

/// The delays of one connection's attempts, reset once it stays up.
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    /// Attempts made since the last reset.
    attempts: usize,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempts: 0,
        }
    }

    /// The nominal delay of the next attempt: initial × 2^attempt, capped.
    pub fn nominal(&self) -> Duration {
        nominal(self.initial, self.max, self.attempts + 1)
    }

    /// The next delay: 50-100% of the nominal one; doubles the nominal.
    pub fn next_delay(&mut self) -> Duration {
        let d = jitter(self.nominal());
        self.attempts = self.attempts.saturating_add(1);
        d
    }

    /// The longest delay (credentials or certificate refused: retrying
    /// sooner would not help and would hammer the server).
    pub fn cap_delay(&mut self) -> Duration {
        jitter(self.max)
    }

    /// After a connection that stayed up: start again from the first delay.
    pub fn reset(&mut self) {
        self.attempts = 0;
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

    #[test]
    fn delays_by_attempt_double_up_to_the_cap_with_jitter() {
        let ms = Duration::from_millis;
        for (attempt, nominal) in [(1, 500), (2, 1000), (3, 2000), (8, 30_000), (200, 30_000)] {
            let d = reconnect_delay(ms(500), ms(30_000), attempt);
            assert!(d >= ms(nominal / 2) && d <= ms(nominal), "{attempt}: {d:?}");
        }
    }
}

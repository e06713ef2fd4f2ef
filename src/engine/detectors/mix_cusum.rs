//! Sequential tests of the prediction mix: for each of the baseline's most
//! frequent labels, two CUSUMs (Page's cumulative sums of log-likelihood
//! ratios) of "this label's share rose" and "fell" to the share at which
//! the label alone moves the mix by a Jensen–Shannon distance of
//! `sequential_effect`, against its share in the baseline. A window tests
//! only the predictions inside it; a CUSUM keeps adding evidence for as
//! long as the change lasts, so a small window still finds a mix shift
//! too small for it, in about `threshold / KL` predictions (Lorden's bound
//! for any detector with that false-alarm rate, reached when the shift is
//! the one tuned for).
//!
//! False alarms: under the baseline's shares a CUSUM with threshold `h`
//! runs on average at least `e^h` predictions before crossing (Lorden),
//! so across `A` of them the rate is at most `A·e^-h` per prediction. The
//! threshold is set so that rate is the ladder's: `max_p_value` per check,
//! `h = ln(A · check_every / max_p_value)` (18.4–20.8 at the defaults).
//! The bound holds when the true share is the one tested against. A
//! baseline's share is an estimate (off by two standard errors for one
//! label in twenty), and a true share between the estimate and the
//! alternative makes a CUSUM drift up by itself: so each CUSUM tests its
//! alternative against the baseline's share moved `baseline_margin`
//! standard errors towards it (3: the bound holds unless the baseline
//! misjudged the share by more than that), and the test waits for a
//! baseline of `sequential_min_baseline` predictions.

use serde::{Deserialize, Serialize};

use crate::engine::labels::LabelCounts;

/// Labels given their own pair of CUSUMs, the most frequent first: the
/// cost per prediction is two updates per label.
pub const MAX_LABELS: usize = 16;

/// How the CUSUMs are tuned (a resumed test tuned otherwise starts
/// again: its sums were evidence for other alternatives).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// The Jensen–Shannon distance each CUSUM's alternative is at.
    pub effect: f64,
    /// False alarms allowed per check (`max_p_value`)...
    pub max_p_value: f64,
    /// ...with a check every this many predictions.
    pub check_every: u64,
    /// Standard errors of the baseline's share between it and the share
    /// each CUSUM holds as "no change".
    pub baseline_margin: f64,
}

/// One one-sided CUSUM of one label's share.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Arm {
    label: u32,
    rising: bool,
    /// The baseline's share.
    from: f64,
    /// Log-likelihood ratio of a prediction of the label, of another.
    hit: f64,
    miss: f64,
    sum: f64,
    /// Index of the first prediction of the current excursion above 0.
    since: u64,
}

/// A CUSUM that crossed its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    pub label: u32,
    pub rising: bool,
    /// The baseline's share of the label.
    pub from: f64,
    /// First prediction of the evidence (where the change began, as the
    /// CUSUM estimates it) and the prediction at which it crossed.
    pub since: u64,
    pub at: u64,
    pub sum: f64,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixCusum {
    arms: Vec<Arm>,
    threshold: f64,
    tuning: Tuning,
    /// The first crossing since the last check took it.
    crossed: Option<Crossing>,
}

impl MixCusum {
    /// CUSUMs for the baseline's mix `counts`, starting at prediction
    /// `start`; `None` when no label can move the mix by `tuning.effect`
    /// (a label whose alternative the baseline cannot tell from its own
    /// error gets no CUSUM).
    pub fn new(counts: &LabelCounts, start: u64, tuning: Tuning) -> Option<MixCusum> {
        let n: u64 = counts.0.iter().sum();
        let mut labels: Vec<(u32, u64)> = (0..counts.0.len() as u32)
            .map(|id| (id, counts.get(id)))
            .filter(|&(_, c)| c > 0)
            .collect();
        if labels.len() < 2 {
            return None;
        }
        labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        // With two labels one's rise is the other's fall: one pair suffices.
        let keep = if labels.len() == 2 { 1 } else { MAX_LABELS };
        let mut arms = Vec::new();
        for &(label, count) in labels.iter().take(keep) {
            let from = count as f64 / n as f64;
            for rising in [true, false] {
                let Some(to) = alternative(from, tuning.effect, rising) else {
                    continue;
                };
                let null = held_share(from, rising, tuning.baseline_margin, n);
                if (rising && null >= to) || (!rising && null <= to) || null <= 0.0 {
                    continue;
                }
                let (hit, miss) = ((to / null).ln(), ((1.0 - to) / (1.0 - null)).ln());
                if hit.is_finite() && miss.is_finite() {
                    arms.push(Arm {
                        label,
                        rising,
                        from,
                        hit,
                        miss,
                        sum: 0.0,
                        since: start,
                    });
                }
            }
        }
        if arms.is_empty() {
            return None;
        }
        let looks = arms.len() as f64 * tuning.check_every.max(1) as f64;
        Some(MixCusum {
            threshold: (looks / tuning.max_p_value).ln().max(1.0),
            arms,
            tuning,
            crossed: None,
        })
    }

    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    #[cfg(test)]
    fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Prediction `index` of `label`; whether a crossing waits to be
    /// taken.
    #[inline]
    pub fn observe(&mut self, index: u64, label: u32) -> bool {
        let mut crossed = None;
        for arm in &mut self.arms {
            let sum = arm.sum
                + if arm.label == label {
                    arm.hit
                } else {
                    arm.miss
                };
            if sum <= 0.0 {
                arm.sum = 0.0;
                arm.since = index + 1;
            } else {
                arm.sum = sum;
                if sum >= self.threshold && crossed.is_none() {
                    crossed = Some(Crossing {
                        label: arm.label,
                        rising: arm.rising,
                        from: arm.from,
                        since: arm.since,
                        at: index,
                        sum,
                        threshold: self.threshold,
                    });
                }
            }
        }
        if let Some(c) = crossed {
            // Every CUSUM starts again: the next crossing is new evidence.
            for arm in &mut self.arms {
                arm.sum = 0.0;
                arm.since = index + 1;
            }
            self.crossed.get_or_insert(c);
        }
        self.crossed.is_some()
    }

    /// The crossing since the last call, if any.
    pub fn take(&mut self) -> Option<Crossing> {
        self.crossed.take()
    }

    /// The largest sum as a share of the threshold (0 to 1).
    #[cfg(test)]
    fn progress(&self) -> f64 {
        let top = self.arms.iter().map(|a| a.sum).fold(0.0, f64::max);
        (top / self.threshold).clamp(0.0, 1.0)
    }
}

/// The share a CUSUM holds as "no change": the baseline's share `from` (of
/// `n` predictions) moved `margin` standard errors up (`rising`) or down.
fn held_share(from: f64, rising: bool, margin: f64, n: u64) -> f64 {
    let error = margin * (from * (1.0 - from) / n.max(1) as f64).sqrt();
    if rising { from + error } else { from - error }
}

/// Jensen–Shannon distance (base 2) of two Bernoulli distributions.
pub fn bernoulli_js(p: f64, q: f64) -> f64 {
    fn term(a: f64, m: f64) -> f64 {
        if a > 0.0 { a * (a / m).ln() } else { 0.0 }
    }
    let (m1, m0) = ((p + q) / 2.0, 1.0 - (p + q) / 2.0);
    let d = (term(p, m1) + term(1.0 - p, m0) + term(q, m1) + term(1.0 - q, m0)) / 2.0;
    (d / std::f64::consts::LN_2).max(0.0).sqrt()
}

/// The share `to` above (`rising`) or below `from` at Jensen–Shannon
/// distance `effect` from it; `None` when no share that side is so far.
pub fn alternative(from: f64, effect: f64, rising: bool) -> Option<f64> {
    let edge = if rising { 1.0 } else { 0.0 };
    if effect.is_nan() || effect <= 0.0 || bernoulli_js(from, edge) < effect {
        return None;
    }
    let (mut near, mut far) = (from, edge);
    for _ in 0..64 {
        let mid = (near + far) / 2.0;
        if bernoulli_js(from, mid) < effect {
            near = mid;
        } else {
            far = mid;
        }
    }
    let to = (near + far) / 2.0;
    (to > 0.0 && to < 1.0).then_some(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &[u64]) -> LabelCounts {
        LabelCounts(c.to_vec())
    }

    const TUNING: Tuning = Tuning {
        effect: 0.1,
        max_p_value: 1e-6,
        check_every: 50,
        baseline_margin: 3.0,
    };

    fn draw(u: &mut fastrand::Rng, shares: &[f64]) -> u32 {
        let x = u.f64();
        let mut acc = 0.0;
        for (i, s) in shares.iter().enumerate() {
            acc += s;
            if x < acc {
                return i as u32;
            }
        }
        shares.len() as u32 - 1
    }

    #[test]
    fn alternatives_sit_at_the_effect_on_either_side() {
        for from in [0.02, 0.3, 0.5, 0.9] {
            for rising in [true, false] {
                if let Some(to) = alternative(from, 0.1, rising) {
                    assert!((bernoulli_js(from, to) - 0.1).abs() < 1e-9, "{from} {to}");
                    assert_eq!(to > from, rising);
                }
            }
        }
        // A share of 0.999 cannot rise by a distance of 0.1.
        assert_eq!(alternative(0.999, 0.1, true), None);
        assert!(alternative(0.999, 0.1, false).is_some());
        assert!((bernoulli_js(0.5, 0.5)).abs() < 1e-12);
    }

    #[test]
    fn the_threshold_splits_the_false_alarm_rate_over_the_cusums() {
        let two = MixCusum::new(&counts(&[600, 400]), 0, TUNING).unwrap();
        // One pair for two labels: ln(2 · 50 / 1e-6).
        assert!((two.threshold() - (2.0f64 * 50.0 / 1e-6).ln()).abs() < 1e-9);
        let ten = MixCusum::new(&counts(&[100; 10]), 0, TUNING).unwrap();
        assert!((ten.threshold() - (20.0f64 * 50.0 / 1e-6).ln()).abs() < 1e-9);
        let many = MixCusum::new(&counts(&[10; 40]), 0, TUNING).unwrap();
        assert_eq!(many.arms.len(), 2 * MAX_LABELS);
        assert!(MixCusum::new(&counts(&[5]), 0, TUNING).is_none());
    }

    #[test]
    fn a_shift_of_the_tuned_size_crosses_near_lordens_bound_and_none_before() {
        let base = [0.5, 0.3, 0.2];
        let mut cusum = MixCusum::new(&counts(&[5000, 3000, 2000]), 0, TUNING).unwrap();
        let mut u = fastrand::Rng::with_seed(20_261_130);
        // 200,000 predictions of the baseline's mix: no crossing.
        for i in 0..200_000 {
            cusum.observe(i, draw(&mut u, &base));
        }
        assert_eq!(cusum.take(), None);
        assert!(cusum.progress() < 1.0);
        // Label 0's share rises to 0.62 (JS ≈ 0.1).
        let moved = [0.62, 0.228, 0.152];
        let onset = 200_000;
        let mut found = None;
        for i in onset..onset + 5_000 {
            cusum.observe(i, draw(&mut u, &moved));
            if let Some(c) = cusum.take() {
                found = Some(c);
                break;
            }
        }
        let c = found.expect("crossed");
        assert_eq!((c.label, c.rising), (0, true));
        assert!(c.at - onset < 1_500, "{c:?}");
        assert!(c.since + 200 >= onset, "{c:?}");
        assert!(c.sum >= c.threshold);
    }

    #[test]
    fn a_baseline_share_misjudged_by_the_margin_does_not_page() {
        // The baseline saw label 2 at 10.45% of 2,000; it is 12.5% (three
        // of the estimate's standard errors more), and nothing changes.
        let baseline = counts(&[1000, 791, 209]);
        let truth = [0.5, 0.375, 0.125];
        let mut cusum = MixCusum::new(&baseline, 0, TUNING).unwrap();
        assert!(cusum.arms.iter().any(|a| a.label == 2 && a.rising));
        let label_2 = held_share(209.0 / 2000.0, true, TUNING.baseline_margin, 2000);
        assert!((label_2 - 0.125).abs() < 5e-4, "{label_2}");
        let mut u = fastrand::Rng::with_seed(7);
        for i in 0..300_000 {
            cusum.observe(i, draw(&mut u, &truth));
            assert_eq!(cusum.take(), None, "prediction {i}");
        }
    }
}

//! What the features panel shows of one feature's checks: the last check's
//! test, kept for the frames (as confidence's comparison is, so a frame
//! never recomputes a statistic and the panel agrees with the alert), and
//! its effect at each of the last [`EFFECT_HISTORY`] checks for the
//! sparkline.

use std::sync::Arc;

use crate::engine::rules::feature_drift::FeatureTest;

/// Checks whose effect each feature remembers.
pub const EFFECT_HISTORY: usize = 60;

/// Bytes a feature's history takes (charged with its fixed part).
pub const BYTES: usize = std::mem::size_of::<CheckHistory>();

/// One feature at the last check of the sliding window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastCheck {
    /// KS (numeric) or chi-square (categorical).
    pub p_value: f64,
    /// Normed Wasserstein (numeric) or Jensen–Shannon distance
    /// (categorical).
    pub effect: f64,
    pub moved: Moved,
}

/// What moved most, for the operator to read beside the effect.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Moved {
    Nothing,
    /// The baseline's mean and the window's.
    Mean {
        from: f64,
        to: f64,
    },
    /// The category whose share moved most: baseline share, window share.
    Share {
        category: Arc<str>,
        from: f64,
        to: f64,
    },
}

impl LastCheck {
    /// `shared` finds a category's shared name.
    pub fn of(test: &FeatureTest<'_>, shared: impl Fn(&str) -> Option<Arc<str>>) -> LastCheck {
        match *test {
            FeatureTest::Numeric {
                p_value,
                wasserstein_norm,
                means,
                ..
            } => LastCheck {
                p_value,
                effect: wasserstein_norm,
                moved: means.map_or(Moved::Nothing, |(from, to)| Moved::Mean { from, to }),
            },
            FeatureTest::Categorical {
                p_value,
                js,
                largest_move,
            } => LastCheck {
                p_value,
                effect: js,
                moved: largest_move
                    .and_then(|(name, from, to)| {
                        Some(Moved::Share {
                            category: shared(name)?,
                            from,
                            to,
                        })
                    })
                    .unwrap_or(Moved::Nothing),
            },
        }
    }
}

/// A fixed ring of effects (NaN where a check had no test) and the last
/// check.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckHistory {
    #[serde(with = "effects_ring")]
    effects: [f32; EFFECT_HISTORY],
    next: usize,
    len: usize,
    last: Option<LastCheck>,
}

/// The ring as a list (serde has no arrays of 60).
mod effects_ring {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::EFFECT_HISTORY;

    pub fn serialize<S: Serializer>(ring: &[f32; EFFECT_HISTORY], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ring)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f32; EFFECT_HISTORY], D::Error> {
        let list = Vec::<f32>::deserialize(d)?;
        <[f32; EFFECT_HISTORY]>::try_from(list.as_slice())
            .map_err(|_| D::Error::custom("an effect history of the wrong size"))
    }
}

impl Default for CheckHistory {
    fn default() -> Self {
        CheckHistory {
            effects: [f32::NAN; EFFECT_HISTORY],
            next: 0,
            len: 0,
            last: None,
        }
    }
}

impl CheckHistory {
    /// One check: its test, or `None` when the feature had none.
    pub fn record(&mut self, last: Option<LastCheck>) {
        self.effects[self.next] = last.as_ref().map_or(f32::NAN, |l| l.effect as f32);
        self.next = (self.next + 1) % EFFECT_HISTORY;
        self.len = (self.len + 1).min(EFFECT_HISTORY);
        self.last = last;
    }

    pub fn last(&self) -> Option<&LastCheck> {
        self.last.as_ref()
    }

    /// The effects remembered, oldest first.
    pub fn effects(&self) -> impl Iterator<Item = f32> + '_ {
        let start = (self.next + EFFECT_HISTORY - self.len) % EFFECT_HISTORY;
        (0..self.len).map(move |i| self.effects[(start + i) % EFFECT_HISTORY])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(effect: f64) -> LastCheck {
        LastCheck {
            p_value: 0.5,
            effect,
            moved: Moved::Nothing,
        }
    }

    #[test]
    fn the_ring_keeps_the_last_checks_in_order() {
        let mut h = CheckHistory::default();
        assert_eq!(h.effects().count(), 0);
        h.record(Some(numeric(0.25)));
        h.record(None);
        assert!(h.last().is_none(), "the last check had no test");
        let seen: Vec<f32> = h.effects().collect();
        assert_eq!((seen.len(), seen[0]), (2, 0.25));
        assert!(seen[1].is_nan());
        for i in 0..EFFECT_HISTORY + 5 {
            h.record(Some(numeric(i as f64)));
        }
        let seen: Vec<f32> = h.effects().collect();
        assert_eq!(seen.len(), EFFECT_HISTORY);
        assert_eq!(seen[0], 5.0);
        assert_eq!(seen[EFFECT_HISTORY - 1], (EFFECT_HISTORY + 4) as f32);
        assert_eq!(
            h.last().map(|l| l.effect),
            Some((EFFECT_HISTORY + 4) as f64)
        );
    }

    #[test]
    fn a_test_keeps_what_moved_most() {
        let cat = FeatureTest::Categorical {
            p_value: 1e-9,
            js: 0.4,
            largest_move: Some(("chat", 0.2, 0.6)),
        };
        let shared: Arc<str> = Arc::from("chat");
        let last = LastCheck::of(&cat, |n| (n == "chat").then(|| Arc::clone(&shared)));
        assert_eq!(
            last.moved,
            Moved::Share {
                category: shared,
                from: 0.2,
                to: 0.6
            }
        );
        let num = FeatureTest::Numeric {
            p_value: 0.01,
            statistic: 0.2,
            wasserstein_norm: 0.3,
            means: Some((1.0, 2.0)),
        };
        let last = LastCheck::of(&num, |_| None);
        assert_eq!(
            (last.effect, last.moved),
            (0.3, Moved::Mean { from: 1.0, to: 2.0 })
        );
    }
}

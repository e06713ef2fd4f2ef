//! `silence`: a model that has sent predictions and then sends none for
//! `after_secs` (a producer that stopped leaves a dashboard that still
//! says "following": this makes it an alert). Live only: it runs on the
//! wall clock, once a second (`Engine::tick`); `replay` has no silence.

use serde::{Deserialize, Serialize};

use crate::engine::alerts::{Breach, Severity};

/// A model that stopped sending predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SilenceRule {
    pub enabled: bool,
    /// Seconds without a prediction, after the first, before it alerts.
    pub after_secs: u64,
}

impl Default for SilenceRule {
    fn default() -> Self {
        SilenceRule {
            enabled: true,
            after_secs: 300,
        }
    }
}

impl SilenceRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        if self.after_secs == 0 {
            return Err("alerts.silence.after_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// Whether `model`, whose last prediction arrived at `last_ms`, has been
/// silent too long at `now_ms`.
pub fn check(rule: &SilenceRule, model: &str, last_ms: Option<i64>, now_ms: i64) -> Option<Breach> {
    let silent_ms = now_ms.saturating_sub(last_ms?);
    if !rule.enabled || silent_ms < rule.after_secs.saturating_mul(1000) as i64 {
        return None;
    }
    Some(Breach {
        severity: Severity::Warning,
        direction: None,
        detail: format!(
            "{model} sent no prediction for {} s (silence_after {} s): has its producer stopped?",
            silent_ms / 1000,
            rule.after_secs
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineSettings, LineOrigin};
    use crate::record::Parser;

    #[test]
    fn a_model_silent_past_the_limit_alerts_until_it_sends_again() {
        let rule = SilenceRule {
            enabled: true,
            after_secs: 60,
        };
        assert!(check(&rule, "m", None, 1_000_000).is_none(), "never sent");
        assert!(check(&rule, "m", Some(0), 59_999).is_none());
        let b = check(&rule, "m", Some(0), 60_000).unwrap();
        assert!(b.detail.contains("no prediction for 60 s"), "{}", b.detail);

        let mut settings = EngineSettings::default();
        settings.alerts.silence = rule;
        let mut e = Engine::new(settings);
        let feed = |e: &mut Engine, now: i64| {
            let line = br#"{"model":"m","prediction":"x","confidence":0.9}"#;
            e.ingest_line(
                &Parser::default(),
                line,
                LineOrigin {
                    source: "t",
                    line: 1,
                },
                now,
            );
        };
        feed(&mut e, 0);
        e.tick(30_000);
        assert!(e.take_transitions().is_empty());
        e.tick(61_000);
        let fired = e.take_transitions();
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].1.kind.as_str(), "silence");
        assert_eq!(fired[0].1.model.as_deref(), Some("m"));
        e.tick(62_000);
        assert!(e.take_transitions().is_empty(), "one alert, not one a tick");
        feed(&mut e, 63_000);
        e.tick(63_500);
        let cleared = e.take_transitions();
        assert_eq!(cleared.len(), 1, "{cleared:?}");
        assert!(!cleared[0].1.is_active());
    }
}

//! `silence`: a model that has sent predictions, or a source that has
//! sent lines, and then sends none for `alerts.silence_after` (a producer
//! that stopped leaves a dashboard that still says "following": this makes
//! it an alert). Live only: it runs on the wall clock, once a second
//! (`Engine::tick`); `replay` has no silence.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::alerts::{Breach, Severity};

/// How long a model or a source may send nothing before `silence`, when
/// neither `alerts.silence_after` nor its older spelling says.
pub const DEFAULT_AFTER: Duration = Duration::from_secs(300);

/// Whether the rule runs, and the older spelling of how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SilenceRule {
    pub enabled: bool,
    /// Seconds: the older spelling of `alerts.silence_after`, still read.
    pub after_secs: Option<u64>,
}

impl Default for SilenceRule {
    fn default() -> Self {
        SilenceRule {
            enabled: true,
            after_secs: None,
        }
    }
}

/// What went quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silent<'a> {
    /// A model: no prediction.
    Model(&'a str),
    /// A source (a file, stdin, a websocket): no line at all.
    Source(&'a str),
}

/// How long to wait: `silence_after`, else the older `after_secs`, else
/// five minutes. Both given and different is refused: neither could be
/// what was meant.
pub fn after(rule: &SilenceRule, silence_after: Option<Duration>) -> Result<Duration, String> {
    let older = rule.after_secs.map(Duration::from_secs);
    let after = match (silence_after, older) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "alerts.silence_after ({}) and alerts.silence.after_secs ({}, its older spelling) disagree: keep silence_after",
                humantime::format_duration(a),
                b.as_secs()
            ));
        }
        (a, b) => a.or(b).unwrap_or(DEFAULT_AFTER),
    };
    if after < Duration::from_secs(1) {
        return Err("alerts.silence_after must be at least 1s".into());
    }
    Ok(after)
}

/// Whether `silent`, which last sent at `last_ms`, has been quiet for
/// `after` at `now_ms` (never, before it sent anything).
pub fn check(
    rule: &SilenceRule,
    after: Duration,
    silent: Silent<'_>,
    last_ms: Option<i64>,
    now_ms: i64,
) -> Option<Breach> {
    let quiet_ms = now_ms.saturating_sub(last_ms?);
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    if !rule.enabled || quiet_ms < after_ms {
        return None;
    }
    let what = match silent {
        Silent::Model(name) => format!("{name} sent no prediction"),
        Silent::Source(name) => format!("source {name} sent nothing"),
    };
    Some(Breach {
        severity: Severity::Warning,
        direction: None,
        detail: format!(
            "{what} for {} s (silence_after {}): has its producer stopped?",
            quiet_ms / 1000,
            humantime::format_duration(after)
        ),
    })
}

/// `silence_after` as text such as "5m" or "90s" in the config file.
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(Some)
            .map_err(|e| {
                serde::de::Error::custom(format!("{text:?} is not a duration such as \"5m\": {e}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineSettings, LineOrigin};
    use crate::record::Parser;

    #[test]
    fn silence_after_or_its_older_spelling() {
        let older = |secs| SilenceRule {
            after_secs: secs,
            ..SilenceRule::default()
        };
        let s = Duration::from_secs;
        assert_eq!(after(&older(None), None), Ok(DEFAULT_AFTER));
        assert_eq!(after(&older(Some(90)), None), Ok(s(90)));
        assert_eq!(after(&older(None), Some(s(120))), Ok(s(120)));
        assert_eq!(after(&older(Some(120)), Some(s(120))), Ok(s(120)));
        assert!(
            after(&older(Some(60)), Some(s(120)))
                .unwrap_err()
                .contains("disagree")
        );
        assert!(after(&older(Some(0)), None).is_err());
    }

    #[test]
    fn a_model_silent_past_the_limit_alerts_until_it_sends_again() {
        let rule = SilenceRule::default();
        let minute = Duration::from_secs(60);
        let m = Silent::Model("m");
        assert!(
            check(&rule, minute, m, None, 1_000_000).is_none(),
            "never sent"
        );
        assert!(check(&rule, minute, m, Some(0), 59_999).is_none());
        let b = check(&rule, minute, m, Some(0), 60_000).unwrap();
        assert!(b.detail.contains("no prediction for 60 s"), "{}", b.detail);
        let b = check(&rule, minute, Silent::Source("a.jsonl"), Some(0), 61_000).unwrap();
        assert!(
            b.detail
                .contains("source a.jsonl sent nothing for 61 s (silence_after 1m)"),
            "{}",
            b.detail
        );

        let mut settings = EngineSettings::default();
        settings.alerts.silence_after = Some(minute);
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

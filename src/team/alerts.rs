//! The team's alerts in the JetStream stream `MW_ALERTS` (DESIGN §8): one
//! subject per team and model, `mw.TEAM.alert.MODEL`, one message per alert
//! transition (fired, escalated, cleared) and per acknowledgement, each with
//! a `Nats-Msg-Id` made of the alert's identity and what happened, so the
//! same transition raised by several dashboards is stored once.
//!
//! An alert's identity is what every process watching the same predictions
//! agrees on: the team, the model, the kind and the prediction index it
//! fired at (never the per-process alert id). Names become one subject
//! token each with [`subject_token`]; alerts about the input as a whole
//! (no model) use [`INPUT_TOKEN`], which no name can become.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType, Stream};
use serde::{Deserialize, Serialize};

use super::kill_kv::{subject_token, token};
use crate::engine::alerts::{Alert, AlertKind, Transition};
use crate::record::time::format_ms;

/// The stream.
pub const STREAM: &str = "MW_ALERTS";
/// Its subjects: `mw.TEAM.alert.MODEL`.
const SUBJECTS: &str = "mw.*.alert.*";
/// Same msg id within this long is stored once (several dashboards raise
/// the same alert; one may be minutes behind another).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How long the stream keeps a message.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most bytes the stream holds (the oldest go first).
const MAX_BYTES: i64 = 1 << 30;
/// The model token of alerts about the input as a whole: `=` followed by
/// anything but two hex digits is never produced by [`token`].
pub const INPUT_TOKEN: &str = "=input";
/// Longest pause between two attempts while the cluster is away (the
/// publisher's and the watch's).
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// A message larger than this is not a team alert (a reader skips it).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The subject of `team`'s alerts about `model` (`None`: the input).
pub fn subject(team: &str, model: Option<&str>) -> String {
    let model = model.map_or_else(|| INPUT_TOKEN.to_string(), subject_token);
    format!("mw.{}.alert.{model}", subject_token(team))
}

/// The team's subjects, for a consumer.
pub fn team_subjects(team: &str) -> String {
    format!("mw.{}.alert.*", subject_token(team))
}

/// What one message says happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamEvent {
    Fired,
    Escalated,
    Cleared,
    Acknowledged,
}

impl TeamEvent {
    /// The event for an engine transition; `None` for those not shared
    /// (a name joining an active alert's list).
    pub fn of(transition: Transition) -> Option<TeamEvent> {
        match transition {
            Transition::Fired => Some(TeamEvent::Fired),
            Transition::Escalated => Some(TeamEvent::Escalated),
            Transition::Cleared => Some(TeamEvent::Cleared),
            Transition::Updated => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TeamEvent::Fired => "fired",
            TeamEvent::Escalated => "escalated",
            TeamEvent::Cleared => "cleared",
            TeamEvent::Acknowledged => "acknowledged",
        }
    }
}

/// An alert's identity across the team's processes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertKey {
    pub model: Option<String>,
    pub kind: AlertKind,
    /// The prediction index it fired at.
    pub index: u64,
}

impl AlertKey {
    pub fn of(alert: &Alert) -> AlertKey {
        AlertKey {
            model: alert.model.clone(),
            kind: alert.kind,
            index: alert.index,
        }
    }
}

/// One message of the stream, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamAlert {
    pub event: TeamEvent,
    /// `null` for an alert about the input as a whole.
    pub model: Option<String>,
    pub alert_kind: AlertKind,
    /// The prediction index it fired at (with model and kind, its identity).
    pub index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Where a cleared alert cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_index: Option<u64>,
    /// Event time of the transition (RFC 3339); absent for an
    /// acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Who raised or acknowledged it (the operator's name).
    pub by: String,
    /// When it was published (RFC 3339).
    pub at: String,
}

impl TeamAlert {
    /// The message for an engine transition (`None` when not shared).
    pub fn transition(
        transition: Transition,
        alert: &Alert,
        by: &str,
        now_ms: i64,
    ) -> Option<TeamAlert> {
        let event = TeamEvent::of(transition)?;
        let cleared = event == TeamEvent::Cleared;
        Some(TeamAlert {
            event,
            model: alert.model.clone(),
            alert_kind: alert.kind,
            index: alert.index,
            severity: Some(alert.severity.as_str().to_string()),
            detail: Some(alert.detail.clone()),
            cleared_index: alert.cleared_index.filter(|_| cleared),
            ts: Some(format_ms(match alert.cleared_ts_ms {
                Some(ts) if cleared => ts,
                _ => alert.ts_ms,
            })),
            by: by.to_string(),
            at: format_ms(now_ms),
        })
    }

    /// The acknowledgement of the alert `key` by `by`.
    pub fn acknowledgement(key: &AlertKey, by: &str, now_ms: i64) -> TeamAlert {
        TeamAlert {
            event: TeamEvent::Acknowledged,
            model: key.model.clone(),
            alert_kind: key.kind,
            index: key.index,
            severity: None,
            detail: None,
            cleared_index: None,
            ts: None,
            by: by.to_string(),
            at: format_ms(now_ms),
        }
    }

    pub fn key(&self) -> AlertKey {
        AlertKey {
            model: self.model.clone(),
            kind: self.alert_kind,
            index: self.index,
        }
    }

    /// Its `Nats-Msg-Id`: the subject's team and model tokens, the kind,
    /// the index and the event (`escalated` with the severity reached).
    pub fn msg_id(&self, team: &str) -> String {
        let model = self
            .model
            .as_deref()
            .map_or_else(|| INPUT_TOKEN.to_string(), subject_token);
        let mut id = format!(
            "{}.{model}.{}.{}.{}",
            subject_token(team),
            self.alert_kind.as_str(),
            self.index,
            self.event.as_str()
        );
        if let (TeamEvent::Escalated, Some(severity)) = (self.event, &self.severity) {
            id.push('.');
            id.push_str(&token(severity));
        }
        id
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        crate::record::safe_json::to_vec(self).unwrap_or_default()
    }

    /// A message as read from the stream; `None` when it is not one.
    pub fn parse(bytes: &[u8]) -> Option<TeamAlert> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return None;
        }
        serde_json::from_slice(bytes).ok()
    }
}

/// Opens the stream, creating it (file storage, replicated on up to three
/// servers, the duplicate window) when it does not exist yet.
pub async fn open_stream(client: &async_nats::Client, limit: Duration) -> Result<Stream, String> {
    let js = async_nats::jetstream::new(client.clone());
    super::open::stream(&js, stream_config, limit).await
}

fn stream_config(replicas: usize) -> Config {
    Config {
        name: STREAM.to_string(),
        description: Some("modelwatch alerts: mw.TEAM.alert.MODEL".into()),
        subjects: vec![SUBJECTS.to_string()],
        storage: StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        max_bytes: MAX_BYTES,
        discard: DiscardPolicy::Old,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::Severity;

    fn alert(model: Option<&str>) -> Alert {
        Alert {
            id: 7,
            model: model.map(str::to_string),
            kind: AlertKind::ConfidenceDrift,
            severity: Severity::Critical,
            direction: None,
            index: 1117,
            ts_ms: 0,
            breaching_since: 1100,
            detail: "d".into(),
            names: None,
            cleared_index: None,
            cleared_ts_ms: None,
            acknowledged: false,
        }
    }

    #[test]
    fn subjects_and_ids_name_the_alert_not_the_process() {
        assert_eq!(
            subject("sre", Some("fraud@3.1")),
            "mw.sre.alert.fraud=403=2E1"
        );
        assert_eq!(subject("sre", None), "mw.sre.alert.=input");
        assert_eq!(subject("sre", Some("_input")), "mw.sre.alert._input");
        let long = "m".repeat(65);
        let hashed = subject_token(&long);
        assert_eq!(hashed.len(), 65);
        assert!(hashed.starts_with('h') && hashed[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(subject_token(&"m".repeat(64)), "m".repeat(64));
        assert_ne!(subject_token(&format!("{long}x")), hashed);

        let mut a = alert(Some("fraud@3.1"));
        let fired = TeamAlert::transition(Transition::Fired, &a, "alice", 5).unwrap();
        assert_eq!(
            fired.msg_id("sre"),
            "sre.fraud=403=2E1.confidence_drift.1117.fired"
        );
        a.id = 99; // another process's id for the same alert
        let again = TeamAlert::transition(Transition::Fired, &a, "bob", 6).unwrap();
        assert_eq!(again.msg_id("sre"), fired.msg_id("sre"));
        let escalated = TeamAlert::transition(Transition::Escalated, &a, "bob", 6).unwrap();
        assert_eq!(
            escalated.msg_id("sre"),
            "sre.fraud=403=2E1.confidence_drift.1117.escalated.critical"
        );
        assert!(TeamAlert::transition(Transition::Updated, &a, "bob", 6).is_none());
        let ack = TeamAlert::acknowledgement(&AlertKey::of(&a), "carol", 7);
        assert_eq!(
            ack.msg_id("sre"),
            "sre.fraud=403=2E1.confidence_drift.1117.acknowledged"
        );
        assert_eq!(ack.key(), fired.key());
        let input = TeamAlert::transition(Transition::Fired, &alert(None), "a", 1).unwrap();
        assert_eq!(
            input.msg_id("sre"),
            "sre.=input.confidence_drift.1117.fired"
        );
    }

    #[test]
    fn messages_round_trip_and_junk_is_not_a_message() {
        let mut a = alert(Some("m\u{1b}"));
        a.cleared_index = Some(1500);
        a.cleared_ts_ms = Some(1_000);
        let cleared = TeamAlert::transition(Transition::Cleared, &a, "alice", 5).unwrap();
        assert_eq!(cleared.cleared_index, Some(1500));
        assert_eq!(cleared.ts.as_deref(), Some("1970-01-01T00:00:01.000Z"));
        let bytes = cleared.to_bytes();
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .contains("\\u001b")
        );
        assert_eq!(TeamAlert::parse(&bytes), Some(cleared));
        let ack = br#"{"event":"acknowledged","model":"m","alert_kind":"silence","index":3,"by":"x","at":"t"}"#;
        let parsed = TeamAlert::parse(ack).unwrap();
        assert_eq!(
            (parsed.event, parsed.alert_kind),
            (TeamEvent::Acknowledged, AlertKind::Silence)
        );
        assert!(TeamAlert::parse(br#"{"event":"exploded","model":"m"}"#).is_none());
        assert!(TeamAlert::parse(b"fired").is_none());
        assert!(TeamAlert::parse(&vec![b' '; MAX_MESSAGE_BYTES + 1]).is_none());
    }
}

//! The team's review decisions in the JetStream stream `MW_DECISIONS`
//! (DESIGN §8): one subject per case, `mw.TEAM.decision.MODEL.CASE`, and
//! every decision published with `Nats-Expected-Last-Subject-Sequence: 0`,
//! so the cluster stores the first decision on a case and refuses any
//! other: each case is decided once across the team.
//!
//! Tokens: a name is escaped as the kill switch's keys are
//! ([`kill_kv::token`](super::kill_kv::token)); a name whose token would be
//! longer than 64 bytes is `h` + the hex of its SHA-256 instead (65 bytes,
//! so never equal to an escaped token), so no name makes a long subject.

use std::time::Duration;

use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType, Stream};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::kill_kv::subject_token;

/// The stream.
pub const STREAM: &str = "MW_DECISIONS";
/// Messages larger than this are not a decision (readers skip them).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest wait for one publish's acknowledgement before trying again
/// (within the team's timeout): a server lost mid-publish is retried on
/// the one the client reconnected to.
const ATTEMPT_LIMIT: Duration = Duration::from_millis(1500);

/// The subject of `case_id` of `model` in `team`'s decisions.
pub fn case_subject(team: &str, model: &str, case_id: &str) -> String {
    format!(
        "mw.{}.decision.{}.{}",
        subject_token(team),
        subject_token(model),
        subject_token(case_id)
    )
}

/// Every decision of `team`.
pub fn team_filter(team: &str) -> String {
    format!("mw.{}.decision.>", subject_token(team))
}

/// A decision as the team sees it (the message's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionMessage {
    pub model: String,
    pub case_id: String,
    /// `approve`, `override` or `escalate`.
    pub decision: String,
    /// Approve: the model's label; override: the operator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub operator: String,
    /// When it was decided (RFC 3339).
    pub at: String,
    /// The decider's audit record of it.
    pub audit_seq: u64,
    /// Unique per decision: a publish retried after a lost acknowledgement
    /// recognises its own message.
    pub decision_id: String,
}

impl DecisionMessage {
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(crate::record::safe_json::to_string(self).unwrap_or_default())
    }

    /// A message as read from the stream; `None` when it is not a decision.
    pub fn parse(bytes: &[u8]) -> Option<DecisionMessage> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return None;
        }
        let m: DecisionMessage = serde_json::from_slice(bytes).ok()?;
        matches!(m.decision.as_str(), "approve" | "override" | "escalate").then_some(m)
    }
}

/// What the cluster said to a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    /// Stored (on a quorum) at this stream sequence.
    Published { stream_seq: u64 },
    /// The case was decided first by someone else: their decision.
    AlreadyDecided {
        winner: Box<DecisionMessage>,
        stream_seq: u64,
    },
}

/// Opens the stream, creating it (file storage, replicated on up to three
/// servers) when it does not exist yet.
pub async fn open_stream(js: &Context, limit: Duration) -> Result<Stream, String> {
    let config = |replicas| Config {
        name: STREAM.to_string(),
        description: Some("modelwatch review decisions: mw.TEAM.decision.MODEL.CASE".into()),
        subjects: vec!["mw.*.decision.>".into()],
        storage: StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    };
    super::open::stream(js, config, limit).await
}

/// The decision stored on `subject`, if any, with its stream sequence.
pub async fn stored_decision(
    stream: &Stream,
    subject: &str,
) -> Result<Option<(DecisionMessage, u64)>, String> {
    use async_nats::jetstream::stream::LastRawMessageErrorKind;
    match stream.get_last_raw_message_by_subject(subject).await {
        Ok(m) => Ok(DecisionMessage::parse(&m.payload).map(|d| (d, m.sequence))),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(format!("look-up of {subject}: {e}")),
    }
}

/// Publishes `message` on `subject` unless the case is decided already,
/// waiting at most `limit` for the cluster's acknowledgement.
pub async fn publish(
    js: &Context,
    stream: &Stream,
    subject: &str,
    message: &DecisionMessage,
    limit: Duration,
) -> Result<Shared, String> {
    let deadline = tokio::time::Instant::now() + limit;
    let payload = message.to_bytes();
    let mut last_error = String::from("no acknowledgement");
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(format!(
                "not acknowledged within {}: {last_error}",
                humantime::format_duration(limit)
            ));
        }
        let attempt = async {
            let publish = PublishMessage::build()
                .payload(payload.clone())
                .expected_last_subject_sequence(0);
            js.send_publish(subject.to_string(), publish).await?.await
        };
        match tokio::time::timeout(left.min(ATTEMPT_LIMIT), attempt).await {
            Ok(Ok(ack)) => {
                return Ok(Shared::Published {
                    stream_seq: ack.sequence,
                });
            }
            Ok(Err(e)) if e.kind() == PublishErrorKind::WrongLastSequence => {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let stored =
                    tokio::time::timeout(left.max(ATTEMPT_LIMIT), stored_decision(stream, subject))
                        .await
                        .map_err(|_| {
                            format!("{subject} is decided; reading by whom got no answer")
                        })??;
                return match stored {
                    Some((stored, stream_seq)) if stored.decision_id == message.decision_id => {
                        Ok(Shared::Published { stream_seq })
                    }
                    Some((winner, stream_seq)) => Ok(Shared::AlreadyDecided {
                        winner: Box::new(winner),
                        stream_seq,
                    }),
                    None => Err(format!("{subject} holds a message that is not a decision")),
                };
            }
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = "no acknowledgement yet".into(),
        }
        // A moment for the client to reconnect before the next attempt.
        let pause = Duration::from_millis(100).min(left);
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::kill_kv::MAX_TOKEN_BYTES;

    #[test]
    fn long_names_become_short_distinct_tokens() {
        assert_eq!(subject_token("fraud@3"), "fraud=403");
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let hashed = subject_token(&long);
        assert!(hashed.starts_with('h') && hashed.len() == 65, "{hashed}");
        assert_ne!(hashed, subject_token(&"x".repeat(MAX_TOKEN_BYTES + 2)));
        // Escaping makes 30 bytes of spaces 90: hashed, not escaped.
        assert_eq!(subject_token(&" ".repeat(30)).len(), 65);
        let huge = "é".repeat(1 << 20);
        let subject = case_subject("sre", "m", &huge);
        assert!(subject.len() < 120, "{}", subject.len());
        assert_eq!(
            case_subject("sre", "ticket-router@2.1", "t-1"),
            "mw.sre.decision.ticket-router=402=2E1.t-1"
        );
        assert_eq!(team_filter("a b"), "mw.a=20b.decision.>");
        for s in [&subject, &team_filter("x.y*>")] {
            let tokens: Vec<&str> = s.split('.').collect();
            assert!(
                tokens
                    .iter()
                    .all(|t| !t.is_empty() && !t.contains([' ', '*']))
            );
        }
    }

    #[test]
    fn messages_round_trip_and_junk_is_not_a_decision() {
        let m = DecisionMessage {
            model: "m".into(),
            case_id: "c\u{1b}".into(),
            decision: "override".into(),
            label: Some("b".into()),
            operator: "alice".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
            audit_seq: 3,
            decision_id: "d1".into(),
        };
        assert_eq!(DecisionMessage::parse(&m.to_bytes()), Some(m.clone()));
        let skip = DecisionMessage {
            decision: "skip".into(),
            ..m
        };
        assert_eq!(DecisionMessage::parse(&skip.to_bytes()), None);
        assert_eq!(DecisionMessage::parse(b"approve"), None);
        assert_eq!(
            DecisionMessage::parse(&vec![b' '; MAX_MESSAGE_BYTES + 1]),
            None
        );
    }
}

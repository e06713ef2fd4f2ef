//! The team's kill switch in a JetStream key-value bucket (`MW_KILL` by
//! default): one key per team and model, `TEAM.MODEL`, holding
//! `{"state":"tripped"|"armed","model","by","at","reason","request_id"}`
//! with its history kept. A trip is a put, confirmed by the cluster's
//! acknowledgement (durable on a quorum); a reset updates the revision it
//! read, so a trip landing in between makes the reset fail instead of being
//! silently undone.
//!
//! Keys: a KV key allows `A-Za-z0-9-_=/.` and dots separate tokens, so the
//! team and the model are each written as one token: `A-Za-z0-9-_` kept,
//! every other byte of their UTF-8 as `=XX` (uppercase hex). The escape is
//! reversible, so distinct names never share a key: `fraud@3` is
//! `fraud=403`, `ticket-router@2.1` is `ticket-router=402=2E1`.

use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::kv::{Config, Store, UpdateErrorKind};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The bucket when none is configured.
pub const DEFAULT_BUCKET: &str = "MW_KILL";
/// Revisions of each key kept (the switch's recent history).
const HISTORY: i64 = 64;
/// Values larger than this are not a kill record (a watcher skips them).
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// One token of a key: `A-Za-z0-9-_` kept, any other byte as `=XX`.
pub fn token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    if out.is_empty() {
        // An empty name is never a model; still a valid, distinct token.
        out.push_str("=00");
    }
    out
}

/// Longest subject token kept escaped; a longer one is hashed.
pub const MAX_TOKEN_BYTES: usize = 64;

/// A name as one subject token of the team's streams: [`token`]'s escape,
/// or `h` and the hex SHA-256 of the name when that would be longer than
/// [`MAX_TOKEN_BYTES`] (65 bytes, so never an escaped name), so a
/// megabyte name never makes a megabyte subject.
pub fn subject_token(name: &str) -> String {
    // Escaping triples at most, so a longer name is hashed without it.
    if name.len() <= MAX_TOKEN_BYTES {
        let escaped = token(name);
        if escaped.len() <= MAX_TOKEN_BYTES {
            return escaped;
        }
    }
    format!("h{}", hex::encode(Sha256::digest(name.as_bytes())))
}

/// The key of `model` in `team`'s part of the bucket.
pub fn key_for(team: &str, model: &str) -> String {
    format!("{}.{}", token(team), token(model))
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillValue {
    /// `tripped` or `armed`.
    pub state: String,
    pub model: String,
    /// The operator.
    pub by: String,
    /// When it was requested (RFC 3339).
    pub at: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub request_id: String,
}

impl KillValue {
    fn to_bytes(&self) -> Bytes {
        Bytes::from(crate::record::safe_json::to_string(self).unwrap_or_default())
    }

    /// A value as read from the bucket; `None` when it is not a kill
    /// record (too large, not this shape).
    pub fn parse(bytes: &[u8]) -> Option<KillValue> {
        if bytes.len() > MAX_VALUE_BYTES {
            return None;
        }
        let v: KillValue = serde_json::from_slice(bytes).ok()?;
        matches!(v.state.as_str(), "tripped" | "armed").then_some(v)
    }
}

/// Why a reset did not re-arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetError {
    /// The key changed since the revision the reset was based on.
    Stale {
        expected: u64,
    },
    Other(String),
}

impl std::fmt::Display for ResetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResetError::Stale { expected } => write!(
                f,
                "refused: the key changed after revision {expected} (a trip or reset raced this one); nothing was re-armed"
            ),
            ResetError::Other(m) => f.write_str(m),
        }
    }
}

/// The bucket, opened.
#[derive(Clone)]
pub struct KillStore {
    kv: Store,
    pub bucket: String,
}

impl KillStore {
    /// Opens the bucket, creating it (file storage, history kept,
    /// replicated on up to three servers) when it does not exist yet.
    pub async fn open(client: &Client, bucket: &str, limit: Duration) -> Result<KillStore, String> {
        let js = async_nats::jetstream::new(client.clone());
        let config = |replicas| Config {
            bucket: bucket.to_string(),
            description: "modelwatch kill switch: TEAM.MODEL -> tripped|armed".into(),
            history: HISTORY,
            num_replicas: replicas,
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let kv = super::open::get_or_create(
            &format!("bucket {bucket}"),
            limit,
            || js.get_key_value(bucket),
            |replicas| js.create_key_value(config(replicas)),
        )
        .await?;
        Ok(KillStore {
            kv,
            bucket: bucket.to_string(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.kv
    }

    /// Writes `value` (a trip); resolves with the new revision once the
    /// cluster acknowledged it.
    pub async fn put(&self, key: &str, value: &KillValue) -> Result<u64, String> {
        let bytes = value.to_bytes();
        until_listening(|| self.kv.put(key, bytes.clone()))
            .await
            .map_err(|e| format!("put {key}: {e}"))
    }

    /// The key's current revision and value (`None`: never written, or
    /// deleted).
    pub async fn current(&self, key: &str) -> Result<Option<(u64, KillValue)>, String> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| format!("read {key}: {e}"))?;
        Ok(entry.and_then(|e| {
            let v = KillValue::parse(&e.value)?;
            Some((e.revision, v))
        }))
    }

    /// Writes `value` only if the key is still at `expected` (0: the key
    /// must not exist yet). A reset is built on this.
    pub async fn update(
        &self,
        key: &str,
        value: &KillValue,
        expected: u64,
    ) -> Result<u64, ResetError> {
        let bytes = value.to_bytes();
        if expected == 0 {
            until_listening(|| self.kv.create(key, bytes.clone()))
                .await
                .map_err(|e| match e.kind() {
                    async_nats::jetstream::kv::CreateErrorKind::AlreadyExists => {
                        ResetError::Stale { expected }
                    }
                    _ => ResetError::Other(format!("create {key}: {e}")),
                })
        } else {
            until_listening(|| self.kv.update(key, bytes.clone(), expected))
                .await
                .map_err(|e| match e.kind() {
                    UpdateErrorKind::WrongLastRevision => ResetError::Stale { expected },
                    _ => ResetError::Other(format!("update {key}: {e}")),
                })
        }
    }

    /// A reset: reads the key and writes `value` over exactly that
    /// revision, so a trip in between is never undone.
    pub async fn reset(&self, key: &str, value: &KillValue) -> Result<u64, ResetError> {
        let expected = self
            .current(key)
            .await
            .map_err(ResetError::Other)?
            .map_or(0, |(revision, _)| revision);
        self.update(key, value, expected).await
    }
}

/// How long a write answered "no responders" is sent again: right after a
/// bucket is created on a cluster, the server this client is on may not yet
/// know that the stream listens on the bucket's subjects.
const NOT_LISTENING_YET: Duration = Duration::from_secs(3);

/// Runs `write` again (with a short pause) while it is refused because no
/// stream listens on its subject yet, for at most [`NOT_LISTENING_YET`].
/// Nothing was stored then, so sending it again cannot write twice.
async fn until_listening<T, E, F, W>(mut write: W) -> Result<T, E>
where
    E: std::error::Error + 'static,
    F: std::future::Future<Output = Result<T, E>>,
    W: FnMut() -> F,
{
    let deadline = tokio::time::Instant::now() + NOT_LISTENING_YET;
    loop {
        match write().await {
            Err(e) if no_stream_listening(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            done => return done,
        }
    }
}

/// Whether `error` (or one it wraps) is a publish nothing answered.
fn no_stream_listening(error: &(dyn std::error::Error + 'static)) -> bool {
    use async_nats::jetstream::context::{PublishError, PublishErrorKind};
    let mut next = Some(error);
    while let Some(e) = next {
        if e.downcast_ref::<PublishError>()
            .is_some_and(|p| p.kind() == PublishErrorKind::StreamNotFound)
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_distinct_valid_key_tokens() {
        assert_eq!(token("fraud@3"), "fraud=403");
        assert_eq!(token("ticket-router@2.1"), "ticket-router=402=2E1");
        assert_eq!(token("a=b"), "a=3Db");
        assert_eq!(token(""), "=00");
        assert_eq!(key_for("sre", "fraud v3"), "sre.fraud=20v3");
        let names = [
            "fraud/v3",
            "fraud v3",
            "fraud_v3",
            "fraud=2Fv3",
            "fraud.v3",
            "é",
            "=C3=A9",
        ];
        let tokens: std::collections::HashSet<String> = names.iter().map(|n| token(n)).collect();
        assert_eq!(tokens.len(), names.len(), "{tokens:?}");
        for t in &tokens {
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b)),
                "{t}"
            );
        }
    }

    #[test]
    fn values_round_trip_and_junk_is_not_a_value() {
        let v = KillValue {
            state: "tripped".into(),
            model: "m\u{1b}".into(),
            by: "alice".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
            reason: "r".into(),
            request_id: "ks-1".into(),
        };
        assert_eq!(KillValue::parse(&v.to_bytes()), Some(v.clone()));
        assert!(
            String::from_utf8(v.to_bytes().to_vec())
                .unwrap()
                .contains("\\u001b")
        );
        assert_eq!(
            KillValue::parse(br#"{"state":"maybe","model":"m","by":"","at":""}"#),
            None
        );
        assert_eq!(KillValue::parse(b"tripped"), None);
        assert_eq!(KillValue::parse(&vec![b' '; MAX_VALUE_BYTES + 1]), None);
    }
    #[test]
    fn a_write_nothing_answered_is_told_from_other_failures() {
        use async_nats::jetstream::context::{PublishError, PublishErrorKind};
        use async_nats::jetstream::kv::{PutError, PutErrorKind, UpdateError};
        let nobody = || PublishError::new(PublishErrorKind::StreamNotFound);
        let put = PutError::with_source(PutErrorKind::Ack, nobody());
        assert!(no_stream_listening(&put));
        // An update wraps the publish error once more (kind Other).
        assert!(no_stream_listening(&UpdateError::from(nobody())));
        let raced = UpdateError::from(PublishError::new(PublishErrorKind::WrongLastSequence));
        assert!(!no_stream_listening(&raced));
        let lost = PutError::with_source(
            PutErrorKind::Ack,
            PublishError::new(PublishErrorKind::TimedOut),
        );
        assert!(!no_stream_listening(&lost));
    }
}

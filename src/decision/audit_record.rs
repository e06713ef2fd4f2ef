//! Audit records and the hash rule that chains them.
//!
//! # Record format
//! One JSON object per line (UTF-8, `\n`-terminated), keys in this order,
//! keys whose value is absent left out:
//! `seq` (1, 2, ...), `ts` (RFC 3339 UTC, milliseconds), `operator`,
//! `action` (`approve`, `override`, `escalate`, `skip`, `kill_switch_trip`,
//! `kill_switch_result`, `kill_switch_reset`, `baseline_reset`,
//! `alert_acknowledge`, `team_decision`: what the team's stream said to a
//! decision recorded just before it, `result` `published`, `already_decided`
//! or `not_published`, `detail` its stream sequence and subject), `model`, `case_id`, `shown` (what the operator saw:
//! `confidence`, `prediction` and any further keys), `label` (approve: the
//! model's label; override: the operator's), `reason` (the operator's note
//! on an override or escalation, absent when none was written; a kill-switch
//! request's reason: the note typed on the dashboard, `trip --reason`, or
//! where the request came from), `request_id` (kill switch), `result`,
//! `detail`, `prev`, and last `hash`. Every key is covered by the hash, the
//! reason too; a record without a reason (older ones among them) checks the
//! same way.
//!
//! # Hash rule
//! Let `L` be a line without its `\n`. `L` ends with
//! `,"hash":"` + 64 lowercase hex digits + `"}`. Let `B` be the bytes of
//! `L` before that `,"hash":"` (that is, the record serialised without its
//! `hash` key and without the closing `}`). Then `hash` = lowercase hex of
//! SHA-256(`B`). `prev` is the previous record's `hash`, or 64 `0`s for the
//! first record, and `seq` counts from 1 with no gap. Checking needs no
//! re-serialisation, so any tool can reproduce it:
//! `python3 -c 'import hashlib,sys; l=sys.stdin.buffer.readline().rstrip(b"\n"); b=l[:l.rindex(b",\"hash\":\"")]; print(hashlib.sha256(b).hexdigest())'`.
//!
//! The chain makes any edit, deletion or reordering detectable by
//! `verify-log`, except cutting records off the end: compare the record
//! count and last hash that `verify-log` prints with a copy kept elsewhere.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest record accepted (one line, bytes): a record is small; a longer
/// one is refused rather than letting one decision grow the log unbounded.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

const HASH_KEY: &[u8] = b",\"hash\":\"";
const HASH_TAIL_LEN: usize = HASH_KEY.len() + 64 + 2;

/// What the operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Approve,
    Override,
    Escalate,
    Skip,
    /// A trip was requested (written before any actuator runs).
    KillSwitchTrip,
    /// What the actuators reported for a trip or reset request.
    KillSwitchResult,
    /// A reset was requested (written before any actuator runs).
    KillSwitchReset,
    BaselineReset,
    AlertAcknowledge,
    /// The team's answer to the decision recorded before it (team mode).
    TeamDecision,
}

/// What the operator saw when deciding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<String>,
    /// Anything else the caller showed (index, queue time, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A record to append: the log adds `seq`, `ts`, `prev` and `hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub operator: String,
    pub action: AuditAction,
    pub model: Option<String>,
    pub case_id: Option<String>,
    pub shown: Option<Shown>,
    pub label: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub result: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEntry {
    /// An entry with only operator and action set.
    pub fn new(operator: impl Into<String>, action: AuditAction) -> Self {
        AuditEntry {
            operator: operator.into(),
            action,
            model: None,
            case_id: None,
            shown: None,
            label: None,
            reason: None,
            request_id: None,
            result: None,
            detail: None,
        }
    }
}

/// A record as written (and as read back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub ts: String,
    pub operator: String,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<Shown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    pub prev: String,
    /// Empty while the record is being hashed (and then not serialised).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl AuditRecord {
    pub fn from_entry(entry: AuditEntry, seq: u64, ts: String, prev: String) -> Self {
        AuditRecord {
            seq,
            ts,
            operator: entry.operator,
            action: entry.action,
            model: entry.model,
            case_id: entry.case_id,
            shown: entry.shown,
            label: entry.label,
            reason: entry.reason,
            request_id: entry.request_id,
            result: entry.result,
            detail: entry.detail,
            prev,
            hash: String::new(),
        }
    }

    /// Serialises the record by the hash rule, sets `hash`, and returns the
    /// line (with its `\n`).
    pub fn seal(&mut self) -> Result<Vec<u8>, String> {
        self.hash.clear();
        let mut line =
            crate::record::safe_json::to_vec(self).map_err(|e| format!("cannot encode: {e}"))?;
        // serde_json writes a compact object: drop its `}` to get B.
        if line.pop() != Some(b'}') {
            return Err("cannot encode: not an object".into());
        }
        let hash = hash_hex(&line);
        line.extend_from_slice(HASH_KEY);
        line.extend_from_slice(hash.as_bytes());
        line.extend_from_slice(b"\"}\n");
        self.hash = hash;
        Ok(line)
    }
}

/// Lowercase hex SHA-256.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The chain fields of a stored line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChainFields {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
}

/// Checks one line (without its `\n`) on its own: JSON syntax, the hash
/// rule, and that `seq`, `prev` and `hash` are well-formed.
pub fn check_line(line: &[u8]) -> Result<ChainFields, String> {
    let fields: ChainFields =
        serde_json::from_slice(line).map_err(|e| format!("not a valid record: {e}"))?;
    if line.len() < HASH_TAIL_LEN || !line.ends_with(b"\"}") {
        return Err("hash is not the last field".into());
    }
    let split = line.len() - HASH_TAIL_LEN;
    if &line[split..split + HASH_KEY.len()] != HASH_KEY {
        return Err("hash is not the last field".into());
    }
    let stored = &line[split + HASH_KEY.len()..line.len() - 2];
    if stored != fields.hash.as_bytes() || !is_hash(&fields.hash) {
        return Err("hash is not 64 lowercase hex digits".into());
    }
    if !is_hash(&fields.prev) {
        return Err("prev is not 64 lowercase hex digits".into());
    }
    let computed = hash_hex(&line[..split]);
    if computed != fields.hash {
        return Err(format!(
            "hash mismatch: the record was changed (stored {}, computed {})",
            &fields.hash[..12],
            &computed[..12]
        ));
    }
    Ok(fields)
}

pub(crate) fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditRecord {
        let mut e = AuditEntry::new("alice", AuditAction::Override);
        e.model = Some("fraud-v3".into());
        e.case_id = Some("req-1".into());
        e.label = Some("legit".into());
        e.shown = Some(Shown {
            confidence: Some(0.51),
            prediction: Some("fraud".into()),
            extra: serde_json::Map::new(),
        });
        AuditRecord::from_entry(e, 1, "2026-01-01T00:00:00.000Z".into(), GENESIS.into())
    }

    #[test]
    fn the_hash_covers_exactly_the_bytes_before_the_hash_field() {
        let mut r = sample();
        let line = r.seal().unwrap();
        let text = std::str::from_utf8(&line).unwrap();
        let expected_b = r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","operator":"alice","action":"override","model":"fraud-v3","case_id":"req-1","shown":{"confidence":0.51,"prediction":"fraud"},"label":"legit","prev":"0000000000000000000000000000000000000000000000000000000000000000""#;
        assert_eq!(
            text,
            format!(
                "{expected_b},\"hash\":\"{}\"}}\n",
                hash_hex(expected_b.as_bytes())
            )
        );
        // A known digest, so the rule cannot drift silently.
        assert_eq!(
            hash_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let fields = check_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(fields.hash, r.hash);
        let back: AuditRecord = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, r);
    }

    /// A note, however hostile, is one JSON string inside one line and
    /// covered by the hash; records without one (as older logs have them)
    /// chain with it and verify.
    #[test]
    fn a_reason_is_hashed_and_records_without_one_still_verify() {
        use crate::decision::audit::AuditLog;
        use crate::decision::verify::verify_file;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (mut log, _) = AuditLog::open(&path).unwrap();
        let note = "wrong: see \"INC-7\"\n\x1b[2J\u{202e}done";
        for reason in [None, Some(note), None] {
            let mut e = AuditEntry::new("alice", AuditAction::Escalate);
            e.case_id = Some("req-1".into());
            e.reason = reason.map(str::to_owned);
            log.append(e).unwrap();
        }
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(!lines[0].contains("\"reason\"") && !lines[2].contains("\"reason\""));
        assert!(!lines[1].contains(['\x1b', '\u{202e}']), "{}", lines[1]);
        let back: AuditRecord = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(back.reason.as_deref(), Some(note));
        assert_eq!(verify_file(&path).unwrap().map(|v| v.records), Ok(3));
        // The reason is part of what the hash covers.
        std::fs::write(&path, text.replace("INC-7", "INC-8")).unwrap();
        assert!(verify_file(&path).unwrap().is_err());
    }

    #[test]
    fn a_changed_or_reshaped_line_is_refused() {
        let mut r = sample();
        let line = r.seal().unwrap();
        let line = &line[..line.len() - 1];
        let s = std::str::from_utf8(line).unwrap();
        for bad in [
            s.replace("legit", "fraud"),
            s.replace(&r.hash, &r.hash.to_uppercase()),
            s.replacen(",\"hash\"", ",\"x\":1,\"hash\"", 1),
            format!("{s} "),
            s.replace("\"seq\":1", "\"seq\":1,\"hash\":\"x\""),
        ] {
            assert!(check_line(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

//! Each model's kill-switch state as the shared audit log records it,
//! whichever process wrote it: recovered from the whole log at start and
//! followed as records are appended (a dashboard shows a trip made by
//! `modelwatch trip` from cron within a second).
//!
//! Only kill-switch records count: a request (`kill_switch_trip` /
//! `kill_switch_reset`) means a run in progress, its `kill_switch_result`
//! says how it ended. A request whose result never came (the process died
//! mid-run) is shown as not confirmed once it is older than any run can
//! last. This is a reader, not a verifier: `verify-log` checks the chain.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::audit_record::{AuditAction, MAX_RECORD_BYTES};
use super::kill_switch::SwitchState;

/// Models whose state is kept (the log names few; a hostile one many).
const MAX_MODELS: usize = 4096;
/// A request without a result after this long is taken as not confirmed.
const STALE_RUN_MS: i64 = 60_000;

/// The last kill-switch record for a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedKill {
    pub state: SwitchState,
    /// The record's `seq`, to tell newer from older.
    pub seq: u64,
    pub operator: String,
    /// When it was recorded (RFC 3339), and as epoch ms (parsed once,
    /// when read: `get` runs per model per frame).
    pub at: String,
    pub at_ms: i64,
}

/// The fields of a record this reader needs.
#[derive(Deserialize)]
struct KillFields {
    seq: u64,
    ts: String,
    operator: String,
    action: AuditAction,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    result: Option<String>,
}

/// Follows the kill-switch records of one audit log.
#[derive(Debug)]
pub struct KillLedger {
    path: PathBuf,
    /// The file read so far (device, inode) and how far.
    file_id: Option<(u64, u64)>,
    offset: u64,
    states: HashMap<String, RecordedKill>,
}

impl KillLedger {
    pub fn new(path: &Path) -> KillLedger {
        KillLedger {
            path: path.to_path_buf(),
            file_id: None,
            offset: 0,
            states: HashMap::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what was appended since the last call (the whole log the
    /// first time, or when it was replaced or cut). A missing log is an
    /// empty one. Returns whether any model's state changed.
    pub fn refresh(&mut self) -> io::Result<bool> {
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let id = (meta.dev(), meta.ino());
        if self.file_id != Some(id) || meta.len() < self.offset {
            self.file_id = Some(id);
            self.offset = 0;
            self.states.clear();
        }
        if meta.len() == self.offset {
            return Ok(false);
        }
        self.read_from(file)
    }

    fn read_from(&mut self, mut file: File) -> io::Result<bool> {
        file.seek(SeekFrom::Start(self.offset))?;
        let mut changed = false;
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut start = 0;
            while let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
                changed |= self.take_line(&buf[start..start + i]);
                start += i + 1;
            }
            self.offset += start as u64;
            buf.drain(..start);
            // A line longer than any record is skipped, not buffered.
            if buf.len() > MAX_RECORD_BYTES {
                self.offset += buf.len() as u64;
                buf.clear();
            }
        }
        Ok(changed)
    }

    /// Applies one line; true when it changed a model's state.
    fn take_line(&mut self, line: &[u8]) -> bool {
        // Cheap filter: most records are review decisions.
        if memchr::memmem::find(line, b"\"kill_switch_").is_none() {
            return false;
        }
        let Ok(r) = serde_json::from_slice::<KillFields>(line) else {
            return false;
        };
        let state = match (r.action, r.result.as_deref()) {
            (AuditAction::KillSwitchTrip, _) => SwitchState::Tripping,
            (AuditAction::KillSwitchReset, _) => SwitchState::Resetting,
            (AuditAction::KillSwitchResult, Some("tripped")) => SwitchState::Tripped,
            (AuditAction::KillSwitchResult, Some("armed")) => SwitchState::Armed,
            (AuditAction::KillSwitchResult, Some("reset_not_confirmed")) => {
                SwitchState::ResetNotConfirmed
            }
            (AuditAction::KillSwitchResult, _) => SwitchState::NotConfirmed,
            _ => return false,
        };
        let Some(model) = r.model else {
            return false;
        };
        if self.states.len() >= MAX_MODELS && !self.states.contains_key(&model) {
            return false;
        }
        let at_ms = chrono::DateTime::parse_from_rfc3339(&r.ts)
            .map(|t| t.timestamp_millis())
            .unwrap_or(i64::MIN);
        let recorded = RecordedKill {
            state,
            seq: r.seq,
            operator: r.operator,
            at: r.ts,
            at_ms,
        };
        self.states.insert(model, recorded);
        true
    }

    /// The last recorded state of `model`'s switch at `now_ms`, if any
    /// kill-switch record names it.
    pub fn get(&self, model: &str, now_ms: i64) -> Option<RecordedKill> {
        let mut r = self.states.get(model)?.clone();
        if now_ms.saturating_sub(r.at_ms) > STALE_RUN_MS {
            r.state = match r.state {
                SwitchState::Tripping => SwitchState::NotConfirmed,
                SwitchState::Resetting => SwitchState::ResetNotConfirmed,
                other => other,
            };
        }
        Some(r)
    }

    /// Every model the log has a kill-switch record for.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::audit::AuditLog;
    use crate::decision::audit_record::AuditEntry;

    fn kill(log: &mut AuditLog, action: AuditAction, model: &str, result: Option<&str>) {
        let mut e = AuditEntry::new("op", action);
        e.model = Some(model.into());
        e.request_id = Some("r".into());
        e.result = result.map(str::to_owned);
        log.append(e).unwrap();
    }

    #[test]
    fn follows_each_models_last_kill_record_as_it_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut ledger = KillLedger::new(&path);
        assert!(!ledger.refresh().unwrap(), "no log yet is an empty log");
        let (mut log, _) = AuditLog::open(&path).unwrap();
        let now = crate::record::time::now_ms();
        kill(&mut log, AuditAction::KillSwitchTrip, "a", None);
        kill(
            &mut log,
            AuditAction::KillSwitchResult,
            "a",
            Some("tripped"),
        );
        kill(&mut log, AuditAction::KillSwitchTrip, "b", None);
        assert!(ledger.refresh().unwrap());
        assert_eq!(ledger.get("a", now).unwrap().state, SwitchState::Tripped);
        assert_eq!(ledger.get("b", now).unwrap().state, SwitchState::Tripping);
        // A run that never reported is not confirmed once it is stale.
        let later = now + STALE_RUN_MS + 5_000;
        assert_eq!(
            ledger.get("b", later).unwrap().state,
            SwitchState::NotConfirmed
        );
        assert!(!ledger.refresh().unwrap(), "nothing new");
        kill(
            &mut log,
            AuditAction::KillSwitchResult,
            "b",
            Some("not_confirmed"),
        );
        kill(&mut log, AuditAction::KillSwitchReset, "a", None);
        kill(&mut log, AuditAction::KillSwitchResult, "a", Some("armed"));
        assert!(ledger.refresh().unwrap());
        assert_eq!(ledger.get("a", now).unwrap().state, SwitchState::Armed);
        assert_eq!(
            ledger.get("b", now).unwrap().state,
            SwitchState::NotConfirmed
        );
        assert_eq!(ledger.get("c", now), None);
        // A replaced log is read again from its start.
        std::fs::remove_file(&path).unwrap();
        let (mut log, _) = AuditLog::open(&path).unwrap();
        kill(
            &mut log,
            AuditAction::KillSwitchResult,
            "c",
            Some("tripped"),
        );
        assert!(ledger.refresh().unwrap());
        assert_eq!(ledger.get("a", now), None);
        assert_eq!(ledger.get("c", now).unwrap().state, SwitchState::Tripped);
    }
}

//! What each model's switch is, as far as this process can tell: the
//! shared audit log's kill-switch records (any process's), then the flag
//! files where they can be read, then the team's kill-switch bucket (each
//! `nats_kv` actuator's, watched). A flag file that names a model as
//! tripped shows it TRIPPED whatever the log says (it is stopped); a
//! recorded trip whose flag file no longer names it is NOT CONFIRMED. The
//! bucket is the team's: a value stored after the last record here (a trip
//! or reset made on another machine, or a trip whose write was confirmed
//! late) is what the switch is, except that an `armed` there does not
//! override a flag file that still names the model.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::actuators::{flag_path_for, flag_tripped_models};
use super::kill_ledger::{KillLedger, RecordedKill};
use super::kill_switch::SwitchState;
use super::settings::{ActuatorSpec, FlagFileSpec};
use crate::team::kill_kv_watch::{KillKvWatch, KvKill};

/// Models whose flag files are read per refresh (the rest keep their last
/// reading): bounds the work of one tick.
const FLAG_READS_PER_REFRESH: usize = 256;

/// A model's switch as recorded elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKill {
    pub state: SwitchState,
    /// The audit record it comes from (0: from a flag file alone).
    pub seq: u64,
    /// Who and when, or what the flag files say against the log.
    pub note: String,
}

#[derive(Debug)]
pub struct KillWatch {
    ledger: Option<KillLedger>,
    flags: Vec<FlagFileSpec>,
    /// The last reading of the flag files: any names the model as tripped
    /// (`Some(true)`), all readable ones say not (`Some(false)`).
    flag_readings: HashMap<String, Option<bool>>,
    /// Where the next refresh's flag reads start in the models given.
    flag_cursor: usize,
    /// The team buckets of the `nats_kv` actuators.
    buckets: Vec<KillKvWatch>,
}

/// One watch for everything in a process that shows the switches: the
/// dashboard or the `--no-tui` loop refreshes it, the metrics read it, so
/// each bucket is watched, and the audit log read, once.
#[derive(Debug, Clone)]
pub struct SharedKillWatch(Arc<Mutex<KillWatch>>);

impl SharedKillWatch {
    pub fn new(watch: KillWatch) -> Self {
        SharedKillWatch(Arc::new(Mutex::new(watch)))
    }

    pub fn lock(&self) -> MutexGuard<'_, KillWatch> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KillWatch {
    /// Follows `audit_log` (when there is one) and the flag-file actuators.
    pub fn new(audit_log: Option<&Path>, actuators: &[ActuatorSpec]) -> KillWatch {
        KillWatch {
            ledger: audit_log.map(KillLedger::new),
            flags: actuators
                .iter()
                .filter_map(|a| match a {
                    ActuatorSpec::FlagFile(f) => Some(f.clone()),
                    _ => None,
                })
                .collect(),
            flag_readings: HashMap::new(),
            flag_cursor: 0,
            buckets: actuators.iter().filter_map(watch_bucket).collect(),
        }
    }

    /// Reads new audit records and the flag files of (some of) `models`;
    /// true when anything changed. A log that cannot be read is logged and
    /// read again next time.
    pub fn refresh(&mut self, models: &[String]) -> bool {
        let mut changed = false;
        for bucket in &self.buckets {
            changed |= bucket.take_changed();
        }
        if let Some(ledger) = &mut self.ledger {
            match ledger.refresh() {
                Ok(c) => changed |= c,
                Err(e) => tracing::warn!(log = %ledger.path().display(), error = %e,
                    "cannot read the audit log's kill-switch records"),
            }
        }
        if self.flags.is_empty() || models.is_empty() {
            return changed;
        }
        let n = models.len().min(FLAG_READS_PER_REFRESH);
        // One read per file, however many models share it.
        let mut files = HashMap::new();
        for i in 0..n {
            let model = &models[(self.flag_cursor + i) % models.len()];
            let reading = self.read_flags(model, &mut files);
            if self.flag_readings.get(model) != Some(&reading) {
                changed = true;
                if self.flag_readings.len() < 4096 || self.flag_readings.contains_key(model) {
                    self.flag_readings.insert(model.clone(), reading);
                }
            }
        }
        self.flag_cursor = (self.flag_cursor + n) % models.len();
        changed
    }

    /// What the flag files say of `model`; `files` keeps each file's
    /// reading for the rest of this refresh.
    fn read_flags(
        &self,
        model: &str,
        files: &mut HashMap<PathBuf, Option<BTreeSet<String>>>,
    ) -> Option<bool> {
        let readings: Vec<Option<bool>> = self
            .flags
            .iter()
            .map(|f| {
                let path = flag_path_for(f, model);
                files
                    .entry(path)
                    .or_insert_with_key(|p| flag_tripped_models(p))
                    .as_ref()
                    .map(|set| set.contains(model))
            })
            .collect();
        if readings.contains(&Some(true)) {
            Some(true)
        } else if readings.contains(&Some(false)) {
            Some(false)
        } else {
            None
        }
    }

    /// The switch of `model` as recorded, `None` when nothing names it.
    pub fn get(&self, model: &str, now_ms: i64) -> Option<KnownKill> {
        let recorded = self.ledger.as_ref().and_then(|l| l.get(model, now_ms));
        let recorded_ms = recorded.as_ref().map_or(i64::MIN, |r| r.at_ms);
        let local = self.get_local(model, recorded);
        let team = self
            .buckets
            .iter()
            .filter_map(|b| b.get(model).map(|k| (b.bucket.as_str(), k)))
            .max_by_key(|(_, k)| k.stored_ms);
        let Some((bucket, kv)) = team else {
            return local;
        };
        let flag_tripped = self.flag_readings.get(model).copied().flatten() == Some(true);
        let kv_armed = kv.value.state != "tripped";
        if kv.stored_ms <= recorded_ms || (kv_armed && flag_tripped) {
            return local;
        }
        Some(from_bucket(bucket, &kv, local.map_or(0, |k| k.seq)))
    }

    /// What the audit log (`recorded`, its last record of `model`) and the
    /// flag files say.
    fn get_local(&self, model: &str, recorded: Option<RecordedKill>) -> Option<KnownKill> {
        let flag = self.flag_readings.get(model).copied().flatten();
        match (recorded, flag) {
            (Some(r), Some(false)) if r.state == SwitchState::Tripped => Some(KnownKill {
                state: SwitchState::NotConfirmed,
                seq: r.seq,
                note: format!(
                    "tripped by {} at {}, but no flag file names it any more: the model may be running",
                    r.operator, r.at
                ),
            }),
            (Some(r), Some(true))
                if matches!(r.state, SwitchState::Armed | SwitchState::ResetNotConfirmed) =>
            {
                Some(flag_tripped(r.seq))
            }
            (Some(r), _) => Some(KnownKill {
                state: r.state,
                seq: r.seq,
                note: format!("{} by {} at {}", r.state.as_str(), r.operator, r.at),
            }),
            (None, Some(true)) => Some(flag_tripped(0)),
            (None, _) => None,
        }
    }

    /// Every model the audit log or a team bucket has a kill-switch
    /// record for.
    /// The models recorded here (see [`KillWatch::recorded_models`]) that
    /// `known` does not know, sorted, at most `MAX_MODELS` (bounded like the
    /// engine's own).
    pub fn recorded_beside(&self, known: impl Fn(&str) -> bool) -> Vec<String> {
        self.recorded_models()
            .into_iter()
            .filter(|n| !known(n))
            .take(crate::engine::MAX_MODELS)
            .collect()
    }

    pub fn recorded_models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .ledger
            .as_ref()
            .map(|l| l.models().map(str::to_owned).collect())
            .unwrap_or_default();
        for bucket in &self.buckets {
            models.extend(bucket.models());
        }
        models.sort();
        models.dedup();
        models
    }
}

/// A watch on a `nats_kv` actuator's bucket (inside a tokio runtime; the
/// actuator's settings were checked when the config was read).
fn watch_bucket(spec: &ActuatorSpec) -> Option<KillKvWatch> {
    let ActuatorSpec::NatsKv(kv) = spec else {
        return None;
    };
    tokio::runtime::Handle::try_current().ok()?;
    let link = crate::team::link::Link::prepare(
        &kv.url,
        kv.credentials_file.as_deref(),
        kv.ca_file.clone(),
    )
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the team's kill-switch bucket"))
    .ok()?;
    Some(KillKvWatch::start(link, kv.bucket.clone(), kv.team.clone()))
}

fn from_bucket(bucket: &str, kv: &KvKill, seq: u64) -> KnownKill {
    let v = &kv.value;
    KnownKill {
        state: if v.state == "tripped" {
            SwitchState::Tripped
        } else {
            SwitchState::Armed
        },
        seq,
        note: format!(
            "{} by {} at {} (team bucket {bucket}, revision {})",
            v.state, v.by, v.at, kv.revision
        ),
    }
}

fn flag_tripped(seq: u64) -> KnownKill {
    KnownKill {
        state: SwitchState::Tripped,
        seq,
        note: "a flag file names it as tripped".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_watch_reports_each_change_once() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("killed");
        let spec = ActuatorSpec::FlagFile(FlagFileSpec::from_path(flag.clone()));
        let shared = SharedKillWatch::new(KillWatch::new(None, &[spec]));
        let models = ["m".to_string()];
        assert!(shared.lock().refresh(&models), "the first reading is news");
        assert!(!shared.lock().refresh(&models));
        // The flag file becomes unreadable: a change, found once, through
        // any handle.
        std::fs::create_dir(&flag).unwrap();
        let other = shared.clone();
        assert!(other.lock().refresh(&models));
        assert!(!shared.lock().refresh(&models));
    }
}

//! A watch on the team's kill-switch bucket, kept by every process
//! configured with it: the last value of each of the team's keys, then
//! every change as the cluster delivers it (milliseconds after the put).
//! It runs as a task of its own, reconnecting (with backoff) and watching
//! anew when the link is lost; readers take a copy under a short lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::kv::Operation;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::kill_kv::{KillStore, KillValue, key_for, token};
use super::link::Link;
use crate::backoff::Backoff;

/// Models kept (a team names few; a hostile writer many).
const MAX_MODELS: usize = 4096;

/// What the bucket says of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvKill {
    pub value: KillValue,
    pub revision: u64,
    /// When the cluster stored it (epoch ms).
    pub stored_ms: i64,
}

#[derive(Default)]
struct Watched {
    /// By model name.
    kills: HashMap<String, KvKill>,
    /// Key → model, to apply deletes.
    keys: HashMap<String, String>,
    changed: bool,
}

/// The watch; dropping it stops the task.
pub struct KillKvWatch {
    shared: Arc<Mutex<Watched>>,
    task: JoinHandle<()>,
    pub bucket: String,
}

impl std::fmt::Debug for KillKvWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillKvWatch")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl KillKvWatch {
    /// Starts watching `team`'s keys of `bucket` (call inside a tokio
    /// runtime).
    pub fn start(link: Link, bucket: String, team: String) -> KillKvWatch {
        let shared = Arc::new(Mutex::new(Watched::default()));
        let task = tokio::spawn(watch_loop(link, bucket.clone(), team, Arc::clone(&shared)));
        KillKvWatch {
            shared,
            task,
            bucket,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watched> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether anything changed since the last call.
    pub fn take_changed(&self) -> bool {
        std::mem::take(&mut self.lock().changed)
    }

    /// What the bucket says of `model`, if anything.
    pub fn get(&self, model: &str) -> Option<KvKill> {
        self.lock().kills.get(model).cloned()
    }

    /// Every model the bucket has a key for.
    pub fn models(&self) -> Vec<String> {
        self.lock().kills.keys().cloned().collect()
    }
}

impl Drop for KillKvWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch_loop(link: Link, bucket: String, team: String, shared: Arc<Mutex<Watched>>) {
    let pattern = format!("{}.>", token(&team));
    let mut backoff = Backoff::new(link.reconnect_initial, link.reconnect_max);
    loop {
        let trouble = match watch_once(&link, &bucket, &team, &pattern, &shared, &mut backoff).await
        {
            Ok(()) => "the watch ended".to_string(),
            Err(e) => e,
        };
        tracing::warn!(bucket = %bucket, error = %trouble, "kill-switch bucket watch interrupted");
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// One connection's watch, until it fails; the reconnect `backoff` starts
/// again once the watch runs.
async fn watch_once(
    link: &Link,
    bucket: &str,
    team: &str,
    pattern: &str,
    shared: &Arc<Mutex<Watched>>,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let client = link.connect(None).await.map_err(|e| e.to_string())?;
    let store = KillStore::open(&client, bucket, Duration::from_secs(10)).await?;
    let mut watch = store
        .store()
        .watch_with_history(pattern)
        .await
        .map_err(|e| format!("watch {bucket}: {e}"))?;
    backoff.reset();
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| format!("watch {bucket}: {e}"))?;
        let mut w = shared.lock().unwrap_or_else(|e| e.into_inner());
        match entry.operation {
            Operation::Put => {
                // A value is about the model its key names: one stored
                // under another model's key would stand in for that one
                // (and a delete of its key would erase the other's state).
                let Some(value) =
                    KillValue::parse(&entry.value).filter(|v| entry.key == key_for(team, &v.model))
                else {
                    tracing::debug!(key = %entry.key, "not a kill-switch value for its key; skipped");
                    continue;
                };
                let model = value.model.clone();
                let full = (w.kills.len() >= MAX_MODELS && !w.kills.contains_key(&model))
                    || (w.keys.len() >= 2 * MAX_MODELS && !w.keys.contains_key(&entry.key));
                if full {
                    continue;
                }
                let stored_ms = (entry.created.unix_timestamp_nanos() / 1_000_000) as i64;
                w.keys.insert(entry.key.clone(), model.clone());
                w.kills.insert(
                    model,
                    KvKill {
                        value,
                        revision: entry.revision,
                        stored_ms,
                    },
                );
            }
            Operation::Delete | Operation::Purge => {
                if let Some(model) = w.keys.remove(&entry.key) {
                    w.kills.remove(&model);
                }
            }
        }
        w.changed = true;
    }
    Ok(())
}

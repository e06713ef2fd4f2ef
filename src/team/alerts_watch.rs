//! Every process of a team reads `MW_ALERTS` for the team's
//! acknowledgements: the last [`LOOK_BACK`] messages of the stream at start
//! (the acknowledgements of the alerts active now), then each new one as the
//! cluster delivers it. It runs as a task of its own with an ordered
//! consumer, reconnecting (with backoff) and reading anew when the link is
//! lost; what it learnt is a bounded set of acknowledged alerts, read under
//! a short lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::alerts::{AlertKey, RETRY_MAX, TeamAlert, TeamEvent, open_stream, team_subjects};
use super::link::{Link, ordered_messages};
use crate::backoff::Backoff;
use crate::engine::alerts::AlertKind;
use crate::record::malformed::MAX_NAME_BYTES;

/// Messages of the stream read back at start.
pub const LOOK_BACK: u64 = 10_000;
/// Acknowledged alerts remembered (the oldest are forgotten first).
const MAX_ACKED: usize = 10_000;
/// Longest model name an event can carry (`model@version`).
const MAX_MODEL_BYTES: usize = 2 * MAX_NAME_BYTES + 1;
/// Longest wait for the stream to open.
const OPEN_LIMIT: Duration = Duration::from_secs(10);

/// The alerts the team acknowledged, as far as this process knows.
#[derive(Debug, Default)]
pub struct AckedAlerts {
    /// `(kind, index)` by model, and of the input's alerts.
    models: HashMap<String, HashSet<(AlertKind, u64)>>,
    input: HashSet<(AlertKind, u64)>,
    order: VecDeque<AlertKey>,
    /// Bumped by every alert learnt.
    pub generation: u64,
}

impl AckedAlerts {
    /// The acknowledged `(kind, index)`s of `model` (`None`: the input).
    pub fn of_model(&self, model: Option<&str>) -> Option<&HashSet<(AlertKind, u64)>> {
        match model {
            Some(name) => self.models.get(name),
            None => Some(&self.input),
        }
    }

    pub fn contains(&self, key: &AlertKey) -> bool {
        self.of_model(key.model.as_deref())
            .is_some_and(|s| s.contains(&(key.kind, key.index)))
    }

    /// Takes in a message of the stream: an acknowledgement is remembered
    /// (unless it names a model no process can watch); true when new.
    pub fn learn(&mut self, message: &TeamAlert) -> bool {
        let watchable = message
            .model
            .as_ref()
            .is_none_or(|m| m.len() <= MAX_MODEL_BYTES);
        message.event == TeamEvent::Acknowledged && watchable && self.insert(message.key())
    }

    /// Remembers `key` as acknowledged; false when it already was.
    pub fn insert(&mut self, key: AlertKey) -> bool {
        let set = match &key.model {
            Some(name) => self.models.entry(name.clone()).or_default(),
            None => &mut self.input,
        };
        if !set.insert((key.kind, key.index)) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > MAX_ACKED
            && let Some(old) = self.order.pop_front()
        {
            match &old.model {
                Some(name) => {
                    if let Some(set) = self.models.get_mut(name) {
                        set.remove(&(old.kind, old.index));
                        if set.is_empty() {
                            self.models.remove(name);
                        }
                    }
                }
                None => {
                    self.input.remove(&(old.kind, old.index));
                }
            }
        }
        self.generation += 1;
        true
    }
}

/// The watch; dropping it stops the task.
pub struct AckWatch {
    acked: Arc<Mutex<AckedAlerts>>,
    task: JoinHandle<()>,
}

impl AckWatch {
    /// Starts reading `team`'s messages (inside a tokio runtime).
    pub fn start(link: Link, team: &str) -> AckWatch {
        let acked = Arc::new(Mutex::new(AckedAlerts::default()));
        let task = tokio::spawn(watch_loop(link, team_subjects(team), Arc::clone(&acked)));
        AckWatch { acked, task }
    }

    /// What the team acknowledged; alerts acknowledged here are added too.
    pub fn lock(&self) -> MutexGuard<'_, AckedAlerts> {
        self.acked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for AckWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch_loop(link: Link, subjects: String, acked: Arc<Mutex<AckedAlerts>>) {
    let mut backoff = Backoff::new(link.reconnect_initial, RETRY_MAX);
    loop {
        let ended = watch_once(&link, &subjects, &acked, &mut backoff).await;
        let trouble = ended.map_or_else(|e| link.scrub(e), |()| "the consumer ended".into());
        tracing::warn!(stream = super::alerts::STREAM, error = %trouble, "team alerts watch interrupted");
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// One connection's reading, until it fails; the reconnect `backoff`
/// starts again once it reads.
async fn watch_once(
    link: &Link,
    subjects: &str,
    acked: &Arc<Mutex<AckedAlerts>>,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let client = link.connect(None).await.map_err(|e| e.to_string())?;
    let stream = open_stream(&client, OPEN_LIMIT).await?;
    let last = stream.cached_info().state.last_sequence;
    let config = OrderedConfig {
        filter_subject: subjects.to_string(),
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: last.saturating_sub(LOOK_BACK) + 1,
        },
        ..Default::default()
    };
    let made = tokio::time::timeout(OPEN_LIMIT, ordered_messages(&stream, config)).await;
    let mut messages = match made {
        Ok(Ok(messages)) => messages,
        Ok(Err(e)) => return Err(format!("consumer on {subjects}: {e}")),
        Err(_) => return Err(format!("consumer on {subjects}: no answer from JetStream")),
    };
    backoff.reset();
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| format!("consumer on {subjects}: {e}"))?;
        match TeamAlert::parse(&message.payload) {
            Some(alert) => {
                acked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .learn(&alert);
            }
            None => tracing::debug!(subject = %message.subject, "not a team alert; skipped"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(model: Option<&str>, index: u64) -> AlertKey {
        AlertKey {
            model: model.map(str::to_string),
            kind: AlertKind::ConfidenceDrift,
            index,
        }
    }

    #[test]
    fn acknowledged_alerts_are_kept_by_identity_and_bounded() {
        let mut acked = AckedAlerts::default();
        assert!(acked.insert(key(Some("m"), 1)));
        assert!(!acked.insert(key(Some("m"), 1)), "once");
        assert!(acked.insert(key(None, 1)));
        assert_eq!(acked.generation, 2);
        assert!(acked.contains(&key(Some("m"), 1)));
        assert!(acked.contains(&key(None, 1)));
        assert!(!acked.contains(&key(Some("m"), 2)));
        assert!(!acked.contains(&key(Some("n"), 1)));
        let ack = |model: &str| TeamAlert::acknowledgement(&key(Some(model), 5), "carol", 0);
        assert!(acked.learn(&ack("m")));
        assert!(
            !acked.learn(&ack(&"m".repeat(MAX_MODEL_BYTES + 1))),
            "no such model"
        );
        let mut fired = ack("m");
        fired.index = 6;
        fired.event = TeamEvent::Fired;
        assert!(!acked.learn(&fired), "only acknowledgements");
        assert!(!acked.contains(&key(Some("m"), 6)));
        for i in 0..MAX_ACKED as u64 {
            acked.insert(key(Some("x"), i));
        }
        assert!(!acked.contains(&key(Some("m"), 1)), "the oldest forgotten");
        assert!(acked.of_model(Some("m")).is_none());
        assert!(acked.contains(&key(Some("x"), 0)));
        assert_eq!(acked.order.len(), MAX_ACKED);
    }
}

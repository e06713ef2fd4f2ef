//! A process's part in the team's alerts: its alert transitions published
//! (the engine's tap offers them to the publisher's queue, never waiting)
//! and acknowledgements kept in step both ways, once a second on the
//! session's loop: an alert acknowledged here is published as acknowledged,
//! and an alert the team acknowledged elsewhere is acknowledged here. The
//! engine is scanned only when something changed (an acknowledgement here
//! or learnt, or a transition).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::alerts::{AlertKey, TeamAlert};
use super::alerts_publish::{AlertPublisher, PublishQueue};
use super::alerts_watch::AckWatch;
use super::settings::Team;
use crate::engine::{Engine, TransitionTap};
use crate::record::time::now_ms;

/// The team's alerts, publishing and watching.
pub struct TeamAlerts {
    publisher: AlertPublisher,
    watch: Arc<AckWatch>,
    /// Who raises and acknowledges here (the operator's name).
    by: String,
    /// Transitions seen by the tap (a new alert may be one the team
    /// acknowledged already).
    transitions: Arc<AtomicU64>,
}

impl TeamAlerts {
    /// Starts publishing and watching `team`'s alerts (inside a tokio
    /// runtime); `by` names this operator in what is published.
    pub fn start(team: &Team, by: &str) -> TeamAlerts {
        TeamAlerts {
            publisher: AlertPublisher::start(team.link.clone(), &team.name, team.timeout),
            watch: Arc::new(AckWatch::start(team.link.clone(), &team.name)),
            by: by.to_string(),
            transitions: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The engine's tap: offers each shared transition to the queue.
    pub fn tap(&self) -> TransitionTap {
        let queue = self.publisher.queue();
        let by = self.by.clone();
        let transitions = Arc::clone(&self.transitions);
        Box::new(move |transition, alert| {
            transitions.fetch_add(1, Ordering::Relaxed);
            if let Some(message) = TeamAlert::transition(transition, alert, &by, now_ms()) {
                queue.offer(&message);
            }
        })
    }

    /// Keeps the engine's acknowledgements in step with the team's.
    pub fn ack_sync(&self) -> AckSync {
        AckSync {
            queue: self.publisher.queue(),
            watch: Arc::clone(&self.watch),
            by: self.by.clone(),
            transitions: Arc::clone(&self.transitions),
            seen: None,
        }
    }

    pub fn queue(&self) -> Arc<PublishQueue> {
        self.publisher.queue()
    }

    /// Publishes what waits for at most `grace`, then stops.
    pub async fn finish(self, grace: Duration) {
        self.publisher.finish(grace).await;
    }
}

/// See [`AckSync::apply`].
pub struct AckSync {
    queue: Arc<PublishQueue>,
    watch: Arc<AckWatch>,
    by: String,
    transitions: Arc<AtomicU64>,
    /// What the last scan saw: the engine's acknowledgements, the team's,
    /// and the transitions.
    seen: Option<(u64, u64, u64)>,
}

impl AckSync {
    /// Publishes the acknowledgements made here and applies those made
    /// elsewhere (matched by the alert's identity, not its id).
    pub fn apply(&mut self, engine: &mut Engine) {
        let mut acked = self.watch.lock();
        let stamp = (
            engine.acknowledgements(),
            acked.generation,
            self.transitions.load(Ordering::Relaxed),
        );
        if self.seen == Some(stamp) {
            return;
        }
        let models = engine.models().iter().map(|m| &m.alerts);
        let logs = std::iter::once(engine.input_alerts()).chain(models);
        let (mut to_acknowledge, mut to_publish) = (Vec::new(), Vec::new());
        for log in logs {
            let Some(first) = log.alerts.first() else {
                continue;
            };
            // One log is one scope: one model, or the input.
            let team_acked = acked.of_model(first.model.as_deref());
            for alert in &log.alerts {
                let known = team_acked.is_some_and(|s| s.contains(&(alert.kind, alert.index)));
                match (alert.acknowledged, known) {
                    (false, true) => to_acknowledge.push(alert.id),
                    (true, false) => to_publish.push(AlertKey::of(alert)),
                    _ => {}
                }
            }
        }
        let now = now_ms();
        for key in to_publish {
            self.queue
                .offer(&TeamAlert::acknowledgement(&key, &self.by, now));
            acked.insert(key);
        }
        for id in to_acknowledge {
            engine.acknowledge_alert(id);
        }
        self.seen = Some((engine.acknowledgements(), acked.generation, stamp.2));
    }
}

//! Alert hooks (`[[alerts.hook]]`): every alert transition — fired,
//! escalated, cleared — delivered to a webhook (a generic JSON body or
//! Alertmanager's `/api/v2/alerts`) or a command, in every mode (the
//! dashboard, `watch --no-tui`, `agent`).
//!
//! The engine's transition tap offers each transition to every hook's
//! bounded queue and returns at once; each hook delivers on a task of its
//! own (`worker`), so a hook that hangs or fails never delays ingest or the
//! kill switch. A sink beside `report`: it reads transitions, never
//! changes the engine.

pub mod command;
pub mod event;
pub mod queue;
pub mod settings;
mod webhook;
mod worker;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::engine::TransitionTap;
use crate::engine::alerts::Transition;
use crate::record::time::now_ms;
use command::CommandHook;
use event::{Alertmanager, HookEvent};
use queue::HookQueue;
use settings::{BodyFormat, HookSpec, HookTarget};
use webhook::Webhook;
use worker::{RetryPolicy, Worker};

/// Firing times remembered for Alertmanager's `startsAt` (active alerts;
/// the engine has far fewer).
const FIRED_REMEMBERED: usize = 10_000;

/// Why one attempt failed, and whether another may do better.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub retry: bool,
}

impl Failure {
    pub fn retry(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            retry: true,
        }
    }

    /// Not worth another try (the receiver refused it, or it cannot run).
    pub fn refused(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            retry: false,
        }
    }
}

/// Where one hook delivers.
#[derive(Debug)]
pub enum Target {
    /// With Alertmanager's body builder for that format.
    Webhook(Webhook, Option<Alertmanager>),
    Command(CommandHook),
}

impl Target {
    fn prepare(spec: &HookSpec, global_ca: Option<&Path>) -> Result<Target, String> {
        Ok(match &spec.target {
            HookTarget::Webhook(w) => Target::Webhook(
                Webhook::prepare(w, spec.timeout, global_ca)?,
                (w.format == BodyFormat::Alertmanager).then(|| Alertmanager {
                    labels: w.labels.clone(),
                    resend: w.resend,
                }),
            ),
            HookTarget::Command(c) => {
                Target::Command(CommandHook::new(c.argv.clone(), spec.timeout))
            }
        })
    }

    /// How often active alerts are sent again, if they are.
    fn resend(&self) -> Option<Duration> {
        match self {
            Target::Webhook(_, Some(am)) if !am.resend.is_zero() => Some(am.resend),
            _ => None,
        }
    }

    fn shown(&self) -> String {
        match self {
            Target::Webhook(w, _) => w.shown.clone(),
            Target::Command(c) => c.shown(),
        }
    }

    async fn send(&self, event: &HookEvent) -> Result<String, Failure> {
        match self {
            Target::Webhook(w, None) => w.post(event.json.clone(), Some(&event.delivery_id)).await,
            Target::Webhook(w, Some(am)) => w.post(am.body(event), Some(&event.delivery_id)).await,
            Target::Command(c) => c.run(event).await,
        }
    }
}

/// The configured hooks, delivering.
pub struct HookSet {
    queues: Vec<Arc<HookQueue>>,
    workers: Vec<JoinHandle<()>>,
    /// Names this process's transitions apart from another's.
    instance: String,
}

impl HookSet {
    /// Prepares every hook (expanding its secrets: a missing variable is
    /// an error naming the hook) and starts its worker. Inside a runtime.
    pub fn start(specs: &[HookSpec], global_ca: Option<&Path>) -> Result<HookSet, String> {
        let mut queues = Vec::with_capacity(specs.len());
        let mut workers = Vec::with_capacity(specs.len());
        let prepared = specs
            .iter()
            .map(|s| {
                Target::prepare(s, global_ca).map_err(|e| format!("alerts.hook {}: {e}", s.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (spec, target) in specs.iter().zip(prepared) {
            let queue = Arc::new(HookQueue::new(
                &spec.name,
                spec.queue_items,
                spec.queue_bytes,
                target.resend().is_some(),
            ));
            tracing::info!(hook = %spec.name, target = %target.shown(), "alert hook ready");
            let policy = RetryPolicy {
                attempts: spec.attempts,
                backoff: spec.backoff,
                backoff_max: spec.backoff_max,
            };
            workers.push(tokio::spawn(
                Worker::new(Arc::clone(&queue), target, policy).run(),
            ));
            queues.push(queue);
        }
        Ok(HookSet {
            queues,
            workers,
            instance: format!("{}-{:x}", std::process::id(), now_ms()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Each hook's queue and counts (for the metrics).
    pub fn queues(&self) -> Vec<Arc<HookQueue>> {
        self.queues.clone()
    }

    /// The engine's tap: offers each transition to every hook, never waits.
    pub fn tap(&self) -> TransitionTap {
        let queues = self.queues.clone();
        let instance = self.instance.clone();
        let mut fired_at: HashMap<u64, i64> = HashMap::new();
        Box::new(move |transition, alert| {
            let now = now_ms();
            let fired = match transition {
                Transition::Fired => {
                    // Remembered until the clear; an event has none.
                    if alert.is_active() && fired_at.len() < FIRED_REMEMBERED {
                        fired_at.insert(alert.id, now);
                    }
                    now
                }
                Transition::Escalated | Transition::Updated => {
                    fired_at.get(&alert.id).copied().unwrap_or(now)
                }
                Transition::Cleared => fired_at.remove(&alert.id).unwrap_or(now),
            };
            let event = Arc::new(HookEvent::new(transition, alert, fired, now, &instance));
            for q in &queues {
                q.offer(Arc::clone(&event));
            }
        })
    }

    /// Ends the session's deliveries: what waits is delivered for at most
    /// `grace`, then given up (logged with how much was left).
    pub async fn finish(self, grace: Duration) {
        self.queues.iter().for_each(|q| q.close());
        let mut workers = self.workers;
        let all = async {
            for w in &mut workers {
                let _ = w.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            for (w, q) in workers.iter().zip(&self.queues) {
                if !w.is_finished() {
                    tracing::warn!(hook = %q.stats.name,
                        left = queue::HookStats::count(&q.stats.queued),
                        "alert hook still delivering at exit: given up");
                }
                w.abort();
            }
        }
    }
}

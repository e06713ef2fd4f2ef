//! One hook's deliveries, on a task of their own: transitions in the order
//! the engine made them (so an alert's fired always goes before its
//! clear), one at a time, each retried with exponential backoff and jitter
//! up to its attempts, each delivered once (a transition already delivered
//! is never sent again); Alertmanager's active alerts resent while idle.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Target;
use super::event::{Alertmanager, HookEvent, transition_name};
use super::queue::{HookQueue, HookStats, Taken};
use crate::backoff::Backoff;
use crate::record::time::now_ms;

/// Delivery ids remembered to deliver each transition once.
const REMEMBERED: usize = 4096;

/// How a hook retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
}

pub struct Worker {
    pub queue: Arc<HookQueue>,
    pub target: Target,
    pub policy: RetryPolicy,
    delivered: HashSet<String>,
    delivered_order: VecDeque<String>,
}

impl Worker {
    pub fn new(queue: Arc<HookQueue>, target: Target, policy: RetryPolicy) -> Self {
        Worker {
            queue,
            target,
            policy,
            delivered: HashSet::new(),
            delivered_order: VecDeque::new(),
        }
    }

    /// Delivers until the queue is closed and empty.
    pub async fn run(mut self) {
        let resend = self.target.resend();
        let mut resend_at = resend.map(|every| Instant::now() + every);
        loop {
            match self.queue.try_take() {
                Some(Taken::Event(event)) => self.deliver(&event).await,
                Some(Taken::Closed) => return,
                None => {
                    tokio::select! {
                        () = self.queue.woken() => {}
                        () = sleep_until(resend_at) => {
                            self.resend().await;
                            resend_at = resend.map(|every| Instant::now() + every);
                        }
                    }
                }
            }
        }
    }

    async fn deliver(&mut self, event: &HookEvent) {
        if self.delivered.contains(&event.delivery_id) {
            return;
        }
        let stats = &self.queue.stats;
        let mut backoff = Backoff::new(self.policy.backoff, self.policy.backoff_max);
        let mut attempt = 1;
        let outcome = loop {
            match self.target.send(event).await {
                Ok(answer) => break Ok(answer),
                Err(f) if f.retry && attempt < self.policy.attempts => {
                    tracing::debug!(hook = %stats.name, alert = event.alert_id, attempt,
                        error = %f.message, "alert hook delivery failed; retrying");
                    HookStats::add(&stats.retries, 1);
                    attempt += 1;
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(f) => break Err(f),
            }
        };
        match outcome {
            Ok(answer) => {
                HookStats::add(&stats.delivered, 1);
                tracing::info!(hook = %stats.name, alert = event.alert_id,
                    kind = event.kind.as_str(), state = transition_name(event.transition),
                    attempts = attempt, %answer, "alert hook delivered");
                self.remember(event.delivery_id.clone());
            }
            Err(f) => {
                HookStats::add(&stats.failed, 1);
                tracing::warn!(hook = %stats.name, alert = event.alert_id,
                    kind = event.kind.as_str(), state = transition_name(event.transition),
                    attempts = attempt, error = %f.message, "alert hook delivery given up");
            }
        }
    }

    fn remember(&mut self, id: String) {
        if self.delivered_order.len() == REMEMBERED
            && let Some(old) = self.delivered_order.pop_front()
        {
            self.delivered.remove(&old);
        }
        self.delivered.insert(id.clone());
        self.delivered_order.push_back(id);
    }

    /// Sends every active alert again, once (the next resend retries).
    async fn resend(&mut self) {
        let Target::Webhook(hook, Some(am)) = &self.target else {
            return;
        };
        let active = self.queue.active();
        if active.is_empty() {
            return;
        }
        let events: Vec<&HookEvent> = active.iter().map(Arc::as_ref).collect();
        let body = Alertmanager::resend_body(am, &events, now_ms());
        let stats = &self.queue.stats;
        match hook.post(body, None).await {
            Ok(_) => HookStats::add(&stats.resent, active.len() as u64),
            Err(f) => tracing::warn!(hook = %stats.name, error = %f.message,
                "alert hook: sending the active alerts again failed"),
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::{Severity, Transition};
    use crate::hooks::command::CommandHook;

    fn event(transition: Transition) -> Arc<HookEvent> {
        let alert = crate::hooks::event::tests::alert(4, Severity::Critical, Some("m"));
        Arc::new(HookEvent::new(transition, &alert, 1, 2, "t"))
    }

    #[tokio::test]
    async fn each_transition_is_delivered_once_in_order_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // Fails its first run, then appends what it is given.
        let script =
            r#"if [ -e "$1.failed" ]; then cat >> "$1"; else touch "$1.failed"; exit 3; fi"#;
        let argv = ["/bin/sh", "-c", script, "sh"]
            .map(String::from)
            .into_iter()
            .chain([out.display().to_string()])
            .collect();
        let target = Target::Command(CommandHook::new(argv, Duration::from_secs(10)));
        let queue = Arc::new(HookQueue::new("t", 10, 1 << 20, false));
        let (fired, cleared) = (event(Transition::Fired), event(Transition::Cleared));
        for e in [&fired, &fired, &cleared] {
            assert!(queue.offer(Arc::clone(e)));
        }
        queue.close();
        let policy = RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
        };
        Worker::new(Arc::clone(&queue), target, policy).run().await;
        let text = std::fs::read_to_string(&out).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["delivery_id"].to_string()
            })
            .collect();
        assert_eq!(ids, ["\"t-4-fired\"", "\"t-4-cleared\""]);
        let stats = &queue.stats;
        assert_eq!(HookStats::count(&stats.delivered), 2);
        assert_eq!(HookStats::count(&stats.retries), 1);
        assert_eq!(HookStats::count(&stats.failed), 0);
    }
}

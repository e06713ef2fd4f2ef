//! What waits for one hook: a queue bounded in items and bytes
//! (`bounded_queue`) that the engine's tap offers to without ever waiting
//! (a full queue drops the new transition, counted and logged), and the
//! alerts active as the engine last said (what a resend repeats, so a
//! dropped clear still ends them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::event::HookEvent;
use crate::bounded_queue::{BoundedQueue, Head, Weighed};
use crate::engine::alerts::Transition;

/// Most alerts remembered as active (the engine has far fewer).
const MAX_ACTIVE: usize = 10_000;

/// A hook's counts, read by the metrics.
#[derive(Debug, Default)]
pub struct HookStats {
    pub name: String,
    /// Transitions delivered, given up after every attempt (or refused),
    /// and dropped because the queue was full.
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    /// Attempts after a failed one.
    pub retries: AtomicU64,
    /// Active alerts sent again (Alertmanager).
    pub resent: AtomicU64,
    /// Transitions waiting now.
    pub queued: AtomicU64,
}

impl HookStats {
    pub fn count(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl Weighed for Arc<HookEvent> {
    fn bytes(&self) -> usize {
        HookEvent::bytes(self)
    }
}

/// Shared by the tap (offers) and the hook's worker (takes).
#[derive(Debug)]
pub struct HookQueue {
    waiting: BoundedQueue<Arc<HookEvent>>,
    /// The alerts active as the engine last said, when tracked (a hook
    /// that resends them).
    active: Mutex<BTreeMap<u64, Arc<HookEvent>>>,
    track_active: bool,
    pub stats: HookStats,
}

/// What the worker takes next.
#[derive(Debug)]
pub enum Taken {
    Event(Arc<HookEvent>),
    /// Nothing waits and the session is over.
    Closed,
}

impl HookQueue {
    pub fn new(name: &str, max_items: usize, max_bytes: usize, track_active: bool) -> Self {
        HookQueue {
            waiting: BoundedQueue::new(max_items, max_bytes),
            active: Mutex::new(BTreeMap::new()),
            track_active,
            stats: HookStats {
                name: name.to_string(),
                ..HookStats::default()
            },
        }
    }

    fn active_map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<HookEvent>>> {
        // A panic elsewhere never stops deliveries.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` unless the queue is full (then it is dropped,
    /// counted and logged); never waits. False when dropped.
    pub fn offer(&self, event: Arc<HookEvent>) -> bool {
        if self.track_active {
            let mut active = self.active_map();
            match event.transition {
                Transition::Cleared => {
                    active.remove(&event.alert_id);
                }
                // An event (fired already over) is sent once, never again.
                _ if !event.ongoing => {}
                _ if active.len() < MAX_ACTIVE || active.contains_key(&event.alert_id) => {
                    active.insert(event.alert_id, event.clone());
                }
                _ => {}
            }
        }
        match self.waiting.offer(event) {
            Ok(queued) => {
                self.stats.queued.store(queued as u64, Ordering::Relaxed);
                true
            }
            // After the session: nothing more is delivered, nothing lost.
            Err(refused) if refused.closed => false,
            Err(full) => {
                HookStats::add(&self.stats.dropped, 1);
                if full.log_due {
                    tracing::warn!(hook = %self.stats.name,
                        dropped_total = HookStats::count(&self.stats.dropped),
                        queued = full.queued, queued_bytes = full.queued_bytes,
                        "alert hook queue full: transition dropped");
                }
                false
            }
        }
    }

    /// The next transition, or `None` when nothing waits.
    pub fn try_take(&self) -> Option<Taken> {
        let taken = match self.waiting.take() {
            Head::Item(event) => Some(Taken::Event(event)),
            Head::Closed => Some(Taken::Closed),
            Head::Idle => None,
        };
        self.stats
            .queued
            .store(self.waiting.len() as u64, Ordering::Relaxed);
        taken
    }

    /// Resolves once something was offered (or the queue closed) since the
    /// last wake-up.
    pub async fn woken(&self) {
        self.waiting.woken().await;
    }

    /// No more offers: the worker delivers what waits, then ends.
    pub fn close(&self) {
        self.waiting.close();
    }

    /// The alerts active as the engine last said, oldest first.
    pub fn active(&self) -> Vec<Arc<HookEvent>> {
        self.active_map().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::{Alert, AlertKind, Severity};

    fn event(id: u64, transition: Transition, detail_bytes: usize) -> Arc<HookEvent> {
        let alert = Alert {
            id,
            model: Some("m".into()),
            kind: AlertKind::Silence,
            severity: Severity::Warning,
            direction: None,
            index: 1,
            ts_ms: 1,
            breaching_since: 1,
            detail: "x".repeat(detail_bytes),
            names: None,
            cleared_index: None,
            cleared_ts_ms: None,
            acknowledged: false,
        };
        Arc::new(HookEvent::new(transition, &alert, 1, 1, "t"))
    }

    #[test]
    fn a_full_queue_drops_new_transitions_by_items_and_by_bytes() {
        let q = HookQueue::new("h", 2, 1 << 20, false);
        assert!(q.offer(event(1, Transition::Fired, 10)));
        assert!(q.offer(event(2, Transition::Fired, 10)));
        assert!(!q.offer(event(3, Transition::Fired, 10)));
        assert_eq!(HookStats::count(&q.stats.dropped), 1);
        assert_eq!(HookStats::count(&q.stats.queued), 2);
        let Some(Taken::Event(first)) = q.try_take() else {
            panic!("nothing taken")
        };
        assert_eq!(first.alert_id, 1, "first in, first out");

        let (a, b, c) = (
            event(1, Transition::Fired, 3000),
            event(2, Transition::Fired, 1000),
            event(3, Transition::Fired, 3000),
        );
        let q = HookQueue::new("h", 100, a.bytes() + b.bytes() + c.bytes() - 1, false);
        assert!(q.offer(a));
        assert!(q.offer(b));
        assert!(!q.offer(Arc::clone(&c)), "over the bytes");
        q.try_take();
        q.try_take();
        assert!(q.try_take().is_none());
        assert!(q.offer(c), "the bytes came back");
        q.close();
        assert!(matches!(q.try_take(), Some(Taken::Event(_))));
        assert!(matches!(q.try_take(), Some(Taken::Closed)));
    }

    #[test]
    fn a_dropped_clear_still_ends_the_active_alert() {
        let q = HookQueue::new("h", 1, 1 << 20, true);
        assert!(q.offer(event(1, Transition::Fired, 1)));
        assert_eq!(q.active().len(), 1);
        assert!(!q.offer(event(1, Transition::Cleared, 1)), "queue full");
        assert!(q.active().is_empty());
        // An alert that fires already over (a change point) is never active.
        let q = HookQueue::new("h", 10, 1 << 20, true);
        let mut over = (*event(2, Transition::Fired, 1)).clone();
        over.ongoing = false;
        assert!(q.offer(Arc::new(over)));
        assert!(q.active().is_empty());
    }
}

//! A queue between producers that must never wait (the engine's alert tap)
//! and one consumer task (a hook's deliveries, the team's alert publishing):
//! bounded in items and in bytes, an offer to a full or closed queue refused
//! at once, the consumer woken by every offer.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::record::time::now_ms;

/// Least time between two log lines about the same trouble.
const LOG_EVERY_MS: i64 = 10_000;

/// Whether a rate-limited log line (one per ten seconds) is due now; notes
/// it in `last`.
pub(crate) fn log_due(last: &mut Option<i64>) -> bool {
    let now = now_ms();
    let due = last.is_none_or(|t| now - t >= LOG_EVERY_MS);
    if due {
        *last = Some(now);
    }
    due
}

/// What an item costs the queue's byte bound.
pub trait Weighed {
    fn bytes(&self) -> usize;
}

#[derive(Debug)]
struct Waiting<T> {
    items: VecDeque<T>,
    bytes: usize,
    closed: bool,
    last_refusal_log_ms: Option<i64>,
}

#[derive(Debug)]
pub struct BoundedQueue<T> {
    waiting: Mutex<Waiting<T>>,
    max_items: usize,
    max_bytes: usize,
    wake: Notify,
}

/// The head of the queue.
#[derive(Debug, PartialEq)]
pub enum Head<T> {
    Item(T),
    /// Nothing waits now.
    Idle,
    /// Nothing waits and no more will come.
    Closed,
}

/// An offer refused: closed, or else full as it was, and whether a log
/// line about it is due (at most one every ten seconds).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub closed: bool,
    pub queued: usize,
    pub queued_bytes: usize,
    pub log_due: bool,
}

impl<T: Weighed + Clone> BoundedQueue<T> {
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        BoundedQueue {
            waiting: Mutex::new(Waiting {
                items: VecDeque::new(),
                bytes: 0,
                closed: false,
                last_refusal_log_ms: None,
            }),
            max_items: max_items.max(1),
            max_bytes,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting<T>> {
        // A panic elsewhere never stops the consumer.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` unless the queue is full or closed; never waits.
    /// How many wait now, or why not.
    pub fn offer(&self, item: T) -> Result<usize, Refused> {
        let size = item.bytes();
        let mut w = self.lock();
        if w.closed || w.items.len() >= self.max_items || w.bytes + size > self.max_bytes {
            return Err(Refused {
                closed: w.closed,
                queued: w.items.len(),
                queued_bytes: w.bytes,
                log_due: log_due(&mut w.last_refusal_log_ms),
            });
        }
        w.bytes += size;
        w.items.push_back(item);
        let queued = w.items.len();
        drop(w);
        self.wake.notify_one();
        Ok(queued)
    }

    /// The oldest item, left in the queue (see [`BoundedQueue::pop`]).
    pub fn front(&self) -> Head<T> {
        let w = self.lock();
        match w.items.front() {
            Some(item) => Head::Item(item.clone()),
            None if w.closed => Head::Closed,
            None => Head::Idle,
        }
    }

    /// Takes the oldest item out.
    pub fn take(&self) -> Head<T> {
        let mut w = self.lock();
        match w.items.pop_front() {
            Some(item) => {
                w.bytes = w.bytes.saturating_sub(item.bytes());
                Head::Item(item)
            }
            None if w.closed => Head::Closed,
            None => Head::Idle,
        }
    }

    /// Drops the oldest item (done with what [`BoundedQueue::front`] gave).
    pub fn pop(&self) {
        let _ = self.take();
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once something was offered (or the queue closed) since the
    /// last wake-up.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// No more offers: the consumer takes what waits, then sees `Closed`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Sized(usize);

    impl Weighed for Sized {
        fn bytes(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn bounded_by_items_and_by_bytes_first_in_first_out() {
        let q = BoundedQueue::new(2, 1 << 20);
        assert_eq!(q.offer(Sized(1)), Ok(1));
        assert_eq!(q.offer(Sized(2)), Ok(2));
        let refused = q.offer(Sized(3)).unwrap_err();
        assert_eq!((refused.queued, refused.queued_bytes), (2, 3));
        assert!(refused.log_due);
        assert!(
            !q.offer(Sized(3)).unwrap_err().log_due,
            "one line per ten seconds"
        );
        assert_eq!(q.front(), Head::Item(Sized(1)));
        assert_eq!(q.take(), Head::Item(Sized(1)));

        let q = BoundedQueue::new(100, 6_999);
        assert!(q.offer(Sized(3_000)).is_ok());
        assert!(q.offer(Sized(1_000)).is_ok());
        assert!(q.offer(Sized(3_000)).is_err(), "over the bytes");
        q.pop();
        q.pop();
        assert_eq!(q.take(), Head::Idle);
        assert!(q.offer(Sized(3_000)).is_ok(), "the bytes came back");
        q.close();
        assert!(q.offer(Sized(1)).is_err(), "closed");
        assert_eq!(q.take(), Head::Item(Sized(3_000)));
        assert_eq!(q.take(), Head::Closed);
        assert!(q.is_empty());
    }
}

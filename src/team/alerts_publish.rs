//! Publishing the team's alert messages to `MW_ALERTS` without ever making
//! ingest or the kill switch wait: offers go into a queue bounded in items
//! and bytes (a full queue drops the new message, counted and logged), and
//! one task publishes them in order, each until the cluster acknowledged it
//! (a duplicate the stream already holds counts as done), retrying with
//! capped backoff while the cluster is unreachable. At exit what waits gets
//! a short grace, then is given up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::Client;
use async_nats::header::{HeaderMap, NATS_MESSAGE_ID};
use bytes::Bytes;
use tokio::task::JoinHandle;

use super::alerts::{RETRY_MAX, TeamAlert, open_stream, subject};
use super::link::Link;
use crate::backoff::reconnect_delay;
use crate::bounded_queue::{BoundedQueue, Head, Weighed, log_due};

/// Messages waiting, at most (a team's alerts are few; a flapping fleet
/// while the cluster is away is not unbounded).
pub const QUEUE_ITEMS: usize = 4096;
/// Bytes waiting, at most.
pub const QUEUE_BYTES: usize = 4 << 20;

/// The publisher's counts.
#[derive(Debug, Default)]
pub struct PublishStats {
    /// Stored by the stream; already there (another dashboard's, or an
    /// earlier attempt's); dropped because the queue was full.
    pub published: AtomicU64,
    pub duplicates: AtomicU64,
    pub dropped: AtomicU64,
    /// Attempts that failed (each retried).
    pub failures: AtomicU64,
}

impl PublishStats {
    pub fn count(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One message ready to go.
#[derive(Debug)]
struct Outgoing {
    subject: String,
    msg_id: String,
    payload: Bytes,
}

impl Weighed for Arc<Outgoing> {
    fn bytes(&self) -> usize {
        self.subject.len() + self.msg_id.len() + self.payload.len()
    }
}

/// Shared by the offers (the engine's tap, the acknowledgements) and the
/// publishing task.
#[derive(Debug)]
pub struct PublishQueue {
    waiting: BoundedQueue<Arc<Outgoing>>,
    team: String,
    pub stats: PublishStats,
}

impl PublishQueue {
    pub fn new(team: &str, max_items: usize, max_bytes: usize) -> PublishQueue {
        PublishQueue {
            waiting: BoundedQueue::new(max_items, max_bytes),
            team: team.to_string(),
            stats: PublishStats::default(),
        }
    }

    /// Queues `message` unless the queue is full (then it is dropped,
    /// counted and logged); never waits. False when dropped.
    pub fn offer(&self, message: &TeamAlert) -> bool {
        let out = Arc::new(Outgoing {
            subject: subject(&self.team, message.model.as_deref()),
            msg_id: message.msg_id(&self.team),
            payload: Bytes::from(message.to_bytes()),
        });
        match self.waiting.offer(out) {
            Ok(_) => true,
            Err(full) => {
                PublishStats::add(&self.stats.dropped);
                if full.log_due {
                    tracing::warn!(
                        stream = super::alerts::STREAM,
                        dropped_total = PublishStats::count(&self.stats.dropped),
                        queued = full.queued,
                        queued_bytes = full.queued_bytes,
                        "team alert queue full: message dropped"
                    );
                }
                false
            }
        }
    }

    /// Messages waiting now.
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }
}

/// The publishing task and its queue.
pub struct AlertPublisher {
    queue: Arc<PublishQueue>,
    task: JoinHandle<()>,
}

impl AlertPublisher {
    /// Starts publishing `team`'s messages through `link`, each waiting at
    /// most `timeout` for the cluster's acknowledgement (inside a tokio
    /// runtime).
    pub fn start(link: Link, team: &str, timeout: Duration) -> AlertPublisher {
        let queue = Arc::new(PublishQueue::new(team, QUEUE_ITEMS, QUEUE_BYTES));
        let task = tokio::spawn(publish_loop(Arc::clone(&queue), link, timeout));
        AlertPublisher { queue, task }
    }

    pub fn queue(&self) -> Arc<PublishQueue> {
        Arc::clone(&self.queue)
    }

    /// Publishes what waits for at most `grace`, then gives it up (logged
    /// with how much was left).
    pub async fn finish(self, grace: Duration) {
        self.queue.waiting.close();
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            tracing::warn!(
                stream = super::alerts::STREAM,
                left = self.queue.queued(),
                "team alerts still waiting to be published at exit: given up"
            );
        }
    }
}

async fn publish_loop(queue: Arc<PublishQueue>, link: Link, timeout: Duration) {
    let mut client: Option<Client> = None;
    let mut stream_ready = false;
    let mut failures = 0usize;
    let mut last_log_ms = None;
    loop {
        let out = match queue.waiting.front() {
            Head::Item(out) => out,
            Head::Closed => return,
            Head::Idle => {
                queue.waiting.woken().await;
                continue;
            }
        };
        match publish(&mut client, &mut stream_ready, &link, timeout, &out).await {
            Ok(duplicate) => {
                queue.waiting.pop();
                let stats = &queue.stats;
                PublishStats::add(if duplicate {
                    &stats.duplicates
                } else {
                    &stats.published
                });
                if failures > 0 {
                    tracing::info!(
                        stream = super::alerts::STREAM,
                        "team alerts published again"
                    );
                }
                failures = 0;
            }
            Err(e) => {
                PublishStats::add(&queue.stats.failures);
                failures += 1;
                if log_due(&mut last_log_ms) {
                    tracing::warn!(stream = super::alerts::STREAM, error = %link.scrub(e),
                        queued = queue.queued(), "team alert not published yet: retrying");
                }
                let delay = reconnect_delay(link.reconnect_initial, RETRY_MAX, failures);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One attempt: connects (once; the client reconnects by itself after),
/// makes sure the stream exists, publishes and waits for the ack. Whether
/// the stream already held the message.
async fn publish(
    client: &mut Option<Client>,
    stream_ready: &mut bool,
    link: &Link,
    timeout: Duration,
    out: &Outgoing,
) -> Result<bool, String> {
    let client = match client {
        Some(c) => c,
        None => client.insert(link.connect(None).await.map_err(|e| e.to_string())?),
    };
    if !*stream_ready {
        open_stream(client, timeout).await?;
        *stream_ready = true;
    }
    let js = async_nats::jetstream::new(client.clone());
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, out.msg_id.as_str());
    let acked = tokio::time::timeout(timeout, async {
        js.publish_with_headers(out.subject.clone(), headers, out.payload.clone())
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let failed = match acked {
        Ok(Ok(ack)) => return Ok(ack.duplicate),
        Ok(Err(e)) => e,
        Err(_) => format!(
            "no acknowledgement within {}",
            humantime::format_duration(timeout)
        ),
    };
    // The stream may be gone (a cluster made anew): look again next time.
    *stream_ready = false;
    Err(format!("publish {}: {failed}", out.subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::AlertKind;
    use crate::team::alerts::AlertKey;

    fn ack(index: u64) -> TeamAlert {
        let key = AlertKey {
            model: Some("m".into()),
            kind: AlertKind::Silence,
            index,
        };
        TeamAlert::acknowledgement(&key, "alice", 0)
    }

    #[test]
    fn a_full_queue_drops_new_messages_by_items_and_by_bytes() {
        let q = PublishQueue::new("sre", 2, 1 << 20);
        assert!(q.offer(&ack(1)));
        assert!(q.offer(&ack(2)));
        assert!(!q.offer(&ack(3)));
        assert_eq!(PublishStats::count(&q.stats.dropped), 1);
        let Head::Item(first) = q.waiting.front() else {
            panic!("nothing waits")
        };
        assert_eq!(first.msg_id, "sre.m.silence.1.acknowledged");
        assert_eq!(first.subject, "mw.sre.alert.m");
        q.waiting.pop();
        assert!(q.offer(&ack(3)), "room again");

        let one = ack(1);
        let size = one.to_bytes().len() + "mw.sre.alert.m".len() + one.msg_id("sre").len();
        let q = PublishQueue::new("sre", 100, 2 * size);
        assert!(q.offer(&ack(1)));
        assert!(q.offer(&ack(2)));
        assert!(!q.offer(&ack(3)), "over the bytes");
        q.waiting.pop();
        assert!(q.offer(&ack(3)), "the bytes came back");
        q.waiting.close();
        assert!(!q.offer(&ack(4)), "closed");
        q.waiting.pop();
        q.waiting.pop();
        assert!(matches!(q.waiting.front(), Head::Closed));
    }
}

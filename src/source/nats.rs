//! A NATS source (`nats://host:port/SUBJECT`, `tls://...`; wildcards `*`
//! and `>`): connects (retrying with backoff until the first connection,
//! after which the client reconnects by itself), then reads the subject.
//!
//! * When a JetStream stream captures the subject, an ordered consumer
//!   reads it: from the stream's first message with `--from-start`, else
//!   from the messages after the start. Nothing is lost: fetching pauses
//!   while the queue is full, and when the consumer fails (its server was
//!   lost, a gap) it is made again after the last message read.
//! * Otherwise a core subscription: it never stops reading (a publisher is
//!   never pushed back on); lines wait in a queue bounded in bytes
//!   (`[sources.nats] queue_bytes`) and only a full queue drops them, counted
//!   in `dropped`, as does a message the client itself dropped for a slow
//!   consumer.
//! * Each message is one JSON line or several separated by newlines, with
//!   a websocket message's caps (`max_message_bytes`, `--max-line-bytes`).
//! * Status: `connected` (subscribed), `reconnecting` with the time of the
//!   next attempt, `failed` with the reason after credentials or the
//!   certificate were refused (retried after the longest delay);
//!   `reconnects` counts connections re-established.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::{Client, Event, Subscriber};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use super::batching::BATCH_LINES;
use super::nats_inbound::NatsInbound;
use super::status::{Reporter, sleep_until_opt};
use super::{SourceEvent, SourceOptions, SourceState};
use crate::backoff::Backoff;
use crate::record::Parser;
use crate::record::time::now_ms;
use crate::team::link::{Link, LinkError};

/// Connection events waiting for the source, at most.
const EVENT_QUEUE: usize = 64;
/// Longest wait for a JetStream request (which stream, a consumer).
const JS_TIMEOUT: Duration = Duration::from_secs(5);

/// A NATS source ready to connect.
pub(crate) struct NatsTarget {
    pub link: Link,
    pub subject: String,
}

/// A configured NATS source.
pub(crate) struct NatsSource {
    pub id: super::SourceId,
    pub link: Link,
    pub subject: String,
    pub options: Arc<SourceOptions>,
    pub parser: Arc<Parser>,
}

/// Prepares a source: the URL, the credentials file and `--ca-file` are
/// checked now (one clear error instead of a reconnect loop).
pub(crate) fn prepare(
    url: &str,
    options: &SourceOptions,
) -> Result<NatsTarget, super::SourceError> {
    let settings = &options.settings.nats;
    let fail = |message: String| super::SourceError {
        source: crate::team::nats_url::NatsUrl::parse(url)
            .map(|u| u.name)
            .unwrap_or_else(|_| super::settings::redact_url(url)),
        message,
    };
    let mut link = Link::prepare(
        url,
        settings.credentials_file.as_deref(),
        options.ca_file.clone(),
    )
    .map_err(fail)?;
    let Some(subject) = link.url.subject.clone() else {
        return Err(fail(
            "a NATS source names its subject: nats://host:port/SUBJECT".into(),
        ));
    };
    let ms = Duration::from_millis;
    link.connect_timeout = ms(settings.connect_timeout_ms.get());
    link.reconnect_initial = ms(settings.reconnect_initial_ms.get());
    link.reconnect_max = ms(settings.reconnect_max_ms.get());
    Ok(NatsTarget { link, subject })
}

/// What the source reads from.
enum Reader {
    Core(Subscriber),
    Stream {
        name: String,
        messages: Box<Ordered>,
        /// The sequence a new consumer starts after: the last read, or
        /// where this one started (`None`: from a time, nothing read yet).
        last: Option<u64>,
    },
}

/// The source's task: connect, subscribe, read, until shutdown.
pub(crate) async fn run(
    source: NatsSource,
    tx: mpsc::Sender<SourceEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = source.link.url.name.clone();
    let mut reporter = Reporter::new(source.id, name.clone(), tx.clone());
    let mut inbound = NatsInbound::new(&source);
    let (events_tx, mut events) = mpsc::channel(EVENT_QUEUE);
    let Some(client) = first_connection(&source, events_tx, &mut reporter, &mut shutdown).await
    else {
        return;
    };
    let mut reader = None;
    let mut retry_at: Option<Instant> = None;
    // A stream's last sequence read, once a consumer failed.
    let mut resume_after: Option<u64> = None;
    // `--since` from the start, not from each consumer made again.
    let since = source.options.since.map(start_time);
    // Subscribing again after a failure: a refusal that lasts (a
    // permission, JetStream not answering) is asked less and less often.
    let mut resubscribe = Backoff::new(source.link.reconnect_initial, source.link.reconnect_max);
    loop {
        if reader.is_none() && retry_at.is_none_or(|t| t <= Instant::now()) {
            match subscribe(&client, &source, &mut inbound, resume_after, since).await {
                Ok(r) => {
                    reporter.set_state(SourceState::Connected);
                    reporter.status.last_error = None;
                    reader = Some(r);
                    retry_at = None;
                    resubscribe.reset();
                }
                Err(reason) => {
                    tracing::warn!(source = %name, %reason, "NATS subscription failed; retrying");
                    reporter.status.last_error = Some(reason);
                    retry_at = Some(Instant::now() + resubscribe.next_delay());
                }
            }
        }
        let reading = reader.is_some() && inbound.wants_more();
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            permit = tx.reserve(), if !inbound.queue.is_empty() => match permit {
                Ok(permit) => inbound.queue.send(permit),
                Err(_) => return,
            },
            Some(event) = events.recv() => {
                let back = on_event(event, &source.link, &mut reporter, &mut inbound);
                // Reconnected (perhaps to another node): the consumer is
                // made again after the last message read at once, rather
                // than when its missing heartbeats show it lost (30 s). A
                // core subscription the client renews by itself.
                if back && let Some(Reader::Stream { last, .. }) = &reader {
                    resume_after = *last;
                    reader = None;
                    retry_at = None;
                }
            }
            lost = next_burst(reader.as_mut(), &mut inbound), if reading => {
                if let Some(reason) = lost {
                    // The consumer failed (its server went away, a gap):
                    // made again after the last message read.
                    tracing::info!(source = %name, %reason, "NATS reader ended; resubscribing");
                    reporter.status.last_error = Some(reason);
                    if let Some(Reader::Stream { last, .. }) = reader.take() {
                        resume_after = last;
                    }
                    retry_at = Some(Instant::now() + resubscribe.next_delay());
                }
            }
            _ = sleep_until_opt(retry_at), if reader.is_none() => {}
            _ = sleep_until_opt(reporter.next_due()) => {}
        }
        inbound.sync(&mut reporter);
        if reporter.try_flush().is_err() {
            return;
        }
    }
}

/// Connects, retrying with backoff (the longest delay after a refusal);
/// `None` when the source is to stop.
async fn first_connection(
    source: &NatsSource,
    events: mpsc::Sender<Event>,
    reporter: &mut Reporter,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Client> {
    let link = &source.link;
    let mut backoff = Backoff::new(link.reconnect_initial, link.reconnect_max);
    loop {
        let _ = reporter.try_flush();
        let attempt = link.connect(Some(events.clone()));
        let result = tokio::select! {
            r = attempt => r,
            _ = shutdown.changed() => return None,
        };
        let delay = match result {
            Ok(client) => return Some(client),
            Err(LinkError::Refused(reason)) => {
                tracing::warn!(source = %link.url.name, %reason, "NATS refused the connection");
                reporter.set_state(SourceState::Failed(reason.clone()));
                reporter.status.last_error = Some(reason);
                backoff.cap_delay()
            }
            Err(LinkError::Other(reason)) => {
                tracing::debug!(source = %link.url.name, %reason, "NATS connection failed");
                let delay = backoff.next_delay();
                reporter.set_state(SourceState::Reconnecting {
                    at_ms: now_ms() + delay.as_millis() as i64,
                });
                reporter.status.last_error = Some(reason);
                delay
            }
        };
        if reporter.try_flush().is_err() {
            return None;
        }
        let wake = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = sleep_until(wake) => break,
                _ = shutdown.changed() => return None,
                _ = sleep_until_opt(reporter.next_due()) => {
                    if reporter.try_flush().is_err() { return None }
                }
            }
        }
    }
}

/// The client's connection events into the status; true when the client
/// came back after losing its server.
fn on_event(event: Event, link: &Link, reporter: &mut Reporter, inbound: &mut NatsInbound) -> bool {
    match event {
        Event::Connected => {
            if matches!(reporter.status.state, SourceState::Reconnecting { .. }) {
                reporter.status.reconnects += 1;
                reporter.set_state(SourceState::Connected);
                return true;
            }
        }
        Event::Disconnected => {
            tracing::warn!(source = %link.url.name, "NATS disconnected; the client reconnects");
            reporter.status.last_error = Some("disconnected".into());
            reporter.set_state(SourceState::Reconnecting {
                at_ms: link.next_attempt_ms().max(now_ms()),
            });
        }
        Event::SlowConsumer(_) => {
            tracing::warn!(source = %link.url.name, "NATS client dropped messages for a slow consumer");
            inbound.slow_consumer();
        }
        Event::ServerError(e) => reporter.status.last_error = Some(link.scrub(e.to_string())),
        Event::ClientError(e) => reporter.status.last_error = Some(link.scrub(e.to_string())),
        Event::LameDuckMode | Event::Draining | Event::Closed => {}
    }
    false
}

/// `since` before now, as JetStream takes a start time.
fn start_time(since: std::time::Duration) -> time::OffsetDateTime {
    let now = i128::from(now_ms()) * 1_000_000;
    let nanos = now.saturating_sub(since.as_nanos().try_into().unwrap_or(i128::MAX));
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// An ordered consumer when a JetStream stream captures the subject, else a
/// core subscription.
async fn subscribe(
    client: &Client,
    source: &NatsSource,
    inbound: &mut NatsInbound,
    resume_after: Option<u64>,
    since: Option<time::OffsetDateTime>,
) -> Result<Reader, String> {
    let js = async_nats::jetstream::new(client.clone());
    let subject = &source.subject;
    let found = tokio::time::timeout(JS_TIMEOUT, js.stream_by_subject(subject.clone())).await;
    let stream_name = match found {
        Ok(Ok(name)) => name,
        // No stream (or no JetStream on the server): a core subscription.
        Ok(Err(e)) => {
            tracing::info!(subject = %subject, reason = %e, "no JetStream stream captures the subject: core subscription");
            inbound.lossless = false;
            let sub = client
                .subscribe(subject.clone())
                .await
                .map_err(|e| format!("subscribe {subject}: {e}"))?;
            // A round trip: the server has the subscription before the
            // status says connected.
            tokio::time::timeout(JS_TIMEOUT, client.flush())
                .await
                .map_err(|_| "no answer from the server".to_string())?
                .map_err(|e| format!("subscribe {subject}: {e}"))?;
            return Ok(Reader::Core(sub));
        }
        Err(_) => return Err("no answer from JetStream".into()),
    };
    let made = tokio::time::timeout(JS_TIMEOUT, async {
        let stream = js
            .get_stream(&stream_name)
            .await
            .map_err(|e| e.to_string())?;
        let (deliver_policy, after) = match resume_after {
            Some(last) => (
                DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                },
                Some(last),
            ),
            None if source.options.from_start => (DeliverPolicy::All, Some(0)),
            None if let Some(start_time) = since => {
                (DeliverPolicy::ByStartTime { start_time }, None)
            }
            // "New" anchored at the stream's end now, so that a consumer made
            // again later starts where this one would have.
            None => {
                let end = stream.cached_info().state.last_sequence;
                let start_sequence = end + 1;
                (DeliverPolicy::ByStartSequence { start_sequence }, Some(end))
            }
        };
        let config = OrderedConfig {
            filter_subject: subject.clone(),
            deliver_policy,
            ..Default::default()
        };
        let messages = crate::team::link::ordered_messages(&stream, config).await?;
        Ok::<_, String>((messages, after))
    })
    .await;
    match made {
        Ok(Ok((messages, last))) => {
            tracing::info!(subject = %subject, stream = %stream_name, "reading a JetStream stream");
            inbound.lossless = true;
            Ok(Reader::Stream {
                name: stream_name,
                messages: Box::new(messages),
                last,
            })
        }
        Ok(Err(e)) => Err(format!("stream {stream_name}: {e}")),
        Err(_) => Err(format!("stream {stream_name}: no answer from JetStream")),
    }
}

/// Reads the next message and whatever else already arrived, up to
/// [`BATCH_LINES`] lines (then hand-overs and events get their turn).
/// `Some(reason)` when the reader ended and must be made again.
async fn next_burst(reader: Option<&mut Reader>, inbound: &mut NatsInbound) -> Option<String> {
    let reader = reader?;
    let before = inbound.lines_taken();
    let mut first = true;
    loop {
        let lost = match reader {
            Reader::Core(sub) => {
                let next = if first {
                    Some(sub.next().await)
                } else {
                    sub.next().now_or_never()
                };
                match next {
                    None => return None,
                    Some(Some(m)) => {
                        inbound.message(&m.payload);
                        None
                    }
                    Some(None) => Some("the subscription ended".to_string()),
                }
            }
            Reader::Stream {
                name,
                messages,
                last,
            } => {
                let next = if first {
                    Some(messages.next().await)
                } else {
                    messages.next().now_or_never()
                };
                match next {
                    None => return None,
                    Some(Some(Ok(m))) => {
                        if let Ok(info) = m.info() {
                            *last = Some(info.stream_sequence);
                        }
                        inbound.message(&m.payload);
                        None
                    }
                    Some(Some(Err(e))) => Some(format!("stream {name}: {e}")),
                    Some(None) => Some(format!("stream {name}: the consumer ended")),
                }
            }
        };
        if lost.is_some() {
            return lost;
        }
        first = false;
        if inbound.lines_taken() - before >= BATCH_LINES as u64 || !inbound.wants_more() {
            return None;
        }
    }
}

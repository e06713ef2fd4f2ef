//! A dashboard's link to its team's decisions: one task keeps a connection
//! to the cluster, consumes every new decision of the team (a consumer on
//! `mw.TEAM.decision.>`, milliseconds after the publish, made anew from
//! where it stopped when its server is lost); look-ups of single cases and
//! decisions are run from tasks of their own, the outcomes of decisions
//! handed back through [`TeamDecisions::next_done`]. The dashboard reads
//! what was seen under a short lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::Client;
use async_nats::connection::State;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::decisions::{
    DecisionMessage, Shared, case_subject, open_stream, publish, stored_decision, team_filter,
};
use super::decisions_seen::{SeenDecision, SeenDecisions};
use super::link::Link;
use super::settings::Team;
use crate::backoff::Backoff;

/// Bytes of decided cases remembered.
const SEEN_BYTES: usize = 4 << 20;
/// Decisions waiting for the dashboard to apply them, at most (older ones
/// are still found by the look-up when their case is shown).
const MAX_NEWS: usize = 4096;
/// Look-ups in flight, at most (more are dropped: the case on screen is
/// looked up again a moment later).
const MAX_LOOKUPS: usize = 16;
/// Longest wait for a look-up's answer.
const LOOKUP_LIMIT: Duration = Duration::from_secs(2);

/// The outcome of publishing a decision.
#[derive(Debug)]
pub struct SharedDone {
    pub subject: String,
    pub result: Result<Shared, String>,
}

#[derive(Default)]
struct Connected {
    client: Option<Client>,
    stream: Option<Stream>,
}

struct Watched {
    link: Connected,
    /// Why the link is not up, while it is not.
    trouble: Option<String>,
    seen: SeenDecisions,
    /// Seen since the dashboard last asked.
    news: VecDeque<SeenDecision>,
}

/// The team's decisions as this dashboard sees them; dropping it stops
/// its tasks' watch.
pub struct TeamDecisions {
    team: String,
    timeout: Duration,
    shared: Arc<Mutex<Watched>>,
    /// Look-ups in flight.
    lookups: Arc<AtomicUsize>,
    done_tx: mpsc::Sender<SharedDone>,
    done_rx: mpsc::Receiver<SharedDone>,
    task: JoinHandle<()>,
}

impl TeamDecisions {
    /// Starts the watch (call inside a tokio runtime).
    pub fn start(team: &Team) -> TeamDecisions {
        let shared = Arc::new(Mutex::new(Watched {
            link: Connected::default(),
            trouble: Some("connecting to the team's cluster".into()),
            seen: SeenDecisions::new(SEEN_BYTES),
            news: VecDeque::new(),
        }));
        let (done_tx, done_rx) = mpsc::channel(64);
        let task = tokio::spawn(watch_loop(
            team.link.clone(),
            team.name.clone(),
            Arc::clone(&shared),
        ));
        TeamDecisions {
            team: team.name.clone(),
            timeout: team.timeout,
            shared,
            lookups: Arc::new(AtomicUsize::new(0)),
            done_tx,
            done_rx,
            task,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watched> {
        lock(&self.shared)
    }

    /// The subject of a case.
    pub fn subject(&self, model: &str, case_id: &str) -> String {
        case_subject(&self.team, model, case_id)
    }

    /// Why decisions cannot be shared now (the cluster unreachable), or
    /// `None` when they can.
    pub fn down(&self) -> Option<String> {
        let w = self.lock();
        let up = w
            .link
            .client
            .as_ref()
            .is_some_and(|c| c.connection_state() == State::Connected);
        match (&w.trouble, up) {
            (None, true) => None,
            (Some(why), _) => Some(why.clone()),
            (None, false) => Some("the team's cluster is unreachable; reconnecting".into()),
        }
    }

    /// The team's decision on a case, as far as this dashboard has seen.
    pub fn seen(&self, subject: &str) -> Option<SeenDecision> {
        self.lock().seen.get(subject).cloned()
    }

    /// Decisions seen since the last call.
    pub fn take_news(&self) -> Vec<SeenDecision> {
        self.lock().news.drain(..).collect()
    }

    /// Asks the cluster whether a case is decided (the answer arrives as
    /// news), off the loop and off the watch; dropped while many look-ups
    /// are in flight or the link is down.
    pub fn look_up(&self, subject: String) {
        let stream = {
            let w = self.lock();
            if w.seen.get(&subject).is_some() {
                return;
            }
            match &w.link.stream {
                Some(stream) => stream.clone(),
                None => return,
            }
        };
        if self.lookups.fetch_add(1, Ordering::AcqRel) >= MAX_LOOKUPS {
            self.lookups.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let (shared, team, in_flight) = (
            Arc::clone(&self.shared),
            self.team.clone(),
            Arc::clone(&self.lookups),
        );
        tokio::spawn(async move {
            match tokio::time::timeout(LOOKUP_LIMIT, stored_decision(&stream, &subject)).await {
                Ok(Ok(Some((m, seq)))) => record(&shared, &team, &subject, &m, seq),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "team decisions: look-up failed"),
                Err(_) => tracing::debug!(subject, "team decisions: look-up unanswered"),
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Publishes a decision off the loop; its outcome arrives through
    /// [`TeamDecisions::next_done`]. Refused while the link is down.
    pub fn share(&self, subject: String, message: DecisionMessage) -> Result<(), String> {
        if let Some(why) = self.down() {
            return Err(why);
        }
        let (client, stream) = {
            let w = self.lock();
            match (&w.link.client, &w.link.stream) {
                (Some(c), Some(s)) => (c.clone(), s.clone()),
                _ => return Err("the team's cluster is unreachable".into()),
            }
        };
        let (tx, timeout, shared) = (self.done_tx.clone(), self.timeout, Arc::clone(&self.shared));
        tokio::spawn(async move {
            let js = async_nats::jetstream::new(client);
            let result = publish(&js, &stream, &subject, &message, timeout).await;
            if let Ok(outcome) = &result {
                // Known at once, before the watch delivers it.
                let (winner, stream_seq) = match outcome {
                    Shared::Published { stream_seq } => (&message, *stream_seq),
                    Shared::AlreadyDecided { winner, stream_seq } => (&**winner, *stream_seq),
                };
                lock(&shared)
                    .seen
                    .insert(&subject, SeenDecision::of(winner, stream_seq));
            }
            let _ = tx.send(SharedDone { subject, result }).await;
        });
        Ok(())
    }

    /// The next published decision's outcome. Cancel-safe.
    pub async fn next_done(&mut self) -> Option<SharedDone> {
        self.done_rx.recv().await
    }
}

impl Drop for TeamDecisions {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(shared: &Mutex<Watched>) -> MutexGuard<'_, Watched> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a decision read from the stream, if its subject is its case's.
fn record(shared: &Mutex<Watched>, team: &str, subject: &str, m: &DecisionMessage, seq: u64) {
    // A message on another case's subject must not decide that case here.
    if case_subject(team, &m.model, &m.case_id) != subject {
        tracing::debug!(subject, "a decision on a subject not its case's; skipped");
        return;
    }
    let mut w = lock(shared);
    if !w.seen.insert(subject, SeenDecision::of(m, seq)) {
        return;
    }
    // As kept (bounded), for the screen.
    if let Some(seen) = w.seen.get(subject).cloned() {
        if w.news.len() >= MAX_NEWS {
            w.news.pop_front();
        }
        w.news.push_back(seen);
    }
}

async fn watch_loop(link: Link, team: String, shared: Arc<Mutex<Watched>>) {
    let mut backoff = Backoff::new(link.reconnect_initial, link.reconnect_max);
    // The next stream sequence to read, kept across connections so that
    // nothing published meanwhile is missed.
    let mut next = None;
    loop {
        let watch = Watch {
            link: &link,
            team: &team,
            shared: &shared,
        };
        let Err(trouble) = watch.run(&mut next, &mut backoff).await;
        tracing::warn!(error = %trouble, "team decisions: link interrupted");
        {
            let mut w = lock(&shared);
            w.link = Connected::default();
            w.trouble = Some(link.scrub(trouble));
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Heartbeats asked of the server while the consumer waits, and how long
/// one pull waits: a consumer lost with its node is noticed by a missed
/// heartbeat or the next pull, within a couple of seconds, and made anew.
const HEARTBEAT: Duration = Duration::from_millis(500);
const PULL_EXPIRES: Duration = Duration::from_secs(2);
/// Pause before making a consumer again after the cluster refused one
/// (while it elects a leader).
const CONSUMER_RETRY: Duration = Duration::from_millis(500);
/// Connection events waiting, at most.
const EVENTS: usize = 16;

type Messages = async_nats::jetstream::consumer::pull::Stream;

/// The team's decisions from stream sequence `from` on: a consumer of this
/// dashboard's own (in memory, no acknowledgements, gone when idle).
async fn consume_from(stream: &Stream, filter: &str, from: u64) -> Result<Messages, String> {
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: filter.to_string(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ack_policy: AckPolicy::None,
            memory_storage: true,
            num_replicas: 1,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("consumer on {filter}: {e}"))?;
    consumer
        .stream()
        .heartbeat(HEARTBEAT)
        .expires(PULL_EXPIRES)
        .messages()
        .await
        .map_err(|e| format!("consumer on {filter}: {e}"))
}

/// The next message of a consumer; never ready without one.
async fn next_message(
    messages: &mut Option<Messages>,
) -> Option<Result<async_nats::jetstream::Message, String>> {
    match messages {
        Some(m) => m.next().await.map(|r| r.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

/// One connection's watch.
struct Watch<'a> {
    link: &'a Link,
    team: &'a str,
    shared: &'a Arc<Mutex<Watched>>,
}

impl Watch<'_> {
    /// Watches until the connection fails: why.
    async fn run(
        &self,
        next: &mut Option<u64>,
        backoff: &mut Backoff,
    ) -> Result<std::convert::Infallible, String> {
        let (events_tx, mut events) = mpsc::channel(EVENTS);
        let client = self
            .link
            .connect(Some(events_tx))
            .await
            .map_err(|e| e.to_string())?;
        let js = async_nats::jetstream::new(client.clone());
        let stream = open_stream(&js, Duration::from_secs(10)).await?;
        let filter = team_filter(self.team);
        // At first, new decisions only: older ones are looked up when their
        // case shows.
        let from = *next.get_or_insert(stream.cached_info().state.last_sequence + 1);
        let mut messages = Some(consume_from(&stream, &filter, from).await?);
        {
            let mut w = lock(self.shared);
            w.link = Connected {
                client: Some(client),
                stream: Some(stream.clone()),
            };
            w.trouble = None;
        }
        backoff.reset();
        tracing::info!(team = self.team, "team decisions: watching");
        let mut retry_at = tokio::time::Instant::now();
        loop {
            tokio::select! {
                message = next_message(&mut messages) => match message {
                    Some(Ok(message)) => {
                        let seq = message.info().map_or(0, |i| i.stream_sequence);
                        *next = Some(next.unwrap_or(0).max(seq + 1));
                        self.read(message.subject.as_str(), &message.payload, seq);
                    }
                    other => {
                        // Its server went away: carry on where it stopped.
                        if let Some(Err(e)) = other {
                            tracing::info!(error = %e, "team decisions: consumer lost");
                        }
                        messages = None;
                    }
                },
                Some(event) = events.recv() => {
                    // A new server: the consumer's pull went with the old one.
                    if matches!(event, async_nats::Event::Connected) {
                        messages = None;
                    }
                }
                _ = tokio::time::sleep_until(retry_at), if messages.is_none() => {
                    let from = next.unwrap_or(1);
                    match consume_from(&stream, &filter, from).await {
                        Ok(m) => messages = Some(m),
                        Err(e) => {
                            tracing::debug!(error = %e, "team decisions: no consumer yet");
                            retry_at = tokio::time::Instant::now() + CONSUMER_RETRY;
                        }
                    }
                }
            }
        }
    }

    fn read(&self, subject: &str, payload: &[u8], seq: u64) {
        match DecisionMessage::parse(payload) {
            Some(m) => record(self.shared, self.team, subject, &m, seq),
            None => tracing::debug!(subject, "not a decision; skipped"),
        }
    }
}

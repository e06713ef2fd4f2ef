//! A dashboard's link to its team's decisions: one task keeps a connection
//! to the cluster, consumes every new decision of the team (an ordered
//! consumer on `mw.TEAM.decision.>`, milliseconds after the publish) and
//! answers look-ups of single cases; decisions are published from tasks of
//! their own and their outcomes handed back through [`TeamDecisions::next_done`].
//! The dashboard reads what was seen under a short lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::Client;
use async_nats::connection::State;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::decisions::{
    DecisionMessage, Shared, case_subject, open_stream, publish, stored_decision, team_filter,
};
use super::decisions_seen::{SeenDecision, SeenDecisions};
use super::link::{Link, reconnect_delay};
use super::settings::Team;

/// Bytes of decided cases remembered.
const SEEN_BYTES: usize = 4 << 20;
/// Decisions waiting for the dashboard to apply them, at most (older ones
/// are still found by the look-up when their case is shown).
const MAX_NEWS: usize = 4096;
/// Look-ups waiting, at most (more are dropped: the case is looked up
/// again when shown again).
const MAX_LOOKUPS: usize = 64;

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
    lookups: mpsc::Sender<String>,
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
        let (lookups, lookup_rx) = mpsc::channel(MAX_LOOKUPS);
        let (done_tx, done_rx) = mpsc::channel(64);
        let task = tokio::spawn(watch_loop(
            team.link.clone(),
            team.name.clone(),
            Arc::clone(&shared),
            lookup_rx,
        ));
        TeamDecisions {
            team: team.name.clone(),
            timeout: team.timeout,
            shared,
            lookups,
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
    /// news); dropped while many look-ups wait.
    pub fn look_up(&self, subject: String) {
        if self.lock().seen.get(&subject).is_none() {
            let _ = self.lookups.try_send(subject);
        }
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
                    .insert(&subject, seen_of(winner, stream_seq));
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

fn seen_of(m: &DecisionMessage, stream_seq: u64) -> SeenDecision {
    SeenDecision {
        model: m.model.clone(),
        case_id: m.case_id.clone(),
        decision: m.decision.clone(),
        label: m.label.clone(),
        operator: m.operator.clone(),
        stream_seq,
    }
}

/// Keeps a decision read from the stream, if its subject is its case's.
fn record(shared: &Mutex<Watched>, team: &str, subject: &str, m: &DecisionMessage, seq: u64) {
    // A message on another case's subject must not decide that case here.
    if case_subject(team, &m.model, &m.case_id) != subject {
        tracing::debug!(subject, "a decision on a subject not its case's; skipped");
        return;
    }
    let mut w = lock(shared);
    let seen = seen_of(m, seq);
    if w.seen.insert(subject, seen.clone()) {
        if w.news.len() >= MAX_NEWS {
            w.news.pop_front();
        }
        w.news.push_back(seen.bounded());
    }
}

async fn watch_loop(
    link: Link,
    team: String,
    shared: Arc<Mutex<Watched>>,
    mut lookups: mpsc::Receiver<String>,
) {
    let mut attempt = 0usize;
    loop {
        let trouble = match watch_once(&link, &team, &shared, &mut lookups, &mut attempt).await {
            Ok(()) => "the decisions' watch ended".to_string(),
            Err(e) => e,
        };
        tracing::warn!(error = %trouble, "team decisions: link interrupted");
        {
            let mut w = lock(&shared);
            w.link = Connected::default();
            w.trouble = Some(link.scrub(trouble));
        }
        attempt += 1;
        tokio::time::sleep(reconnect_delay(
            link.reconnect_initial,
            link.reconnect_max,
            attempt,
        ))
        .await;
    }
}

/// One connection's watch, until it fails.
async fn watch_once(
    link: &Link,
    team: &str,
    shared: &Arc<Mutex<Watched>>,
    lookups: &mut mpsc::Receiver<String>,
    attempt: &mut usize,
) -> Result<(), String> {
    let client = link.connect(None).await.map_err(|e| e.to_string())?;
    let js = async_nats::jetstream::new(client.clone());
    let stream = open_stream(&js, Duration::from_secs(10)).await?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: team_filter(team),
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("consumer on {}: {e}", team_filter(team)))?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    {
        let mut w = lock(shared);
        w.link = Connected {
            client: Some(client),
            stream: Some(stream.clone()),
        };
        w.trouble = None;
    }
    *attempt = 0;
    tracing::info!(team, "team decisions: watching");
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return Ok(()) };
                let message = message.map_err(|e| format!("decisions' watch: {e}"))?;
                let seq = message.info().map_or(0, |i| i.stream_sequence);
                match DecisionMessage::parse(&message.payload) {
                    Some(m) => record(shared, team, message.subject.as_str(), &m, seq),
                    None => tracing::debug!(subject = %message.subject, "not a decision; skipped"),
                }
            }
            Some(subject) = lookups.recv() => {
                match stored_decision(&stream, &subject).await {
                    Ok(Some((m, seq))) => record(shared, team, &subject, &m, seq),
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "team decisions: look-up failed"),
                }
            }
        }
    }
}

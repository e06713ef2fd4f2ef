//! Shared by the live-source tests: a collector of `SourceEvent`s and
//! bounded waits on what it collected.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use modelwatch::record::Event;
use modelwatch::record::batch::ParsedLine;
use modelwatch::source::{SourceEvent, SourceState, SourceStatus};
use tokio::sync::mpsc;

/// One prediction line with this id.
pub fn prediction(id: u64) -> String {
    format!(r#"{{"id":"{id}","model":"m","prediction":"a","confidence":0.5}}"#)
}

/// Lines `ids` as a block of text, one per line.
pub fn block(ids: std::ops::Range<u64>) -> String {
    ids.map(|i| prediction(i) + "\n").collect()
}

#[derive(Default)]
pub struct Seen {
    /// Prediction ids in arrival order.
    pub ids: Vec<String>,
    /// Lines that were not events (malformed or too long).
    pub bad_lines: u64,
    /// Latest status of each source.
    pub status: HashMap<usize, SourceStatus>,
    /// Every state each source reported, in order.
    pub states: Vec<(usize, SourceState)>,
    /// Every distinct `last_error` reported, in order.
    pub last_errors: Vec<String>,
}

impl Seen {
    /// Each id counted; panics with the offenders when one is not exactly once.
    pub fn assert_each_once(&self, expected: impl IntoIterator<Item = u64>) {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for id in &self.ids {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        let mut missing = Vec::new();
        let mut twice = Vec::new();
        let mut n = 0;
        for i in expected {
            n += 1;
            match counts.remove(i.to_string().as_str()) {
                None => missing.push(i),
                Some(1) => {}
                Some(_) => twice.push(i),
            }
        }
        assert!(
            missing.is_empty() && twice.is_empty() && counts.is_empty(),
            "missing {missing:?}, more than once {twice:?}, unexpected {counts:?} (of {n})"
        );
    }

    pub fn status(&self, id: usize) -> SourceStatus {
        self.status
            .get(&id)
            .cloned()
            .expect("a status was received")
    }
}

#[derive(Clone, Default)]
pub struct Collector(Arc<Mutex<Seen>>);

impl Collector {
    /// Collects events from `rx` on the current runtime until it closes.
    pub fn spawn(mut rx: mpsc::Receiver<SourceEvent>) -> Collector {
        let c = Collector::default();
        let shared = c.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let mut seen = shared.lock();
                match event {
                    SourceEvent::Batch { batch, .. } => {
                        for (_, parsed, _) in batch.iter() {
                            match parsed {
                                ParsedLine::Event(Event::Prediction(p)) => {
                                    seen.ids.push(p.id.unwrap_or_default().into_owned())
                                }
                                ParsedLine::Event(_) | ParsedLine::Blank => {}
                                ParsedLine::Malformed(_) | ParsedLine::TooLong(_) => {
                                    seen.bad_lines += 1
                                }
                            }
                        }
                    }
                    SourceEvent::Status(s) => {
                        if seen
                            .status
                            .get(&s.id)
                            .is_none_or(|old| old.state != s.state)
                        {
                            seen.states.push((s.id, s.state.clone()));
                        }
                        if let Some(e) = &s.last_error
                            && seen.last_errors.last() != Some(e)
                        {
                            seen.last_errors.push(e.clone());
                        }
                        seen.status.insert(s.id, s);
                    }
                }
            }
        });
        c
    }

    pub fn lock(&self) -> MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `cond` holds, panicking at `limit` with `what` and
    /// what was seen by then. Called from a multi-threaded runtime it
    /// moves the runtime's other tasks off this worker while it waits.
    pub fn wait_until(&self, what: &str, limit: Duration, cond: impl Fn(&Seen) -> bool) {
        let what = Described { what, seen: self };
        tokio::task::block_in_place(|| {
            super::wait_until(what, limit, || cond(&self.lock()));
        });
    }

    /// Waits until `n` ids arrived.
    pub fn wait_ids(&self, n: usize, limit: Duration) {
        self.wait_until(&format!("{n} ids"), limit, |s| s.ids.len() >= n);
    }

    /// Waits until source `id`'s state satisfies `f`.
    pub fn wait_state(&self, id: usize, limit: Duration, f: impl Fn(&SourceState) -> bool) {
        self.wait_until(&format!("the state of source {id}"), limit, |s| {
            state_is(s, id, &f)
        });
    }
}

/// A wait's name with what was seen at the deadline.
struct Described<'a> {
    what: &'a str,
    seen: &'a Collector,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seen.lock();
        write!(
            f,
            "{}; {} ids, states {:?}, status {:?}, errors {:?}",
            self.what,
            s.ids.len(),
            s.states,
            s.status,
            s.last_errors
        )
    }
}

/// Starts one source (inside a runtime) with a channel of `capacity`
/// batches; returns the set and what it delivers.
pub fn start_one(
    spec: modelwatch::source::SourceSpec,
    options: modelwatch::source::SourceOptions,
    capacity: usize,
) -> (modelwatch::source::SourceSet, Collector) {
    let (tx, rx) = mpsc::channel(capacity);
    let set = modelwatch::source::SourceSet::start(
        vec![spec],
        options,
        modelwatch::record::Parser::default(),
        tx,
    )
    .expect("sources start");
    (set, Collector::spawn(rx))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

pub fn state_is(s: &Seen, id: usize, f: impl Fn(&SourceState) -> bool) -> bool {
    s.status.get(&id).is_some_and(|st| f(&st.state))
}

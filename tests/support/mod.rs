//! Shared by the live-source tests: a collector of `SourceEvent`s and
//! bounded waiting. Every wait has a deadline so no test can hang.
#![allow(dead_code)]

pub mod ws_server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

    /// Blocks (a plain thread, not a runtime worker) until `cond` holds;
    /// false at the deadline.
    pub fn wait(&self, limit: Duration, cond: impl Fn(&Seen) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            if cond(&self.lock()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// [`Collector::wait`] from async code.
    pub async fn wait_async(&self, limit: Duration, cond: impl Fn(&Seen) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            if cond(&self.lock()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until `n` distinct ids arrived, panicking with context if not.
    pub fn wait_ids(&self, n: usize, limit: Duration) {
        let ok = self.wait(limit, |s| s.ids.len() >= n);
        assert!(ok, "{} of {n} ids arrived", self.lock().ids.len());
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

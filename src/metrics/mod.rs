//! Prometheus metrics (`--metrics-addr`): a sink beside `report` that reads
//! the session once a second (`collect`, on the session's loop: it only
//! copies figures) into a [`Figures`] board, which a small HTTP server
//! (`server`, on tasks of its own) encodes at each scrape of `/metrics` in
//! the Prometheus text format (`encode`, through `prometheus-client`, which
//! escapes label values). Series are bounded: the engine watches at most
//! 256 models, sources are the command line's, kinds and states are fixed
//! lists, and models known only from the audit log are capped too.

pub mod collect;
pub mod encode;
pub mod server;

use std::sync::{Arc, Mutex};

use crate::decision::kill_switch::SwitchState;
use crate::engine::alerts::{AlertKind, Severity};
use crate::engine::confidence_buckets::ConfidenceBuckets;
use crate::hooks::queue::HookQueue;

/// Everything a scrape shows, as of the last tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// When it was taken (epoch ms).
    pub at_ms: i64,
    pub lines: u64,
    pub blank: u64,
    pub feedback: u64,
    pub malformed: u64,
    pub feedback_unmatched: u64,
    /// Alerts about the input as a whole (no model).
    pub input_alerts: AlertCounts,
    pub models: Vec<ModelFigures>,
    pub sources: Vec<SourceFigures>,
    /// Checkpoints, when the session owns a state directory.
    pub checkpoint: Option<CheckpointFigures>,
}

/// The last checkpoint saved, and whether the last save failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointFigures {
    /// When the last checkpoint saved was taken (epoch ms), and its bytes.
    pub last: Option<(i64, u64)>,
    pub failing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelFigures {
    pub name: String,
    pub predictions: u64,
    /// Labels (feedback, and approvals and overrides) joined to its
    /// predictions since its baseline was taken.
    pub labelled: u64,
    pub confidences: ConfidenceBuckets,
    /// The sliding window against the baseline, as last checked.
    pub drift: Drift,
    pub alerts: AlertCounts,
    pub kill: SwitchState,
    pub in_queue: usize,
    /// Predictions in the frozen baseline, `None` while it is collected.
    pub baseline: Option<u64>,
}

/// Drift statistics of the sliding window against the baseline, where the
/// window has been checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Drift {
    pub ks: Option<f64>,
    pub wasserstein_normed: Option<f64>,
    pub js: Option<f64>,
    pub psi: Option<f64>,
}

/// Active alerts by kind (in `AlertKind::ALL` order) and severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertCounts(pub [[u32; 2]; AlertKind::ALL.len()]);

impl AlertCounts {
    pub fn add(&mut self, kind: AlertKind, severity: Severity) {
        self.0[kind as usize][severity as usize] += 1;
    }

    pub fn get(&self, kind: AlertKind, severity: Severity) -> u32 {
        self.0[kind as usize][severity as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFigures {
    pub name: String,
    pub state: &'static str,
    pub lines: u64,
    pub errors: u64,
    pub reconnects: u64,
    pub dropped: u64,
    pub behind_bytes: u64,
    pub last_line_ms: Option<i64>,
}

/// Where the collector puts the latest figures and scrapes read them: the
/// lock is held for a pointer swap, so neither waits on the other.
#[derive(Debug, Default)]
pub struct Board {
    latest: Mutex<Arc<Figures>>,
    /// The alert hooks' queues, read at each scrape.
    pub hooks: Vec<Arc<HookQueue>>,
}

impl Board {
    pub fn new(hooks: Vec<Arc<HookQueue>>) -> Self {
        Board {
            latest: Mutex::default(),
            hooks,
        }
    }

    pub fn publish(&self, figures: Figures) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(figures);
    }

    pub fn latest(&self) -> Arc<Figures> {
        Arc::clone(&self.latest.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

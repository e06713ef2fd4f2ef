//! What a trip or reset is made of, shared by the kill switch and its
//! actuators: the [`KillAction`], the [`KillRequest`], one actuator's
//! [`ActuatorResult`], and the [`ControlLink`] a websocket actuator sends
//! through.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// A control channel to the model, e.g. the watched websocket source: the
/// live session implements it. `send_and_await_ack` sends `message` and
/// resolves when the ack carrying `request_id` arrives, or with an error
/// (not connected, closed, `timeout` elapsed).
pub trait ControlLink: Send + Sync {
    fn send_and_await_ack(
        &self,
        message: String,
        request_id: String,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
}

/// Trip or reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillAction {
    Trip,
    Reset,
}

impl KillAction {
    /// The state the actuators are told: `tripped` or `armed`.
    pub fn target_state(self) -> &'static str {
        match self {
            KillAction::Trip => "tripped",
            KillAction::Reset => "armed",
        }
    }
}

/// One trip or reset request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillRequest {
    pub model: String,
    pub reason: String,
    pub operator: String,
    /// Unique per request; sent to every actuator and audited.
    pub request_id: String,
    /// When it was made, RFC 3339 UTC.
    pub time: String,
}

impl KillRequest {
    pub fn new(
        model: impl Into<String>,
        reason: impl Into<String>,
        operator: impl Into<String>,
    ) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = chrono::Utc::now();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        KillRequest {
            model: model.into(),
            reason: reason.into(),
            operator: operator.into(),
            request_id: format!("ks-{}-{}-{n}", now.timestamp_micros(), std::process::id()),
            time: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// One actuator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActuatorResult {
    /// What it is, as the kill switch describes it (no secrets).
    pub actuator: String,
    pub confirmed: bool,
    /// What it did, or why it failed.
    pub detail: String,
    pub elapsed_ms: u64,
}

/// Milliseconds of `d` for `elapsed_ms`, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

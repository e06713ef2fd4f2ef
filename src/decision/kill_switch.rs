//! The kill switch: every configured actuator, run concurrently, each
//! under its own timeout, none waiting for another. The switch shows
//! `Tripped` only when every actuator confirmed; any failure is
//! `NotConfirmed` with what failed and why (the others still ran).
//!
//! Actuators are idempotent, so tripping a tripped switch runs them again
//! with the same state: one effect. Runs are spawned as tokio tasks and
//! counted, so a caller can [`KillSwitch::wait_idle`] before exiting and a
//! confirmed trip is never cut short by shutdown.
//!
//! The request and result types the actuators share with the switch are in
//! [`super::kill_request`] (re-exported here, where callers look for them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::actuators::Actuator;
use super::kill_request::{ActuatorResult, ControlLink, KillAction, KillRequest, millis};
use super::settings::ActuatorSpec;

/// Where a model's switch stands (as far as this process knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// Not tripped (or reset, every actuator confirmed).
    Armed,
    Tripping,
    /// Every actuator confirmed the trip.
    Tripped,
    /// A trip where at least one actuator failed.
    NotConfirmed,
    Resetting,
    /// A reset where at least one actuator failed.
    ResetNotConfirmed,
}

impl SwitchState {
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchState::Armed => "armed",
            SwitchState::Tripping => "tripping",
            SwitchState::Tripped => "tripped",
            SwitchState::NotConfirmed => "not_confirmed",
            SwitchState::Resetting => "resetting",
            SwitchState::ResetNotConfirmed => "reset_not_confirmed",
        }
    }
}

/// What a trip or reset came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillOutcome {
    pub action: KillAction,
    pub model: String,
    pub request_id: String,
    /// `Tripped`/`NotConfirmed` or `Armed`/`ResetNotConfirmed`.
    pub state: SwitchState,
    pub results: Vec<ActuatorResult>,
    pub elapsed_ms: u64,
}

impl KillOutcome {
    /// Every actuator confirmed.
    pub fn confirmed(&self) -> bool {
        matches!(self.state, SwitchState::Tripped | SwitchState::Armed)
    }

    /// One line per actuator: `ok   WHAT -> detail (N ms)` or
    /// `FAIL WHAT -> why (N ms)`, WHAT as [`KillSwitch::describe`] says.
    pub fn summary_lines(&self) -> Vec<String> {
        self.results
            .iter()
            .map(|r| {
                format!(
                    "{} {} -> {} ({} ms)",
                    if r.confirmed { "ok  " } else { "FAIL" },
                    r.actuator,
                    r.detail,
                    r.elapsed_ms
                )
            })
            .collect()
    }
}

/// A request refused before anything ran or was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillError {
    ReadOnly,
    /// A model's name cannot be empty (no event names one).
    EmptyModel,
    NoActuators,
    /// Reset's typed confirmation did not name the model.
    ConfirmationMismatch {
        model: String,
        typed: String,
    },
}

impl std::fmt::Display for KillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KillError::ReadOnly => f.write_str("read-only mode: the kill switch is disabled"),
            KillError::EmptyModel => f.write_str("a model's name cannot be empty"),
            KillError::NoActuators => f.write_str(
                "no kill-switch actuator configured (use --kill-file or [[kill_switch.actuator]])",
            ),
            KillError::ConfirmationMismatch { model, typed } => write!(
                f,
                "reset not confirmed: type the model's name {model:?} to reset it (got {typed:?})"
            ),
        }
    }
}

impl std::error::Error for KillError {}

/// The kill switch of one process, for every model.
pub struct KillSwitch {
    actuators: Vec<Arc<Actuator>>,
    control: Option<Arc<dyn ControlLink>>,
    read_only: bool,
    states: Mutex<HashMap<String, SwitchState>>,
    in_flight: Arc<InFlightCount>,
}

#[derive(Default)]
struct InFlightCount {
    n: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Held while a trip or reset runs; see [`KillSwitch::wait_idle`].
pub struct InFlight(Arc<InFlightCount>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for KillSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillSwitch")
            .field("actuators", &self.actuators.len())
            .field("control", &self.control.is_some())
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl KillSwitch {
    pub fn new(specs: Vec<ActuatorSpec>, control: Option<Arc<dyn ControlLink>>) -> Self {
        KillSwitch {
            actuators: specs
                .into_iter()
                .map(|s| Arc::new(Actuator::new(s)))
                .collect(),
            control,
            read_only: false,
            states: Mutex::new(HashMap::new()),
            in_flight: Arc::default(),
        }
    }

    /// The longest a run can take: the slowest actuator's timeout (they
    /// run at once), plus a margin for the audit records.
    pub fn longest_run(&self) -> Duration {
        self.actuators
            .iter()
            .map(|a| a.spec().timeout())
            .max()
            .unwrap_or_default()
            + Duration::from_secs(2)
    }

    /// `--read-only`: every trip and reset is refused.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// One line per actuator saying what a trip of `model` will do (for
    /// the confirmation dialog; no secrets).
    pub fn describe(&self, model: &str) -> Vec<String> {
        self.describe_action(model, KillAction::Trip)
    }

    /// The same for a reset.
    pub fn describe_reset(&self, model: &str) -> Vec<String> {
        self.describe_action(model, KillAction::Reset)
    }

    pub(crate) fn describe_action(&self, model: &str, action: KillAction) -> Vec<String> {
        self.actuators
            .iter()
            .map(|a| a.describe(model, action))
            .collect()
    }

    /// The last known state of `model`'s switch (`Armed` if never touched).
    pub fn state(&self, model: &str) -> SwitchState {
        self.lock_states()
            .get(model)
            .copied()
            .unwrap_or(SwitchState::Armed)
    }

    /// Whether a trip would be accepted (checked before it is audited).
    pub fn check_trip(&self) -> Result<(), KillError> {
        if self.read_only {
            return Err(KillError::ReadOnly);
        }
        if self.actuators.is_empty() {
            return Err(KillError::NoActuators);
        }
        Ok(())
    }

    /// Whether a trip of `model` would be accepted.
    pub fn check_trip_of(&self, model: &str) -> Result<(), KillError> {
        self.check_trip()?;
        if model.is_empty() {
            return Err(KillError::EmptyModel);
        }
        Ok(())
    }

    /// Whether a reset would be accepted: `typed` must be the model's name.
    pub fn check_reset(&self, model: &str, typed: &str) -> Result<(), KillError> {
        self.check_trip_of(model)?;
        if typed != model {
            return Err(KillError::ConfirmationMismatch {
                model: model.to_owned(),
                typed: typed.to_owned(),
            });
        }
        Ok(())
    }

    /// Counts a run in progress until the guard drops.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.n.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(&self.in_flight))
    }

    /// Resolves when no trip or reset is running (await it, bounded,
    /// before exiting).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.in_flight.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.n.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Trips `request.model`'s switch through every actuator.
    pub async fn trip(&self, request: &KillRequest) -> Result<KillOutcome, KillError> {
        self.check_trip_of(&request.model)?;
        Ok(self.run(KillAction::Trip, request).await)
    }

    /// Re-arms the switch; `typed_confirmation` must equal the model name.
    pub async fn reset(
        &self,
        request: &KillRequest,
        typed_confirmation: &str,
    ) -> Result<KillOutcome, KillError> {
        self.check_reset(&request.model, typed_confirmation)?;
        Ok(self.run(KillAction::Reset, request).await)
    }

    /// Runs every actuator; the caller has checked the request.
    pub(crate) async fn run(&self, action: KillAction, request: &KillRequest) -> KillOutcome {
        let _guard = self.in_flight();
        let start = Instant::now();
        let (running, done_ok, done_failed) = match action {
            KillAction::Trip => (
                SwitchState::Tripping,
                SwitchState::Tripped,
                SwitchState::NotConfirmed,
            ),
            KillAction::Reset => (
                SwitchState::Resetting,
                SwitchState::Armed,
                SwitchState::ResetNotConfirmed,
            ),
        };
        self.set_state(&request.model, running);
        tracing::info!(model = %request.model, request_id = %request.request_id,
            action = action.target_state(), actuators = self.actuators.len(), "kill switch request");
        let tasks: Vec<_> = self
            .actuators
            .iter()
            .map(|a| {
                let a = Arc::clone(a);
                let req = request.clone();
                let control = self.control.clone();
                // A task each: one actuator's slow poll cannot hold up another.
                tokio::spawn(async move { a.run(action, &req, control).await })
            })
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for (task, actuator) in tasks.into_iter().zip(&self.actuators) {
            results.push(task.await.unwrap_or_else(|e| ActuatorResult {
                actuator: actuator.describe(&request.model, action),
                confirmed: false,
                detail: format!("internal error: {e}"),
                elapsed_ms: 0,
            }));
        }
        let state = if results.iter().all(|r| r.confirmed) {
            done_ok
        } else {
            done_failed
        };
        self.set_state(&request.model, state);
        for r in results.iter().filter(|r| !r.confirmed) {
            tracing::warn!(model = %request.model, request_id = %request.request_id,
                actuator = %r.actuator, detail = %r.detail, "actuator not confirmed");
        }
        KillOutcome {
            action,
            model: request.model.clone(),
            request_id: request.request_id.clone(),
            state,
            results,
            elapsed_ms: millis(start.elapsed()),
        }
    }

    fn set_state(&self, model: &str, state: SwitchState) {
        let mut states = self.lock_states();
        // Bounded: one entry per model a trip was asked for.
        if states.len() < 4096 || states.contains_key(model) {
            states.insert(model.to_owned(), state);
        }
    }

    fn lock_states(&self) -> std::sync::MutexGuard<'_, HashMap<String, SwitchState>> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }
}

//! The actuators: each takes the request to a place that can stop the
//! model, under its own timeout, and reports confirmed or why not.

mod command;
mod flag_file;
mod http;
mod nats_kv;
mod websocket;

pub(crate) use flag_file::{path_for as flag_path_for, tripped_models as flag_tripped_models};

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::kill_request::{ActuatorResult, ControlLink, KillAction, KillRequest, millis};
use super::settings::ActuatorSpec;
use super::template::Values;

/// Time given past an actuator's own timeout for it to report that
/// timeout itself (its message is more precise) before it is cut off.
const GRACE: Duration = Duration::from_millis(250);

/// A configured actuator.
#[derive(Debug)]
pub(crate) struct Actuator {
    spec: ActuatorSpec,
    /// A `nats_kv` actuator's connection, kept between runs.
    kv: Arc<nats_kv::KvConn>,
}

impl std::fmt::Debug for nats_kv::KvConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvConn")
    }
}

impl Actuator {
    pub(crate) fn new(spec: ActuatorSpec) -> Self {
        Actuator {
            spec,
            kv: Arc::default(),
        }
    }

    pub(crate) fn spec(&self) -> &ActuatorSpec {
        &self.spec
    }

    /// What it will do, in one line without secrets.
    pub(crate) fn describe(&self, model: &str, action: KillAction) -> String {
        match &self.spec {
            ActuatorSpec::FlagFile(s) => flag_file::describe(s, model, action),
            ActuatorSpec::Http(s) => http::describe(s, action),
            ActuatorSpec::Command(s) => command::describe(s, model, action),
            ActuatorSpec::Websocket(s) => websocket::describe(s, action),
            ActuatorSpec::NatsKv(s) => nats_kv::describe(s, model, action),
        }
    }

    pub(crate) async fn run(
        &self,
        action: KillAction,
        request: &KillRequest,
        control: Option<Arc<dyn ControlLink>>,
    ) -> ActuatorResult {
        let start = Instant::now();
        let values = Values {
            model: &request.model,
            state: action.target_state(),
            reason: &request.reason,
            request_id: &request.request_id,
            operator: &request.operator,
            time: &request.time,
        };
        let timeout = self.spec.timeout();
        let work = async {
            match &self.spec {
                ActuatorSpec::FlagFile(s) => flag_file::run(s, action, &values).await,
                ActuatorSpec::Http(s) => http::run(s, &values).await,
                ActuatorSpec::Command(s) => command::run(s, &values).await,
                ActuatorSpec::Websocket(s) => websocket::run(s, &values, control).await,
                ActuatorSpec::NatsKv(s) => {
                    nats_kv::run(s, action, &values, Arc::clone(&self.kv)).await
                }
            }
        };
        let outcome = match tokio::time::timeout(timeout + GRACE, work).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {}", show(timeout))),
        };
        let (confirmed, detail) = match outcome {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        ActuatorResult {
            actuator: self.describe(&request.model, action),
            confirmed,
            detail,
            elapsed_ms: millis(start.elapsed()),
        }
    }
}

/// A duration for messages: `2s`, `250ms`.
pub(crate) fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Runs blocking work off the async threads, bounded by `timeout` (the
/// thread may linger on a hung filesystem or socket; the caller does not).
pub(crate) async fn blocking<T: Send + 'static>(
    timeout: Duration,
    what: &str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("{what}: internal error: {e}")),
        Err(_) => Err(format!("{what}: no answer within {}", show(timeout))),
    }
}

//! What a live session feeds besides its screen or its JSON lines, the
//! same in every mode: the alert hooks (`[[alerts.hook]]`, told of every
//! alert transition through the engine's tap) and the Prometheus metrics
//! (`--metrics-addr`, read from the session once a second).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::SessionFlags;
use crate::config::Config;
use crate::decision::kill_watch::KillWatch;
use crate::decision::settings::ActuatorSpec;
use crate::engine::Engine;
use crate::hooks::HookSet;
use crate::live::Session;
use crate::metrics::Board;
use crate::metrics::collect::Collector;
use crate::metrics::server::MetricsServer;

use super::Failure;

/// Time the hooks get at exit to deliver what waits (the last alerts
/// cleared): a hook that hangs delays the exit this long at most.
const HOOKS_AT_EXIT: Duration = Duration::from_secs(3);

pub struct Sinks {
    hooks: HookSet,
    metrics: Option<(MetricsServer, Arc<Board>)>,
}

impl Sinks {
    /// Starts the hooks (their secrets expanded: a missing variable is an
    /// error) and the metrics server (an address that cannot be bound is
    /// an error), before any source starts. Inside the runtime.
    pub async fn start(config: &Config, flags: &SessionFlags) -> Result<Sinks, Failure> {
        let hooks =
            HookSet::start(&config.alerts.hooks, flags.ca_file.file.as_deref()).map_err(Failure)?;
        let metrics = match &flags.view.metrics_addr {
            None => None,
            Some(addr) => {
                let board = Arc::new(Board::new(hooks.queues()));
                let registry = crate::metrics::encode::registry(Arc::clone(&board));
                Some((
                    MetricsServer::start(addr, registry)
                        .await
                        .map_err(Failure)?,
                    board,
                ))
            }
        };
        Ok(Sinks { hooks, metrics })
    }

    /// Hands the engine's alert transitions to the hooks.
    pub fn tap(&self, engine: &mut Engine) {
        if !self.hooks.is_empty() {
            engine.set_transition_tap(self.hooks.tap());
        }
    }

    /// Feeds the metrics from the session's ticks; the kill switch as the
    /// audit log and the flag-file actuators say.
    pub fn observe(&self, session: &mut Session, audit_log: &Path, actuators: &[ActuatorSpec]) {
        if let Some((_, board)) = &self.metrics {
            let kills = KillWatch::new(Some(audit_log), actuators);
            session.observe_ticks(Box::new(Collector::new(Arc::clone(board), kills)));
        }
    }

    /// Lets the hooks deliver what waits (bounded), then stops everything.
    pub async fn finish(self) {
        self.hooks.finish(HOOKS_AT_EXIT).await;
    }
}

//! What a live session feeds besides its screen or its JSON lines, the
//! same in every mode: the alert hooks (`[[alerts.hook]]`, told of every
//! alert transition through the engine's tap), the team's alerts (with a
//! team: transitions published to `MW_ALERTS` through the tap too, and
//! acknowledgements kept in step once a second) and the Prometheus metrics
//! (`--metrics-addr`, read from the session once a second).

use std::sync::Arc;
use std::time::Duration;

use crate::cli::SessionFlags;
use crate::config::Config;
use crate::decision::kill_watch::SharedKillWatch;
use crate::engine::Engine;
use crate::hooks::HookSet;
use crate::live::{Session, TickObserver};
use crate::metrics::Board;
use crate::metrics::collect::Collector;
use crate::metrics::server::MetricsServer;
use crate::team::alerts_publish::PublishQueue;
use crate::team::alerts_sync::{AckSync, TeamAlerts};
use crate::team::settings::Team;

use super::Failure;

/// Time the hooks get at exit to deliver what waits (the last alerts
/// cleared): a hook that hangs delays the exit this long at most.
const HOOKS_AT_EXIT: Duration = Duration::from_secs(3);

pub struct Sinks {
    hooks: HookSet,
    team_alerts: Option<TeamAlerts>,
    metrics: Option<(MetricsServer, Arc<Board>)>,
}

impl Sinks {
    /// Starts the hooks (their secrets expanded: a missing variable is an
    /// error) and the metrics server (an address that cannot be bound is
    /// an error) and, with a team, its alerts' publisher and watch (`by`
    /// names the operator), before any source starts. Inside the runtime.
    pub async fn start(
        config: &Config,
        flags: &SessionFlags,
        team: Option<&Team>,
        by: &str,
    ) -> Result<Sinks, Failure> {
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
        Ok(Sinks {
            hooks,
            team_alerts: team.map(|team| TeamAlerts::start(team, by)),
            metrics,
        })
    }

    /// Hands the engine's alert transitions to the hooks and the team.
    pub fn tap(&self, engine: &mut Engine) {
        if !self.hooks.is_empty() {
            engine.add_transition_tap(self.hooks.tap());
        }
        if let Some(team) = &self.team_alerts {
            engine.add_transition_tap(team.tap());
        }
    }

    /// The team's alert publishing (its counts), with a team.
    pub fn team_alerts_queue(&self) -> Option<Arc<PublishQueue>> {
        self.team_alerts.as_ref().map(TeamAlerts::queue)
    }

    /// Feeds the metrics from the session's ticks; the kill switch as the
    /// audit log and the flag-file actuators say.
    pub fn observe(&self, session: &mut Session, kills: &SharedKillWatch) {
        if let Some(team) = &self.team_alerts {
            session.observe_ticks(Box::new(TeamAcks(team.ack_sync())));
        }
        if let Some((_, board)) = &self.metrics {
            session.observe_ticks(Box::new(Collector::new(Arc::clone(board), kills.clone())));
        }
    }

    /// Lets the hooks deliver and the team's alerts be published (both
    /// bounded, at once), then stops everything.
    pub async fn finish(self) {
        let team = async {
            if let Some(team) = self.team_alerts {
                team.finish(HOOKS_AT_EXIT).await;
            }
        };
        tokio::join!(self.hooks.finish(HOOKS_AT_EXIT), team);
    }
}

/// The team's acknowledgements, kept in step on the session's ticks.
struct TeamAcks(AckSync);

impl TickObserver for TeamAcks {
    fn on_tick(&mut self, _session: &Session, _now_ms: i64) {}

    fn apply(&mut self, engine: &mut Engine) {
        self.0.apply(engine);
    }
}

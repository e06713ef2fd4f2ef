//! Copies the session's figures to the board once a second (a
//! [`TickObserver`], so in the dashboard as in `--no-tui` and `agent`).
//! The kill switch is read from the process's one watch on it (the audit
//! log's records, the flag files and the team's bucket), which the screen or
//! the `--no-tui` lines read too.

use std::sync::Arc;

use super::{AlertCounts, Board, CheckpointFigures, Drift, Figures, ModelFigures, SourceFigures};
use crate::decision::kill_switch::SwitchState;
use crate::decision::kill_watch::SharedKillWatch;
use crate::engine::alert_log::AlertLog;
use crate::engine::model::BaselineState;
use crate::live::{Session, TickObserver};
use crate::report::stream::state_name;

pub struct Collector {
    board: Arc<Board>,
    kills: SharedKillWatch,
}

impl Collector {
    pub fn new(board: Arc<Board>, kills: SharedKillWatch) -> Self {
        Collector { board, kills }
    }
}

impl TickObserver for Collector {
    fn on_tick(&mut self, session: &Session, now_ms: i64) {
        let engine = &session.engine;
        let mut names: Vec<String> = engine.models().iter().map(|m| m.name.clone()).collect();
        // Read as the screen or the `--no-tui` loop last refreshed it.
        let kills = self.kills.lock();
        // Models the audit log names without a prediction yet.
        names.extend(kills.recorded_beside(|n| engine.model(n).is_some()));
        let kill = |name: &str| {
            kills
                .get(name, now_ms)
                .map_or(SwitchState::Armed, |k| k.state)
        };
        let mut models: Vec<ModelFigures> = engine
            .models()
            .iter()
            .map(|m| {
                let comparison = m.sliding.last_comparison();
                ModelFigures {
                    name: m.name.clone(),
                    predictions: m.predictions,
                    labelled: m.labelled,
                    confidences: m.confidences.clone(),
                    drift: Drift {
                        ks: comparison.and_then(|c| c.ks.map(|k| k.statistic)),
                        wasserstein_normed: comparison.and_then(|c| c.wasserstein_norm),
                        js: comparison.and_then(|c| c.js),
                        psi: comparison.and_then(|c| c.psi),
                    },
                    alerts: active_alerts(&m.alerts),
                    kill: kill(&m.name),
                    in_queue: m.review.len(),
                    baseline: match &m.baseline {
                        BaselineState::Frozen(b) => Some(b.n()),
                        BaselineState::Collecting(_) => None,
                    },
                }
            })
            .collect();
        let known = models.len();
        models.extend(names[known..].iter().map(|name| ModelFigures {
            name: name.clone(),
            predictions: 0,
            labelled: 0,
            confidences: Default::default(),
            drift: Drift::default(),
            alerts: AlertCounts::default(),
            kill: kill(name),
            in_queue: 0,
            baseline: None,
        }));
        let counters = engine.counters();
        self.board.publish(Figures {
            at_ms: now_ms,
            lines: counters.lines,
            blank: counters.blank,
            feedback: counters.feedback,
            malformed: counters.malformed,
            feedback_unmatched: engine.feedback_unmatched(),
            input_alerts: active_alerts(engine.input_alerts()),
            models,
            sources: session
                .sources
                .iter()
                .map(|s| SourceFigures {
                    name: s.name.clone(),
                    state: state_name(&s.state).0,
                    lines: s.lines,
                    errors: s.errors,
                    reconnects: s.reconnects,
                    dropped: s.dropped,
                    behind_bytes: s.behind_bytes,
                    last_line_ms: s.last_line_ms,
                })
                .collect(),
            checkpoint: session.checkpoint_status().map(|c| CheckpointFigures {
                last: c.last.map(|s| (s.taken_ms, s.bytes)),
                failing: c.error.is_some(),
            }),
        });
    }
}

fn active_alerts(log: &AlertLog) -> AlertCounts {
    let mut counts = AlertCounts::default();
    for a in log.alerts.iter().filter(|a| a.is_active()) {
        counts.add(a.kind, a.severity);
    }
    counts
}

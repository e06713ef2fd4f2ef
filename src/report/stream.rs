//! `--no-tui`: the live session as JSON lines on stdout (README, `--no-tui`).
//!
//! `{"type":"alert",...}` when an alert fires, escalates or clears;
//! `{"type":"status",...}` every `--status-every` seconds; one
//! `{"type":"summary",...}` at exit (SIGINT, SIGTERM, or every source ended).
//! Each line is flushed as it is written, for whatever reads the pipe.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use crate::decision::kill_switch::SwitchState;
use crate::decision::kill_watch::{KillWatch, SharedKillWatch};
use crate::engine::alerts::{Alert, Transition};
use crate::engine::snapshot::FleetEntry;
use crate::live::{CheckpointStatus, Session};
use crate::record::time::{format_ms, now_ms};
use crate::source::{SourceState, SourceStatus};
use crate::team::alerts_publish::PublishQueue;

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    SourcesEnded,
    Interrupted,
    Terminated,
    /// Whoever read stdout went away.
    OutputClosed,
}

/// An alert transition as a JSON line (alert hooks send the same).
#[derive(Serialize)]
pub(crate) struct AlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    state: Transition,
    id: u64,
    alert_kind: &'static str,
    severity: &'static str,
    model: Option<&'a str>,
    index: u64,
    ts: String,
    detail: &'a str,
    /// The input features a `feature_drift` alert names.
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<Vec<&'a str>>,
    /// The segments a `segment_drift` alert names.
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<&'a str>>,
}

#[derive(Serialize)]
struct SourceLine<'a> {
    name: &'a str,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    lines: u64,
    errors: u64,
    reconnects: u64,
    dropped: u64,
    behind_bytes: u64,
    last_line_ts: Option<String>,
}

#[derive(Serialize)]
struct ModelLine<'a> {
    name: &'a str,
    predictions: u64,
    baseline: String,
    active_alerts: usize,
    /// Of those, acknowledged (here or, with a team, anywhere in it).
    acknowledged_alerts: usize,
    in_queue: usize,
    /// Cases evicted from the review queue, and of those for its bytes.
    review_evicted: u64,
    review_evicted_over_bytes: u64,
    /// The kill switch: `armed`, `tripped`, `not_confirmed`, ...
    kill: &'static str,
    /// Realized accuracy of the last `[labels] accuracy_over` labelled
    /// predictions, and how many labels that is.
    realized_accuracy: Option<f64>,
    realized_labels: u64,
}

#[derive(Serialize)]
struct StatusLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    ts: String,
    uptime_s: i64,
    lines: u64,
    predictions: u64,
    feedback: u64,
    malformed: u64,
    /// Feedback that never met its prediction, and of it what was dropped
    /// while waiting because the waiting feedback was over its bytes.
    feedback_unmatched: u64,
    feedback_evicted_over_bytes: u64,
    predictions_per_s: f64,
    active_alerts: usize,
    models: Vec<ModelLine<'a>>,
    sources: Vec<SourceLine<'a>>,
    /// The last checkpoint saved (with `--state-dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<CheckpointLine<'a>>,
    /// With a team: publishing its alerts to `MW_ALERTS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    team_alerts: Option<TeamAlertsLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<StopReason>,
}

#[derive(Serialize)]
struct TeamAlertsLine {
    /// Messages stored, already stored (another dashboard's), dropped with
    /// the queue full, failed attempts (retried), and waiting now.
    published: u64,
    duplicates: u64,
    dropped: u64,
    failures: u64,
    queued: usize,
}

fn team_alerts_line(queue: &PublishQueue) -> TeamAlertsLine {
    let count = crate::team::alerts_publish::PublishStats::count;
    TeamAlertsLine {
        published: count(&queue.stats.published),
        duplicates: count(&queue.stats.duplicates),
        dropped: count(&queue.stats.dropped),
        failures: count(&queue.stats.failures),
        queued: queue.queued(),
    }
}

#[derive(Serialize)]
struct CheckpointLine<'a> {
    /// When the last checkpoint saved was taken, and the lines it holds.
    ts: Option<String>,
    lines: Option<u64>,
    bytes: Option<u64>,
    /// Why the last save failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn checkpoint_line(status: &CheckpointStatus) -> CheckpointLine<'_> {
    CheckpointLine {
        ts: status.last.map(|s| format_ms(s.taken_ms)),
        lines: status.last.map(|s| s.lines),
        bytes: status.last.map(|s| s.bytes),
        error: status.error.as_deref(),
    }
}

pub(crate) fn state_name(state: &SourceState) -> (&'static str, Option<String>) {
    match state {
        SourceState::Starting => ("starting", None),
        SourceState::Following => ("following", None),
        SourceState::Connected => ("connected", None),
        SourceState::Waiting(why) => ("waiting", Some(why.clone())),
        SourceState::Reconnecting { at_ms } => (
            "reconnecting",
            Some(format!("next attempt at {}", format_ms(*at_ms))),
        ),
        SourceState::Ended => ("ended", None),
        SourceState::Failed(why) => ("failed", Some(why.clone())),
    }
}

fn source_line(s: &SourceStatus) -> SourceLine<'_> {
    let (state, detail) = state_name(&s.state);
    SourceLine {
        name: &s.name,
        state,
        detail: detail.or_else(|| s.last_error.clone()),
        lines: s.lines,
        errors: s.errors,
        reconnects: s.reconnects,
        dropped: s.dropped,
        behind_bytes: s.behind_bytes,
        last_line_ts: s.last_line_ms.map(format_ms),
    }
}

fn status_line<'a>(
    session: &'a Session,
    fleet: &'a [FleetEntry],
    kills: &KillWatch,
    team_alerts: Option<&PublishQueue>,
    tripped_elsewhere: &'a [String],
    kind: &'static str,
    reason: Option<StopReason>,
) -> StatusLine<'a> {
    let now = now_ms();
    let e = &session.engine;
    let kill = |name: &str| {
        kills
            .get(name, now)
            .map_or(SwitchState::Armed, |k| k.state)
            .as_str()
    };
    let mut models: Vec<ModelLine<'_>> = fleet
        .iter()
        .map(|m| ModelLine {
            name: &m.name,
            predictions: m.predictions,
            baseline: match m.baseline_n {
                Some(n) => format!("{n} predictions"),
                None => format!("collecting ({} so far)", m.collecting),
            },
            active_alerts: m.critical + m.warning,
            acknowledged_alerts: (m.critical + m.warning).saturating_sub(m.unacknowledged),
            in_queue: m.in_queue,
            review_evicted: m.review_evicted,
            review_evicted_over_bytes: m.review_evicted_over_bytes,
            kill: kill(&m.name),
            realized_accuracy: m.recent_accuracy.realized(),
            realized_labels: m.recent_accuracy.labelled,
        })
        .collect();
    // Models with a kill-switch record but no prediction yet.
    models.extend(tripped_elsewhere.iter().map(|name| ModelLine {
        name,
        predictions: 0,
        baseline: "no predictions yet".into(),
        active_alerts: 0,
        acknowledged_alerts: 0,
        in_queue: 0,
        review_evicted: 0,
        review_evicted_over_bytes: 0,
        kill: kill(name),
        realized_accuracy: None,
        realized_labels: 0,
    }));
    let active =
        models.iter().map(|m| m.active_alerts).sum::<usize>() + e.input_alerts().active_count();
    StatusLine {
        kind,
        ts: format_ms(now),
        uptime_s: (now - session.started_ms) / 1000,
        lines: e.counters().lines,
        predictions: e.counters().predictions,
        feedback: e.counters().feedback,
        malformed: e.counters().malformed,
        feedback_unmatched: e.feedback_unmatched(),
        feedback_evicted_over_bytes: e.feedback_evicted_over_bytes(),
        predictions_per_s: (session.rate.per_second(now) * 10.0).round() / 10.0,
        active_alerts: active,
        models,
        sources: session.sources.iter().map(source_line).collect(),
        checkpoint: session.checkpoint_status().map(checkpoint_line),
        team_alerts: team_alerts.map(team_alerts_line),
        reason,
    }
}

pub(crate) fn alert_line((state, a): &(Transition, Alert)) -> AlertLine<'_> {
    AlertLine {
        kind: "alert",
        state: *state,
        id: a.id,
        alert_kind: a.kind.as_str(),
        severity: a.severity.as_str(),
        model: a.model.as_deref(),
        index: match state {
            Transition::Cleared => a.cleared_index.unwrap_or(a.index),
            _ => a.index,
        },
        ts: format_ms(match state {
            Transition::Cleared => a.cleared_ts_ms.unwrap_or(a.ts_ms),
            _ => a.ts_ms,
        }),
        detail: &a.detail,
        features: listed(a, "features"),
        segments: listed(a, "segments"),
    }
}

/// The names an alert carries when outputs call them `key`.
fn listed<'a>(a: &'a Alert, key: &str) -> Option<Vec<&'a str>> {
    let names = a.names.as_ref().filter(|_| a.names_key() == key)?;
    Some(names.iter().map(|n| &**n).collect())
}

/// Writes one JSON line and flushes it.
fn emit<W: Write, T: Serialize>(out: &mut W, value: &T) -> io::Result<()> {
    crate::record::safe_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Runs the session until its sources end or a signal arrives, writing
/// alerts, periodic status and a final summary to `out` (with the team's
/// alert publishing, when given).
pub async fn run_headless<W: Write>(
    session: &mut Session,
    kills: &SharedKillWatch,
    team_alerts: Option<&PublishQueue>,
    status_every: Duration,
    out: &mut W,
) -> io::Result<StopReason> {
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut status = interval_at(Instant::now() + status_every, status_every);
    status.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let reason = loop {
        tokio::select! {
            event = session.next_event() => match event {
                Some(event) => session.handle(event),
                None => break StopReason::SourcesEnded,
            },
            _ = tick.tick() => {
                session.tick(now_ms());
                let mut kills = kills.lock();
                let models = kill_models(session, &kills);
                kills.refresh(&models);
                if session.all_ended() {
                    break StopReason::SourcesEnded;
                }
            }
            _ = status.tick() => {
                let kills = kills.lock();
                let elsewhere = recorded_only(session, &kills);
                if let Err(e) = emit(out, &status_line(session, &session.engine.fleet(), &kills, team_alerts, &elsewhere, "status", None)) {
                    break closed_or(e)?;
                }
            }
            _ = sigint.recv() => break StopReason::Interrupted,
            _ = sigterm.recv() => break StopReason::Terminated,
        }
        if let Err(e) = write_alerts(session, out) {
            break closed_or(e)?;
        }
    };
    session.shutdown().await;
    if reason != StopReason::OutputClosed {
        // Whatever fired on the last lines, then the summary.
        let mut kills = kills.lock();
        let models = kill_models(session, &kills);
        kills.refresh(&models);
        let elsewhere = recorded_only(session, &kills);
        let finish = write_alerts(session, out).and_then(|()| {
            emit(
                out,
                &status_line(
                    session,
                    &session.engine.fleet(),
                    &kills,
                    team_alerts,
                    &elsewhere,
                    "summary",
                    Some(reason),
                ),
            )
        });
        if let Err(e) = finish {
            closed_or(e)?;
        }
    }
    Ok(reason)
}

/// Every model whose switch is shown: the engine's and the log's.
fn kill_models(session: &Session, kills: &KillWatch) -> Vec<String> {
    let mut names: Vec<String> = session
        .engine
        .models()
        .iter()
        .map(|m| m.name.clone())
        .collect();
    names.extend(recorded_only(session, kills));
    names
}

/// Models the audit log has a kill-switch record for and no prediction named.
fn recorded_only(session: &Session, kills: &KillWatch) -> Vec<String> {
    kills.recorded_beside(|n| session.engine.model(n).is_some())
}

fn write_alerts<W: Write>(session: &mut Session, out: &mut W) -> io::Result<()> {
    for t in session.engine.take_transitions() {
        emit(out, &alert_line(&t))?;
    }
    Ok(())
}

/// A closed pipe ends the session quietly; other write errors are errors.
fn closed_or(e: io::Error) -> io::Result<StopReason> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(StopReason::OutputClosed)
    } else {
        Err(e)
    }
}

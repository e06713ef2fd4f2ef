//! The operator's desk in a live session: every action audited (and
//! fsynced) before it takes effect, the kill switch run off the loop, and
//! the state the screen shows for each.
//!
//! Decisions need the audit log: if it cannot be opened or written,
//! decisions are refused with a visible reason rather than carrying on
//! unrecorded. The kill switch does not: it trips anyway and says its
//! record is missing. What each model's switch is comes from this desk's
//! own runs and from the shared log and flag files ([`KillWatch`]), so a
//! trip made by another process shows here too.
//!
//! In a team, decisions on cases with an id are also published to the
//! team's stream (`team_review`): recorded first, applied once the cluster
//! stored them, refused while the team's link is down.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::decision::audit::AuditLog;
use crate::decision::audited::{
    AuditedKill, record_alert_acknowledge, record_baseline_reset, record_decision,
    record_team_outcome, reset_audited, trip_audited,
};
use crate::decision::kill_request::{ControlLink, KillRequest};
use crate::decision::kill_switch::{KillError, KillSwitch, SwitchState};
use crate::decision::kill_watch::{KillWatch, SharedKillWatch};
use crate::decision::settings::ActuatorSpec;
use crate::engine::review::ReviewItem;
use crate::engine::{Decision, Engine};
use crate::record::time::now_ms;
use crate::team::decisions_watch::SharedDone;
use crate::team::settings::Team;

use super::team_review::{AuditNote, Pending, SharedOutcome, TeamReview};

/// A finished kill-switch run, for the loop to show.
#[derive(Debug)]
pub struct KillDone {
    pub model: String,
    pub result: Result<AuditedKill, KillError>,
}

/// What finished off the loop.
#[derive(Debug)]
pub enum DeskDone {
    Kill(KillDone),
    Shared(SharedDone),
}

/// What the screen shows about a model's switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillView {
    pub state: SwitchState,
    /// The last run's per-actuator lines, and a missing-record warning.
    pub lines: Vec<String>,
    pub record_missing: Option<String>,
}

impl KillView {
    /// A switch in `state` with nothing to report yet.
    pub fn of(state: SwitchState) -> KillView {
        KillView {
            state,
            lines: Vec::new(),
            record_missing: None,
        }
    }
}

/// This desk's last run for a model.
#[derive(Debug, Clone)]
struct LocalRun {
    view: KillView,
    running: bool,
    /// The result's audit record, when it was written.
    result_seq: Option<u64>,
}

/// How the desk is set up.
pub struct DeskOptions {
    /// Not opened in read-only mode: nothing is recorded or changed.
    pub audit_path: PathBuf,
    pub operator: String,
    pub actuators: Vec<ActuatorSpec>,
    pub read_only: bool,
    /// Share review decisions with this team.
    pub team: Option<Team>,
    /// The process's watch on the switches, when others read it too (the
    /// metrics); else the desk makes its own.
    pub kills: Option<SharedKillWatch>,
}

/// A decision the desk took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Recorded (audit seq) and applied.
    Done(u64),
    /// Recorded (audit seq) and being published to the team: applied when
    /// the cluster answers ([`Desk::finish_shared`]).
    Sharing(u64),
}

pub struct Desk {
    log: Option<Arc<Mutex<AuditLog>>>,
    /// Why the audit log could not be opened: nothing is recorded.
    unrecorded: Option<String>,
    /// Why decisions stopped, once the log failed.
    stopped: Option<String>,
    operator: String,
    switch: Arc<KillSwitch>,
    done_tx: mpsc::Sender<KillDone>,
    done_rx: mpsc::Receiver<KillDone>,
    runs: HashMap<String, LocalRun>,
    watch: SharedKillWatch,
    team: Option<TeamReview>,
    /// Where the log is and what opening it found (a torn tail moved aside).
    pub audit_note: Option<String>,
}

impl Desk {
    /// Checks the audit log and sets up the kill switch. Never fails: a log
    /// that cannot be opened leaves decisions refused (with the reason on
    /// screen) and the kill switch working without its record.
    pub fn open(options: DeskOptions, control: Option<Arc<dyn ControlLink>>) -> Desk {
        let (mut log, mut note, mut unrecorded) = (None, None, None);
        if !options.read_only {
            match AuditLog::open(&options.audit_path) {
                Ok((opened, report)) => {
                    note = report.torn.map(|t| {
                        format!(
                            "a torn last record ({} bytes) was moved to {}",
                            t.bytes,
                            t.moved_to.display()
                        )
                    });
                    log = Some(Arc::new(Mutex::new(opened)));
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit log unavailable; decisions refused");
                    unrecorded = Some(e.to_string());
                }
            }
        }
        let watch = options.kills.clone().unwrap_or_else(|| {
            SharedKillWatch::new(KillWatch::new(
                Some(&options.audit_path),
                &options.actuators,
            ))
        });
        // Each model's recorded state now; flag files are read per model
        // on the loop's next check.
        watch.lock().refresh(&[]);
        let switch = KillSwitch::new(options.actuators, control).with_read_only(options.read_only);
        let (done_tx, done_rx) = mpsc::channel(16);
        let team = options
            .team
            .as_ref()
            .filter(|_| !options.read_only)
            .map(TeamReview::start);
        Desk {
            log,
            unrecorded,
            stopped: None,
            operator: options.operator,
            switch: Arc::new(switch),
            done_tx,
            done_rx,
            runs: HashMap::new(),
            watch,
            team,
            audit_note: note,
        }
    }

    /// Why decisions are refused, if they are.
    pub fn refusal(&self) -> Option<String> {
        if self.switch.is_read_only() {
            return Some("read-only mode: actions are disabled".into());
        }
        if let Some(why) = &self.unrecorded {
            return Some(format!(
                "decisions are not being recorded ({why}); the kill switch still acts"
            ));
        }
        if let Some(why) = &self.stopped {
            return Some(format!("decisions stopped: {why}"));
        }
        None
    }

    /// Runs `write` against the log; a failed write or sync (which poisons
    /// the log) stops decisions for good, a refused record does not.
    fn with_log<T>(
        &mut self,
        write: impl FnOnce(&mut AuditLog) -> Result<T, crate::decision::audit::AuditError>,
    ) -> Result<T, String> {
        if let Some(why) = self.refusal() {
            return Err(why);
        }
        let Some(log) = &self.log else {
            return Err("no audit log: actions are disabled".into());
        };
        let mut guard = log
            .lock()
            .map_err(|_| "the audit log is unavailable".to_string())?;
        write(&mut guard).map_err(|e| {
            self.stopped = guard.poisoned().map(str::to_owned);
            e.to_string()
        })
    }

    /// Why decisions shared with the team are refused now (its link is
    /// down), for the banner.
    pub fn team_down(&self) -> Option<String> {
        self.team.as_ref().and_then(TeamReview::down)
    }

    /// Records a decision on the case the operator saw (with the
    /// operator's note as its `reason`), then applies it, or in a team
    /// publishes it first.
    pub fn decide(
        &mut self,
        engine: &mut Engine,
        shown: &ReviewItem,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<Decided, String> {
        // A second key press on a case already decided (the screen had not
        // caught up) must not write a second record or count a second label.
        if engine
            .model(&shown.model)
            .is_some_and(|m| m.review.was_decided(shown.seq))
        {
            return Err(format!("{} was already decided", shown.case_id));
        }
        let subject = match &self.team {
            Some(team) if TeamReview::shares(shown, &decision) => Some(team.check(shown)?),
            _ => None,
        };
        let operator = self.operator.clone();
        let record =
            self.with_log(|log| record_decision(log, &operator, shown, &decision, note))?;
        let (Some(subject), Some(team)) = (subject, self.team.as_mut()) else {
            engine.decide(shown, &decision, now_ms());
            return Ok(Decided::Done(record.seq));
        };
        let pending = Pending {
            shown: shown.clone(),
            decision,
            audit_seq: record.seq,
        };
        match team.share(subject.clone(), pending, &operator) {
            Ok(()) => Ok(Decided::Sharing(record.seq)),
            Err(refused) => {
                let (pending, error) = *refused;
                let (text, _) = self.finish_outcome(
                    engine,
                    SharedOutcome::Failed {
                        pending,
                        error: error.clone(),
                    },
                    AuditNote::not_published(&subject, &error),
                );
                Err(text)
            }
        }
    }

    /// Applies the cluster's answer to a decision and records it; returns
    /// the notice and whether it is an error.
    pub fn finish_shared(&mut self, engine: &mut Engine, done: SharedDone) -> (String, bool) {
        let Some((outcome, note)) = self.team.as_mut().and_then(|t| t.outcome(done)) else {
            return (String::new(), false);
        };
        self.finish_outcome(engine, outcome, note)
    }

    fn finish_outcome(
        &mut self,
        engine: &mut Engine,
        outcome: SharedOutcome,
        note: AuditNote,
    ) -> (String, bool) {
        let pending = outcome.pending();
        let operator = self.operator.clone();
        // The publish's answer follows the decision's record in the log.
        let followed = self.with_log(|log| {
            record_team_outcome(
                log,
                &operator,
                &pending.shown,
                pending.audit_seq,
                note.result,
                note.detail,
            )
        });
        let missing = match followed {
            Ok(_) => String::new(),
            Err(e) => format!("; its team record could not be written: {e}"),
        };
        outcome.apply(engine, &missing)
    }

    /// Applies the team's decisions made elsewhere to the queue; one
    /// notice per case that left it.
    pub fn sync_team(&mut self, engine: &mut Engine) -> Vec<String> {
        self.team
            .as_mut()
            .map(|t| t.sync(engine))
            .unwrap_or_default()
    }

    /// Asks the team whether the case on screen is decided.
    pub fn look_up_shown(&mut self, shown: Option<&ReviewItem>) {
        if let Some(team) = &mut self.team {
            team.look_up(shown, now_ms());
        }
    }

    /// Records and applies an alert acknowledgement.
    pub fn acknowledge(
        &mut self,
        engine: &mut Engine,
        alert: &crate::engine::alerts::Alert,
    ) -> Result<u64, String> {
        let operator = self.operator.clone();
        let detail = serde_json::json!({
            "alert_id": alert.id,
            "kind": alert.kind.as_str(),
            "severity": alert.severity.as_str(),
            "index": alert.index,
            "detail": alert.detail,
        });
        let model = alert.model.clone().unwrap_or_default();
        let record =
            self.with_log(|log| record_alert_acknowledge(log, &operator, &model, detail))?;
        engine.acknowledge_alert(alert.id);
        Ok(record.seq)
    }

    /// Records and starts a new baseline for `model`.
    pub fn rebaseline(&mut self, engine: &mut Engine, model: &str) -> Result<u64, String> {
        let operator = self.operator.clone();
        let record = self.with_log(|log| record_baseline_reset(log, &operator, model))?;
        engine.rebaseline(model, now_ms());
        Ok(record.seq)
    }

    /// What each actuator will do for `model` (the confirmation dialog).
    pub fn describe_trip(&self, model: &str) -> Vec<String> {
        self.switch.describe(model)
    }

    pub fn describe_reset(&self, model: &str) -> Vec<String> {
        self.switch.describe_reset(model)
    }

    /// Whether a trip would be refused, and why.
    pub fn can_trip(&self) -> Result<(), String> {
        self.switch.check_trip().map_err(|e| e.to_string())
    }

    /// Starts a trip (audited request first, then every actuator); the
    /// result arrives through [`Desk::next_done`].
    pub fn trip(&mut self, model: &str, reason: &str) -> Result<(), String> {
        self.switch
            .check_trip_of(model)
            .map_err(|e| e.to_string())?;
        let request = KillRequest::new(model, reason, &self.operator);
        self.start_run(
            model,
            SwitchState::Tripping,
            move |log, switch| async move { trip_audited(log.as_deref(), &switch, request).await },
        );
        Ok(())
    }

    /// Starts a reset; `typed` must be the model's name.
    pub fn reset(&mut self, model: &str, typed: &str, reason: &str) -> Result<(), String> {
        // Never race a trip still running: whichever finished last would
        // decide what the screen says. (A trip is never refused.)
        if matches!(
            self.view(model).state,
            SwitchState::Tripping | SwitchState::Resetting
        ) {
            return Err(format!(
                "a kill-switch run for {model} is still in progress"
            ));
        }
        self.switch
            .check_reset(model, typed)
            .map_err(|e| e.to_string())?;
        let request = KillRequest::new(model, reason, &self.operator);
        let typed = typed.to_string();
        self.start_run(
            model,
            SwitchState::Resetting,
            move |log, switch| async move {
                reset_audited(log.as_deref(), &switch, request, &typed).await
            },
        );
        Ok(())
    }

    fn start_run<F, Fut>(&mut self, model: &str, state: SwitchState, run: F)
    where
        F: FnOnce(Option<Arc<Mutex<AuditLog>>>, Arc<KillSwitch>) -> Fut,
        Fut: std::future::Future<Output = Result<AuditedKill, KillError>> + Send + 'static,
    {
        // Count the run before it is polled, so a shutdown right now waits.
        let guard = self.switch.in_flight();
        let fut = run(self.log.clone(), Arc::clone(&self.switch));
        let tx = self.done_tx.clone();
        let model_name = model.to_string();
        self.runs.insert(
            model.to_string(),
            LocalRun {
                view: KillView::of(state),
                running: true,
                result_seq: None,
            },
        );
        tokio::spawn(async move {
            let result = fut.await;
            let _ = tx
                .send(KillDone {
                    model: model_name,
                    result,
                })
                .await;
            // Only now: `wait_runs` must find the result once idle.
            drop(guard);
        });
    }

    /// The next finished kill-switch run or answer of the team's cluster
    /// to a decision. Cancel-safe.
    pub async fn next_done(&mut self) -> DeskDone {
        let shared = async {
            match &mut self.team {
                Some(team) => team.next_done().await,
                None => None,
            }
        };
        tokio::select! {
            Some(kill) = self.done_rx.recv() => DeskDone::Kill(kill),
            Some(shared) = shared => DeskDone::Shared(shared),
            else => std::future::pending().await,
        }
    }

    /// Records a finished run in what the screen shows.
    pub fn finish(&mut self, done: &KillDone) {
        let run = match &done.result {
            Ok(run) => LocalRun {
                view: KillView {
                    state: run.outcome.state,
                    lines: run.outcome.summary_lines(),
                    record_missing: run.record_missing(),
                },
                running: false,
                result_seq: run.result_record.as_ref().ok().copied(),
            },
            Err(e) => LocalRun {
                view: KillView {
                    state: self.switch.state(&done.model),
                    lines: vec![e.to_string()],
                    record_missing: None,
                },
                running: false,
                result_seq: None,
            },
        };
        self.runs.insert(done.model.clone(), run);
    }

    /// Reads what other processes recorded (the shared audit log) and the
    /// flag files of `models`; true when a switch changed.
    /// Also reads the flag files of the models only the log names (the
    /// metrics show them from this watch).
    pub fn refresh_kills(&mut self, models: &[String]) -> bool {
        let mut watch = self.watch.lock();
        let shown: std::collections::HashSet<&str> = models.iter().map(String::as_str).collect();
        let mut all = models.to_vec();
        all.extend(watch.recorded_beside(|n| shown.contains(n)));
        watch.refresh(&all)
    }

    /// What the screen shows for a model's switch: this desk's run while
    /// it is in progress or newer than anything recorded, else the record.
    pub fn view(&self, model: &str) -> KillView {
        let local = self.runs.get(model);
        if let Some(run) = local.filter(|r| r.running) {
            return run.view.clone();
        }
        let known = self.watch.lock().get(model, now_ms());
        match (local, known) {
            (Some(run), Some(k)) if run.result_seq.is_some_and(|s| k.seq >= s) => KillView {
                state: k.state,
                // This desk's own result, as recorded: keep its actuator lines.
                lines: if Some(k.seq) == run.result_seq && k.state == run.view.state {
                    run.view.lines.clone()
                } else {
                    vec![k.note]
                },
                record_missing: None,
            },
            (Some(run), _) => run.view.clone(),
            (None, Some(k)) => KillView {
                state: k.state,
                lines: vec![k.note],
                record_missing: None,
            },
            (None, None) => KillView::of(SwitchState::Armed),
        }
    }

    /// Models whose last trip from this desk was not confirmed by every
    /// actuator (quitting then exits 1).
    pub fn unconfirmed_trips(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .runs
            .iter()
            .filter(|(m, _)| self.view(m).state == SwitchState::NotConfirmed)
            .map(|(m, _)| m.clone())
            .collect();
        models.sort();
        models
    }

    /// Waits for kill-switch runs in flight (at most as long as a run can
    /// take: every actuator has a timeout), so that a trip the operator
    /// confirmed completes even when the session is stopping.
    pub async fn wait_runs(&mut self) {
        let limit = self.switch.longest_run();
        let _ = tokio::time::timeout(limit, self.switch.wait_idle()).await;
        while let Ok(done) = self.done_rx.try_recv() {
            self.finish(&done);
        }
    }
}

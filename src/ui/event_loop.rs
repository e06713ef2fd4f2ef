//! The dashboard's loop, sibling of `report::stream::run_headless`: one
//! tokio `select!` over source events, terminal events, finished
//! kill-switch runs, a 1 s tick and signals. It redraws only when
//! something changed, at most `fps` times a second, so a flood of events
//! becomes one snapshot and one frame per frame interval, and an idle
//! screen wakes once a second (for the "ago" labels).

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::app::App;
use super::dialog::Dialog;
use super::draw::{ScreenContext, draw};
use super::effect::Effect;
use super::keymap::Action;
use super::review_page::{ReviewPage, Shown};
use super::settings::UiSettings;
use super::terminal::Tui;
use crate::decision::kill_switch::SwitchState;
use crate::engine::snapshot::Snapshot;
use crate::live::Session;
use crate::live::desk::{Decided, Desk, DeskDone, KillDone, KillView};
use crate::live::team_review::decision_verb;
use crate::record::time::now_ms;

/// How often the shared audit log and the flag files are read for trips
/// and resets made elsewhere (shown within a second).
const KILL_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Why the dashboard stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiExit {
    Quit,
    Terminated,
    /// The terminal went away (input closed).
    TerminalClosed,
}

/// Runs the dashboard on `session` until the operator quits or a signal
/// arrives. Restores the terminal before returning (and on panic); waits
/// for a kill-switch run in flight first (as long as its slowest actuator
/// may take), so a confirmed trip always completes; stops the sources last.
pub async fn run(
    session: &mut Session,
    desk: &mut Desk,
    settings: UiSettings,
) -> Result<UiExit, String> {
    let mut tui =
        Tui::enter(settings.mouse).map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let mut app = App::new(settings.keymap.clone(), settings.theme.clone());
    app.trip_block = desk.can_trip().err();
    if let Some(note) = &desk.audit_note {
        app.notice(format!("audit log: {note}"), false, now_ms());
    }
    if !session.notes.is_empty() {
        app.notice(session.notes.join("; "), false, now_ms());
    }
    let mut state = LoopState::new(session, &app);
    let started = std::time::Instant::now();
    let result = state
        .run(&mut tui, session, desk, &mut app, &settings)
        .await;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        frames = state.frames,
        snapshots = state.snapshots,
        secs,
        fps = state.frames as f64 / secs.max(1e-3),
        "dashboard closed"
    );
    // A trip the operator confirmed completes before we exit.
    if desk_busy(desk, &state.shown.snap) {
        state.closing = Some("waiting for the kill switch to finish (at most 15 s)…".into());
        let _ = state.draw(&mut tui, session, desk, &mut app);
    }
    desk.wait_runs().await;
    drop(tui);
    session.shutdown().await;
    result
}

fn desk_busy(desk: &Desk, shown: &Snapshot) -> bool {
    shown.fleet.iter().any(|f| {
        matches!(
            desk.view(&f.name).state,
            SwitchState::Tripping | SwitchState::Resetting
        )
    })
}

struct LoopState {
    /// The snapshot on screen: what keys act on.
    shown: Shown,
    /// Something on screen changed since the last frame (a key, a tick).
    dirty: bool,
    /// The engine changed since the last snapshot.
    stale: bool,
    /// Take a snapshot for the next frame even while paused (the operator
    /// acted, or changed what the view shows).
    fresh: bool,
    /// Predictions when the view was paused.
    paused_at: Option<u64>,
    closing: Option<String>,
    /// Frames drawn and snapshots taken (logged at exit).
    frames: u64,
    snapshots: u64,
}

impl LoopState {
    fn new(session: &Session, app: &App) -> LoopState {
        LoopState {
            shown: Shown::take(&session.engine, app.model.as_deref(), &app.query()),
            dirty: true,
            stale: false,
            fresh: false,
            paused_at: None,
            closing: None,
            frames: 0,
            snapshots: 0,
        }
    }

    async fn run(
        &mut self,
        tui: &mut Tui,
        session: &mut Session,
        desk: &mut Desk,
        app: &mut App,
        settings: &UiSettings,
    ) -> Result<UiExit, String> {
        let signal_err = |e: std::io::Error| format!("cannot handle signals: {e}");
        let mut sigterm = signal(SignalKind::terminate()).map_err(signal_err)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(signal_err)?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(signal_err)?;
        let mut keys = EventStream::new();
        let mut tick = interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut kill_check = interval(KILL_CHECK_EVERY);
        kill_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let gap = Duration::from_secs_f64(1.0 / f64::from(settings.fps.max(1)));
        let mut last_frame = Instant::now() - gap;
        let mut sources_open = true;
        loop {
            let frame_due = last_frame + gap;
            let wants_frame = self.dirty || self.stale || self.fresh;
            let now = now_ms();
            let arming_until = app.arming_until(now);
            let arming = arming_until.is_some();
            let armed_at = Instant::now()
                + Duration::from_millis(arming_until.map_or(0, |t| (t - now).max(0) as u64 + 1));
            tokio::select! {
                event = session.next_event(), if sources_open => match event {
                    // Ingest no further than the next frame's time.
                    Some(event) if wants_frame => session.handle_until(event, frame_due.into_std()),
                    Some(event) => session.handle(event),
                    None => sources_open = false,
                },
                done = desk.next_done() => match done {
                    DeskDone::Kill(done) => self.kill_done(desk, app, &done),
                    DeskDone::Shared(done) => {
                        let (text, error) = desk.finish_shared(&mut session.engine, done);
                        if !text.is_empty() {
                            app.notice(text, error, now_ms());
                        }
                        (self.dirty, self.fresh) = (true, true);
                    }
                },
                event = keys.next() => match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        self.dirty = true;
                        let before = (app.paused, app.model.clone(), app.order, app.filter.clone());
                        let effect = app.on_key(key, &self.shown, now_ms());
                        if app.paused != before.0 {
                            self.toggle_pause(session, app);
                        }
                        // Paused, only what the operator changed is copied again.
                        self.fresh |= !app.paused
                            || effect.is_some()
                            || (app.paused, app.model.clone(), app.order, app.filter.clone()) != before;
                        if let Some(effect) = effect {
                            match self.perform(effect, session, desk, app) {
                                Flow::Go => {}
                                Flow::Quit => return Ok(UiExit::Quit),
                                Flow::Suspend => tui
                                    .suspend(settings.mouse)
                                    .map_err(|e| format!("terminal: {e}"))?,
                            }
                        }
                    }
                    Some(Ok(Event::Mouse(m))) => {
                        let action = match m.kind {
                            MouseEventKind::ScrollDown => Some(Action::MoveDown),
                            MouseEventKind::ScrollUp => Some(Action::MoveUp),
                            _ => None,
                        };
                        if let Some(a) = action.filter(|_| app.dialog.is_none()) {
                            app.apply(a, &self.shown, now_ms());
                            self.dirty = true;
                            self.fresh |= !app.paused;
                        }
                    }
                    Some(Ok(Event::Paste(text))) => {
                        app.on_paste(&text, now_ms());
                        self.dirty = true;
                        self.fresh |= !app.paused;
                    }
                    Some(Ok(Event::Resize(..))) => {
                        let _ = tui.terminal.autoresize();
                        self.dirty = true;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Ok(UiExit::TerminalClosed),
                },
                _ = tick.tick() => {
                    session.tick(now_ms());
                    self.dirty = true;
                }
                _ = kill_check.tick() => {
                    // Trips and resets made by other processes, and the
                    // team's decisions.
                    self.dirty |= desk.refresh_kills(&self.shown.snap.model_names());
                    for text in desk.sync_team(&mut session.engine) {
                        app.notice(text, false, now_ms());
                        (self.dirty, self.fresh) = (true, true);
                    }
                }
                _ = sleep_until(armed_at), if arming => {
                    // The confirmation's key hint appears once it is armed.
                    self.dirty = true;
                }
                _ = sleep_until(frame_due), if wants_frame => {
                    self.draw(tui, session, desk, app).map_err(|e| format!("terminal: {e}"))?;
                    // Keep the cadence: the next frame is due a gap after
                    // this one was, unless drawing ran late.
                    last_frame = frame_due.max(Instant::now() - gap / 2);
                }
                _ = sigterm.recv() => return Ok(UiExit::Terminated),
                _ = sighup.recv() => return Ok(UiExit::TerminalClosed),
                _ = sigint.recv() => return Ok(UiExit::Terminated),
            }
            if session.take_dirty() {
                self.stale = true;
            }
        }
    }

    fn toggle_pause(&mut self, session: &Session, app: &App) {
        self.paused_at = app.paused.then_some(session.engine.counters().predictions);
    }

    /// Takes a snapshot if the engine changed (not while paused, unless
    /// the operator acted) and draws one frame.
    fn draw(
        &mut self,
        tui: &mut Tui,
        session: &mut Session,
        desk: &mut Desk,
        app: &mut App,
    ) -> std::io::Result<()> {
        let size = tui.terminal.size()?;
        app.page = usize::from(size.height).max(8);
        // Paused, the snapshot stays (only the status bar's count moves).
        if self.fresh || (self.stale && self.paused_at.is_none()) {
            self.shown = Shown::take(&session.engine, app.model.as_deref(), &app.query());
            app.sync(&self.shown);
            // The sync may have chosen the model in trouble: show it now,
            // not at the next change of the input (which may never come).
            let on_screen = self.shown.snap.model.as_ref().map(|m| m.name.as_str());
            if app.model.is_some() && app.model.as_deref() != on_screen {
                self.shown = Shown::take(&session.engine, app.model.as_deref(), &app.query());
                app.sync(&self.shown);
            }
            self.snapshots += 1;
        } else {
            // Paused: the charts stay frozen; the queue page follows the
            // selection, and an open screen its selection and filter.
            let model = self.shown.snap.model.as_ref().map(|m| m.name.as_str());
            let query = app.query();
            let mut copied = false;
            if app.left_page(&self.shown)
                && let Some(m) = model
            {
                self.shown.review = ReviewPage::take(&session.engine, m, &query.review);
                copied = true;
            }
            if query.screen.needs_page(&self.shown.screen) {
                self.shown.screen = query.screen.take(&session.engine, model, app.page);
                copied = true;
            }
            if copied {
                app.sync(&self.shown);
            }
        }
        desk.look_up_shown(self.shown.review.selected_row());
        self.frames += 1;
        (self.dirty, self.stale, self.fresh) = (false, false, false);
        let now = now_ms();
        let kill = self
            .shown
            .snap
            .model
            .as_ref()
            .map(|m| desk.view(&m.name))
            .unwrap_or_else(|| KillView::of(SwitchState::Armed));
        let plan = match &app.dialog {
            Some(Dialog::ConfirmTrip { model, .. }) => desk.describe_trip(model),
            Some(Dialog::ConfirmReset { model, .. }) => desk.describe_reset(model),
            _ => Vec::new(),
        };
        let ctx = ScreenContext {
            now_ms: now,
            sources: &session.sources,
            rate: session.rate.per_second(now),
            kill,
            kill_elsewhere: self
                .shown
                .snap
                .fleet
                .iter()
                .filter(|f| Some(&f.name) != self.shown.snap.model.as_ref().map(|m| &m.name))
                .map(|f| (f.name.clone(), desk.view(&f.name).state))
                .filter(|(_, state)| *state != SwitchState::Armed)
                .collect(),
            refusal: desk.refusal(),
            team_down: desk.team_down(),
            paused_new: self
                .paused_at
                .map(|at| session.engine.counters().predictions.saturating_sub(at)),
            plan,
            closing: self.closing.clone(),
        };
        let shown = &self.shown;
        tui.terminal.draw(|frame| draw(frame, app, shown, &ctx))?;
        Ok(())
    }

    fn kill_done(&mut self, desk: &mut Desk, app: &mut App, done: &KillDone) {
        desk.finish(done);
        self.dirty = true;
        // Notices are escaped when drawn, like every other text.
        let model = &done.model;
        let now = now_ms();
        match &done.result {
            Ok(run) => match run.outcome.state {
                SwitchState::Tripped => app.notice(
                    format!("TRIPPED {model}: every actuator confirmed"),
                    false,
                    now,
                ),
                SwitchState::Armed => app.notice(
                    format!("re-armed {model}: every actuator confirmed"),
                    false,
                    now,
                ),
                _ => app.notice(
                    format!("KILL NOT CONFIRMED for {model}: an actuator failed (see above)"),
                    true,
                    now,
                ),
            },
            Err(e) => app.notice(format!("kill switch for {model}: {e}"), true, now),
        }
    }

    fn perform(
        &mut self,
        effect: Effect,
        session: &mut Session,
        desk: &mut Desk,
        app: &mut App,
    ) -> Flow {
        let now = now_ms();
        match effect {
            Effect::Decide {
                shown,
                decision,
                note,
            } => {
                let verb = decision_verb(&decision);
                // Shown as done only once the desk has fsynced the record
                // (and, in a team, once the cluster stored it).
                match desk.decide(&mut session.engine, &shown, decision, note.as_deref()) {
                    Ok(Decided::Done(seq)) => {
                        app.decided();
                        app.notice(
                            format!("{} {verb} (audit #{seq})", shown.case_id),
                            false,
                            now,
                        );
                    }
                    Ok(Decided::Sharing(seq)) => {
                        app.decided();
                        app.notice(
                            format!(
                                "{} {verb}: recorded (audit #{seq}), sharing with the team…",
                                shown.case_id
                            ),
                            false,
                            now,
                        );
                    }
                    Err(e) => app.notice(format!("not recorded, nothing done: {e}"), true, now),
                }
            }
            Effect::Acknowledge(alert) => match desk.acknowledge(&mut session.engine, &alert) {
                Ok(seq) => app.notice(
                    format!("acknowledged {} (audit #{seq})", alert.kind.as_str()),
                    false,
                    now,
                ),
                Err(e) => app.notice(format!("not acknowledged: {e}"), true, now),
            },
            Effect::Trip { model, note } => {
                // The operator's note is the trip's reason, if there is one.
                let reason = note.as_deref().unwrap_or("tripped from the dashboard");
                match desk.trip(&model, reason) {
                    Ok(()) => app.notice(format!("tripping {model}…"), false, now),
                    Err(e) => app.notice(format!("kill switch refused: {e}"), true, now),
                }
            }
            Effect::Reset { model, typed } => {
                match desk.reset(&model, &typed, "reset from the dashboard") {
                    Ok(()) => app.notice(format!("re-arming {model}…"), false, now),
                    Err(e) => app.notice(format!("reset refused: {e}"), true, now),
                }
            }
            Effect::Rebaseline { model } => match desk.rebaseline(&mut session.engine, &model) {
                Ok(seq) => app.notice(
                    format!("new baseline for {model} (audit #{seq})"),
                    false,
                    now,
                ),
                Err(e) => app.notice(format!("re-baseline refused: {e}"), true, now),
            },
            Effect::Quit => return Flow::Quit,
            Effect::Suspend => return Flow::Suspend,
        }
        self.fresh = true;
        Flow::Go
    }
}

enum Flow {
    Go,
    Quit,
    Suspend,
}

//! What `watch` and `demo` share: settings for a live session, starting
//! it, and running it headless or in the terminal UI.

use std::io::IsTerminal;
use std::time::Duration;

use std::sync::Arc;

use crate::cli::{SessionFlags, ViewFlags, WatchFlags};
use crate::config::Config;
use crate::decision::audited::operator_name;
use crate::decision::kill_watch::{KillWatch, SharedKillWatch};
use crate::engine::Engine;
use crate::live::checkpoints;
use crate::live::control::WebSocketControl;
use crate::live::desk::{Desk, DeskOptions};
use crate::live::{Session, StateOptions};
use crate::record::Parser;
use crate::record::sanitize::escape_untrusted;
use crate::report::build_report;
use crate::report::stream::run_headless;
use crate::source::settings::parse_header;
use crate::source::{SourceOptions, SourceSpec};
use crate::ui::settings::{UiEnv, UiSettings};

use super::killswitch::actuator_specs;
use super::paths::audit_path_to_open;
use super::settings::{
    CommandDefaults, engine_settings, load_baseline_file, load_config, max_line_bytes, resolve_team,
};
use super::sinks::Sinks;
use super::{Failure, Outcome};

/// Default seconds between `--no-tui` status lines.
const STATUS_EVERY_SECS: u64 = 10;

/// Whether this run draws the terminal UI.
pub fn wants_tui(view: &ViewFlags) -> bool {
    !view.no_tui && std::io::stdout().is_terminal()
}

fn source_options(
    config: &Config,
    flags: &WatchFlags,
    keep_raw: bool,
) -> Result<SourceOptions, Failure> {
    let headers = flags
        .follow
        .headers
        .iter()
        .map(|h| parse_header(h).map_err(|e| Failure(format!("-H: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut settings = config.sources.clone();
    if let Some(creds) = &flags.session.team.credentials_file {
        settings.nats.credentials_file = Some(creds.clone());
    }
    Ok(SourceOptions {
        from_start: flags.follow.from_start,
        since: flags.follow.since,
        poll: flags.follow.poll,
        max_line_bytes: max_line_bytes(config, &flags.input),
        headers,
        ca_file: flags.session.ca_file.file.clone(),
        keep_raw,
        settings,
        resume: Default::default(),
        track_positions: false,
    })
}

/// How a live session is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// The dashboard when stdout is a terminal and `--no-tui` is not
    /// given, else JSON lines; logs to the log file.
    Auto,
    /// `agent`: JSON lines whatever stdout is; logs on stderr.
    Agent,
}

/// Runs a live session on `specs` until its sources end or it is stopped.
pub fn run_live(
    specs: Vec<SourceSpec>,
    flags: &WatchFlags,
    defaults: CommandDefaults,
) -> Result<Outcome, Failure> {
    run_session(specs, flags, defaults, Frontend::Auto)
}

/// [`run_live`] with the frontend chosen.
pub fn run_session(
    specs: Vec<SourceSpec>,
    flags: &WatchFlags,
    defaults: CommandDefaults,
    frontend: Frontend,
) -> Result<Outcome, Failure> {
    let session_flags: &SessionFlags = &flags.session;
    let config = load_config(&session_flags.config)?;
    let tui = frontend == Frontend::Auto && wants_tui(&session_flags.view);
    let mut settings = engine_settings(&config, &session_flags.stats, defaults)?;
    settings.review.keep_input = tui;
    // The sliding window is what is shown and checked live; the report's
    // windows (the last `windows_kept` of each model) are kept only for a
    // report at exit and in checkpoints (their cost is not paid otherwise).
    if flags.state.state_dir.is_none() && flags.state.report.is_none() {
        settings.windows_kept = Some(0);
    }
    let parser = Parser::new(Some(config.input.mapping.clone()));
    let mut engine = Engine::new(settings);
    // Only the JSON-lines output reads alert transitions; the dashboard
    // shows the alert log itself (the hooks have their own tap).
    engine.set_emit_transitions(!tui);
    if let Some(path) = &session_flags.stats.baseline_file {
        engine.set_baseline_file(load_baseline_file(path)?, &path.display().to_string());
    }
    // Before anything starts: a bad --theme is a usage error (exit 2).
    let ui_settings = ui_settings(&config, &session_flags.view)?;
    let options = source_options(&config, flags, tui)?;
    let _logs = match frontend {
        Frontend::Auto => super::logging::init(),
        Frontend::Agent => super::json_log::init_stderr(),
    };
    let team = resolve_team(&config, &session_flags.team, &session_flags.ca_file)?;
    let runtime = super::runtime()?;
    // A dashboard opens an agent's state read-only; a headless run owns it.
    let state = flags.state.state_dir.as_ref().map(|dir| StateOptions {
        dir: dir.clone(),
        every: flags
            .state
            .checkpoint_every
            .map_or(checkpoints::DEFAULT_EVERY, Duration::from_secs),
        must_own: !tui,
    });
    runtime.block_on(async {
        let operator = operator_name(config.audit.operator.as_deref());
        let sinks = Sinks::start(&config, session_flags, team.as_ref(), &operator).await?;
        sinks.tap(&mut engine);
        let mut session = match &state {
            Some(state) => {
                Session::start_with_state(engine, parser, specs, options, state).map_err(Failure)?
            }
            None => Session::start(engine, parser, specs, options)
                .map_err(|e| Failure(e.to_string()))?,
        };
        for note in &session.notes {
            tracing::info!("{note}");
            if !tui {
                eprintln!("modelwatch: {}", escape_untrusted(note));
            }
        }
        let audit_path = audit_path_to_open(&config, &session_flags.audit_log);
        let actuators = actuator_specs(
            &config,
            &session_flags.kill_switch,
            &session_flags.ca_file,
            team.as_ref(),
        )?;
        // One watch on the switches for the screen (or the lines) and the
        // metrics.
        let kills = SharedKillWatch::new(KillWatch::new(Some(&audit_path), &actuators));
        sinks.observe(&mut session, &kills);
        let outcome = if tui {
            let options = DeskOptions {
                audit_path,
                operator,
                actuators,
                read_only: session_flags.kill_switch.read_only,
                team: team.clone(),
                kills: Some(kills),
            };
            dashboard(&mut session, options, ui_settings, flags).await
        } else {
            let every =
                Duration::from_secs(session_flags.view.status_every.unwrap_or(STATUS_EVERY_SECS));
            let mut out = std::io::stdout().lock();
            let team_alerts = sinks.team_alerts_queue();
            let stopped = run_headless(
                &mut session,
                &kills,
                team_alerts.as_deref(),
                every,
                &mut out,
            )
            .await;
            if let Ok(reason) = &stopped {
                // As the summary line names it.
                let reason = serde_json::to_value(reason).unwrap_or_default();
                tracing::info!(
                    reason = reason.as_str().unwrap_or_default(),
                    predictions = session.engine.counters().predictions,
                    "session ended"
                );
            }
            match stopped {
                Ok(_) => write_report(&session, flags).map(|()| Outcome::Ok),
                Err(e) => Err(Failure(format!("stdout: {e}"))),
            }
        };
        sinks.finish().await;
        outcome
    })
}

async fn dashboard(
    session: &mut Session,
    options: DeskOptions,
    ui_settings: UiSettings,
    flags: &WatchFlags,
) -> Result<Outcome, Failure> {
    let control = WebSocketControl::from_set(session.source_set());
    // An audit log that cannot be opened is a banner, not a failure:
    // the kill switch must be reachable whatever its state.
    let mut desk = Desk::open(options, Some(Arc::new(control)));
    let exit = crate::ui::run(session, &mut desk, ui_settings).await;
    exit.map_err(Failure)?;
    write_report(session, flags)?;
    let unconfirmed = desk.unconfirmed_trips();
    if !unconfirmed.is_empty() {
        let names: Vec<String> = unconfirmed
            .iter()
            .map(|m| escape_untrusted(m).into_owned())
            .collect();
        eprintln!(
            "modelwatch: KILL NOT CONFIRMED for {}: an actuator did not confirm the trip",
            names.join(", ")
        );
        return Ok(Outcome::CheckFailed);
    }
    Ok(Outcome::Ok)
}

/// `--report FILE`: the report `replay` writes, about what the session
/// watched (its windows are the last `windows_kept` of each model).
fn write_report(session: &Session, flags: &WatchFlags) -> Result<(), Failure> {
    let Some(path) = &flags.state.report else {
        return Ok(());
    };
    let mut json = crate::record::safe_json::to_vec(&build_report(&session.engine))
        .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    json.push(b'\n');
    crate::durable::write_atomically(path, &json)
        .map_err(|e| Failure(format!("{}: {e}", path.display())))
}

/// The dashboard's settings: `[ui]` in the config, then `--theme`, `--fps`
/// and `NO_COLOR`. `[ui]` was checked when the config loaded and clap
/// checked `--fps`, so what can still be wrong is `--theme`.
fn ui_settings(config: &Config, view: &ViewFlags) -> Result<UiSettings, Failure> {
    UiSettings::resolve(
        &config.ui,
        view.theme.as_deref(),
        view.fps,
        &UiEnv::detect(),
    )
    .map_err(|e| Failure(format!("--theme: {e}")))
}

//! `modelwatch trip` and `modelwatch reset`: the kill switch from a script.
//!
//! Same config and audit log as the dashboard: the log is `--audit-log`,
//! else `[audit] path`, else `$XDG_STATE_HOME/modelwatch/audit.jsonl`. Exit 0 only when
//! every actuator confirmed and both audit records were written; 1 when an
//! actuator did not confirm; 2 on usage or config errors (nothing ran), or
//! when the switch acted but its audit record could not be written. The
//! log is shared: a dashboard open on it never blocks a trip. SIGTERM and
//! SIGINT are held until the run has finished.

use std::sync::Mutex;

use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{CaFileFlag, KillSwitchCommandFlags, KillSwitchFlags, ResetArgs, TripArgs};
use crate::config::Config;
use crate::decision::audit::AuditLog;
use crate::decision::audited::{AuditedKill, operator_name, reset_audited, trip_audited};
use crate::decision::kill_request::{KillAction, KillRequest};
use crate::decision::kill_switch::KillSwitch;
use crate::decision::settings::{ActuatorSpec, FlagFileSpec, HttpSpec, NatsKvSpec};
use crate::team::settings::Team;

use crate::record::sanitize::escape_untrusted;

use super::settings::{load_config, resolve_team};
use super::{Failure, Outcome};

pub fn trip(args: &TripArgs) -> Result<Outcome, Failure> {
    run(KillAction::Trip, &args.model, &args.reason, "", &args.flags)
}

pub fn reset(args: &ResetArgs) -> Result<Outcome, Failure> {
    run(
        KillAction::Reset,
        &args.model,
        &args.reason,
        &args.confirm,
        &args.flags,
    )
}

/// The configured actuators plus `--kill-file`; HTTP actuators also trust
/// `--ca-file` (checked now, so a bad file stops the command before
/// anything runs).
pub fn actuator_specs(
    config: &Config,
    kill_switch: &KillSwitchFlags,
    ca_file: &CaFileFlag,
    team: Option<&Team>,
) -> Result<Vec<ActuatorSpec>, Failure> {
    let mut specs = config.kill_switch.actuators.clone();
    // A team shares its kill switch: its key in MW_KILL, unless the config
    // already names that actuator.
    if let Some(team) = team {
        let named = specs.iter().any(|s| {
            matches!(s, ActuatorSpec::NatsKv(kv)
                if kv.team == team.name && kv.bucket == crate::team::kill_kv::DEFAULT_BUCKET)
        });
        if !named {
            specs.push(ActuatorSpec::NatsKv(NatsKvSpec {
                url: team.url.clone(),
                bucket: crate::team::kill_kv::DEFAULT_BUCKET.into(),
                team: team.name.clone(),
                credentials_file: team.credentials_file.clone(),
                ca_file: team.ca_file.clone(),
                timeout: team.timeout,
            }));
        }
    }
    if let Some(path) = &ca_file.file {
        let http: Vec<&mut HttpSpec> = specs
            .iter_mut()
            .filter_map(|s| match s {
                ActuatorSpec::Http(h) => Some(h),
                _ => None,
            })
            .collect();
        if !http.is_empty() {
            crate::tls_roots::read_ca_file(path).map_err(|e| Failure(format!("--ca-file {e}")))?;
        }
        for h in http {
            h.ca_files.push(path.clone());
        }
    }
    if let Some(path) = &kill_switch.kill_file {
        specs.push(ActuatorSpec::FlagFile(FlagFileSpec::from_path(
            path.clone(),
        )));
    }
    Ok(specs)
}

fn run(
    action: KillAction,
    model: &str,
    reason: &str,
    confirm: &str,
    flags: &KillSwitchCommandFlags,
) -> Result<Outcome, Failure> {
    let name = match action {
        KillAction::Trip => "trip",
        KillAction::Reset => "reset",
    };
    if flags.kill_switch.read_only {
        return Err(Failure(format!(
            "{name}: refused in read-only mode (--read-only disables the kill switch)"
        )));
    }
    if model.is_empty() {
        return Err(Failure(format!("{name}: --model must name a model")));
    }
    let config = load_config(&flags.config)?;
    let team = resolve_team(&config, &flags.team, &flags.ca_file)?;
    let specs = actuator_specs(&config, &flags.kill_switch, &flags.ca_file, team.as_ref())?;
    let switch = KillSwitch::new(specs, None);
    match action {
        KillAction::Trip => switch.check_trip(),
        KillAction::Reset => switch.check_reset(model, confirm),
    }
    .map_err(|e| Failure(format!("{name}: {e}")))?;
    let operator = operator_name(config.audit.operator.as_deref());
    let path = super::paths::audit_path_to_open(&config, &flags.audit_log);
    // Actuator failures and audit errors are logged as in the dashboard.
    let _logs = super::logging::init();
    let runtime = super::runtime()?;
    let done = runtime.block_on(async {
        // Before anything is recorded, so a signal cannot cut a run short.
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Failure(format!("cannot handle SIGTERM: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Failure(format!("cannot handle SIGINT: {e}")))?;
        let log = match AuditLog::open(&path) {
            Ok((log, report)) => {
                if let Some(t) = report.torn {
                    eprintln!(
                        "modelwatch: {}: a torn last line ({} bytes) was moved to {}",
                        path.display(),
                        t.bytes,
                        t.moved_to.display()
                    );
                }
                Some(Mutex::new(log))
            }
            // The switch must act whatever the log's state; the missing
            // record is reported (exit 2).
            Err(e) => {
                eprintln!("modelwatch: {e}; acting without an audit record");
                None
            }
        };
        let request = KillRequest::new(model, reason, operator);
        let work = async {
            match action {
                KillAction::Trip => trip_audited(log.as_ref(), &switch, request).await,
                KillAction::Reset => reset_audited(log.as_ref(), &switch, request, confirm).await,
            }
        };
        tokio::pin!(work);
        let done = loop {
            tokio::select! {
                done = &mut work => break done,
                Some(()) = term.recv() => {}
                Some(()) = int.recv() => {}
            }
            eprintln!("modelwatch: signal received; finishing the {name} first");
        };
        done.map_err(|e| Failure(format!("{name}: {e}")))
    })?;
    report(&done)
}

fn report(done: &AuditedKill) -> Result<Outcome, Failure> {
    let out = &done.outcome;
    // Model names and actuator details are data: escaped like on screen.
    let lines: Vec<String> = out
        .summary_lines()
        .iter()
        .map(|l| escape_untrusted(l).into_owned())
        .collect();
    let mut text = lines.join("\n");
    let model = escape_untrusted(&out.model);
    let seqs = match (&done.request_record, &done.result_record) {
        (Ok(a), Ok(b)) => format!("audit seq {a}, {b}"),
        _ => "audit record missing".into(),
    };
    let failed = out.results.iter().filter(|r| !r.confirmed).count();
    let last = match (out.action, out.confirmed()) {
        (KillAction::Trip, true) => format!("TRIPPED {model}"),
        (KillAction::Reset, true) => format!("ARMED {model}"),
        (KillAction::Trip, false) => format!("KILL NOT CONFIRMED {model}"),
        (KillAction::Reset, false) => format!("RESET NOT CONFIRMED {model}"),
    };
    let failed = if failed > 0 {
        format!(": {failed} of {} actuators failed", out.results.len())
    } else {
        String::new()
    };
    text.push_str(&format!(
        "\n{last}{failed} (request {}, {seqs})",
        out.request_id
    ));
    super::print_line(&text)?;
    if !out.confirmed() {
        if let Some(missing) = done.record_missing() {
            eprintln!("modelwatch: {}", escape_untrusted(&missing));
        }
        return Ok(Outcome::CheckFailed);
    }
    match done.record_missing() {
        Some(missing) => Err(Failure(format!(
            "the switch acted on every actuator, but {missing}"
        ))),
        None => Ok(Outcome::Ok),
    }
}

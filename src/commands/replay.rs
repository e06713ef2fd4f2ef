//! `modelwatch replay FILE...`: the engine without a terminal, as fast as
//! the input can be read, then the report on stdout.

use crate::cli::ReplayArgs;
use crate::report::build_report;

use super::settings::{WATCH_DEFAULTS, engine_settings, load_config, replay_files};
use super::{Failure, Outcome, write_json_stdout};

pub fn run(args: &ReplayArgs) -> Result<Outcome, Failure> {
    let config = load_config(&args.config)?;
    let mut settings = engine_settings(&config, &args.stats, WATCH_DEFAULTS)?;
    // The report lists every window; nobody reviews cases in a replay.
    settings.windows_kept = None;
    settings.review.keep_input = false;
    let engine = replay_files(
        settings,
        &config,
        &args.input,
        &args.files,
        args.stats.baseline_file.as_deref(),
    )?;
    let report = build_report(&engine);
    write_json_stdout(&report, args.pretty)?;
    Ok(if args.check && report.any_alert() {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

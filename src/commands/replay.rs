//! `modelwatch replay FILE...`: the engine without a terminal, as fast as
//! the input can be read, then the report on stdout.

use crate::cli::{GlobalArgs, ReplayArgs};
use crate::engine::Engine;
use crate::record::Parser;
use crate::report::build_report;
use crate::source::input::feed_files;

use super::settings::{
    WATCH_DEFAULTS, engine_settings, load_baseline_file, load_config, max_line_bytes,
};
use super::{Failure, Outcome, write_json_stdout};

pub fn run(args: &ReplayArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let config = load_config(global)?;
    let mut settings = engine_settings(&config, global, WATCH_DEFAULTS)?;
    // The report lists every window; nobody reviews cases in a replay.
    settings.windows_kept = None;
    settings.review.keep_input = false;
    let parser = Parser::new(Some(config.input.mapping.clone()));
    let mut engine = Engine::new(settings);
    engine.set_emit_transitions(false);
    if let Some(path) = &global.baseline_file {
        engine.set_baseline_file(load_baseline_file(path)?, &path.display().to_string());
    }
    feed_files(
        &mut engine,
        &parser,
        &args.files,
        max_line_bytes(&config, global),
    )?;
    let report = build_report(&engine);
    write_json_stdout(&report, args.pretty)?;
    Ok(if args.check && report.any_alert() {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}

//! `modelwatch agent SOURCE...`: the live session unattended, for systemd.
//! The same sources, flags, config, rules, actuators, audit log, metrics
//! and alert hooks as `watch`; the `watch --no-tui` JSON lines on stdout
//! whatever stdout is; logs on stderr as one JSON object a line (the
//! journal keeps them); SIGTERM or SIGINT ends it with the summary line.

use crate::cli::WatchFlags;

use super::session::{Frontend, run_session};
use super::settings::WATCH_DEFAULTS;
use super::{Failure, Outcome};

pub fn run(sources: &[String], flags: &WatchFlags) -> Result<Outcome, Failure> {
    let specs = super::watch::source_specs(sources, flags)?;
    run_session(specs, flags, WATCH_DEFAULTS, Frontend::Agent)
}

//! `modelwatch [watch] SOURCE...`: the live session on files, stdin and
//! websockets, in the terminal UI or as JSON lines.

use crate::cli::WatchFlags;
use crate::source::SourceSpec;

use super::session::run_live;
use super::settings::WATCH_DEFAULTS;
use super::{Failure, Outcome};

pub fn run(sources: &[String], flags: &WatchFlags) -> Result<Outcome, Failure> {
    let specs = sources.iter().map(|s| SourceSpec::parse(s)).collect();
    run_live(specs, flags, WATCH_DEFAULTS)
}

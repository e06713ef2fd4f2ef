//! `modelwatch [watch] SOURCE...`: the live session on files, stdin and
//! websockets, in the terminal UI or as JSON lines.

use crate::cli::WatchFlags;
use crate::source::SourceSpec;

use super::session::run_live;
use super::settings::WATCH_DEFAULTS;
use super::{Failure, Outcome};

pub fn run(sources: &[String], flags: &WatchFlags) -> Result<Outcome, Failure> {
    run_live(source_specs(sources, flags)?, flags, WATCH_DEFAULTS)
}

/// The sources as given (`watch`, `agent`); `--since` only where a source
/// can go back in time.
pub fn source_specs(sources: &[String], flags: &WatchFlags) -> Result<Vec<SourceSpec>, Failure> {
    let specs: Vec<SourceSpec> = sources.iter().map(|s| SourceSpec::parse(s)).collect();
    if flags.follow.since.is_some() && !specs.iter().any(|s| matches!(s, SourceSpec::Nats(_))) {
        return Err(Failure(
            "--since applies to nats:// sources (a JetStream stream's history) and none is given"
                .into(),
        ));
    }
    Ok(specs)
}

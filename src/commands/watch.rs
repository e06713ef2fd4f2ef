//! `modelwatch [watch] SOURCE...`: the live session on files, stdin and
//! websockets, in the terminal UI or as JSON lines.

use crate::cli::GlobalArgs;

use super::{Failure, Outcome};

pub fn run(_sources: &[String], _global: &GlobalArgs) -> Result<Outcome, Failure> {
    Err(Failure("watch: not built yet".into()))
}

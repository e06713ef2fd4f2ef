//! `modelwatch demo`: the live session on the built-in simulated model, or
//! that model served as a websocket (`--serve`) or written to a file.

use crate::cli::{DemoArgs, GlobalArgs};

use super::{Failure, Outcome};

pub fn run(_args: &DemoArgs, _global: &GlobalArgs) -> Result<Outcome, Failure> {
    Err(Failure("demo: not built yet".into()))
}

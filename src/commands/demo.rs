//! `modelwatch demo`: the live session on the built-in simulated model, or
//! that model served as a websocket (`--serve`) or written to a file.

use crate::cli::{DemoArgs, GlobalArgs};
use crate::source::SourceSpec;
use crate::source::demo::DemoSpec;

use super::live::run_live;
use super::settings::DEMO_DEFAULTS;
use super::{Failure, Outcome};

pub fn run(args: &DemoArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let spec = DemoSpec {
        seed: args.seed,
        rate: args.rate,
        limit: args.limit,
    };
    if args.serve.is_some() || args.write.is_some() {
        return Err(Failure("demo --serve/--write: not built yet".into()));
    }
    run_live(vec![SourceSpec::Demo(spec)], global, DEMO_DEFAULTS)
}

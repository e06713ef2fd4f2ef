//! `modelwatch baseline FILE -o OUT`: capture each model's baseline as
//! exact value counts.

use std::collections::BTreeMap;

use crate::cli::{BaselineArgs, StatsFlags};
use crate::engine::baseline::BaselineFile;
use crate::engine::settings::BaselineSpec;

use super::settings::{CommandDefaults, engine_settings, load_config, replay_files};
use super::{Failure, Outcome};

pub fn run(args: &BaselineArgs) -> Result<Outcome, Failure> {
    let config = load_config(&args.config)?;
    // Without --baseline every prediction in the input is the baseline.
    let all = ALL_PREDICTIONS;
    let defaults = CommandDefaults {
        baseline: BaselineSpec::Count(all),
        window: 1_000,
    };
    let stats = StatsFlags {
        baseline: args.baseline,
        ..StatsFlags::default()
    };
    let mut settings = engine_settings(&config, &stats, defaults)?;
    settings.baseline_max = settings.baseline_max.max(all);
    settings.review.keep_input = false;
    settings.windows_kept = Some(0);
    let engine = replay_files(settings, &config, &args.input, &args.files, None)?;
    let models: BTreeMap<_, _> = engine
        .models()
        .iter()
        .filter_map(|m| m.baseline_snapshot().map(|b| (m.name.clone(), b)))
        .collect();
    if models.is_empty() {
        return Err(Failure(format!(
            "{}: no predictions to take a baseline from",
            args.files[0].display()
        )));
    }
    let mut json = crate::record::safe_json::to_vec(&BaselineFile::new(models))
        .map_err(|e| Failure(format!("cannot encode the baseline: {e}")))?;
    json.push(b'\n');
    crate::durable::write_atomically(&args.output, &json)
        .map_err(|e| Failure(format!("{}: {e}", args.output.display())))?;
    Ok(Outcome::Ok)
}

/// The most predictions `baseline` takes per model when no --baseline is
/// given (80 MB of confidences while counting).
const ALL_PREDICTIONS: u64 = 10_000_000;

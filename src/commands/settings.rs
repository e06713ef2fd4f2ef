//! Resolving the engine's settings: defaults < config file < flags.

use std::path::Path;

use crate::cli::{ConfigFlag, InputFlags, StatsFlags};
use crate::config::Config;
use crate::engine::baseline::BaselineFile;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings};
use crate::record::Parser;
use crate::source::input::feed_files;

use super::Failure;

/// Baseline and window defaults differ by command (`watch` 10000/1000,
/// `demo` 2000/500).
#[derive(Debug, Clone, Copy)]
pub struct CommandDefaults {
    pub baseline: BaselineSpec,
    pub window: u64,
}

/// `watch` and `replay`: `--baseline 10000 --window 1000`.
pub const WATCH_DEFAULTS: CommandDefaults = CommandDefaults {
    baseline: BaselineSpec::Count(10_000),
    window: 1_000,
};

/// `demo`: `--baseline 2000 --window 500`, so the demo gets going quickly.
pub const DEMO_DEFAULTS: CommandDefaults = CommandDefaults {
    baseline: BaselineSpec::Count(2_000),
    window: 500,
};

/// Loads the layered config: `--config FILE` (or the default file when it
/// exists), then `MODELWATCH_*` environment variables on top.
pub fn load_config(flag: &ConfigFlag) -> Result<Config, Failure> {
    crate::config::layers::load(flag.file.as_deref(), std::env::vars())
        .map(|loaded| loaded.config)
        .map_err(|e| Failure(e.to_string()))
}

/// The team from `[team]` and the team flags; `None` without a cluster.
pub fn resolve_team(
    config: &Config,
    flags: &crate::cli::TeamFlags,
    ca_file: &crate::cli::CaFileFlag,
) -> Result<Option<crate::team::settings::Team>, Failure> {
    crate::team::settings::Team::resolve(&config.team, &flags.overrides(), ca_file.file.as_deref())
        .map_err(Failure)
}

pub fn engine_settings(
    config: &Config,
    flags: &StatsFlags,
    defaults: CommandDefaults,
) -> Result<EngineSettings, Failure> {
    let mut s = EngineSettings {
        baseline: flags
            .baseline
            .or(config.baseline)
            .unwrap_or(defaults.baseline),
        window: flags.window.or(config.window).unwrap_or(defaults.window),
        review: config.review.clone(),
        labels: config.labels.clone(),
        history: config.history.clone(),
        detectors: config.detectors,
        alerts: config.alerts.rules.clone(),
        features: config.features.clone(),
        segments: config.segments.clone(),
        ..EngineSettings::default()
    };
    if let Some(below) = flags.review_below {
        s.review.below = below;
    }
    if let Some(margin) = flags.review_margin {
        s.review.margin_below = Some(margin);
    }
    s.validate()
        .map_err(|e| Failure(format!("invalid settings: {e}")))?;
    Ok(s)
}

/// Reads `files` to their end into a headless engine (no transitions
/// kept: the command reads the engine's state once the input has ended),
/// with the baselines of `baseline_file` when given.
pub fn replay_files(
    settings: EngineSettings,
    config: &Config,
    input: &InputFlags,
    files: &[std::path::PathBuf],
    baseline_file: Option<&Path>,
) -> Result<Engine, Failure> {
    let parser = Parser::new(Some(config.input.mapping.clone()));
    let mut engine = Engine::new(settings);
    engine.set_emit_transitions(false);
    if let Some(path) = baseline_file {
        engine.set_baseline_file(load_baseline_file(path)?, &path.display().to_string());
    }
    feed_files(&mut engine, &parser, files, max_line_bytes(config, input))?;
    Ok(engine)
}

/// Line length bound: flag, then config.
pub fn max_line_bytes(config: &Config, input: &InputFlags) -> usize {
    input
        .max_line_bytes
        .map_or(config.input.max_line_bytes, |b| {
            usize::try_from(b).unwrap_or(usize::MAX)
        })
}

/// Reads a baseline snapshot named by `--baseline-file`.
pub fn load_baseline_file(path: &Path) -> Result<BaselineFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure(format!("{}: cannot read: {e}", path.display())))?;
    BaselineFile::parse(&text).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

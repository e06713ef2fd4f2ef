//! Command-line definitions (clap). Parsing only: `commands` runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::settings::BaselineSpec;

const AFTER_HELP: &str = "\
Exit codes: 0 ok; 1 the command's check failed (replay --check and an alert fired);
2 usage, config, input or resource error (one line on stderr naming the file).

Examples:
  modelwatch replay --baseline 50000 --window 5000 predictions.jsonl.gz
  modelwatch baseline --baseline 7d reference.jsonl -o baseline.json
  modelwatch replay --baseline-file baseline.json today.jsonl";

#[derive(Debug, Parser)]
#[command(
    name = "modelwatch",
    version,
    about = "Watch a machine-learning model's predictions: drift tests against a baseline, late ground truth, alerts",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts, before or after its name.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Baseline: the first N predictions of each model, or those within a
    /// duration of event time from the first (e.g. 7d, 36h)
    #[arg(long, global = true, value_name = "N|DURATION", value_parser = BaselineSpec::parse)]
    pub baseline: Option<BaselineSpec>,
    /// Use the baseline snapshot written by `modelwatch baseline` (windows
    /// then start at the stream's first prediction)
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "baseline")]
    pub baseline_file: Option<PathBuf>,
    /// Window size W in predictions (tumbling report windows and the
    /// sliding window the alerts check)
    #[arg(long, global = true, value_name = "W", value_parser = clap::value_parser!(u64).range(1..))]
    pub window: Option<u64>,
    /// Queue predictions with confidence below this for review
    #[arg(long, global = true, value_name = "CONF")]
    pub review_below: Option<f64>,
    /// Config file (TOML)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Lines longer than this are skipped and counted as malformed
    #[arg(long, global = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read files to the end as fast as possible and print the report (JSON) to stdout
    #[command(
        after_help = "Example:\n  modelwatch replay --baseline 20000 --window 2000 a.jsonl b.jsonl.gz > report.json"
    )]
    Replay(ReplayArgs),
    /// Capture a baseline snapshot (exact value counts) for --baseline-file
    #[command(
        after_help = "Examples:\n  modelwatch baseline reference.jsonl -o baseline.json            (every prediction)\n  modelwatch baseline --baseline 10000 stream.jsonl -o baseline.json"
    )]
    Baseline(BaselineArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Input files (JSON lines, gzip read transparently; - for stdin), read
    /// as one stream in order
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Exit with status 1 when any alert fired
    #[arg(long)]
    pub check: bool,
    /// Pretty-print the report
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Input files, read as one stream in order
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the snapshot
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from(["modelwatch", "--window", "7", "replay", "f"]).unwrap();
        let b = Cli::try_parse_from(["modelwatch", "replay", "f", "--window", "7"]).unwrap();
        assert_eq!(a.global.window, Some(7));
        assert_eq!(b.global.window, Some(7));
        assert!(Cli::try_parse_from(["modelwatch", "replay", "f", "--baseline", "x"]).is_err());
        assert!(Cli::try_parse_from(["modelwatch", "replay", "f", "--window", "0"]).is_err());
    }
}

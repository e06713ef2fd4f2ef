//! Command-line definitions (clap). Parsing only: `commands` runs them.
//!
//! Flags come in groups (`StatsFlags`, `ViewFlags`, ...) and each
//! subcommand takes the groups that apply to it, so its `--help` lists
//! only those. A flag may also come before the subcommand's name
//! (`modelwatch --window 500 replay f`): `argv` reads it as if it came
//! after, and a flag the subcommand does not take is a one-line usage
//! error naming where it applies.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::decision::verify::ChainEnd;
use crate::engine::settings::BaselineSpec;

const AFTER_HELP: &str = "\
Flags go before or after the subcommand; `modelwatch SUBCOMMAND --help` lists
the flags each subcommand takes.

Exit codes: 0 ok; 1 the command's check failed (replay --check and an alert fired,
verify-log or export-labels found a bad record, trip/reset not confirmed by every actuator);
2 usage, config, input or resource error (config, input and resource errors are
one line on stderr naming the file).

Examples:
  modelwatch demo
  modelwatch /var/log/model/predictions.jsonl ws://model-host:8080/stream
  modelwatch replay --baseline 50000 --window 5000 predictions.jsonl.gz
  modelwatch trip --model fraud-v3 --reason 'confidence collapse'";

#[derive(Debug, Parser)]
#[command(
    name = "modelwatch",
    version,
    about = "Watch a machine-learning model's predictions: drift tests against a baseline, late ground truth, alerts",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Sources to watch when no subcommand is given (as `watch SOURCE...`)
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// The flags of `watch`, for sources given without a subcommand.
    #[command(flatten)]
    pub watch: WatchFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--config`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFlag {
    /// Config file (TOML)
    #[arg(long = "config", id = "config", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// What the engine is told: baseline, window, review thresholds.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Baseline and windows")]
pub struct StatsFlags {
    /// Baseline: the first N predictions of each model, or those within a
    /// duration of event time from the first (e.g. 7d, 36h)
    #[arg(long, value_name = "N|DURATION", value_parser = BaselineSpec::parse)]
    pub baseline: Option<BaselineSpec>,
    /// Use the baseline snapshot written by `modelwatch baseline` (windows
    /// then start at the stream's first prediction)
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub baseline_file: Option<PathBuf>,
    /// Window size W in predictions (tumbling report windows and the
    /// sliding window the alerts check)
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(u64).range(1..))]
    pub window: Option<u64>,
    /// Queue predictions with confidence below this for review
    #[arg(long, value_name = "CONF")]
    pub review_below: Option<f64>,
    /// Also queue predictions whose top-two probability margin is below this
    #[arg(long, value_name = "MARGIN")]
    pub review_margin: Option<f64>,
}

/// How input lines are read.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Input")]
pub struct InputFlags {
    /// Lines longer than this are skipped and counted as malformed
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: Option<u64>,
}

/// How files and websockets are followed.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Input")]
pub struct FollowFlags {
    /// Read followed files from their beginning instead of their end (and
    /// JetStream streams from their first message)
    #[arg(long)]
    pub from_start: bool,
    /// Read JetStream streams from this long ago (e.g. 7d: a baseline from
    /// history); only nats:// sources
    #[arg(long, value_name = "DURATION", value_parser = crate::settings_syntax::positive_duration, conflicts_with = "from_start")]
    pub since: Option<std::time::Duration>,
    /// Follow files by polling instead of inotify/kqueue
    #[arg(long)]
    pub poll: bool,
    /// Extra header for every websocket source; ${VAR} is expanded from the
    /// environment (e.g. -H 'Authorization: Bearer ${TOKEN}')
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// `--ca-file`: wss:// sources and https:// kill-switch actuators.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "TLS")]
pub struct CaFileFlag {
    /// Extra CA certificate (PEM) trusted for wss:// sources and https://
    /// kill-switch actuators besides the system roots
    #[arg(long = "ca-file", id = "ca_file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `--audit-log`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Decisions and kill switch")]
pub struct AuditLogFlag {
    /// Audit log of operator decisions (JSON lines, hash-chained, fsynced)
    #[arg(long = "audit-log", id = "audit_log", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// The kill switch's flag file, and read-only mode.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Decisions and kill switch")]
pub struct KillSwitchFlags {
    /// Kill switch: a flag file written atomically when tripped (adds a
    /// flag-file actuator to those in the config file)
    #[arg(long, value_name = "PATH")]
    pub kill_file: Option<PathBuf>,
    /// Disable every action: decisions, kill switch, re-baseline
    #[arg(long)]
    pub read_only: bool,
}

/// The team this process is part of (`[team]` in the config, which these
/// override): a shared kill switch, review queue and alert list on NATS.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Team (NATS JetStream)")]
pub struct TeamFlags {
    /// The team's name ("default" when given without one): one part of
    /// every key and subject it shares; `demo --team` with no cluster
    /// starts a local nats-server
    #[arg(long = "team", value_name = "NAME", num_args = 0..=1, default_missing_value = "default")]
    pub name: Option<String>,
    /// The team's NATS cluster: nats://host:port[,host:port] or tls://...
    #[arg(long = "nats", value_name = "URL")]
    pub nats: Option<String>,
    /// NATS credentials file for the team's cluster and nats:// sources
    #[arg(long = "nats-creds", value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
}

impl TeamFlags {
    pub fn overrides(&self) -> crate::team::settings::TeamOverrides<'_> {
        crate::team::settings::TeamOverrides {
            name: self.name.as_deref(),
            nats: self.nats.as_deref(),
            credentials_file: self.credentials_file.as_deref(),
        }
    }
}

/// The dashboard, or the JSON lines written instead of it.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Display")]
pub struct ViewFlags {
    /// No terminal UI: JSON lines on stdout (implied when stdout is not a terminal)
    #[arg(long)]
    pub no_tui: bool,
    /// Seconds between status lines with --no-tui
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub status_every: Option<u64>,
    /// Most frames drawn per second
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: Option<u32>,
    /// Colour theme (built in: default, light, high-contrast, monochrome, ...)
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (watch, demo, agent;
    /// e.g. 127.0.0.1:9464)
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

/// A live session's flags, whatever its sources (`demo`, `watch`).
#[derive(Debug, Clone, Default, Args)]
pub struct SessionFlags {
    #[command(flatten)]
    pub config: ConfigFlag,
    #[command(flatten)]
    pub stats: StatsFlags,
    #[command(flatten)]
    pub ca_file: CaFileFlag,
    #[command(flatten)]
    pub audit_log: AuditLogFlag,
    #[command(flatten)]
    pub kill_switch: KillSwitchFlags,
    #[command(flatten)]
    pub view: ViewFlags,
    #[command(flatten)]
    pub team: TeamFlags,
}

/// `watch`'s flags: a live session on files, stdin and websockets.
#[derive(Debug, Clone, Default, Args)]
pub struct WatchFlags {
    #[command(flatten)]
    pub session: SessionFlags,
    #[command(flatten)]
    pub input: InputFlags,
    #[command(flatten)]
    pub follow: FollowFlags,
    #[command(flatten)]
    pub state: StateFlags,
}

/// Checkpoints and the report at exit (`watch`, `agent`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "State")]
pub struct StateFlags {
    /// Keep checkpoints in DIR (the engine's state and each followed
    /// file's position) and resume from them at start
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Seconds between checkpoints with --state-dir (default 5)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// At exit, write the report `replay` writes (JSON) about what was
    /// watched to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch sources live in the terminal dashboard (files followed like tail -F, - for stdin, ws:// or wss:// URLs)
    #[command(
        after_help = "Examples:\n  modelwatch watch /var/log/model/predictions.jsonl\n  modelwatch watch --no-tui -H 'Authorization: Bearer ${TOKEN}' wss://models.internal/stream > events.jsonl"
    )]
    Watch(WatchArgs),
    /// Watch sources unattended (systemd): JSON lines on stdout as watch --no-tui, logs on stderr, stops on SIGTERM
    #[command(
        after_help = "Examples:\n  modelwatch agent --metrics-addr 127.0.0.1:9464 /var/log/model/predictions.jsonl\n  modelwatch agent --config /etc/modelwatch/config.toml wss://models.internal/stream > /var/lib/modelwatch/events.jsonl"
    )]
    Agent(WatchArgs),
    /// The live dashboard on a built-in simulated model (no setup needed)
    #[command(
        after_help = "Examples:\n  modelwatch demo\n  modelwatch demo --serve 127.0.0.1:9000      (serve the stream as a websocket, no UI)\n  modelwatch demo --write /tmp/preds.jsonl --rate 500\n  modelwatch demo --write /tmp/demo.jsonl --rate 0 --limit 36000   (three minutes of traffic, at once)"
    )]
    Demo(DemoArgs),
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
    /// Trip the kill switch for a model through every configured actuator
    #[command(
        after_help = "Exit 0 only when every actuator confirmed, 1 when not, 2 on usage, config or lock errors.\n\nExample:\n  modelwatch trip --model fraud-v3 --reason 'confidence collapse' --kill-file /run/fraud-v3.killed"
    )]
    Trip(TripArgs),
    /// Re-arm the kill switch for a model (the model's name must be given twice)
    #[command(
        after_help = "Exit 0 only when every actuator confirmed, 1 when not, 2 on usage, config or lock errors.\n\nExample:\n  modelwatch reset --model fraud-v3 --confirm fraud-v3 --kill-file /run/fraud-v3.killed"
    )]
    Reset(ResetArgs),
    /// Check an audit log's hash chain; names the first bad record (exit 1)
    #[command(
        after_help = "Prints COUNT:HASH last: keep it where the log's writers cannot reach, and pass it\nto a later run as --expect to find records cut off the end.\n\nExamples:\n  modelwatch verify-log decisions.jsonl\n  modelwatch verify-log --expect 1250:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 decisions.jsonl"
    )]
    VerifyLog(VerifyLogArgs),
    /// Write the labels operators gave (approvals and overrides) as plain JSON lines for retraining
    #[command(
        after_help = "The log's chain is verified first: a broken log exports nothing (exit 1).\n\nExample:\n  modelwatch export-labels decisions.jsonl -o labels.jsonl"
    )]
    ExportLabels(ExportLabelsArgs),
    /// Show the configuration: a commented default file, the paths in use, or a check
    #[command(
        after_help = "Examples:\n  modelwatch config --print-default > ~/.config/modelwatch/config.toml\n  modelwatch config --paths\n  MODELWATCH_WINDOW=500 modelwatch config --check"
    )]
    Config(ConfigArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Example:\n  modelwatch completions bash > ~/.local/share/bash-completion/completions/modelwatch"
    )]
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): modelwatch(1), or a subcommand's
    #[command(
        after_help = "Examples:\n  modelwatch man > ~/.local/share/man/man1/modelwatch.1\n  modelwatch man replay > ~/.local/share/man/man1/modelwatch-replay.1\n  modelwatch man --dir ~/.local/share/man/man1      (every page)"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ConfigActions {
    /// Print a config file holding every default, with comments
    #[arg(long)]
    pub print_default: bool,
    /// Print every path modelwatch uses (config, log, audit log)
    #[arg(long)]
    pub paths: bool,
    /// Load the config (file and MODELWATCH_* variables) and say what was read
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub action: ConfigActions,
    #[command(flatten)]
    pub config: ConfigFlag,
    #[command(flatten)]
    pub audit_log: AuditLogFlag,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Files (followed like tail -F), - for stdin, ws:// or wss:// URLs
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub flags: WatchFlags,
}

/// The groups of a live session, which `--serve` and `--write` do not use.
const SESSION_GROUPS: [&str; 6] = [
    "ConfigFlag",
    "StatsFlags",
    "CaFileFlag",
    "AuditLogFlag",
    "KillSwitchFlags",
    "ViewFlags",
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the simulated model (the same seed gives the same stream)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Predictions per second (0: as fast as possible, the drift episode
    /// still placed as at 200/s)
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// Serve the stream as a websocket server on ADDR instead of showing it
    #[arg(long, value_name = "ADDR", conflicts_with = "write", conflicts_with_all = SESSION_GROUPS)]
    pub serve: Option<String>,
    /// Append the stream to FILE instead of showing it
    #[arg(long, value_name = "FILE", conflicts_with_all = SESSION_GROUPS)]
    pub write: Option<PathBuf>,
    /// Stop after this many predictions (default: run until interrupted)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    #[command(flatten)]
    pub session: SessionFlags,
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
    #[command(flatten)]
    pub config: ConfigFlag,
    #[command(flatten)]
    pub stats: StatsFlags,
    #[command(flatten)]
    pub input: InputFlags,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Input files, read as one stream in order
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the snapshot
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Take the first N predictions of each model, or those within a
    /// duration of event time from the first (default: every prediction)
    #[arg(long, value_name = "N|DURATION", value_parser = BaselineSpec::parse)]
    pub baseline: Option<BaselineSpec>,
    #[command(flatten)]
    pub config: ConfigFlag,
    #[command(flatten)]
    pub input: InputFlags,
}

/// What `trip` and `reset` act with.
#[derive(Debug, Clone, Default, Args)]
pub struct KillSwitchCommandFlags {
    #[command(flatten)]
    pub config: ConfigFlag,
    #[command(flatten)]
    pub audit_log: AuditLogFlag,
    #[command(flatten)]
    pub kill_switch: KillSwitchFlags,
    #[command(flatten)]
    pub ca_file: CaFileFlag,
    #[command(flatten)]
    pub team: TeamFlags,
}

#[derive(Debug, Args)]
pub struct TripArgs {
    /// The model to stop
    #[arg(long, value_name = "MODEL")]
    pub model: String,
    /// Why (recorded in the audit log and the flag file)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub flags: KillSwitchCommandFlags,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The model to re-arm
    #[arg(long, value_name = "MODEL")]
    pub model: String,
    /// The model's name again, to confirm
    #[arg(long, value_name = "MODEL")]
    pub confirm: String,
    /// Why (recorded in the audit log)
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "reset from the command line"
    )]
    pub reason: String,
    #[command(flatten)]
    pub flags: KillSwitchCommandFlags,
}

#[derive(Debug, Args)]
pub struct VerifyLogArgs {
    /// The audit log to check
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The log must still begin with these records, as an earlier
    /// verify-log printed them: finds records cut off the end
    #[arg(long, value_name = "COUNT:HASH", value_parser = clap::value_parser!(ChainEnd))]
    pub expect: Option<ChainEnd>,
}

#[derive(Debug, Args)]
pub struct ExportLabelsArgs {
    /// The audit log to read
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Where to write the labels (default: stdout)
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (modelwatch-SUBCOMMAND(1));
    /// without it, modelwatch(1)
    #[arg(value_name = "SUBCOMMAND", value_parser = man_page_name, conflicts_with = "dir")]
    pub subcommand: Option<String>,
    /// Write every page (modelwatch.1 and one per subcommand) into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// A subcommand that has a man page.
fn man_page_name(name: &str) -> Result<String, String> {
    let names = page_subcommands();
    if names.iter().any(|n| n == name) {
        Ok(name.to_string())
    } else {
        Err(format!("no such subcommand; pages: {}", names.join(", ")))
    }
}

/// The subcommands, as the man page and `--help` list them.
fn page_subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}

//! Command-line definitions (clap). Parsing only: `commands` runs them.
//!
//! Flags come in groups (`StatsFlags`, `ViewFlags`, ...) and each
//! subcommand takes the groups that apply to it, so its `--help` lists
//! only those. A flag may also come before the subcommand's name
//! (`modelwatch --window 500 replay f`): [`Cli::try_parse_args`] reads it
//! as if it came after, and a flag the subcommand does not take is a
//! one-line usage error naming where it applies.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Read followed files from their beginning instead of their end
    #[arg(long)]
    pub from_start: bool,
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
    #[arg(long, global = true, value_name = "ADDR")]
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
pub fn page_subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

impl Cli {
    /// Parses the process's arguments; `--help`, `--version` and usage
    /// errors end the process as clap does (usage errors with exit 2).
    pub fn parse_args() -> Cli {
        Self::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the program's name first): flags before the
    /// subcommand's name are read as if they came after it, and a flag the
    /// subcommand does not take is an error naming where it applies.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let mut cmd = Cli::command();
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let (args, subcommand) = flags_after_subcommand(&cmd, args);
        let matches = cmd
            .try_get_matches_from_mut(args)
            .map_err(|e| not_taken(&cmd, subcommand.as_deref(), e))?;
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
}

/// Moves the flags given before the subcommand's name to just after it,
/// and says which subcommand that is. Without a subcommand (sources given
/// directly, or none) the arguments are left as they are.
fn flags_after_subcommand(
    cmd: &clap::Command,
    args: Vec<OsString>,
) -> (Vec<OsString>, Option<String>) {
    // A flag's value is skipped over (`--window 500`): whichever command
    // defines the flag says whether it takes one.
    let every_arg = || {
        std::iter::once(cmd)
            .chain(cmd.get_subcommands())
            .flat_map(|c| c.get_arguments())
    };
    let takes_value = |arg: Option<&clap::Arg>| arg.is_some_and(|a| a.get_action().takes_values());
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" || text == "-" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let skip_value = !long.contains('=')
                && takes_value(every_arg().find(|a| a.get_long() == Some(long)));
            i += 1 + usize::from(skip_value);
        } else if let Some(shorts) = text.strip_prefix('-') {
            let mut chars = shorts.chars();
            let first = chars.next();
            let value_attached = chars.next().is_some();
            let skip_value =
                !value_attached && takes_value(every_arg().find(|a| a.get_short() == first));
            i += 1 + usize::from(skip_value);
        } else {
            let Some(sub) = cmd.find_subcommand(arg) else {
                break;
            };
            let name = sub.get_name().to_string();
            let mut moved = Vec::with_capacity(args.len());
            moved.push(args[0].clone());
            moved.push(args[i].clone());
            moved.extend_from_slice(&args[1..i]);
            moved.extend_from_slice(&args[i + 1..]);
            return (moved, Some(name));
        }
    }
    (args, None)
}

/// A flag given to a subcommand that does not take it: one line naming
/// the subcommands that do. Any other error is clap's own.
fn not_taken(cmd: &clap::Command, subcommand: Option<&str>, e: clap::Error) -> clap::Error {
    let (Some(sub), ErrorKind::UnknownArgument) = (subcommand, e.kind()) else {
        return e;
    };
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let flag = given.split('=').next().unwrap_or(given);
    let names_it = |a: &clap::Arg| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag.strip_prefix('-').is_some_and(|s| {
            let mut c = s.chars();
            c.next() == a.get_short() && c.next().is_none()
        }),
    };
    let defines = |c: &clap::Command| c.get_arguments().any(names_it);
    let takers: Vec<&str> = cmd
        .get_subcommands()
        .filter(|c| defines(c))
        .map(|c| c.get_name())
        .collect();
    if takers.is_empty() {
        return e;
    }
    clap::Error::raw(
        ErrorKind::UnknownArgument,
        format!(
            "{flag} does not apply to `modelwatch {sub}` (it is a flag of {}); see `modelwatch {sub} --help`\n",
            takers.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_args(std::iter::once("modelwatch").chain(args.iter().copied()))
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_go_before_or_after_the_subcommand() {
        let window = |cli: Cli| match cli.command {
            Some(Command::Replay(r)) => {
                assert_eq!(r.files, [PathBuf::from("f")]);
                r.stats.window
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            window(parse(&["--window", "7", "replay", "f"]).unwrap()),
            Some(7)
        );
        assert_eq!(
            window(parse(&["replay", "f", "--window", "7"]).unwrap()),
            Some(7)
        );
        assert_eq!(
            window(parse(&["--window=7", "replay", "f"]).unwrap()),
            Some(7)
        );
        let c = parse(&["--no-tui", "a.jsonl", "ws://h/x"]).unwrap();
        assert!(c.command.is_none() && c.watch.session.view.no_tui);
        assert_eq!(c.sources, ["a.jsonl", "ws://h/x"]);
        assert!(matches!(
            parse(&["demo", "--seed", "7"]).unwrap().command,
            Some(Command::Demo(DemoArgs { seed: 7, .. }))
        ));
        let d = parse(&["-H", "X: y", "--no-tui", "watch", "a.jsonl"]).unwrap();
        match d.command {
            Some(Command::Watch(w)) => {
                assert!(w.flags.session.view.no_tui);
                assert_eq!(w.flags.follow.headers, ["X: y"]);
                assert_eq!(w.sources, ["a.jsonl"]);
            }
            other => panic!("{other:?}"),
        }
        let e = parse(&["--window", "7", "a.jsonl", "--no-tui"]).unwrap();
        assert!(e.command.is_none() && e.watch.session.view.no_tui);
        assert_eq!(e.sources, ["a.jsonl"]);
        assert!(parse(&["replay", "f", "--baseline", "x"]).is_err());
        assert!(parse(&["replay", "f", "--window", "0"]).is_err());
    }

    #[test]
    fn a_flag_the_subcommand_does_not_take_is_a_one_line_usage_error() {
        for args in [
            &["--theme", "nord", "replay", "f"][..],
            &["replay", "f", "--theme", "nord"],
            &["replay", "f", "--theme=nord"],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let text = e.to_string();
            assert_eq!(text.trim_end().lines().count(), 1, "{text}");
            assert!(
                text.contains("--theme does not apply to `modelwatch replay`")
                    && text.contains("watch, agent, demo"),
                "{text}"
            );
        }
        let e = parse(&["verify-log", "f", "-H", "X: y"]).unwrap_err();
        assert!(e.to_string().contains("-H does not apply"), "{e}");
        // --serve and --write take none of the session's flags.
        assert!(parse(&["demo", "--serve", "127.0.0.1:0", "--window", "5"]).is_err());
        assert!(parse(&["demo", "--window", "5"]).is_ok());
    }
}

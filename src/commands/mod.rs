//! Running the subcommands: each resolves its settings, drives the layers
//! below, and returns how the process should exit.

pub mod agent;
pub mod audit;
pub mod baseline;
pub mod config;
pub mod demo;
mod demo_team;
pub mod json_log;
pub mod killswitch;
pub mod logging;
pub mod man;
pub mod paths;
pub mod replay;
pub mod session;
pub mod settings;
pub mod sinks;
pub mod watch;

use std::fmt;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::record::sanitize::escape_untrusted;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the command's check failed.
    CheckFailed,
}

/// A usage, config, input or resource error: exit 2 with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the cause said, and data it quotes (a file's
        // content, a name from the stream) shown as the dashboard shows it.
        let one_line = self.0.replace(['\n', '\r'], " ");
        f.write_str(&escape_untrusted(&one_line))
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::CheckFailed => ExitCode::from(1),
        }
    }
}

pub fn run(cli: Cli) -> Result<Outcome, Failure> {
    match &cli.command {
        None if cli.sources.is_empty() => Err(Failure(
            "nothing to watch: give a file, - for stdin, or a ws:// URL (or try `modelwatch demo`); see --help".into(),
        )),
        None => watch::run(&cli.sources, &cli.watch),
        Some(Command::Watch(args)) => watch::run(&args.sources, &args.flags),
        Some(Command::Agent(args)) => agent::run(&args.sources, &args.flags),
        Some(Command::Demo(args)) => demo::run(args),
        Some(Command::Replay(args)) => replay::run(args),
        Some(Command::Baseline(args)) => baseline::run(args),
        Some(Command::Trip(args)) => killswitch::trip(args),
        Some(Command::Reset(args)) => killswitch::reset(args),
        Some(Command::VerifyLog(args)) => audit::verify_log(args),
        Some(Command::ExportLabels(args)) => audit::export_labels(args),
        Some(Command::Config(args)) => config::run(args),
        Some(Command::Completions { shell }) => config::completions(*shell),
        Some(Command::Man(args)) => man::run(args),
    }
}

/// Streams a value as JSON (and a newline) to stdout; a reader that went
/// away (`| head`) is not an error.
pub(crate) fn write_json_stdout<T: serde::Serialize>(
    value: &T,
    pretty: bool,
) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = if pretty {
        crate::record::safe_json::to_writer_pretty(&mut out, value)
    } else {
        crate::record::safe_json::to_writer(&mut out, value)
    }
    .map_err(std::io::Error::from)
    .and_then(|()| out.write_all(b"\n"))
    .and_then(|()| out.flush());
    stdout_result(written)
}

/// Writes `bytes` to stdout; a reader that went away is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    stdout_result(out.write_all(bytes).and_then(|()| out.flush()))
}

/// Prints a line of text (see [`write_stdout`]).
pub(crate) fn print_line(text: &str) -> Result<(), Failure> {
    write_stdout(format!("{text}\n").as_bytes())
}

/// Prints a line that quotes data (a file's content, names from a stream),
/// escaped as the dashboard shows it.
pub(crate) fn print_untrusted_line(text: &str) -> Result<(), Failure> {
    print_line(&escape_untrusted(text))
}

fn stdout_result(written: std::io::Result<()>) -> Result<(), Failure> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure(format!("stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// The runtime of the live commands and of trip/reset: two workers, as the
/// machines this runs on are small.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the runtime: {e}")))
}

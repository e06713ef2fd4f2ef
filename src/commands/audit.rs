//! `modelwatch verify-log` and `modelwatch export-labels`.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;

use crate::cli::{ExportLabelsArgs, VerifyLogArgs};
use crate::decision::export::{ExportError, ExportStats, TeamOutcomes, export_labels as export};
use crate::decision::verify::{BadRecord, ChainEnd, open, verify_file, verify_file_against};

use super::{Failure, Outcome, print_untrusted_line};
use crate::record::sanitize::escape_untrusted;

/// Exit 0 and `FILE: ok, N records, last COUNT:HASH` when the chain holds
/// (and begins with `--expect`); exit 1 and `FILE:LINE: bad record (seq
/// N): why` at the first bad one; exit 2 when the file cannot be read.
pub fn verify_log(args: &VerifyLogArgs) -> Result<Outcome, Failure> {
    let path = &args.file;
    let checked = match &args.expect {
        Some(expected) => verify_file_against(path, expected),
        None => verify_file(path),
    }
    .map_err(|e| cannot_read(path, &e))?;
    note_torn(path);
    match checked {
        Ok(v) => {
            let held = match &args.expect {
                Some(e) if e.records == v.records => " (as expected)".to_string(),
                Some(e) => format!(
                    " (the first {} as expected, {} added since)",
                    e.records,
                    v.records - e.records
                ),
                None => String::new(),
            };
            print_untrusted_line(&format!(
                "{}: ok, {} records{held}, last {}",
                path.display(),
                v.records,
                v.end()
            ))?;
            Ok(Outcome::Ok)
        }
        Err(bad) => {
            print_untrusted_line(&bad_record(path, &bad))?;
            Ok(Outcome::CheckFailed)
        }
    }
}

fn bad_record(path: &Path, bad: &BadRecord) -> String {
    format!(
        "{}:{}: bad record (seq {}): {}",
        path.display(),
        bad.line,
        bad.line,
        bad.message
    )
}

fn cannot_read(path: &Path, e: &io::Error) -> Failure {
    Failure(format!("{}: cannot read: {e}", path.display()))
}

/// Torn lines moved aside are not part of the chain, but worth a look.
fn note_torn(path: &Path) {
    for torn in crate::decision::audit::torn_files(path) {
        eprintln!(
            "modelwatch: note: {} holds a torn line moved aside (not part of the chain)",
            escape_untrusted(&torn.display().to_string())
        );
    }
}

/// Writes `{"id","label","model","source":"human","ts","operator","action"}`
/// lines for every approve and override record, to stdout or `-o`. The
/// chain is verified first: a bad record exports nothing (exit 1, the
/// record named on stderr). Records appended meanwhile wait for the next
/// export.
pub fn export_labels(args: &ExportLabelsArgs) -> Result<Outcome, Failure> {
    let log = &args.log;
    let end = match verify_file(log).map_err(|e| cannot_read(log, &e))? {
        Ok(v) => v.end(),
        Err(bad) => {
            eprintln!(
                "modelwatch: {}; nothing exported",
                escape_untrusted(&bad_record(log, &bad))
            );
            return Ok(Outcome::CheckFailed);
        }
    };
    // The team's outcomes first: a decision another operator won is no label.
    let team = TeamOutcomes::read(open(log).map_err(|e| cannot_read(log, &e))?, &end)
        .map_err(|e| cannot_read(log, &e))?;
    let input = open(log).map_err(|e| cannot_read(log, &e))?;
    let exported = match &args.output {
        Some(out_path) => export_to_file(input, out_path, &end, &team),
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            export(input, &mut out, &end, &team)
                .and_then(|s| out.flush().map(|()| s).map_err(ExportError::Write))
        }
    };
    let stats = match exported {
        Ok(stats) => stats,
        Err(ExportError::Read(e)) => return Err(cannot_read(log, &e)),
        Err(ExportError::Write(e)) => {
            return match &args.output {
                Some(out_path) => Err(Failure(format!("{}: {e}", out_path.display()))),
                // A reader that went away (`| head`) is not an error.
                None if e.kind() == io::ErrorKind::BrokenPipe => Ok(Outcome::Ok),
                None => Err(Failure(format!("export-labels: stdout: {e}"))),
            };
        }
        Err(ExportError::Chain(bad)) => {
            let what = match args.output {
                Some(_) => "nothing exported",
                None => "the labels written are incomplete",
            };
            eprintln!(
                "modelwatch: {} (the log changed while it was exported); {what}",
                escape_untrusted(&bad_record(log, &bad))
            );
            return Ok(Outcome::CheckFailed);
        }
    };
    eprintln!(
        "modelwatch: {} labels from {} records",
        stats.labels, stats.records
    );
    Ok(Outcome::Ok)
}

/// Exports into `path`, durably; a failed export leaves no file.
fn export_to_file(
    input: impl BufRead,
    path: &Path,
    end: &ChainEnd,
    team: &TeamOutcomes,
) -> Result<ExportStats, ExportError> {
    let mut out = BufWriter::new(File::create(path).map_err(ExportError::Write)?);
    let exported = export(input, &mut out, end, team).and_then(|stats| {
        out.flush().map_err(ExportError::Write)?;
        out.get_ref().sync_data().map_err(ExportError::Write)?;
        Ok(stats)
    });
    if exported.is_err() {
        drop(out);
        let _ = std::fs::remove_file(path);
    }
    exported
}

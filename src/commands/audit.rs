//! `modelwatch verify-log` and `modelwatch export-labels`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use crate::cli::{ExportLabelsArgs, VerifyLogArgs};
use crate::decision::export::export_labels as export;
use crate::decision::verify::verify_file;

use super::{Failure, Outcome, print_untrusted_line};
use crate::record::sanitize::escape_untrusted;

/// Exit 0 and `FILE: ok, N records, last hash H` when the chain holds;
/// exit 1 and `FILE:LINE: bad record (seq N): why` at the first bad one;
/// exit 2 when the file cannot be read.
pub fn verify_log(args: &VerifyLogArgs) -> Result<Outcome, Failure> {
    let path = &args.file;
    let checked =
        verify_file(path).map_err(|e| Failure(format!("{}: cannot read: {e}", path.display())))?;
    note_torn(path);
    match checked {
        Ok(v) => {
            print_untrusted_line(&format!(
                "{}: ok, {} records, last hash {}",
                path.display(),
                v.records,
                v.last_hash
            ))?;
            Ok(Outcome::Ok)
        }
        Err(bad) => {
            print_untrusted_line(&format!(
                "{}:{}: bad record (seq {}): {}",
                path.display(),
                bad.line,
                bad.line,
                bad.message
            ))?;
            Ok(Outcome::CheckFailed)
        }
    }
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
/// lines for every approve and override record, to stdout or `-o`.
/// Lines that are not valid records are skipped and counted on stderr.
pub fn export_labels(args: &ExportLabelsArgs) -> Result<Outcome, Failure> {
    let input = File::open(&args.log)
        .map_err(|e| Failure(format!("{}: cannot read: {e}", args.log.display())))?;
    let input = BufReader::with_capacity(1 << 16, input);
    let read_err = |e: io::Error| Failure(format!("{}: cannot read: {e}", args.log.display()));
    let stats = match &args.output {
        Some(out_path) => {
            let write_err = |e: io::Error| Failure(format!("{}: {e}", out_path.display()));
            let file = File::create(out_path).map_err(write_err)?;
            let mut out = BufWriter::new(file);
            let stats = export(input, &mut out).map_err(|e| {
                // Both sides are files: say which one failed.
                if e.kind() == io::ErrorKind::InvalidData {
                    read_err(e)
                } else {
                    write_err(e)
                }
            })?;
            out.flush().map_err(write_err)?;
            out.get_ref().sync_data().map_err(write_err)?;
            stats
        }
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            match export(input, &mut out).and_then(|s| out.flush().map(|()| s)) {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Outcome::Ok),
                Err(e) => return Err(Failure(format!("export-labels: {e}"))),
            }
        }
    };
    eprintln!(
        "modelwatch: {} labels from {} records{}",
        stats.labels,
        stats.records,
        if stats.skipped > 0 {
            format!(
                " ({} lines that are not valid records skipped)",
                stats.skipped
            )
        } else {
            String::new()
        }
    );
    Ok(Outcome::Ok)
}

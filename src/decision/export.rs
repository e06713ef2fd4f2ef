//! Labels out of the audit log: approvals and overrides as plain JSON
//! lines, a labelled data set for retraining. Only from an intact chain:
//! the caller verifies the log first, and the export checks every record
//! again as it goes.

use std::io::{self, BufRead, Write};
use std::ops::ControlFlow;

use serde::Serialize;

use super::audit_record::{AuditAction, AuditRecord};
use super::verify::{BadRecord, ChainEnd, walk};

/// One exported label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HumanLabel<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub model: &'a str,
    pub source: &'static str,
    pub ts: &'a str,
    pub operator: &'a str,
    pub action: AuditAction,
}

/// What an export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub records: u64,
    pub labels: u64,
}

/// Why an export stopped.
#[derive(Debug)]
pub enum ExportError {
    Read(io::Error),
    Write(io::Error),
    /// The log is not the chain `end` describes (it changed since it was
    /// verified): labels written so far are void.
    Chain(BadRecord),
}

/// Writes one label line per approve/override record among the first
/// `end.records` records of `input`, which must be the chain `end`
/// describes (records appended since are left for the next export).
pub fn export_labels(
    input: impl BufRead,
    out: &mut impl Write,
    end: &ChainEnd,
) -> Result<ExportStats, ExportError> {
    let mut stats = ExportStats::default();
    if end.records == 0 {
        return Ok(stats);
    }
    let mut write_error = None;
    let walked = walk(input, Some(end), |seq, line| {
        stats.records = seq;
        match write_label(line, out) {
            Ok(wrote) => stats.labels += u64::from(wrote),
            Err(e) => {
                write_error = Some(e);
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(if seq == end.records {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })
    .map_err(ExportError::Read)?;
    if let Some(e) = write_error {
        return Err(ExportError::Write(e));
    }
    walked.map_err(ExportError::Chain)?;
    Ok(stats)
}

/// Writes the label of one record's line, if it holds one. (A record of
/// a kind this version does not know is not a label.)
fn write_label(line: &[u8], out: &mut impl Write) -> io::Result<bool> {
    let Ok(record) = serde_json::from_slice::<AuditRecord>(line) else {
        return Ok(false);
    };
    if !matches!(record.action, AuditAction::Approve | AuditAction::Override) {
        return Ok(false);
    }
    let (Some(id), Some(label)) = (&record.case_id, &record.label) else {
        return Ok(false);
    };
    let label = HumanLabel {
        id,
        label,
        model: record.model.as_deref().unwrap_or("default"),
        source: "human",
        ts: &record.ts,
        operator: &record.operator,
        action: record.action,
    };
    crate::record::safe_json::to_writer(&mut *out, &label)?;
    out.write_all(b"\n")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::audit_record::AuditEntry;
    use crate::decision::verify::tests::chain;
    use crate::decision::verify::verify;

    fn approval(seq: u64, operator: &str, label: &str) -> AuditEntry {
        let mut entry = AuditEntry::new(operator, AuditAction::Approve);
        entry.case_id = Some(format!("c{seq}"));
        entry.label = Some(label.into());
        entry
    }

    /// A chain of approvals `c1`, `c2`, ...
    fn approvals(n: u64) -> Vec<u8> {
        chain(n, |seq| approval(seq, "alice", "fraud"))
    }

    #[test]
    fn exports_what_was_verified_and_stops_if_the_log_changed() {
        let log = approvals(4);
        let end = verify(&log[..]).unwrap().unwrap().end();
        let mut out = Vec::new();
        let stats = export_labels(&log[..], &mut out, &end).unwrap();
        assert_eq!(
            stats,
            ExportStats {
                records: 4,
                labels: 4
            }
        );
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 4);

        // Records appended since (even a torn one) wait for the next export.
        let mut grown = approvals(6);
        grown.extend(b"{\"seq\":7");
        let mut out = Vec::new();
        let stats = export_labels(&grown[..], &mut out, &end).unwrap();
        assert_eq!((stats.records, stats.labels), (4, 4));

        // Cut and written again: the same count, another last record.
        let other = chain(4, |seq| match seq {
            4 => approval(seq, "mallory", "legit"),
            _ => approval(seq, "alice", "fraud"),
        });
        let Err(ExportError::Chain(bad)) = export_labels(&other[..], &mut Vec::new(), &end) else {
            panic!("a rewritten record was exported");
        };
        assert_eq!(bad.line, 4, "{bad}");

        // Cut short.
        let Err(ExportError::Chain(bad)) =
            export_labels(&log[..log.len() / 2], &mut Vec::new(), &end)
        else {
            panic!("a cut log was exported");
        };
        assert!(bad.line <= 3, "{bad}");
    }
}

//! Labels out of the audit log: approvals and overrides as plain JSON
//! lines, a labelled data set for retraining.

use std::io::{self, BufRead, Read, Write};

use serde::Serialize;

use super::record::{Action, AuditRecord, MAX_RECORD_BYTES, check_line};

/// One exported label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HumanLabel<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub model: &'a str,
    pub source: &'static str,
    pub ts: &'a str,
    pub operator: &'a str,
    pub action: &'static str,
}

/// What an export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub records: u64,
    pub labels: u64,
    /// Lines that are not valid records (bad hash, bad JSON, torn):
    /// skipped, never exported.
    pub skipped: u64,
}

/// Writes one label line per approve/override record of `input`.
pub fn export_labels(mut input: impl BufRead, out: &mut impl Write) -> io::Result<ExportStats> {
    let mut stats = ExportStats::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(stats);
        }
        if line.pop() != Some(b'\n') || check_line(&line).is_err() {
            stats.skipped += 1;
            // Skip the rest of an overlong line.
            if line.len() > MAX_RECORD_BYTES {
                input.skip_until(b'\n')?;
            }
            continue;
        }
        let Ok(record) = serde_json::from_slice::<AuditRecord>(&line) else {
            stats.skipped += 1;
            continue;
        };
        stats.records += 1;
        if !matches!(record.action, Action::Approve | Action::Override) {
            continue;
        }
        let (Some(id), Some(label)) = (&record.case_id, &record.label) else {
            continue;
        };
        let label = HumanLabel {
            id,
            label,
            model: record.model.as_deref().unwrap_or("default"),
            source: "human",
            ts: &record.ts,
            operator: &record.operator,
            action: record.action.as_str(),
        };
        serde_json::to_writer(&mut *out, &label)?;
        out.write_all(b"\n")?;
        stats.labels += 1;
    }
}

//! Labels out of the audit log: approvals and overrides as plain JSON
//! lines, a labelled data set for retraining.

use std::io::{self, BufRead, Write};

use serde::Serialize;

use super::record::{Action, AuditRecord, MAX_RECORD_BYTES, check_line};
use crate::record::lines::{Line, LineReader};

/// One exported label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HumanLabel<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub model: &'a str,
    pub source: &'static str,
    pub ts: &'a str,
    pub operator: &'a str,
    pub action: Action,
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
pub fn export_labels(input: impl BufRead, out: &mut impl Write) -> io::Result<ExportStats> {
    let mut stats = ExportStats::default();
    let mut lines = LineReader::new(input, MAX_RECORD_BYTES);
    while let Some(line) = lines.next_line()? {
        let line = match line {
            Line::Text(line) if check_line(line).is_ok() => line,
            _ => {
                stats.skipped += 1;
                continue;
            }
        };
        let Ok(record) = serde_json::from_slice::<AuditRecord>(line) else {
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
            action: record.action,
        };
        crate::record::safe_json::to_writer(&mut *out, &label)?;
        out.write_all(b"\n")?;
        stats.labels += 1;
    }
    // A torn last line (no newline) is not a record.
    if lines.partial_len() > 0 {
        stats.skipped += 1;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::record::{AuditEntry, GENESIS};

    fn approval(seq: u64, prev: &str) -> (Vec<u8>, String) {
        let mut entry = AuditEntry::new("alice", Action::Approve);
        entry.case_id = Some(format!("c{seq}"));
        entry.label = Some("fraud".into());
        let mut record =
            AuditRecord::from_entry(entry, seq, "2026-11-27T10:00:00.000Z".into(), prev.into());
        let line = record.seal().unwrap();
        (line, record.hash)
    }

    #[test]
    fn an_overlong_line_and_a_torn_tail_are_each_skipped_once() {
        let (first, hash) = approval(1, GENESIS);
        let (second, _) = approval(2, &hash);
        let mut input = first;
        input.extend(vec![b'x'; MAX_RECORD_BYTES + 5000]);
        input.push(b'\n');
        input.extend(second);
        input.extend(b"{\"seq\":3");
        let mut out = Vec::new();
        let stats = export_labels(&input[..], &mut out).unwrap();
        assert_eq!(
            stats,
            ExportStats {
                records: 2,
                labels: 2,
                skipped: 2
            }
        );
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
    }
}

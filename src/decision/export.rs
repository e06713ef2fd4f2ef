//! Labels out of the audit log: approvals and overrides as plain JSON
//! lines, a labelled data set for retraining. Only from an intact chain:
//! the caller verifies the log first, and the export checks every record
//! again as it goes.

use std::collections::HashMap;
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

/// What the team's stream said to each shared decision: a `team_decision`
/// record names the decision's record (`detail.decision_record`), and a
/// decision the team did not take (another operator decided the case
/// first, or it was never acknowledged) is no label.
#[derive(Debug, Default)]
pub struct TeamOutcomes {
    /// Decision record seq → whether the team took it (the first outcome
    /// recorded for it). Only team logs hold any.
    taken: HashMap<u64, bool>,
}

impl TeamOutcomes {
    /// The `team_decision` records among the first `end.records` of
    /// `input` (a chain already verified; a bad record ends the read).
    pub fn read(input: impl BufRead, end: &ChainEnd) -> io::Result<TeamOutcomes> {
        let mut outcomes = TeamOutcomes::default();
        if end.records == 0 {
            return Ok(outcomes);
        }
        // A bad record ends the read here; the export's own walk reports it.
        let _checked_by_the_export = walk(input, Some(end), |seq, line| {
            if let Ok(r) = serde_json::from_slice::<AuditRecord>(line)
                && r.action == AuditAction::TeamDecision
                && let Some(decision) = r
                    .detail
                    .as_ref()
                    .and_then(|d| d["decision_record"].as_u64())
            {
                let taken = r.result.as_deref() == Some("published");
                outcomes.taken.entry(decision).or_insert(taken);
            }
            Ok(stop_at(seq, end))
        })?;
        Ok(outcomes)
    }

    /// Whether the decision recorded at `seq` was refused by the team.
    fn refused(&self, seq: u64) -> bool {
        self.taken.get(&seq) == Some(&false)
    }
}

/// Whether a walk over the first `end.records` records goes on after `seq`.
fn stop_at(seq: u64, end: &ChainEnd) -> ControlFlow<()> {
    if seq == end.records {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// Writes one label line per approve/override record among the first
/// `end.records` records of `input`, which must be the chain `end`
/// describes (records appended since are left for the next export), but
/// for decisions the team refused (`team`).
pub fn export_labels(
    input: impl BufRead,
    out: &mut impl Write,
    end: &ChainEnd,
    team: &TeamOutcomes,
) -> Result<ExportStats, ExportError> {
    let mut stats = ExportStats::default();
    if end.records == 0 {
        return Ok(stats);
    }
    let mut write_error = None;
    let walked = walk(input, Some(end), |seq, line| {
        stats.records = seq;
        match write_label(seq, line, out, team) {
            Ok(wrote) => stats.labels += u64::from(wrote),
            Err(e) => {
                write_error = Some(e);
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(stop_at(seq, end))
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
fn write_label(
    seq: u64,
    line: &[u8],
    out: &mut impl Write,
    team: &TeamOutcomes,
) -> io::Result<bool> {
    let Ok(record) = serde_json::from_slice::<AuditRecord>(line) else {
        return Ok(false);
    };
    if !matches!(record.action, AuditAction::Approve | AuditAction::Override) || team.refused(seq) {
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
        let stats = export_labels(&log[..], &mut out, &end, &TeamOutcomes::default()).unwrap();
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
        let stats = export_labels(&grown[..], &mut out, &end, &TeamOutcomes::default()).unwrap();
        assert_eq!((stats.records, stats.labels), (4, 4));

        // Cut and written again: the same count, another last record.
        let other = chain(4, |seq| match seq {
            4 => approval(seq, "mallory", "legit"),
            _ => approval(seq, "alice", "fraud"),
        });
        let Err(ExportError::Chain(bad)) =
            export_labels(&other[..], &mut Vec::new(), &end, &TeamOutcomes::default())
        else {
            panic!("a rewritten record was exported");
        };
        assert_eq!(bad.line, 4, "{bad}");

        // Cut short.
        let Err(ExportError::Chain(bad)) = export_labels(
            &log[..log.len() / 2],
            &mut Vec::new(),
            &end,
            &TeamOutcomes::default(),
        ) else {
            panic!("a cut log was exported");
        };
        assert!(bad.line <= 3, "{bad}");
    }

    #[test]
    fn a_decision_the_team_refused_is_no_label() {
        let team = |operator: &str, case: &str, result: &str, decision: u64| {
            let mut entry = AuditEntry::new(operator, AuditAction::TeamDecision);
            entry.case_id = Some(case.into());
            entry.result = Some(result.into());
            entry.detail = Some(serde_json::json!({ "decision_record": decision }));
            entry
        };
        let decide = |operator: &str, case: &str| {
            let mut entry = AuditEntry::new(operator, AuditAction::Approve);
            entry.case_id = Some(case.into());
            entry.label = Some("fraud".into());
            entry
        };
        // bob lost c1 to alice; c2 was not acknowledged, then decided
        // again and taken; c3 was decided before team mode.
        let log = chain(8, |seq| match seq {
            1 => decide("bob", "c1"),
            2 => team("bob", "c1", "already_decided", 1),
            3 => decide("alice", "c2"),
            4 => team("alice", "c2", "not_published", 3),
            5 => decide("alice", "c2"),
            6 => team("alice", "c2", "published", 5),
            7 => decide("alice", "c3"),
            _ => team("bob", "c9", "published", 99),
        });
        let end = verify(&log[..]).unwrap().unwrap().end();
        let outcomes = TeamOutcomes::read(&log[..], &end).unwrap();
        let mut out = Vec::new();
        let stats = export_labels(&log[..], &mut out, &end, &outcomes).unwrap();
        let text = String::from_utf8(out).unwrap();
        let exported: Vec<(String, String)> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().into(),
                    v["operator"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            exported,
            [("c2".into(), "alice".into()), ("c3".into(), "alice".into())]
        );
        assert_eq!(stats.labels, 2);
    }
}

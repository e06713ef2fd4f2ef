//! `segment_drift`: each watched segment's sliding window against the
//! segment's own baseline, by the output rules' own tests (confidence,
//! prediction mix, realized accuracy), their significance split over the
//! segments tested (Bonferroni, as the ladder splits it over windows). One
//! alert per model lists the drifting segments (`field=value`), most
//! severe first; a segment that joins while it is active re-announces it.
//! The news is where: it fires only while some segment tested did not move
//! by any rule's effect size, significant or not (`Hold::EffectOnly`) —
//! when every segment moves, the drift is the model's and its own alerts
//! say so.
//! Driven by the model's checks where the segments live (`Drive::Own`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::listed::ListedBreach;
use super::{AlertRules, Drive, Hold, WindowFigures, rule_of};
use crate::engine::alerts::{AlertKind, Breach, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentDriftRule {
    /// The thresholds are the output rules' (`confidence_drift`,
    /// `prediction_mix_drift`, `accuracy_drop`), each as enabled there.
    pub enabled: bool,
}

impl Default for SegmentDriftRule {
    fn default() -> Self {
        SegmentDriftRule { enabled: true }
    }
}

/// The output rules a segment is tested by.
const TESTS: [AlertKind; 3] = [
    AlertKind::ConfidenceDrift,
    AlertKind::PredictionMixDrift,
    AlertKind::AccuracyDrop,
];

/// Segments described in an alert's detail; the rest are counted.
const DESCRIBED: usize = 3;

/// One segment at a check: its name (`field=value`) and its sliding
/// window's figures against its baseline (`ladder_len` counting every
/// segment tested).
pub struct SegmentFigures<'a> {
    pub name: &'a Arc<str>,
    pub figures: WindowFigures<'a>,
}

/// Which segments drift at one check.
pub fn check(
    rule: &SegmentDriftRule,
    rules: &AlertRules,
    segments: &[SegmentFigures<'_>],
    hold: Hold,
) -> Option<ListedBreach> {
    if !rule.enabled || segments.is_empty() {
        return None;
    }
    let breach = |figures: &WindowFigures<'_>, hold: Hold| {
        TESTS
            .iter()
            .filter_map(|&kind| match rule_of(kind)?.drive {
                Drive::Window(test) => test(rules, figures, hold),
                Drive::Own => None,
            })
            .max_by_key(|b| b.severity)
    };
    let mut drifting: Vec<(&Arc<str>, Breach)> = segments
        .iter()
        .filter_map(|s| Some((s.name, breach(&s.figures, hold)?)))
        .collect();
    let local = hold == Hold::Keep
        || segments
            .iter()
            .any(|s| breach(&s.figures, Hold::EffectOnly).is_none());
    if drifting.is_empty() || !local {
        return None;
    }
    // Most severe first, then as listed (largest segment first).
    drifting.sort_by_key(|(_, b)| std::cmp::Reverse(b.severity));
    let described: Vec<String> = drifting
        .iter()
        .take(DESCRIBED)
        .map(|(name, b)| format!("{name}: {}", b.detail))
        .collect();
    let more = match drifting.len().saturating_sub(DESCRIBED) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    // Joining the list is news: a segment joins an active alert only by
    // the firing bar; the lower one only keeps the alert.
    let names = drifting
        .iter()
        .filter(|(name, _)| {
            hold == Hold::Fire
                || segments
                    .iter()
                    .any(|s| s.name == *name && breach(&s.figures, Hold::Fire).is_some())
        })
        .map(|(name, _)| Arc::clone(name))
        .collect();
    Some(ListedBreach {
        breach: Breach {
            severity: drifting[0].1.severity.max(Severity::Warning),
            direction: None,
            detail: format!(
                "{} of {} segments drifted: {}{more}",
                drifting.len(),
                segments.len(),
                described.join("; ")
            ),
        },
        names,
    })
}

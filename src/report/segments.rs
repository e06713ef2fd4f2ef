//! The segments in the `replay` report: each window's segments and the
//! baseline's, keyed by field then value (`{"segment":{"EU":{...}}}`).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::replay::mix_map;
use crate::engine::compare::Comparison;
use crate::engine::labels::LabelTable;
use crate::engine::segments::{SegmentMonitor, SegmentWindow};
use crate::engine::window::ConfidenceSummary;

/// One window's segments.
pub struct WindowSegments<'a> {
    pub windows: &'a [SegmentWindow],
    pub labels: &'a LabelTable,
}

#[derive(Serialize)]
struct SegmentWindowReport {
    n: u64,
    confidence: ConfidenceSummary,
    mix: BTreeMap<String, u64>,
    #[serde(flatten)]
    comparison: Comparison,
    accuracy: SegmentAccuracy,
}

#[derive(Serialize)]
struct SegmentAccuracy {
    realized: Option<f64>,
    labelled: u64,
}

impl Serialize for WindowSegments<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        by_field(self.windows.iter().map(|w| {
            let summary = &w.summary;
            let report = SegmentWindowReport {
                n: summary.n,
                confidence: summary.confidence,
                mix: mix_map(&summary.mix, self.labels),
                comparison: summary.comparison,
                accuracy: SegmentAccuracy {
                    realized: summary.realized_accuracy(),
                    labelled: summary.labelled,
                },
            };
            (w.field.as_ref(), w.value.as_ref(), report)
        }))
        .serialize(s)
    }
}

/// The baseline's segments: each watched segment's size, mean confidence,
/// mix and accuracy, and what was not watched.
pub struct BaselineSegments<'a> {
    pub segments: &'a SegmentMonitor,
    pub labels: &'a LabelTable,
}

#[derive(Serialize)]
struct SegmentBaselineReport {
    n: u64,
    confidence_mean: f64,
    mix: BTreeMap<String, u64>,
    accuracy: SegmentAccuracy,
}

impl Serialize for BaselineSegments<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        by_field(self.segments.segments().map(|(field, segment)| {
            let b = &segment.baseline;
            let report = SegmentBaselineReport {
                n: b.n(),
                confidence_mean: b.mean,
                mix: mix_map(&b.mix, self.labels),
                accuracy: SegmentAccuracy {
                    realized: b.accuracy(),
                    labelled: b.labelled,
                },
            };
            (field, segment.value.as_ref(), report)
        }))
        .serialize(s)
    }
}

/// Reports keyed by field, then value.
fn by_field<'a, T>(
    reports: impl Iterator<Item = (&'a str, &'a str, T)>,
) -> BTreeMap<&'a str, BTreeMap<&'a str, T>> {
    let mut fields: BTreeMap<&str, BTreeMap<&str, T>> = BTreeMap::new();
    for (field, value, report) in reports {
        fields.entry(field).or_default().insert(value, report);
    }
    fields
}

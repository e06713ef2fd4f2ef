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
        let mut fields: BTreeMap<&str, BTreeMap<&str, SegmentWindowReport>> = BTreeMap::new();
        for w in self.windows {
            let summary = &w.summary;
            fields.entry(&w.field).or_default().insert(
                &w.value,
                SegmentWindowReport {
                    n: summary.n,
                    confidence: summary.confidence,
                    mix: mix_map(&summary.mix, self.labels),
                    comparison: summary.comparison,
                    accuracy: SegmentAccuracy {
                        realized: summary.realized_accuracy(),
                        labelled: summary.labelled,
                    },
                },
            );
        }
        fields.serialize(s)
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
        let mut fields: BTreeMap<&str, BTreeMap<&str, SegmentBaselineReport>> = BTreeMap::new();
        for (field, segment) in self.segments.segments() {
            let b = &segment.baseline;
            fields.entry(field).or_default().insert(
                &segment.value,
                SegmentBaselineReport {
                    n: b.n(),
                    confidence_mean: b.mean,
                    mix: mix_map(&b.mix, self.labels),
                    accuracy: SegmentAccuracy {
                        realized: b.accuracy(),
                        labelled: b.labelled,
                    },
                },
            );
        }
        fields.serialize(s)
    }
}

//! Segments: a model's traffic split by the value of a field (`segment`,
//! or an input feature named in `[segments] fields`), each of the largest
//! segments in the baseline watched against its own baseline, so "the EU
//! traffic drifted" is one line. Confidence, mix and accuracy are tested
//! per segment with the output rules' own tests (`segment_drift`), and
//! each report window carries its segments' figures.

pub mod segment;
pub mod settings;
mod split;

use std::sync::Arc;

use segment::Segment;
use settings::SegmentSettings;
use split::Split;

use super::labels::LabelTable;
use super::scales::ScaleFigures;
use super::window::WindowSummary;
use crate::record::features::Features;

/// A prediction as the splits see it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentedPrediction<'a> {
    pub index: u64,
    pub confidence: f64,
    pub label: u32,
    pub ts_ms: i64,
    pub segment: Option<&'a str>,
    pub features: &'a Features<'a>,
}

/// A segment's part of a report window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentWindow {
    pub field: Arc<str>,
    pub value: Arc<str>,
    pub summary: WindowSummary,
}

/// One model's splits.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SegmentMonitor {
    settings: SegmentSettings,
    splits: Vec<Split>,
    /// The model's window size: each segment's sliding window.
    window: u64,
    /// Most predictions a segment's baseline holds (the model's cap).
    max_baseline: u64,
}

impl SegmentMonitor {
    pub fn new(settings: &SegmentSettings, window: u64, max_baseline: u64) -> Self {
        let splits = if settings.enabled {
            settings.fields.iter().map(|f| Split::new(f)).collect()
        } else {
            Vec::new()
        };
        SegmentMonitor {
            settings: settings.clone(),
            splits,
            window,
            max_baseline,
        }
    }

    pub fn observe_baseline(&mut self, p: SegmentedPrediction<'_>) {
        for split in &mut self.splits {
            if let Some(value) = split.value(p.segment, p.features) {
                split.observe_baseline(
                    &value,
                    (p.index, p.confidence, p.label, p.ts_ms),
                    self.settings.max_values,
                    self.max_baseline,
                );
            }
        }
    }

    /// The baseline is complete: the largest segments are watched from
    /// `window_start` on.
    pub fn freeze(&mut self, window_start: u64) {
        let s = &self.settings;
        for split in &mut self.splits {
            split.freeze(s.top, s.min_baseline, self.window, window_start);
        }
    }

    pub fn observe(&mut self, p: SegmentedPrediction<'_>) {
        for split in &mut self.splits {
            let Some(value) = split.value(p.segment, p.features) else {
                continue;
            };
            if let Some(segment) = split.segment_mut(&value) {
                segment.observe(p.index, p.confidence, p.label, self.window);
            }
        }
    }

    pub fn label(&mut self, index: u64, correct: bool, previous: Option<bool>) {
        for split in &mut self.splits {
            split.label(index, correct, previous);
        }
    }

    /// Tests every segment with at least `min_samples` predictions in its
    /// sliding window against its baseline.
    pub fn test(&mut self, labels: &LabelTable, min_samples: u64) -> Vec<(&Segment, ScaleFigures)> {
        let mut tested = Vec::new();
        for split in &mut self.splits {
            for segment in split.segments_mut() {
                if segment.sliding().n() >= min_samples {
                    segment.test(labels);
                }
            }
        }
        for split in &self.splits {
            for segment in split.segments() {
                if segment.sliding().n() >= min_samples
                    && let Some(figures) = segment.last
                {
                    tested.push((segment, figures));
                }
            }
        }
        tested
    }

    /// Closes every segment's part of the report window `[start, end)`.
    pub fn close_window(
        &mut self,
        labels: &LabelTable,
        start: u64,
        end: u64,
    ) -> Vec<SegmentWindow> {
        let mut out = Vec::new();
        for split in &mut self.splits {
            let field = Arc::clone(&split.field);
            for segment in split.segments_mut() {
                out.push(SegmentWindow {
                    field: Arc::clone(&field),
                    value: Arc::clone(&segment.value),
                    summary: segment.close_window(labels, start, end),
                });
            }
        }
        out
    }

    /// Every segment's part of the report window being filled.
    pub fn partial_windows(&self, labels: &LabelTable, end: u64) -> Vec<SegmentWindow> {
        self.splits
            .iter()
            .flat_map(|split| {
                split.segments().iter().map(move |segment| SegmentWindow {
                    field: Arc::clone(&split.field),
                    value: Arc::clone(&segment.value),
                    summary: segment.partial_window(labels, end),
                })
            })
            .collect()
    }

    /// Every watched segment with its field.
    pub fn segments(&self) -> impl Iterator<Item = (&str, &Segment)> {
        self.splits
            .iter()
            .flat_map(|split| split.segments().iter().map(move |s| (&*split.field, s)))
    }

    /// The fields that split the traffic (none when segments are off).
    pub fn fields(&self) -> impl Iterator<Item = &Arc<str>> {
        self.splits.iter().map(|split| &split.field)
    }

    /// Predictions whose value was not watched, over every split.
    pub fn unwatched(&self) -> u64 {
        self.splits.iter().map(|s| s.unwatched).sum()
    }
}

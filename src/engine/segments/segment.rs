//! One segment of a model's traffic (the predictions whose field has one
//! value): its own baseline, the last W of its predictions, and the report
//! window being filled. Labels find their prediction by its index, kept
//! beside the baseline and the sliding window (a label for a prediction
//! already out of both is not counted for the segment).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::engine::baseline::{Baseline, BaselineBuilder};
use crate::engine::labels::LabelTable;
use crate::engine::scales::{MIN_EXPECTED_PER_LABEL, ScaleFigures, mix_testable};
use crate::engine::settings::BaselineSpec;
use crate::engine::window::{SlidingWindow, WindowAccumulator, WindowSummary, label_delta};

/// A segment while the model's baseline is collected.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SegmentBuilder {
    /// The field's value.
    pub name: Arc<str>,
    builder: BaselineBuilder,
    /// Prediction index of each baseline prediction, ascending.
    indices: Vec<u64>,
}

impl SegmentBuilder {
    pub fn new(name: Arc<str>, max: u64) -> Self {
        SegmentBuilder {
            name,
            builder: BaselineBuilder::new(BaselineSpec::Count(max), max),
            indices: Vec::new(),
        }
    }

    /// Baseline predictions collected.
    pub fn size(&self) -> u64 {
        self.indices.len() as u64
    }

    pub fn add(&mut self, index: u64, confidence: f64, label: u32, ts_ms: i64) {
        if self.builder.accepts(ts_ms) {
            self.builder.add(confidence, label, ts_ms);
            self.indices.push(index);
        }
    }

    pub fn label(&mut self, index: u64, correct: bool, previous: Option<bool>) {
        if let Ok(offset) = self.indices.binary_search(&index) {
            let (dl, dc) = label_delta(correct, previous);
            self.builder.add_label_delta(dl, dc);
            self.builder.record_outcome(offset as u64, correct);
        }
    }

    /// The segment of `field` watched from here on, its windows `window`
    /// long.
    pub fn freeze(self, field: &str, window: u64, window_start: u64) -> Segment {
        let start = self.indices.first().copied().unwrap_or(0);
        let mut baseline = self.builder.freeze(start);
        baseline.end_exclusive = self.indices.last().map_or(start, |i| i + 1);
        Segment {
            name: format!("{field}={}", self.name).into(),
            value: self.name,
            baseline,
            baseline_indices: self.indices.into(),
            sliding: SlidingWindow::new(window, &[]),
            slot_indices: VecDeque::new(),
            pushed: 0,
            current: WindowAccumulator::new(window_start, 0),
            last: None,
        }
    }
}

/// A segment watched against its own baseline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// `field=value`, as alerts name it.
    pub name: Arc<str>,
    pub value: Arc<str>,
    pub baseline: Baseline,
    baseline_indices: Box<[u64]>,
    /// The segment's last W predictions, indexed by their count in the
    /// segment (`pushed`).
    sliding: SlidingWindow,
    /// Prediction index of each of `sliding`'s slots, oldest first.
    slot_indices: VecDeque<u64>,
    pushed: u64,
    /// The segment's predictions in the model's report window being filled.
    current: WindowAccumulator,
    /// The sliding window as last tested.
    pub last: Option<ScaleFigures>,
}

impl Segment {
    pub fn observe(&mut self, index: u64, confidence: f64, label: u32, window: u64) {
        let calibration = &self.baseline.calibration;
        self.sliding
            .push(self.pushed, confidence, label, None, calibration);
        self.pushed += 1;
        self.slot_indices.push_back(index);
        if self.slot_indices.len() as u64 > window {
            self.slot_indices.pop_front();
        }
        self.current.add(confidence, label, None);
    }

    pub fn label(&mut self, index: u64, correct: bool, previous: Option<bool>) {
        let (dl, dc) = label_delta(correct, previous);
        let apply = |labelled: &mut u64, right: &mut u64| {
            *labelled = labelled.saturating_add_signed(dl);
            *right = right.saturating_add_signed(dc);
        };
        if self.baseline_indices.binary_search(&index).is_ok() {
            apply(&mut self.baseline.labelled, &mut self.baseline.correct);
            return;
        }
        let Ok(at) = self.slot_indices.binary_search(&index) else {
            return;
        };
        let first = self.pushed - self.slot_indices.len() as u64;
        self.sliding.label(first + at as u64, correct);
        if index >= self.current.start {
            apply(&mut self.current.labelled, &mut self.current.correct);
        }
    }

    /// Tests the sliding window against the segment's baseline.
    pub fn test(&mut self, labels: &LabelTable) -> Option<ScaleFigures> {
        self.sliding.retest(&self.baseline, labels, 0, 1);
        let mut figures = self.sliding.tested().first().copied()?;
        figures.mix_testable = mix_testable(&self.baseline, figures.n, MIN_EXPECTED_PER_LABEL);
        self.last = Some(figures);
        Some(figures)
    }

    /// Predictions in the sliding window, and their labelled and correct counts.
    pub fn sliding_counts(&self) -> (u64, u64, u64) {
        (
            self.sliding.n(),
            self.sliding.labelled,
            self.sliding.correct,
        )
    }

    pub fn sliding(&self) -> &SlidingWindow {
        &self.sliding
    }

    /// The report window `[start, end)` of the model, this segment's part
    /// of it; the next begins at `end`.
    pub fn close_window(&mut self, labels: &LabelTable, start: u64, end: u64) -> WindowSummary {
        let mut s = self.current.close(&self.baseline, labels, end);
        (s.start, s.end_exclusive) = (start, end);
        s
    }

    /// The report window being filled, as it stands.
    pub fn partial_window(&self, labels: &LabelTable, end: u64) -> WindowSummary {
        let mut s = self.current.summarize(&self.baseline, labels);
        s.end_exclusive = end;
        s
    }
}

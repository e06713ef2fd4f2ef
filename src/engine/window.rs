//! Windows of predictions: tumbling windows for the report (each closed and
//! summarised once) and the sliding window of the last W for the live view
//! and the alert checks.

use std::collections::VecDeque;

use super::baseline::Baseline;
use super::compare::{Comparison, Confidences, WindowCounts, compare};
use super::features::figures::FeatureFigures;
use super::labels::{LabelCounts, LabelTable};
use super::scales::Rung;
use super::stats::counts::{SortedCounts, mean_std, percentiles};
use super::stats::fine::FineHistogram;
use super::stats::psi::{self, Bins};

/// Mean and percentiles of a window's confidences.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ConfidenceSummary {
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

impl ConfidenceSummary {
    pub fn of(c: &SortedCounts) -> Option<Self> {
        let (mean, _) = mean_std(c)?;
        let [p10, p50, p90] = percentiles(c, [0.1, 0.5, 0.9])?;
        Some(ConfidenceSummary {
            mean,
            p10,
            p50,
            p90,
        })
    }
}

/// A closed (or, at the end of input, partial) tumbling window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSummary {
    pub start: u64,
    pub end_exclusive: u64,
    pub n: u64,
    pub confidence: ConfidenceSummary,
    /// Label counts by label id.
    pub mix: LabelCounts,
    pub comparison: Comparison,
    /// Feedback joined to this window's predictions so far.
    pub labelled: u64,
    pub correct: u64,
    /// Each input feature against the baseline, by feature id (set by the
    /// model, which holds the features).
    pub features: Vec<FeatureFigures>,
}

impl WindowSummary {
    pub fn realized_accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }

    /// Mean confidence of the predicted class: the CBPE estimate for a
    /// calibrated model.
    pub fn estimated_accuracy(&self) -> f64 {
        self.confidence.mean
    }
}

/// The tumbling window being filled.
#[derive(Debug, Clone)]
pub struct WindowAccumulator {
    pub start: u64,
    confidences: Vec<f64>,
    bins: Bins,
    mix: LabelCounts,
    pub labelled: u64,
    pub correct: u64,
}

impl WindowAccumulator {
    pub fn new(start: u64, capacity: u64) -> Self {
        WindowAccumulator {
            start,
            confidences: Vec::with_capacity(capacity.min(1 << 20) as usize),
            bins: [0; psi::BINS],
            mix: LabelCounts::default(),
            labelled: 0,
            correct: 0,
        }
    }

    pub fn n(&self) -> u64 {
        self.confidences.len() as u64
    }

    #[inline]
    pub fn add(&mut self, confidence: f64, label: u32) {
        self.confidences.push(confidence);
        self.bins[psi::bin(confidence)] += 1;
        self.mix.add(label);
    }

    /// Summarises without closing (the trailing partial window).
    pub fn summarize(&self, baseline: &Baseline, labels: &LabelTable) -> WindowSummary {
        let counts = SortedCounts::from_unsorted(&mut self.confidences.clone());
        self.summary_of(&counts, baseline, labels)
    }

    /// Closes the window and starts the next one at `next_start`.
    pub fn close(
        &mut self,
        baseline: &Baseline,
        labels: &LabelTable,
        next_start: u64,
    ) -> WindowSummary {
        let counts = SortedCounts::from_unsorted(&mut self.confidences);
        let summary = self.summary_of(&counts, baseline, labels);
        self.start = next_start;
        self.confidences.clear();
        self.bins = [0; psi::BINS];
        self.mix.clear();
        self.labelled = 0;
        self.correct = 0;
        summary
    }

    fn summary_of(
        &self,
        counts: &SortedCounts,
        baseline: &Baseline,
        labels: &LabelTable,
    ) -> WindowSummary {
        let view = WindowCounts {
            confidences: Confidences::Exact(counts),
            bins: &self.bins,
            mix: &self.mix,
        };
        WindowSummary {
            start: self.start,
            end_exclusive: self.start + self.n(),
            n: self.n(),
            confidence: ConfidenceSummary::of(counts).unwrap_or_default(),
            mix: self.mix.clone(),
            comparison: compare(baseline, labels, &view),
            labelled: self.labelled,
            correct: self.correct,
            features: Vec::new(),
        }
    }
}

/// Whether feedback has arrived for a prediction in the sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Labelled {
    No,
    Correct,
    Wrong,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    confidence: f64,
    label: u32,
    labelled: Labelled,
}

/// The last W predictions after the baseline.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    capacity: usize,
    slots: VecDeque<Slot>,
    /// Prediction index of `slots[0]`.
    first_index: u64,
    counts: FineHistogram,
    bins: Bins,
    mix: LabelCounts,
    /// The last W/2, W/4, … predictions (`scales`), smallest last.
    rungs: Vec<Rung>,
    pub labelled: u64,
    pub correct: u64,
}

impl SlidingWindow {
    /// The last `capacity` predictions, with rungs of the given sizes (each
    /// smaller than `capacity`) inside it.
    pub fn new(capacity: u64, rungs: &[u64]) -> Self {
        SlidingWindow {
            rungs: rungs
                .iter()
                .filter(|&&s| s > 0 && s < capacity)
                .map(|&s| Rung::new(s))
                .collect(),
            capacity: capacity.max(1) as usize,
            slots: VecDeque::with_capacity(capacity.min(1 << 20) as usize),
            first_index: 0,
            counts: FineHistogram::default(),
            bins: [0; psi::BINS],
            mix: LabelCounts::default(),
            labelled: 0,
            correct: 0,
        }
    }

    pub fn n(&self) -> u64 {
        self.slots.len() as u64
    }

    /// Adds prediction `index` (consecutive with the previous one).
    #[inline]
    pub fn push(&mut self, index: u64, confidence: f64, label: u32) {
        if self.slots.is_empty() {
            self.first_index = index;
        }
        if self.slots.len() == self.capacity
            && let Some(old) = self.slots.pop_front()
        {
            self.first_index += 1;
            self.counts.remove(old.confidence);
            self.bins[psi::bin(old.confidence)] -= 1;
            self.mix.sub(old.label);
            match old.labelled {
                Labelled::No => {}
                Labelled::Correct => {
                    self.labelled -= 1;
                    self.correct -= 1;
                }
                Labelled::Wrong => self.labelled -= 1,
            }
        }
        self.slots.push_back(Slot {
            confidence,
            label,
            labelled: Labelled::No,
        });
        self.counts.add(confidence);
        self.bins[psi::bin(confidence)] += 1;
        self.mix.add(label);
        let len = self.slots.len();
        for rung in &mut self.rungs {
            rung.add(confidence, label);
            if let Some(out) = len.checked_sub(rung.size as usize + 1) {
                let old = self.slots[out];
                rung.remove(old.confidence, old.label);
            }
        }
    }

    /// The smaller windows inside this one, largest first.
    pub fn rungs(&self) -> &[Rung] {
        &self.rungs
    }

    /// Records a label for prediction `index` if it is still in the window
    /// (a later label for the same prediction replaces the earlier one).
    pub fn label(&mut self, index: u64, correct: bool) {
        let Some(offset) = index.checked_sub(self.first_index) else {
            return;
        };
        let Some(slot) = self.slots.get_mut(offset as usize) else {
            return;
        };
        match slot.labelled {
            Labelled::No => self.labelled += 1,
            Labelled::Correct => self.correct -= 1,
            Labelled::Wrong => {}
        }
        slot.labelled = if correct {
            Labelled::Correct
        } else {
            Labelled::Wrong
        };
        self.correct += u64::from(correct);
    }

    /// The window against the baseline, on the fine grid.
    pub fn evaluate(&self, baseline: &Baseline, labels: &LabelTable) -> Comparison {
        let view = WindowCounts {
            confidences: Confidences::Fine(&self.counts),
            bins: &self.bins,
            mix: &self.mix,
        };
        compare(baseline, labels, &view)
    }

    /// Mean confidence (exact).
    pub fn mean(&self) -> Option<f64> {
        self.counts.mean()
    }

    /// Mean (exact) and percentiles (to the grid) for display.
    pub fn summary(&self) -> Option<ConfidenceSummary> {
        let [p10, p50, p90] = self.counts.percentiles([0.1, 0.5, 0.9])?;
        Some(ConfidenceSummary {
            mean: self.counts.mean()?,
            p10,
            p50,
            p90,
        })
    }

    pub fn mix(&self) -> &LabelCounts {
        &self.mix
    }

    pub fn realized_accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }
}

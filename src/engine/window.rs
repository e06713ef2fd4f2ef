//! Windows of predictions: tumbling windows for the report (each closed and
//! summarised once) and the sliding window of the last W for the live view
//! and the alert checks.

use std::collections::VecDeque;

use super::baseline::Baseline;
use super::cbpe::{AccuracyEstimate, Calibration, EstimateMethod, EstimateSum};
use super::compare::{Comparison, Confidences, WindowCounts, compare};
use super::features::figures::FeatureFigures;
use super::labels::{LabelCounts, LabelTable};
use super::scales::{MIN_EXPECTED_PER_LABEL, Rung, ScaleFigures};
use super::segments::SegmentWindow;
use super::stats::counts::{SortedCounts, mean_std, percentiles};
use super::stats::psi::{self, Bins};

/// Mean and percentiles of a window's confidences.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// CBPE when every prediction had a calibration as it came in, else
    /// the mean confidence.
    pub estimated: AccuracyEstimate,
    /// Each input feature against the baseline, by feature id (set by the
    /// model, which holds the features).
    pub features: Vec<FeatureFigures>,
    /// Each watched segment's part of the window, against its own baseline
    /// (set by the model, which holds the segments).
    pub segments: Vec<SegmentWindow>,
}

impl WindowSummary {
    pub fn realized_accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }
}

/// The tumbling window being filled.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WindowAccumulator {
    pub start: u64,
    confidences: Vec<f64>,
    bins: Bins,
    mix: LabelCounts,
    estimate: EstimateSum,
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
            estimate: EstimateSum::default(),
            labelled: 0,
            correct: 0,
        }
    }

    pub fn n(&self) -> u64 {
        self.confidences.len() as u64
    }

    /// Adds a prediction with its calibrated probability of being right
    /// (None before there is a calibration).
    #[inline]
    pub fn add(&mut self, confidence: f64, label: u32, estimate: Option<f64>) {
        self.confidences.push(confidence);
        self.bins[psi::bin(confidence)] += 1;
        self.mix.add(label);
        self.estimate.add(estimate);
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
        self.estimate = EstimateSum::default();
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
        let confidence = ConfidenceSummary::of(counts).unwrap_or_default();
        WindowSummary {
            start: self.start,
            end_exclusive: self.start + self.n(),
            n: self.n(),
            confidence,
            mix: self.mix.clone(),
            comparison: compare(baseline, labels, &view),
            labelled: self.labelled,
            correct: self.correct,
            estimated: self.estimate.estimate(self.n(), confidence.mean),
            features: Vec::new(),
            segments: Vec::new(),
        }
    }
}

/// The change in labelled and correct counts when a label is counted
/// (`previous`: the verdict of a label it replaces).
pub fn label_delta(correct: bool, previous: Option<bool>) -> (i64, i64) {
    match previous {
        None => (1, i64::from(correct)),
        Some(was) => (0, i64::from(correct) - i64::from(was)),
    }
}

/// Whether feedback has arrived for a prediction in the sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Labelled {
    No,
    Correct,
    Wrong,
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Slot {
    confidence: f64,
    label: u32,
    labelled: Labelled,
}

/// The last W predictions after the baseline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SlidingWindow {
    capacity: usize,
    slots: VecDeque<Slot>,
    /// Prediction index of `slots[0]`.
    first_index: u64,
    /// The counts of the whole window.
    whole: Rung,
    /// The last W/2, W/4, … predictions (`scales`), smallest last.
    rungs: Vec<Rung>,
    /// Each window's figures as last tested: the whole window, then each
    /// rung (`None` until first tested).
    tested: Vec<Option<ScaleFigures>>,
    /// Sum of the slots' calibrated probabilities under the calibration
    /// `estimate_version` (0: none yet).
    estimate_sum: f64,
    estimate_version: u64,
    /// Labelled, and correct, predictions among the slots (a segment's
    /// accuracy; a model's comes from its last labels, `RecentOutcomes`).
    pub labelled: u64,
    pub correct: u64,
}

impl SlidingWindow {
    /// The last `capacity` predictions, with rungs of the given sizes (each
    /// smaller than `capacity`) inside it.
    pub fn new(capacity: u64, rungs: &[u64]) -> Self {
        let rungs: Vec<Rung> = rungs
            .iter()
            .filter(|&&s| s > 0 && s < capacity)
            .map(|&s| Rung::new(s))
            .collect();
        SlidingWindow {
            tested: vec![None; rungs.len() + 1],
            rungs,
            capacity: capacity.max(1) as usize,
            slots: VecDeque::with_capacity(capacity.min(1 << 20) as usize),
            first_index: 0,
            whole: Rung::new(capacity),
            estimate_sum: 0.0,
            estimate_version: 0,
            labelled: 0,
            correct: 0,
        }
    }

    pub fn n(&self) -> u64 {
        self.slots.len() as u64
    }

    /// Adds prediction `index` (consecutive with the previous one) with its
    /// `estimate` under `calibration` (the window's sum is recomputed when
    /// the calibration was refitted).
    #[inline]
    pub fn push(
        &mut self,
        index: u64,
        confidence: f64,
        label: u32,
        estimate: Option<f64>,
        calibration: &Calibration,
    ) {
        if calibration.version() != self.estimate_version {
            self.estimate_version = calibration.version();
            self.estimate_sum = self
                .slots
                .iter()
                .filter_map(|s| calibration.estimate(s.confidence, s.label))
                .sum();
        }
        if self.slots.is_empty() {
            self.first_index = index;
        }
        if self.slots.len() == self.capacity
            && let Some(old) = self.slots.pop_front()
        {
            self.first_index += 1;
            self.whole.remove(old.confidence, old.label);
            self.estimate_sum -= calibration
                .estimate(old.confidence, old.label)
                .unwrap_or(0.0);
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
        self.whole.add(confidence, label);
        self.estimate_sum += estimate.unwrap_or(0.0);
        let len = self.slots.len();
        for rung in &mut self.rungs {
            rung.add(confidence, label);
            if let Some(out) = len.checked_sub(rung.size as usize + 1) {
                let old = self.slots[out];
                rung.remove(old.confidence, old.label);
            }
        }
    }

    /// The predicted labels of the last `n` predictions (at most the
    /// window's), and how many that was.
    pub fn last_mix(&self, n: u64) -> (LabelCounts, u64) {
        let take = (n as usize).min(self.slots.len());
        let mut mix = LabelCounts::default();
        for slot in self.slots.iter().skip(self.slots.len() - take) {
            mix.add(slot.label);
        }
        (mix, take as u64)
    }

    /// The smaller windows inside this one, largest first.
    pub fn rungs(&self) -> &[Rung] {
        &self.rungs
    }

    /// Re-tests against the baseline the windows due at the check
    /// `since_origin` predictions after the windows began (checks come every
    /// `check_every`): the smallest at every check (a large change shows
    /// there first), the next once half its size has passed, each larger
    /// one once its size has (so each costs about as much whatever its
    /// size). The others keep their latest figures.
    pub fn retest(
        &mut self,
        baseline: &Baseline,
        labels: &LabelTable,
        since_origin: u64,
        check_every: u64,
    ) {
        let smallest = self.rungs.last().map_or(self.capacity as u64, |r| r.size);
        let due = |size: u64| {
            let after = if size <= 2 * smallest { size / 2 } else { size };
            size < 3 * check_every
                || since_origin.is_multiple_of((after / check_every).max(1) * check_every)
        };
        if due(self.capacity as u64) || self.tested[0].is_none() {
            self.tested[0] = Some(ScaleFigures {
                n: self.n(),
                comparison: self.whole.evaluate(baseline, labels),
                mean: self.mean().unwrap_or(baseline.mean),
                mix_testable: true,
            });
        }
        for (slot, rung) in self.tested[1..].iter_mut().zip(&self.rungs) {
            if rung.n() >= rung.size && (due(rung.size) || slot.is_none()) {
                *slot = Some(ScaleFigures {
                    n: rung.n(),
                    comparison: rung.evaluate(baseline, labels),
                    mean: rung.mean().unwrap_or(baseline.mean),
                    mix_testable: rung.mix_testable(baseline, MIN_EXPECTED_PER_LABEL),
                });
            }
        }
    }

    /// Every window's latest figures, the whole window first.
    pub fn tested(&self) -> Vec<ScaleFigures> {
        self.tested.iter().flatten().copied().collect()
    }

    /// How many windows the ladder tests, full or not.
    pub fn ladder_len(&self) -> usize {
        self.tested.len()
    }

    /// The whole window against the baseline as last tested (screens read
    /// this rather than recomputing it).
    pub fn last_comparison(&self) -> Option<Comparison> {
        self.tested[0].map(|t| t.comparison)
    }

    /// Estimated accuracy of the window: CBPE once there is a calibration
    /// (every slot under the latest one), else the mean confidence.
    pub fn estimated(&self) -> Option<AccuracyEstimate> {
        let n = self.n();
        if n == 0 {
            return None;
        }
        Some(if self.estimate_version > 0 {
            AccuracyEstimate {
                value: (self.estimate_sum / n as f64).clamp(0.0, 1.0),
                method: EstimateMethod::Cbpe,
            }
        } else {
            AccuracyEstimate {
                value: self.whole.mean()?,
                method: EstimateMethod::MeanConfidence,
            }
        })
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

    /// Mean confidence (exact).
    pub fn mean(&self) -> Option<f64> {
        self.whole.mean()
    }

    /// Mean (exact) and percentiles (to the grid) for display.
    pub fn summary(&self) -> Option<ConfidenceSummary> {
        let [p10, p50, p90] = self.whole.percentiles([0.1, 0.5, 0.9])?;
        Some(ConfidenceSummary {
            mean: self.whole.mean()?,
            p10,
            p50,
            p90,
        })
    }

    pub fn mix(&self) -> &LabelCounts {
        self.whole.mix()
    }

    /// The label whose share moved most between `baseline` and the window:
    /// name, baseline share, window share.
    pub fn largest_share_move<'a>(
        &self,
        labels: &'a LabelTable,
        baseline: &Baseline,
    ) -> Option<(&'a str, f64, f64)> {
        let (nb, nw) = (baseline.n() as f64, self.n() as f64);
        if nb == 0.0 || nw == 0.0 {
            return None;
        }
        (0..labels.len() as u32)
            .map(|id| {
                let from = baseline.mix.get(id) as f64 / nb;
                let to = self.mix().get(id) as f64 / nw;
                (id, from, to)
            })
            .max_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()))
            // As it came: whoever shows the detail escapes it for display.
            .map(|(id, from, to)| (labels.name(id), from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cbpe::tests::calibration;
    use crate::engine::settings::LabelSettings;

    #[test]
    fn sliding_estimate_follows_the_latest_calibration() {
        // One score (0.7) right 95% of the time: the map is 0.95 everywhere.
        let mut cal = calibration(1_000, &[0, 1, 2], 0.7, |i| !i.is_multiple_of(20), 1_000);
        let mut w = SlidingWindow::new(4, &[2]);
        for i in 0..3 {
            w.push(i, 0.6, 0, cal.estimate(0.6, 0), &cal);
        }
        let e = w.estimated().unwrap();
        assert_eq!(e.method, EstimateMethod::MeanConfidence);
        assert!((e.value - 0.6).abs() < 1e-12);
        cal.refresh(&LabelSettings {
            cbpe_min_labels: 10,
            ..LabelSettings::default()
        });
        // The slots that came before the fit are estimated under it too,
        // so the two evicted on the way take out what they put in.
        for i in 3..6 {
            w.push(i, 0.6, 1, cal.estimate(0.6, 1), &cal);
        }
        let e = w.estimated().unwrap();
        assert_eq!(e.method, EstimateMethod::Cbpe);
        assert!((e.value - 0.95).abs() < 1e-12, "{}", e.value);
    }

    #[test]
    fn rungs_hold_the_last_predictions_of_their_size() {
        let cal = calibration(0, &[0], 0.5, |_| true, 0);
        let mut w = SlidingWindow::new(8, &[4, 2, 8, 0]);
        assert_eq!(w.rungs().iter().map(|r| r.size).collect::<Vec<_>>(), [4, 2]);
        for i in 0..20u64 {
            w.push(i, i as f64 / 20.0, (i % 3) as u32, None, &cal);
            for rung in w.rungs() {
                let n = rung.size.min(i + 1);
                assert_eq!(rung.n(), n);
                let mean = (i + 1 - n..=i).map(|k| k as f64 / 20.0).sum::<f64>() / n as f64;
                assert!((rung.mean().unwrap() - mean).abs() < 1e-9, "{i}");
            }
        }
    }
}

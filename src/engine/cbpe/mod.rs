//! Estimated accuracy by confidence-based performance estimation (CBPE), as
//! nannyml 0.13.1 computes it: calibrate scores into probabilities on the
//! baseline's labelled predictions with isotonic regression (unless
//! `needs_calibration` judges them calibrated already), then estimate a
//! window's accuracy as the mean calibrated probability that each of its
//! predictions is right.
//!
//! - Binary (two labels in the baseline, every confidence ≥ 0.5): the score
//!   is p₁, the probability of one class (the confidence, or 1 − it when the
//!   other class was predicted), calibrated against "the true label is that
//!   class"; a prediction is right with p₁' or 1 − p₁'. Which class is
//!   called positive does not matter: the fit is symmetric.
//! - Otherwise the score is the predicted label's confidence, calibrated
//!   against "the prediction was right". nannyml instead calibrates every
//!   class one-vs-rest and renormalises, which needs every class's
//!   probability kept for every baseline prediction and runs low (0.035 on
//!   the 10-class reference stream, where this runs within 0.01).
//!
//! Labels keep arriving for baseline predictions after it is frozen: the
//! fit is redone when `labels.cbpe_refit_share` of the baseline has new
//! labels, never per event. Until `labels.cbpe_min_labels` baseline
//! predictions are labelled the estimate is the mean confidence.
//!
//! Memory: 5 bytes per baseline prediction while it is collected (label id
//! and outcome), then 4 per prediction (its cell) and 24 per distinct
//! (confidence, label) pair, the fitted map's knots at most 16 bytes per
//! distinct score: at most 44 bytes per baseline prediction, so bounded by
//! the baseline's own cap (a fit needs about 100 bytes per distinct score
//! while it runs).

mod needs;
#[cfg(test)]
pub(crate) mod tests;

use serde::Serialize;

use super::settings::LabelSettings;
use super::stats::isotonic::{IsotonicMap, Point};

/// How a figure of estimated accuracy was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateMethod {
    Cbpe,
    MeanConfidence,
}

impl EstimateMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            EstimateMethod::Cbpe => "cbpe",
            EstimateMethod::MeanConfidence => "mean_confidence",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccuracyEstimate {
    pub value: f64,
    pub method: EstimateMethod,
}

/// nannyml's sampling error of estimated accuracy: the standard deviation
/// (ddof 0) of correctness over the labelled baseline, over √n.
pub fn sampling_error(baseline_labelled: u64, baseline_correct: u64, n: u64) -> Option<f64> {
    if baseline_labelled == 0 || n == 0 {
        return None;
    }
    let p = baseline_correct.min(baseline_labelled) as f64 / baseline_labelled as f64;
    Some((p * (1.0 - p)).sqrt() / (n as f64).sqrt())
}

/// A window's running estimate: the sum of calibrated probabilities of the
/// predictions that had a calibration when they arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EstimateSum {
    sum: f64,
    calibrated: u64,
}

impl EstimateSum {
    #[inline]
    pub fn add(&mut self, estimate: Option<f64>) {
        if let Some(e) = estimate {
            self.sum += e;
            self.calibrated += 1;
        }
    }

    /// CBPE when every one of the window's `n` predictions was calibrated,
    /// else their mean confidence.
    pub fn estimate(&self, n: u64, mean_confidence: f64) -> AccuracyEstimate {
        if n > 0 && self.calibrated == n {
            AccuracyEstimate {
                value: self.sum / n as f64,
                method: EstimateMethod::Cbpe,
            }
        } else {
            AccuracyEstimate {
                value: mean_confidence,
                method: EstimateMethod::MeanConfidence,
            }
        }
    }
}

const UNLABELLED: u8 = 0;
const CORRECT: u8 = 1;
const WRONG: u8 = 2;

/// What calibration needs of a baseline being collected: each prediction's
/// label and, once its feedback came, whether it was right (the builder
/// keeps the confidences).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CalibrationCollector {
    labels: Vec<u32>,
    outcomes: Vec<u8>,
}

impl CalibrationCollector {
    #[inline]
    pub fn add(&mut self, label: u32) {
        self.labels.push(label);
        self.outcomes.push(UNLABELLED);
    }

    /// The latest label of the prediction at `offset` in the baseline.
    pub fn record(&mut self, offset: u64, correct: bool) {
        if let Some(o) = self.outcomes.get_mut(offset as usize) {
            *o = if correct { CORRECT } else { WRONG };
        }
    }

    /// Groups the baseline by (confidence, label); `confidences` by offset.
    pub fn freeze(&self, confidences: &[f64]) -> Calibration {
        let key = |i: u32| {
            (
                (confidences[i as usize] + 0.0).to_bits(),
                self.labels[i as usize],
            )
        };
        let mut order: Vec<u32> = (0..confidences.len().min(self.labels.len()) as u32).collect();
        order.sort_unstable_by_key(|&i| key(i));
        let mut cal = Calibration {
            cell_of: vec![0; order.len()],
            ..Calibration::default()
        };
        let mut last = None;
        for i in order {
            if last != Some(key(i)) {
                last = Some(key(i));
                cal.cells.push(Cell {
                    confidence: confidences[i as usize] + 0.0,
                    label: self.labels[i as usize],
                    ..Cell::default()
                });
            }
            let c = cal.cells.len() - 1;
            cal.cell_of[i as usize] = c as u32;
            let cell = &mut cal.cells[c];
            cell.n = cell.n.saturating_add(1);
            cal.predictions += 1;
            let outcome = self.outcomes[i as usize];
            if outcome != UNLABELLED {
                cell.labelled = cell.labelled.saturating_add(1);
                cell.correct = cell.correct.saturating_add(u32::from(outcome == CORRECT));
                cal.labelled += 1;
            }
        }
        cal
    }
}

/// Baseline predictions that share a confidence and a label.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    pub confidence: f64,
    pub label: u32,
    pub n: u32,
    pub labelled: u32,
    pub correct: u32,
}

/// What the score is and what it is calibrated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    /// p₁ of `positive`, against "the truth is `positive`".
    Binary { positive: u32, negative: u32 },
    /// The predicted label's confidence, against "the prediction was right".
    TopLabel,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Fit {
    kind: Kind,
    /// None: judged calibrated already, scores are used as they are.
    map: Option<IsotonicMap>,
    labelled: u64,
    baseline_estimate: f64,
}

/// A frozen baseline's calibration data and the map fitted on it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Sorted by (confidence, label).
    cells: Vec<Cell>,
    /// Each baseline prediction's cell, by offset (empty when the baseline
    /// came from a file: no labels can arrive for it).
    cell_of: Vec<u32>,
    /// Baseline predictions, and those labelled, over all cells.
    predictions: u64,
    labelled: u64,
    changes_since_fit: u64,
    /// Labelled predictions when `needs_calibration` was last asked.
    judged_at: u64,
    needed: bool,
    fit: Option<Fit>,
    /// Counts fits, so that windows know when to recompute.
    version: u64,
}

/// How the calibration stands, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationInfo {
    /// "isotonic", or "none" when the scores were judged calibrated.
    pub map: &'static str,
    /// "binary" (p₁ against the truth) or "top_label" (confidence against
    /// correctness).
    pub score: &'static str,
    /// Labelled baseline predictions the fit used.
    pub labelled: u64,
    pub knots: usize,
}

impl Calibration {
    /// Rebuilds from cells (a baseline file).
    pub fn from_cells(mut cells: Vec<Cell>) -> Self {
        cells.sort_by(|a, b| {
            a.confidence
                .total_cmp(&b.confidence)
                .then(a.label.cmp(&b.label))
        });
        let labelled = cells.iter().map(|c| u64::from(c.labelled)).sum();
        let predictions = cells.iter().map(|c| u64::from(c.n)).sum();
        Calibration {
            cells,
            predictions,
            labelled,
            ..Calibration::default()
        }
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// A label for the baseline prediction at `offset`; `previous` is the
    /// correctness of a label it replaces.
    pub fn record_label(&mut self, offset: u64, correct: bool, previous: Option<bool>) {
        let Some(&c) = self.cell_of.get(offset as usize) else {
            return;
        };
        let cell = &mut self.cells[c as usize];
        match previous {
            None => {
                cell.labelled = cell.labelled.saturating_add(1);
                self.labelled += 1;
            }
            Some(was) => cell.correct = cell.correct.saturating_sub(u32::from(was)),
        }
        cell.correct = cell.correct.saturating_add(u32::from(correct));
        self.changes_since_fit += 1;
    }

    /// Fits when enough baseline labels are in, and again once
    /// `cbpe_refit_share` of the baseline has new labels since.
    pub fn refresh(&mut self, settings: &LabelSettings) {
        let due = match &self.fit {
            None => self.labelled >= settings.cbpe_min_labels.max(1),
            Some(_) => {
                let share = settings.cbpe_refit_share * self.predictions as f64;
                self.changes_since_fit >= share.ceil().max(1.0) as u64
            }
        };
        if due {
            self.refit();
        }
    }

    fn refit(&mut self) {
        self.changes_since_fit = 0;
        let kind = self.kind();
        let points = self.points(kind);
        // nannyml asks once per fit; asking costs ten fits, so it is asked
        // again only when the labelled count has doubled.
        if self.judged_at == 0 || self.labelled >= 2 * self.judged_at {
            self.needed = needs::needs_calibration(&points);
            self.judged_at = self.labelled.max(1);
        }
        let map = if self.needed {
            IsotonicMap::fit(points)
        } else {
            None
        };
        let mut fit = Fit {
            kind,
            map,
            labelled: self.labelled,
            baseline_estimate: 0.0,
        };
        let (mut sum, mut n) = (0.0, 0.0);
        for c in &self.cells {
            sum += f64::from(c.n) * fit.estimate(c.confidence, c.label);
            n += f64::from(c.n);
        }
        fit.baseline_estimate = if n > 0.0 { sum / n } else { 0.0 };
        self.fit = Some(fit);
        self.version += 1;
    }

    fn kind(&self) -> Kind {
        let mut labels: Vec<u32> = Vec::with_capacity(3);
        for c in self.cells.iter().filter(|c| c.n > 0) {
            if !labels.contains(&c.label) {
                labels.push(c.label);
                if labels.len() > 2 {
                    return Kind::TopLabel;
                }
            }
        }
        let lowest = self.cells.first().map_or(0.0, |c| c.confidence);
        match labels[..] {
            [a, b] if lowest >= 0.5 => Kind::Binary {
                positive: a.max(b),
                negative: a.min(b),
            },
            _ => Kind::TopLabel,
        }
    }

    /// The labelled cells as (score, count, target-1 count), ascending.
    fn points(&self, kind: Kind) -> Vec<Point> {
        let labelled = self.cells.iter().filter(|c| c.labelled > 0);
        match kind {
            Kind::TopLabel => labelled
                .map(|c| Point {
                    x: c.confidence,
                    weight: f64::from(c.labelled),
                    weighted_y: f64::from(c.correct),
                })
                .collect(),
            Kind::Binary { positive, .. } => {
                // The positive class's predictions in ascending confidence,
                // the other's in descending (ascending 1 − confidence), merged.
                let pos: Vec<Point> = labelled
                    .clone()
                    .filter(|c| c.label == positive)
                    .map(|c| Point {
                        x: c.confidence,
                        weight: f64::from(c.labelled),
                        weighted_y: f64::from(c.correct),
                    })
                    .collect();
                let neg: Vec<Point> = labelled
                    .rev()
                    .filter(|c| c.label != positive)
                    .map(|c| Point {
                        x: 1.0 - c.confidence,
                        weight: f64::from(c.labelled),
                        weighted_y: f64::from(c.labelled - c.correct.min(c.labelled)),
                    })
                    .collect();
                merge_by_x(pos, neg)
            }
        }
    }

    /// The probability that a prediction is right, None until fitted.
    #[inline]
    pub fn estimate(&self, confidence: f64, label: u32) -> Option<f64> {
        self.fit.as_ref().map(|f| f.estimate(confidence, label))
    }

    /// Which fit estimates are from (0: none yet).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The baseline's own estimated accuracy; its mean confidence until fitted.
    pub fn baseline_estimate(&self, mean_confidence: f64) -> AccuracyEstimate {
        match &self.fit {
            Some(f) => AccuracyEstimate {
                value: f.baseline_estimate,
                method: EstimateMethod::Cbpe,
            },
            None => AccuracyEstimate {
                value: mean_confidence,
                method: EstimateMethod::MeanConfidence,
            },
        }
    }

    pub fn info(&self) -> Option<CalibrationInfo> {
        self.fit.as_ref().map(|f| CalibrationInfo {
            map: if f.map.is_some() { "isotonic" } else { "none" },
            score: match f.kind {
                Kind::Binary { .. } => "binary",
                Kind::TopLabel => "top_label",
            },
            labelled: f.labelled,
            knots: f.map.as_ref().map_or(0, IsotonicMap::knots),
        })
    }
}

impl Fit {
    #[inline]
    fn estimate(&self, confidence: f64, label: u32) -> f64 {
        let calibrated = |x: f64| self.map.as_ref().map_or(x, |m| m.predict(x));
        match self.kind {
            Kind::TopLabel => calibrated(confidence),
            Kind::Binary { positive, .. } if label == positive => calibrated(confidence),
            Kind::Binary { negative, .. } if label == negative => {
                1.0 - calibrated(1.0 - confidence)
            }
            // A label the baseline never predicted: nothing to calibrate by.
            Kind::Binary { .. } => confidence,
        }
    }
}

fn merge_by_x(a: Vec<Point>, b: Vec<Point>) -> Vec<Point> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.x <= y.x => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(p) => out.push(p),
            None => return out,
        }
    }
}

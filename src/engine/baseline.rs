//! The baseline a model is compared against: collected from the start of
//! its stream (a count or a duration of event time) or loaded from a
//! snapshot file written by `modelwatch baseline`. Frozen once complete.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cbpe::{Calibration, CalibrationCollector, Cell};
use super::labels::{LabelCounts, LabelTable};
use super::settings::BaselineSpec;
use super::stats::cdf::BaselineCdf;
use super::stats::counts::{SortedCounts, mean_std, percentile};
use super::stats::fine::{FineCdf, FineHistogram};
use super::stats::psi::{self, Bins};

/// A frozen baseline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    /// Prediction indices it covers (`0..0` when loaded from a file).
    pub start: u64,
    pub end_exclusive: u64,
    pub confidences: SortedCounts,
    /// The same counts indexed for fast comparison with windows.
    pub cdf: BaselineCdf,
    /// And on the fine grid the sliding window uses.
    pub fine: FineCdf,
    pub mean: f64,
    /// Population standard deviation (ddof 0).
    pub std: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// Label counts by label id.
    pub mix: LabelCounts,
    pub bins: Bins,
    /// Feedback joined to baseline predictions (keeps growing after freeze).
    pub labelled: u64,
    pub correct: u64,
    /// What estimated accuracy is calibrated on (see `cbpe`).
    pub calibration: Calibration,
    /// Where it came from, for the report.
    pub origin: BaselineOrigin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BaselineOrigin {
    Stream,
    File { path: String },
}

impl Baseline {
    fn from_parts(
        confidences: SortedCounts,
        mix: LabelCounts,
        start: u64,
        origin: BaselineOrigin,
    ) -> Self {
        let (mean, std) = mean_std(&confidences).unwrap_or((0.0, 0.0));
        let mut bins = [0u64; psi::BINS];
        for (v, c) in confidences.pairs() {
            bins[psi::bin(v)] += c;
        }
        let pct = |q| percentile(&confidences, q).unwrap_or(0.0);
        Baseline {
            start,
            end_exclusive: start
                + if matches!(origin, BaselineOrigin::Stream) {
                    confidences.pairs().map(|(_, c)| c).sum::<u64>()
                } else {
                    0
                },
            p10: pct(0.1),
            p50: pct(0.5),
            p90: pct(0.9),
            cdf: BaselineCdf::new(&confidences),
            fine: FineCdf::of(&FineHistogram::from_counts(&confidences)),
            confidences,
            mean,
            std,
            mix,
            bins,
            labelled: 0,
            correct: 0,
            calibration: Calibration::default(),
            origin,
        }
    }

    pub fn n(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// Realized accuracy of the baseline's labelled predictions.
    pub fn accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }

    /// The snapshot written by `modelwatch baseline`.
    pub fn to_file(&self, labels: &LabelTable) -> BaselineFileModel {
        BaselineFileModel {
            n: self.n(),
            confidence_counts: self.confidences.pairs().collect(),
            mix: labels
                .names()
                .enumerate()
                .filter(|(i, _)| self.mix.get(*i as u32) > 0)
                .map(|(i, name)| (name.to_string(), self.mix.get(i as u32)))
                .collect(),
            labelled: self.labelled,
            correct: self.correct,
            calibration: self
                .calibration
                .cells()
                .iter()
                .map(|c| {
                    let name = labels.name(c.label).to_string();
                    (c.confidence, name, c.n, c.labelled, c.correct)
                })
                .collect(),
        }
    }

    /// Rebuilds a baseline from its snapshot, interning its labels.
    pub fn from_file(
        model: &BaselineFileModel,
        labels: &mut LabelTable,
        path: &str,
    ) -> Result<Self, String> {
        model.check()?;
        let confidences = SortedCounts::from_pairs(model.confidence_counts.iter().copied());
        let mut mix = LabelCounts::default();
        for (name, &count) in &model.mix {
            mix.set(labels.intern(name), count);
        }
        let mut b = Baseline::from_parts(
            confidences,
            mix,
            0,
            BaselineOrigin::File {
                path: path.to_string(),
            },
        );
        b.labelled = model.labelled;
        b.correct = model.correct.min(model.labelled);
        let cells = model
            .calibration
            .iter()
            .map(|(confidence, name, n, l, c)| Cell {
                confidence: *confidence,
                label: labels.intern(name),
                n: *n,
                labelled: *l,
                correct: *c,
            });
        b.calibration = Calibration::from_cells(cells.collect());
        Ok(b)
    }
}

/// Collects the baseline from the start of a model's stream.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BaselineBuilder {
    spec: BaselineSpec,
    max: u64,
    confidences: Vec<f64>,
    mix: LabelCounts,
    first_ts_ms: Option<i64>,
    labelled: u64,
    correct: u64,
    calibration: CalibrationCollector,
}

impl BaselineBuilder {
    pub fn new(spec: BaselineSpec, max: u64) -> Self {
        BaselineBuilder {
            spec,
            max: max.max(1),
            confidences: Vec::new(),
            mix: LabelCounts::default(),
            first_ts_ms: None,
            labelled: 0,
            correct: 0,
            calibration: CalibrationCollector::default(),
        }
    }

    pub fn len(&self) -> u64 {
        self.confidences.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.confidences.is_empty()
    }

    /// Whether a prediction at `ts_ms` still belongs in the baseline.
    pub fn accepts(&self, ts_ms: i64) -> bool {
        if self.len() >= self.max {
            return false;
        }
        match self.spec {
            BaselineSpec::Count(n) => self.len() < n,
            BaselineSpec::Duration(d) => match self.first_ts_ms {
                None => true,
                Some(first) => ts_ms.saturating_sub(first) < d.as_millis() as i64,
            },
        }
    }

    pub fn add(&mut self, confidence: f64, label: u32, ts_ms: i64) {
        self.first_ts_ms.get_or_insert(ts_ms);
        self.confidences.push(confidence);
        self.mix.add(label);
        self.calibration.add(label);
    }

    /// Feedback for a prediction in the baseline being built, as a change
    /// in the labelled and correct counts.
    pub fn add_label_delta(&mut self, labelled: i64, correct: i64) {
        self.labelled = self.labelled.saturating_add_signed(labelled);
        self.correct = self.correct.saturating_add_signed(correct);
    }

    /// The latest label's verdict for the prediction `offset` places into
    /// the baseline being built (what calibration learns from).
    pub fn record_outcome(&mut self, offset: u64, correct: bool) {
        self.calibration.record(offset, correct);
    }

    /// Whether the baseline is complete after the latest prediction
    /// (count baselines know it without waiting for the next one).
    pub fn is_full(&self) -> bool {
        self.len() >= self.max || matches!(self.spec, BaselineSpec::Count(n) if self.len() >= n)
    }

    pub fn freeze(mut self, start: u64) -> Baseline {
        let calibration = self.calibration.freeze(&self.confidences);
        let confidences = SortedCounts::from_unsorted(&mut self.confidences);
        let mut b = Baseline::from_parts(confidences, self.mix, start, BaselineOrigin::Stream);
        b.labelled = self.labelled;
        b.correct = self.correct;
        b.calibration = calibration;
        b
    }
}

/// One model's baseline in a snapshot file: exact value counts, never a
/// histogram, so figures against it equal figures against the predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFileModel {
    pub n: u64,
    /// (confidence, count) pairs in ascending order.
    pub confidence_counts: Vec<(f64, u64)>,
    pub mix: BTreeMap<String, u64>,
    #[serde(default)]
    pub labelled: u64,
    #[serde(default)]
    pub correct: u64,
    /// What estimated accuracy calibrates on: (confidence, label,
    /// predictions, labelled, right) for each distinct pair in the baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<(f64, String, u32, u32, u32)>,
}

/// The file `modelwatch baseline` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub format: String,
    pub version: u32,
    pub models: BTreeMap<String, BaselineFileModel>,
}

pub const BASELINE_FORMAT: &str = "modelwatch-baseline";
pub const BASELINE_VERSION: u32 = 1;

impl BaselineFileModel {
    /// What [`Baseline::from_file`] needs to hold: confidences in [0, 1]
    /// with positive counts adding up to `n`, `n` > 0, and calibration
    /// cells counting right <= labelled <= predictions.
    fn check(&self) -> Result<(), String> {
        let mut total = 0u64;
        for &(v, c) in &self.confidence_counts {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("confidence {v} is outside [0, 1]"));
            }
            if c == 0 {
                return Err(format!("confidence {v} has a count of 0"));
            }
            total = total.saturating_add(c);
        }
        for (v, label, n, labelled, correct) in &self.calibration {
            if !(0.0..=1.0).contains(v) || correct > labelled || labelled > n {
                return Err(format!(
                    "calibration cell ({v}, {label:?}) needs a confidence in [0, 1] and right <= labelled <= predictions"
                ));
            }
        }
        if total != self.n || self.n == 0 {
            return Err(format!(
                "n is {} but the confidence counts add up to {total}",
                self.n
            ));
        }
        Ok(())
    }
}

impl BaselineFile {
    pub fn new(models: BTreeMap<String, BaselineFileModel>) -> Self {
        BaselineFile {
            format: BASELINE_FORMAT.to_string(),
            version: BASELINE_VERSION,
            models,
        }
    }

    /// Parses and checks a snapshot; errors name what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.format != BASELINE_FORMAT || file.version != BASELINE_VERSION {
            return Err(format!(
                "not a {BASELINE_FORMAT} version {BASELINE_VERSION} file (format {:?}, version {})",
                file.format, file.version
            ));
        }
        if file.models.is_empty() {
            return Err("the file holds no model".into());
        }
        // Every model checked now: a bad entry is an error, not a model
        // that quietly collects its baseline from the stream instead.
        for (name, model) in &file.models {
            model.check().map_err(|e| format!("model {name:?}: {e}"))?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_counts_and_durations() {
        let mut b = BaselineBuilder::new(BaselineSpec::Count(2), 100);
        assert!(b.accepts(0));
        b.add(0.5, 0, 0);
        b.add(0.7, 1, 0);
        assert!(!b.accepts(0) && b.is_full());
        let frozen = b.freeze(0);
        assert_eq!((frozen.n(), frozen.end_exclusive), (2, 2));
        assert!((frozen.mean - 0.6).abs() < 1e-12);

        let mut b = BaselineBuilder::new(
            BaselineSpec::Duration(std::time::Duration::from_secs(10)),
            100,
        );
        b.add(0.5, 0, 1_000);
        assert!(b.accepts(10_999));
        assert!(!b.accepts(11_000));
        assert!(!b.is_full());
    }

    #[test]
    fn file_round_trip_is_exact() {
        let mut labels = LabelTable::default();
        let mut b = BaselineBuilder::new(BaselineSpec::Count(4), 100);
        for (c, l) in [(0.9, "a"), (0.6, "b"), (0.9, "a"), (0.123456, "c")] {
            let id = labels.intern(l);
            b.add(c, id, 0);
        }
        b.record_outcome(2, true);
        b.record_outcome(1, false);
        let frozen = b.freeze(0);
        let file = frozen.to_file(&labels);
        let text = serde_json::to_string(&BaselineFile::new(
            [("m".to_string(), file.clone())].into_iter().collect(),
        ))
        .unwrap();
        let parsed = BaselineFile::parse(&text).unwrap();
        let mut labels2 = LabelTable::default();
        let back = Baseline::from_file(&parsed.models["m"], &mut labels2, "f").unwrap();
        assert_eq!(back.confidences, frozen.confidences);
        assert_eq!(back.bins, frozen.bins);
        assert_eq!(back.mix.get(labels2.get("a").unwrap()), 2);
        assert_eq!(back.calibration.cells(), frozen.calibration.cells());
        assert_eq!(back.calibration.cells()[2].labelled, 1);
        assert!(BaselineFile::parse("{}").is_err());
        let bad = text.replace("0.123456", "1.5");
        assert!(
            BaselineFile::parse(&bad)
                .unwrap_err()
                .contains("model \"m\"")
        );
    }
}

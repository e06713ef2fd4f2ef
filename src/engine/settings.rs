//! What the engine can be told: baseline, windows, review thresholds, label
//! join bounds, detector parameters and alert rules. Every struct
//! deserialises from the TOML config file with defaults for what is left out.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::detectors::{AdwinParams, PageHinkleyParams};
use super::features::FeatureSettings;
use super::rules::AlertRules;
use super::segments::settings::SegmentSettings;

/// How the baseline is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineSpec {
    /// The first N predictions of each model.
    Count(u64),
    /// The predictions within this much event time of each model's first.
    Duration(Duration),
}

impl BaselineSpec {
    /// Parses `10000` or a duration such as `7d`, `36h`, `90min`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            return if n == 0 {
                Err("baseline must hold at least one prediction".into())
            } else {
                Ok(BaselineSpec::Count(n))
            };
        }
        match humantime::parse_duration(s) {
            Ok(d) if d.as_millis() > 0 => Ok(BaselineSpec::Duration(d)),
            Ok(_) => Err("baseline duration must be positive".into()),
            Err(_) => Err(format!(
                "baseline {s:?} is neither a number of predictions nor a duration such as 7d"
            )),
        }
    }
}

impl fmt::Display for BaselineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineSpec::Count(n) => write!(f, "{n}"),
            BaselineSpec::Duration(d) => write!(f, "{}", humantime::format_duration(*d)),
        }
    }
}

impl Serialize for BaselineSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BaselineSpec::Count(n) => s.serialize_u64(*n),
            BaselineSpec::Duration(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for BaselineSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) => BaselineSpec::parse(&n.to_string()),
            Raw::Text(s) => BaselineSpec::parse(&s),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// Review queue thresholds and bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSettings {
    /// Queue predictions whose confidence is below this.
    pub below: f64,
    /// Also queue predictions whose top-two margin is below this.
    pub margin_below: Option<f64>,
    /// Most cases held; the oldest are evicted (and counted) beyond it.
    pub capacity: usize,
    /// Most bytes held across the queue (cases, their ids and raw input).
    pub max_bytes: usize,
    /// Share of the cases that qualify which are queued (evenly spread:
    /// 0.1 queues every tenth), so a model that sends 20% of its traffic
    /// to review does not bury the operator.
    pub sample: f64,
    /// Keep each case's raw line for the reviewer (off in `replay`).
    #[serde(skip)]
    pub keep_input: bool,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            below: 0.6,
            margin_below: None,
            capacity: 10_000,
            max_bytes: 16 << 20,
            sample: 1.0,
            keep_input: true,
        }
    }
}

/// Bounds of the feedback join, and when labels calibrate the estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSettings {
    /// Predictions remembered for joining late feedback (oldest evicted).
    pub join_capacity: usize,
    /// Feedback remembered while its prediction has not arrived yet.
    pub pending_capacity: usize,
    /// Most bytes that feedback may hold while it waits.
    pub pending_max_bytes: usize,
    /// Labelled baseline predictions needed before estimated accuracy is
    /// calibrated (CBPE); until then it is the mean confidence.
    pub cbpe_min_labels: u64,
    /// Share of the baseline with new labels since the last calibration
    /// that makes it calibrate again.
    pub cbpe_refit_share: f64,
    /// N: realized accuracy live (and `accuracy_drop`) is taken over the
    /// last N labelled predictions, whenever their labels arrived.
    pub accuracy_over: usize,
}

impl Default for LabelSettings {
    fn default() -> Self {
        LabelSettings {
            join_capacity: 262_144,
            pending_capacity: 65_536,
            pending_max_bytes: 16 << 20,
            cbpe_min_labels: 1_000,
            cbpe_refit_share: 0.01,
            accuracy_over: 1_000,
        }
    }
}

/// Most labels realized accuracy is taken over (16 bytes each, per model).
pub const MAX_ACCURACY_OVER: usize = 100_000;

/// The time-bucketed history behind the live charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySettings {
    pub bucket_secs: u64,
    pub buckets: usize,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            bucket_secs: 1,
            buckets: 600,
        }
    }
}

/// Parameters of the online detectors (river's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorSettings {
    pub page_hinkley: PageHinkleyParams,
    pub adwin: AdwinParams,
}

/// Everything the engine is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    pub baseline: BaselineSpec,
    /// Window size W: tumbling report windows and the sliding window.
    pub window: u64,
    /// Most predictions a duration baseline may hold before it is frozen early.
    pub baseline_max: u64,
    pub review: ReviewSettings,
    pub labels: LabelSettings,
    pub history: HistorySettings,
    pub detectors: DetectorSettings,
    pub alerts: AlertRules,
    /// Input features: which are watched and their caps.
    pub features: FeatureSettings,
    /// Segments: which fields split the traffic and their caps.
    pub segments: SegmentSettings,
    /// Malformed lines kept for inspection.
    pub malformed_kept: usize,
    /// Closed tumbling windows kept per model (`None`: all, as `replay`
    /// needs; `Some(0)`: none, and none are computed — the live view and
    /// the alerts use the sliding window).
    pub windows_kept: Option<usize>,
    /// Detection indices kept per detector.
    pub detections_kept: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            baseline: BaselineSpec::Count(10_000),
            window: 1_000,
            baseline_max: 1_000_000,
            review: ReviewSettings::default(),
            labels: LabelSettings::default(),
            history: HistorySettings::default(),
            detectors: DetectorSettings::default(),
            alerts: AlertRules::default(),
            features: FeatureSettings::default(),
            segments: SegmentSettings::default(),
            malformed_kept: 100,
            windows_kept: Some(1_000),
            detections_kept: 10_000,
        }
    }
}

impl EngineSettings {
    /// Checks values that would make a statistic meaningless.
    pub fn validate(&self) -> Result<(), String> {
        if self.window == 0 {
            return Err("window must be at least 1 prediction".into());
        }
        if !(0.0..=1.0).contains(&self.review.below) {
            return Err(format!(
                "review.below {} is outside [0, 1]",
                self.review.below
            ));
        }
        if let Some(m) = self.review.margin_below
            && !(0.0..=1.0).contains(&m)
        {
            return Err(format!("review.margin_below {m} is outside [0, 1]"));
        }
        if !(self.review.sample > 0.0 && self.review.sample <= 1.0) {
            return Err(format!(
                "review.sample {} is not in (0, 1]",
                self.review.sample
            ));
        }
        if self.labels.join_capacity == 0 {
            return Err("labels.join_capacity must be at least 1".into());
        }
        if self.labels.cbpe_min_labels < 2 {
            return Err("labels.cbpe_min_labels must be at least 2".into());
        }
        let share = self.labels.cbpe_refit_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(format!("labels.cbpe_refit_share {share} is outside (0, 1]"));
        }
        let over = self.labels.accuracy_over;
        if !(1..=MAX_ACCURACY_OVER).contains(&over) {
            return Err(format!(
                "labels.accuracy_over {over} is outside [1, {MAX_ACCURACY_OVER}]"
            ));
        }
        let needs = self.alerts.accuracy_drop.min_labelled;
        if self.alerts.accuracy_drop.enabled && (over as u64) < needs {
            return Err(format!(
                "labels.accuracy_over {over} is below alerts.accuracy_drop.min_labelled {needs}: accuracy_drop could never fire"
            ));
        }
        if self.history.bucket_secs == 0 || self.history.buckets == 0 {
            return Err("history.bucket_secs and history.buckets must be at least 1".into());
        }
        self.features.validate()?;
        self.segments.validate()?;
        self.alerts.validate()
    }

    /// The sizes of the smaller windows the drift rules test besides the
    /// whole window, largest first (`alerts.smallest_window`).
    pub fn ladder(&self) -> Vec<u64> {
        super::scales::ladder(self.window, self.alerts.smallest_window)
    }

    /// Predictions between alert checks.
    pub fn check_every(&self) -> u64 {
        let smallest = self.ladder().last().copied().unwrap_or(self.window / 5);
        self.alerts.check_every.unwrap_or(smallest / 2).max(1)
    }

    /// Predictions the sliding window needs before checks start.
    pub fn min_samples(&self) -> u64 {
        let smallest = self.ladder().last().copied().unwrap_or(self.window / 2);
        self.alerts
            .min_samples
            .unwrap_or(smallest)
            .clamp(1, self.window.max(1))
    }

    /// Clean checks in a row that clear an alert: a whole window of checks
    /// unless `alerts.clear_after` says.
    pub fn clear_after(&self) -> u32 {
        let window_of_checks = (self.window / self.check_every()).clamp(1, u32::MAX as u64);
        self.alerts.clear_after.unwrap_or(window_of_checks as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_specs() {
        assert_eq!(
            BaselineSpec::parse("10000"),
            Ok(BaselineSpec::Count(10_000))
        );
        assert_eq!(
            BaselineSpec::parse("7d"),
            Ok(BaselineSpec::Duration(Duration::from_secs(7 * 86_400)))
        );
        assert_eq!(
            BaselineSpec::parse("90min"),
            Ok(BaselineSpec::Duration(Duration::from_secs(5_400)))
        );
        assert!(BaselineSpec::parse("0").is_err());
        assert!(BaselineSpec::parse("soon").unwrap_err().contains("soon"));
    }
}

//! Everything watched for one model: its baseline, windows, detectors,
//! label counts, review queue and alert rules.

mod checks;

use std::collections::VecDeque;

use super::alert_log::{AlertLog, CheckPoint, RuleState};
use super::alerts::{Alert, AlertKind, Transition};
use super::baseline::{Baseline, BaselineBuilder, BaselineFileModel};
use super::confidence_buckets::ConfidenceBuckets;
use super::detectors::Detectors;
use super::detectors::mix_cusum::MixCusum;
use super::features::FeatureMonitor;
use super::history::History;
use super::known_name::KnownName;
use super::labels::LabelTable;
use super::recent_accuracy::RecentOutcomes;
use super::review::{QueuedCase, ReviewItem, ReviewQueue, kept_raw};
use super::segments::{SegmentMonitor, SegmentedPrediction};
use super::settings::EngineSettings;
use super::stats::fine::FineHistogram;
use super::stats::psi::{self, Bins};
use super::window::{SlidingWindow, WindowAccumulator, WindowSummary, label_delta};
use crate::record::features::Features;

/// A prediction as the model monitor takes it (the label already interned).
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub label: u32,
    pub confidence: f64,
    pub margin: Option<f64>,
    pub ts_ms: i64,
    pub now_ms: i64,
    pub case_id: Option<&'a str>,
    pub raw: &'a [u8],
    pub features: &'a Features<'a>,
    /// The event's `segment`.
    pub segment: Option<&'a str>,
}

impl Observation<'_> {
    /// The prediction as segments see it.
    fn segmented(&self, index: u64) -> SegmentedPrediction<'_> {
        SegmentedPrediction {
            index,
            confidence: self.confidence,
            label: self.label,
            ts_ms: self.ts_ms,
            segment: self.segment,
            features: self.features,
        }
    }
}

/// The baseline being collected, or the frozen one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum BaselineState {
    Collecting(BaselineBuilder),
    Frozen(Box<Baseline>),
}

/// Predictions after a detector's change point, awaiting confirmation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AfterChange {
    #[serde(deserialize_with = "detector_name")]
    detector: KnownName,
    detected_at: u64,
    counts: FineHistogram,
    bins: Bins,
    mix: super::labels::LabelCounts,
}

fn detector_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KnownName, D::Error> {
    super::known_name::deserialize(d, &["ADWIN", "Page-Hinkley"])
}

/// The engine's two numberings: alert ids (for acknowledging) and review
/// case numbers (the queue's order of arrival), each counting from 1.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Sequences {
    pub alert: u64,
    pub case: u64,
}

/// When the window rules run, resolved from the settings once.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Cadence {
    check_every: u64,
    min_samples: u64,
}

/// Hysteresis of each of a model's rules, by kind: a rule's state is
/// found by its kind, never by a field per rule.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleStates([RuleState; AlertKind::ALL.len()]);

impl RuleStates {
    pub fn of(&self, kind: AlertKind) -> &RuleState {
        &self.0[kind as usize]
    }

    pub fn of_mut(&mut self, kind: AlertKind) -> &mut RuleState {
        &mut self.0[kind as usize]
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ModelMonitor {
    pub name: String,
    pub labels: LabelTable,
    /// Predictions seen (the next prediction's index).
    pub predictions: u64,
    pub baseline: BaselineState,
    /// Index where tumbling windows start (the baseline's end, or 0 with a
    /// baseline file).
    window_origin: u64,
    window: u64,
    cadence: Cadence,
    /// Whether tumbling windows are computed (see `windows_kept`).
    keep_windows: bool,
    current: Option<WindowAccumulator>,
    pub closed: VecDeque<WindowSummary>,
    /// Closed windows dropped from the front to bound memory.
    pub closed_dropped: u64,
    pub sliding: SlidingWindow,
    pub history: History,
    /// Every confidence since the start, in fixed buckets (metrics).
    pub confidences: ConfidenceBuckets,
    pub detectors: Detectors,
    /// The mix's sequential test, once the baseline is frozen and large
    /// enough (`prediction_mix_drift.sequential`).
    #[serde(default)]
    mix_cusum: Option<MixCusum>,
    /// The input features against their baseline.
    pub features: FeatureMonitor,
    /// The traffic's segments, each against its own baseline.
    pub segments: SegmentMonitor,
    after_change: Option<AfterChange>,
    pub rules: RuleStates,
    pub alerts: AlertLog,
    pub review: ReviewQueue,
    pub last_ts_ms: Option<i64>,
    /// When the last prediction arrived (wall clock, for `silence`).
    pub last_arrival_ms: Option<i64>,
    /// Labels joined to this model's predictions, and their total delay.
    pub labelled: u64,
    pub label_delay_ms_total: i128,
    /// The last labels joined after the baseline (`labels.accuracy_over`).
    pub recent: RecentOutcomes,
}

impl ModelMonitor {
    pub fn new(
        name: &str,
        settings: &EngineSettings,
        baseline: Option<(Baseline, LabelTable)>,
    ) -> Self {
        let (state, labels, origin) = match baseline {
            Some((b, labels)) => (BaselineState::Frozen(Box::new(b)), labels, 0),
            None => (
                BaselineState::Collecting(BaselineBuilder::new(
                    settings.baseline,
                    settings.baseline_max,
                )),
                LabelTable::default(),
                0,
            ),
        };
        let frozen = matches!(state, BaselineState::Frozen(_));
        let ladder = settings.ladder();
        let keep_windows = settings.windows_kept != Some(0);
        let mut monitor = ModelMonitor {
            name: name.to_string(),
            labels,
            predictions: 0,
            baseline: state,
            window_origin: origin,
            window: settings.window,
            cadence: Cadence {
                check_every: settings.check_every(),
                min_samples: settings.min_samples(),
            },
            keep_windows,
            current: (frozen && keep_windows).then(|| WindowAccumulator::new(0, settings.window)),
            closed: VecDeque::new(),
            closed_dropped: 0,
            sliding: SlidingWindow::new(settings.window, &ladder),
            history: History::new(
                settings.history.bucket_secs as i64 * 1000,
                settings.history.buckets,
            ),
            confidences: ConfidenceBuckets::default(),
            detectors: Detectors::new(
                settings.detectors.page_hinkley,
                settings.detectors.adwin,
                settings.detections_kept,
            ),
            features: FeatureMonitor::new(settings, !frozen),
            segments: SegmentMonitor::new(
                &settings.segments,
                settings.window,
                settings.baseline_max,
            ),
            after_change: None,
            mix_cusum: None,
            rules: RuleStates::default(),
            alerts: AlertLog::new(10_000),
            review: ReviewQueue::new(settings.review.clone()),
            last_ts_ms: None,
            last_arrival_ms: None,
            labelled: 0,
            label_delay_ms_total: 0,
            recent: RecentOutcomes::new(settings.labels.accuracy_over),
        };
        monitor.start_mix_cusum(0, settings);
        monitor
    }

    pub fn frozen_baseline(&self) -> Option<&Baseline> {
        match &self.baseline {
            BaselineState::Frozen(b) => Some(b),
            BaselineState::Collecting(_) => None,
        }
    }

    /// The baseline as a snapshot for `modelwatch baseline`: the frozen one,
    /// or what was collected when the input ended early.
    pub fn baseline_snapshot(&self) -> Option<BaselineFileModel> {
        match &self.baseline {
            BaselineState::Frozen(b) => Some(b.to_file(&self.labels)),
            BaselineState::Collecting(builder) if !builder.is_empty() => {
                Some(builder.clone().freeze(0).to_file(&self.labels))
            }
            BaselineState::Collecting(_) => None,
        }
    }

    /// The tumbling window being filled.
    pub fn current_window(&self) -> Option<&WindowAccumulator> {
        self.current.as_ref()
    }

    /// Takes one prediction; alert transitions go to `out`.
    pub fn observe(
        &mut self,
        obs: Observation<'_>,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) -> u64 {
        let index = self.predictions;
        self.predictions += 1;
        self.last_ts_ms = Some(obs.ts_ms);
        self.last_arrival_ms = Some(obs.now_ms);
        self.history.add(obs.now_ms, obs.confidence, obs.label);
        self.confidences.add(obs.confidence);
        self.observe_detectors(index, obs.confidence);
        self.queue_for_review(index, &obs, ids);

        if let BaselineState::Collecting(builder) = &mut self.baseline {
            if builder.accepts(obs.ts_ms) {
                builder.add(obs.confidence, obs.label, obs.ts_ms);
                self.features.observe(obs.features);
                self.segments.observe_baseline(obs.segmented(index));
                if builder.is_full() {
                    self.freeze_baseline(index + 1, settings);
                }
                return index;
            }
            self.freeze_baseline(index, settings);
        }
        self.observe_after_baseline(index, &obs, settings, ids, out);
        index
    }

    fn observe_detectors(&mut self, index: u64, confidence: f64) {
        let found = self.detectors.update(index, confidence);
        let detector = match (found.adwin, found.page_hinkley) {
            (true, _) => "ADWIN",
            (false, Some(_)) => "Page-Hinkley",
            (false, None) => return,
        };
        // A change while confidence drift is already alerted is that
        // alert's news, not a second page.
        let known = self.rules.of(AlertKind::ConfidenceDrift).is_active();
        if self.after_change.is_none() && self.frozen_baseline().is_some() && !known {
            self.after_change = Some(AfterChange {
                detector,
                detected_at: index,
                counts: FineHistogram::default(),
                bins: [0; psi::BINS],
                mix: Default::default(),
            });
            self.rules.of_mut(AlertKind::ChangePoint).reset_streak();
        }
    }

    fn queue_for_review(&mut self, index: u64, obs: &Observation<'_>, ids: &mut Sequences) {
        let Some(reason) = self.review.reason(obs.confidence, obs.margin) else {
            return;
        };
        if !self.review.admit() {
            return;
        }
        ids.case += 1;
        let raw = self.review.keeps_input().then(|| kept_raw(obs.raw));
        self.review.push(QueuedCase {
            seq: ids.case,
            case_id: obs.case_id.map(Box::from),
            index,
            ts_ms: obs.ts_ms,
            queued_ms: obs.now_ms,
            confidence: obs.confidence,
            margin: obs.margin,
            label: obs.label,
            reason,
            raw,
            state: super::review::CaseState::Pending,
        });
    }

    /// The queued cases as screens and decisions see them, oldest first.
    pub fn review_items(&self) -> impl DoubleEndedIterator<Item = ReviewItem> + '_ {
        self.review
            .cases()
            .map(|c| ReviewQueue::item(c, &self.name, &self.labels))
    }

    fn freeze_baseline(&mut self, end_exclusive: u64, settings: &EngineSettings) {
        let BaselineState::Collecting(builder) = &self.baseline else {
            return;
        };
        let baseline = builder.clone().freeze(end_exclusive - builder.len());
        self.window_origin = end_exclusive;
        if self.keep_windows {
            self.current = Some(WindowAccumulator::new(end_exclusive, self.window));
        }
        self.baseline = BaselineState::Frozen(Box::new(baseline));
        self.features.freeze();
        self.segments.freeze(end_exclusive);
        self.mix_cusum = None;
        self.start_mix_cusum(end_exclusive, settings);
    }

    /// Starts the mix's sequential test at prediction `start` when it is
    /// on and the baseline is large enough; one already running as the
    /// settings say goes on.
    fn start_mix_cusum(&mut self, start: u64, settings: &EngineSettings) {
        let rule = &settings.alerts.prediction_mix_drift;
        let BaselineState::Frozen(baseline) = &self.baseline else {
            return;
        };
        let tuning = rule
            .sequential_tuning(self.cadence.check_every)
            .filter(|_| baseline.n() >= rule.sequential_min_baseline);
        match tuning {
            None => self.mix_cusum = None,
            Some(t) if self.mix_cusum.as_ref().is_some_and(|c| c.tuning() == t) => {}
            Some(t) => self.mix_cusum = MixCusum::new(&baseline.mix, start, t),
        }
    }

    /// After a resume: what the settings (perhaps changed since the
    /// checkpoint) make of the state.
    pub(super) fn apply_settings(&mut self, settings: &EngineSettings) {
        self.review.set_settings(settings.review.clone());
        self.start_mix_cusum(self.predictions, settings);
    }

    fn observe_after_baseline(
        &mut self,
        index: u64,
        obs: &Observation<'_>,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) {
        let BaselineState::Frozen(baseline) = &mut self.baseline else {
            return;
        };
        baseline.calibration.refresh(&settings.labels);
        let estimate = baseline.calibration.estimate(obs.confidence, obs.label);
        self.features.observe(obs.features);
        self.segments.observe(obs.segmented(index));
        if let Some(acc) = &mut self.current {
            acc.add(obs.confidence, obs.label, estimate);
            if acc.n() >= self.window {
                let start = acc.start;
                let mut summary = acc.close(baseline, &self.labels, index + 1);
                summary.features = self.features.close_window();
                summary.segments = self.segments.close_window(&self.labels, start, index + 1);
                self.closed.push_back(summary);
                if let Some(max) = settings.windows_kept
                    && self.closed.len() > max
                {
                    self.closed.pop_front();
                    self.closed_dropped += 1;
                }
            }
        }
        self.sliding.push(
            index,
            obs.confidence,
            obs.label,
            estimate,
            &baseline.calibration,
        );
        let crossed = self
            .mix_cusum
            .as_mut()
            .is_some_and(|cusum| cusum.observe(index, obs.label));
        if let Some(seg) = &mut self.after_change {
            seg.counts.add(obs.confidence);
            seg.bins[psi::bin(obs.confidence)] += 1;
            seg.mix.add(obs.label);
        }
        let since_origin = index + 1 - self.window_origin;
        let check = since_origin.is_multiple_of(self.cadence.check_every);
        if (check || crossed) && self.sliding.n() >= self.cadence.min_samples {
            let name = self.name.clone();
            let at = CheckPoint {
                model: Some(&name),
                index,
                ts_ms: obs.ts_ms,
            };
            if check {
                self.run_checks(at, since_origin, settings, ids, out);
            } else {
                // A crossing of the mix's sequential test is decided at
                // once, not at the next check: its evidence is complete.
                self.check_mix_crossing(at, settings, ids, out);
            }
        }
    }

    /// Counts a label for prediction `index`; `previous` is the correctness
    /// of a label it replaces.
    pub fn record_label(
        &mut self,
        index: u64,
        correct: bool,
        previous: Option<bool>,
        delay_ms: Option<i64>,
    ) {
        self.segments.label(index, correct, previous);
        let (dl, dc) = label_delta(correct, previous);
        if previous.is_none() {
            self.labelled += 1;
            if let Some(d) = delay_ms {
                self.label_delay_ms_total += i128::from(d.max(0));
            }
        }
        let apply = |labelled: &mut u64, right: &mut u64| {
            *labelled = labelled.saturating_add_signed(dl);
            *right = right.saturating_add_signed(dc);
        };
        match &mut self.baseline {
            BaselineState::Collecting(b) => {
                // The baseline being collected holds the latest predictions
                // (after a re-baseline it does not start at 0).
                if index >= self.predictions - b.len() {
                    b.add_label_delta(dl, dc);
                    b.record_outcome(index + b.len() - self.predictions, correct);
                }
                return;
            }
            BaselineState::Frozen(b) => {
                if index >= b.start && index < b.end_exclusive {
                    apply(&mut b.labelled, &mut b.correct);
                    b.calibration
                        .record_label(index - b.start, correct, previous);
                    return;
                }
            }
        }
        if index < self.window_origin {
            return;
        }
        self.recent.record(index, correct, previous);
        let k = (index - self.window_origin) / self.window;
        if let Some(acc) = &mut self.current
            && index >= acc.start
        {
            apply(&mut acc.labelled, &mut acc.correct);
            return;
        }
        let first_k = self
            .closed
            .front()
            .map(|w| (w.start - self.window_origin) / self.window);
        if let Some(first_k) = first_k
            && k >= first_k
            && let Some(w) = self.closed.get_mut((k - first_k) as usize)
        {
            apply(&mut w.labelled, &mut w.correct);
        }
    }

    /// Mean time from prediction to label, in milliseconds.
    pub fn mean_label_delay_ms(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.label_delay_ms_total as f64 / self.labelled as f64)
    }
}

//! The rule checks of one model at a check point: the window rules in
//! their list, the change point's confirmation, and the listed rules
//! (`feature_drift`, `segment_drift`) that name what drifts.

use super::{BaselineState, ModelMonitor, Sequences};
use crate::engine::alert_log::{CheckPoint, RuleState};
use crate::engine::alerts::{Alert, AlertKind, Breach, Transition};
use crate::engine::baseline::Baseline;
use crate::engine::compare::{Comparison, Confidences, WindowCounts, compare, mix_js};
use crate::engine::detectors::mix_cusum::{Crossing, MixCusum};
use crate::engine::labels::LabelTable;
use crate::engine::recent_accuracy::RecentAccuracy;
use crate::engine::rules::accuracy_estimated_drop::Estimates;
use crate::engine::rules::prediction_mix_drift::{MixCrossing, check_crossing};
use crate::engine::rules::segment_drift::SegmentFigures;
use crate::engine::rules::{self, Drive, Hold, RULES, WindowFigures, listed};
use crate::engine::settings::EngineSettings;
use crate::engine::window::SlidingWindow;

impl ModelMonitor {
    /// One round of every rule at prediction `index`.
    pub(super) fn run_checks(
        &mut self,
        at: CheckPoint<'_>,
        since_origin: u64,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) {
        let crossing = self.mix_cusum.as_mut().and_then(MixCusum::take);
        let BaselineState::Frozen(baseline) = &self.baseline else {
            return;
        };
        self.sliding.retest(
            baseline,
            &self.labels,
            since_origin,
            self.cadence.check_every,
        );
        let rules = &settings.alerts;
        let shifted = self.sliding.largest_share_move(&self.labels, baseline);
        let scales = self.sliding.tested();
        let figures = WindowFigures {
            scales: &scales,
            ladder_len: self.sliding.ladder_len(),
            baseline_mean: baseline.mean,
            largest_share_move: shifted,
            recent_labels: self.recent.figures(),
            baseline_labels: (baseline.labelled, baseline.correct),
            estimates: self.sliding.estimated().map(|e| Estimates {
                window: e.value,
                method: e.method,
                n: self.sliding.n(),
                baseline: baseline.calibration.baseline_estimate(baseline.mean).value,
                baseline_labels: (baseline.labelled, baseline.correct),
            }),
            mix_crossing: crossing.map(|c| mix_crossing(&self.sliding, baseline, &self.labels, c)),
        };
        // Every window rule in the list, in its order.
        for rule in RULES {
            let Drive::Window(check) = rule.drive else {
                continue;
            };
            let state = self.rules.of_mut(rule.kind);
            let hold = Hold::of(state);
            let (kind, breach) = (rule.kind, check(rules, &figures, hold));
            if let Some(t) = self
                .alerts
                .step(state, rules, kind, at, breach, &mut ids.alert)
            {
                out.push(t);
            }
        }
        self.check_change_point(at, settings, ids, out);
        let state = self.rules.of_mut(AlertKind::FeatureDrift);
        let hold = Hold::of(state);
        let checks = self.features.record_checks();
        let found = rules::feature_drift::check(&rules.feature_drift, rules, &checks, hold);
        out.extend(listed::step(
            &mut self.alerts,
            state,
            rules,
            (AlertKind::FeatureDrift, at),
            found,
            &mut ids.alert,
        ));
        self.check_segments(at, settings, ids, out);
    }

    /// `prediction_mix_drift` alone, on a crossing of the mix's sequential
    /// test between checks; the window tests wait for their check (their
    /// figures are the last check's), and a crossing that falls short of
    /// the effect is no check at all (it neither fires nor counts clean).
    pub(super) fn check_mix_crossing(
        &mut self,
        at: CheckPoint<'_>,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) {
        let Some(crossing) = self.mix_cusum.as_mut().and_then(MixCusum::take) else {
            return;
        };
        let BaselineState::Frozen(baseline) = &self.baseline else {
            return;
        };
        let found = mix_crossing(&self.sliding, baseline, &self.labels, crossing);
        let (rules, kind) = (&settings.alerts, AlertKind::PredictionMixDrift);
        let rule = &rules.prediction_mix_drift;
        let state = self.rules.of_mut(kind);
        let (_, min_effect) = Hold::of(state).thresholds(rules, rule.max_p_value, rule.min_effect);
        let Some(breach) = check_crossing(rule, &found, min_effect) else {
            return;
        };
        out.extend(
            self.alerts
                .step(state, rules, kind, at, Some(breach), &mut ids.alert),
        );
    }

    /// `segment_drift`: each segment's sliding window against its own
    /// baseline, by the output rules' tests.
    fn check_segments(
        &mut self,
        at: CheckPoint<'_>,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) {
        let rules = &settings.alerts;
        let tested = self.segments.test(&self.labels, self.cadence.min_samples);
        let figures: Vec<SegmentFigures<'_>> = tested
            .iter()
            .map(|(segment, scale)| SegmentFigures {
                name: &segment.name,
                figures: WindowFigures {
                    scales: std::slice::from_ref(scale),
                    ladder_len: tested.len(),
                    baseline_mean: segment.baseline.mean,
                    largest_share_move: segment
                        .sliding()
                        .largest_share_move(&self.labels, &segment.baseline),
                    recent_labels: RecentAccuracy {
                        labelled: segment.sliding().labelled,
                        correct: segment.sliding().correct,
                        over: self.window,
                    },
                    baseline_labels: (segment.baseline.labelled, segment.baseline.correct),
                    estimates: None,
                    mix_crossing: None,
                },
            })
            .collect();
        let state = self.rules.of_mut(AlertKind::SegmentDrift);
        let found =
            rules::segment_drift::check(&rules.segment_drift, rules, &figures, Hold::of(state));
        out.extend(listed::step(
            &mut self.alerts,
            state,
            rules,
            (AlertKind::SegmentDrift, at),
            found,
            &mut ids.alert,
        ));
    }

    fn check_change_point(
        &mut self,
        at: CheckPoint<'_>,
        settings: &EngineSettings,
        ids: &mut Sequences,
        out: &mut Vec<(Transition, Alert)>,
    ) {
        let rules = &settings.alerts;
        let (Some(seg), BaselineState::Frozen(baseline)) = (&self.after_change, &self.baseline)
        else {
            return;
        };
        let n = seg.counts.n();
        let view = WindowCounts {
            confidences: Confidences::Fine(&seg.counts),
            bins: &seg.bins,
            mix: &seg.mix,
        };
        let cmp: Comparison = compare(baseline, &self.labels, &view);
        let mean = seg.counts.mean().unwrap_or(baseline.mean);
        let breach: Option<Breach> = rules::change_point::check(
            &rules.change_point,
            seg.detector,
            seg.detected_at,
            n,
            &cmp,
            mean,
            baseline.mean,
        );
        let confirmed = breach.is_some();
        // Never drop the predictions after a change before they could confirm it.
        let within = rules
            .change_point
            .confirm_within
            .unwrap_or(self.window)
            .max(rules.change_point.min_samples)
            .max(1);
        let state = self.rules.of_mut(AlertKind::ChangePoint);
        if let Some((Transition::Fired, mut alert)) = self.alerts.step(
            state,
            rules,
            AlertKind::ChangePoint,
            at,
            breach,
            &mut ids.alert,
        ) {
            // A change point is an event: recorded, and reported, as over
            // at once (one line in `--no-tui`, never an open alert).
            alert.cleared_index = Some(alert.index);
            alert.cleared_ts_ms = Some(alert.ts_ms);
            if let Some(last) = self.alerts.alerts.last_mut() {
                *last = alert.clone();
            }
            *state = RuleState::default();
            self.after_change = None;
            out.push((Transition::Fired, alert));
            return;
        }
        if !confirmed && n >= within {
            self.after_change = None;
            *self.rules.of_mut(AlertKind::ChangePoint) = RuleState::default();
        }
    }
}

/// A crossing with the predictions since the change it found (at most the
/// sliding window) against the baseline.
fn mix_crossing<'a>(
    sliding: &SlidingWindow,
    baseline: &Baseline,
    labels: &'a LabelTable,
    crossing: Crossing,
) -> MixCrossing<'a> {
    let (mix, n) = sliding.last_mix(crossing.at + 1 - crossing.since);
    MixCrossing {
        crossing,
        label: labels.name(crossing.label),
        n,
        share: mix.get(crossing.label) as f64 / n.max(1) as f64,
        js: mix_js(baseline, labels, &mix),
    }
}

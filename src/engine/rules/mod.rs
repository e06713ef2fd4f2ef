//! The alert rules. Each rule is one module here: its settings (with
//! their defaults and validation, `[alerts.NAME]` in the config) and the
//! check that decides whether one look at the data *breaches*. [`RULES`]
//! lists them with what each watches, for the help and the docs;
//! [`AlertRules`] holds every rule's settings and the hysteresis shared by
//! all (`alert_log`). Checks are pure functions of the figures, so the same
//! rules run live and in `replay` and are tested on their own.

pub mod accuracy_drop;
pub mod accuracy_estimated_drop;
pub mod change_point;
pub mod confidence_drift;
pub mod feature_drift;
pub mod ingest_overload;
pub mod listed;
pub mod malformed_burst;
pub mod prediction_mix_drift;
pub mod segment_drift;
pub mod silence;
pub mod source_down;

use serde::{Deserialize, Serialize};

pub use accuracy_drop::AccuracyRule;
pub use accuracy_estimated_drop::EstimatedAccuracyRule;
pub use change_point::ChangePointRule;
pub use confidence_drift::ConfidenceRule;
pub use feature_drift::FeatureDriftRule;
pub use ingest_overload::IngestOverloadRule;
pub use malformed_burst::MalformedRule;
pub use prediction_mix_drift::MixRule;
pub use segment_drift::SegmentDriftRule;
pub use silence::SilenceRule;
pub use source_down::SourceDownRule;

use super::alert_log::RuleState;
use super::alerts::{AlertKind, Breach};
use super::scales::ScaleFigures;

/// What a model's sliding window looks like at one check: everything the
/// window rules decide on, computed once per check.
#[derive(Debug, Clone, Copy)]
pub struct WindowFigures<'a> {
    /// The whole sliding window first, then each rung of the ladder of
    /// smaller windows (`scales`) that is full, largest first.
    pub scales: &'a [ScaleFigures],
    /// How many windows the ladder tests, full or not: the Bonferroni
    /// divisor of each rule's `max_p_value`.
    pub ladder_len: usize,
    pub baseline_mean: f64,
    /// The label whose share moved most in the whole window: name,
    /// baseline share, window share.
    pub largest_share_move: Option<(&'a str, f64, f64)>,
    /// The last labels joined (`labels.accuracy_over`), whichever
    /// predictions they are about, and the baseline's labelled and correct
    /// predictions.
    pub recent_labels: crate::engine::recent_accuracy::RecentAccuracy,
    pub baseline_labels: (u64, u64),
    /// The window's and the baseline's estimated accuracy, when both exist.
    pub estimates: Option<accuracy_estimated_drop::Estimates>,
    /// The mix's sequential test crossed since the last check.
    pub mix_crossing: Option<prediction_mix_drift::MixCrossing<'a>>,
}

/// Whether a check decides to fire an alert or to keep an active one.
/// Keeping asks less than firing (`alerts.keep_p_value`,
/// `alerts.keep_effect_ratio`): a shift hovering at the firing threshold
/// keeps its one alert instead of clearing and firing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    Fire,
    Keep,
    /// Whether the statistic moved by the rule's effect size at all,
    /// significant or not: a small sample's test lacks the power to say it
    /// did not (`segment_drift` asks it of the segments it calls clean).
    EffectOnly,
}

impl Hold {
    /// Keep while the rule's alert is active, else fire.
    pub fn of(state: &RuleState) -> Hold {
        if state.is_active() {
            Hold::Keep
        } else {
            Hold::Fire
        }
    }

    /// The significance level and effect size a check needs.
    pub fn thresholds(self, rules: &AlertRules, max_p_value: f64, min_effect: f64) -> (f64, f64) {
        match self {
            Hold::Fire => (max_p_value, min_effect),
            Hold::Keep => (
                rules.keep_p_value.max(max_p_value),
                min_effect * rules.keep_effect_ratio,
            ),
            Hold::EffectOnly => (f64::INFINITY, min_effect),
        }
    }
}

/// How a rule is driven.
#[derive(Debug, Clone, Copy)]
pub enum Drive {
    /// At each check of a model's sliding window: the engine calls it with
    /// the window's figures (adding such a rule needs no engine change).
    Window(fn(&AlertRules, &WindowFigures<'_>, Hold) -> Option<Breach>),
    /// By its own input, where that lives: a detector's change point and
    /// the input features (`model.rs`), the clock (`timed.rs`), the line
    /// count (`ingest.rs`).
    Own,
}

/// A rule in the list: its kind, how it is driven, and what the help and
/// the alert detail say of it.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    pub kind: AlertKind,
    pub drive: Drive,
    /// Whether it runs per model (its state in each model's `RuleStates`)
    /// or on the input as a whole.
    pub per_model: bool,
    /// What it watches, in a few words (the help shows it).
    pub watches: &'static str,
    /// What clears its alert (the alert detail shows it).
    pub clears: &'static str,
}

/// The rule that raises alerts of `kind`.
pub fn rule_of(kind: AlertKind) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.kind == kind)
}

/// Cleared by the shared hysteresis: `clear_after` clean checks.
const CLEAN_CHECKS: &str =
    "alerts.clear_after clean checks in a row (10 by default: a whole window)";

/// Every rule, in the order a model's checks run.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        kind: AlertKind::ConfidenceDrift,
        drive: Drive::Window(confidence_drift::check_window),
        per_model: true,
        watches: "confidence moved: KS p and normed Wasserstein",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::PredictionMixDrift,
        drive: Drive::Window(prediction_mix_drift::check_window),
        per_model: true,
        watches: "label mix moved: chi² p or a CUSUM, and Jensen–Shannon",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::AccuracyDrop,
        drive: Drive::Window(accuracy_drop::check_window),
        per_model: true,
        watches: "accuracy fell: z-test p and a minimum drop",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::AccuracyEstimatedDrop,
        drive: Drive::Window(accuracy_estimated_drop::check_window),
        per_model: true,
        watches: "estimated accuracy (CBPE) fell, before labels",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::ChangePoint,
        drive: Drive::Own,
        per_model: true,
        watches: "Page–Hinkley/ADWIN change, then confirmed",
        clears: "nothing: a change point is an event, over once reported",
    },
    RuleInfo {
        kind: AlertKind::Silence,
        drive: Drive::Own,
        per_model: true,
        watches: "a model or a source sent nothing for silence_after",
        clears: "the model's next prediction (the source's next line)",
    },
    RuleInfo {
        kind: AlertKind::MalformedBurst,
        drive: Drive::Own,
        per_model: false,
        watches: "a share of the last input lines malformed",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::IngestOverload,
        drive: Drive::Own,
        per_model: false,
        watches: "a source dropping lines: the engine fell behind",
        clears: "clear_after_secs without a further dropped line",
    },
    RuleInfo {
        kind: AlertKind::SourceDown,
        drive: Drive::Own,
        per_model: false,
        watches: "a source down or silent for after_secs",
        clears: "the source delivering again",
    },
    RuleInfo {
        kind: AlertKind::FeatureDrift,
        drive: Drive::Own,
        per_model: true,
        watches: "input features moved: KS/chi² p and an effect",
        clears: CLEAN_CHECKS,
    },
    RuleInfo {
        kind: AlertKind::SegmentDrift,
        drive: Drive::Own,
        per_model: true,
        watches: "a segment's confidence, mix or accuracy moved from its own baseline",
        clears: CLEAN_CHECKS,
    },
];

/// Every rule, with defaults set on principle: significance far beyond
/// what thousands of checks produce by chance (1e-6), effect sizes at the
/// thresholds practitioners use (evidently's 0.1 normed Wasserstein, three
/// points of accuracy), two consecutive breaching checks (a fifth of a
/// window) to fire and a whole window of clean ones to clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRules {
    /// Breaching checks in a row to fire. One by default: each check's
    /// significance level (`max_p_value`, split over the ladder) is what
    /// bounds false alarms, and waiting for a second check only delays.
    pub consecutive: u32,
    /// Clean checks in a row to clear (default: a whole window of checks),
    /// so a shift hovering at a threshold does not page, clear and page
    /// again.
    pub clear_after: Option<u32>,
    /// While an alert is active, the significance level that keeps it...
    pub keep_p_value: f64,
    /// ...and the share of the rule's minimum effect that keeps it.
    pub keep_effect_ratio: f64,
    /// The smallest window of the ladder the drift rules test besides the
    /// whole window: W/2, W/4, … down to this many predictions (0: the
    /// whole window only).
    pub smallest_window: u64,
    /// Predictions between checks (default: half the smallest window of
    /// the ladder; window / 10 without one).
    pub check_every: Option<u64>,
    /// Predictions the sliding window needs before checks start (default:
    /// the smallest window of the ladder; half the window without one).
    pub min_samples: Option<u64>,
    /// How long a model or a source that sent something may then send
    /// nothing before `silence` ("5m"; `silence.after_secs` is the older
    /// spelling, still read).
    #[serde(
        with = "silence::duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub silence_after: Option<std::time::Duration>,
    pub confidence_drift: ConfidenceRule,
    pub prediction_mix_drift: MixRule,
    pub accuracy_drop: AccuracyRule,
    pub accuracy_estimated_drop: EstimatedAccuracyRule,
    pub change_point: ChangePointRule,
    pub malformed_burst: MalformedRule,
    pub source_down: SourceDownRule,
    pub ingest_overload: IngestOverloadRule,
    pub silence: SilenceRule,
    pub feature_drift: FeatureDriftRule,
    pub segment_drift: SegmentDriftRule,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            consecutive: 1,
            clear_after: None,
            keep_p_value: 1e-3,
            keep_effect_ratio: 0.5,
            smallest_window: 100,
            check_every: None,
            min_samples: None,
            silence_after: None,
            confidence_drift: ConfidenceRule::default(),
            prediction_mix_drift: MixRule::default(),
            accuracy_drop: AccuracyRule::default(),
            accuracy_estimated_drop: EstimatedAccuracyRule::default(),
            change_point: ChangePointRule::default(),
            malformed_burst: MalformedRule::default(),
            source_down: SourceDownRule::default(),
            ingest_overload: IngestOverloadRule::default(),
            silence: SilenceRule::default(),
            feature_drift: FeatureDriftRule::default(),
            segment_drift: SegmentDriftRule::default(),
        }
    }
}

impl AlertRules {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.keep_p_value > 0.0 && self.keep_p_value <= 1.0) {
            return Err(format!(
                "alerts.keep_p_value {} is not in (0, 1]",
                self.keep_p_value
            ));
        }
        if !(self.keep_effect_ratio > 0.0 && self.keep_effect_ratio <= 1.0) {
            return Err(format!(
                "alerts.keep_effect_ratio {} is not in (0, 1]",
                self.keep_effect_ratio
            ));
        }
        if self.consecutive == 0 || self.clear_after == Some(0) {
            return Err("alerts.consecutive and alerts.clear_after must be at least 1".into());
        }
        self.confidence_drift.validate()?;
        self.prediction_mix_drift.validate()?;
        self.accuracy_drop.validate()?;
        self.accuracy_estimated_drop.validate()?;
        self.change_point.validate()?;
        self.malformed_burst.validate()?;
        self.source_down.validate()?;
        self.ingest_overload.validate()?;
        silence::after(&self.silence, self.silence_after)?;
        self.feature_drift.validate()
    }

    /// How long before `silence` (see [`silence::after`]; settings that
    /// did not validate wait the default).
    pub fn silence_after(&self) -> std::time::Duration {
        silence::after(&self.silence, self.silence_after).unwrap_or(silence::DEFAULT_AFTER)
    }
}

/// Runs a rule's test on each window of the ladder at `max_p_value`
/// divided by the ladder's length (Bonferroni: one check's chance of a false
/// breach stays below `max_p_value` however many windows it looks at), and
/// keeps the most severe breach, the largest window among equals; its
/// detail says which window fired.
fn over_scales(
    f: &WindowFigures<'_>,
    max_p_value: f64,
    test: impl Fn(&ScaleFigures, f64) -> Option<Breach>,
) -> Option<Breach> {
    let alpha = max_p_value / f.ladder_len.max(1) as f64;
    let mut best: Option<(u64, Breach)> = None;
    for scale in f.scales {
        let Some(b) = test(scale, alpha) else {
            continue;
        };
        if best.as_ref().is_none_or(|(_, x)| b.severity > x.severity) {
            best = Some((scale.n, b));
        }
    }
    best.map(|(n, mut b)| {
        b.detail = format!(
            "{}; seen in the last {n} predictions (p < {alpha:.0e} per window tested)",
            b.detail
        );
        b
    })
}

/// One-sided p-value of a drop measured with standard error `se` (normal
/// approximation); a drop with no spread at all is certain.
fn one_sided_p(drop: f64, se: f64) -> f64 {
    if se > 0.0 {
        0.5 * statrs::function::erf::erfc(drop / se / std::f64::consts::SQRT_2)
    } else {
        0.0
    }
}

/// Warning, or critical from `critical` on.
fn severity_from(effect: f64, critical: f64) -> super::alerts::Severity {
    use super::alerts::Severity;
    if effect >= critical {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// A significance level must be in (0, 1].
fn p_value(rule: &str, p: f64) -> Result<(), String> {
    if p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(format!("alerts.{rule}.max_p_value {p} is not in (0, 1]"))
    }
}

/// An effect size or share must be a non-negative number.
fn non_negative(name: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(format!("alerts.{name} {x} must be a non-negative number"))
    }
}

#[cfg(test)]
mod tests {
    use super::AlertRules;
    use super::*;
    use crate::engine::alerts::{Direction, Severity};
    use crate::engine::compare::Comparison;
    use crate::engine::compare::{Chi2Figures, KsFigures};

    fn cmp(p: f64, effect: f64) -> Comparison {
        Comparison {
            ks: Some(KsFigures {
                statistic: 0.2,
                p_value: p,
                method: "asymptotic",
            }),
            chi2: Some(Chi2Figures {
                statistic: 50.0,
                p_value: p,
                dof: 1,
            }),
            psi: Some(0.1),
            js: Some(effect),
            wasserstein: Some(effect / 10.0),
            wasserstein_norm: Some(effect),
        }
    }

    #[test]
    fn confidence_needs_significance_effect_and_direction() {
        let mut rule = AlertRules::default().confidence_drift;
        assert!(confidence_drift::check(&rule, &cmp(1e-3, 0.5), 0.8, 0.9).is_none());
        assert!(confidence_drift::check(&rule, &cmp(1e-9, 0.05), 0.8, 0.9).is_none());
        let b = confidence_drift::check(&rule, &cmp(1e-9, 0.5), 0.8, 0.9).unwrap();
        assert_eq!(
            (b.severity, b.direction),
            (Severity::Critical, Some(Direction::Down))
        );
        let b = confidence_drift::check(&rule, &cmp(1e-9, 0.5), 0.95, 0.9).unwrap();
        assert_eq!(
            (b.severity, b.direction),
            (Severity::Warning, Some(Direction::Up))
        );
        rule.direction = Direction::Down;
        assert!(confidence_drift::check(&rule, &cmp(1e-9, 0.5), 0.95, 0.9).is_none());
    }

    #[test]
    fn defaults_validate() {
        AlertRules::default().validate().unwrap();
        let mut r = AlertRules::default();
        r.confidence_drift.max_p_value = 0.0;
        assert!(r.validate().unwrap_err().contains("confidence_drift"));
    }

    #[test]
    fn every_kind_has_one_rule() {
        // Exhaustive: a new kind does not compile until it is listed here.
        let listed = |k: AlertKind| match k {
            AlertKind::ConfidenceDrift
            | AlertKind::PredictionMixDrift
            | AlertKind::AccuracyDrop
            | AlertKind::AccuracyEstimatedDrop
            | AlertKind::ChangePoint
            | AlertKind::SourceDown
            | AlertKind::MalformedBurst
            | AlertKind::IngestOverload
            | AlertKind::Silence
            | AlertKind::FeatureDrift
            | AlertKind::SegmentDrift => k,
        };
        let kinds = AlertKind::ALL;
        for (i, kind) in kinds.map(listed).into_iter().enumerate() {
            assert_eq!(kind as usize, i, "ALL is in declaration order");
            let rules = RULES.iter().filter(|r| r.kind == kind).count();
            assert_eq!(rules, 1, "{}", kind.as_str());
        }
        assert_eq!(RULES.len(), kinds.len());
    }

    #[test]
    fn accuracy_drop_is_one_sided_with_minimum() {
        let rule = AlertRules::default().accuracy_drop;
        assert!(accuracy_drop::check(&rule, (1000, 900), (10_000, 9500)).is_some());
        assert!(accuracy_drop::check(&rule, (1000, 990), (10_000, 9500)).is_none()); // better
        assert!(accuracy_drop::check(&rule, (100, 50), (10_000, 9500)).is_none()); // too few
        assert!(accuracy_drop::check(&rule, (1000, 945), (10_000, 9500)).is_none()); // too small
    }
}

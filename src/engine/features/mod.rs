//! Input features (README, Input features): for one model, the scalars of
//! its predictions' `input` held against the baseline, as confidence is.
//!
//! Features are found in the baseline: a name is watched from its first
//! non-null value there (the first `max_per_model` names, those `include`
//! and `exclude` let through, while `max_bytes` allows), with the kind that
//! value has (or the one `kinds` fixes). A prediction without a watched
//! feature counts it missing. After the baseline no feature is added; each
//! feature then has tumbling windows (the report's, the same as
//! confidence's) and the sliding window of the last W (the drift rule's).
//!
//! Files: `settings` (`[features]`), `registry` (names and lookup),
//! `column` (one feature of either kind) over `numeric`,
//! `numeric_sliding`, `categorical` and `categories`; `figures` is what the
//! report writes; `history` keeps each feature's last checks and `view` is
//! what a screen shows of them.

pub mod categorical;
pub mod categories;
pub mod column;
pub mod figures;
pub mod history;
pub mod numeric;
pub mod numeric_sliding;
pub mod registry;
pub mod settings;
pub mod view;

use std::sync::Arc;

use column::{Column, Value};
use figures::{BaselineSummary, FeatureFigures};
use history::{CheckHistory, LastCheck};
use registry::Registry;
pub use settings::{FeatureKind, FeatureSettings};

use super::rules::feature_drift::FeatureCheck;
use super::settings::EngineSettings;
use crate::record::features::{FeatureValue, Features};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Phase {
    /// Features are off, or the model's baseline came from a file (which
    /// holds no features).
    Off,
    Collecting,
    Frozen,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FeatureMonitor {
    settings: FeatureSettings,
    phase: Phase,
    window: u64,
    /// Whether tumbling windows are kept (`EngineSettings::windows_kept`).
    tumbling: bool,
    registry: Registry,
    columns: Vec<Column>,
    /// Bytes each column is charged (its fixed part and its baseline).
    charged: Vec<usize>,
    /// Each feature's last checks, by id.
    history: Vec<CheckHistory>,
    bytes: usize,
    /// Which features the current prediction gave (`generation` marks).
    stamps: Vec<u32>,
    generation: u32,
    baseline_n: u64,
    /// Set once a feature was given up for bytes: no new one is taken.
    full: bool,
    /// Values of features not watched because `max_per_model` or
    /// `max_bytes` was reached.
    pub untracked_values: u64,
    /// Features given up while the baseline grew past `max_bytes`.
    pub dropped_over_bytes: u64,
}

impl FeatureMonitor {
    /// `collecting`: the model collects its baseline from the stream.
    pub fn new(settings: &EngineSettings, collecting: bool) -> Self {
        let on = collecting && settings.features.enabled;
        FeatureMonitor {
            settings: settings.features.clone(),
            phase: if on { Phase::Collecting } else { Phase::Off },
            window: settings.window,
            tumbling: settings.windows_kept != Some(0),
            registry: Registry::default(),
            columns: Vec::new(),
            charged: Vec::new(),
            history: Vec::new(),
            bytes: 0,
            stamps: Vec::new(),
            generation: 0,
            baseline_n: 0,
            full: false,
            untracked_values: 0,
            dropped_over_bytes: 0,
        }
    }

    /// The watched features' names, by id.
    pub fn names(&self) -> &[Arc<str>] {
        self.registry.names()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Bytes held by the watched features (as charged against `max_bytes`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes one prediction's features: into the baseline while it is
    /// collected, into the windows after it is frozen.
    #[inline]
    pub fn observe(&mut self, features: &Features<'_>) {
        // A model without features pays one test per prediction.
        if self.columns.is_empty() && (features.is_empty() || self.phase != Phase::Collecting) {
            self.baseline_n += u64::from(self.phase == Phase::Collecting);
            return;
        }
        self.observe_values(features);
    }

    fn observe_values(&mut self, features: &Features<'_>) {
        match self.phase {
            Phase::Off => {}
            Phase::Collecting => {
                self.each_value(features, true, Column::add_baseline);
                self.enforce_bytes();
                self.baseline_n += 1;
            }
            Phase::Frozen => {
                let tumbling = self.tumbling;
                self.each_value(features, false, |c, v| {
                    c.add(v, tumbling);
                    0
                });
            }
        }
    }

    /// Calls `f` once for every watched feature with its value in this
    /// prediction (`None` when missing); `admit` registers new names. What
    /// `f` returns is charged to the feature.
    #[inline]
    fn each_value(
        &mut self,
        features: &Features<'_>,
        admit: bool,
        mut f: impl FnMut(&mut Column, Value<'_>) -> usize,
    ) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let mut seen = 0;
        for (pos, (name, value)) in features.iter().enumerate() {
            let id = match self.registry.find(pos, name) {
                Some(id) => usize::from(id),
                None if admit => match self.admit(pos, name, value) {
                    Some(id) => id,
                    None => continue,
                },
                None => continue,
            };
            // A name given twice in one `input` counts once.
            if self.stamps[id] == self.generation {
                continue;
            }
            self.stamps[id] = self.generation;
            seen += 1;
            let grew = f(&mut self.columns[id], Some(value));
            self.charged[id] += grew;
            self.bytes += grew;
        }
        if seen < self.columns.len() {
            for id in 0..self.columns.len() {
                if self.stamps[id] != self.generation {
                    let grew = f(&mut self.columns[id], None);
                    self.charged[id] += grew;
                    self.bytes += grew;
                }
            }
        }
    }

    /// Registers a feature met in the baseline if the settings and caps let
    /// it in; its id.
    fn admit(&mut self, pos: usize, name: &str, value: FeatureValue<&str>) -> Option<usize> {
        if !self.settings.admits(name) {
            return None;
        }
        let fixed = self.settings.kinds.get(name).copied();
        let kind = fixed.unwrap_or_else(|| Column::kind_of(value));
        let cost = Column::fixed_bytes(kind, &self.settings, self.window) + name.len();
        if self.full
            || self.columns.len() >= self.settings.max_per_model
            || self.bytes.saturating_add(cost) > self.settings.max_bytes
        {
            self.untracked_values += 1;
            return None;
        }
        let id = usize::from(self.registry.add(pos, name));
        let column = Column::new(kind, fixed.is_some(), &self.settings, self.baseline_n);
        self.columns.push(column);
        self.charged.push(cost);
        self.history.push(CheckHistory::default());
        self.stamps.push(0);
        self.bytes += cost;
        Some(id)
    }

    /// Gives up the newest features while the baseline is over `max_bytes`.
    fn enforce_bytes(&mut self) {
        while self.bytes > self.settings.max_bytes && !self.columns.is_empty() {
            self.columns.pop();
            self.history.pop();
            self.stamps.pop();
            self.registry.remove_last();
            self.bytes -= self.charged.pop().unwrap_or(0);
            self.dropped_over_bytes += 1;
            self.full = true;
        }
    }

    /// The model's baseline is complete: so are the features'.
    pub fn freeze(&mut self) {
        if self.phase != Phase::Collecting {
            return;
        }
        for c in &mut self.columns {
            c.freeze(self.window);
        }
        self.phase = Phase::Frozen;
    }

    /// The tumbling window closed: its figures, by feature id.
    pub fn close_window(&mut self) -> Vec<FeatureFigures> {
        self.columns.iter_mut().map(Column::close).collect()
    }

    /// The tumbling window's figures so far (the trailing partial window).
    pub fn current_window(&self) -> Vec<FeatureFigures> {
        self.columns.iter().map(Column::peek).collect()
    }

    /// Each feature's sliding window against the baseline, for
    /// `feature_drift` (features without a test left out); each feature's
    /// history remembers this check.
    pub fn record_checks(&mut self) -> Vec<FeatureCheck<'_>> {
        let mut checks = Vec::with_capacity(self.columns.len());
        let names = self.registry.names().iter();
        for ((name, c), history) in names.zip(&self.columns).zip(&mut self.history) {
            let test = c.check();
            history.record(test.map(|t| LastCheck::of(&t, |n| c.shared_category(n))));
            checks.extend(test.map(|test| FeatureCheck { name, test }));
        }
        checks
    }

    /// Each feature's frozen baseline, by id (none while it is collected).
    pub fn baselines(&self) -> impl Iterator<Item = (&str, BaselineSummary<'_>)> {
        let frozen = self.phase == Phase::Frozen;
        self.registry
            .names()
            .iter()
            .zip(&self.columns)
            .filter(move |_| frozen)
            .filter_map(|(name, c)| Some((&**name, c.baseline()?)))
    }

    /// Kinds by id.
    pub fn kinds(&self) -> impl Iterator<Item = FeatureKind> + '_ {
        self.columns.iter().map(Column::kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::BaselineSpec;
    use crate::record::features::FeatureArena;

    pub(super) fn monitor(
        baseline: u64,
        features: impl FnOnce(&mut FeatureSettings),
    ) -> FeatureMonitor {
        let mut s = EngineSettings {
            baseline: BaselineSpec::Count(baseline),
            window: 2,
            ..EngineSettings::default()
        };
        features(&mut s.features);
        FeatureMonitor::new(&s, true)
    }

    pub(super) fn feed(m: &mut FeatureMonitor, input: &str) {
        let line = format!(r#"{{"prediction":"a","confidence":0.5,"input":{input}}}"#);
        let (arena, at) = FeatureArena::of_line(line.as_bytes());
        m.observe(&arena.get(at));
    }

    fn names(m: &FeatureMonitor) -> Vec<&str> {
        m.names().iter().map(|n| &**n).collect()
    }

    #[test]
    fn the_first_features_seen_win_and_include_exclude_filter() {
        let mut m = monitor(10, |f| f.max_per_model = 2);
        feed(&mut m, r#"{"a":1,"b":"x","c":2}"#);
        feed(&mut m, r#"{"c":2,"b":"y","a":3}"#);
        assert_eq!(names(&m), ["a", "b"]);
        assert_eq!(m.untracked_values, 2, "c, once a prediction");
        let mut m = monitor(10, |f| {
            f.include = vec!["a".into(), "c".into()];
            f.exclude = vec!["c".into()];
        });
        feed(&mut m, r#"{"a":1,"b":"x","c":2}"#);
        assert_eq!((names(&m), m.untracked_values), (vec!["a"], 0));
    }

    #[test]
    fn kinds_come_from_the_first_value_or_the_config() {
        let mut m = monitor(10, |f| {
            f.kinds.insert("code".into(), FeatureKind::Categorical);
        });
        feed(
            &mut m,
            r#"{"n":null,"x":1.5,"s":"a","b":true,"code":7,"o":{"p":2}}"#,
        );
        feed(&mut m, r#"{"n":4}"#);
        assert_eq!(names(&m), ["x", "s", "b", "code", "o.p", "n"]);
        use FeatureKind::{Categorical as C, Numeric as N};
        assert_eq!(m.kinds().collect::<Vec<_>>(), [N, C, C, C, N, N]);
        m.freeze();
        let code = m.baselines().find(|(name, _)| *name == "code").unwrap().1;
        assert_eq!(
            code,
            BaselineSummary::Categorical {
                n: 1,
                missing: 1,
                counts: vec![("7", 1)]
            }
        );
        // `n` arrived with the second prediction: the first counts missing.
        let n = m.baselines().find(|(name, _)| *name == "n").unwrap().1;
        assert!(matches!(
            n,
            BaselineSummary::Numeric {
                n: 1,
                missing: 1,
                ..
            }
        ));
    }

    #[test]
    fn after_the_baseline_no_feature_joins_and_a_name_twice_counts_once() {
        let mut m = monitor(2, |_| {});
        feed(&mut m, r#"{"a":1,"a":5}"#);
        feed(&mut m, r#"{"a":2}"#);
        m.freeze();
        feed(&mut m, r#"{"a":3,"late":1}"#);
        assert_eq!(names(&m), ["a"]);
        let Some((_, BaselineSummary::Numeric { n, mean, .. })) = m.baselines().next() else {
            panic!("a numeric baseline");
        };
        assert_eq!((n, mean), (2, Some(1.5)));
        assert!(m.bytes() > 0);
    }

    #[test]
    fn a_baseline_over_max_bytes_gives_up_its_newest_features() {
        let fixed = Column::fixed_bytes(FeatureKind::Numeric, &FeatureSettings::default(), 2);
        // Room for two features and a few baseline values, not for ten.
        let budget = 2 * (fixed + 1) + 6 * numeric::BASELINE_BYTES_PER_VALUE;
        let mut m = monitor(10, |f| f.max_bytes = budget);
        for i in 0..10 {
            feed(&mut m, &format!(r#"{{"a":{i},"b":{i},"c":{i}}}"#));
        }
        assert_eq!(names(&m), ["a"]);
        assert_eq!(m.dropped_over_bytes, 1);
        assert!(m.bytes() <= budget);
        assert!(
            m.untracked_values >= 10,
            "c never fitted; b not once given up"
        );
    }
}

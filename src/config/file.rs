//! The TOML config file. Every section is optional and every key has a
//! default; unknown keys, wrong types and bad values are refused with the
//! file and line named.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::features::FeatureSettings;
use crate::engine::segments::settings::SegmentSettings;
use crate::engine::settings::{
    BaselineSpec, DetectorSettings, EngineSettings, HistorySettings, LabelSettings, ReviewSettings,
};
use crate::record::FieldMapping;
use crate::record::lines::DEFAULT_MAX_LINE_BYTES;

/// How input lines are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputConfig {
    /// Longer lines are skipped and counted.
    pub max_line_bytes: usize,
    /// Field mapping for payloads not in the canonical shape.
    pub mapping: FieldMapping,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            mapping: FieldMapping::default(),
        }
    }
}

/// The file's shape.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// First N predictions, or a duration of event time such as "7d".
    pub baseline: Option<BaselineSpec>,
    /// Window size W in predictions.
    pub window: Option<u64>,
    pub input: InputConfig,
    pub review: ReviewSettings,
    pub labels: LabelSettings,
    pub history: HistorySettings,
    pub detectors: DetectorSettings,
    /// The alert rules and the hooks told of alerts (`[alerts]`).
    pub alerts: super::alerts::AlertsSection,
    /// Input features (`[features]`).
    pub features: FeatureSettings,
    /// Segments (`[segments]`).
    pub segments: SegmentSettings,
    /// Live sources: file following, websockets (`[sources]`).
    pub sources: crate::source::settings::SourcesConfig,
    /// The audit log of operator decisions (`[audit]`).
    pub audit: crate::decision::settings::AuditConfig,
    /// Kill-switch actuators (`[[kill_switch.actuator]]`).
    pub kill_switch: crate::decision::settings::KillSwitchConfig,
    /// The terminal dashboard: keys, theme, fps, mouse (`[ui]`).
    pub ui: crate::ui::settings::UiConfig,
    /// The team on a NATS cluster (`[team]`).
    pub team: crate::team::settings::TeamConfig,
}

/// A config problem: one line naming the file and, where known, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: one_line(e.message()),
        })?;
        config.validate().map_err(|message| ConfigError {
            path: path.to_path_buf(),
            line: line_of_message(text, &message),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.window == Some(0) {
            return Err("window must be at least 1".into());
        }
        if self.input.max_line_bytes == 0 {
            return Err("input.max_line_bytes must be at least 1".into());
        }
        self.input
            .mapping
            .validate()
            .map_err(|e| format!("input.mapping: {e}"))?;
        for source in &self.sources.sources {
            if let Some(mapping) = &source.mapping {
                mapping
                    .validate()
                    .map_err(|e| format!("sources.source mapping of {}: {e}", source.url))?;
            }
        }
        self.team.validate()?;
        // The engine's own checks, on the engine's part of the file.
        EngineSettings {
            review: self.review.clone(),
            labels: self.labels.clone(),
            history: self.history.clone(),
            alerts: self.alerts.rules.clone(),
            features: self.features.clone(),
            segments: self.segments.clone(),
            ..EngineSettings::default()
        }
        .validate()?;
        // Keys, theme and colours are checked now, not when the dashboard
        // starts, so a typo is reported with its line.
        let env = crate::ui::settings::UiEnv {
            no_color: false,
            depth: crate::ui::theme::ColorDepth::TrueColor,
        };
        crate::ui::settings::UiSettings::resolve(&self.ui, None, None, &env)
            .map(|_| ())
            .map_err(|e| format!("ui: {e}"))
    }
}

/// The line of the deepest key of `text` that `message` names as a dotted
/// path (`alerts.consecutive`, `window`), so value errors found after
/// parsing still point at a line.
pub(crate) fn line_of_message(text: &str, message: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = toml::de::DeTable::parse(text).ok()?;
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| w.len() > 1)
        .collect();
    fn key_in<'i>(table: &DeTable<'i>, name: &str) -> Option<(usize, DeValue<'i>)> {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == name)
            .map(|(k, v)| (k.span().start, v.get_ref().clone()))
    }
    let mut best: Option<(usize, usize)> = None; // (depth, offset)
    for word in &words {
        let mut table: DeTable<'_> = doc.get_ref().clone();
        let mut found = None;
        for (depth, part) in word.split('.').enumerate() {
            let Some((offset, value)) = key_in(&table, part) else {
                break;
            };
            found = Some((depth, offset));
            match value {
                DeValue::Table(inner) => table = inner,
                _ => {
                    table = DeTable::new();
                    break;
                }
            }
        }
        // A table named by the path: look inside it for another word
        // (`[ui.keys]: unknown action "aprove"`).
        if let Some((depth, _)) = found
            && let Some(offset) = words.iter().find_map(|w| key_in(&table, w).map(|(o, _)| o))
        {
            found = Some((depth + 1, offset));
        }
        if found.is_some_and(|(d, _)| best.is_none_or(|(b, _)| d > b)) {
            best = found;
        }
    }
    best.map(|(_, offset)| offset)
        .or_else(|| {
            // Otherwise a key named in the message anywhere in the file.
            words
                .iter()
                .flat_map(|w| w.split('.'))
                .find_map(|word| find_key(doc.get_ref(), word))
        })
        .map(|offset| line_of(text, offset))
}

fn find_key(table: &toml::de::DeTable<'_>, name: &str) -> Option<usize> {
    table.iter().find_map(|(k, v)| {
        if k.get_ref().as_ref() == name {
            return Some(k.span().start);
        }
        match v.get_ref() {
            toml::de::DeValue::Table(inner) => find_key(inner, name),
            toml::de::DeValue::Array(items) => items.iter().find_map(|item| match item.get_ref() {
                toml::de::DeValue::Table(inner) => find_key(inner, name),
                _ => None,
            }),
            _ => None,
        }
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn partial_tables_keep_their_own_defaults() {
        let c = parse(
            "baseline = \"7d\"\nwindow = 500\n[alerts.prediction_mix_drift]\nmin_effect = 0.2\n",
        )
        .unwrap();
        assert_eq!(
            c.baseline,
            Some(BaselineSpec::Duration(std::time::Duration::from_secs(
                7 * 86_400
            )))
        );
        let d = crate::engine::rules::AlertRules::default();
        let rules = &c.alerts.rules;
        assert_eq!(rules.prediction_mix_drift.min_effect, 0.2);
        assert_eq!(
            rules.prediction_mix_drift.max_p_value,
            d.prediction_mix_drift.max_p_value
        );
        assert_eq!(rules.confidence_drift, d.confidence_drift);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("window = 5\n\n[alerts]\nconsecutiv = 3\n").unwrap_err();
        assert!(e.starts_with("c.toml:4: unknown field `consecutiv`"), "{e}");
        let e = parse("window = \"big\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:1:"), "{e}");
        let e = parse("window = [\n").unwrap_err();
        assert!(e.starts_with("c.toml:"), "{e}");
        let e = parse("[alerts]\nconsecutive = 0\n").unwrap_err();
        assert!(
            e.starts_with("c.toml:2:") && e.contains("consecutive"),
            "{e}"
        );
        let e = parse("window = 3\n[review]\nbelow = 1.5\n").unwrap_err();
        assert!(e.starts_with("c.toml:3: review.below 1.5"), "{e}");
        let e =
            parse("[alerts.confidence_drift]\nmin_effect = 0.2\nmax_p_value = 0\n").unwrap_err();
        assert!(e.starts_with("c.toml:3:"), "{e}");
        let e = parse("[ui]\nfps = 10\n[ui.keys]\naprove = \"a\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:4:") && e.contains("aprove"), "{e}");
        let e = parse("[ui]\ntheme = \"neon\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:2:") && e.contains("neon"), "{e}");
        let e = parse("baseline = \"soon\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:1:") && e.contains("soon"), "{e}");
        assert!(!e.contains('\n'));
    }
}

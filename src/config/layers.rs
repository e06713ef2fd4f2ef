//! Where configuration comes from, in order of precedence: command-line
//! flags > `MODELWATCH_*` environment variables > the config file >
//! defaults. The file is `--config FILE`, or
//! `$XDG_CONFIG_HOME/modelwatch/config.toml` (`~/.config/modelwatch/` on
//! every Unix, macOS included) when it exists.
//!
//! Environment variables name a key with `__` between levels:
//! `MODELWATCH_WINDOW=500`, `MODELWATCH_UI__FPS=30`,
//! `MODELWATCH_ALERTS__CONFIDENCE_DRIFT__MIN_EFFECT=0.2`. A value is read
//! as TOML when it parses as a TOML value (numbers, booleans, arrays,
//! quoted strings) and as a plain string otherwise (`MODELWATCH_BASELINE=7d`).

use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;
use toml::{Table, Value};

use super::file::{Config, ConfigError};
use crate::decision::template::PLACEHOLDERS;

/// Prefix of the environment variables that set config keys.
pub const ENV_PREFIX: &str = "MODELWATCH_";
/// Variables with the prefix that are not config keys: the log's, and
/// those a command actuator or alert hook hands its child
/// (`MODELWATCH_MODEL`, `MODELWATCH_ALERT_KIND`, ...), so a stop script may
/// itself run modelwatch.
fn is_config_var(name: &str) -> bool {
    if name.starts_with(crate::hooks::command::ALERT_ENV_PREFIX) {
        return false;
    }
    let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
        return false;
    };
    !matches!(rest, "LOG" | "LOG_FILE")
        && !PLACEHOLDERS.iter().any(|p| rest.eq_ignore_ascii_case(p))
}

/// The config file used when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    let base = etcetera::choose_base_strategy().ok()?;
    Some(base.config_dir().join("modelwatch").join("config.toml"))
}

/// Which file was read, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
    /// The environment variables that set keys.
    pub env_keys: Vec<String>,
}

/// Loads the layered config: `explicit` (must exist) or the default file
/// (if it exists), then the `MODELWATCH_*` variables of `env` on top.
pub fn load(
    explicit: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let file = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => default_config_path().filter(|p| p.is_file()),
    };
    let (mut table, text) = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                path: path.clone(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            // The file alone first, so its errors name its lines.
            Config::parse(&text, path)?;
            let table: Table = toml::from_str(&text).map_err(|e| ConfigError {
                path: path.clone(),
                line: None,
                message: e.message().to_string(),
            })?;
            (table, Some(text))
        }
        None => (Table::new(), None),
    };
    let mut env_keys = Vec::new();
    let mut vars: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| is_config_var(k)).collect();
    vars.sort();
    for (name, raw) in vars {
        let path = key_path(&name);
        if path.iter().any(|p| p.is_empty()) {
            return Err(env_error(
                &name,
                "is not a config key (use __ between levels)".into(),
            ));
        }
        let value = env_value(&raw);
        // Each variable alone must make sense, so its error names it.
        let mut alone = Table::new();
        insert(&mut alone, &path, value.clone()).map_err(|e| env_error(&name, e))?;
        let one = toml::to_string(&alone).map_err(|e| env_error(&name, e.to_string()))?;
        Config::parse(&one, Path::new(&name)).map_err(|e| env_error(&name, e.message))?;
        insert(&mut table, &path, value).map_err(|e| env_error(&name, e))?;
        env_keys.push(name);
    }
    let merged = toml::to_string(&table).map_err(|e| ConfigError {
        path: file.clone().unwrap_or_else(|| PathBuf::from("config")),
        line: None,
        message: e.to_string(),
    })?;
    let label = file.clone().unwrap_or_else(|| PathBuf::from("environment"));
    let config = Config::parse(&merged, &label).map_err(|mut e| {
        // Line numbers of the merged text mean nothing to the user.
        e.line = text
            .as_deref()
            .and_then(|t| super::file::line_of_message(t, &e.message));
        e
    })?;
    Ok(Loaded {
        config,
        file,
        env_keys,
    })
}

fn env_error(name: &str, message: String) -> ConfigError {
    ConfigError {
        path: PathBuf::from(format!("environment variable {name}")),
        line: None,
        message,
    }
}

/// `MODELWATCH_ALERTS__CONSECUTIVE` → `["alerts", "consecutive"]`.
fn key_path(name: &str) -> Vec<String> {
    name[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect()
}

/// A TOML value when the text is one, else the text as a string.
fn env_value(raw: &str) -> Value {
    let probe = format!("v = {raw}");
    match toml::from_str::<Table>(&probe) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

fn insert(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut t = table;
    for (i, key) in parents.iter().enumerate() {
        let entry = t
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        t = match entry {
            Value::Table(inner) => inner,
            _ => return Err(format!("{} is not a table", path[..=i].join("."))),
        };
    }
    t.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_the_file_and_nests_with_double_underscores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "window = 300\n[alerts]\nconsecutive = 4\n[alerts.confidence_drift]\nmin_effect = 0.3\n").unwrap();
        let loaded = load(
            Some(&path),
            env(&[
                ("MODELWATCH_WINDOW", "500"),
                ("MODELWATCH_BASELINE", "7d"),
                ("MODELWATCH_ALERTS__CONFIDENCE_DRIFT__MAX_P_VALUE", "1e-5"),
                ("MODELWATCH_LOG", "debug"),
                ("MODELWATCH_MODEL", "fraud-v3"),
                ("MODELWATCH_REQUEST_ID", "ks-1"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.window, Some(500));
        assert_eq!(c.alerts.rules.consecutive, 4);
        assert_eq!(c.alerts.rules.confidence_drift.min_effect, 0.3);
        assert_eq!(c.alerts.rules.confidence_drift.max_p_value, 1e-5);
        assert!(matches!(
            c.baseline,
            Some(crate::engine::settings::BaselineSpec::Duration(_))
        ));
        assert_eq!(loaded.env_keys.len(), 3);
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let e = load(None::<&Path>, env(&[("MODELWATCH_WINDOW", "lots")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable MODELWATCH_WINDOW:"),
            "{e}"
        );
        let e = load(None::<&Path>, env(&[("MODELWATCH_NOPE", "1")])).unwrap_err();
        assert!(
            e.to_string().contains("MODELWATCH_NOPE") && e.to_string().contains("unknown field"),
            "{e}"
        );
        let e = load(
            None::<&Path>,
            env(&[("MODELWATCH_ALERTS__CONSECUTIVE", "0")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("consecutive"), "{e}");
    }

    #[test]
    fn an_explicit_file_must_exist() {
        let e = load(Some(Path::new("/nonexistent/modelwatch.toml")), env(&[])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/modelwatch.toml: cannot read"),
            "{e}"
        );
    }
}

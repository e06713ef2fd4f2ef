//! Configuration: the TOML file, layered under command-line flags.

pub mod alerts;
pub mod file;
pub mod layers;

pub use file::{Config, ConfigError, InputConfig};

/// A commented config file holding every default (`config --print-default`).
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_exactly_the_defaults() {
        let parsed = Config::parse(DEFAULT_CONFIG, std::path::Path::new("default.toml")).unwrap();
        assert_eq!(parsed, Config::default());
        // Every commented-out example key parses too, once uncommented.
        let looks_like_toml = |rest: &str| {
            rest.starts_with('[')
                || rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        };
        let uncommented: String = DEFAULT_CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if looks_like_toml(rest) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        if let Err(e) = Config::parse(&uncommented, std::path::Path::new("examples.toml")) {
            panic!("{e}");
        }
    }
}

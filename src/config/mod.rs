//! Configuration: the TOML file, layered under command-line flags.

pub mod file;

pub use file::{Config, ConfigError, InputConfig};

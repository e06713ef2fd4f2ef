//! `malformed_burst`: the share of malformed lines among the last lines
//! of the whole input (checked where lines are counted, in `ingest.rs`).

use serde::{Deserialize, Serialize};

use super::non_negative;

/// A burst of malformed lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MalformedRule {
    pub enabled: bool,
    /// Lines in the rolling window.
    pub lines: u64,
    pub min_share: f64,
    pub min_count: u64,
}

impl Default for MalformedRule {
    fn default() -> Self {
        MalformedRule {
            enabled: true,
            lines: 1_000,
            min_share: 0.05,
            min_count: 20,
        }
    }
}

impl MalformedRule {
    /// Refuses settings no check could use.
    pub fn validate(&self) -> Result<(), String> {
        non_negative("malformed_burst.min_share", self.min_share)?;
        if self.lines == 0 {
            return Err("alerts.malformed_burst.lines must be at least 1".into());
        }
        Ok(())
    }
}

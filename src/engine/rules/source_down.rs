//! `source_down`: a source disconnected or silent for too long (checked
//! once a second from the sources' health, in `actions.rs`).

use serde::{Deserialize, Serialize};

/// A source that stopped delivering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceDownRule {
    pub enabled: bool,
    /// Seconds a source may be disconnected or silent before it alerts.
    pub after_secs: u64,
}

impl Default for SourceDownRule {
    fn default() -> Self {
        SourceDownRule {
            enabled: true,
            after_secs: 30,
        }
    }
}

impl SourceDownRule {
    /// Every value is usable (`after_secs = 0` alerts as soon as a source
    /// is down); here so that every rule is validated alike.
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

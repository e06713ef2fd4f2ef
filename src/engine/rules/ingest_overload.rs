//! `ingest_overload`: a source dropping lines because its queue was full,
//! i.e. the engine could not keep up (checked once a second from the
//! sources' drop counts, in `actions.rs`).

use serde::{Deserialize, Serialize};

/// A source dropping lines because the engine could not keep up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestOverloadRule {
    pub enabled: bool,
    /// Seconds without a further dropped line before the alert clears.
    pub clear_after_secs: u64,
}

impl Default for IngestOverloadRule {
    fn default() -> Self {
        IngestOverloadRule {
            enabled: true,
            clear_after_secs: 30,
        }
    }
}

impl IngestOverloadRule {
    /// Every value is usable (`clear_after_secs = 0` clears at the first
    /// quiet check); here so that every rule is validated alike.
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

//! What the engine knows of each source's health, for the time-based
//! rules (`source_down`, `ingest_overload`, `silence`) that `timed.rs`
//! checks.

use super::alert_log::RuleState;

/// Per-source health for the source-down and ingest-overload rules.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct SourceHealth {
    pub(super) down_since_ms: Option<i64>,
    pub(super) detail: String,
    pub(super) rule: RuleState,
    /// Lines the source dropped because the engine could not keep up.
    pub(super) dropped_overload: u64,
    /// When that count last grew.
    pub(super) last_drop_ms: Option<i64>,
    pub(super) overload_rule: RuleState,
    /// When the source last delivered a line (wall clock).
    pub(super) last_line_ms: Option<i64>,
    pub(super) silence_rule: RuleState,
}

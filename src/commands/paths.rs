//! Where modelwatch keeps its own files when nothing names them: the
//! per-user state directory (`$XDG_STATE_HOME/modelwatch`, else
//! `~/.local/state/modelwatch`; the platform's data directory where there
//! is no state directory). The same place whatever the working directory,
//! so `modelwatch trip` from cron and the dashboard share one audit log.

use std::path::PathBuf;

use etcetera::BaseStrategy;

/// The audit log's file name in the state directory.
const AUDIT_FILE: &str = "audit.jsonl";
/// Used when there is no home directory at all.
const FALLBACK_AUDIT_PATH: &str = "modelwatch-audit.jsonl";

/// `$XDG_STATE_HOME/modelwatch`, or `None` without a home directory.
pub fn state_dir() -> Option<PathBuf> {
    let base = etcetera::choose_base_strategy().ok()?;
    let dir = base.state_dir().unwrap_or_else(|| base.data_dir());
    Some(dir.join("modelwatch"))
}

/// The audit log when neither `--audit-log` nor `[audit] path` names one.
pub fn default_audit_path() -> PathBuf {
    state_dir()
        .map(|d| d.join(AUDIT_FILE))
        .unwrap_or_else(|| PathBuf::from(FALLBACK_AUDIT_PATH))
}

/// Creates the default audit log's directory durably (only that one: a
/// directory the operator named and mistyped should fail loudly, not
/// appear).
pub fn ensure_default_dir(path: &std::path::Path) -> std::io::Result<()> {
    if path != default_audit_path() {
        return Ok(());
    }
    crate::durable::create_dir_all(crate::durable::parent_dir(path))
}

//! Where modelwatch keeps its own files when nothing names them: the
//! per-user state directory (`$XDG_STATE_HOME/modelwatch`, else
//! `~/.local/state/modelwatch`; the platform's data directory where there
//! is no state directory). The same place whatever the working directory,
//! so `modelwatch trip` from cron and the dashboard share one audit log.

use std::path::PathBuf;

use etcetera::BaseStrategy;

use crate::cli::AuditLogFlag;
use crate::config::Config;

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

/// Where the audit log's path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFrom {
    Flag,
    Config,
    Default,
}

impl AuditFrom {
    /// How `config --paths` says it.
    pub fn describe(self) -> &'static str {
        match self {
            AuditFrom::Flag => "from --audit-log",
            AuditFrom::Config => "from [audit] path",
            AuditFrom::Default => "default; --audit-log or [audit] path change it",
        }
    }
}

/// The audit log's path: `--audit-log`, then `[audit] path`, then
/// `audit.jsonl` in the state directory. Touches nothing on disk.
pub fn audit_path(config: &Config, flag: &AuditLogFlag) -> (PathBuf, AuditFrom) {
    if let Some(p) = &flag.file {
        return (p.clone(), AuditFrom::Flag);
    }
    if let Some(p) = &config.audit.path {
        return (p.clone(), AuditFrom::Config);
    }
    let default = state_dir()
        .map(|d| d.join(AUDIT_FILE))
        .unwrap_or_else(|| PathBuf::from(FALLBACK_AUDIT_PATH));
    (default, AuditFrom::Default)
}

/// [`audit_path`] for a command about to open the log: the default's
/// directory is created (durably). Only the default's: a directory the
/// operator named and mistyped should fail loudly when the log is opened,
/// not appear.
pub fn audit_path_to_open(config: &Config, flag: &AuditLogFlag) -> PathBuf {
    let (path, from) = audit_path(config, flag);
    if from == AuditFrom::Default
        && let Err(e) = crate::durable::create_dir_all(crate::durable::parent_dir(&path))
    {
        tracing::warn!(path = %path.display(), "cannot create the audit log's directory: {e}");
    }
    path
}

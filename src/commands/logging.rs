//! Logs go to a file, never to the screen: `$XDG_STATE_HOME/modelwatch/
//! modelwatch.log` (or `MODELWATCH_LOG_FILE`), level from `MODELWATCH_LOG`
//! (default `info`).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where the log goes.
pub fn log_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MODELWATCH_LOG_FILE") {
        return Some(PathBuf::from(p));
    }
    Some(super::paths::state_dir()?.join("modelwatch.log"))
}

/// Starts logging to the file; logs are dropped (not shown) if it cannot
/// be opened. Keep the guard alive for the whole run: it flushes on drop.
pub fn init() -> Option<WorkerGuard> {
    let path = log_path()?;
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(level())
        .try_init()
        .ok()?;
    Some(guard)
}

/// The level: `MODELWATCH_LOG` (an `EnvFilter`), default `info`.
pub(super) fn level() -> EnvFilter {
    EnvFilter::try_from_env("MODELWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

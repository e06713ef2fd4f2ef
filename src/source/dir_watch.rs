//! Watching the directories of a followed file with inotify (through
//! `notify`): which changes wake the follower, and which do not.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

/// What the follower wants watched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct WatchWant {
    pub(super) dirs: Vec<PathBuf>,
    pub(super) paths: Vec<PathBuf>,
    /// Rotated files are open: changes to any file in the directories matter.
    pub(super) any: bool,
}

/// inotify on the directories; wakes the task on changes that matter.
pub(super) struct DirWatcher {
    watcher: RecommendedWatcher,
    filter: Arc<Mutex<WatchWant>>,
    /// Set when a watched directory went away.
    stale: Arc<AtomicBool>,
    dirs: Vec<PathBuf>,
}

impl DirWatcher {
    pub(super) fn new(wake: Arc<Notify>) -> notify::Result<DirWatcher> {
        let filter = Arc::new(Mutex::new(WatchWant::default()));
        let stale = Arc::new(AtomicBool::new(false));
        let (shared, gone) = (Arc::clone(&filter), Arc::clone(&stale));
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let matters = match &event {
                Err(_) => true,
                Ok(event) => match shared.lock() {
                    Ok(want) => {
                        // A watched directory removed or moved: its watch
                        // is dead even if a new one appears under the name.
                        let dir_gone = matches!(
                            event.kind,
                            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                        ) && event.paths.iter().any(|p| want.dirs.contains(p));
                        if dir_gone {
                            gone.store(true, Ordering::Relaxed);
                        }
                        event_matters(event, &want)
                    }
                    Err(_) => true,
                },
            };
            if matters {
                wake.notify_one();
            }
        })?;
        Ok(DirWatcher {
            watcher,
            filter,
            stale,
            dirs: Vec::new(),
        })
    }

    /// Watches what `want` names; returns whether the directories changed.
    pub(super) fn update(&mut self, want: &WatchWant) -> notify::Result<bool> {
        if let Ok(mut filter) = self.filter.lock() {
            filter.clone_from(want);
        }
        if self.stale.swap(false, Ordering::Relaxed) {
            for dir in std::mem::take(&mut self.dirs) {
                let _ = self.watcher.unwatch(&dir);
            }
        }
        if want.dirs == self.dirs {
            return Ok(false);
        }
        for dir in &self.dirs {
            if !want.dirs.contains(dir) {
                let _ = self.watcher.unwatch(dir);
            }
        }
        for dir in &want.dirs {
            if !self.dirs.contains(dir) {
                self.watcher.watch(dir, RecursiveMode::NonRecursive)?;
            }
        }
        self.dirs.clone_from(&want.dirs);
        Ok(true)
    }
}

/// Writes to other files of a busy directory do not wake the follower
/// (unless rotated files, whose new names are unknown, are open); names
/// appearing, moving or vanishing always do.
fn event_matters(event: &notify::Event, want: &WatchWant) -> bool {
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_) | ModifyKind::Any) => {
            want.any || event.paths.iter().any(|p| want.paths.contains(p))
        }
        _ => true,
    }
}

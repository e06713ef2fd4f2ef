//! Flag file: JSON written atomically (temp file in the same directory,
//! write, fsync, rename, fsync of the directory), so no reader ever sees
//! half a file.
//!
//! One file may serve several models (a path without `{model}`): it holds
//! the set of tripped models, and one model's reset takes only that model
//! out; the file goes (or says `armed`) only when the set is empty. The
//! read-modify-write runs under an exclusive lock on the directory, so
//! processes sharing the file cannot lose each other's trips. Content:
//! `{"state":"tripped"|"armed","tripped":[MODEL,..],"model":..,
//! "operator":..,"reason":..,"time":..,"request_id":..}`, where `tripped`
//! is the set and the other fields describe the last change. A model is
//! stopped while the file exists and names it in `tripped`.
//!
//! The actuator replaces only what it wrote: a path that is a symlink, a
//! device, a FIFO, a directory, or a regular file that is not a flag file
//! is refused (NOT CONFIRMED, naming why).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decision::kill_request::KillAction;
use crate::decision::settings::{FlagFileSpec, OnReset};
use crate::decision::template::{Values, file_safe};
use crate::durable::{parent_dir, sync_dir, write_atomically};

/// Largest flag file read back (the set of tripped models included).
const MAX_FLAG_BYTES: u64 = 4 << 20;

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Flag {
    state: String,
    /// Tripped models, sorted. Files written before the set existed have
    /// none: then `model` is the set when `state` is `tripped`.
    #[serde(default)]
    tripped: Option<BTreeSet<String>>,
    #[serde(default)]
    model: String,
    #[serde(default)]
    operator: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    request_id: String,
}

impl Flag {
    fn tripped_set(&self) -> BTreeSet<String> {
        match &self.tripped {
            Some(set) => set.clone(),
            None if self.state == "tripped" => BTreeSet::from([self.model.clone()]),
            None => BTreeSet::new(),
        }
    }
}

/// The flag file for `model`: `{model}` in the path is replaced by a
/// file-name-safe form of it (see [`file_safe`]: distinct names always
/// give distinct files).
pub(crate) fn path_for(spec: &FlagFileSpec, model: &str) -> PathBuf {
    match spec.path.to_str() {
        Some(p) if p.contains("{model}") => PathBuf::from(p.replace("{model}", &file_safe(model))),
        _ => spec.path.clone(),
    }
}

pub(super) fn describe(spec: &FlagFileSpec, model: &str, action: KillAction) -> String {
    let path = path_for(spec, model);
    let shared = path == spec.path;
    match (action, shared, spec.on_reset) {
        (KillAction::Trip, false, _) => format!("flag file {}: write tripped", path.display()),
        (KillAction::Trip, true, _) => {
            format!("flag file {}: add to the tripped models", path.display())
        }
        (KillAction::Reset, false, OnReset::Remove) => {
            format!("flag file {}: remove", path.display())
        }
        (KillAction::Reset, false, OnReset::Armed) => {
            format!("flag file {}: write armed", path.display())
        }
        (KillAction::Reset, true, _) => format!(
            "flag file {}: take out of the tripped models (others stay stopped)",
            path.display()
        ),
    }
}

pub(super) async fn run(
    spec: &FlagFileSpec,
    action: KillAction,
    values: &Values<'_>,
) -> Result<String, String> {
    let path = path_for(spec, values.model);
    let change = Flag {
        state: values.state.to_owned(),
        tripped: None,
        model: values.model.to_owned(),
        operator: values.operator.to_owned(),
        reason: values.reason.to_owned(),
        time: values.time.to_owned(),
        request_id: values.request_id.to_owned(),
    };
    let on_reset = spec.on_reset;
    super::blocking(spec.timeout, "flag file", move || {
        let _lock = lock_dir(&path)?;
        apply(&path, action, on_reset, change)
    })
    .await
}

/// The models the flag file at `path` names as stopped (none when it is
/// absent); `None` when it cannot be read as a flag file.
pub(crate) fn tripped_models(path: &Path) -> Option<BTreeSet<String>> {
    match read_flag(path) {
        Ok(Some(flag)) => Some(flag.tripped_set()),
        Ok(None) => Some(BTreeSet::new()),
        Err(_) => None,
    }
}

/// Reads the set, changes it, and writes (or removes) the file.
fn apply(
    path: &Path,
    action: KillAction,
    on_reset: OnReset,
    change: Flag,
) -> Result<String, String> {
    let current = read_flag(path)?;
    let mut set = current.as_ref().map(Flag::tripped_set).unwrap_or_default();
    match action {
        KillAction::Trip => {
            set.insert(change.model.clone());
        }
        KillAction::Reset => {
            set.remove(&change.model);
        }
    }
    let others = set.iter().filter(|m| **m != change.model).count();
    if set.is_empty() && on_reset == OnReset::Remove {
        return remove_durably(path, current.is_some());
    }
    let flag = Flag {
        state: if set.is_empty() { "armed" } else { "tripped" }.into(),
        tripped: Some(set),
        ..change
    };
    // Model servers' operators read it with cat: escaped like all JSON output.
    let mut content = crate::record::safe_json::to_string(&flag).map_err(|e| e.to_string())?;
    content.push('\n');
    write_atomically(path, content.as_bytes())?;
    let also = if others > 0 {
        format!("; {others} other model(s) still tripped in it")
    } else {
        String::new()
    };
    Ok(format!(
        "{} written ({}){also}",
        path.display(),
        action.target_state()
    ))
}

/// The flag file at `path`: `None` when absent; an error when something
/// else is there (never replaced).
fn read_flag(path: &Path) -> Result<Option<Flag>, String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    };
    let ft = meta.file_type();
    let what = if ft.is_symlink() {
        "a symlink"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        ""
    };
    if !what.is_empty() {
        return Err(format!(
            "{} is {what}, not a flag file; refusing to replace it",
            path.display()
        ));
    }
    let not_ours = || {
        format!(
            "{} exists and is not a modelwatch flag file; refusing to replace it",
            path.display()
        )
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FLAG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_FLAG_BYTES {
        return Err(not_ours());
    }
    let flag: Flag = serde_json::from_slice(&bytes).map_err(|_| not_ours())?;
    if !matches!(flag.state.as_str(), "tripped" | "armed") {
        return Err(not_ours());
    }
    Ok(Some(flag))
}

/// Held while a flag file in the directory is read and replaced.
struct DirLock(File);

fn lock_dir(path: &Path) -> Result<DirLock, String> {
    let dir = parent_dir(path);
    let file = File::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    // Blocking: the caller's timeout bounds the wait (other holders only
    // read and replace a small file).
    fs4::FileExt::lock(&file).map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    Ok(DirLock(file))
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.0);
    }
}

fn remove_durably(path: &Path, existed: bool) -> Result<String, String> {
    if existed {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
        }
    }
    sync_dir(path).map_err(|e| format!("cannot sync the directory of {}: {e}", path.display()))?;
    Ok(if existed {
        format!("{} removed", path.display())
    } else {
        format!("{} already absent", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(path: PathBuf) -> FlagFileSpec {
        FlagFileSpec {
            path,
            on_reset: OnReset::Remove,
            timeout: Duration::from_secs(2),
        }
    }

    fn values<'a>(model: &'a str, state: &'a str) -> Values<'a> {
        Values {
            model,
            state,
            reason: "r",
            request_id: "id",
            operator: "op",
            time: "t",
        }
    }

    async fn act(spec: &FlagFileSpec, action: KillAction, model: &str) -> Result<String, String> {
        run(spec, action, &values(model, action.target_state())).await
    }

    #[tokio::test]
    async fn a_shared_file_keeps_every_tripped_model_until_the_last_reset() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path().join("stop"));
        act(&s, KillAction::Trip, "a").await.unwrap();
        act(&s, KillAction::Trip, "b").await.unwrap();
        act(&s, KillAction::Trip, "b").await.unwrap();
        let out = act(&s, KillAction::Reset, "b").await.unwrap();
        assert!(out.contains("1 other model(s) still tripped"), "{out}");
        assert_eq!(tripped_models(&s.path), Some(BTreeSet::from(["a".into()])));
        let text = fs::read_to_string(&s.path).unwrap();
        assert!(
            text.starts_with(r#"{"state":"tripped","tripped":["a"],"model":"b""#),
            "{text}"
        );
        act(&s, KillAction::Reset, "a").await.unwrap();
        assert!(!s.path.exists());
        assert_eq!(tripped_models(&s.path), Some(BTreeSet::new()));
    }

    #[tokio::test]
    async fn anything_but_a_flag_file_at_the_path_is_refused_and_left_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = act(&spec(link.clone()), KillAction::Trip, "m")
            .await
            .unwrap_err();
        assert!(e.contains("is a symlink"), "{e}");
        let e = act(&spec(target.clone()), KillAction::Trip, "m")
            .await
            .unwrap_err();
        assert!(e.contains("not a modelwatch flag file"), "{e}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = act(&spec(fifo.clone()), KillAction::Trip, "m")
            .await
            .unwrap_err();
        assert!(e.contains("is a FIFO"), "{e}");
        let e = act(&spec(dir.path().to_path_buf()), KillAction::Trip, "m")
            .await
            .unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let e = act(&spec("/dev/null".into()), KillAction::Trip, "m")
            .await
            .unwrap_err();
        assert!(e.contains("is a device"), "{e}");
        // A file it wrote is world-readable, for the model servers.
        let ok = spec(dir.path().join("flag"));
        act(&ok, KillAction::Trip, "m").await.unwrap();
        let mode = fs::metadata(&ok.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}

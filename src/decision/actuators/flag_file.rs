//! Flag file: JSON written atomically (temp file in the same directory,
//! write, fsync, rename, fsync of the directory), so no reader ever sees
//! half a file; a reset removes it or writes `"state":"armed"`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::decision::kill_switch::KillAction;
use crate::decision::settings::{FlagFileSpec, OnReset};
use crate::decision::template::{Values, file_safe};
use crate::durable::{sync_dir, write_atomically};

/// The flag file for `model`: `{model}` in the path is replaced by a
/// file-name-safe form of it.
pub(crate) fn path_for(spec: &FlagFileSpec, model: &str) -> PathBuf {
    match spec.path.to_str() {
        Some(p) if p.contains("{model}") => PathBuf::from(p.replace("{model}", &file_safe(model))),
        _ => spec.path.clone(),
    }
}

pub(super) fn describe(spec: &FlagFileSpec, model: &str, action: KillAction) -> String {
    let path = path_for(spec, model);
    match (action, spec.on_reset) {
        (KillAction::Reset, OnReset::Remove) => format!("flag file {}: remove", path.display()),
        _ => format!(
            "flag file {}: write state {} atomically",
            path.display(),
            action.target_state()
        ),
    }
}

pub(super) async fn run(
    spec: &FlagFileSpec,
    action: KillAction,
    values: &Values<'_>,
) -> Result<String, String> {
    let path = path_for(spec, values.model);
    let remove = action == KillAction::Reset && spec.on_reset == OnReset::Remove;
    let mut content = serde_json::json!({
        "state": values.state,
        "model": values.model,
        "operator": values.operator,
        "reason": values.reason,
        "time": values.time,
        "request_id": values.request_id,
    })
    .to_string();
    content.push('\n');
    super::blocking(spec.timeout, "flag file", move || {
        if remove {
            remove_durably(&path)
        } else {
            write_atomically(&path, content.as_bytes())
                .map(|()| format!("{} written ({})", path.display(), action.target_state()))
        }
    })
    .await
}

fn remove_durably(path: &Path) -> Result<String, String> {
    let existed = match fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
    };
    sync_dir(path).map_err(|e| format!("cannot sync the directory of {}: {e}", path.display()))?;
    Ok(if existed {
        format!("{} removed", path.display())
    } else {
        format!("{} already absent", path.display())
    })
}

//! Command: a program run directly (argv, no shell); exit 0 confirms. A
//! child still running at the timeout is killed.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::decision::kill_request::KillAction;
use crate::decision::settings::CommandSpec;
use crate::decision::template::{Values, fill_argv};
use crate::record::sanitize::escape_untrusted;

/// Most bytes of the child's stderr kept for the failure message.
const STDERR_KEPT: usize = 2048;
/// How long to wait for stderr to close after the child ended (a
/// grandchild may still hold it).
const STDERR_WAIT: Duration = Duration::from_millis(200);

pub(super) fn describe(spec: &CommandSpec, model: &str, action: KillAction) -> String {
    let values = Values {
        model,
        state: action.target_state(),
        reason: "{reason}",
        request_id: "{request_id}",
        operator: "{operator}",
        time: "{time}",
    };
    let argv: Vec<String> = fill_argv(&spec.argv, &values)
        .iter()
        .map(|a| escape_untrusted(a).into_owned())
        .collect();
    format!(
        "command {}: exit 0 within {}",
        argv.join(" "),
        super::show(spec.timeout)
    )
}

pub(super) async fn run(spec: &CommandSpec, values: &Values<'_>) -> Result<String, String> {
    let argv = fill_argv(&spec.argv, values);
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(values.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", escape_untrusted(&argv[0])))?;
    let stderr = child.stderr.take().map(|mut err| {
        tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            // Keep reading past the bound so the child never blocks on a full pipe.
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            kept
        })
    });
    let status = match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(format!("cannot wait for the command: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "timed out after {}; killed",
                super::show(spec.timeout)
            ))
        }
    };
    let mut stderr_tail = String::new();
    if let Some(mut task) = stderr {
        if matches!(&status, Ok(s) if !s.success())
            && let Ok(Ok(bytes)) = tokio::time::timeout(STDERR_WAIT, &mut task).await
        {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                stderr_tail = format!(": {}", escape_untrusted(last.trim()));
            }
        }
        // A grandchild may hold the pipe open: do not leave a reader behind.
        task.abort();
    }
    let status = status?;
    if status.success() {
        return Ok("exit 0".into());
    }
    let why = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => format!("{status}"),
    };
    Err(format!("{why}{stderr_tail}"))
}

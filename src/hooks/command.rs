//! A command delivery: the program run directly (argv as configured, no
//! shell, nothing from the alert in the arguments), the transition as one
//! JSON line on its stdin and in `MODELWATCH_ALERT_*` variables; exit 0
//! delivers it. A child still running at the timeout is killed.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::Failure;
use super::event::{HookEvent, transition_name};
use crate::record::sanitize::escape_untrusted;

/// Prefix of the variables a command is given (never read as config keys).
pub const ALERT_ENV_PREFIX: &str = "MODELWATCH_ALERT_";

#[derive(Debug)]
pub struct CommandHook {
    argv: Vec<String>,
    timeout: Duration,
}

impl CommandHook {
    pub fn new(argv: Vec<String>, timeout: Duration) -> Self {
        CommandHook { argv, timeout }
    }

    /// The program as it may be shown.
    pub fn shown(&self) -> String {
        escape_untrusted(&self.argv[0]).into_owned()
    }

    pub async fn run(&self, event: &HookEvent) -> Result<String, Failure> {
        let mut child = tokio::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .envs(env(event))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Failure::refused(format!("cannot run {}: {e}", self.shown())))?;
        let stdin = child.stdin.take();
        let line = [event.json.as_slice(), b"\n"].concat();
        let exchange = async {
            if let Some(mut stdin) = stdin {
                // A child that does not read its input is not waited on for
                // it: a broken pipe is its business, its exit status says.
                let _ = stdin.write_all(&line).await;
            }
            child.wait().await
        };
        let status = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return Err(Failure::retry(format!("cannot wait for the command: {e}"))),
            Err(_) => {
                let _ = child.kill().await;
                return Err(Failure::retry(format!(
                    "timed out after {}; killed",
                    humantime::format_duration(self.timeout)
                )));
            }
        };
        if status.success() {
            return Ok("exit 0".into());
        }
        Err(Failure::retry(match status.code() {
            Some(code) => format!("exit status {code}"),
            None => status.to_string(),
        }))
    }
}

/// The transition as variables (a NUL, which no variable can hold, is
/// replaced).
fn env(e: &HookEvent) -> [(String, String); 5] {
    let var = |name: &str| format!("{ALERT_ENV_PREFIX}{name}");
    [
        (var("STATE"), transition_name(e.transition).to_string()),
        (var("KIND"), e.kind.as_str().to_string()),
        (var("SEVERITY"), e.severity.as_str().to_string()),
        (var("ID"), e.alert_id.to_string()),
        (
            var("MODEL"),
            e.model.as_deref().unwrap_or("").replace('\0', "\u{fffd}"),
        ),
    ]
}

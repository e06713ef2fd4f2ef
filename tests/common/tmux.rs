//! A tmux server of the test's own, to drive the real binary in a real
//! pseudo-terminal (`send-keys`) and read its screen (`capture-pane`).

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use super::wait_until;

/// A tmux server of our own (unique socket), killed on drop even when the
/// test fails.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new() -> Tmux {
        match Command::new("tmux").arg("-V").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "tmux is required for the terminal UI test and was not found \
                 (install it: apt-get install -y tmux)"
            ),
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Tmux {
            socket: format!("modelwatch-test-{}-{nanos}", std::process::id()),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        // The server passes its environment to the programs it starts:
        // none of the developer's configuration.
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/modelwatch-tests");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MODELWATCH_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Starts `script` (run by sh) in a detached session of a fixed size.
    pub fn start(&self, session: &str, script: &str) {
        let out = self.run(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "40",
            "sh",
            "-c",
            script,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
    }

    pub fn screen(&self, session: &str) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, session: &str, keys: &str) {
        let out = self.run(&["send-keys", "-t", session, keys]);
        assert!(out.status.success(), "tmux send-keys: {out:?}");
    }

    /// Types `text` as it is (no key names).
    pub fn type_text(&self, session: &str, text: &str) {
        let out = self.run(&["send-keys", "-t", session, "-l", text]);
        assert!(out.status.success(), "tmux send-keys -l: {out:?}");
    }

    /// Pastes `text` as a terminal does with bracketed paste on.
    pub fn paste(&self, session: &str, text: &str) {
        let set = self.run(&["set-buffer", text]);
        assert!(set.status.success(), "tmux set-buffer: {set:?}");
        let pasted = self.run(&["paste-buffer", "-p", "-t", session]);
        assert!(pasted.status.success(), "tmux paste-buffer: {pasted:?}");
    }

    /// Captures the screen until `ok` holds (at most `limit`); panics
    /// naming `what` and showing the last screen.
    pub fn wait_screen(
        &self,
        session: &str,
        what: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let last = RefCell::new(String::new());
        let described = LastScreen { what, last: &last };
        wait_until(described, limit, || {
            let screen = self.screen(session);
            let reached = ok(&screen).then(|| screen.clone());
            *last.borrow_mut() = screen;
            reached
        })
    }
}

/// A wait's name and the screen last captured.
struct LastScreen<'a> {
    what: &'a str,
    last: &'a RefCell<String>,
}

impl fmt::Display for LastScreen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; the screen:\n{}", self.what, self.last.borrow())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The `EXIT=N` line a shell wrote to `path` once the command it ran
/// ended (at most `limit`).
pub fn exit_status(what: &str, path: &Path, limit: Duration) -> String {
    wait_until(what, limit, || {
        std::fs::read_to_string(path)
            .ok()
            .filter(|s| s.ends_with('\n'))
    })
}

/// The records written so far (a line being written is skipped).
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Whether the status bar counts lines read: the dashboard has drawn past
/// its first frame. A key sent at the first frame can be lost, so tests
/// wait for this before their first key.
pub fn lines_flowing(screen: &str) -> bool {
    screen
        .split("following ")
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit() && c != '0'))
}

pub fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    assert!(!s.contains('\''), "temp path with a quote: {s}");
    format!("'{s}'")
}

//! A tmux server of the test's own, to drive the real binary in a real
//! pseudo-terminal (`send-keys`) and read its screen (`capture-pane`).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

    /// Polls the screen until `ok` holds (at most `limit`).
    pub fn wait_screen(
        &self,
        session: &str,
        what: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(session);
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Polls until `ok` returns a value (at most `limit`).
pub fn wait_for<T>(what: &str, limit: Duration, mut ok: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = ok() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `EXIT=N` line a shell wrote to `path` once the command it ran
/// ended (at most `limit`).
pub fn exit_status(what: &str, path: &Path, limit: Duration) -> String {
    wait_for(what, limit, || {
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

pub fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    assert!(!s.contains('\''), "temp path with a quote: {s}");
    format!("'{s}'")
}

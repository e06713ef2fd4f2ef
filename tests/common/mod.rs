//! Shared by the integration tests: the real binary blind to the
//! developer's configuration, bounded waits, and (by concern) tmux,
//! `--no-tui`, TLS and websocket servers, nats-server clusters, and source
//! event collection.
#![allow(dead_code)]

pub mod drift;
pub mod events;
pub mod http_hook;
pub mod nats;
pub mod no_tui;
pub mod open_files;
pub mod tls;
pub mod tmux;
pub mod ws_server;
pub mod xorshift;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The real binary, blind to the developer's own configuration: no
/// config file and no `MODELWATCH_*` variables unless a test sets them.
pub fn modelwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_modelwatch"));
    c.env_remove("RUST_LOG")
        .env("XDG_CONFIG_HOME", "/nonexistent/modelwatch-tests")
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MODELWATCH_") {
            c.env_remove(name);
        }
    }
    c
}

/// Runs to completion, killed after `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    finish(child, limit)
}

/// Waits for a child at most `limit` (then kills it and panics), reading
/// its output meanwhile: a child writing more than a pipe holds never
/// blocks on a reader that waits for it to exit.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    use std::io::Read;
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut p) = pipe {
                p.read_to_end(&mut out).expect("read the child's output");
            }
            out
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait(&mut child, limit);
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Waits for a child at most `limit` (then kills it and panics).
pub fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let guard = KilledWhenDropped(child);
    wait_until("the child to exit", limit, || {
        guard.0.try_wait().expect("wait")
    })
}

/// Kills and reaps a child still running when dropped (by a panic at a
/// wait's deadline); one that exited is left as it is.
pub struct KilledWhenDropped<'a>(pub &'a mut Child);

impl Drop for KilledWhenDropped<'_> {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// What a polled condition yields: `bool` (nothing) or `Option<T>` (a
/// value the caller needs).
pub trait Reached {
    type Value;
    fn reached(self) -> Option<Self::Value>;
}

impl Reached for bool {
    type Value = ();
    fn reached(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Reached for Option<T> {
    type Value = T;
    fn reached(self) -> Option<T> {
        self
    }
}

/// Polls `condition` until it holds, for at most `limit`, then panics
/// naming `what` (formatted only then, so it may describe the state at
/// the deadline). Polls fast at first and then every 50 ms at most, so a
/// quick event is seen at once and a slow one costs little CPU.
pub fn wait_until<R: Reached>(
    what: impl std::fmt::Display,
    limit: Duration,
    mut condition: impl FnMut() -> R,
) -> R::Value {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(value) = condition().reached() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Says that a test is skipped and why, straight to stderr (the harness
/// captures `eprintln!` of passing tests, not this), so a skip is never a
/// silent pass.
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// The python with the test tooling, from `MW_TEST_PYTHON`; `None` when
/// `MW_SKIP_PYTHON_TESTS` is set (the skip is written to the terminal).
pub fn test_python(test: &str) -> Option<std::path::PathBuf> {
    if let Some(python) = std::env::var_os("MW_TEST_PYTHON") {
        return Some(python.into());
    }
    if std::env::var_os("MW_SKIP_PYTHON_TESTS").is_some() {
        skip(&format!("{test}: MW_SKIP_PYTHON_TESTS is set"));
        return None;
    }
    panic!(
        "MW_TEST_PYTHON is not set: run .ci/run (it makes the test venv), or point it at a \
         python with the packages of .ci/test-requirements.txt, or set MW_SKIP_PYTHON_TESTS=1 \
         to skip this test"
    );
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The records of a log as JSON values.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

/// Whether writes are refused by permissions here (not as root).
pub fn permissions_bite(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o555)).unwrap();
    let refused = std::fs::write(probe.join("x"), b"x").is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_dir_all(&probe);
    refused
}

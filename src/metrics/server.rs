//! The `/metrics` endpoint: a minimal HTTP/1.1 server on tasks of its own.
//! Every connection answers one request and closes. What a client can
//! hold is bounded: a few connections at once (more are closed at once),
//! a request head of at most 8 KiB, and a few seconds for the whole
//! exchange — a client that never sends or never reads is cut off then, and
//! nothing it does reaches the session, which only swaps the board's
//! figures once a second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 8;
/// Longest request head read.
const MAX_HEAD: usize = 8 << 10;
/// Time for a whole exchange, from accepting to the last byte written.
const EXCHANGE: Duration = Duration::from_secs(5);

/// The server, stopped when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MetricsServer {
    /// Listens on `addr` (inside a runtime); an address that cannot be
    /// bound is an error naming it.
    pub async fn start(addr: &str, registry: Registry) -> Result<MetricsServer, String> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("--metrics-addr {addr}: cannot listen: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
        tracing::info!(addr = %bound, "metrics served at /metrics");
        let registry = Arc::new(registry);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors and the like: pause, not spin.
                        tracing::warn!(error = %e, "metrics: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::debug!(%peer, "metrics: too many connections; closed");
                    continue;
                };
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    if tokio::time::timeout(EXCHANGE, serve(stream, &registry))
                        .await
                        .is_err()
                    {
                        tracing::debug!(%peer, "metrics: exchange took too long; closed");
                    }
                    drop(slot);
                });
            }
        });
        Ok(MetricsServer { addr: bound, task })
    }
}

async fn serve(mut stream: TcpStream, registry: &Registry) {
    let response = match read_head(&mut stream).await {
        Some(head) => respond(&head, registry),
        None => reply(400, "text/plain", "bad request\n", false),
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// Reads up to the end of the request head; `None` when it is longer
/// than [`MAX_HEAD`] or the client stopped first.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Some(head);
        }
        if head.len() > MAX_HEAD {
            return None;
        }
    }
}

/// The answer to a request head.
fn respond(head: &[u8], registry: &Registry) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = super::encode::text(registry);
            reply(200, CONTENT_TYPE, &body, method == "HEAD")
        }
        ("GET" | "HEAD", _) => reply(
            404,
            "text/plain",
            "not found: metrics are at /metrics\n",
            method == "HEAD",
        ),
        _ => reply(405, "text/plain", "only GET and HEAD\n", false),
    }
}

fn reply(status: u16, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_answered_by_path_and_method() {
        let registry = Registry::default();
        let text = |r: Vec<u8>| String::from_utf8(r).unwrap();
        let ok = text(respond(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
            &registry,
        ));
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("Content-Type: text/plain; version=0.0.4"),
            "{ok}"
        );
        let head = text(respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", &registry));
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        assert!(text(respond(b"GET / HTTP/1.1\r\n\r\n", &registry)).starts_with("HTTP/1.1 404"));
        let post = text(respond(b"POST /metrics HTTP/1.1\r\n\r\n", &registry));
        assert!(
            post.starts_with("HTTP/1.1 405") && post.contains("Allow: GET, HEAD"),
            "{post}"
        );
        assert!(text(respond(b"\xff\xfe garbage", &registry)).starts_with("HTTP/1.1 405"));
    }
}

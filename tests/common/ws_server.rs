//! A tokio-tungstenite websocket server on loopback for the source tests,
//! and the source options and start-up they share.
// tungstenite's handshake callback returns its large error type by value.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use modelwatch::source::settings::{SourcesConfig, WebSocketSettings};
use modelwatch::source::{SourceOptions, SourceSet, SourceSpec};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, StatusCode};

use super::events::{Collector, prediction, start_one};

pub type Ws = WebSocketStream<TcpStream>;

pub fn ms(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).expect("nonzero")
}

/// Fast reconnects and pings, so each test takes a second or two.
pub fn options() -> SourceOptions {
    SourceOptions {
        max_line_bytes: 1000,
        settings: SourcesConfig {
            websocket: WebSocketSettings {
                reconnect_initial_ms: ms(100),
                reconnect_max_ms: ms(1000),
                ..WebSocketSettings::default()
            },
            ..SourcesConfig::default()
        },
        ..SourceOptions::default()
    }
}

/// A websocket server: `handler(connection number from 1, socket)` runs
/// for each connection; `reject` answers the handshake with that status.
pub struct Server {
    pub addr: SocketAddr,
    /// TCP connections accepted (handshake attempts).
    pub attempts: Arc<AtomicUsize>,
    /// Headers of the last handshake.
    pub headers: Arc<Mutex<HeaderMap>>,
    task: JoinHandle<()>,
}

impl Server {
    pub async fn start<F, Fut>(addr: SocketAddr, reject: Option<StatusCode>, handler: F) -> Server
    where
        F: Fn(usize, Ws) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let attempts = Arc::new(AtomicUsize::new(0));
        let headers = Arc::new(Mutex::new(HeaderMap::new()));
        let (count, seen_headers) = (Arc::clone(&attempts), Arc::clone(&headers));
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            // Owned here: aborting the server closes every connection too.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let (handler, seen_headers) = (Arc::clone(&handler), Arc::clone(&seen_headers));
                connections.spawn(async move {
                    let callback = |req: &Request, resp: Response| {
                        *seen_headers.lock().unwrap() = req.headers().clone();
                        match reject {
                            Some(status) => {
                                let mut refusal = ErrorResponse::new(Some("refused".into()));
                                *refusal.status_mut() = status;
                                Err(refusal)
                            }
                            None => Ok(resp),
                        }
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await {
                        handler(n, ws).await;
                    }
                });
            }
        });
        Server {
            addr,
            attempts,
            headers,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/stream", self.addr)
    }

    pub fn kill(self) -> SocketAddr {
        self.task.abort();
        self.addr
    }
}

pub fn any_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub async fn send_ids(ws: &mut Ws, ids: std::ops::Range<u64>) {
    for i in ids {
        ws.send(Message::text(prediction(i))).await.expect("send");
    }
}

/// Reads (answering pings) until the client goes away.
pub async fn drain(mut ws: Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}

pub fn start(url: &str, options: SourceOptions) -> (SourceSet, Collector) {
    start_one(SourceSpec::WebSocket(url.to_string()), options, 64)
}

//! A websocket source's connection and what it is built from, and the
//! control link that carries the kill switch's messages on it: shared by
//! the source set (which starts sources and hands out control handles),
//! the source's task and its inbound side.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::ws_setup::WsTarget;
use super::{SourceId, SourceOptions};
use crate::record::Parser;

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A configured websocket source.
pub(crate) struct WsSource {
    pub id: SourceId,
    pub target: WsTarget,
    pub options: Arc<SourceOptions>,
    pub parser: Arc<Parser>,
}

/// Sends with a time limit: a peer that stopped reading must not wedge the
/// source.
pub(super) async fn send(ws: &mut Ws, message: Message, limit: Duration) -> Result<(), String> {
    match timeout(limit, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err(format!("send blocked for {} ms", limit.as_millis())),
    }
}

/// A control message for a websocket source, with where to answer.
pub(crate) struct ControlRequest {
    pub message: String,
    pub request_id: String,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Sends control messages (the kill switch) on a websocket source's live
/// connection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ControlHandle {
    pub(super) tx: mpsc::Sender<ControlRequest>,
}

impl std::fmt::Debug for ControlRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlRequest")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl ControlHandle {
    /// Sends `message` (text) on the live connection and resolves when the
    /// server answers `{"type":"kill_switch_ack","request_id":request_id}`.
    /// Errors: not connected, connection lost, or no acknowledgement
    /// within `timeout`.
    pub async fn send_and_await_ack(
        &self,
        message: String,
        request_id: String,
        timeout: Duration,
    ) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest {
            message,
            request_id,
            reply,
        };
        let exchange = async {
            self.tx
                .send(request)
                .await
                .map_err(|_| "the websocket source has stopped".to_string())?;
            answer
                .await
                .unwrap_or_else(|_| Err("the websocket source has stopped".into()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no acknowledgement within {} ms",
                timeout.as_millis()
            )),
        }
    }
}

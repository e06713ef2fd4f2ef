//! The kill switch's control link over the watched websocket sources: the
//! control message goes to every websocket source at once, and the link
//! confirms only when every one of them acknowledged it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::decision::kill_request::ControlLink;
use crate::source::{ControlHandle, SourceSet};

/// Every websocket source's control handle.
#[derive(Debug, Clone, Default)]
pub struct WebSocketControl {
    handles: Vec<(String, ControlHandle)>,
}

impl WebSocketControl {
    /// The websocket sources of `set` (none when there are none: sending
    /// then fails with "no websocket source connected").
    pub fn from_set(set: Option<&SourceSet>) -> WebSocketControl {
        let handles = set
            .map(|set| {
                set.names()
                    .iter()
                    .enumerate()
                    .filter_map(|(id, name)| set.control(id).map(|h| (name.clone(), h)))
                    .collect()
            })
            .unwrap_or_default();
        WebSocketControl { handles }
    }

    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl ControlLink for WebSocketControl {
    fn send_and_await_ack(
        &self,
        message: String,
        request_id: String,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let handles = self.handles.clone();
        Box::pin(async move {
            if handles.is_empty() {
                return Err("no websocket source connected".into());
            }
            let sends = handles.iter().map(|(name, h)| {
                let (message, request_id) = (message.clone(), request_id.clone());
                async move {
                    h.send_and_await_ack(message, request_id, timeout)
                        .await
                        .map_err(|e| format!("{name}: {e}"))
                }
            });
            let failures: Vec<String> = futures_util::future::join_all(sends)
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect();
            if failures.is_empty() {
                Ok(())
            } else {
                Err(failures.join("; "))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_websocket_source_is_an_error() {
        let link = WebSocketControl::from_set(None);
        assert!(link.is_empty());
        let e = link
            .send_and_await_ack("{}".into(), "r1".into(), Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(e, "no websocket source connected");
    }
}

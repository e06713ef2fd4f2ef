//! Websocket: a control message on the watched websocket source,
//! confirmed by an ack carrying the request id. The session provides the
//! link ([`ControlLink`]); without one this actuator fails.

use std::sync::Arc;

use crate::decision::kill_request::{ControlLink, KillAction};
use crate::decision::settings::WebsocketSpec;
use crate::decision::template::Values;

pub(super) fn describe(spec: &WebsocketSpec, action: KillAction) -> String {
    format!(
        "websocket: send kill_switch {} on the websocket source, ack within {}",
        action.target_state(),
        super::show(spec.timeout)
    )
}

/// The control message for a request.
pub(crate) fn message(values: &Values<'_>) -> String {
    let message = serde_json::json!({
        "type": "kill_switch",
        "state": values.state,
        "model": values.model,
        "request_id": values.request_id,
    });
    crate::record::safe_json::to_string(&message).unwrap_or_default()
}

pub(super) async fn run(
    spec: &WebsocketSpec,
    values: &Values<'_>,
    control: Option<Arc<dyn ControlLink>>,
) -> Result<String, String> {
    let Some(link) = control else {
        return Err("no websocket source connected".into());
    };
    let ack = link.send_and_await_ack(message(values), values.request_id.to_owned(), spec.timeout);
    match tokio::time::timeout(spec.timeout, ack).await {
        Ok(Ok(())) => Ok(format!("ack {}", values.request_id)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("no ack within {}", super::show(spec.timeout))),
    }
}

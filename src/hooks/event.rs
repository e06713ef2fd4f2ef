//! One alert transition as the hooks deliver it, and its bodies: the
//! `--no-tui` alert line (format `json`, commands' stdin) and Alertmanager's
//! `POST /api/v2/alerts` array.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::engine::alerts::{Alert, AlertKind, Severity, Transition};
use crate::record::time::format_ms;
use crate::report::stream::alert_line;

/// A transition taken from the engine, owned so it can wait for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub alert_id: u64,
    pub transition: Transition,
    /// Whether the alert is still active after this transition (a change
    /// point fires already over: an event, never cleared).
    pub ongoing: bool,
    pub kind: AlertKind,
    pub severity: Severity,
    pub model: Option<String>,
    pub detail: String,
    /// Prediction index and event time, as in the alert line.
    pub index: u64,
    pub ts_ms: i64,
    /// Wall clock when the alert fired, and when this transition happened.
    pub fired_at_ms: i64,
    pub at_ms: i64,
    /// Unique per transition (process, alert, transition), for receivers
    /// that drop what they already have after a retry.
    pub delivery_id: String,
    /// The alert line with `at` and `delivery_id`.
    pub json: Vec<u8>,
}

impl HookEvent {
    pub fn new(
        transition: Transition,
        alert: &Alert,
        fired_at_ms: i64,
        at_ms: i64,
        instance: &str,
    ) -> HookEvent {
        // An alert is updated as often as names join it: each its own delivery.
        let delivery_id = match transition {
            Transition::Updated => format!("{instance}-{}-updated-{}", alert.id, alert.index),
            t => format!("{instance}-{}-{}", alert.id, transition_name(t)),
        };
        let pair = (transition, alert.clone());
        let mut line = serde_json::to_value(alert_line(&pair)).unwrap_or_default();
        if let Some(object) = line.as_object_mut() {
            object.insert("at".into(), format_ms(at_ms).into());
            object.insert("delivery_id".into(), delivery_id.clone().into());
        }
        let (index, ts_ms) = match transition {
            Transition::Cleared => (
                alert.cleared_index.unwrap_or(alert.index),
                alert.cleared_ts_ms.unwrap_or(alert.ts_ms),
            ),
            _ => (alert.index, alert.ts_ms),
        };
        HookEvent {
            alert_id: alert.id,
            transition,
            ongoing: alert.is_active(),
            kind: alert.kind,
            severity: alert.severity,
            model: alert.model.clone(),
            detail: alert.detail.clone(),
            index,
            ts_ms,
            fired_at_ms,
            at_ms,
            delivery_id,
            json: crate::record::safe_json::to_vec(&line).unwrap_or_default(),
        }
    }

    /// What it holds, for the queue's byte bound.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.detail.len()
            + self.model.as_ref().map_or(0, String::len)
            + self.delivery_id.len()
            + self.json.len()
    }
}

pub fn transition_name(t: Transition) -> &'static str {
    match t {
        Transition::Fired => "fired",
        Transition::Escalated => "escalated",
        Transition::Updated => "updated",
        Transition::Cleared => "cleared",
    }
}

/// One element of Alertmanager's alert array.
#[derive(Serialize)]
struct AmAlert<'a> {
    labels: BTreeMap<&'a str, &'a str>,
    annotations: BTreeMap<&'static str, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
}

/// Builds Alertmanager bodies for one hook.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    /// Labels added to every alert.
    pub labels: BTreeMap<String, String>,
    /// How often active alerts are sent again (zero: never).
    pub resend: Duration,
}

impl Alertmanager {
    /// The body delivering `event`: a firing alert, a resolved one, or
    /// for an escalation the warning resolved and the critical firing
    /// (severity is a label, so each is its own alert to Alertmanager).
    pub fn body(&self, event: &HookEvent) -> Vec<u8> {
        let alerts = match event.transition {
            // A feature or segment joined: the same alert, its annotations
            // updated.
            Transition::Fired | Transition::Updated => vec![self.firing(event, event.at_ms)],
            Transition::Cleared => vec![self.alert(event, event.severity, Some(event.at_ms))],
            Transition::Escalated => vec![
                self.alert(event, Severity::Warning, Some(event.at_ms)),
                self.firing(event, event.at_ms),
            ],
        };
        crate::record::safe_json::to_vec(&alerts).unwrap_or_default()
    }

    /// The body sending every active alert again at `now_ms`.
    pub fn resend_body(&self, active: &[&HookEvent], now_ms: i64) -> Vec<u8> {
        let alerts: Vec<AmAlert<'_>> = active.iter().map(|e| self.firing(e, now_ms)).collect();
        crate::record::safe_json::to_vec(&alerts).unwrap_or_default()
    }

    /// Still firing as of `now_ms`: `endsAt` four resends ahead, as
    /// Prometheus does, so an alert no longer sent (modelwatch stopped)
    /// resolves on its own.
    fn firing<'a>(&'a self, e: &'a HookEvent, now_ms: i64) -> AmAlert<'a> {
        let ends = (!self.resend.is_zero())
            .then(|| now_ms.saturating_add(4 * self.resend.as_millis() as i64));
        let mut alert = self.alert(e, e.severity, None);
        alert.ends_at = ends.map(format_ms);
        alert
    }

    fn alert<'a>(&'a self, e: &'a HookEvent, severity: Severity, ends: Option<i64>) -> AmAlert<'a> {
        let mut labels: BTreeMap<&str, &str> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        labels.insert("alertname", e.kind.as_str());
        labels.insert("severity", severity.as_str());
        if let Some(model) = &e.model {
            labels.insert("model", model);
        }
        let summary = match &e.model {
            Some(m) => format!("{} on {m}", e.kind.as_str()),
            None => format!("{} on the input", e.kind.as_str()),
        };
        let annotations = BTreeMap::from([
            ("summary", summary),
            ("description", e.detail.clone()),
            ("alert_id", e.alert_id.to_string()),
            ("index", e.index.to_string()),
            ("event_time", format_ms(e.ts_ms)),
        ]);
        AmAlert {
            labels,
            annotations,
            starts_at: format_ms(e.fired_at_ms),
            ends_at: ends.map(format_ms),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;

    /// An alert for hook tests (cleared, to be sent as either transition).
    pub(crate) fn alert(id: u64, severity: Severity, model: Option<&str>) -> Alert {
        Alert {
            id,
            model: model.map(str::to_string),
            kind: AlertKind::ConfidenceDrift,
            severity,
            direction: None,
            index: 900,
            ts_ms: 1_000,
            breaching_since: 850,
            detail: "confidence fell \u{1b}[31m".into(),
            names: None,
            cleared_index: Some(1_500),
            cleared_ts_ms: Some(2_000),
            acknowledged: false,
        }
    }

    #[test]
    fn the_json_body_is_the_alert_line_with_when_and_an_id() {
        let e = HookEvent::new(
            Transition::Cleared,
            &alert(7, Severity::Critical, Some("m\"1")),
            10_000,
            20_000,
            "p1",
        );
        let text = String::from_utf8(e.json.clone()).unwrap();
        assert!(text.contains("\\u001b[31m"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "alert");
        assert_eq!(v["state"], "cleared");
        assert_eq!(v["model"], "m\"1");
        assert_eq!(v["index"], 1_500);
        assert_eq!(v["at"], "1970-01-01T00:00:20.000Z");
        assert_eq!(v["delivery_id"], "p1-7-cleared");
        assert_eq!((e.index, e.ts_ms), (1_500, 2_000));
    }

    #[test]
    fn alertmanager_bodies_carry_labels_and_times() {
        let am = Alertmanager {
            labels: BTreeMap::from([("team".to_string(), "ml".to_string())]),
            resend: Duration::from_secs(60),
        };
        let fired = HookEvent::new(
            Transition::Fired,
            &alert(3, Severity::Warning, Some("m")),
            5_000,
            5_000,
            "p",
        );
        let v: Value = serde_json::from_slice(&am.body(&fired)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert_eq!(v[0]["labels"]["alertname"], "confidence_drift");
        assert_eq!(v[0]["labels"]["severity"], "warning");
        assert_eq!(v[0]["labels"]["model"], "m");
        assert_eq!(v[0]["labels"]["team"], "ml");
        assert_eq!(v[0]["startsAt"], "1970-01-01T00:00:05.000Z");
        assert_eq!(v[0]["endsAt"], "1970-01-01T00:04:05.000Z");
        assert_eq!(v[0]["annotations"]["alert_id"], "3");

        let escalated = HookEvent::new(
            Transition::Escalated,
            &alert(3, Severity::Critical, None),
            5_000,
            9_000,
            "p",
        );
        let v: Value = serde_json::from_slice(&am.body(&escalated)).unwrap();
        assert_eq!(v[0]["labels"]["severity"], "warning");
        assert_eq!(v[0]["endsAt"], "1970-01-01T00:00:09.000Z");
        assert_eq!(v[1]["labels"]["severity"], "critical");
        assert!(v[1]["labels"].get("model").is_none());
        assert_eq!(
            v[1]["annotations"]["summary"],
            "confidence_drift on the input"
        );

        let never = Alertmanager {
            labels: BTreeMap::new(),
            resend: Duration::ZERO,
        };
        let v: Value = serde_json::from_slice(&never.resend_body(&[&fired], 7_000)).unwrap();
        assert!(v[0].get("endsAt").is_none(), "{v}");
    }
}

//! What the session and the commands call: review decisions recorded
//! before they take effect, and kill-switch runs audited around the
//! actuators (request fsynced before any actuator runs, result after).

use std::sync::Mutex;

use super::audit::{AuditError, AuditLog};
use super::audit_record::{AuditAction, AuditEntry, AuditRecord, Shown};
use super::kill_request::{KillAction, KillRequest};
use super::kill_switch::{KillError, KillOutcome, KillSwitch};
use crate::engine::Decision;
use crate::engine::review::{QueueReason, ReviewItem};
use crate::record::time::format_ms;

/// The audit action a decision is recorded as.
fn action_of(decision: &Decision) -> AuditAction {
    match decision {
        Decision::Approve => AuditAction::Approve,
        Decision::Override(_) => AuditAction::Override,
        Decision::Escalate => AuditAction::Escalate,
        Decision::Skip => AuditAction::Skip,
    }
}

/// The operator recorded with decisions: `[audit] operator`, else `$USER`,
/// else `$LOGNAME`, else `unknown`.
pub fn operator_name(configured: Option<&str>) -> String {
    pick_operator(
        configured,
        std::env::var("USER").ok(),
        std::env::var("LOGNAME").ok(),
    )
}

fn pick_operator(
    configured: Option<&str>,
    user: Option<String>,
    logname: Option<String>,
) -> String {
    configured
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .or(user.filter(|s| !s.is_empty()))
        .or(logname.filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Records a decision on a case with what the operator saw and the
/// operator's note (`reason`), if any. Apply the label to the engine
/// (`Engine::decide`) and show it as done only after this returns `Ok`.
pub fn record_decision(
    log: &mut AuditLog,
    operator: &str,
    item: &ReviewItem,
    decision: &Decision,
    reason: Option<&str>,
) -> Result<AuditRecord, AuditError> {
    let mut extra = serde_json::Map::new();
    extra.insert("index".into(), item.index.into());
    extra.insert("event_ts".into(), format_ms(item.ts_ms).into());
    extra.insert("queued_at".into(), format_ms(item.queued_ms).into());
    if let Some(m) = item.margin {
        extra.insert("margin".into(), m.into());
    }
    let why = match item.reason {
        QueueReason::LowConfidence => "low_confidence",
        QueueReason::NarrowMargin => "narrow_margin",
    };
    extra.insert("queue_reason".into(), why.into());
    if item.generated_id {
        extra.insert("generated_id".into(), true.into());
    }
    let mut entry = AuditEntry::new(operator, action_of(decision));
    entry.model = Some(item.model.clone());
    entry.case_id = Some(item.case_id.clone());
    entry.shown = Some(Shown {
        confidence: Some(item.confidence),
        prediction: Some(item.label.clone()),
        extra,
    });
    entry.label = decision.label(item).map(str::to_owned);
    entry.reason = reason.map(str::to_owned);
    log.append(entry)
}

/// Records what the team's stream said to the decision recorded as
/// `decision_seq` on `item`: `result` is `published`, `already_decided` or
/// `not_published`; `detail` carries the stream sequence or the error.
pub fn record_team_outcome(
    log: &mut AuditLog,
    operator: &str,
    item: &ReviewItem,
    decision_seq: u64,
    result: &str,
    mut detail: serde_json::Map<String, serde_json::Value>,
) -> Result<AuditRecord, AuditError> {
    detail.insert("decision_record".into(), decision_seq.into());
    let mut entry = AuditEntry::new(operator, AuditAction::TeamDecision);
    entry.model = Some(item.model.clone());
    entry.case_id = Some(item.case_id.clone());
    entry.result = Some(result.to_owned());
    entry.detail = Some(detail.into());
    log.append(entry)
}

/// Records a re-baseline of `model`.
pub fn record_baseline_reset(
    log: &mut AuditLog,
    operator: &str,
    model: &str,
) -> Result<AuditRecord, AuditError> {
    let mut entry = AuditEntry::new(operator, AuditAction::BaselineReset);
    entry.model = Some(model.to_owned());
    log.append(entry)
}

/// Records an acknowledged alert (`detail`: the alert as shown).
pub fn record_alert_acknowledge(
    log: &mut AuditLog,
    operator: &str,
    model: &str,
    detail: serde_json::Value,
) -> Result<AuditRecord, AuditError> {
    let mut entry = AuditEntry::new(operator, AuditAction::AlertAcknowledge);
    entry.model = Some(model.to_owned());
    entry.detail = Some(detail);
    log.append(entry)
}

/// A kill-switch run and its two audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedKill {
    pub outcome: KillOutcome,
    /// `seq` of the request record, or why it could not be written.
    pub request_record: Result<u64, String>,
    /// `seq` of the result record, or why it could not be written.
    pub result_record: Result<u64, String>,
}

impl AuditedKill {
    /// Set when a record is missing: the switch acted (or tried) anyway.
    pub fn record_missing(&self) -> Option<String> {
        match (&self.request_record, &self.result_record) {
            (Ok(_), Ok(_)) => None,
            (Err(e), _) => Some(format!(
                "the request's audit record could not be written: {e}"
            )),
            (_, Err(e)) => Some(format!(
                "the result's audit record could not be written: {e}"
            )),
        }
    }
}

/// Trips the switch with both audit records. The request is appended and
/// fsynced before any actuator runs; if the log cannot be written (or is
/// `None`), the trip still happens and the result says so.
pub async fn trip_audited(
    log: Option<&Mutex<AuditLog>>,
    switch: &KillSwitch,
    request: KillRequest,
) -> Result<AuditedKill, KillError> {
    switch.check_trip_of(&request.model)?;
    Ok(audited(log, switch, KillAction::Trip, &request).await)
}

/// Resets the switch with both audit records; `typed_confirmation` must
/// be the model's name (checked before anything is recorded).
pub async fn reset_audited(
    log: Option<&Mutex<AuditLog>>,
    switch: &KillSwitch,
    request: KillRequest,
    typed_confirmation: &str,
) -> Result<AuditedKill, KillError> {
    switch.check_reset(&request.model, typed_confirmation)?;
    Ok(audited(log, switch, KillAction::Reset, &request).await)
}

/// The request record, the run (already checked), the result record.
async fn audited(
    log: Option<&Mutex<AuditLog>>,
    switch: &KillSwitch,
    action: KillAction,
    request: &KillRequest,
) -> AuditedKill {
    let mut entry = AuditEntry::new(
        request.operator.clone(),
        match action {
            KillAction::Trip => AuditAction::KillSwitchTrip,
            KillAction::Reset => AuditAction::KillSwitchReset,
        },
    );
    entry.model = Some(request.model.clone());
    entry.reason = Some(request.reason.clone());
    entry.request_id = Some(request.request_id.clone());
    entry.detail =
        Some(serde_json::json!({ "actuators": switch.describe_action(&request.model, action) }));
    let request_record = append(log, entry);
    if let Err(e) = &request_record {
        tracing::error!(error = %e, request_id = %request.request_id,
            "kill switch request not recorded; acting anyway");
    }
    let outcome = switch.run(action, request).await;
    let mut entry = AuditEntry::new(request.operator.clone(), AuditAction::KillSwitchResult);
    entry.model = Some(request.model.clone());
    entry.request_id = Some(request.request_id.clone());
    entry.result = Some(outcome.state.as_str().to_owned());
    let mut detail = serde_json::json!({
        "action": action,
        "elapsed_ms": outcome.elapsed_ms,
        "actuators": outcome.results,
    });
    if let Err(e) = &request_record {
        detail["request_record_missing"] = e.clone().into();
    }
    entry.detail = Some(detail);
    let result_record = append(log, entry);
    AuditedKill {
        outcome,
        request_record,
        result_record,
    }
}

fn append(log: Option<&Mutex<AuditLog>>, entry: AuditEntry) -> Result<u64, String> {
    let Some(log) = log else {
        return Err("no audit log open".into());
    };
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.append(entry).map(|r| r.seq).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::review::CaseState;

    fn item() -> ReviewItem {
        ReviewItem {
            seq: 7,
            case_id: "req-9".into(),
            generated_id: false,
            model: "fraud-v3".into(),
            index: 1234,
            ts_ms: 1_700_000_000_000,
            queued_ms: 1_700_000_000_500,
            confidence: 0.41,
            margin: None,
            label: "fraud".into(),
            reason: QueueReason::LowConfidence,
            raw: None,
            state: CaseState::Pending,
        }
    }

    #[test]
    fn decisions_record_what_was_shown_and_the_label_given() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = AuditLog::open(&dir.path().join("a.jsonl")).unwrap();
        let cases = [
            (Decision::Approve, AuditAction::Approve, Some("fraud")),
            (
                Decision::Override("legit".into()),
                AuditAction::Override,
                Some("legit"),
            ),
            (Decision::Escalate, AuditAction::Escalate, None),
            (Decision::Skip, AuditAction::Skip, None),
        ];
        for (i, (decision, action, label)) in cases.into_iter().enumerate() {
            let r = record_decision(&mut log, "alice", &item(), &decision, None).unwrap();
            assert_eq!(r.seq, i as u64 + 1);
            assert_eq!(r.action, action);
            assert_eq!(r.label.as_deref(), label);
            assert_eq!(r.case_id.as_deref(), Some("req-9"));
            let shown = r.shown.unwrap();
            assert_eq!(shown.confidence, Some(0.41));
            assert_eq!(shown.prediction.as_deref(), Some("fraud"));
            assert_eq!(shown.extra["index"], 1234);
            assert_eq!(shown.extra["queued_at"], "2023-11-14T22:13:20.500Z");
            assert_eq!(shown.extra["queue_reason"], "low_confidence");
        }
    }

    #[test]
    fn the_operator_comes_from_config_then_the_environment() {
        let env = |s: &str| Some(s.to_owned());
        assert_eq!(pick_operator(Some("carol"), env("u"), env("l")), "carol");
        assert_eq!(pick_operator(Some("  "), env("u"), env("l")), "u");
        assert_eq!(pick_operator(None, env(""), env("l")), "l");
        assert_eq!(pick_operator(None, None, None), "unknown");
    }
}

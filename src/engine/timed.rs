//! The rules the clock drives rather than the data: a source down, a
//! source dropping lines (ingest overload), a model or a source gone
//! silent. Sources report their health here; [`tick`] checks the rules
//! about once a second.

use super::Engine;
use super::alert_log::{CheckPoint, RuleState};
use super::alerts::{Alert, AlertKind, Breach, Severity, Transition};
use super::rules::AlertRules;
use super::rules::silence::{self, Silent};

/// See [`Engine::source_health`].
pub(super) fn source_health(
    e: &mut Engine,
    source: &str,
    healthy: bool,
    detail: &str,
    now_ms: i64,
) {
    let h = e.sources.entry(source.to_string()).or_default();
    if healthy {
        h.down_since_ms = None;
    } else if h.down_since_ms.is_none() {
        h.down_since_ms = Some(now_ms);
    }
    h.detail = detail.to_string();
    tick(e, now_ms);
}

/// See [`Engine::source_overload`].
pub(super) fn source_overload(e: &mut Engine, source: &str, dropped_overload: u64, now_ms: i64) {
    let h = e.sources.entry(source.to_string()).or_default();
    if dropped_overload > h.dropped_overload {
        h.dropped_overload = dropped_overload;
        h.last_drop_ms = Some(now_ms);
        tick(e, now_ms);
    }
}

/// See [`Engine::source_lines`].
pub(super) fn source_lines(e: &mut Engine, source: &str, last_line_ms: Option<i64>) {
    e.sources
        .entry(source.to_string())
        .or_default()
        .last_line_ms = last_line_ms;
}

/// See [`Engine::tick`].
pub(super) fn tick(e: &mut Engine, now_ms: i64) {
    let alerts = &e.settings().alerts;
    let (down, overload) = (alerts.source_down, alerts.ingest_overload);
    let (quiet, quiet_after) = (alerts.silence, alerts.silence_after());
    // Time already debounces these rules: one breaching check fires
    // them and one healthy check clears them.
    let once = AlertRules {
        consecutive: 1,
        clear_after: Some(1),
        ..alerts.clone()
    };
    let at = CheckPoint {
        model: None,
        index: e.counters.lines,
        ts_ms: now_ms,
    };
    let mut out: Vec<(Transition, Alert)> = Vec::new();
    for (name, h) in &mut e.sources {
        let down_for = h.down_since_ms.map(|t| now_ms - t);
        let breach = down_for
            .filter(|&d| down.enabled && d >= down.after_secs as i64 * 1000)
            .map(|d| Breach {
                severity: Severity::Critical,
                direction: None,
                detail: format!("source {name} down for {} s: {}", d / 1000, h.detail),
            });
        let mut step = |state: &mut RuleState, kind, breach: Option<Breach>| {
            if breach.is_some() || state.is_active() {
                let t = e
                    .input_alerts
                    .step(state, &once, kind, at, breach, &mut e.ids.alert);
                out.extend(t);
            }
        };
        step(&mut h.rule, AlertKind::SourceDown, breach);
        let clear_ms = overload.clear_after_secs as i64 * 1000;
        let dropping = h.last_drop_ms.is_some_and(|t| now_ms - t < clear_ms);
        let breach = (overload.enabled && dropping).then(|| Breach {
            severity: Severity::Warning,
            direction: None,
            detail: format!(
                "source {name} dropped {} lines: the engine could not keep up",
                h.dropped_overload
            ),
        });
        step(&mut h.overload_rule, AlertKind::IngestOverload, breach);
        // A source that is down is `source_down`'s news, not a second
        // alert: its silence neither fires nor clears meanwhile.
        if h.down_since_ms.is_none() {
            let source = Silent::Source(name);
            let breach = silence::check(&quiet, quiet_after, source, h.last_line_ms, now_ms);
            step(&mut h.silence_rule, AlertKind::Silence, breach);
        }
    }
    for m in &mut e.models {
        let breach = silence::check(
            &quiet,
            quiet_after,
            Silent::Model(&m.name),
            m.last_arrival_ms,
            now_ms,
        );
        if breach.is_some() || m.rules.of(AlertKind::Silence).is_active() {
            let at = CheckPoint {
                model: Some(&m.name),
                index: m.predictions,
                ts_ms: now_ms,
            };
            let state = m.rules.of_mut(AlertKind::Silence);
            let t = m.alerts.step(
                state,
                &once,
                AlertKind::Silence,
                at,
                breach,
                &mut e.ids.alert,
            );
            out.extend(t);
        }
    }
    e.push_transitions(out);
}

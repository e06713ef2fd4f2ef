//! Alerts that name what breached, one alert per model however many do:
//! `feature_drift` names input features, `segment_drift` segments. A name
//! joining an active alert announces it again (`updated`).

use std::sync::Arc;

use super::AlertRules;
use crate::engine::alert_log::{AlertLog, CheckPoint, RuleState};
use crate::engine::alerts::{Alert, AlertKind, Breach, Transition};

/// A breach and what breached, in order of effect.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedBreach {
    pub breach: Breach,
    pub names: Vec<Arc<str>>,
}

/// Feeds one check of `kind` through the shared hysteresis; while the
/// alert is active, a name not yet listed joins its list and the alert is
/// announced again as `updated`, with this check's index and time (the
/// alert itself keeps when it fired).
pub fn step(
    log: &mut AlertLog,
    state: &mut RuleState,
    rules: &AlertRules,
    (kind, at): (AlertKind, CheckPoint<'_>),
    found: Option<ListedBreach>,
    ids: &mut u64,
) -> Option<(Transition, Alert)> {
    let (breach, names) = match found {
        Some(f) => (Some(f.breach), f.names),
        None => (None, Vec::new()),
    };
    let transition = log.step(state, rules, kind, at, breach.clone(), ids);
    if !state.is_active() {
        return transition;
    }
    let Some(active) = log
        .alerts
        .iter_mut()
        .rev()
        .find(|a| a.kind == kind && a.is_active())
    else {
        return transition;
    };
    if let Some((Transition::Fired, _)) = transition {
        active.names = Some(names);
        return Some((Transition::Fired, active.clone()));
    }
    let listed = active.names.get_or_insert_with(Vec::new);
    let before = listed.len();
    for name in names {
        if !listed.contains(&name) {
            listed.push(name);
        }
    }
    if listed.len() == before {
        return transition;
    }
    if let Some(b) = breach {
        active.detail = b.detail;
    }
    let mut announced = active.clone();
    (announced.index, announced.ts_ms) = (at.index, at.ts_ms);
    Some((Transition::Updated, announced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::Severity;

    #[test]
    fn a_joining_name_re_announces_the_alert() {
        let rules = AlertRules {
            clear_after: Some(2),
            ..AlertRules::default()
        };
        let (mut log, mut state, mut ids) = (AlertLog::new(10), RuleState::default(), 0);
        let breach = |names: &[&str]| {
            Some(ListedBreach {
                breach: Breach {
                    severity: Severity::Warning,
                    direction: None,
                    detail: names.join(","),
                },
                names: names.iter().map(|n| Arc::from(*n)).collect(),
            })
        };
        let mut run = |index, found| {
            let at = CheckPoint {
                model: Some("m"),
                index,
                ts_ms: 0,
            };
            step(
                &mut log,
                &mut state,
                &rules,
                (AlertKind::FeatureDrift, at),
                found,
                &mut ids,
            )
            .map(|(t, a)| {
                let names: Vec<String> = a.names.unwrap().iter().map(|n| n.to_string()).collect();
                (t, a.index, names.join(","))
            })
        };
        assert_eq!(run(1, None), None);
        assert_eq!(
            run(2, breach(&["a"])),
            Some((Transition::Fired, 2, "a".into()))
        );
        assert_eq!(run(3, breach(&["a"])), None);
        assert_eq!(
            run(4, breach(&["b", "a"])),
            Some((Transition::Updated, 4, "a,b".into()))
        );
        assert_eq!(run(5, breach(&["b"])), None, "a leaving is no news");
        assert_eq!(run(6, None), None);
        assert_eq!(run(7, None), Some((Transition::Cleared, 2, "a,b".into())));
        assert_eq!(run(8, None), None);
        assert_eq!(
            run(9, breach(&["c"])),
            Some((Transition::Fired, 9, "c".into()))
        );
        assert_eq!(log.alerts.len(), 2);
    }
}

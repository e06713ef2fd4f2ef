//! Engine behaviour around labels, re-baselining, change points and the
//! live sources' alerts, on the engine itself (real lines through
//! `Engine::ingest_line`).

use modelwatch::engine::settings::BaselineSpec;
use modelwatch::engine::{Decision, Engine, EngineSettings, LineOrigin};
use modelwatch::record::Parser;

fn engine(baseline: u64, window: u64) -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(baseline),
        window,
        ..EngineSettings::default()
    };
    Engine::new(settings)
}

fn feed(e: &mut Engine, line: &str) {
    e.ingest_line(
        &Parser::default(),
        line.as_bytes(),
        LineOrigin {
            source: "t",
            line: 0,
        },
        0,
    );
}

fn predict(e: &mut Engine, model: &str, id: &str, label: &str, conf: f64) {
    feed(
        e,
        &format!(r#"{{"id":"{id}","model":"{model}","prediction":"{label}","confidence":{conf}}}"#),
    );
}

fn truth(e: &mut Engine, id: &str, label: &str, model: Option<&str>) {
    let model = model
        .map(|m| format!(r#","model":"{m}""#))
        .unwrap_or_default();
    feed(
        e,
        &format!(r#"{{"type":"feedback","id":"{id}","label":"{label}"{model}}}"#),
    );
}

#[test]
fn feedback_reaches_every_model_that_scored_the_request() {
    let mut e = engine(100, 50);
    for i in 0..20 {
        predict(&mut e, "a", &format!("r{i}"), "x", 0.9);
        predict(&mut e, "b", &format!("r{i}"), "y", 0.9);
    }
    for i in 0..20 {
        truth(&mut e, &format!("r{i}"), "x", None);
    }
    let (a, b) = (e.model("a").unwrap(), e.model("b").unwrap());
    assert_eq!((a.labelled, b.labelled), (20, 20));
    // A feedback line naming its model labels only that one.
    predict(&mut e, "a", "s1", "x", 0.9);
    predict(&mut e, "b", "s1", "x", 0.9);
    truth(&mut e, "s1", "x", Some("b"));
    let (a, b) = (e.model("a").unwrap(), e.model("b").unwrap());
    assert_eq!((a.labelled, b.labelled), (20, 21));
    assert_eq!(e.join_evicted(), 0);
    // Also when the feedback arrives before either prediction.
    truth(&mut e, "s2", "x", Some("b"));
    predict(&mut e, "a", "s2", "x", 0.9);
    predict(&mut e, "b", "s2", "x", 0.9);
    let (a, b) = (e.model("a").unwrap(), e.model("b").unwrap());
    assert_eq!((a.labelled, b.labelled), (20, 22));
    // A model repeating an id with another model's prediction between
    // replaces its own: one feedback line labels it once.
    predict(&mut e, "a", "s3", "x", 0.9);
    predict(&mut e, "b", "s3", "x", 0.9);
    predict(&mut e, "a", "s3", "x", 0.9);
    truth(&mut e, "s3", "x", None);
    let (a, b) = (e.model("a").unwrap(), e.model("b").unwrap());
    assert_eq!((a.labelled, b.labelled), (21, 23));
    assert_eq!(e.join_evicted(), 1);
}

#[test]
fn labels_after_a_rebaseline_count_for_the_new_baseline() {
    let mut e = engine(10, 10);
    for i in 0..30 {
        predict(&mut e, "m", &format!("old{i}"), "x", 0.9);
    }
    assert!(e.rebaseline("m", 0));
    for i in 0..5 {
        predict(&mut e, "m", &format!("new{i}"), "x", 0.9);
    }
    // Right labels for the new baseline's predictions, wrong ones for old
    // predictions with small indices: only the first kind is the baseline's.
    for i in 0..5 {
        truth(&mut e, &format!("new{i}"), "x", None);
        truth(&mut e, &format!("old{i}"), "y", None);
    }
    for i in 5..10 {
        predict(&mut e, "m", &format!("new{i}"), "x", 0.9);
    }
    let b = e
        .model("m")
        .unwrap()
        .frozen_baseline()
        .expect("the new baseline is complete");
    assert_eq!((b.start, b.end_exclusive), (30, 40));
    assert_eq!((b.labelled, b.correct), (5, 5));
}

#[test]
fn a_case_is_decided_once_even_when_the_key_is_pressed_twice() {
    use modelwatch::live::desk::{Decided, Desk, DeskOptions};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut desk = Desk::open(
        DeskOptions {
            audit_path: log.clone(),
            operator: "alice".into(),
            actuators: Vec::new(),
            read_only: false,
            team: None,
            kills: None,
        },
        None,
    );
    let mut e = engine(1000, 100);
    // No id: the case id is generated and no feedback can join it.
    feed(&mut e, r#"{"model":"m","prediction":"x","confidence":0.3}"#);
    // The screen shows the case; the operator presses `a` twice before the
    // next frame.
    let shown = e.model("m").unwrap().review_items().next().unwrap();
    assert_eq!(
        desk.decide(&mut e, &shown, Decision::Approve, None),
        Ok(Decided::Done(1))
    );
    let again = desk
        .decide(&mut e, &shown, Decision::Approve, None)
        .unwrap_err();
    assert!(again.contains("already decided"), "{again}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
    assert_eq!(e.model("m").unwrap().labelled, 1);
}

#[test]
fn change_points_are_confirmed_with_small_windows_too() {
    // A large drop in confidence at 3,000 with a window of 100: the
    // detectors fire and the predictions after them confirm it.
    let mut e = engine(1000, 100);
    for i in 0..6000 {
        let conf = if i < 3000 {
            0.90 + (i % 10) as f64 / 100.0
        } else {
            0.50 + (i % 10) as f64 / 100.0
        };
        predict(&mut e, "m", &format!("p{i}"), "x", conf.min(1.0));
    }
    let m = e.model("m").unwrap();
    let kinds: Vec<&str> = m.alerts.alerts.iter().map(|a| a.kind.as_str()).collect();
    assert!(kinds.contains(&"change_point"), "{kinds:?}");
    assert!(m.alerts.alerts.iter().all(|a| a.index >= 3000));
}

#[test]
fn ingest_overload_fires_while_a_source_drops_and_clears_after_a_quiet_spell() {
    use modelwatch::engine::alerts::{AlertKind, Transition};
    let mut e = engine(100, 50);
    let kinds = |e: &mut Engine| -> Vec<(Transition, AlertKind, String)> {
        e.take_transitions()
            .into_iter()
            .map(|(t, a)| (t, a.kind, a.detail))
            .collect()
    };
    let clear_ms = e.settings().alerts.ingest_overload.clear_after_secs as i64 * 1000;
    e.source_overload("ws://h/s", 0, 1_000);
    assert!(kinds(&mut e).is_empty(), "nothing dropped yet");
    e.source_overload("ws://h/s", 120, 2_000);
    let fired = kinds(&mut e);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].0, fired[0].1),
        (Transition::Fired, AlertKind::IngestOverload)
    );
    assert!(
        fired[0].2.contains("ws://h/s") && fired[0].2.contains("120"),
        "{}",
        fired[0].2
    );
    // More drops keep the one alert; a count that did not grow is no drop.
    e.source_overload("ws://h/s", 500, 3_000);
    e.source_overload("ws://h/s", 500, 3_000 + clear_ms - 1);
    e.tick(3_000 + clear_ms - 1);
    assert!(kinds(&mut e).is_empty());
    e.tick(3_000 + clear_ms);
    let cleared = kinds(&mut e);
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(
        (cleared[0].0, cleared[0].1),
        (Transition::Cleared, AlertKind::IngestOverload)
    );

    let mut settings = engine(100, 50).settings().clone();
    settings.alerts.ingest_overload.enabled = false;
    let mut quiet = Engine::new(settings);
    quiet.source_overload("ws://h/s", 10, 1_000);
    assert!(kinds(&mut quiet).is_empty(), "the rule is off");
}

//! Trouble on a model that is not on screen is never invisible: the
//! dashboard opens on the model in the worst state, and the status bar of
//! any other model names the critical alerts and other models' switches.

use super::fixture;
use super::review_page::{Shown, ShownQuery};
use crate::decision::kill_switch::SwitchState;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings, LineOrigin};
use crate::record::Parser;

/// Two models: `calm` steady, `drifting` whose confidence collapses after
/// its baseline (a critical confidence-drift alert).
fn two_models() -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(400),
        window: 200,
        ..EngineSettings::default()
    };
    let mut engine = Engine::new(settings);
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..1200u64 {
        let spread = next() * 0.2;
        let (calm, drifting) = if i < 400 {
            (0.75 + spread, 0.75 + spread)
        } else {
            (0.75 + spread, 0.25 + spread)
        };
        for (model, conf) in [("calm", calm), ("drifting", drifting)] {
            let line = format!(
                r#"{{"ts":{},"id":"{model}-{i}","model":"{model}","prediction":"x","confidence":{conf:.4}}}"#,
                fixture::T0 + i as i64
            );
            let origin = LineOrigin {
                source: "test",
                line: i + 1,
            };
            engine.ingest_line(
                &Parser::default(),
                line.as_bytes(),
                origin,
                fixture::T0 + i as i64,
            );
        }
    }
    engine
}

fn screen(w: u16, h: u16, app: &super::app::App, snap: &Shown) -> String {
    let sources = fixture::sources(2400);
    let mut ctx = fixture::context(fixture::T0 + 2000, &sources);
    ctx.kill_elsewhere = vec![("drifting".into(), SwitchState::Tripped)];
    fixture::render_text(w, h, app, snap, &ctx)
}

#[test]
fn the_dashboard_opens_on_the_model_in_trouble() {
    let engine = two_models();
    let mut app = fixture::app();
    let first = Shown::take(&engine, None, &ShownQuery::default());
    assert_eq!(
        first.snap.model.as_ref().unwrap().name,
        "calm",
        "first seen"
    );
    let drifting = first
        .snap
        .fleet
        .iter()
        .find(|f| f.name == "drifting")
        .unwrap();
    assert!(drifting.critical > 0, "{drifting:?}");
    app.sync(&first);
    assert_eq!(app.model.as_deref(), Some("drifting"));
    // Once the operator has a model, it stays on screen.
    app.model = Some("calm".into());
    app.sync(&first);
    assert_eq!(app.model.as_deref(), Some("calm"));
}

#[test]
fn another_models_critical_alert_and_switch_show_on_every_screen() {
    let engine = two_models();
    let mut app = fixture::app();
    app.model = Some("calm".into());
    let snap = Shown::take(&engine, Some("calm"), &app.query());
    for (w, h) in [(200, 50), (120, 40), (80, 24)] {
        let text = screen(w, h, &app, &snap);
        let status = text.lines().next().unwrap();
        assert!(status.contains("calm"), "{w}x{h}: {status}");
        assert!(
            status.contains("CRITICAL on 1 other model"),
            "{w}x{h}: {status}"
        );
    }
    let wide = screen(200, 50, &app, &snap);
    assert!(
        wide.lines()
            .next()
            .unwrap()
            .contains("KILL 1 on other model"),
        "{wide}"
    );
}

#[test]
fn a_quiet_source_says_how_long_it_has_been_quiet() {
    let engine = two_models();
    let app = fixture::app();
    let snap = Shown::take(&engine, None, &app.query());
    let now = fixture::T0 + 60_000;
    let mut sources = fixture::sources(2400);
    sources[0].last_line_ms = Some(now - 1_000);
    let draw_status = |sources: &[crate::source::SourceStatus]| {
        let ctx = fixture::context(now, sources);
        let text = fixture::render_text(200, 50, &app, &snap, &ctx);
        text.lines().next().unwrap_or_default().to_string()
    };
    let busy = draw_status(&sources);
    assert!(busy.contains("last line 1s ago"), "{busy}");
    sources[0].last_line_ms = Some(now - 12_000);
    let status = draw_status(&sources);
    assert!(status.contains("last line 12s ago"), "{status}");
}

/// Enter on an alert shows it in full: kind, severity, absolute times,
/// the whole explanation with its figures, and what clears it.
#[test]
fn an_alert_in_full() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let engine = two_models();
    let mut app = fixture::app();
    app.model = Some("drifting".into());
    let snap = Shown::take(&engine, Some("drifting"), &app.query());
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    app.on_key(tab, &snap, fixture::T0);
    assert_eq!(app.on_key(enter, &snap, fixture::T0), None);
    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(w, h, &app, &snap);
        assert!(text.contains("confidence_drift"), "{text}");
        assert!(text.contains("clears with"), "{text}");
        assert!(text.contains("fired"), "{text}");
        insta::assert_snapshot!(format!("alert_detail_{w}x{h}"), text);
    }
    // Esc closes it.
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    app.on_key(esc, &snap, fixture::T0);
    assert!(app.dialog.is_none());
}

/// `M` lists every model with its alerts, switch, queue and baseline;
/// j and Enter put another model on screen.
#[test]
fn the_models_view_shows_every_model_and_switches_to_one() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    let engine = two_models();
    let mut app = fixture::app();
    app.model = Some("calm".into());
    let snap = Shown::take(&engine, Some("calm"), &app.query());
    assert_eq!(
        app.on_key(key(KeyCode::Char('M')), &snap, fixture::T0),
        None
    );
    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(w, h, &app, &snap);
        let row = |name: &str| {
            text.lines()
                .find(|l| l.contains(name) && l.contains("frozen"))
                .unwrap_or_else(|| panic!("no row for {name}:\n{text}"))
                .to_string()
        };
        // The drifting model's critical alert and tripped switch, the
        // calm one's neither.
        assert!(row("drifting").contains("TRIPPED"), "{text}");
        assert!(row("calm").contains("ARMED"), "{text}");
        insta::assert_snapshot!(format!("models_{w}x{h}"), text);
    }
    app.on_key(key(KeyCode::Char('j')), &snap, fixture::T0);
    app.on_key(key(KeyCode::Enter), &snap, fixture::T0);
    assert!(app.dialog.is_none());
    assert_eq!(app.model.as_deref(), Some("drifting"));
}

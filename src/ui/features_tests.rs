//! The features view, its compact form on a wide dashboard and the review
//! case's marks, drawn from a real engine fed synthetic predictions whose
//! inputs drift more and more after the baseline: `amount` moves up past
//! the baseline's range, `country` gains a category the baseline never
//! saw, `age` and `device.os` stay put.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::fixture;
use super::review_page::Shown;
use super::screen::Screen;
use crate::engine::features::view::FeaturesPhase;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings, LineOrigin};
use crate::record::Parser;

const BASELINE: u64 = 400;
/// Past the baseline the drift grows over this many predictions.
const RAMP: u64 = 3_000;
/// More checks than a feature's history holds.
const FED: u64 = BASELINE + RAMP + 400;

/// `extra(i)` is appended inside prediction `i`'s `input` (after a comma).
fn engine_with(fed: u64, extra: impl Fn(u64) -> Option<String>) -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(BASELINE),
        window: 200,
        ..EngineSettings::default()
    };
    let mut engine = Engine::new(settings);
    let mut rng = fixture::Lcg(11);
    for i in 0..fed {
        let after = i >= BASELINE;
        // After the baseline every seventh prediction is unsure (queued for
        // review), with an amount and a country the baseline never had.
        let queued = after && i % 7 == 0;
        let ramp = (i.saturating_sub(BASELINE) as f64 / RAMP as f64).min(1.0);
        let (u, v) = (rng.uniform(), rng.uniform());
        let amount = match i {
            0 => 2.0,
            1 => 9.5,
            _ if queued => 11.0 + (i % 5) as f64,
            _ => 2.0 + 7.5 * u + 6.0 * ramp,
        };
        let country = if queued || v < 0.5 * ramp {
            "BR"
        } else {
            ["DE", "FR", "US"][(v * 3.0) as usize % 3]
        };
        let os = if u < 0.5 { "ios" } else { "android" };
        let age = 20 + (v * 40.0) as u32;
        let conf = if queued { 0.45 } else { 0.9 };
        let extra = extra(i).map(|e| format!(",{e}")).unwrap_or_default();
        let ts = fixture::T0 + i as i64 * 100;
        let line = format!(
            r#"{{"ts":{ts},"id":"p-{i:05}","model":"scorer","prediction":"yes","confidence":{conf},"input":{{"amount":{amount:.2},"country":"{country}","device":{{"os":"{os}"}},"age":{age}{extra}}}}}"#
        );
        let origin = LineOrigin {
            source: "synthetic",
            line: i + 1,
        };
        engine.ingest_line(&Parser::default(), line.as_bytes(), origin, ts);
    }
    engine
}

fn drifting() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| engine_with(FED, |_| None))
}

fn now() -> i64 {
    fixture::T0 + FED as i64 * 100 + 250
}

fn shown(engine: &Engine, app: &mut App) -> Shown {
    let s = Shown::take(engine, app.model.as_deref(), &app.query());
    app.sync(&s);
    Shown::take(engine, app.model.as_deref(), &app.query())
}

fn screen(w: u16, h: u16, app: &App, shown: &Shown) -> String {
    let sources = fixture::sources(FED);
    fixture::render_text(w, h, app, shown, &fixture::context(now(), &sources))
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// An app with the features view open, and the frame it shows.
fn features_open(engine: &Engine) -> (App, Shown) {
    let mut app = fixture::app();
    let s = shown(engine, &mut app);
    assert_eq!(app.on_key(key('f'), &s, now()), None);
    assert_eq!(app.screen, Screen::Features { cursor: 0 });
    let s = shown(engine, &mut app);
    (app, s)
}

/// The row marked selected on the features screen at 80×24 (a row's
/// mark, not a focused panel's title).
pub(super) fn selected_row(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with('▶') && !l.contains("Features:") && !l.contains("Segments:"));
    line.unwrap_or_else(|| panic!("a selected row in\n{text}"))
        .to_string()
}

fn cursor(app: &App) -> usize {
    match app.screen {
        Screen::Features { cursor } => cursor,
        ref other => panic!("not the features view: {other:?}"),
    }
}

#[test]
fn the_view_ranks_features_by_drift_at_80x24() {
    let (app, s) = features_open(drifting());
    let text = screen(80, 24, &app, &s);
    let row = |name: &str| {
        text.lines()
            .position(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    // The two that drift first, listed by the alert; the quiet ones after.
    assert!(
        row("amount") < row("age") && row("country") < row("age"),
        "{text}"
    );
    assert!(row("country") < row("device.os"), "{text}");
    assert!(
        text.contains("● amount") && text.contains("● country"),
        "{text}"
    );
    assert!(!text.contains("● age"), "{text}");
    assert!(text.contains("\"BR\" 0.0% →"), "{text}");
    insta::assert_snapshot!("features_80x24", text);
}

#[test]
fn the_view_at_200x50_shows_the_trend_and_the_means() {
    let (app, s) = features_open(drifting());
    let text = screen(200, 50, &app, &s);
    assert!(text.contains("mean 5.7"), "{text}");
    assert!(text.contains("last 60 checks"), "{text}");
    insta::assert_snapshot!("features_200x50", text);
}

#[test]
fn the_key_closes_it_and_j_k_move_the_selection() {
    let (mut app, s) = features_open(drifting());
    let selected = |app: &App| selected_row(&screen(80, 24, app, &s));
    let top = selected(&app);
    assert!(top.contains("amount") || top.contains("country"), "{top}");
    app.on_key(key('j'), &s, now());
    assert_eq!(cursor(&app), 1);
    assert_ne!(selected(&app), top);
    for _ in 0..10 {
        app.on_key(key('j'), &s, now());
    }
    assert_eq!(cursor(&app), 3, "stops at the last of four");
    app.on_key(key('g'), &s, now());
    assert_eq!(selected(&app), top);
    // No decision on a case that is not on screen; the kill switch stays.
    assert_eq!(app.on_key(key('a'), &s, now()), None);
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    let text = screen(80, 24, &app, &s);
    assert!(text.contains("KILL: ARMED"), "{text}");
    app.on_key(key('f'), &s, now());
    assert!(app.screen.is_dashboard());
    // Esc and q go back too.
    for back in [KeyCode::Esc, KeyCode::Char('q')] {
        let (mut app, s) = features_open(drifting());
        assert_eq!(app.on_key(KeyEvent::from(back), &s, now()), None);
        assert!(app.screen.is_dashboard(), "{back:?}");
        let s = shown(drifting(), &mut app);
        assert!(screen(80, 24, &app, &s).contains("Review"));
    }
}

#[test]
fn the_dashboard_has_a_compact_form_at_200x50_only() {
    let mut app = fixture::app();
    let s = shown(drifting(), &mut app);
    let wide = screen(200, 50, &app, &s);
    assert!(wide.contains("Features: 4 watched · 2 drifting"), "{wide}");
    insta::assert_snapshot!("main_with_features_200x50", wide);
    let small = screen(80, 24, &app, &s);
    assert!(!small.contains("Features"), "{small}");
}

#[test]
fn the_case_pane_marks_values_beyond_the_baseline() {
    let mut app = fixture::app();
    let s = shown(drifting(), &mut app);
    let case = app.shown_case(&s).expect("a queued case");
    assert_eq!(case.case_id, "p-00406");
    let text = screen(120, 40, &app, &s);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
            .to_string()
    };
    // p-00406: amount 12 (the baseline's 2.0–9.5), country BR (unseen),
    // age and the device's os within it.
    assert!(
        line("\"amount\": 12.0").contains("⚠ outside baseline 2.0–9.5"),
        "{text}"
    );
    assert!(
        line("\"country\": \"BR\"").contains("⚠ not seen in the baseline"),
        "{text}"
    );
    assert!(!line("\"age\"").contains('⚠'), "{text}");
    assert!(!line("\"os\"").contains('⚠'), "{text}");
    insta::assert_snapshot!("case_marks_120x40", text);
}

#[test]
fn before_the_baseline_and_without_features_it_says_so() {
    let collecting = engine_with(BASELINE / 2, |_| None);
    let (app, s) = features_open(&collecting);
    let text = screen(80, 24, &app, &s);
    assert!(text.contains("baseline collecting"), "{text}");
    assert!(
        text.contains("4 seen so far: amount, country, device.os, age"),
        "{text}"
    );

    // Predictions without `input`: the demo fixture's lines stripped of it.
    let mut bare = Engine::new(EngineSettings {
        baseline: BaselineSpec::Count(50),
        window: 50,
        ..EngineSettings::default()
    });
    for i in 0..100u64 {
        let line = format!(r#"{{"ts":{i},"id":"b-{i}","prediction":"x","confidence":0.9}}"#);
        let origin = LineOrigin {
            source: "bare",
            line: i + 1,
        };
        bare.ingest_line(&Parser::default(), line.as_bytes(), origin, i as i64);
    }
    let (app, s) = features_open(&bare);
    let view = &s.snap.model.as_ref().unwrap().features;
    assert_eq!((view.phase, view.rows.len()), (FeaturesPhase::Frozen, 0));
    let text = screen(80, 24, &app, &s);
    assert!(text.contains("no input features in the baseline"), "{text}");
}

#[test]
fn hostile_feature_names_render_escaped_and_bounded() {
    // A name with escape sequences within the 256-byte cap is watched; a
    // name of a megabyte is not (the engine skips names over the cap).
    let hostile = r#""\u001b]0;pwned\u0007\u001b[2J\u202ename":1"#.to_string();
    let megabyte = format!(r#""{}":1"#, "m".repeat(1_000_000));
    let engine = engine_with(BASELINE + 300, |i| {
        Some(if i < 3 {
            format!("{hostile},{megabyte}")
        } else {
            hostile.clone()
        })
    });
    let (app, mut s) = features_open(&engine);
    let view = &s.snap.model.as_ref().unwrap().features;
    assert_eq!(view.rows.len(), 5, "the megabyte name is not watched");
    let text = screen(200, 50, &app, &s);
    assert!(text.contains("\\x1b]0;pwned\\x07"), "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\u{202e}'),
        "{text}"
    );

    // A megabyte of escape sequences as a name, drawn as it would be.
    let rows = &mut s.snap.model.as_mut().unwrap().features.rows;
    rows[0].name = Arc::from(format!("\x1b]52;c;{}", "\x1b[2J".repeat(1 << 18)));
    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(w, h, &app, &s);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("\\x1b]52;c;"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= usize::from(w)));
    }
}

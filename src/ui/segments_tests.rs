//! The segment breakdown under the features (`f`), drawn from a real
//! engine fed synthetic predictions split by `segment`: EU, US, APAC and a
//! value of escape sequences near the 256 bytes a segment may have. From
//! 9,000 EU's confidence falls and its mix moves; the others stay put.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::features_tests::selected_row;
use super::fixture;
use super::review_page::Shown;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings, LineOrigin};
use crate::record::Parser;

const BASELINE: u64 = 6_000;
const SHIFT: u64 = 9_000;
const FED: u64 = 14_000;

/// A segment value that would steer the terminal, near the 256 bytes a
/// segment may have, as JSON escapes.
fn hostile() -> String {
    format!(r"\u001b]0;pwned\u0007\u001b[2J\u202e{}", "long".repeat(55))
}

/// `fed` predictions of the four segments (45/35/10/10%), feedback for
/// every other one; with `segment` false the events have none.
fn engine_with(fed: u64, segment: bool) -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(BASELINE),
        window: 1_000,
        ..EngineSettings::default()
    };
    let mut engine = Engine::new(settings);
    let mut rng = fixture::Lcg(5);
    let hostile = hostile();
    let mut line_no = 0;
    let mut ingest = |engine: &mut Engine, line: String, ts: i64| {
        line_no += 1;
        let origin = LineOrigin {
            source: "synthetic",
            line: line_no,
        };
        engine.ingest_line(&Parser::default(), line.as_bytes(), origin, ts);
    };
    for i in 0..fed {
        let value = match rng.uniform() {
            u if u < 0.45 => "EU",
            u if u < 0.8 => "US",
            u if u < 0.9 => "APAC",
            _ => &hostile,
        };
        let moved = i >= SHIFT && value == "EU";
        let confidence = if moved { 0.55 } else { 0.7 } + 0.3 * rng.uniform();
        let threshold = if moved { 0.85 } else { 0.5 };
        let label = if rng.uniform() < threshold { "a" } else { "b" };
        let ts = fixture::T0 + i as i64 * 100;
        let field = if segment {
            format!(r#","segment":"{value}""#)
        } else {
            String::new()
        };
        ingest(
            &mut engine,
            format!(
                r#"{{"ts":{ts},"id":"r{i}","prediction":"{label}","confidence":{confidence:.4}{field},"input":{{"tier":"gold"}}}}"#
            ),
            ts,
        );
        if i % 2 == 0 {
            let right = rng.uniform() < if moved { 0.6 } else { 0.9 };
            let truth = match (right, label) {
                (true, _) => label,
                (false, "a") => "b",
                (false, _) => "a",
            };
            ingest(
                &mut engine,
                format!(r#"{{"type":"feedback","id":"r{i}","label":"{truth}"}}"#),
                ts,
            );
        }
    }
    engine
}

fn drifting() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| engine_with(FED, true))
}

fn now() -> i64 {
    fixture::T0 + FED as i64 * 100 + 250
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// The features view open on `engine`'s model, and the frame it shows.
fn features_open(engine: &Engine) -> (App, Shown) {
    let mut app = fixture::app();
    let s = Shown::take(engine, None, &app.query());
    app.sync(&s);
    app.on_key(key('f'), &s, now());
    let s = Shown::take(engine, app.model.as_deref(), &app.query());
    app.sync(&s);
    (app, s)
}

fn screen(w: u16, h: u16, app: &App, shown: &Shown) -> String {
    let sources = fixture::sources(FED);
    fixture::render_text(w, h, app, shown, &fixture::context(now(), &sources))
}

fn line_of<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} in\n{text}"))
}

#[test]
fn each_segment_has_a_row_and_the_drifting_one_is_marked() {
    let engine = drifting();
    let (app, s) = features_open(engine);
    let view = &s.snap.model.as_ref().unwrap().segments;
    let names: Vec<&str> = view.rows.iter().map(|r| &*r.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(names[..3], ["segment=EU", "segment=US", "segment=APAC"]);
    // The figures are the engine's last test of each segment.
    let m = engine.model("default").unwrap();
    for ((_, segment), row) in m.segments.segments().zip(&view.rows) {
        let last = segment.last.expect("tested");
        let shown = row.last.expect("copied");
        assert_eq!((shown.n, shown.mean), (last.n, last.mean));
        assert_eq!(shown.comparison, last.comparison);
        assert_eq!(row.baseline_mean, segment.baseline.mean);
        assert!(last.n <= row.window && row.window <= 1_000);
        assert!(row.labelled > 0 && row.correct <= row.labelled);
    }
    let alert = m
        .alerts
        .alerts
        .iter()
        .find(|a| a.is_active() && a.kind == crate::engine::alerts::AlertKind::SegmentDrift)
        .expect("an active segment_drift alert");
    let listed: Vec<&str> = alert.names.iter().flatten().map(|n| &**n).collect();
    assert_eq!(listed, ["segment=EU"]);
    assert!(view.rows[0].in_alert && view.rows[1..].iter().all(|r| !r.in_alert));
    assert_eq!(view.rows[0].window, 1_000, "EU's window is full");

    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(w, h, &app, &s);
        assert!(text.contains("Segments: 4 watched"), "{text}");
        let eu = line_of(&text, "segment=EU");
        assert!(eu.contains("● segment=EU"), "{eu}");
        // EU's mean confidence fell from its baseline's (about 0.85).
        let mean = view.rows[0].last.unwrap().mean;
        assert!(mean < 0.8 && view.rows[0].baseline_mean > 0.8, "{mean}");
        let us = line_of(&text, "segment=US");
        assert!(!us.contains('●'), "{us}");
        assert!(text.lines().all(|l| l.chars().count() <= usize::from(w)));
        insta::assert_snapshot!(format!("segments_{w}x{h}"), text);
    }
}

#[test]
fn a_hostile_value_is_escaped_and_bounded() {
    let (app, mut s) = features_open(drifting());
    let view = &s.snap.model.as_ref().unwrap().segments;
    let hostile = &view.rows[3].name;
    assert!(hostile.starts_with("segment=\x1b]0;pwned") && hostile.len() > 200);
    for (w, h, start) in [(80, 24, "segment=\\"), (200, 50, "segment=\\x1b]0;pwned")] {
        let text = screen(w, h, &app, &s);
        assert!(text.contains(start), "{text}");
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= usize::from(w)));
    }
    // A megabyte of escape sequences as a name, drawn as it would be.
    let rows = &mut s.snap.model.as_mut().unwrap().segments.rows;
    rows[1].name = Arc::from(format!("segment=\x1b]52;c;{}", "\x1b[2J".repeat(1 << 18)));
    for (w, h, start) in [
        (60, 20, "segme…"),
        (80, 24, "segment=\\"),
        (200, 50, "segment=\\x1b]52;c;"),
    ] {
        let text = screen(w, h, &app, &s);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains(start), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= usize::from(w)));
    }
}

#[test]
fn the_selection_runs_down_the_features_then_the_segments() {
    let (mut app, s) = features_open(drifting());
    let selected = |app: &App| selected_row(&screen(80, 24, app, &s));
    assert!(selected(&app).contains("tier"), "the one feature first");
    app.on_key(key('j'), &s, now());
    assert!(selected(&app).contains("segment=EU"), "{}", selected(&app));
    app.on_key(key('G'), &s, now());
    assert!(selected(&app).contains("segment=\\"), "{}", selected(&app));
    app.on_key(KeyEvent::from(KeyCode::PageUp), &s, now());
    assert!(selected(&app).contains("tier"), "{}", selected(&app));
}

#[test]
fn before_the_baseline_and_without_segments_it_says_so() {
    let collecting = engine_with(BASELINE / 2, true);
    let (app, s) = features_open(&collecting);
    let text = screen(80, 24, &app, &s);
    assert!(text.contains("Segments: baseline collecting"), "{text}");

    let bare = engine_with(BASELINE + 2_000, false);
    let (app, s) = features_open(&bare);
    let view = &s.snap.model.as_ref().unwrap().segments;
    assert!(view.rows.is_empty() && !view.collecting);
    let text = screen(120, 30, &app, &s);
    assert!(
        text.contains("no segments (the events have no `segment`; see [segments] fields)"),
        "{text}"
    );
}

/// The features screen at every size, the selection on the last segment.
#[test]
fn no_size_panics() {
    let (mut app, s) = features_open(drifting());
    app.on_key(key('G'), &s, now());
    let sources = fixture::sources(FED);
    let ctx = fixture::context(now(), &sources);
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(0, 0)).unwrap();
    for h in 0..=50u16 {
        for w in (0..=200u16).step_by(7) {
            t.backend_mut().resize(w, h);
            t.autoresize().unwrap();
            t.draw(|frame| super::draw::draw(frame, &app, &s, &ctx))
                .unwrap();
        }
    }
}

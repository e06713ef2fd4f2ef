//! The alert history (`H`), the malformed lines (`L`), the notes and the
//! legend, drawn into a `TestBackend` from the demo's fixed state with a
//! few hostile malformed lines fed in, driven by keys like an operator,
//! and snapshotted (`src/ui/snapshots/`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{ARMING_MS, App};
use super::dialog::Dialog;
use super::draw::help::LEGEND;
use super::effect::Effect;
use super::fixture;
use super::list_page::ListPage;
use super::review_page::Shown;
use super::screen::{AlertFilter, Screen, ScreenPage};
use crate::engine::alerts::{Alert, Severity};
use crate::engine::{Decision, Engine, LineOrigin, MalformedRecord};
use crate::record::Parser;

/// Past the baseline and into the demo's drift episode, as the dashboard
/// snapshots have it.
const FED: u64 = 14_000;

/// Lines that are not events, the hostile ones among them: a screen clear,
/// a title change, bytes that are not UTF-8.
const MALFORMED: &[&[u8]] = &[
    b"\x1b[2J\x1b[Hcleared your screen",
    b"{\"model\": \"m\", \"prediction\": \"x\", broken",
    b"\x1b]0;owned\x07 title",
    b"\xff\xfe not utf-8",
    b"plain garbage",
];

static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();

/// The demo engine with `MALFORMED` fed 6 times over (30 lines, numbered
/// after the demo's own), a second apart.
fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| {
        let mut e = fixture::demo_engine(7, FED);
        let lines = e.counters().lines;
        for i in 0..30u64 {
            let origin = LineOrigin {
                source: "demo (seed 7)",
                line: lines + i + 1,
            };
            let at = fixture::T0 + i as i64 * 1_000;
            let line = MALFORMED[i as usize % MALFORMED.len()];
            e.ingest_line(&Parser::default(), line, origin, at);
        }
        e
    })
}

fn now() -> i64 {
    fixture::now_after(FED)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

struct Operator {
    app: App,
    shown: Shown,
    sources: Vec<crate::source::SourceStatus>,
}

impl Operator {
    fn new() -> Operator {
        let mut app = fixture::app();
        app.page = 60;
        let shown = Shown::take(engine(), None, &app.query());
        app.sync(&shown);
        let mut op = Operator {
            app,
            shown,
            sources: fixture::sources(engine().counters().lines),
        };
        op.copy();
        op
    }

    /// Copies the frame again, as the loop does after a key.
    fn copy(&mut self) {
        self.shown = Shown::take(engine(), self.app.model.as_deref(), &self.app.query());
        self.app.sync(&self.shown);
    }

    fn press(&mut self, ev: KeyEvent) -> Option<Effect> {
        self.press_at(ev, now())
    }

    fn press_at(&mut self, ev: KeyEvent, at: i64) -> Option<Effect> {
        let effect = self.app.on_key(ev, &self.shown, at);
        self.copy();
        effect
    }

    fn screen(&self, w: u16, h: u16) -> String {
        let ctx = fixture::context(now(), &self.sources);
        fixture::render_text(w, h, &self.app, &self.shown, &ctx)
    }

    fn alerts(&self) -> &ListPage<Alert> {
        match &self.shown.screen {
            ScreenPage::Alerts { page, .. } => page,
            other => panic!("not the alert history: {other:?}"),
        }
    }

    fn malformed(&self) -> &ListPage<MalformedRecord> {
        match &self.shown.screen {
            ScreenPage::Malformed { page } => page,
            other => panic!("not the malformed lines: {other:?}"),
        }
    }
}

#[test]
#[ignore = "prints the screens at a size given in MW_SIZE, for looking at by hand"]
fn print_screens() {
    let size = std::env::var("MW_SIZE").unwrap_or_else(|_| "80x24".into());
    let (w, h) = size.split_once('x').unwrap();
    let (w, h) = (w.parse().unwrap(), h.parse().unwrap());
    let mut op = Operator::new();
    println!("{}", op.screen(w, h));
    op.press(key('H'));
    println!("{}", op.screen(w, h));
    op.press(key('L'));
    println!("{}", op.screen(w, h));
    op.press(code(KeyCode::Esc));
    op.press(key('?'));
    println!("{}", op.screen(w, h));
}

/// `H` lists every alert of the model on screen and of the input, newest
/// first; `c` and `F` filter it and the title says how.
#[test]
fn the_alert_history_lists_every_alert_newest_first_and_filters() {
    let mut op = Operator::new();
    op.press(key('H'));
    let e = engine();
    let model = op.shown.snap.model.as_ref().unwrap().name.clone();
    let logged: Vec<_> = e
        .model(&model)
        .unwrap()
        .alerts
        .alerts
        .iter()
        .chain(&e.input_alerts().alerts)
        .collect();
    assert!(logged.len() >= 3, "the fixture has alerts: {logged:?}");
    let page = op.alerts();
    assert_eq!(page.total, logged.len());
    let times: Vec<i64> = page.rows.iter().map(|a| a.ts_ms).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for (w, h) in [(80, 24), (200, 50)] {
        let text = op.screen(w, h);
        assert!(text.contains("filter: all"), "{text}");
        // Absolute fired times, UTC.
        let first = &page.rows[0];
        let fired = crate::ui::draw::text::date_clock(first.ts_ms);
        assert!(text.contains(&fired), "{fired} not in\n{text}");
        insta::assert_snapshot!(format!("alert_history_{w}x{h}"), text);
    }
    let filters = [
        (
            'c',
            "filter: active",
            AlertFilter {
                active_only: true,
                severity: None,
            },
        ),
        (
            'F',
            "filter: active critical",
            AlertFilter {
                active_only: true,
                severity: Some(Severity::Critical),
            },
        ),
        (
            'c',
            "filter: critical",
            AlertFilter {
                active_only: false,
                severity: Some(Severity::Critical),
            },
        ),
        (
            'F',
            "filter: warning",
            AlertFilter {
                active_only: false,
                severity: Some(Severity::Warning),
            },
        ),
        ('F', "filter: all", AlertFilter::default()),
    ];
    for (k, title, filter) in filters {
        op.press(key(k));
        let text = op.screen(80, 24);
        assert!(text.contains(title), "{title}:\n{text}");
        let expected = logged.iter().filter(|a| filter.matches(a)).count();
        assert_eq!(op.alerts().total, expected, "{title}");
        assert!(
            op.alerts().rows.iter().all(|a| filter.matches(a)),
            "{title}"
        );
    }
    // Some alerts are cleared, some active: the active filter drops rows.
    assert!(logged.iter().any(|a| !a.is_active()) && logged.iter().any(|a| a.is_active()));
}

/// j, Enter: the selected row in full (the existing alert view); Esc goes
/// back to the list, Esc or q again to the dashboard, never quitting.
#[test]
fn enter_on_a_history_row_shows_that_alert_in_full() {
    let mut op = Operator::new();
    op.press(key('H'));
    op.press(key('j'));
    let second = op.alerts().rows[1].clone();
    assert_eq!(op.alerts().selected_row(), Some(&second));
    assert_eq!(op.press(code(KeyCode::Enter)), None);
    match &op.app.dialog {
        Some(Dialog::AlertDetail { alert, .. }) => assert_eq!(**alert, second),
        other => panic!("{other:?}"),
    }
    let text = op.screen(80, 24);
    assert!(text.contains("clears with"), "{text}");
    op.press(code(KeyCode::Esc));
    assert!(op.app.dialog.is_none());
    assert!(matches!(op.app.screen, Screen::Alerts { .. }));
    // The review queue is not on this screen: its keys say so, do nothing.
    assert_eq!(op.press(key('a')), None);
    assert!(
        op.app
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("Esc"))
    );
    assert_eq!(op.press(key('q')), None);
    assert!(op.app.screen.is_dashboard());
    op.press(key('H'));
    op.press(code(KeyCode::Esc));
    assert!(op.app.screen.is_dashboard());
    // H twice toggles; the kill switch works from a screen.
    op.press(key('H'));
    op.press(key('H'));
    assert!(op.app.screen.is_dashboard());
    op.press(key('L'));
    op.press(key('K'));
    assert!(matches!(op.app.dialog, Some(Dialog::ConfirmTrip { .. })));
}

/// `L` lists the malformed lines, newest first, the hostile bytes shown
/// escaped; the dashboard counts them and names the key, whatever else the
/// key line says.
#[test]
fn malformed_lines_are_listed_escaped() {
    let mut op = Operator::new();
    let dashboard = op.screen(80, 24);
    let bottom = dashboard.lines().last().unwrap();
    assert!(bottom.ends_with("⚠ 30 malformed: L"), "{bottom}");
    op.app.notice(
        "something long to say about what just happened, longer than the line",
        false,
        now(),
    );
    let bottom = op.screen(80, 24).lines().last().unwrap().to_string();
    assert!(bottom.ends_with("⚠ 30 malformed: L"), "{bottom}");
    op.app.notice = None;
    op.press(key('L'));
    for (w, h) in [(80, 24), (200, 50)] {
        let text = op.screen(w, h);
        assert!(text.contains("\\x1b[2J\\x1b[Hcleared"), "{text}");
        assert!(text.contains("\\x1b]0;owned\\x07 title"), "{text}");
        assert!(text.contains("\\xff\\xfe not utf-8"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        insta::assert_snapshot!(format!("malformed_{w}x{h}"), text);
    }
    // Newest first, scrolled like every list: j, G, g, PgDn.
    let newest = engine().malformed().next_back().unwrap().line;
    assert_eq!(op.malformed().selected_row().unwrap().line, newest);
    op.press(key('j'));
    assert_eq!(op.malformed().selected_row().unwrap().line, newest - 1);
    op.press(key('G'));
    assert_eq!(op.malformed().selected_row().unwrap().line, newest - 29);
    op.press(key('g'));
    op.press(code(KeyCode::PageDown));
    assert_eq!(op.malformed().selected_row().unwrap().line, newest - 10);
    // A page smaller than the list: moving past it copies the next one.
    op.app.page = 4;
    op.copy();
    op.press(key('G'));
    let last = op.malformed();
    assert_eq!((last.total, last.rows.len()), (30, 4));
    assert_eq!(last.selected_row().unwrap().line, newest - 29);
}

/// The help screen explains every abbreviation the screens draw.
#[test]
fn the_legend_at_80x24_and_200x50() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let mut op = Operator::new();
        op.press(key('?'));
        // Scroll the help until the legend is at its top (bounded).
        for _ in 0..200 {
            let text = op.screen(w, h);
            let top = text.lines().nth(2).unwrap_or_default();
            if top.contains("Legend: Status bar") {
                break;
            }
            op.press(key('j'));
        }
        let text = op.screen(w, h);
        assert!(text.contains("Legend: Status bar"), "{text}");
        insta::assert_snapshot!(format!("legend_{w}x{h}"), text);
    }
}

/// Every upper-case abbreviation and each short form the screens draw is
/// in the legend (or is a word, listed here).
#[test]
fn every_abbreviation_on_screen_is_in_the_legend() {
    let legend: String = LEGEND
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .map(|(k, what)| format!("{k} {what}\n"))
        .collect();
    let mut drawn = String::new();
    let labels = Operator::new()
        .shown
        .snap
        .model
        .as_ref()
        .unwrap()
        .labels
        .len();
    let glyphs: String = (0..labels)
        .map(crate::ui::draw::text::label_glyph)
        .collect();
    for (w, h) in [(80, 24), (120, 40), (160, 48), (200, 50)] {
        let mut op = Operator::new();
        drawn.push_str(&op.screen(w, h));
        op.press(key('H'));
        drawn.push_str(&op.screen(w, h));
        op.press(key('L'));
        drawn.push_str(&op.screen(w, h));
        op.press(key('f'));
        drawn.push_str(&op.screen(w, h));
        op.press(code(KeyCode::Esc));
        op.press(key('M'));
        drawn.push_str(&op.screen(w, h));
    }
    // The parser's words in the malformed lines' reasons, not the screens'.
    const WORDS: &[&str] = &["JSON", "UTF"];
    let mut missing = Vec::new();
    for token in drawn.split(|c: char| !(c.is_ascii_alphanumeric() || c == '²')) {
        let upper = token.len() >= 2
            && token.starts_with(|c: char| c.is_ascii_uppercase())
            && token
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        // A run of label letters is the mix over time, not a word.
        let mix = token.chars().all(|c| glyphs.contains(c));
        if upper && !mix && !WORDS.contains(&token) && !legend.contains(token) {
            missing.push(token.to_string());
        }
    }
    for short in [
        "now/base",
        "realized (lab.)",
        "effect ≥need",
        "W1 norm",
        "KS D",
        "P–H",
        "Page–Hink",
        "W1/σ",
        "W1 norm",
        "chi²",
        "lab.",
        "conf",
        "cbpe",
        "mean conf",
        "preds",
        "win",
        "base",
        "rate/s",
        "crit",
        "warn",
        "evicted",
        "waited",
        "#",
    ] {
        let on_screen = drawn.contains(short);
        if on_screen && !legend.to_lowercase().contains(&short.to_lowercase()) {
            missing.push(short.to_string());
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "not in the legend: {missing:?}");
}

/// At 80 columns the key line leads with deciding, the kill switch and
/// help; less used keys give way first.
#[test]
fn the_key_line_shows_the_important_keys_first() {
    let mut op = Operator::new();
    let bottom = op.screen(80, 24).lines().last().unwrap().to_string();
    let at = |word: &str| {
        bottom
            .find(word)
            .unwrap_or_else(|| panic!("{word} not in {bottom:?}"))
    };
    assert!(at("a approve") < at("o override"), "{bottom}");
    assert!(at("o override") < at("K KILL"), "{bottom}");
    assert!(at("K KILL") < at("? help"), "{bottom}");
    assert!(!bottom.contains("rebaseline"), "{bottom}");
    op.press(key('H'));
    let bottom = op.screen(80, 24).lines().last().unwrap().to_string();
    assert!(
        bottom.contains("j/k move") && bottom.contains("esc back"),
        "{bottom}"
    );
    assert!(
        bottom.contains("c active/all") && bottom.contains("K KILL"),
        "{bottom}"
    );
}

/// At 80×24 the confidence chart has six plot rows and its time axis says
/// UTC clock times, the right end being now.
#[test]
fn the_chart_has_six_rows_and_clock_times_at_80x24() {
    let op = Operator::new();
    let text = op.screen(80, 24);
    let lines: Vec<&str> = text.lines().collect();
    let title = lines
        .iter()
        .position(|l| l.starts_with("Confidence"))
        .unwrap();
    let axis = lines.iter().position(|l| l.contains(" UTC")).unwrap();
    assert!(axis - title > 6, "{} plot rows:\n{text}", axis - title - 1);
    let now_label = format!("{} UTC", crate::ui::draw::text::clock(now()));
    assert!(
        lines[axis].contains(&now_label),
        "{now_label}: {}",
        lines[axis]
    );
    // And a left edge a clock time too (HH:MM:SS).
    let left = lines[axis].split_whitespace().next().unwrap();
    assert!(
        left.len() == 8 && left.chars().filter(|&c| c == ':').count() == 2,
        "{left}"
    );
}

/// K, Tab, a note, Enter: back at the question, which waits out its arming
/// delay again, so a note ending in Enter then y (a paste sent as keys)
/// cannot trip. The note is the trip's reason; no note trips as before.
#[test]
fn a_trip_note_never_trips_and_the_question_arms_again() {
    let mut op = Operator::new();
    let t0 = now();
    op.press_at(key('K'), t0);
    op.press_at(code(KeyCode::Tab), t0 + ARMING_MS + 10);
    for c in "rollback yes".chars() {
        assert_eq!(op.press_at(key(c), t0 + ARMING_MS + 20), None);
    }
    // While the note is typed a paste is note text, never an answer.
    op.app.on_paste("\ny", t0 + ARMING_MS + 30);
    assert!(matches!(
        op.app.dialog,
        Some(Dialog::ConfirmTrip { writing: true, .. })
    ));
    let back = t0 + ARMING_MS + 40;
    assert_eq!(op.press_at(code(KeyCode::Enter), back), None);
    let text = op.screen(100, 30);
    assert!(text.contains("note: rollback yes y"), "{text}");
    assert!(text.contains("read first"), "{text}");
    // y right after the note: refused, nothing tripped.
    assert_eq!(op.press_at(key('y'), back + 1), None);
    assert!(op.app.dialog.is_none());
    // Once armed again, y trips with the note as its reason.
    op.press_at(key('K'), back);
    op.press_at(code(KeyCode::Tab), back);
    op.app.on_paste("INC-7", back);
    op.press_at(code(KeyCode::Enter), back + 5);
    assert_eq!(
        op.press_at(key('y'), back + 5 + ARMING_MS),
        Some(Effect::Trip {
            model: "ticket-router@2.1".into(),
            note: Some("INC-7".into())
        })
    );
    // No note: as before.
    op.press_at(key('K'), back);
    assert_eq!(
        op.press_at(code(KeyCode::Enter), back + ARMING_MS),
        Some(Effect::Trip {
            model: "ticket-router@2.1".into(),
            note: None
        })
    );
}

/// e asks for an optional note; Enter escalates with it (or without).
#[test]
fn escalate_and_override_carry_an_optional_note() {
    let mut op = Operator::new();
    let case = op.app.shown_case(&op.shown).cloned().unwrap();
    assert_eq!(op.press(key('e')), None);
    assert!(matches!(op.app.dialog, Some(Dialog::Escalate { .. })));
    assert_eq!(
        op.press(code(KeyCode::Enter)),
        Some(Effect::Decide {
            shown: Box::new(case.clone()),
            decision: Decision::Escalate,
            note: None
        })
    );
    op.press(key('e'));
    for c in "needs legal".chars() {
        op.press(key(c));
    }
    op.app.on_paste("\r\nsee\x1b[2J doc", now());
    let text = op.screen(80, 24);
    assert!(text.contains("note: needs legal see[2J doc"), "{text}");
    assert_eq!(
        op.press(code(KeyCode::Enter)),
        Some(Effect::Decide {
            shown: Box::new(case.clone()),
            decision: Decision::Escalate,
            note: Some("needs legal see[2J doc".into())
        })
    );
    // Override: Tab to the new label, Tab to the note, Enter records the
    // listed label with the note.
    op.press(key('o'));
    op.press(code(KeyCode::Tab));
    op.press(code(KeyCode::Tab));
    for c in "Ab".chars() {
        op.press(key(c));
    }
    match op.press(code(KeyCode::Enter)) {
        Some(Effect::Decide {
            shown,
            decision: Decision::Override(label),
            note,
        }) => {
            assert_eq!(*shown, case);
            assert_ne!(label, case.label);
            assert_eq!(note.as_deref(), Some("Ab"));
        }
        other => panic!("{other:?}"),
    }
}

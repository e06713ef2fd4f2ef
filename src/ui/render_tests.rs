//! The whole screen drawn into a `TestBackend` from a fixed state (demo
//! lines with fixed timestamps, a fixed clock), fed keys like an
//! operator, and snapshotted (`src/ui/snapshots/`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{ARMING_MS, App, Panel};
use super::dialog::Dialog;
use super::draw::{ScreenContext, draw};
use super::effect::Effect;
use super::fixture;
use super::review_page::{ReviewPage, Shown};
use crate::decision::kill_switch::SwitchState;
use crate::engine::{Decision, Engine};
use crate::live::desk::KillView;

/// Predictions fed: past the baseline (2,000) and into the demo's drift
/// episode (from 12,000), so alerts and detectors have something to say.
const FED: u64 = 14_000;

/// Built once (slow in a debug build) and shared read-only, so the tests
/// run in parallel; tests that change the engine build their own.
static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();

fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| fixture::demo_engine(7, FED))
}

fn now() -> i64 {
    fixture::now_after(FED)
}

fn snap(engine: &Engine, app: &App) -> Shown {
    Shown::take(engine, app.model.as_deref(), &app.query())
}

fn render(w: u16, h: u16, app: &App, snap: &Shown, ctx: &ScreenContext<'_>) -> String {
    fixture::render_text(w, h, app, snap, ctx)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

struct Fixture {
    engine: &'static Engine,
    app: App,
    sources: Vec<crate::source::SourceStatus>,
}

impl Fixture {
    fn new() -> Fixture {
        let engine = engine();
        let lines = engine.counters().lines;
        let mut app = fixture::app();
        app.page = 60;
        let s = snap(engine, &app);
        app.sync(&s);
        Fixture {
            engine,
            app,
            sources: fixture::sources(lines),
        }
    }

    fn snap(&mut self) -> Shown {
        let s = snap(self.engine, &self.app);
        self.app.sync(&s);
        s
    }

    fn ctx(&self) -> ScreenContext<'_> {
        fixture::context(now(), &self.sources)
    }
}

#[test]
fn main_screen_80x24() {
    let mut f = Fixture::new();
    let s = f.snap();
    insta::assert_snapshot!("main_80x24", render(80, 24, &f.app, &s, &f.ctx()));
}

/// The mix's rows keep their figures whole, a share moved by 20 points
/// among them: a long label gives way first.
#[test]
fn the_mix_keeps_its_figures_whole() {
    let mut f = Fixture::new();
    let s = f.snap();
    for (w, h) in [(80, 24), (100, 30), (140, 40)] {
        let text = render(w, h, &f.app, &s, &f.ctx());
        let deltas: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("% base "))
            .map(|l| l.trim_end_matches('│').rsplit('%').next().unwrap().trim())
            .collect();
        assert_eq!(deltas.len(), 4, "{text}");
        assert!(deltas.iter().any(|d| d.len() >= 5), "{deltas:?}");
        for d in deltas {
            let digits = d.trim_start_matches(['▲', '▼', '+', '-']);
            assert!(
                digits.parse::<f64>().is_ok()
                    && digits
                        .split_once('.')
                        .is_some_and(|(_, tenths)| tenths.len() == 1),
                "{d:?} at {w}x{h}:\n{text}"
            );
        }
    }
}

#[test]
fn main_screen_160x48() {
    let mut f = Fixture::new();
    let s = f.snap();
    insta::assert_snapshot!("main_160x48", render(160, 48, &f.app, &s, &f.ctx()));
}

#[test]
fn help_screen_lists_the_live_keymap() {
    let mut f = Fixture::new();
    let s = f.snap();
    assert_eq!(f.app.on_key(key('?'), &s, now()), None);
    let text = render(100, 40, &f.app, &s, &f.ctx());
    assert!(
        text.contains("kill_switch") && text.contains("j/↓"),
        "{text}"
    );
    insta::assert_snapshot!("help_100x40", text);
}

#[test]
fn kill_switch_trip_dialog_names_the_model_and_each_actuator() {
    let mut f = Fixture::new();
    let s = f.snap();
    assert_eq!(f.app.on_key(key('K'), &s, now()), None);
    let mut ctx = f.ctx();
    ctx.plan = vec![
        "flag file /run/ticket-router.killed: write state tripped atomically".into(),
        "http POST https://gateway.internal/kill (expects 2xx)".into(),
    ];
    // Until it is armed, the dialog does not offer the confirmation key.
    let arming = render(100, 30, &f.app, &s, &ctx);
    assert!(arming.contains("read first"), "{arming}");
    assert!(!arming.contains("y / Enter"), "{arming}");
    let armed_at = now() + ARMING_MS;
    ctx.now_ms = armed_at;
    let text = render(100, 30, &f.app, &s, &ctx);
    assert!(
        text.contains("Stop the model ticket-router@2.1 now?"),
        "{text}"
    );
    insta::assert_snapshot!("trip_dialog_100x30", text);
    // y before the dialog could be read (a paste sent as keys) does not
    // trip: it closes the dialog with a notice.
    assert_eq!(f.app.on_key(key('y'), &s, armed_at - 1), None);
    assert!(f.app.dialog.is_none());
    assert!(f.app.notice.as_ref().is_some_and(|n| n.error));
    // Any key but y or Enter cancels.
    f.app.on_key(key('K'), &s, now());
    assert_eq!(f.app.on_key(key('e'), &s, armed_at), None);
    assert!(f.app.dialog.is_none());
    // y once armed confirms: the trip is for the model that was named.
    f.app.on_key(key('K'), &s, now());
    let effect = f.app.on_key(key('y'), &s, armed_at);
    assert_eq!(
        effect,
        Some(Effect::Trip {
            model: "ticket-router@2.1".into(),
            note: None,
        })
    );
    assert!(f.app.dialog.is_none());
}

/// A paste never acts: outside a text field it is ignored (closing a
/// yes/no dialog), inside one it is text.
#[test]
fn a_paste_is_text_never_keys() {
    let mut f = Fixture::new();
    let s = f.snap();
    f.app.on_key(key('K'), &s, now());
    f.app
        .on_paste("Key rotation done, yes yes\ny", now() + ARMING_MS);
    assert!(f.app.dialog.is_none());
    assert!(
        f.app
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("paste ignored"))
    );
    f.app.on_key(key('R'), &s, now());
    f.app.on_paste("ticket-router@2.1\n", now());
    match &f.app.dialog {
        Some(Dialog::ConfirmReset { typed, .. }) => assert_eq!(typed, "ticket-router@2.1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reset_dialog_needs_the_model_name_typed() {
    let mut f = Fixture::new();
    let s = f.snap();
    f.app.on_key(key('R'), &s, now());
    for c in "ticket-rou".chars() {
        assert_eq!(f.app.on_key(key(c), &s, now()), None);
    }
    let mut ctx = f.ctx();
    ctx.kill.state = SwitchState::Tripped;
    ctx.plan = vec!["flag file /run/ticket-router.killed: write state armed atomically".into()];
    insta::assert_snapshot!("reset_dialog_100x30", render(100, 30, &f.app, &s, &ctx));
    // Enter before the name is complete is refused and the dialog stays.
    assert_eq!(f.app.on_key(code(KeyCode::Enter), &s, now()), None);
    assert!(matches!(f.app.dialog, Some(Dialog::ConfirmReset { .. })));
    assert!(f.app.notice.as_ref().is_some_and(|n| n.error));
    for c in "ter@2.1".chars() {
        f.app.on_key(key(c), &s, now());
    }
    assert_eq!(
        f.app.on_key(code(KeyCode::Enter), &s, now()),
        Some(Effect::Reset {
            model: "ticket-router@2.1".into(),
            typed: "ticket-router@2.1".into()
        })
    );
}

/// A dialog is as tall as its wrapped text: the last line, the keys to
/// press or the name being typed, is always on screen.
#[test]
fn wrapped_dialog_text_keeps_the_last_line_on_screen() {
    let mut f = Fixture::new();
    let s = f.snap();
    let sources = f.sources.clone();
    let ctx = fixture::context(now(), &sources);
    f.app.dialog = Some(Dialog::ConfirmRebaseline {
        model: "ticket-router@2.1".into(),
    });
    let screen = render(100, 30, &f.app, &s, &ctx);
    assert!(screen.contains("Recorded in the audit log."), "{screen}");
    assert!(screen.contains(" re-baseline "), "{screen}");
    f.app.dialog = Some(Dialog::ConfirmReset {
        model: "ticket-router@2.1".into(),
        typed: "tick".into(),
    });
    let screen = render(64, 26, &f.app, &s, &ctx);
    assert!(screen.contains("> tick▏"), "{screen}");
}

#[test]
fn not_confirmed_shows_what_failed() {
    let mut f = Fixture::new();
    let s = f.snap();
    let mut ctx = f.ctx();
    ctx.kill = KillView {
        state: SwitchState::NotConfirmed,
        lines: vec![
            "ok   flag file /run/ticket-router.killed: write state tripped atomically -> written (2 ms)".into(),
            "FAIL http POST https://gateway.internal/kill -> connection refused (5 ms)".into(),
        ],
        record_missing: None,
    };
    let text = render(100, 30, &f.app, &s, &ctx);
    assert!(text.contains("KILL: NOT CONFIRMED"), "{text}");
    assert!(text.contains("FAIL http POST"), "{text}");
    assert!(!text.contains("TRIPPED"), "{text}");
    insta::assert_snapshot!("not_confirmed_100x30", text);
}

/// The team's cluster unreachable at 80×24: the banner says decisions are
/// refused and what goes on, and the dashboard keeps its charts.
#[test]
fn team_link_down_is_a_banner_at_80x24() {
    let mut f = Fixture::new();
    let s = f.snap();
    let mut ctx = f.ctx();
    ctx.team_down = Some(
        "decisions refused: team link down (no servers available for connection); monitoring and the kill switch go on"
            .into(),
    );
    let text = render(80, 24, &f.app, &s, &ctx);
    assert!(
        text.contains("⚠ TEAM: decisions refused: team link down"),
        "{text}"
    );
    assert!(text.contains("KILL: ARMED"), "{text}");
    insta::assert_snapshot!("team_down_80x24", text);
}

#[test]
fn too_small_terminal_says_so() {
    let mut f = Fixture::new();
    let s = f.snap();
    let text = render(50, 15, &f.app, &s, &f.ctx());
    assert!(text.contains("terminal too small") && text.contains("KILL: ARMED"));
    insta::assert_snapshot!("too_small_50x15", text);
}

#[test]
fn no_size_panics() {
    let mut f = Fixture::new();
    let s = f.snap();
    let sources = f.sources.clone();
    let mut ctx = fixture::context(now(), &sources);
    ctx.refusal = Some("read-only mode: actions are disabled".into());
    ctx.kill.state = SwitchState::NotConfirmed;
    ctx.kill.lines = vec!["FAIL x -> y".into(); 3];
    let mut t = Terminal::new(TestBackend::new(0, 0)).unwrap();
    // Dialogs draw over every panel: cover them too, at every size.
    let dialogs = [
        None,
        Some(Dialog::Help { scroll: 0 }),
        Some(Dialog::confirm_trip("m".into())),
    ];
    for h in 0..=60u16 {
        for w in 0..=200u16 {
            f.app.dialog = dialogs[usize::from(w + h) % dialogs.len()].clone();
            t.backend_mut().resize(w, h);
            t.autoresize().unwrap();
            t.draw(|frame| draw(frame, &f.app, &s, &ctx)).unwrap();
        }
    }
}

/// Keys act on the snapshot on screen (the app never reads the engine), so
/// a decision is about the case the operator saw, whatever arrived since.
#[test]
fn a_decision_applies_to_the_case_on_screen() {
    let engine = fixture::demo_engine(7, 3_000);
    let mut app = fixture::app();
    let shown = snap(&engine, &app);
    app.sync(&shown);
    let seen = app.shown_case(&shown).cloned().expect("a case is selected");
    let effect = app.on_key(key('a'), &shown, now());
    assert_eq!(
        effect,
        Some(Effect::Decide {
            shown: Box::new(seen.clone()),
            decision: Decision::Approve,
            note: None,
        })
    );
    // Override: the picker keeps the case it opened on (and starts on a
    // label other than the model's).
    app.on_key(key('o'), &shown, now());
    match app.on_key(code(KeyCode::Enter), &shown, now()) {
        Some(Effect::Decide {
            shown: case,
            decision: Decision::Override(label),
            note: None,
        }) => {
            assert_eq!(*case, seen);
            assert_ne!(label, seen.label);
        }
        other => panic!("{other:?}"),
    }
    // A listed label's letter picks it at once.
    app.on_key(key('o'), &shown, now());
    let labels = shown.snap.model.as_ref().unwrap().labels.clone();
    assert!(matches!(
        app.on_key(key('B'), &shown, now()),
        Some(Effect::Decide { decision: Decision::Override(l), .. }) if l == labels[1]
    ));
    // A new label is typed after Tab and needs Enter twice.
    app.on_key(key('o'), &shown, now());
    app.on_key(code(KeyCode::Tab), &shown, now());
    for c in "spam".chars() {
        app.on_key(key(c), &shown, now());
    }
    assert_eq!(app.on_key(code(KeyCode::Enter), &shown, now()), None);
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("new label"))
    );
    assert!(matches!(
        app.on_key(code(KeyCode::Enter), &shown, now()),
        Some(Effect::Decide { decision: Decision::Override(l), .. }) if l == "spam"
    ));
}

/// Paused, scrolling past the copied cases copies the page around the
/// selection again (the loop does this), and the highlight follows.
#[test]
fn scrolling_past_the_copied_page_is_detected_and_followed() {
    let mut f = Fixture::new();
    f.app.page = 4;
    let mut s = f.snap();
    assert!(!f.app.left_page(&s));
    for _ in 0..6 {
        f.app.on_key(key('j'), &s, now());
    }
    assert_eq!(f.app.review.position, 6);
    assert!(f.app.left_page(&s));
    let name = s.snap.model.as_ref().unwrap().name.clone();
    s.review = ReviewPage::take(f.engine, &name, &f.app.query().review);
    f.app.sync(&s);
    assert!(!f.app.left_page(&s));
    let view = &s.review;
    let at = f.app.shown_case(&s).unwrap().seq;
    assert_eq!(view.rows[6 - view.start].seq, at);
}

#[test]
fn navigation_focus_order_filter_and_quit() {
    let mut f = Fixture::new();
    let s = f.snap();
    let first = f.app.shown_case(&s).unwrap().seq;
    f.app.on_key(key('j'), &s, now());
    let second = f.app.shown_case(&s).unwrap().seq;
    assert_ne!(first, second);
    f.app.on_key(code(KeyCode::Up), &s, now());
    assert_eq!(f.app.shown_case(&s).unwrap().seq, first);
    f.app.on_key(key('G'), &s, now());
    let s = f.snap();
    assert_eq!(f.app.review.position, s.review.total - 1);
    f.app.on_key(key('g'), &s, now());
    assert_eq!(f.app.review.position, 0);
    // Tab moves the focus to the alerts; A then acknowledges the selected one.
    assert_eq!(f.app.focus, Panel::Review);
    f.app.on_key(code(KeyCode::Tab), &s, now());
    assert_eq!(f.app.focus, Panel::Alerts);
    let alert = f
        .app
        .shown_alert(&s.snap)
        .cloned()
        .expect("the fixture has alerts");
    assert_eq!(
        f.app.on_key(key('A'), &s, now()),
        Some(Effect::Acknowledge(alert))
    );
    f.app.on_key(key('S'), &s, now());
    assert_eq!(
        f.app.order,
        crate::engine::review_query::ReviewOrder::LowestConfidenceFirst
    );
    f.app.on_key(key('/'), &s, now());
    for c in "t-00".chars() {
        f.app.on_key(key(c), &s, now());
    }
    // Typing a filter is not a command: q is a letter here.
    f.app.on_key(key('q'), &s, now());
    assert_eq!(f.app.filter.as_deref(), Some("t-00q"));
    f.app.on_key(code(KeyCode::Esc), &s, now());
    assert_eq!(f.app.filter, None);
    f.app.on_key(key('m'), &s, now());
    assert_eq!(f.app.model.as_deref(), Some("fraud@3"));
    f.app.on_key(key('p'), &s, now());
    assert!(f.app.paused);
    // q in a dialog does not quit; Esc closes it; q then quits.
    f.app.on_key(key('b'), &s, now());
    assert!(matches!(
        f.app.dialog,
        Some(Dialog::ConfirmRebaseline { .. })
    ));
    f.app.on_key(code(KeyCode::Esc), &s, now());
    assert!(f.app.dialog.is_none());
    assert_eq!(f.app.on_key(key('q'), &s, now()), Some(Effect::Quit));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    f.app.on_key(key('?'), &s, now());
    assert_eq!(f.app.on_key(ctrl_c, &s, now()), Some(Effect::Quit));
}

#[test]
fn read_only_refuses_the_kill_switch_before_any_dialog() {
    let mut f = Fixture::new();
    let s = f.snap();
    f.app.trip_block = Some("read-only mode: the kill switch is disabled".into());
    f.app.on_key(key('K'), &s, now());
    assert!(f.app.dialog.is_none());
    let mut ctx = f.ctx();
    ctx.refusal = Some("read-only mode: actions are disabled".into());
    let text = render(100, 30, &f.app, &s, &ctx);
    assert!(text.contains("ACTIONS REFUSED: read-only mode"), "{text}");
    assert!(text.contains("kill switch unavailable"), "{text}");
}

#[test]
#[ignore = "prints the screen at a size given in MW_SIZE, for looking at by hand"]
fn print_screen() {
    let size = std::env::var("MW_SIZE").unwrap_or_else(|_| "60x20".into());
    let (w, h) = size.split_once('x').unwrap();
    let mut f = Fixture::new();
    let s = f.snap();
    println!(
        "{}",
        render(w.parse().unwrap(), h.parse().unwrap(), &f.app, &s, &f.ctx())
    );
}

//! Hostile text through every panel into a real terminal backend
//! (`CrosstermBackend` writing bytes): the only escape sequences in the
//! output are the renderer's own CSI sequences; nothing from the data
//! (OSC, DCS, C1, bidi, zero-width, CR, BEL) reaches the terminal.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::app::{App, Panel};
use super::dialog::{Dialog, LabelPicker};
use super::draw::{ScreenContext, draw};
use super::fixture;
use super::keymap::Action;
use super::note::Note;
use super::review_page::Shown;
use super::screen::Screen;
use crate::decision::kill_switch::SwitchState;
use crate::engine::settings::BaselineSpec;
use crate::engine::{Engine, EngineSettings, LineOrigin};
use crate::live::desk::KillView;
use crate::record::Parser;
use crate::source::{SourceState, SourceStatus};

fn corpus() -> Vec<String> {
    vec![
        "\x1b[2Jclear".into(),
        "\x1b]52;c;SGVsbG8=\x07clip".into(),
        "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\".into(),
        "\x1b]0;pwned title\x07".into(),
        "\x1bP+q544e\x1b\\dcs".into(),
        "\u{9b}31mc1".into(),
        "lone\rcr".into(),
        "\x1b]2;unterminated osc".into(),
        "\u{202e}gnp.exe".into(),
        "zero\u{200d}width\u{200b}joiner\u{feff}".into(),
        // Within the 256-byte cap on names and labels (a longer one is malformed).
        format!("zalgo{}", "\u{301}".repeat(100)),
        "bell\x07back\x08nul\x00del\x7f".into(),
        "nel\u{85}csi\u{9b}?1049h".into(),
        "wide東京🙂".into(),
    ]
}

/// A writer the test can read back after the terminal wrote to it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hostile_engine() -> Engine {
    let settings = EngineSettings {
        baseline: BaselineSpec::Count(20),
        window: 20,
        ..EngineSettings::default()
    };
    let mut e = Engine::new(settings);
    let now = fixture::T0;
    let mut n = 0u64;
    let mut feed = |e: &mut Engine, line: &[u8], source: &str| {
        n += 1;
        e.ingest_line(
            &Parser::default(),
            line,
            LineOrigin { source, line: n },
            now + n as i64,
        );
    };
    for (k, h) in corpus().iter().enumerate() {
        for i in 0..60 {
            let label = if i % 2 == 0 { h.as_str() } else { "ok" };
            let conf = if i < 30 {
                0.9
            } else {
                0.2 + (i % 5) as f64 * 0.05
            };
            let event = serde_json::json!({
                "ts": now + i,
                "id": format!("{h}-{i}"),
                "model": format!("m{k}{h}"),
                "version": h,
                "prediction": label,
                "confidence": conf,
                "probs": { h.as_str(): conf, "ok": 1.0 - conf },
                "segment": h,
                "input": { "text": h, h.as_str(): [h, {"nested": h}] },
            });
            feed(&mut e, event.to_string().as_bytes(), h);
            let fb = serde_json::json!({"type": "feedback", "id": format!("{h}-{i}"), "label": h});
            feed(&mut e, fb.to_string().as_bytes(), h);
        }
        // Not JSON at all, raw control bytes and all.
        feed(&mut e, h.as_bytes(), h);
        feed(
            &mut e,
            format!("{{\"model\": \"{h}\", broken").as_bytes(),
            h,
        );
    }
    // Enough malformed lines in a row for a malformed-burst alert.
    for _ in 0..200 {
        feed(&mut e, b"\x1b]52;c;AAAA\x07 \xff\xfe", "\x1b]0;src\x07");
    }
    e
}

fn render_bytes(w: u16, h: u16, app: &App, snap: &Shown, ctx: &ScreenContext<'_>) -> Vec<u8> {
    let out = Shared::default();
    let backend = CrosstermBackend::new(out.clone());
    let mut t = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )
    .unwrap();
    t.draw(|f| draw(f, app, snap, ctx)).unwrap();
    drop(t);
    out.0.lock().unwrap().clone()
}

fn assert_clean(bytes: &[u8], what: &str) {
    for (i, &b) in bytes.iter().enumerate() {
        if b == 0x1b {
            assert_eq!(
                bytes.get(i + 1),
                Some(&b'['),
                "{what}: ESC not followed by [ at {i}: {:?}",
                String::from_utf8_lossy(&bytes[i..(i + 20).min(bytes.len())])
            );
        } else {
            assert!(
                b >= 0x20 && b != 0x7f,
                "{what}: control byte {b:#x} at {i}: {:?}",
                String::from_utf8_lossy(&bytes[i.saturating_sub(20)..(i + 20).min(bytes.len())])
            );
        }
    }
    let text = String::from_utf8(bytes.to_vec()).expect("the output is UTF-8");
    for bad in ["\x1b]", "\x1bP", "\x1b\\", "\r", "\x07"] {
        assert!(!text.contains(bad), "{what}: {bad:?} in the output");
    }
    for c in text.chars() {
        let cp = c as u32;
        assert!(
            !(0x80..=0x9f).contains(&cp),
            "{what}: C1 {cp:#x} in the output"
        );
        assert!(
            !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}' | '\u{feff}'),
            "{what}: invisible {cp:#x} in the output"
        );
    }
    assert!(
        !text.contains(&"\u{301}".repeat(3)),
        "{what}: combining pile-up"
    );
}

#[test]
fn no_control_sequence_from_the_data_reaches_the_terminal() {
    let engine = hostile_engine();
    let corpus = corpus();
    let mut sources: Vec<SourceStatus> = corpus
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut s = SourceStatus::new(i, h.clone());
            s.state = match i % 4 {
                0 => SourceState::Failed(h.clone()),
                1 => SourceState::Waiting(h.clone()),
                2 => SourceState::Reconnecting { at_ms: fixture::T0 },
                _ => SourceState::Following,
            };
            s.last_error = Some(h.clone());
            s.errors = 3;
            s
        })
        .collect();
    sources.truncate(4);
    let now = fixture::T0 + 60_000;
    let names: Vec<String> = engine.models().iter().map(|m| m.name.clone()).collect();
    assert!(names.len() >= corpus.len());
    let mut seen = String::new();
    for (k, name) in names.iter().enumerate() {
        let h = &corpus[k % corpus.len()];
        let mut app = fixture::app();
        app.model = Some(name.clone());
        app.filter = (k % 3 == 0).then(|| h.chars().take(8).collect());
        app.page = 40;
        app.focus = if k % 2 == 0 {
            Panel::Review
        } else {
            Panel::Alerts
        };
        app.notice(h.clone(), k % 2 == 0, now);
        let mut snap = Shown::take(&engine, Some(name), &app.query());
        if snap.review.rows.is_empty() {
            app.filter = None;
            snap = Shown::take(&engine, Some(name), &app.query());
        }
        app.sync(&snap);
        let case = app
            .shown_case(&snap)
            .cloned()
            .expect("hostile cases are queued");
        let labels = snap.snap.model.as_ref().unwrap().labels.clone();
        let dialogs = [
            None,
            Some(Dialog::Help { scroll: 0 }),
            Some(Dialog::confirm_trip(name.clone())),
            Some(Dialog::ConfirmReset {
                model: name.clone(),
                typed: h.clone(),
            }),
            Some(Dialog::ConfirmRebaseline {
                model: name.clone(),
            }),
            Some(Dialog::PickLabel(Box::new(LabelPicker::new(
                case.clone(),
                labels,
            )))),
            Some(Dialog::Escalate {
                case: Box::new(case),
                note: Note::default(),
            }),
        ];
        // Every dialog over the dashboard, then each screen on its own.
        let screens = std::iter::repeat_n(Screen::Dashboard, 7).chain(
            [Action::AlertHistory, Action::MalformedLines].map(|a| {
                Screen::Dashboard
                    .toggled(a)
                    .expect("the key opens its screen")
            }),
        );
        for (dialog, screen) in dialogs.into_iter().chain([None, None]).zip(screens) {
            app.dialog = dialog;
            app.screen = screen;
            let snap = Shown::take(&engine, Some(name), &app.query());
            let ctx = ScreenContext {
                now_ms: now,
                sources: &sources,
                rate: 12.0,
                kill: KillView {
                    state: if k % 2 == 0 {
                        SwitchState::NotConfirmed
                    } else {
                        SwitchState::Tripped
                    },
                    lines: vec![format!("FAIL {h} -> {h}"), format!("ok   {h}")],
                    record_missing: Some(h.clone()),
                },
                kill_elsewhere: vec![(h.clone(), SwitchState::Tripped)],
                refusal: Some(format!("decisions stopped: {h}")),
                team_down: Some(format!("team link down ({h})")),
                paused_new: Some(3),
                plan: vec![h.clone(), format!("command {h}")],
                closing: None,
            };
            for (w, ht) in [(200, 60), (80, 24), (61, 21), (50, 15)] {
                let bytes = render_bytes(w, ht, &app, &snap, &ctx);
                assert_clean(&bytes, &format!("model {k} at {w}×{ht}"));
                if w == 200 {
                    seen.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
    }
    // The data was drawn, escaped: not silently left out.
    for shown in [
        "\\x1b]52;c;",
        "\\u{202e}gnp",
        "\\x9b31m",
        "lone\\rcr",
        "\\x1bP+q",
        "\\xff\\xfe",
    ] {
        assert!(seen.contains(shown), "{shown} never drawn");
    }
}

#[test]
fn the_renderer_output_is_checked_for_real() {
    // The check itself catches raw data: a hostile string drawn unescaped
    // would fail it.
    let raw = b"\x1b[1mok\x1b]52;c;AA\x07";
    let caught = std::panic::catch_unwind(|| assert_clean(raw, "raw"));
    assert!(caught.is_err());
}

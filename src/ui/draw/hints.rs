//! The bottom line: the filter being typed, the last outcome, or key hints
//! generated from the keymap (the most important first, so a narrow
//! terminal keeps deciding, the kill switch and help), and at its right
//! end, whenever there are any, the count of malformed lines and the key
//! that lists them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::ScreenContext;
use super::text::{count, cut, fit, safe};
use crate::engine::snapshot::Snapshot;
use crate::ui::app::App;
use crate::ui::keymap::Action;
use crate::ui::screen::Screen;

pub fn hint_bar(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
) {
    let theme = &app.theme;
    let tag = malformed_tag(app, snap);
    let tag_w = tag.as_ref().map_or(0, |t| t.width());
    let width = usize::from(area.width).saturating_sub(tag_w);
    let line = if app.editing_filter {
        Line::from(vec![
            Span::styled(" filter: ", theme.key),
            Span::styled(
                format!("{}▏", fit(app.filter.as_deref().unwrap_or(""), 60)),
                theme.text,
            ),
            Span::styled("  Enter keep · Esc clear", theme.dim),
        ])
    } else if let Some(n) = app.live_notice(ctx.now_ms) {
        let (mark, style) = if n.error {
            ("✗ ", theme.notice_err)
        } else {
            ("✓ ", theme.notice_ok)
        };
        Line::styled(cut(&format!(" {mark}{} ", safe(&n.text)), width), style)
    } else {
        let mut spans = Vec::new();
        let mut used = 0usize;
        for (key, word) in hints(app) {
            let w = key.width() + word.width() + 3;
            if used + w > width {
                break;
            }
            used += w;
            spans.push(Span::styled(format!(" {key}"), theme.key));
            spans.push(Span::styled(format!(" {word} "), theme.dim));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
    if let Some(tag) = tag {
        let x = area.x + area.width.saturating_sub(tag_w as u16);
        frame.render_widget(
            Paragraph::new(Line::styled(tag, theme.warn)),
            Rect {
                x,
                width: area.width.min(tag_w as u16),
                ..area
            },
        );
    }
}

/// The hints of the screen on show: a list screen's own keys with the kill
/// switch among the first, else the dashboard's from the keymap.
fn hints(app: &App) -> Vec<(String, &'static str)> {
    let keymap = &app.keymap;
    if app.screen.is_dashboard() {
        return keymap.hints();
    }
    let mut hints = vec![(
        format!(
            "{}/{}",
            keymap.first_key(Action::MoveDown),
            keymap.first_key(Action::MoveUp)
        ),
        "move",
    )];
    let alerts = matches!(app.screen, Screen::Alerts { .. });
    if alerts {
        hints.extend(keymap.hints_of(&[(Action::AlertDetail, "detail")]));
    }
    hints.extend(keymap.hints_of(&[(Action::KillSwitch, "KILL")]));
    hints.push((String::from("esc"), "back"));
    if alerts {
        hints.extend(keymap.hints_of(&[
            (Action::FilterActive, "active/all"),
            (Action::FilterSeverity, "severity"),
            (Action::Acknowledge, "ack"),
        ]));
    }
    hints.extend(keymap.hints_of(&[(Action::Help, "help")]));
    hints
}

/// `⚠ 37 malformed: L`, when any line was malformed and the malformed
/// lines are not already on screen.
fn malformed_tag(app: &App, snap: &Snapshot) -> Option<String> {
    let n = snap.counters.malformed;
    let key = app.keymap.first_key(Action::MalformedLines);
    let on_screen = matches!(app.screen, Screen::Malformed { .. });
    (n > 0 && !key.is_empty() && !on_screen).then(|| format!(" ⚠ {} malformed: {key} ", count(n)))
}

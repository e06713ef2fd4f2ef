//! The alert history (`H`): every alert of the model on screen and of the
//! input as a whole, active and cleared, newest first, one per row: when it
//! fired (UTC), severity and kind in words, its state, and the one-line
//! detail (escaped). The title names the filter (`f`, `F`) and how many
//! alerts it lets through; Enter shows the selected one in full.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{arrow, clock, count, cut, date_clock, fit, open_panel, pad, safe};
use crate::engine::alerts::{Alert, Severity};
use crate::ui::list_page::ListPage;
use crate::ui::screen::AlertFilter;
use crate::ui::theme::Theme;

/// The history's page and what its title says about the logs.
pub struct HistoryView<'a> {
    pub page: &'a ListPage<Alert>,
    pub filter: AlertFilter,
    pub all: usize,
    pub dropped: u64,
    /// The model on screen, if any.
    pub model: Option<&'a str>,
}

const KIND_W: usize = 25;
const STATE_W: usize = 16;

pub fn history(
    frame: &mut Frame<'_>,
    area: Rect,
    view: &HistoryView<'_>,
    theme: &Theme,
    compact: bool,
) {
    let page = view.page;
    let scope = view
        .model
        .map_or("input".to_string(), |m| format!("{} + input", fit(m, 32)));
    let dropped = if view.dropped > 0 {
        format!(" · {} oldest dropped", count(view.dropped))
    } else {
        String::new()
    };
    let title = format!(
        "Alert history · filter: {} · {} of {} · {scope}{dropped}",
        view.filter.words(),
        count(page.total as u64),
        count(view.all as u64),
    );
    let inner = open_panel(frame, area, &title, true, theme, compact);
    let width = usize::from(inner.width);
    let rows = usize::from(inner.height).saturating_sub(1);
    let header = format!(
        "  {} {} {} {} detail",
        pad("fired UTC ↓", 14),
        pad("severity", 8),
        pad("kind", KIND_W),
        pad("state", STATE_W)
    );
    let mut lines = vec![Line::styled(cut(&header, width), theme.dim)];
    if page.rows.is_empty() {
        let why = if view.all == 0 {
            "no alerts so far"
        } else {
            "no alert matches the filter (f, F change it)"
        };
        lines.push(Line::styled(format!(" {why}"), theme.dim));
    }
    let at = page.selected.unwrap_or(0);
    let first = at
        .saturating_sub(rows / 2)
        .min(page.rows.len().saturating_sub(rows));
    for (i, alert) in page.rows.iter().enumerate().skip(first).take(rows) {
        lines.push(row(alert, Some(i) == page.selected, width, theme));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(a: &Alert, selected: bool, width: usize, theme: &Theme) -> Line<'static> {
    let (severity, severity_style) = match a.severity {
        Severity::Critical => ("CRITICAL", theme.crit),
        Severity::Warning => ("warning", theme.warn),
    };
    let kind = match a.direction {
        Some(d) => format!("{} {}", a.kind.as_str(), arrow(d)),
        None => a.kind.as_str().to_string(),
    };
    let state = match (a.cleared_ts_ms, a.acknowledged) {
        (Some(t), _) => format!("cleared {}", clock(t)),
        (None, false) => "active UNACKED".to_string(),
        (None, true) => "active acked".to_string(),
    };
    let mark = if selected { "▶" } else { " " };
    let body_style = match (selected, a.is_active()) {
        (true, _) => theme.selected,
        (false, true) => theme.text,
        (false, false) => theme.dim,
    };
    let head = format!("{mark} {} ", date_clock(a.ts_ms));
    let sev = format!("{} ", pad(severity, 8));
    let mid = format!("{} {} ", pad(&kind, KIND_W), pad(&state, STATE_W));
    let used = head.chars().count() + sev.chars().count() + mid.chars().count();
    Line::from(vec![
        Span::styled(cut(&head, width), body_style),
        Span::styled(
            cut(&sev, width.saturating_sub(head.chars().count())),
            if selected {
                theme.selected
            } else {
                severity_style
            },
        ),
        Span::styled(
            cut(
                &mid,
                width.saturating_sub(head.chars().count() + sev.chars().count()),
            ),
            body_style,
        ),
        Span::styled(
            cut(&safe(&a.detail), width.saturating_sub(used)),
            body_style,
        ),
    ])
}

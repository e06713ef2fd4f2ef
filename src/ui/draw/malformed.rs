//! The malformed lines (`L`): the input lines that were not events, newest
//! first — when (UTC), source and line number, the parser's reason, and
//! the start of the line as read — and the selected one in full under the
//! list. Everything here came from the stream: the source's name and the
//! reason are escaped, the line's bytes (perhaps not UTF-8) too.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::text::{clock, count, cut, fit, open_panel, pad, safe};
use crate::engine::MalformedRecord;
use crate::record::sanitize::escape_bytes;
use crate::record::time::format_ms;
use crate::ui::list_page::ListPage;
use crate::ui::theme::Theme;

pub fn malformed(
    frame: &mut Frame<'_>,
    area: Rect,
    page: &ListPage<MalformedRecord>,
    malformed_total: u64,
    theme: &Theme,
    compact: bool,
) {
    let title = format!(
        "Malformed lines: {} in all, the last {} kept, newest first",
        count(malformed_total),
        count(page.total as u64)
    );
    let inner = open_panel(frame, area, &title, true, theme, compact);
    let Some(selected) = page.selected_row() else {
        frame.render_widget(
            Paragraph::new(Line::styled(" no malformed line so far", theme.dim)),
            inner,
        );
        return;
    };
    let width = usize::from(inner.width);
    let full = full_lines(selected, theme);
    let wrapped = Paragraph::new(full.clone())
        .wrap(Wrap { trim: false })
        .line_count(inner.width);
    let detail_h = (wrapped as u16 + 1).clamp(3, inner.height / 2);
    let [list, detail] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(detail_h)]).areas(inner);
    let rows = usize::from(list.height).saturating_sub(1);
    // Columns as wide as the rows on screen need, within a share of the width.
    let widest = |f: &dyn Fn(&MalformedRecord) -> usize| page.rows.iter().map(f).max().unwrap_or(0);
    let where_w = widest(&|r| safe(&r.source).width() + 1 + r.line.to_string().len())
        .clamp(11, (width / 4).max(11));
    let reason_w = widest(&|r| safe(&r.reason).width()).clamp(6, (width / 3).max(6));
    let header = format!(
        "  {} {} {} line as read (escaped)",
        pad("time UTC", 8),
        pad("source:line", where_w),
        pad("reason", reason_w)
    );
    let mut lines = vec![Line::styled(cut(&header, width), theme.dim)];
    let at = page.selected.unwrap_or(0);
    let first = at
        .saturating_sub(rows / 2)
        .min(page.rows.len().saturating_sub(rows));
    for (i, r) in page.rows.iter().enumerate().skip(first).take(rows) {
        let is_selected = Some(i) == page.selected;
        let text = format!(
            "{} {} {} {} {}",
            if is_selected { "▶" } else { " " },
            clock(r.at_ms),
            pad(&format!("{}:{}", safe(&r.source), r.line), where_w),
            pad(&fit(&r.reason, reason_w), reason_w),
            escape_bytes(&r.excerpt),
        );
        let style = if is_selected {
            theme.selected
        } else {
            theme.text
        };
        lines.push(Line::styled(cut(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), list);
    frame.render_widget(
        Paragraph::new(full).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(theme.border)
                .title(Span::styled("the selected line ", theme.title)),
        ),
        detail,
    );
}

/// The selected line in full: where it came from, when, why, and its
/// first bytes as read, escaped.
fn full_lines(r: &MalformedRecord, theme: &Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            Span::styled(format!("{}:{}", safe(&r.source), r.line), theme.title),
            Span::styled(format!("  read {}", format_ms(r.at_ms)), theme.dim),
        ]),
        Line::from(vec![
            Span::styled("reason: ", theme.dim),
            Span::styled(safe(&r.reason).into_owned(), theme.text),
        ]),
        Line::from(vec![
            Span::styled("line:   ", theme.dim),
            Span::styled(escape_bytes(&r.excerpt), theme.text),
        ]),
    ]
}

//! The segment breakdown under the features (`f`): one row per watched
//! segment of the model on screen (`field=value`), each against its own
//! baseline — the predictions in its sliding window, mean confidence now
//! and in its baseline (`now/base`), KS D and p, normed Wasserstein, the mix's
//! Jensen–Shannon distance, realized accuracy and how many labels it rests
//! on — and `●` where the active `segment_drift` alert lists it. The
//! figures are the segment's last test, as the snapshot copied them. The
//! values came from the stream: each name is escaped and cut.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::features::name_cell;
use super::text::{count, open_panel, p_value, pad, pct, safe, stat};
use crate::engine::snapshot::{SegmentRow, SegmentsView};
use crate::ui::list_page::page_around;
use crate::ui::theme::Theme;

/// The columns after the name: header and width.
const COLUMNS: [(&str, usize); 7] = [
    ("window", 6),
    ("now/base", 11),
    ("KS D", 5),
    ("p", 7),
    ("W1 norm", 7),
    ("JS", 5),
    ("realized (lab.)", 15),
];

/// The segments, the page around row `selected` (none: from the top; the
/// title is marked when the selection is here).
pub fn panel(
    frame: &mut Frame<'_>,
    area: Rect,
    view: Option<&SegmentsView>,
    theme: &Theme,
    compact: bool,
    selected: Option<usize>,
) {
    let inner_h = usize::from(area.height.saturating_sub(if compact { 1 } else { 2 }));
    let room = inner_h.saturating_sub(1).max(1);
    let rows = view.map_or(0..0, |v| {
        page_around(selected.unwrap_or(0), v.rows.len(), room)
    });
    let title = match view {
        None => "Segments".to_string(),
        Some(v) if v.rows.is_empty() => format!("Segments: {}", empty_title(v)),
        Some(v) => {
            let listed = v.rows.iter().filter(|r| r.in_alert).count();
            let shown = if rows.len() < v.rows.len() {
                format!(" ({}–{} shown)", rows.start + 1, rows.end)
            } else {
                String::new()
            };
            format!(
                "Segments: {} watched{shown} · ● {listed} listed by the segment_drift alert",
                v.rows.len()
            )
        }
    };
    let inner = open_panel(frame, area, &title, selected.is_some(), theme, compact);
    let width = usize::from(inner.width);
    let lines = match view {
        None => Vec::new(),
        Some(v) if v.rows.is_empty() => {
            let why = Paragraph::new(Line::styled(why_none(v), theme.dim));
            frame.render_widget(why.wrap(Wrap { trim: true }), inner);
            return;
        }
        Some(v) => {
            let name_w = name_width(&v.rows, width);
            let mut header = vec![(format!("   {}", pad("segment", name_w)), theme.dim)];
            header.extend(
                COLUMNS
                    .iter()
                    .map(|(h, w)| (format!(" {}", pad(h, *w)), theme.dim)),
            );
            let mut lines = vec![bounded(header, width)];
            lines.extend(rows.map(|i| {
                let r = &v.rows[i];
                bounded(row(r, Some(i) == selected, name_w, theme), width)
            }));
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Lines the panel has to show: the header and a row per segment, or why
/// there is none (in two lines at most).
pub fn lines_wanted(view: Option<&SegmentsView>) -> usize {
    view.map_or(1, |v| {
        if v.rows.is_empty() {
            2
        } else {
            v.rows.len() + 1
        }
    })
}

fn empty_title(v: &SegmentsView) -> &'static str {
    if v.collecting {
        "baseline collecting"
    } else {
        "none"
    }
}

/// Why no segment is watched.
fn why_none(v: &SegmentsView) -> String {
    if v.collecting {
        return "baseline collecting: segments are watched once it is frozen".into();
    }
    if v.fields.is_empty() {
        return "no segments ([segments] is off or names no field)".into();
    }
    let fields: Vec<String> = v.fields.iter().map(|f| format!("`{}`", safe(f))).collect();
    let fields = fields.join(" or ");
    if v.unwatched > 0 {
        format!(
            "no segments (no value of {fields} was common enough in the baseline; see [segments] top and min_baseline)"
        )
    } else {
        format!("no segments (the events have no {fields}; see [segments] fields)")
    }
}

/// The widest name's cells, at least the header's, within what the other
/// columns leave (and at most 32).
fn name_width(rows: &[SegmentRow], width: usize) -> usize {
    let others: usize = 3 + COLUMNS.iter().map(|(_, w)| w + 1).sum::<usize>();
    let cap = width.saturating_sub(others).clamp(8, 32);
    rows.iter()
        .map(|r| name_cell(&r.name, cap).width())
        .fold(7, usize::max)
        .min(cap)
}

fn row(r: &SegmentRow, selected: bool, name_w: usize, theme: &Theme) -> Vec<(String, Style)> {
    let (mark, mark_style) = if r.in_alert {
        ("●", theme.warn)
    } else {
        (" ", theme.text)
    };
    let name_style = if r.in_alert { theme.warn } else { theme.text };
    let opt = |x: Option<f64>| x.map_or("–".to_string(), stat);
    let c = r.last.map(|l| l.comparison);
    let ks = c.and_then(|c| c.ks);
    let now = r.last.map_or("–".to_string(), |l| stat(l.mean));
    let realized = match r.accuracy() {
        Some(a) => format!("{} ({})", pct(a), count(r.labelled)),
        None => "– (0)".into(),
    };
    let cells = [
        count(r.window),
        format!("{now}/{}", stat(r.baseline_mean)),
        opt(ks.map(|k| k.statistic)),
        ks.map_or("–".into(), |k| p_value(k.p_value)),
        opt(c.and_then(|c| c.wasserstein_norm)),
        opt(c.and_then(|c| c.js)),
        realized,
    ];
    let mut spans = vec![
        (if selected { "▶" } else { " " }.to_string(), theme.text),
        (mark.to_string(), mark_style),
        (
            format!(" {}", pad(&name_cell(&r.name, name_w), name_w)),
            name_style,
        ),
    ];
    let figures = if r.last.is_some() {
        theme.text
    } else {
        theme.dim
    };
    spans.extend(
        cells
            .iter()
            .zip(COLUMNS)
            .map(|(cell, (_, w))| (format!(" {}", pad(cell, w)), figures)),
    );
    spans
}

/// Spans in at most `width` cells: those past it are cut.
fn bounded(spans: Vec<(String, Style)>, width: usize) -> Line<'static> {
    let mut left = width;
    let mut out = Vec::with_capacity(spans.len());
    for (text, style) in spans {
        if left == 0 {
            break;
        }
        let text = super::text::cut(&text, left);
        left = left.saturating_sub(text.width());
        out.push(Span::styled(text, style));
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_never_passes_its_width() {
        let theme = Theme::default();
        let spans = vec![
            ("abc".to_string(), theme.text),
            (" défg".to_string(), theme.dim),
        ];
        let line = bounded(spans.clone(), 5);
        assert_eq!(line.width(), 5);
        assert_eq!(bounded(spans.clone(), 0).width(), 0);
        assert_eq!(bounded(spans, 80).width(), 8);
    }
}

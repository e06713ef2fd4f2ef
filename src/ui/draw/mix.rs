//! The prediction mix: each label's share in the sliding window against
//! the baseline, and (when there is room) the mix over time as stacked
//! columns. A label has a stable colour and letter (by label id), so the
//! panel reads the same without colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{bar, label_glyph, label_span, open_panel, pct};
use crate::engine::snapshot::{BaselineView, ModelView};
use crate::ui::theme::Theme;

pub fn mix(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    theme: &Theme,
    compact: bool,
) {
    let inner = open_panel(
        frame,
        area,
        "Prediction mix: window vs baseline",
        false,
        theme,
        compact,
    );
    let Some(m) = model else {
        return;
    };
    let n = m.labels.len();
    let rows = n.min(usize::from(inner.height));
    let over_time = inner.height as usize >= n + 4;
    let [now_area, time_area] =
        Layout::vertical([Constraint::Length(rows as u16), Constraint::Min(0)]).areas(inner);
    let base = match &m.baseline {
        BaselineView::Frozen { shares, .. } => Some(shares.as_slice()),
        BaselineView::Collecting { .. } => None,
    };
    let now = m.window.as_ref().map(|w| w.shares.as_slice());
    let width = usize::from(inner.width);
    let share = |shares: Option<&[f64]>, id: usize| shares.and_then(|s| s.get(id)).copied();
    // Each label's move from the baseline (` ▲+20.5`), in points.
    let deltas: Vec<String> = (0..rows)
        .map(|id| match (share(now, id), share(base, id)) {
            (Some(a), Some(b)) => {
                let d = (a - b) * 100.0;
                let arrow = if d > 2.0 {
                    "▲"
                } else if d < -2.0 {
                    "▼"
                } else {
                    " "
                };
                format!(" {arrow}{d:+.1}")
            }
            _ => String::new(),
        })
        .collect();
    let delta_w = deltas.iter().map(|d| d.chars().count()).max().unwrap_or(0);
    // Glyph and space, the space after the name, the share, ` base ` and
    // its share, the deltas: a long name is cut before a figure.
    let figures = 2 + 1 + 6 + 12 + delta_w;
    let name_w = m
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 14)
        .min(width.saturating_sub(figures).max(4));
    // The bar and the space after it.
    let bar_w = width.saturating_sub(figures + name_w + 1).min(30);
    let mut lines = Vec::with_capacity(rows);
    for ((id, name), delta) in m.labels.iter().enumerate().zip(deltas) {
        let now_share = share(now, id);
        let mut spans = vec![label_span(id, name, name_w, theme), Span::raw(" ")];
        if bar_w >= 4 {
            spans.push(Span::styled(
                bar(now_share.unwrap_or(0.0), bar_w),
                theme.label(id),
            ));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            format!("{:>6}", now_share.map_or("–".into(), pct)),
            theme.text,
        ));
        spans.push(Span::styled(
            format!(" base {:>6}", share(base, id).map_or("–".into(), pct)),
            theme.dim,
        ));
        spans.push(Span::styled(delta, theme.text));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), now_area);
    if over_time && time_area.height >= 3 {
        mix_over_time(frame, time_area, m, theme);
    }
}

/// Stacked columns, newest on the right: each column's cells split by
/// label share, drawn with the label's letter in its colour.
fn mix_over_time(frame: &mut Frame<'_>, area: Rect, m: &ModelView, theme: &Theme) {
    let [caption, plot] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let cols = usize::from(plot.width);
    let height = usize::from(plot.height);
    // From the first bucket with data: a young stream fills the plot.
    let first = m
        .history
        .iter()
        .position(|b| b.n > 0)
        .unwrap_or(m.history.len());
    let buckets = &m.history[first..];
    if cols == 0 || height == 0 || buckets.is_empty() {
        return;
    }
    let per_col = buckets.len().div_ceil(cols).max(1);
    let span_s = (buckets.len() as i64 * m.history_bucket_ms) / 1000;
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("mix over the last {} (letter = label)", human_secs(span_s)),
            theme.dim,
        )),
        caption,
    );
    let n_labels = m.labels.len();
    // Columns from the right: the newest group ends at the newest bucket.
    let groups: Vec<&[crate::engine::history::BucketView]> =
        buckets.rchunks(per_col).take(cols).collect();
    let mut grid: Vec<Vec<(char, Style)>> = vec![vec![(' ', Style::default()); cols]; height];
    for (k, group) in groups.iter().enumerate() {
        let col = cols - 1 - k;
        let mut counts = vec![0u64; n_labels];
        for b in group.iter() {
            for (i, c) in b.mix.0.iter().enumerate() {
                if let Some(slot) = counts.get_mut(i) {
                    *slot += c;
                }
            }
        }
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        // Largest remainder, so the cells of a column add up to its height.
        let exact: Vec<f64> = counts
            .iter()
            .map(|&c| c as f64 / total as f64 * height as f64)
            .collect();
        let mut cells: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
        let mut left = height.saturating_sub(cells.iter().sum());
        let mut order: Vec<usize> = (0..n_labels).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor()))
        });
        for i in order {
            if left == 0 {
                break;
            }
            if counts[i] > 0 {
                cells[i] += 1;
                left -= 1;
            }
        }
        let mut row = height;
        for (id, &c) in cells.iter().enumerate() {
            for _ in 0..c {
                if row == 0 {
                    break;
                }
                row -= 1;
                grid[row][col] = (label_glyph(id), theme.label(id));
            }
        }
    }
    // One span per run of a style, not one per cell.
    let lines: Vec<Line<'static>> = grid
        .into_iter()
        .map(|row| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut run = String::new();
            let mut style = None;
            for (c, s) in row {
                if style.is_some_and(|st| st != s) {
                    spans.push(Span::styled(
                        std::mem::take(&mut run),
                        style.unwrap_or_default(),
                    ));
                }
                style = Some(s);
                run.push(c);
            }
            spans.push(Span::styled(run, style.unwrap_or_default()));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), plot);
}

fn human_secs(s: i64) -> String {
    if s >= 120 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

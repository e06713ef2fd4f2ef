//! The confidence chart. Each column of cells covers an equal stretch of
//! the recent past and shows the predictions that arrived in it together:
//! their p10–p90 range as a vertical band (`│`, `┃` where it is wide) and
//! their mean as `•`; columns with no predictions are gaps. The baseline's
//! mean (`─`) and p10/p90 (`┈`) and the review threshold (`▔`) run across.
//! Everything is told by glyph as well as colour, and the legend line says
//! every figure in text.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::ScreenContext;
use super::text::open_panel;
use crate::engine::history::merged_summary;
use crate::engine::snapshot::{BaselineView, ModelView};
use crate::ui::theme::Theme;

/// Width of the y-axis labels on the left.
const GUTTER: u16 = 3;

pub fn confidence(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    ctx: &ScreenContext<'_>,
    theme: &Theme,
    compact: bool,
) {
    let inner = open_panel(frame, area, "Confidence", false, theme, compact);
    let Some(m) = model else {
        frame.render_widget(
            Paragraph::new("waiting for predictions…").style(theme.dim),
            inner,
        );
        return;
    };
    if inner.height < 4 || inner.width < GUTTER + 10 {
        return;
    }
    frame.render_widget(
        Paragraph::new(legend(m, theme)),
        Rect { height: 1, ..inner },
    );
    // Plot rows between the legend and the time labels; the gutter holds 1, .5, 0.
    let plot = Rect {
        x: inner.x + GUTTER,
        y: inner.y + 1,
        width: inner.width - GUTTER,
        height: inner.height - 2,
    };
    let buf = frame.buffer_mut();
    let row_of = |v: f64| -> u16 {
        let top = plot.height.saturating_sub(1) as f64;
        plot.y + (top - (v.clamp(0.0, 1.0) * top).round()) as u16
    };
    for (label, v) in [("1", 1.0), (".5", 0.5), ("0", 0.0)] {
        buf.set_string(inner.x, row_of(v), label, theme.dim);
    }

    // The time span: from the first bucket with data (at least a minute),
    // so a young stream fills the chart instead of its last sliver.
    let bucket_ms = m.history_bucket_ms.max(1);
    let first = m
        .history
        .iter()
        .find(|b| b.n > 0)
        .map_or(ctx.now_ms, |b| b.start_ms);
    let full_ms = m.history.len() as i64 * bucket_ms;
    let span_ms = (ctx.now_ms - first).clamp(60_000, full_ms.max(60_000));
    let start_ms = ctx.now_ms - span_ms;
    let labels = Rect {
        y: inner.y + inner.height - 1,
        height: 1,
        ..plot
    };
    let minutes = span_ms / 60_000;
    let ago = if minutes >= 3 {
        format!("-{minutes}m")
    } else {
        format!("-{}s", span_ms / 1000)
    };
    buf.set_string(labels.x, labels.y, &ago, theme.dim);
    buf.set_string(
        labels.x + labels.width.saturating_sub(3),
        labels.y,
        "now",
        theme.dim,
    );

    // Reference lines first, the data over them.
    let mut hline = |v: f64, glyph: &str, style: Style| {
        let y = row_of(v);
        for x in plot.x..plot.x + plot.width {
            buf.set_string(x, y, glyph, style);
        }
    };
    if let BaselineView::Frozen { summary, .. } = &m.baseline {
        hline(summary.p10, "┈", theme.baseline);
        hline(summary.p90, "┈", theme.baseline);
        hline(summary.mean, "─", theme.baseline);
    }
    hline(m.review_threshold, "▔", theme.threshold);
    let cols = plot.width as i64;
    for c in 0..cols {
        let from = start_ms + span_ms * c / cols;
        let to = start_ms + span_ms * (c + 1) / cols;
        let lo = m
            .history
            .partition_point(|b| b.start_ms + bucket_ms <= from);
        let hi = m.history.partition_point(|b| b.start_ms < to);
        let Some((_, mean, p10, p90)) = merged_summary(&m.history[lo..hi.max(lo)]) else {
            continue;
        };
        draw_column(
            buf,
            plot.x + c as u16,
            row_of(p90),
            row_of(p10),
            row_of(mean),
            theme,
        );
    }
}

/// One column: the band from the p90 row down to the p10 row, the mean on it.
fn draw_column(buf: &mut Buffer, x: u16, top: u16, bottom: u16, mean: u16, theme: &Theme) {
    let glyph = if bottom > top + 1 { "┃" } else { "│" };
    for y in top..=bottom {
        buf.set_string(x, y, glyph, theme.band);
    }
    buf.set_string(x, mean, "•", theme.mean);
}

fn legend(m: &ModelView, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    match m.window.as_ref().and_then(|w| w.summary) {
        Some(s) => spans.push(Span::styled(
            format!("now •┃ {:.2} [{:.2}–{:.2}]", s.mean, s.p10, s.p90),
            theme.mean,
        )),
        None => spans.push(Span::styled("now –", theme.dim)),
    }
    spans.push(Span::styled(" · ", theme.dim));
    match &m.baseline {
        BaselineView::Frozen { summary, .. } => spans.push(Span::styled(
            format!(
                "base ─┈ {:.2} [{:.2}–{:.2}]",
                summary.mean, summary.p10, summary.p90
            ),
            theme.baseline,
        )),
        BaselineView::Collecting { so_far } => spans.push(Span::styled(
            format!("baseline: collecting {so_far}"),
            theme.dim,
        )),
    }
    spans.push(Span::styled(" · ", theme.dim));
    spans.push(Span::styled(
        format!("review ▔ <{:.2}", m.review_threshold),
        theme.threshold,
    ));
    Line::from(spans)
}

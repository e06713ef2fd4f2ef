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
    // Plot rows between the legend and the time labels; the gutter holds
    // the top, middle and bottom of the y range.
    let plot = Rect {
        x: inner.x + GUTTER,
        y: inner.y + 1,
        width: inner.width - GUTTER,
        height: inner.height - 2,
    };

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
    let buf = frame.buffer_mut();
    buf.set_string(labels.x, labels.y, &ago, theme.dim);
    buf.set_string(
        labels.x + labels.width.saturating_sub(3),
        labels.y,
        "now",
        theme.dim,
    );

    let cols = plot.width as i64;
    let columns: Vec<Option<(f64, f64, f64)>> = (0..cols)
        .map(|c| {
            let from = start_ms + span_ms * c / cols;
            let to = start_ms + span_ms * (c + 1) / cols;
            let lo = m
                .history
                .partition_point(|b| b.start_ms + bucket_ms <= from);
            let hi = m.history.partition_point(|b| b.start_ms < to);
            merged_summary(&m.history[lo..hi.max(lo)]).map(|(_, mean, p10, p90)| (mean, p10, p90))
        })
        .collect();
    let baseline = match &m.baseline {
        BaselineView::Frozen { summary, .. } => Some(summary),
        BaselineView::Collecting { .. } => None,
    };
    let shown = columns
        .iter()
        .flatten()
        .flat_map(|&(_, p10, p90)| [p10, p90])
        .chain(baseline.into_iter().flat_map(|b| [b.p10, b.p90]));
    let (y_lo, y_hi) = y_range(shown);
    let buf = frame.buffer_mut();
    let top = plot.height.saturating_sub(1) as f64;
    let row_of = |v: f64| -> u16 {
        let at = ((v - y_lo) / (y_hi - y_lo)).clamp(0.0, 1.0);
        plot.y + (top - (at * top).round()) as u16
    };
    let in_range = |v: f64| (y_lo..=y_hi).contains(&v);
    for v in [y_hi, (y_lo + y_hi) / 2.0, y_lo] {
        buf.set_string(inner.x, row_of(v), axis_label(v), theme.dim);
    }

    // Reference lines first, the data over them; a line outside the range
    // is left out (the legend gives its value).
    let mut hline = |v: f64, glyph: &str, style: Style| {
        if !in_range(v) {
            return;
        }
        let y = row_of(v);
        for x in plot.x..plot.x + plot.width {
            buf.set_string(x, y, glyph, style);
        }
    };
    if let Some(summary) = baseline {
        hline(summary.p10, "┈", theme.baseline);
        hline(summary.p90, "┈", theme.baseline);
        hline(summary.mean, "─", theme.baseline);
    }
    hline(m.review_threshold, "▔", theme.threshold);
    for (c, column) in columns.iter().enumerate() {
        let Some((mean, p10, p90)) = *column else {
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

/// The y range that holds what is shown, padded and rounded out to 0.05,
/// at least 0.2 tall, within [0, 1]: a fall from 0.80 to 0.66 moves the
/// mean across rows, not within one.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(0.02);
    let (mut lo, mut hi) = ((lo - pad).max(0.0), (hi + pad).min(1.0));
    lo = (lo * 20.0).floor() / 20.0;
    hi = (hi * 20.0).ceil() / 20.0;
    if hi - lo < 0.2 {
        let grow = (0.2 - (hi - lo)) / 2.0;
        (lo, hi) = ((lo - grow).max(0.0), (hi + grow).min(1.0));
        if hi - lo < 0.2 {
            (lo, hi) = if lo == 0.0 { (0.0, 0.2) } else { (0.8, 1.0) };
        }
    }
    (lo, hi)
}

/// A y-axis label in the gutter's three cells: `1`, `0`, `.85`.
fn axis_label(v: f64) -> String {
    let hundredths = (v * 100.0).round() as i64;
    match hundredths {
        100.. => "1".into(),
        ..=0 => "0".into(),
        h if h % 10 == 0 => format!(".{}", h / 10),
        h => format!(".{h:02}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_y_range_follows_the_data() {
        let (lo, hi) = y_range([0.66, 0.80, 0.92].into_iter());
        assert!(lo <= 0.66 && hi >= 0.92 && lo > 0.5, "{lo} {hi}");
        // At least 0.2 tall, within [0, 1], however flat the data.
        let (lo, hi) = y_range([0.99, 0.995].into_iter());
        assert!((hi - lo) >= 0.2 - 1e-12 && hi <= 1.0, "{lo} {hi}");
        let (lo, hi) = y_range([0.0, 0.01].into_iter());
        assert!(lo == 0.0 && hi >= 0.2 - 1e-12);
        assert_eq!(y_range(std::iter::empty()), (0.0, 1.0));
        assert_eq!(y_range([f64::NAN].into_iter()), (0.0, 1.0));
        assert_eq!(
            [1.0, 0.85, 0.5, 0.05, 0.0].map(axis_label),
            ["1", ".85", ".5", ".05", "0"]
        );
    }
}

//! The confidence chart. Each column of cells covers an equal stretch of
//! the recent past and shows the predictions that arrived in it together:
//! their p10–p90 range as a vertical band (`│`, `┃` where it is wide) and
//! their mean as `•`; columns with no predictions are gaps. The baseline's
//! mean (`─`) and p10/p90 (`┈`) and the review threshold (`▔`) run across.
//! Everything is told by glyph as well as colour, and the legend line says
//! every figure in text (on the panel's top rule when the screen is
//! compact, so the plot keeps its rows). The time axis is absolute: UTC
//! clock times at the left, middle and right.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::ScreenContext;
use super::text::{clock, open_panel};
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
    const TITLE: &str = "Confidence";
    let inner = open_panel(frame, area, TITLE, false, theme, compact);
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
    // The legend on the top rule after the title when compact (the panel
    // has no other border there), else on the first row inside.
    let title_w = TITLE.len() as u16 + 1;
    let (legend_row, top) = if compact && area.width > title_w {
        let row = Rect {
            x: area.x + title_w,
            y: area.y,
            width: area.width - title_w,
            height: 1,
        };
        (row, inner.y)
    } else {
        (Rect { height: 1, ..inner }, inner.y + 1)
    };
    frame.render_widget(
        Paragraph::new(legend(m, theme, legend_row.width)),
        legend_row,
    );
    // Plot rows between the legend and the time labels; the gutter holds
    // the top, middle and bottom of the y range.
    let plot = Rect {
        x: inner.x + GUTTER,
        y: top,
        width: inner.width - GUTTER,
        height: inner.y + inner.height - 1 - top,
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
    time_axis(frame.buffer_mut(), labels, start_ms, ctx.now_ms, theme);

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

/// Clock times (UTC) under the plot: the left edge's, the middle's when
/// there is room, and the right edge's (now) with `UTC` after it.
fn time_axis(buf: &mut Buffer, row: Rect, start_ms: i64, now_ms: i64, theme: &Theme) {
    let right = format!("{} UTC", clock(now_ms));
    let left = clock(start_ms);
    let (w, left_w, right_w) = (row.width, left.len() as u16, right.len() as u16);
    if w < left_w + right_w + 1 {
        // Too narrow for both: now is what matters.
        buf.set_string(row.x + w.saturating_sub(right_w), row.y, &right, theme.dim);
        return;
    }
    buf.set_string(row.x, row.y, &left, theme.dim);
    buf.set_string(row.x + w - right_w, row.y, &right, theme.dim);
    let middle = clock(start_ms + (now_ms - start_ms) / 2);
    let mid_w = middle.len() as u16;
    let at = (w / 2).saturating_sub(mid_w / 2);
    if at >= left_w + 2 && at + mid_w + 2 <= w - right_w {
        buf.set_string(row.x + at, row.y, &middle, theme.dim);
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

/// The legend in the first form that fits `width`: with words, without
/// them, or glyphs and figures alone (`?` explains each glyph).
fn legend(m: &ModelView, theme: &Theme, width: u16) -> Line<'static> {
    let summary = m.window.as_ref().and_then(|w| w.summary);
    let base = match &m.baseline {
        BaselineView::Frozen { summary, .. } => Some(summary),
        BaselineView::Collecting { .. } => None,
    };
    let forms = [
        ["now •┃ ", " · base ─┈ ", " · review ▔ <"],
        ["now •", " base ─", " ▔<"],
        ["•", " ─", " ▔"],
    ];
    let mut last = Line::default();
    for (tier, [now_w, base_w, review_w]) in forms.into_iter().enumerate() {
        // The shortest form drops the leading zeros and the brackets.
        let short = tier == 2;
        let x = |v: f64| {
            let s = format!("{v:.2}");
            match s.strip_prefix("0.") {
                Some(rest) if short => format!(".{rest}"),
                _ => s,
            }
        };
        let range = |lo: f64, hi: f64, glyph: &str| {
            if short {
                format!("{glyph}{}–{}", x(lo), x(hi))
            } else {
                format!(" [{}–{}]", x(lo), x(hi))
            }
        };
        let spans = vec![
            match summary {
                Some(s) => Span::styled(
                    format!("{now_w}{}{}", x(s.mean), range(s.p10, s.p90, "┃")),
                    theme.mean,
                ),
                None => Span::styled(format!("{now_w}–"), theme.dim),
            },
            match (base, &m.baseline) {
                (Some(b), _) => Span::styled(
                    format!("{base_w}{}{}", x(b.mean), range(b.p10, b.p90, "┈")),
                    theme.baseline,
                ),
                (None, BaselineView::Collecting { so_far }) => {
                    Span::styled(format!(" · baseline: collecting {so_far}"), theme.dim)
                }
                (None, _) => Span::raw(""),
            },
            Span::styled(
                format!("{review_w}{}", x(m.review_threshold)),
                theme.threshold,
            ),
        ];
        last = Line::from(spans);
        if last.width() <= usize::from(width) {
            break;
        }
    }
    last
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

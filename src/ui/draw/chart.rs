//! The confidence chart: the rolling mean and p10–p90 band per history
//! bucket (empty buckets are gaps), the baseline's mean and band, and the
//! review threshold. Lines differ by marker as well as colour, and the
//! title says every figure in text.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::ScreenContext;
use super::text::panel;
use crate::engine::snapshot::{BaselineView, ModelView};
use crate::ui::theme::Theme;

/// A horizontal reference line: points, style, marker.
type FlatLine = (Vec<(f64, f64)>, ratatui::style::Style, Marker);

pub fn confidence(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    ctx: &ScreenContext<'_>,
    theme: &Theme,
    compact: bool,
) {
    let block = panel("Confidence", false, theme, compact);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(m) = model else {
        frame.render_widget(
            Paragraph::new("waiting for predictions…").style(theme.dim),
            inner,
        );
        return;
    };
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let [legend_area, chart_area] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(legend(m, theme)), legend_area);

    // From the first bucket with data (at least a minute), so a young
    // stream fills the chart instead of its last sliver.
    let full_ms = m.history.len() as i64 * m.history_bucket_ms;
    let first = m
        .history
        .iter()
        .find(|b| b.n > 0)
        .map_or(ctx.now_ms, |b| b.start_ms);
    let span_ms = (ctx.now_ms - first).clamp(60_000, full_ms.max(60_000));
    let x0 = -(span_ms as f64) / 1000.0;
    let now = ctx.now_ms;
    let x_of = |start_ms: i64| ((start_ms + m.history_bucket_ms - now) as f64 / 1000.0).min(0.0);
    let mut mean = Vec::with_capacity(m.history.len());
    let mut band = Vec::with_capacity(m.history.len() * 2);
    for b in &m.history {
        let x = x_of(b.start_ms);
        if x < x0 {
            continue;
        }
        if let Some(v) = b.mean {
            mean.push((x, v));
        }
        for v in [b.p10, b.p90].into_iter().flatten() {
            band.push((x, v));
        }
    }
    let flat = |y: f64| vec![(x0, y), (0.0, y)];
    let mut lines: Vec<FlatLine> = Vec::new();
    if let BaselineView::Frozen { summary, .. } = &m.baseline {
        lines.push((flat(summary.p10), theme.baseline, Marker::Dot));
        lines.push((flat(summary.p90), theme.baseline, Marker::Dot));
        lines.push((flat(summary.mean), theme.baseline, Marker::Braille));
    }
    lines.push((flat(m.review.threshold), theme.threshold, Marker::HalfBlock));
    let mut datasets: Vec<Dataset<'_>> = lines
        .iter()
        .map(|(data, style, marker)| {
            Dataset::default()
                .graph_type(GraphType::Line)
                .marker(*marker)
                .style(*style)
                .data(data)
        })
        .collect();
    datasets.push(
        Dataset::default()
            .graph_type(GraphType::Scatter)
            .marker(Marker::Braille)
            .style(theme.band)
            .data(&band),
    );
    datasets.push(
        Dataset::default()
            .graph_type(GraphType::Scatter)
            .marker(Marker::Braille)
            .style(theme.mean)
            .data(&mean),
    );
    let minutes = span_ms / 60_000;
    let x_label = if minutes >= 3 {
        format!("-{minutes}m")
    } else {
        format!("-{}s", span_ms / 1000)
    };
    let chart = Chart::new(datasets)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([x0, 0.0])
                .style(theme.dim)
                .labels([Span::raw(x_label), Span::raw("now")]),
        )
        .y_axis(Axis::default().bounds([0.0, 1.0]).style(theme.dim).labels([
            Span::raw("0"),
            Span::raw(".5"),
            Span::raw("1"),
        ]));
    frame.render_widget(chart, chart_area);
}

fn legend(m: &ModelView, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    match m.window.as_ref().and_then(|w| w.summary) {
        Some(s) => spans.push(Span::styled(
            format!("now ⣿ {:.2} [{:.2}–{:.2}]", s.mean, s.p10, s.p90),
            theme.mean,
        )),
        None => spans.push(Span::styled("now –", theme.dim)),
    }
    spans.push(Span::styled(" · ", theme.dim));
    match &m.baseline {
        BaselineView::Frozen { summary, .. } => spans.push(Span::styled(
            format!(
                "base • {:.2} [{:.2}–{:.2}]",
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
        format!("review ▀ <{:.2}", m.review.threshold),
        theme.threshold,
    ));
    Line::from(spans)
}

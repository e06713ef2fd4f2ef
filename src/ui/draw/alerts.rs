//! The alerts panel (active and recent, the model's and input-wide ones,
//! severity and acknowledgement in words) and the accuracy panel (realized
//! from feedback against realized, estimated against estimated; never one
//! against the other).

use crate::record::sanitize::escape_bytes;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::ScreenContext;
use super::text::{ago, arrow, count, cut, open_panel, pad, pct, safe};
use crate::engine::alerts::{Alert, Severity};
use crate::engine::cbpe::{AccuracyEstimate, EstimateMethod};
use crate::engine::snapshot::{BaselineView, ModelView, Snapshot};
use crate::ui::app::{App, Panel};
use crate::ui::theme::Theme;

pub fn alerts(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
    compact: bool,
) {
    let theme = &app.theme;
    let list = &snap.alerts;
    let active = list.iter().filter(|a| a.is_active()).count();
    let focused = app.focus == Panel::Alerts;
    let title = format!("Alerts: {active} active, {} recent", list.len() - active);
    let inner = open_panel(frame, area, &title, focused, theme, compact);
    let rows = usize::from(inner.height);
    if rows == 0 {
        return;
    }
    if list.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("no alerts", theme.ok)), inner);
        return;
    }
    let selected = app.shown_alert(snap).map(|a| a.id);
    let at = list
        .iter()
        .position(|a| Some(a.id) == selected)
        .unwrap_or(0);
    let start = at.saturating_sub(rows.saturating_sub(1));
    let width = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = list
        .iter()
        .skip(start)
        .take(rows)
        .map(|a| {
            alert_line(
                a,
                focused && Some(a.id) == selected,
                ctx.now_ms,
                width,
                theme,
            )
        })
        .collect();
    // Spare rows at the bottom show the last malformed lines.
    let spare = rows.saturating_sub(lines.len() + 1);
    if spare > 0 && !snap.malformed.is_empty() {
        lines.push(Line::styled("last malformed lines:", theme.dim));
        for r in snap.malformed.iter().take(spare) {
            let text = format!(
                "{}:{} {}: {}",
                safe(&r.source),
                r.line,
                safe(&r.reason),
                escape_bytes(&r.excerpt)
            );
            lines.push(Line::styled(cut(&text, width), theme.dim));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn alert_line(
    a: &Alert,
    selected: bool,
    now_ms: i64,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (sev, sev_style) = match a.severity {
        Severity::Critical => ("CRITICAL", theme.crit),
        Severity::Warning => ("warning", theme.warn),
    };
    let direction = a
        .direction
        .map_or(String::new(), |d| format!(" {}", arrow(d)));
    let state = match (a.is_active(), a.acknowledged) {
        (true, false) => "UNACKED".to_string(),
        (true, true) => "acked".to_string(),
        (false, _) => format!(
            "cleared {} ago",
            ago(now_ms - a.cleared_ts_ms.unwrap_or(a.ts_ms))
        ),
    };
    let kind = a.kind.as_str().replace('_', " ");
    let mark = if selected { "▶" } else { " " };
    let head = format!("{mark}{} ", pad(sev, 8));
    let body = format!(
        "{kind}{direction} {} ago {state}{}",
        ago(now_ms - a.ts_ms),
        a.model
            .as_deref()
            .map(|m| format!(" [{}]", safe(m)))
            .unwrap_or_default()
    );
    let rest = width.saturating_sub(head.chars().count());
    let mut spans = vec![
        Span::styled(head, if selected { theme.selected } else { sev_style }),
        Span::styled(
            cut(&body, rest),
            if a.is_active() { theme.text } else { theme.dim },
        ),
    ];
    let used = head_len(&spans);
    if width > used + 12 {
        spans.push(Span::styled(
            cut(&format!(" — {}", safe(&a.detail)), width - used),
            theme.dim,
        ));
    }
    Line::from(spans)
}

fn head_len(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| s.content.chars().count()).sum()
}

pub fn accuracy(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    theme: &Theme,
    compact: bool,
) {
    let inner = open_panel(frame, area, "Accuracy", false, theme, compact);
    let Some(m) = model else { return };
    let (base_real, base_n, base_est) = match &m.baseline {
        BaselineView::Frozen {
            realized,
            labelled,
            estimated,
            ..
        } => (*realized, *labelled, Some(*estimated)),
        BaselineView::Collecting { .. } => (None, 0, None),
    };
    // Realized: over the last labelled predictions, whenever their labels
    // came (a window of the newest predictions holds few labels yet).
    let (recent_real, recent_n) = (m.recent_accuracy.realized(), m.recent_accuracy.labelled);
    let win_est = m.window.as_ref().and_then(|w| w.estimated);
    // Both follow the baseline's calibration, so they share a method.
    let method = match win_est.or(base_est).map(|e| e.method) {
        Some(EstimateMethod::Cbpe) => "cbpe",
        Some(EstimateMethod::MeanConfidence) | None => "mean conf",
    };
    let real = |x: Option<f64>, n: u64| match x {
        Some(v) => format!("{} ({} lab.)", pct(v), count(n)),
        None => format!("– ({} lab.)", count(n)),
    };
    let est = |x: Option<AccuracyEstimate>| x.map_or("–".into(), |e| format!("{:.3}", e.value));
    let delay = m
        .label_delay_ms
        .map_or("–".into(), |d| format!("{:.1} s", d / 1000.0));
    let w = usize::from(inner.width);
    let row = |head: &str, body: String, style| {
        Line::from(vec![
            Span::styled(pad(head, 10), theme.title),
            Span::styled(cut(&body, w.saturating_sub(10)), style),
        ])
    };
    // Realized against realized, estimated against estimated: each row
    // compares one kind only.
    let lines = if w >= 56 {
        vec![
            row(
                "realized",
                format!(
                    "last {} · baseline {}",
                    real(recent_real, recent_n),
                    real(base_real, base_n)
                ),
                theme.text,
            ),
            row(
                "estimated",
                format!(
                    "window {} · baseline {} ({method})",
                    est(win_est),
                    est(base_est)
                ),
                theme.text,
            ),
            row(
                "labels",
                format!(
                    "mean delay {delay} · {} labelled in all",
                    count(m.labelled_total)
                ),
                theme.dim,
            ),
        ]
    } else {
        vec![
            row(
                "realized",
                format!("last {}", real(recent_real, recent_n)),
                theme.text,
            ),
            row("", format!("base {}", real(base_real, base_n)), theme.text),
            row(
                "estimated",
                format!("win {} · base {} {method}", est(win_est), est(base_est)),
                theme.text,
            ),
            row(
                "labels",
                format!("delay {delay} · {} in all", count(m.labelled_total)),
                theme.dim,
            ),
        ]
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

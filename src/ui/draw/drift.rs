//! The drift panel: every statistic of the sliding window against the
//! baseline and both detectors, each with a verdict word (ok, breaching,
//! ALERT) from the alert rule it feeds, a direction arrow where one
//! applies, and how long the rule has been breaching.
//!
//! Verdicts come from the rules, not from thresholds of our own: KS, PSI
//! and normed W1 (all on confidence) show the confidence-drift rule's
//! state, chi² and JS (on the mix) the mix-drift rule's, and both
//! detectors the change-point rule's (which confirms their detections).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{arrow, count, open_panel, p_value, pad, stat};
use crate::engine::alerts::AlertKind;
use crate::engine::snapshot::{BaselineView, ModelView, RuleView};
use crate::ui::theme::Theme;

pub fn drift(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    theme: &Theme,
    compact: bool,
) {
    let inner = open_panel(
        frame,
        area,
        "Drift: window vs baseline",
        false,
        theme,
        compact,
    );
    let Some(m) = model else { return };
    let lines = match (&m.baseline, &m.window) {
        (BaselineView::Collecting { so_far }, _) => vec![Line::styled(
            format!(
                "collecting the baseline: {} predictions so far",
                count(*so_far)
            ),
            theme.dim,
        )],
        (_, None) => vec![Line::styled(
            "waiting for the window's first predictions",
            theme.dim,
        )],
        (_, Some(w)) if w.comparison.is_none() => vec![Line::styled(
            format!(
                "window filling: {} predictions; compared once checks start",
                count(w.n)
            ),
            theme.dim,
        )],
        (BaselineView::Frozen { summary, .. }, Some(w)) => {
            let Some(c) = &w.comparison else {
                return;
            };
            let conf_dir = w.summary.map(|s| s.mean - summary.mean);
            let wide = inner.width >= 44;
            let row = |name: &str, figures: String, rule: RuleView, arrow: Option<f64>| {
                verdict_row(
                    name,
                    figures,
                    Some(&rule),
                    arrow,
                    m.predictions,
                    theme,
                    wide,
                )
            };
            let r = &m.rules;
            let opt = |x: Option<f64>| x.map_or("–".to_string(), stat);
            vec![
                row(
                    "KS",
                    c.ks.map_or("–".into(), |k| {
                        format!("D {} p {}", stat(k.statistic), p_value(k.p_value))
                    }),
                    r.get(AlertKind::ConfidenceDrift),
                    conf_dir,
                ),
                // No rule uses PSI: its row gives no verdict.
                verdict_row(
                    "PSI",
                    opt(c.psi),
                    None,
                    conf_dir,
                    m.predictions,
                    theme,
                    wide,
                ),
                row(
                    "chi²",
                    c.chi2.map_or("–".into(), |x| {
                        format!("{} p {}", stat(x.statistic), p_value(x.p_value))
                    }),
                    r.get(AlertKind::PredictionMixDrift),
                    None,
                ),
                row("JS", opt(c.js), r.get(AlertKind::PredictionMixDrift), None),
                row(
                    "W1 norm",
                    opt(c.wasserstein_norm),
                    r.get(AlertKind::ConfidenceDrift),
                    conf_dir,
                ),
                row(
                    "Page–Hink",
                    detections(
                        m.detectors.page_hinkley_last,
                        m.detectors.page_hinkley_count,
                    ),
                    r.get(AlertKind::ChangePoint),
                    None,
                ),
                row(
                    "ADWIN",
                    detections(m.detectors.adwin_last, m.detectors.adwin_count),
                    r.get(AlertKind::ChangePoint),
                    None,
                ),
            ]
        }
    };
    // Rows are clipped, never wrapped (a wrapped row reads as two).
    let wrap = m.window.is_none() || matches!(m.baseline, BaselineView::Collecting { .. });
    let para = Paragraph::new(lines);
    let para = if wrap {
        para.wrap(ratatui::widgets::Wrap { trim: true })
    } else {
        para
    };
    frame.render_widget(para, inner);
}

fn detections(last: Option<u64>, n: usize) -> String {
    match last {
        Some(i) => format!("#{} ×{n}", count(i)),
        None => "none".into(),
    }
}

fn verdict_row(
    name: &str,
    figures: String,
    rule: Option<&RuleView>,
    delta: Option<f64>,
    predictions: u64,
    theme: &Theme,
    wide: bool,
) -> Line<'static> {
    let idle = RuleView::default();
    let (word, style): (&str, Style) = match rule {
        None => ("", theme.dim),
        Some(r) if r.active => ("ALERT", theme.crit),
        Some(r) if r.breaching_since.is_some() => ("breaching", theme.warn),
        Some(_) => ("ok", theme.ok),
    };
    let rule = rule.unwrap_or(&idle);
    let arrow = match (rule.direction, delta) {
        (Some(d), _) => arrow(d),
        (None, Some(d)) if d > 0.005 => "↑",
        (None, Some(d)) if d < -0.005 => "↓",
        (None, Some(_)) => "→",
        (None, None) => " ",
    };
    let since = rule
        .breaching_since
        .filter(|_| rule.active || word == "breaching")
        .map(|s| {
            let n = count(predictions.saturating_sub(s));
            if wide {
                format!(" {n} preds")
            } else {
                format!(" {n}")
            }
        })
        .unwrap_or_default();
    let (name_w, fig_w) = if wide { (10, 20) } else { (7, 15) };
    let name = match (name, wide) {
        ("Page–Hink", false) => "P–H",
        ("W1 norm", false) => "W1/σ",
        _ => name,
    };
    Line::from(vec![
        Span::styled(pad(name, name_w - 1) + " ", theme.title),
        Span::styled(pad(&figures, fig_w), theme.text),
        Span::styled(format!(" {arrow} "), theme.text),
        Span::styled(word.to_string(), style),
        Span::styled(since, theme.dim),
    ])
}

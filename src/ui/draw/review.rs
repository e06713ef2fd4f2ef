//! The review queue and the selected case's detail: its input (the raw
//! event, pretty-printed when it parses, always escaped), every class
//! probability as a bar, how long it has waited and its state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::ScreenContext;
use super::features::outside_mark;
use super::text::{ago, bar, count, cut, fit, label_glyph, open_panel, pad, safe};
use crate::engine::features::view::FeaturesView;
use crate::engine::review::{CaseState, QueueReason, ReviewItem};
use crate::engine::review_query::ReviewOrder;
use crate::ui::app::App;
use crate::ui::review_page::Shown;
use crate::ui::theme::Theme;

pub fn state_word(s: &CaseState) -> &'static str {
    match s {
        CaseState::Pending => "pending",
        CaseState::Skipped => "skipped",
        CaseState::Approved => "approved",
        CaseState::Overridden(_) => "overridden",
        CaseState::Escalated => "escalated",
    }
}

pub fn queue(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    shown: &Shown,
    ctx: &ScreenContext<'_>,
    compact: bool,
    focused: bool,
) {
    let theme = &app.theme;
    let snap = &shown.snap;
    let view = snap.model.as_ref().map(|_| &shown.review);
    let order = match app.order {
        ReviewOrder::OldestFirst => "oldest first",
        ReviewOrder::NewestFirst => "newest first",
        ReviewOrder::LowestConfidenceFirst => "lowest first",
    };
    let title = match view {
        Some(v) => {
            let filter = app
                .filter
                .as_deref()
                .filter(|f| !f.is_empty())
                .map(|f| format!(" · filter \"{}\"", fit(f, 16)))
                .unwrap_or_default();
            format!(
                "Review: {} queued · {} evicted · <{:.2} · {order}{filter}",
                count(v.total as u64),
                count(snap.fleet_entry().map_or(0, |f| f.review_evicted)),
                snap.model.as_ref().map_or(0.0, |m| m.review_threshold)
            )
        }
        None => "Review".to_string(),
    };
    let inner = open_panel(frame, area, &title, focused, theme, compact);
    let Some(view) = view else { return };
    let rows = usize::from(inner.height).saturating_sub(1);
    let width = usize::from(inner.width);
    // Columns give way from the right as the panel narrows.
    let show_state = width >= 50;
    let show_waited = width >= 38;
    let label_w = 10;
    let fixed =
        1 + 1 + label_w + 1 + 5 + if show_waited { 7 } else { 0 } + if show_state { 9 } else { 0 };
    let id_w = width.saturating_sub(fixed).clamp(6, 24);
    let columns = |mark: &str, id: &str, label: &str, conf: &str, waited: &str, state: &str| {
        let mut row = format!("{mark}{} {} {conf:>5}", pad(id, id_w), pad(label, label_w));
        if show_waited {
            row.push_str(&format!(" {waited:>6}"));
        }
        if show_state {
            row.push_str(&format!(" {state}"));
        }
        row
    };
    let header = columns(" ", "id", "  label", "conf", "waited", "state");
    let mut lines = vec![Line::styled(cut(&header, width), theme.dim)];
    if view.rows.is_empty() {
        let why = if app.filter.as_deref().is_some_and(|f| !f.is_empty()) {
            "no case matches the filter"
        } else {
            "no case to review"
        };
        lines.push(Line::styled(format!(" {why}"), theme.dim));
    }
    let highlighted = app.shown_case(shown).map(|c| c.seq);
    let at = view
        .rows
        .iter()
        .position(|i| Some(i.seq) == highlighted)
        .unwrap_or(0);
    let start = at
        .saturating_sub(rows / 2)
        .min(view.rows.len().saturating_sub(rows));
    let labels = snap
        .model
        .as_ref()
        .map(|m| m.labels.as_slice())
        .unwrap_or(&[]);
    for item in view.rows.iter().skip(start).take(rows) {
        let selected = Some(item.seq) == highlighted;
        let mark = if selected { "▶" } else { " " };
        let id = labels.iter().position(|l| *l == item.label);
        let glyph = id.map_or('?', label_glyph);
        let text = columns(
            mark,
            &safe(&item.case_id),
            &format!("{glyph} {}", safe(&item.label)),
            &format!("{:.3}", item.confidence),
            // Without a state column a skipped case still says so in words.
            &if !show_state && item.state == CaseState::Skipped {
                "skip".to_string()
            } else {
                ago(ctx.now_ms - item.queued_ms)
            },
            state_word(&item.state),
        );
        let style = if selected {
            theme.selected
        } else if item.state == CaseState::Skipped {
            theme.dim
        } else {
            theme.text
        };
        lines.push(Line::styled(pad(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn detail(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    shown: &Shown,
    ctx: &ScreenContext<'_>,
    compact: bool,
) {
    let theme = &app.theme;
    let snap = &shown.snap;
    let inner = open_panel(frame, area, "Case", false, theme, compact);
    let Some(case) = app.shown_case(shown) else {
        frame.render_widget(
            Paragraph::new(Line::styled("no case selected", theme.dim)),
            inner,
        );
        return;
    };
    let labels = snap
        .model
        .as_ref()
        .map(|m| m.labels.as_slice())
        .unwrap_or(&[]);
    let w = usize::from(inner.width);
    let features = snap.model.as_ref().map(|m| &m.features);
    let mut lines = case_lines(case, labels, features, ctx.now_ms, w, theme);
    lines.truncate(usize::from(inner.height));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn case_lines(
    case: &ReviewItem,
    labels: &[String],
    features: Option<&FeaturesView>,
    now_ms: i64,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let reason = match case.reason {
        QueueReason::LowConfidence => "low confidence",
        QueueReason::NarrowMargin => "narrow margin",
    };
    let margin = case
        .margin
        .map(|m| format!(" · margin {m:.3}"))
        .unwrap_or_default();
    let generated = if case.generated_id {
        " (generated id)"
    } else {
        ""
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("id ", theme.dim),
            Span::styled(
                cut(
                    &format!("{}{generated}", safe(&case.case_id)),
                    w.saturating_sub(3),
                ),
                theme.title,
            ),
        ]),
        Line::styled(
            cut(
                &format!(
                    "{} · {} {:.3}{margin} · {reason}",
                    safe(&case.model),
                    safe(&case.label),
                    case.confidence
                ),
                w,
            ),
            theme.text,
        ),
        Line::styled(
            cut(
                &format!(
                    "waited {} · {} · prediction #{}",
                    ago(now_ms - case.queued_ms),
                    state_word(&case.state),
                    case.index
                ),
                w,
            ),
            theme.text,
        ),
    ];
    let parsed: Option<serde_json::Value> = case
        .raw
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let mut probs = parsed
        .as_ref()
        .map(crate::record::class_probabilities)
        .unwrap_or_default();
    if probs.is_empty() {
        probs.push((case.label.clone(), case.confidence));
    }
    probs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let name_w = probs
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 14);
    let bar_w = w.saturating_sub(name_w + 12).min(24);
    for (label, p) in probs.iter().take(12) {
        let id = labels.iter().position(|l| l == label);
        let style = id.map_or(theme.text, |i| theme.label(i));
        let glyph = id.map_or('?', label_glyph);
        lines.push(Line::from(vec![
            Span::styled(format!("{glyph} {} ", pad(&safe(label), name_w)), style),
            Span::styled(bar(*p, bar_w), style),
            Span::styled(format!(" {:>5.1}%", p * 100.0), theme.text),
        ]));
    }
    match (&parsed, &case.raw) {
        (Some(v), _) => {
            // Every field besides the ones the header and the bars show:
            // the segment, the input, whatever else the model sent.
            let extra = v
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !crate::record::is_core_field(k) && k.as_str() != "input");
            for (k, value) in extra {
                let text = serde_json::to_string(value).unwrap_or_default();
                lines.push(Line::from(vec![
                    Span::styled(format!("{}: ", fit(k, 24)), theme.dim),
                    Span::styled(
                        fit(&text, w.saturating_sub(k.chars().count().min(24) + 2)),
                        theme.text,
                    ),
                ]));
            }
            lines.push(Line::styled("input:", theme.dim));
            match (v.get("input"), features) {
                (Some(input), Some(features)) => {
                    lines.extend(input_lines(input, features, w, theme));
                }
                (input, _) => lines.extend(pretty_lines(input.unwrap_or(v), "", "", w, theme)),
            }
        }
        (None, Some(raw)) => {
            lines.push(Line::styled("input:", theme.dim));
            // Not JSON (or cut short): the raw text, escaped, in slices.
            let text = safe(raw).into_owned();
            let chars: Vec<char> = text.chars().collect();
            for chunk in chars.chunks(w.max(1)).take(20) {
                lines.push(Line::styled(
                    cut(&chunk.iter().collect::<String>(), w),
                    theme.text,
                ));
            }
        }
        (None, None) => lines.push(Line::styled("input: (not kept)", theme.dim)),
    }
    lines
}

/// The input pretty-printed, each feature's value that lies beyond the
/// baseline marked on its line (`⚠ outside baseline 2.0–9.5`).
fn input_lines(
    input: &serde_json::Value,
    features: &FeaturesView,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(fields) = input.as_object().filter(|o| !o.is_empty()) else {
        return pretty_lines(input, "", "", w, theme);
    };
    let mut lines = vec![Line::styled("{", theme.text)];
    for (i, (key, value)) in fields.iter().enumerate() {
        let comma = if i + 1 < fields.len() { "," } else { "" };
        let key_json = serde_json::to_string(key).unwrap_or_default();
        match value.as_object().filter(|o| !o.is_empty()) {
            // A nested object's scalars are features named `parent.key`.
            Some(nested) => {
                lines.push(Line::styled(
                    fit(&format!("  {key_json}: {{"), w),
                    theme.text,
                ));
                for (j, (inner, v)) in nested.iter().enumerate() {
                    let inner_comma = if j + 1 < nested.len() { "," } else { "" };
                    let inner_json = serde_json::to_string(inner).unwrap_or_default();
                    let mark = outside_mark(features, &format!("{key}.{inner}"), v);
                    let first = format!("    {inner_json}: ");
                    lines.extend(marked(v, &first, inner_comma, mark, w, theme));
                }
                lines.push(Line::styled(format!("  }}{comma}"), theme.text));
            }
            None => {
                let mark = outside_mark(features, key, value);
                let first = format!("  {key_json}: ");
                lines.extend(marked(value, &first, comma, mark, w, theme));
            }
        }
    }
    lines.push(Line::styled("}", theme.text));
    lines
}

/// One field's value after `first`, its mark (if any) at the line's end.
fn marked(
    value: &serde_json::Value,
    first: &str,
    comma: &str,
    mark: Option<String>,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(mark) = mark else {
        return pretty_lines(value, first, comma, w, theme);
    };
    let text = format!("{first}{value}{comma}");
    let mark_w = mark.chars().count().min(w / 2);
    vec![Line::from(vec![
        Span::styled(fit(&text, w.saturating_sub(mark_w + 1)), theme.text),
        Span::styled(format!(" {}", cut(&mark, mark_w)), theme.warn),
    ])]
}

/// A value pretty-printed, its first line after `first`, the following
/// ones indented as deep, `comma` after the last; each line escaped.
fn pretty_lines(
    value: &serde_json::Value,
    first: &str,
    comma: &str,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    let indent = " ".repeat(first.len() - first.trim_start().len());
    let count = pretty.lines().count();
    pretty
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let lead = if i == 0 { first } else { &indent };
            let end = if i + 1 == count { comma } else { "" };
            Line::styled(fit(&format!("{lead}{l}{end}"), w), theme.text)
        })
        .collect()
}

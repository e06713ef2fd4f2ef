//! The model's input features against their baseline: the features view
//! (every feature ranked by drift, from the snapshot's ranking) and its
//! compact form on a wide dashboard, and the marks the review case puts on
//! input values beyond the baseline. Each row: whether the active
//! `feature_drift` alert lists the feature (●), its name, kind, effect
//! (normed Wasserstein for a number, Jensen–Shannon for a category) with
//! the threshold it must reach, the test's p (KS, chi-square), the effect
//! over the last checks, and what moved most. Names come from the stream:
//! only a bounded part of each is escaped and shown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use super::text::{count, cut, fit, open_panel, p_value, pad, safe};
use crate::engine::features::FeatureKind;
use crate::engine::features::history::{EFFECT_HISTORY, Moved};
use crate::engine::features::view::{FeatureRow, FeaturesPhase, FeaturesView, Outside};
use crate::engine::snapshot::ModelView;
use crate::record::features::FeatureValue;
use crate::ui::list_page::page_around;
use crate::ui::theme::Theme;

/// The features on the features screen, the page around row `selected`
/// (none: from the top, the selection being among the segments); `key`
/// opens and closes the screen.
pub fn panel(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    theme: &Theme,
    compact: bool,
    selected: Option<usize>,
    key: &str,
) {
    let view = model.map(|m| &m.features);
    let title = match view {
        Some(v) => format!("Features: {} · {key} back", tally(v)),
        None => format!("Features · {key} back"),
    };
    // The title is marked while the selection is here (the segments have
    // it otherwise), or when there is nothing to select.
    let here = selected.is_some() || view.is_none_or(|v| v.rows.is_empty());
    let inner = open_panel(frame, area, &title, here, theme, compact);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let lines = match view.map(|v| (v, not_compared(v, theme))) {
        None => vec![Line::styled("no model yet", theme.dim)],
        Some((_, Some(why))) => why,
        Some((v, None)) => {
            let columns = Columns::full(width, &v.rows);
            // Header, rows, then a line of legend.
            let room = height.saturating_sub(2).max(1);
            let rows = page_around(selected.unwrap_or(0), v.rows.len(), room);
            let mut lines = vec![Line::styled(columns.header(trend_len(v)), theme.dim)];
            let legend = format!(
                "{}–{} of {} · ● listed by the feature_drift alert · drifting: effect ≥ its need and p < {}",
                rows.start + 1,
                rows.end,
                v.rows.len(),
                v.max_p_value.map_or("–".into(), p_value)
            );
            lines.extend(rows.map(|i| {
                let mark = if Some(i) == selected { "▶" } else { " " };
                columns.row(mark, &v.rows[i], v.max_p_value, theme)
            }));
            lines.push(Line::styled(cut(&legend, width), theme.dim));
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Lines the features panel has to show: its header, rows and legend, or
/// why there is nothing to compare.
pub fn lines_wanted(model: Option<&ModelView>) -> usize {
    match model.map(|m| &m.features) {
        None => 1,
        Some(v) if v.phase == FeaturesPhase::Frozen && !v.rows.is_empty() => v.rows.len() + 2,
        Some(v) => 2 + usize::from(v.dropped_over_bytes > 0 || v.untracked_values > 0),
    }
}

/// The most drifted features, for the dashboard when it is wide.
pub fn summary(
    frame: &mut Frame<'_>,
    area: Rect,
    model: Option<&ModelView>,
    theme: &Theme,
    compact: bool,
) {
    let view = model.map(|m| &m.features);
    let title = view.map_or("Features".into(), |v| format!("Features: {}", tally(v)));
    let inner = open_panel(frame, area, &title, false, theme, compact);
    let height = usize::from(inner.height);
    let lines = match view.map(|v| (v, not_compared(v, theme))) {
        None => Vec::new(),
        Some((_, Some(why))) => why,
        Some((v, None)) => {
            let columns = Columns::compact(usize::from(inner.width), &v.rows);
            let fits = v.rows.len() <= height;
            let room = if fits {
                height
            } else {
                height.saturating_sub(1)
            };
            let mut lines: Vec<Line<'static>> = v
                .rows
                .iter()
                .take(room)
                .map(|r| columns.row("", r, v.max_p_value, theme))
                .collect();
            if !fits {
                let more = format!("+{} more, less drifted", v.rows.len() - room);
                lines.push(Line::styled(more, theme.dim));
            }
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `3 watched · 1 drifting`, for a title.
fn tally(v: &FeaturesView) -> String {
    let drifting = v.rows.iter().filter(|r| r.drifting(v.max_p_value)).count();
    match v.phase {
        FeaturesPhase::Frozen if !v.rows.is_empty() => {
            format!("{} watched · {drifting} drifting", v.rows.len())
        }
        FeaturesPhase::Collecting => "baseline collecting".into(),
        _ => "none".into(),
    }
}

/// Why there is nothing to compare yet, or `None` when there is.
fn not_compared(v: &FeaturesView, theme: &Theme) -> Option<Vec<Line<'static>>> {
    let mut lines = match v.phase {
        FeaturesPhase::Frozen if !v.rows.is_empty() => return None,
        FeaturesPhase::Collecting => {
            let mut lines = vec![Line::styled(
                "baseline collecting: features are compared once it is frozen",
                theme.dim,
            )];
            if !v.rows.is_empty() {
                let names: Vec<String> = v.rows.iter().map(|r| name_cell(&r.name, 24)).collect();
                lines.push(Line::styled(
                    format!("{} seen so far: {}", v.rows.len(), names.join(", ")),
                    theme.text,
                ));
            }
            lines
        }
        FeaturesPhase::Frozen => vec![Line::styled("no input features in the baseline", theme.dim)],
        FeaturesPhase::Off => vec![Line::styled(
            "no input features in the baseline (features are off, or the baseline came from a file)",
            theme.dim,
        )],
    };
    if v.dropped_over_bytes > 0 || v.untracked_values > 0 {
        lines.push(Line::styled(
            format!(
                "not watched for [features] caps: {} features given up for max_bytes, {} values",
                v.dropped_over_bytes,
                count(v.untracked_values)
            ),
            theme.dim,
        ));
    }
    Some(lines)
}

/// How many checks the longest trend holds.
fn trend_len(v: &FeaturesView) -> usize {
    v.rows.iter().map(|r| r.trend.len()).max().unwrap_or(0)
}

/// Cells for the trend: as many as checks so far (at least 8), at most
/// `room`.
fn trend_width(rows: &[FeatureRow], room: usize) -> usize {
    let checks = rows.iter().map(|r| r.trend.len()).max().unwrap_or(0);
    checks.clamp(8, EFFECT_HISTORY).min(room)
}

/// Widths of a row's columns (0: not shown).
struct Columns {
    /// The selection's mark (`▶`) before the alert's: the screen's rows.
    select: usize,
    name: usize,
    kind: usize,
    trend: usize,
    moved: usize,
}

/// Mark (2), effect and its threshold (13), p (8).
const FIXED: usize = 2 + 13 + 8;
/// `num`/`cat` and a space.
const KIND: usize = 5;

/// The widest name's cells, at least the header's and at most `cap`.
fn name_width(rows: &[FeatureRow], cap: usize) -> usize {
    rows.iter()
        .map(|r| {
            name_cell(&r.name, cap)
                .chars()
                .map(|c| UnicodeWidthChar::width(c).unwrap_or(0))
                .sum()
        })
        .fold(7, usize::max)
        .min(cap)
}

impl Columns {
    fn full(width: usize, rows: &[FeatureRow]) -> Columns {
        let name = name_width(rows, (width / 4).clamp(8, 32));
        let rest = width.saturating_sub(1 + FIXED + KIND + name + 1);
        let trend = trend_width(rows, rest.saturating_sub(28).max(8)).min(rest);
        let moved = rest.saturating_sub(trend + 1);
        Columns {
            select: 1,
            name,
            kind: KIND,
            trend,
            moved: if moved >= 12 { moved } else { 0 },
        }
    }

    fn compact(width: usize, rows: &[FeatureRow]) -> Columns {
        let name = name_width(rows, (width / 3).clamp(8, 24));
        let kind = if width >= 56 { KIND } else { 0 };
        let rest = width.saturating_sub(FIXED + kind + name + 1);
        Columns {
            select: 0,
            name,
            kind,
            trend: trend_width(rows, rest),
            moved: 0,
        }
    }

    fn header(&self, checks: usize) -> String {
        let mut s = format!(
            "{}  {} ",
            " ".repeat(self.select),
            pad("feature", self.name)
        );
        if self.kind > 0 {
            s.push_str(&pad("kind", self.kind));
        }
        s.push_str(&format!("{} {}", pad("effect ≥need", 12), pad("p", 7)));
        if self.trend > 0 {
            let checks = format!("last {} checks", checks.min(self.trend));
            let trend = if checks.len() <= self.trend {
                checks
            } else {
                "trend".into()
            };
            s.push_str(&format!(" {}", pad(&trend, self.trend)));
        }
        if self.moved > 0 {
            s.push_str(" moved most");
        }
        s
    }

    /// A feature's row; `select` is the selection's mark (`▶`, a space,
    /// or nothing where rows are not selected).
    fn row(
        &self,
        select: &'static str,
        r: &FeatureRow,
        max_p: Option<f64>,
        theme: &Theme,
    ) -> Line<'static> {
        let drifting = r.drifting(max_p);
        let (mark, mark_style) = if r.in_alert {
            ("● ", theme.warn)
        } else {
            ("  ", theme.text)
        };
        let name_style = if drifting { theme.warn } else { theme.text };
        let mut spans = vec![
            Span::styled(select, theme.text),
            Span::styled(mark, mark_style),
            Span::styled(
                pad(&name_cell(&r.name, self.name), self.name) + " ",
                name_style,
            ),
        ];
        if self.kind > 0 {
            let kind = match r.kind {
                FeatureKind::Numeric => "num",
                FeatureKind::Categorical => "cat",
            };
            spans.push(Span::styled(pad(kind, self.kind), theme.dim));
        }
        let over = |yes: bool| -> Style { if yes { theme.warn } else { theme.text } };
        let (effect, p) = match &r.last {
            Some(l) => (
                Span::styled(
                    pad(&format!("{:.3} ≥{}", l.effect, r.threshold), 12),
                    over(l.effect >= r.threshold),
                ),
                Span::styled(
                    pad(&p_value(l.p_value), 7),
                    over(max_p.is_some_and(|a| l.p_value < a)),
                ),
            ),
            None => (
                Span::styled(pad(&format!("–     ≥{}", r.threshold), 12), theme.dim),
                Span::styled(pad("–", 7), theme.dim),
            ),
        };
        spans.extend([effect, Span::raw(" "), p]);
        if self.trend > 0 {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                sparkline(&r.trend, r.threshold, self.trend),
                theme.accent,
            ));
        }
        if self.moved > 0
            && let Some(l) = &r.last
        {
            spans.push(Span::styled(
                format!(" {}", moved(&l.moved, self.moved)),
                theme.text,
            ));
        }
        Line::from(spans)
    }
}

/// What moved most, in `w` cells: a numeric feature's mean, a
/// categorical's share.
fn moved(m: &Moved, w: usize) -> String {
    match m {
        Moved::Nothing => String::new(),
        Moved::Mean { from, to } => cut(&format!("mean {} → {}", number(*from), number(*to)), w),
        Moved::Share { category, from, to } => {
            let shares = format!(" {:.1}% → {:.1}%", from * 100.0, to * 100.0);
            let room = w.saturating_sub(shares.chars().count() + 2).max(3);
            cut(&format!("\"{}\"{shares}", name_cell(category, room)), w)
        }
    }
}

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `w` effects as bars, newest on the right; the scale's top is
/// twice the threshold or the largest effect, whichever is higher, so a
/// quiet feature stays low. A check without a test is a blank.
fn sparkline(trend: &[f32], threshold: f64, w: usize) -> String {
    let shown = &trend[trend.len().saturating_sub(w)..];
    let largest = shown
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0f32, f32::max);
    let top = largest.max(2.0 * threshold as f32).max(f32::MIN_POSITIVE);
    let mut s = " ".repeat(w - shown.len());
    for &x in shown {
        s.push(if x.is_finite() {
            LEVELS[((x / top).clamp(0.0, 1.0) * 7.0).round() as usize]
        } else {
            ' '
        });
    }
    s
}

/// An untrusted name in at most `w` cells, escaped, cut in the middle
/// (nested names differ at their end); only its first and last `w`
/// characters are looked at, however long it is.
pub fn name_cell(name: &str, w: usize) -> String {
    let head_end = name.char_indices().nth(w).map_or(name.len(), |(i, _)| i);
    if head_end == name.len() {
        return fit(name, w);
    }
    let tail_start = name
        .char_indices()
        .rev()
        .nth(w.saturating_sub(1))
        .map_or(0, |(i, _)| i)
        .max(head_end);
    let tail_w = w.saturating_sub(1) / 3;
    let head_w = w.saturating_sub(1 + tail_w);
    let head = safe(&name[..head_end]);
    let tail = safe(&name[tail_start..]);
    let mut out = take_cells(head.chars(), head_w);
    out.push('…');
    let end: String = take_cells(tail.chars().rev(), tail_w);
    out.extend(end.chars().rev());
    out
}

/// Characters from `chars` while they fit `w` cells.
fn take_cells(chars: impl Iterator<Item = char>, w: usize) -> String {
    let mut used = 0;
    chars
        .take_while(|c| {
            used += UnicodeWidthChar::width(*c).unwrap_or(0);
            used <= w
        })
        .collect()
}

/// A mean in a few characters: four significant digits (`5.739`,
/// `10.42`, `1.20e9`).
fn number(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x != 0.0 && !(1e-3..1e6).contains(&x.abs()) {
        return format!("{x:.2e}");
    }
    let digits = if x == 0.0 {
        1
    } else {
        x.abs().log10().floor() as i32 + 1
    };
    format!("{x:.*}", (4 - digits).clamp(1, 4) as usize)
}

/// A baseline's bound as the data gave it (`2.0`, `399.99`), or in a few
/// characters when that is long.
fn bound(x: f64) -> String {
    let exact = x.to_string();
    if exact.len() > 10 {
        number(x)
    } else if exact.contains(['.', 'e', 'i', 'N']) {
        exact
    } else {
        format!("{exact}.0")
    }
}

/// The mark a review case's input value gets when it lies beyond the
/// baseline of feature `name`.
pub fn outside_mark(
    features: &FeaturesView,
    name: &str,
    value: &serde_json::Value,
) -> Option<String> {
    let value = match value {
        serde_json::Value::Number(n) => FeatureValue::Number(n.as_f64()?),
        serde_json::Value::String(s) => FeatureValue::Text(s.as_str()),
        serde_json::Value::Bool(b) => FeatureValue::Bool(*b),
        _ => return None,
    };
    let row = features.rows.iter().find(|r| *r.name == *name)?;
    Some(match row.range.outside(value)? {
        Outside::Below { min, max } | Outside::Above { min, max } => {
            format!("⚠ outside baseline {}–{}", bound(min), bound(max))
        }
        Outside::Unseen => "⚠ not seen in the baseline".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sparklines_and_names_fit_their_cells() {
        assert_eq!(
            [5.7385, 10.4179, 0.05, 399.99, 1.2e9, 0.0, -3.0].map(number),
            [
                "5.739", "10.42", "0.0500", "400.0", "1.20e9", "0.000", "-3.000"
            ]
        );
        assert_eq!(
            [2.0, 9.5, 399.99, 1.0 / 3.0, -1e300].map(bound),
            ["2.0", "9.5", "399.99", "0.3333", "-1.00e300"]
        );
        assert_eq!(sparkline(&[0.0, 0.1, f32::NAN, 0.4], 0.1, 6), "  ▁▃ █");
        assert_eq!(sparkline(&[0.05; 80], 0.1, 3).chars().count(), 3);
        assert_eq!(name_cell("amount", 10), "amount");
        let long = format!("customer{}.postcode", "x".repeat(1000));
        let cell = name_cell(&long, 16);
        assert_eq!(cell, "customerxx…tcode");
        let hostile = format!("\x1b]0;t\x07{}", "\x1b[2J".repeat(300_000));
        let cell = name_cell(&hostile, 20);
        assert!(
            !cell.contains('\x1b') && cell.starts_with("\\x1b]0;t"),
            "{cell}"
        );
        assert!(cell.chars().count() <= 20);
    }
}

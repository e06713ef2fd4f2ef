//! What draws over the panels: help (generated from the live keymap) and
//! the dialogs. Everything untrusted in them (model names, labels, what an
//! actuator will do) is escaped like everywhere else.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::ScreenContext;
use super::models::models_lines;
use super::text::{centered, cut, fit, label_glyph, pad, safe};
use crate::engine::alerts::{Alert, Severity};
use crate::engine::rules::{RULES, rule_of};
use crate::engine::snapshot::Snapshot;
use crate::record::time::format_ms;
use crate::ui::app::App;
use crate::ui::dialog::{Dialog, LabelPicker};
use crate::ui::theme::Theme;

pub fn draw(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
) {
    let Some(dialog) = &app.dialog else { return };
    let theme = &app.theme;
    // The models table takes what width there is; the rest read best narrow.
    let widest = if matches!(dialog, Dialog::Models { .. }) {
        120
    } else {
        76
    };
    let width = area.width.saturating_sub(4).min(widest);
    let inner_w = usize::from(width.saturating_sub(4));
    let armed = app.arming_until(ctx.now_ms).is_none();
    let (title, lines, scroll) = match dialog {
        Dialog::Help { scroll } => ("Help", help_lines(app, inner_w), *scroll),
        Dialog::AlertDetail { alert, scroll } => ("Alert", alert_lines(alert, theme), *scroll),
        Dialog::ConfirmTrip { model } => (
            "KILL SWITCH",
            trip_lines(model, ctx, armed, inner_w, theme),
            0,
        ),
        Dialog::ConfirmReset { model, typed } => (
            "RESET KILL SWITCH",
            reset_lines(model, typed, ctx, inner_w, theme),
            0,
        ),
        Dialog::ConfirmRebaseline { model } => (
            "New baseline",
            rebaseline_lines(model, armed, inner_w, theme),
            0,
        ),
        Dialog::Models { names, selected } => (
            "Models",
            models_lines(snap, ctx, names, *selected, inner_w, theme),
            // Keep the selected row in sight (a header line above it).
            u16::try_from(*selected + 2)
                .unwrap_or(u16::MAX)
                .saturating_sub(area.height.saturating_sub(4)),
        ),
        Dialog::PickLabel(p) => (
            "Override: the right label",
            picker_lines(p, inner_w, theme),
            0,
        ),
    };
    let border = match dialog {
        Dialog::ConfirmTrip { .. } | Dialog::ConfirmReset { .. } => theme.crit,
        _ => theme.border_focus,
    };
    let paragraph = Paragraph::new(lines)
        .style(theme.dialog)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(Span::styled(format!(" {title} "), border)),
        );
    // As many rows as the wrapped text takes (borders included), so a long
    // line never pushes the last one (the keys to press) out of sight.
    let wrapped = paragraph.line_count(width.saturating_sub(2));
    let height = u16::try_from(wrapped)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(paragraph, rect);
}

/// One alert in full: what, where, when (absolute, UTC), the whole
/// explanation with its figures, and what clears it.
fn alert_lines(a: &Alert, theme: &Theme) -> Vec<Line<'static>> {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(pad(name, 16), theme.dim),
            Span::styled(safe(&value).into_owned(), theme.text),
        ])
    };
    let severity = if a.severity == Severity::Critical {
        theme.crit
    } else {
        theme.warn
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", a.severity.as_str().to_uppercase()), severity),
        Span::styled(a.kind.as_str(), theme.title),
        Span::styled(
            if a.is_active() {
                "  (active)"
            } else {
                "  (cleared)"
            },
            theme.dim,
        ),
    ])];
    lines.push(field(
        "model",
        a.model.clone().unwrap_or_else(|| "(input)".into()),
    ));
    lines.push(field(
        "fired",
        format!(
            "{} at prediction #{} (breaching since #{})",
            format_ms(a.ts_ms),
            a.index,
            a.breaching_since
        ),
    ));
    if let (Some(i), Some(t)) = (a.cleared_index, a.cleared_ts_ms) {
        lines.push(field("cleared", format!("{} at #{i}", format_ms(t))));
    }
    lines.push(field(
        "acknowledged",
        if a.acknowledged {
            "yes"
        } else {
            "no (A acknowledges)"
        }
        .into(),
    ));
    if let Some(rule) = rule_of(a.kind) {
        lines.push(field("rule", rule.watches.to_string()));
        lines.push(field("clears with", rule.clears.to_string()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(safe(&a.detail).into_owned(), theme.text));
    lines.push(Line::raw(""));
    lines.push(Line::styled("j/k scroll · Esc or Enter closes", theme.dim));
    lines
}

fn help_lines(app: &App, w: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = vec![Line::styled(
        "Keys (from the live keymap; [ui.keys] in the config remaps them)",
        theme.dim,
    )];
    for (keys, name, help) in app.keymap.help_rows() {
        if keys.is_empty() {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(pad(&keys, 14), theme.key),
            Span::styled(cut(help, w.saturating_sub(17 + name.len())), theme.text),
            Span::styled(format!(" ({name})"), theme.dim),
        ]));
    }
    for (k, what) in [
        (
            "Esc",
            "close a dialog or this help; clear the filter while typing it",
        ),
        (
            "y / Enter",
            "confirm a dialog (after a moment: read it first)",
        ),
        ("Tab", "in the label picker: type a new label"),
        ("ctrl-c", "quits from anywhere"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(pad(k, 14), theme.key),
            Span::styled(cut(what, w.saturating_sub(14)), theme.text),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Alert rules ([alerts.NAME] in the config)",
        theme.dim,
    ));
    for rule in RULES {
        let name = rule.kind.as_str();
        lines.push(Line::from(vec![
            Span::styled(pad(name, 22), theme.key),
            Span::styled(cut(rule.watches, w.saturating_sub(22)), theme.text),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Drift panel and features view notation",
        theme.dim,
    ));
    for (k, what) in [
        (
            "KS D, p",
            "Kolmogorov–Smirnov distance of window vs baseline confidence, and its p-value",
        ),
        (
            "PSI",
            "population stability index of confidence (shown, no rule uses it)",
        ),
        (
            "chi², p / JS",
            "chi-square test and Jensen–Shannon distance of the label mix",
        ),
        (
            "W1 norm, W1/σ",
            "Wasserstein distance of confidence over the baseline's std",
        ),
        (
            "↑ ↓ →",
            "which way confidence moved (or the alert's direction)",
        ),
        (
            "ALERT N preds",
            "the rule using this figure has an active alert, breaching for N predictions",
        ),
        ("breaching", "the last check breached; not (yet) an alert"),
        (
            "#N ×k",
            "a detector's last change at prediction N, k changes in all",
        ),
        (
            "effect ≥need",
            "a feature's normed Wasserstein (num) or Jensen–Shannon (cat), and feature_drift's bar",
        ),
        (
            "●",
            "the feature is listed by the active feature_drift alert",
        ),
        (
            "▁▃▅█",
            "a feature's effect at each of its last checks, newest right",
        ),
    ] {
        lines.push(Line::from(vec![
            Span::styled(pad(k, 14), theme.key),
            Span::styled(cut(what, w.saturating_sub(14)), theme.text),
        ]));
    }
    lines.push(Line::styled("j/k scroll · Esc or ? closes", theme.dim));
    lines
}

fn plan_lines(ctx: &ScreenContext<'_>, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    if ctx.plan.is_empty() {
        return vec![Line::styled(
            "  (no actuator configured: nothing would happen)",
            theme.crit,
        )];
    }
    ctx.plan
        .iter()
        .map(|p| Line::styled(cut(&format!("  • {}", safe(p)), w), theme.text))
        .collect()
}

/// The keys of a yes/no dialog; while it is arming (see
/// `app::ARMING_MS`) the confirmation key is not offered yet.
fn yes_no_keys(
    armed: bool,
    yes: &'static str,
    yes_style: ratatui::style::Style,
    theme: &Theme,
) -> Line<'static> {
    if !armed {
        return Line::from(vec![
            Span::styled(" read first… ", theme.dim),
            Span::styled(" any other key ", theme.key),
            Span::styled(" cancels", theme.text),
        ]);
    }
    Line::from(vec![
        Span::styled(" y / Enter ", yes_style),
        Span::styled(yes, theme.text),
        Span::styled(" any other key ", theme.key),
        Span::styled(" cancels", theme.text),
    ])
}

fn trip_lines(
    model: &str,
    ctx: &ScreenContext<'_>,
    armed: bool,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Stop the model ", theme.text),
            Span::styled(fit(model, w.saturating_sub(20)), theme.crit),
            Span::styled(" now?", theme.text),
        ]),
        Line::styled("Every actuator will run:", theme.dim),
    ];
    lines.extend(plan_lines(ctx, w, theme));
    lines.push(Line::raw(""));
    lines.push(yes_no_keys(armed, " TRIP    ", theme.kill_alarm, theme));
    lines
}

fn reset_lines(
    model: &str,
    typed: &str,
    ctx: &ScreenContext<'_>,
    w: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Re-arm ", theme.text),
            Span::styled(fit(model, w.saturating_sub(10)), theme.crit),
            Span::styled(": the model will be allowed to run again.", theme.text),
        ]),
        Line::styled("Every actuator will run:", theme.dim),
    ];
    lines.extend(plan_lines(ctx, w, theme));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Type the model's name, then Enter (Esc cancels):",
        theme.text,
    ));
    let matches = typed == model;
    lines.push(Line::from(vec![
        Span::styled("> ", theme.key),
        Span::styled(format!("{}▏", fit(typed, w.saturating_sub(16))), theme.text),
        Span::styled(if matches { "  ✓ matches" } else { "" }, theme.ok),
    ]));
    lines
}

fn rebaseline_lines(model: &str, armed: bool, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            Span::styled("Take a new baseline for ", theme.text),
            Span::styled(fit(model, w.saturating_sub(30)), theme.title),
            Span::styled("?", theme.text),
        ]),
        Line::styled(
            "The current baseline, windows and review queue are dropped; the next predictions become the baseline. Recorded in the audit log.",
            theme.dim,
        ),
        Line::raw(""),
        yes_no_keys(armed, " re-baseline    ", theme.key, theme),
    ]
}

/// Labels listed at once in the label picker.
const PICKER_ROWS: usize = 20;

fn picker_lines(p: &LabelPicker, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        cut(
            &format!(
                "case {} · model said {} ({:.3})",
                safe(&p.case.case_id),
                safe(&p.case.label),
                p.case.confidence
            ),
            w,
        ),
        theme.text,
    )];
    // A window of the labels that always holds the selected one.
    let first = p.selected.saturating_sub(PICKER_ROWS - 1);
    for (i, label) in p.labels.iter().enumerate().skip(first).take(PICKER_ROWS) {
        let selected = !p.typing && i == p.selected;
        let mark = if selected { "▶" } else { " " };
        let style = if selected {
            theme.selected
        } else {
            theme.label(i)
        };
        lines.push(Line::styled(
            pad(
                &format!("{mark}{} {}", label_glyph(i), safe(label)),
                w.min(40),
            ),
            style,
        ));
    }
    let typed_style = if p.typing { theme.selected } else { theme.text };
    lines.push(Line::from(vec![
        Span::styled("new label: ", theme.dim),
        Span::styled(
            format!("{}▏", fit(&p.typed, w.saturating_sub(14))),
            typed_style,
        ),
    ]));
    lines.push(Line::styled(
        "letter picks · j/k and Enter · Tab types a new label · Esc cancel",
        theme.dim,
    ));
    lines
}

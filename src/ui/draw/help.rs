//! The help screen (`?`): the live keymap, the keys of dialogs, the alert
//! rules, and a legend of every abbreviation and glyph the screens draw,
//! panel by panel. Long explanations wrap under themselves, never cut.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::text::pad;
use crate::engine::rules::RULES;
use crate::ui::app::App;
use crate::ui::theme::Theme;

/// Width of the key / notation column.
const KEY_W: usize = 16;

/// What each abbreviation and glyph on screen means, by where it is drawn.
pub const LEGEND: &[(&str, &[(&str, &str)])] = &[
    (
        "Status bar and key line",
        &[
            (
                "KILL: ARMED",
                "the kill switch of the model on screen: ARMED, TRIPPING…, TRIPPED, NOT CONFIRMED (an actuator failed), RESETTING…",
            ),
            ("N/s", "predictions per second"),
            ("12.3k, 4.1M", "thousands, millions"),
            ("(1/2)", "the model on screen, of the models seen (m: next)"),
            (
                "PAUSED +N new",
                "the view is frozen; N predictions arrived since (p resumes)",
            ),
            (
                "⚠ N CRITICAL",
                "active critical alerts on models not on screen (M lists them)",
            ),
            (
                "KILL N",
                "models not on screen whose kill switch is not armed",
            ),
            (
                "N malformed: L",
                "input lines that were not events; L lists them",
            ),
        ],
    ),
    (
        "Confidence chart",
        &[
            ("now, base", "the sliding window's figures, the baseline's"),
            (
                "[a–b], p10–p90",
                "10th to 90th percentile of confidence (p10 to p90)",
            ),
            ("•", "mean confidence of the predictions in a column"),
            ("┃ │", "their p10–p90 band"),
            ("─ ┈", "the baseline's mean, and its p10 and p90"),
            (
                "▔ review <x",
                "the review threshold: a prediction below it is queued",
            ),
            ("HH:MM:SS UTC", "time axis, UTC: the last column is now"),
        ],
    ),
    (
        "Prediction mix",
        &[
            (
                "A B C…",
                "a label's letter: it stands for the label wherever its colour does",
            ),
            ("base", "the label's share in the baseline"),
            (
                "▲ ▼ +N",
                "share moved by N percentage points from the baseline (▲ ▼ past 2)",
            ),
        ],
    ),
    (
        "Drift panel (window vs baseline)",
        &[
            (
                "KS D, p",
                "Kolmogorov–Smirnov test on confidence: distance D and its p-value p",
            ),
            (
                "PSI",
                "population stability index of confidence (shown, no rule uses it)",
            ),
            (
                "chi², p",
                "chi-square test of the label mix, and its p-value",
            ),
            ("JS", "Jensen–Shannon distance of the label mix"),
            (
                "W1 norm, W1/σ",
                "Wasserstein-1 distance of confidence over the baseline's standard deviation σ",
            ),
            (
                "Page–Hink, P–H",
                "Page–Hinkley change detector on confidence",
            ),
            ("ADWIN", "adaptive windowing change detector on confidence"),
            (
                "#N ×k",
                "a detector's last change at prediction N, k changes in all",
            ),
            (
                "↑ ↓ → ↕",
                "which way confidence moved (the alert's direction; ↕ both ways)",
            ),
            ("ok", "the rule using this figure does not breach"),
            ("breaching", "the last check breached; not (yet) an alert"),
            (
                "ALERT N preds",
                "the rule has an active alert, breaching for N predictions",
            ),
        ],
    ),
    (
        "Alerts, alert history",
        &[
            ("CRITICAL, warning", "an alert's severity"),
            (
                "UNACKED, acked",
                "an active alert not yet acknowledged (A), or acknowledged",
            ),
            (
                "4s 12m 3h 2d",
                "how long ago: seconds, minutes, hours, days",
            ),
            ("[name]", "the model an alert is about"),
            ("UTC", "alert history and detail times are absolute, in UTC"),
        ],
    ),
    (
        "Accuracy",
        &[
            (
                "realized",
                "accuracy from labels (feedback, approvals, overrides)",
            ),
            (
                "estimated",
                "accuracy expected from confidence, before labels arrive",
            ),
            (
                "CBPE",
                "confidence-based performance estimation: the estimate from calibrated confidence",
            ),
            (
                "mean conf",
                "the estimate is the mean confidence (no calibration yet)",
            ),
            (
                "win, last, base",
                "the sliding window; the most recent labelled predictions; the baseline",
            ),
            ("lab.", "predictions with a label"),
            ("delay", "mean time from a prediction to its label"),
        ],
    ),
    (
        "Review queue, case, models",
        &[
            ("conf", "the model's confidence in its prediction"),
            ("<x", "the review threshold: cases below it are queued"),
            ("waited", "time the case has been in the queue"),
            ("evicted", "cases dropped from a full queue"),
            ("#N", "the prediction's index in the model's stream"),
            (
                "rate/s, last",
                "models view: predictions per second, time since the last",
            ),
            (
                "crit, warn",
                "models view: active critical and warning alerts",
            ),
        ],
    ),
    (
        "Features and segments (f)",
        &[
            (
                "effect ≥need",
                "a feature's normed Wasserstein (num) or Jensen–Shannon (cat), and the bar feature_drift sets",
            ),
            ("num, cat", "a numeric or a categorical input feature"),
            (
                "●",
                "listed by the active feature_drift (features) or segment_drift (segments) alert",
            ),
            (
                "▁▃▅█",
                "a feature's effect at each of its last checks, newest right",
            ),
            (
                "moved most",
                "a number's mean, or the share of the category that moved most, baseline → window",
            ),
            (
                "field=value",
                "a segment: the predictions whose field (segment, input.NAME) has that value",
            ),
            ("window", "predictions in the segment's sliding window"),
            (
                "now/base",
                "a segment's mean confidence in its window at its last test, and in its own baseline",
            ),
            (
                "realized (lab.)",
                "accuracy of the segment's window from its labels, and how many it has",
            ),
            (
                "⚠ outside",
                "case pane: an input value beyond what the baseline saw (range, or an unseen category)",
            ),
        ],
    ),
    (
        "Untrusted text",
        &[(
            "\\x1b \\u{202e}",
            "a character that could steer the terminal, shown escaped (input, labels, names)",
        )],
    ),
];

pub fn help_lines(app: &App, w: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = vec![Line::styled(
        "Keys (from the live keymap; [ui.keys] in the config remaps them)",
        theme.dim,
    )];
    for (keys, name, help) in app.keymap.help_rows() {
        if keys.is_empty() {
            continue;
        }
        lines.extend(row(&keys, &format!("{help} ({name})"), w, theme));
    }
    for (k, what) in [
        (
            "Esc",
            "close a dialog, this help or a screen (H, L, f); clear the filter while typing it",
        ),
        (
            "y / Enter",
            "confirm a dialog (after a moment: read it first)",
        ),
        (
            "Tab",
            "label picker: the list, a new label, a note; kill switch: write a note (Enter or Tab: done)",
        ),
        ("ctrl-c", "quits from anywhere"),
    ] {
        lines.extend(row(k, what, w, theme));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Alert rules ([alerts.NAME] in the config)",
        theme.dim,
    ));
    for rule in RULES {
        lines.extend(row(rule.kind.as_str(), rule.watches, w, theme));
    }
    for (section, entries) in LEGEND {
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!("Legend: {section}"), theme.dim));
        for (k, what) in *entries {
            lines.extend(row(k, what, w, theme));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("j/k scroll · Esc or ? closes", theme.dim));
    lines
}

/// A key (or notation) and its explanation, wrapped at word boundaries
/// under the explanation's column. A key wider than its column gets a line
/// of its own.
fn row(key: &str, what: &str, w: usize, theme: &Theme) -> Vec<Line<'static>> {
    let text_w = w.saturating_sub(KEY_W).max(12);
    let mut lines = Vec::new();
    let mut first = if key.width() < KEY_W {
        Some(pad(key, KEY_W))
    } else {
        lines.push(Line::styled(key.to_string(), theme.key));
        None
    };
    for chunk in wrap(what, text_w) {
        let head = first.take().unwrap_or_else(|| " ".repeat(KEY_W));
        lines.push(Line::from(vec![
            Span::styled(head, theme.key),
            Span::styled(chunk, theme.text),
        ]));
    }
    lines
}

/// Words of `text` in lines of at most `width` cells (a longer word gets a
/// line of its own and is cut by the terminal's width).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let line = out.last_mut().expect("one line at least");
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            out.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_wrap_at_words() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh ij", 4), ["abcdefgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }
}

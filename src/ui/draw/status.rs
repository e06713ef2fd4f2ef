//! The status bar (sources, rate, model, pause, kill switch in words), the
//! banner under it (refusals, a kill-switch run's outcome), and the
//! "terminal too small" screen.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::ScreenContext;
use super::text::{ago, count, cut, fit, safe};
use crate::decision::kill_switch::SwitchState;
use crate::engine::snapshot::Snapshot;
use crate::source::{SourceState, SourceStatus};
use crate::ui::app::App;
use crate::ui::theme::Theme;

/// The kill switch in words (never colour alone) and its style.
pub fn kill_words(state: SwitchState, theme: &Theme) -> (&'static str, Style) {
    match state {
        SwitchState::Armed => ("KILL: ARMED", theme.kill_armed),
        SwitchState::Tripping => ("KILL: TRIPPING…", theme.kill_alarm),
        SwitchState::Tripped => ("KILL: TRIPPED", theme.kill_alarm),
        SwitchState::NotConfirmed => ("KILL: NOT CONFIRMED", theme.kill_alarm),
        SwitchState::Resetting => ("KILL: RESETTING…", theme.kill_alarm),
        SwitchState::ResetNotConfirmed => ("KILL: RESET NOT CONFIRMED", theme.kill_alarm),
    }
}

/// A source in full: name, state, lines, how long since its last line,
/// and its trouble (errors, drops, the last error).
fn source_words(s: &SourceStatus, now_ms: i64) -> String {
    let state = match &s.state {
        SourceState::Starting => "starting".to_string(),
        SourceState::Following => "following".to_string(),
        SourceState::Connected => "connected".to_string(),
        SourceState::Waiting(why) => format!("waiting ({})", fit(why, 30)),
        SourceState::Reconnecting { at_ms } => {
            format!(
                "reconnecting in {} s",
                ((at_ms - now_ms).max(0) + 999) / 1000
            )
        }
        SourceState::Ended => "ended".to_string(),
        SourceState::Failed(why) => format!("FAILED ({})", fit(why, 40)),
    };
    let mut out = format!("{} {state} {} lines", fit(&s.name, 28), count(s.lines));
    if let Some(last) = s.last_line_ms {
        out.push_str(&format!(", last line {} ago", ago(now_ms - last)));
    }
    if s.errors > 0 {
        out.push_str(&format!(", {} errors", count(s.errors)));
    }
    if s.dropped > 0 {
        out.push_str(&format!(", {} dropped", count(s.dropped)));
    }
    if let (Some(e), false) = (&s.last_error, matches!(s.state, SourceState::Failed(_))) {
        out.push_str(&format!(" (last error: {})", fit(e, 30)));
    }
    out
}

/// The least of a source's name the compact form keeps.
const COMPACT_NAME: usize = 6;

/// What follows a source's name when space is short: a state other than
/// the usual (following, connected) in a word, how long since its last
/// line (`12s ago`, or `12s` with `with_ago` false), and its trouble as
/// counts.
fn compact_tail(s: &SourceStatus, now_ms: i64, with_ago: bool) -> String {
    let mut tail = String::new();
    let state = match &s.state {
        SourceState::Following | SourceState::Connected => None,
        SourceState::Starting => Some("starting"),
        SourceState::Waiting(_) => Some("waiting"),
        SourceState::Reconnecting { .. } => Some("retry"),
        SourceState::Ended => Some("ended"),
        SourceState::Failed(_) => Some("FAILED"),
    };
    if let Some(state) = state {
        tail.push_str(&format!(" {state}"));
    }
    if let Some(last) = s.last_line_ms {
        let ago_word = if with_ago { " ago" } else { "" };
        tail.push_str(&format!(" {}{ago_word}", ago(now_ms - last)));
    }
    if s.errors > 0 {
        tail.push_str(&format!(" {} err", count(s.errors)));
    }
    if s.dropped > 0 {
        tail.push_str(&format!(" {} drop", count(s.dropped)));
    }
    tail
}

/// Each source's words for `left` cells, each after a separator of
/// `sep` cells: in full when all fit; else compact, every source keeping
/// its state and age and the names sharing what is left (cut first).
fn sources_in(sources: &[SourceStatus], now_ms: i64, left: usize, sep: usize) -> Vec<String> {
    let full: Vec<String> = sources.iter().map(|s| source_words(s, now_ms)).collect();
    if full.iter().map(|w| w.width() + sep).sum::<usize>() <= left {
        return full;
    }
    let tails = |with_ago| -> Vec<String> {
        sources
            .iter()
            .map(|s| compact_tail(s, now_ms, with_ago))
            .collect()
    };
    let fixed =
        |tails: &[String]| -> usize { tails.iter().map(|t| t.width() + COMPACT_NAME + sep).sum() };
    let mut compact = tails(true);
    if fixed(&compact) > left {
        compact = tails(false);
    }
    let name_width = COMPACT_NAME + left.saturating_sub(fixed(&compact)) / sources.len().max(1);
    sources
        .iter()
        .zip(compact)
        .map(|(s, tail)| format!("{}{tail}", fit(&s.name, name_width)))
        .collect()
}

pub fn status_bar(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
) {
    let theme = &app.theme;
    let sep = Span::styled(" │ ", theme.dim);
    let (kill, kill_style) = kill_words(ctx.kill.state, theme);
    let mut spans = vec![Span::styled(format!(" {kill} "), kill_style), sep.clone()];
    if let Some(n) = ctx.paused_new {
        spans.push(Span::styled(
            format!(" PAUSED +{} new ", count(n)),
            theme.paused,
        ));
        spans.push(sep.clone());
    }
    let model = match &snap.model {
        Some(m) => {
            let at = snap
                .fleet
                .iter()
                .position(|f| f.name == m.name)
                .map_or(1, |i| i + 1);
            format!("{} ({at}/{})", fit(&m.name, 32), snap.fleet.len())
        }
        None => "no model yet".to_string(),
    };
    spans.push(Span::styled(model, theme.title));
    spans.extend(elsewhere(snap, ctx, theme));
    spans.push(sep.clone());
    spans.push(Span::styled(
        format!("{:.0}/s", ctx.rate.max(0.0)),
        theme.accent,
    ));
    if snap.counters.malformed > 0 {
        spans.push(sep.clone());
        spans.push(Span::styled(
            format!("{} malformed", count(snap.counters.malformed)),
            theme.warn,
        ));
    }
    // The sources take what is left, each keeping its last-line age.
    let used: usize = spans.iter().map(Span::width).sum();
    let left = usize::from(area.width).saturating_sub(used);
    let words = sources_in(ctx.sources, ctx.now_ms, left, sep.width());
    for (s, words) in ctx.sources.iter().zip(words) {
        spans.push(sep.clone());
        let style = match s.state {
            SourceState::Failed(_) | SourceState::Reconnecting { .. } => theme.crit,
            SourceState::Waiting(_) => theme.warn,
            _ => theme.text,
        };
        spans.push(Span::styled(words, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status), area);
}

/// Trouble on models not on screen, so it is never invisible: critical
/// alerts (and warnings) on other models, and other models' switches that
/// are not armed. Words, not colour alone; `m` goes to the next model.
fn elsewhere(snap: &Snapshot, ctx: &ScreenContext<'_>, theme: &Theme) -> Vec<Span<'static>> {
    let on_screen = snap.model.as_ref().map(|m| m.name.as_str());
    let others = || {
        snap.fleet
            .iter()
            .filter(|f| Some(f.name.as_str()) != on_screen)
    };
    let critical: usize = others().map(|f| f.critical).sum();
    let warning: usize = others().map(|f| f.warning).sum();
    let mut spans = Vec::new();
    if critical > 0 {
        let models = others().filter(|f| f.critical > 0).count();
        spans.push(Span::styled(
            format!(" ⚠ {critical} CRITICAL on {models} other model(s) "),
            theme.crit,
        ));
    } else if warning > 0 {
        spans.push(Span::styled(
            format!(" {warning} warning(s) on other models "),
            theme.warn,
        ));
    }
    if !ctx.kill_elsewhere.is_empty() {
        spans.push(Span::styled(
            format!(" KILL {} on other model(s) ", ctx.kill_elsewhere.len()),
            theme.kill_alarm,
        ));
    }
    spans
}

/// Lines under the status bar: refusals (the team's link down among them)
/// and the kill switch's last run.
pub fn banner_lines(
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
    width: u16,
) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let w = usize::from(width);
    let mut lines = Vec::new();
    if let Some(why) = &ctx.refusal {
        lines.push(Line::styled(
            cut(&format!(" ⚠ ACTIONS REFUSED: {} ", safe(why)), w),
            theme.refusal,
        ));
    }
    if let Some(why) = &ctx.team_down {
        lines.push(Line::styled(
            cut(&format!(" ⚠ TEAM: {} ", safe(why)), w),
            theme.refusal,
        ));
    }
    if let Some(closing) = &ctx.closing {
        lines.push(Line::styled(cut(&format!(" {closing} "), w), theme.warn));
    }
    let kill = &ctx.kill;
    let model = snap.model.as_ref().map_or("", |m| m.name.as_str());
    let shown = kill.state != SwitchState::Armed || kill.record_missing.is_some();
    if shown {
        let (words, style) = kill_words(kill.state, theme);
        let what = match kill.state {
            SwitchState::Tripped => "every actuator confirmed",
            SwitchState::NotConfirmed => {
                "an actuator did not confirm: the model may still be running"
            }
            SwitchState::Tripping => "waiting for every actuator",
            SwitchState::Resetting => "re-arming",
            SwitchState::ResetNotConfirmed => "an actuator did not confirm the reset",
            SwitchState::Armed => "re-armed",
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {words} "), style),
            Span::styled(cut(&format!(" {} — {what}", safe(model)), w), theme.text),
        ]));
        // Failures first: they are what the operator must act on.
        let mut detail: Vec<&String> = kill
            .lines
            .iter()
            .filter(|l| l.starts_with("FAIL"))
            .collect();
        detail.extend(kill.lines.iter().filter(|l| !l.starts_with("FAIL")));
        for l in detail {
            let style = if l.starts_with("FAIL") {
                theme.crit
            } else {
                theme.dim
            };
            lines.push(Line::styled(cut(&format!("   {}", safe(l)), w), style));
        }
        if let Some(missing) = &kill.record_missing {
            lines.push(Line::styled(
                cut(&format!("   ⚠ {}", safe(missing)), w),
                theme.crit,
            ));
        }
    }
    lines
}

pub fn banner(frame: &mut Frame<'_>, area: Rect, lines: Vec<Line<'static>>) {
    if area.height > 0 {
        frame.render_widget(Paragraph::new(lines), area);
    }
}

/// Under 60×20: say so (and keep the kill switch's state in view).
pub fn too_small(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let theme = &app.theme;
    let (kill, style) = kill_words(ctx.kill.state, theme);
    let model = snap
        .model
        .as_ref()
        .map(|m| safe(&m.name).into_owned())
        .unwrap_or_default();
    let text = vec![
        Line::styled("terminal too small", theme.warn),
        Line::raw(format!(
            "{}×{}: need at least 60×20",
            area.width, area.height
        )),
        Line::styled(kill, style),
        Line::raw(model),
        Line::styled("q quits", theme.dim),
    ];
    let top = area.height.saturating_sub(5) / 2;
    let inner = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}

#[cfg(test)]
mod tests {
    use crate::source::{SourceState, SourceStatus};
    use crate::ui::fixture;
    use crate::ui::review_page::Shown;

    /// The status bar (the first row) at `width` columns, with the demo's
    /// engine and `sources`, `now` 12 s after the first source's last line.
    fn status_row(width: u16, sources: &[SourceStatus]) -> String {
        let engine = fixture::demo_engine(7, 2_500);
        let app = fixture::app();
        let shown = Shown::take(&engine, None, &app.query());
        let now = fixture::now_after(2_500);
        let ctx = fixture::context(now, sources);
        let screen = fixture::render_text(width, 24, &app, &shown, &ctx);
        screen.lines().next().unwrap_or_default().to_string()
    }

    fn source(name: &str, state: SourceState, quiet_ms: Option<i64>) -> SourceStatus {
        let mut s = SourceStatus::new(0, name.into());
        s.state = state;
        s.lines = 12_345;
        s.last_line_ms = quiet_ms.map(|q| fixture::now_after(2_500) - q);
        s
    }

    #[test]
    fn each_source_shows_its_last_line_age_and_fits_80_columns() {
        let quiet = source("preds.jsonl", SourceState::Following, Some(12_000));
        let wide = status_row(200, std::slice::from_ref(&quiet));
        assert!(
            wide.contains("preds.jsonl following 12.3k lines, last line 12s ago"),
            "{wide}"
        );
        let narrow = status_row(80, std::slice::from_ref(&quiet));
        assert!(narrow.starts_with(" KILL: ARMED"), "{narrow}");
        assert!(narrow.ends_with("preds.jsonl 12s ago"), "{narrow}");

        // Two sources at 80 columns: each keeps its age (names are cut
        // first), and an unusual state is named.
        let two = [
            source(
                "/var/log/model/predictions.jsonl",
                SourceState::Following,
                Some(3_000),
            ),
            source(
                "wss://models.internal/stream",
                SourceState::Reconnecting {
                    at_ms: fixture::now_after(2_500) + 4_000,
                },
                Some(125_000),
            ),
        ];
        let narrow = status_row(80, &two);
        assert!(narrow.contains("… 3s │ "), "{narrow}");
        assert!(narrow.ends_with("… retry 2m"), "{narrow}");
        // A source that never sent a line has no age to show.
        let never = source("new.jsonl", SourceState::Following, None);
        let row = status_row(200, std::slice::from_ref(&never));
        assert!(
            row.contains("new.jsonl following 12.3k lines") && !row.contains("ago"),
            "{row}"
        );
    }
}

//! The status bar (sources, rate, model, pause, kill switch in words), the
//! banner under it (refusals, a kill-switch run's outcome), and the
//! "terminal too small" screen.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

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

/// From this long without a line, a source's age is shown.
const QUIET_MS: i64 = 5_000;

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
    // A source gone quiet says since when (a stream at speed says nothing).
    if let Some(last) = s.last_line_ms
        && now_ms - last >= QUIET_MS
    {
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
    for s in ctx.sources {
        spans.push(sep.clone());
        let style = match s.state {
            SourceState::Failed(_) | SourceState::Reconnecting { .. } => theme.crit,
            SourceState::Waiting(_) => theme.warn,
            _ => theme.text,
        };
        spans.push(Span::styled(source_words(s, ctx.now_ms), style));
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

/// Lines under the status bar: refusals and the kill switch's last run.
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

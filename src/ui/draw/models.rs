//! The models view (`M`): every model on one row, k9s-style — its rate,
//! how long since its last prediction, its active alerts by severity, its
//! kill switch, its review queue and its baseline — so trouble on a model
//! not on screen is one key away. Enter shows the selected model.

use ratatui::text::{Line, Span};

use super::ScreenContext;
use super::text::{ago, count, fit, pad};
use crate::decision::kill_switch::SwitchState;
use crate::engine::snapshot::{FleetEntry, Snapshot};
use crate::ui::theme::Theme;

/// The table's rows for `names` (the fleet's order when the view opened),
/// the `selected` one marked.
pub fn models_lines(
    snap: &Snapshot,
    ctx: &ScreenContext<'_>,
    names: &[String],
    selected: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let name_w = width.saturating_sub(58).clamp(8, 40);
    let header = format!(
        "  {}{:>8} {:>6} {:>5} {:>5} {:<11}{:>7}  baseline",
        pad("model", name_w),
        "rate/s",
        "last",
        "crit",
        "warn",
        " kill",
        "queue"
    );
    let mut lines = vec![Line::styled(header, theme.dim)];
    for (i, name) in names.iter().enumerate() {
        let Some(f) = snap.fleet.iter().find(|f| &f.name == name) else {
            continue;
        };
        let on_screen = snap.model.as_ref().is_some_and(|m| &m.name == name);
        let kill = if on_screen {
            ctx.kill.state
        } else {
            ctx.kill_elsewhere
                .iter()
                .find(|(n, _)| n == name)
                .map_or(SwitchState::Armed, |(_, s)| *s)
        };
        lines.push(row(f, kill, ctx.now_ms, i == selected, name_w, theme));
    }
    lines.push(Line::styled(
        "j/k move · Enter shows the model · Esc closes",
        theme.dim,
    ));
    lines
}

fn row(
    f: &FleetEntry,
    kill: SwitchState,
    now_ms: i64,
    selected: bool,
    name_w: usize,
    theme: &Theme,
) -> Line<'static> {
    let last = f
        .last_arrival_ms
        .map_or("–".to_string(), |t| ago(now_ms - t));
    let baseline = match f.baseline_n {
        Some(n) => format!("{} frozen", count(n)),
        None => format!("collecting {}", count(f.collecting)),
    };
    let kill_style = if kill == SwitchState::Armed {
        theme.ok
    } else {
        theme.kill_alarm
    };
    let crit_style = if f.critical > 0 {
        theme.crit
    } else {
        theme.dim
    };
    let warn_style = if f.warning > 0 { theme.warn } else { theme.dim };
    let marker = if selected { "▶ " } else { "  " };
    let name_style = if selected { theme.selected } else { theme.text };
    Line::from(vec![
        Span::styled(marker, theme.key),
        Span::styled(pad(&fit(&f.name, name_w), name_w), name_style),
        Span::styled(format!("{:>8.1}", f.rate), theme.text),
        Span::styled(format!(" {last:>6}"), theme.text),
        Span::styled(format!(" {:>5}", f.critical), crit_style),
        Span::styled(format!(" {:>5}", f.warning), warn_style),
        Span::styled(format!(" {:<11}", kill.as_str().to_uppercase()), kill_style),
        Span::styled(format!("{:>7}", count(f.in_queue as u64)), theme.text),
        Span::styled(format!("  {baseline}"), theme.dim),
    ])
}

//! Drawing: a pure function of the app state, the snapshot on screen and
//! the session's context. No I/O, no clock, no engine: tests draw into a
//! `TestBackend` with fixed inputs.

mod alerts;
mod chart;
mod drift;
mod features;
pub mod help;
mod hints;
mod history;
mod malformed;
mod mix;
mod models;
mod overlay;
mod review;
mod segments;
mod status;
pub mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Panel};
use super::keymap::Action;
use super::screen::{Screen, ScreenPage};
use crate::decision::kill_switch::SwitchState;
use crate::engine::snapshot::ModelView;
use crate::live::desk::KillView;
use crate::source::SourceStatus;
use crate::ui::review_page::Shown;

/// Below this the dashboard shows a "terminal too small" message.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
/// From this height panels get full borders and the extra rows.
const ROOMY_HEIGHT: u16 = 36;
/// From this width the middle band has three columns.
const WIDE: u16 = 120;
/// From this width (with room for full borders) the review band has the
/// features too, when the model has any.
const WIDEST: u16 = 180;

/// What the session and the desk say, for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenContext<'a> {
    /// Wall-clock time of the frame (for "ago" and "waited").
    pub now_ms: i64,
    pub sources: &'a [SourceStatus],
    /// Predictions per second.
    pub rate: f64,
    /// The kill switch of the model on screen.
    pub kill: KillView,
    /// Other models whose switch is not armed (tripped, not confirmed, …).
    pub kill_elsewhere: Vec<(String, SwitchState)>,
    /// Why decisions are refused (read-only, audit log failed).
    pub refusal: Option<String>,
    /// Why the team's review decisions are refused (its link is down).
    pub team_down: Option<String>,
    /// While paused: predictions that arrived since.
    pub paused_new: Option<u64>,
    /// What each actuator will do, for an open trip or reset dialog.
    pub plan: Vec<String>,
    /// Shown while quitting waits for a kill-switch run to finish.
    pub closing: Option<String>,
}

/// Draws a whole frame.
pub fn draw(frame: &mut Frame<'_>, app: &App, shown: &Shown, ctx: &ScreenContext<'_>) {
    let area = frame.area();
    let snap = &shown.snap;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        status::too_small(frame, area, app, snap, ctx);
        return;
    }
    let banner = status::banner_lines(app, snap, ctx, area.width);
    let banner_h = (banner.len() as u16).min(area.height / 5);
    let [top, banner_area, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    status::status_bar(frame, top, app, snap, ctx);
    status::banner(frame, banner_area, banner);
    hints::hint_bar(frame, bottom, app, snap, ctx);
    let compact = area.height < ROOMY_HEIGHT;
    let theme = &app.theme;
    match &shown.screen {
        _ if app.screen.is_dashboard() => body_panels(frame, body, app, shown, ctx),
        ScreenPage::Alerts {
            filter,
            page,
            all,
            dropped,
        } => {
            let view = history::HistoryView {
                page,
                filter: *filter,
                all: *all,
                dropped: *dropped,
                model: snap.model.as_ref().map(|m| m.name.as_str()),
            };
            history::history(frame, body, &view, theme, compact);
        }
        ScreenPage::Malformed { page } => {
            malformed::malformed(frame, body, page, snap.counters.malformed, theme, compact)
        }
        ScreenPage::Features => features_screen(frame, body, app, snap.model.as_ref(), compact),
        // The screen was just opened: its page comes with the next frame.
        ScreenPage::None => {}
    }
    overlay::draw(frame, area, app, snap, ctx);
}

/// The features screen: the features above, the segments below, each as
/// tall as its rows when both fit; otherwise the segments get at most half.
/// The selection runs down the features, then the segments.
fn features_screen(
    frame: &mut Frame<'_>,
    body: Rect,
    app: &App,
    model: Option<&ModelView>,
    compact: bool,
) {
    let cursor = match app.screen {
        Screen::Features { cursor } => cursor,
        _ => 0,
    };
    let border = if compact { 1 } else { 2 };
    let features_h = features::lines_wanted(model) + border;
    let segments_h = segments::lines_wanted(model.map(|m| &m.segments)) + border;
    let h = usize::from(body.height);
    let below = if features_h + segments_h <= h {
        h - features_h
    } else {
        segments_h.min((h / 2).max(h.saturating_sub(features_h)))
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(below as u16)]).areas(body);
    let n_features = model.map_or(0, |m| m.features.rows.len());
    let key = app.keymap.first_key(Action::Features);
    let theme = &app.theme;
    let in_features = (cursor < n_features).then_some(cursor);
    features::panel(frame, top, model, theme, compact, in_features, &key);
    let in_segments = cursor.checked_sub(n_features);
    let view = model.map(|m| &m.segments);
    segments::panel(frame, bottom, view, theme, compact, in_segments);
}

fn body_panels(
    frame: &mut Frame<'_>,
    body: Rect,
    app: &App,
    shown: &Shown,
    ctx: &ScreenContext<'_>,
) {
    let snap = &shown.snap;
    let compact = frame.area().height < ROOMY_HEIGHT;
    let h = body.height;
    let mid_h = if compact { 8 } else { (h * 27 / 100).max(10) };
    let chart_h = if compact {
        // The chart's six plot rows first (80×24 has room for them and
        // the review queue's header and four cases), then a third of what
        // is left (the queue takes the rest); below that height the queue
        // keeps four rows.
        let spare = h.saturating_sub(mid_h);
        spare
            .saturating_sub(6)
            .min(8 + spare.saturating_sub(14) / 3)
            .max(6)
    } else {
        (h * 32 / 100).max(6)
    };
    let [charts, mid, low] = Layout::vertical([
        Constraint::Length(chart_h),
        Constraint::Length(mid_h),
        Constraint::Min(0),
    ])
    .areas(body);
    let gap = u16::from(compact);
    let [conf, mixes] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .spacing(gap)
            .areas(charts);
    let theme = &app.theme;
    let model = snap.model.as_ref();
    chart::confidence(frame, conf, model, ctx, theme, compact);
    mix::mix(frame, mixes, model, theme, compact);
    let [d, a, acc] = if body.width >= WIDE {
        Layout::horizontal([
            Constraint::Percentage(40),
            Constraint::Percentage(35),
            Constraint::Percentage(25),
        ])
        .spacing(gap)
        .areas(mid)
    } else {
        let [d, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .spacing(gap)
                .areas(mid);
        let acc_h = if compact { 5 } else { 6 };
        let [a, acc] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(acc_h)]).areas(right);
        [d, a, acc]
    };
    drift::drift(frame, d, model, theme, compact);
    alerts::alerts(frame, a, app, snap, ctx, compact);
    alerts::accuracy(frame, acc, model, theme, compact);
    let has_features = model.is_some_and(|m| !m.features.rows.is_empty());
    let [queue, detail] = if body.width >= WIDEST && !compact && has_features {
        let [queue, detail, f] = Layout::horizontal([
            Constraint::Percentage(36),
            Constraint::Percentage(32),
            Constraint::Percentage(32),
        ])
        .areas(low);
        features::summary(frame, f, model, theme, compact);
        [queue, detail]
    } else {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(gap)
            .areas(low)
    };
    review::queue(
        frame,
        queue,
        app,
        shown,
        ctx,
        compact,
        app.focus == Panel::Review,
    );
    review::detail(frame, detail, app, shown, ctx, compact);
}

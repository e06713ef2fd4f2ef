//! The dashboard's state and the one place it changes: keys become
//! [`Action`]s (through the keymap) or dialog input, and [`App::apply`]
//! turns them into state changes and [`Effect`]s, the work only the
//! session and the desk can do (decisions, the kill switch). Everything
//! here is synchronous and needs no terminal, so tests drive it directly.
//!
//! A decision applies to the case the operator saw: it is taken from the
//! snapshot on screen when the key was pressed, never from the live queue.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialog::{Dialog, DialogOutcome, LabelPicker, MAX_TYPED, paste_into};
use super::effect::Effect;
use super::keymap::{Action, Keymap};
use super::review_page::{ReviewQuery, Shown};
use super::theme::Theme;
use crate::engine::Decision;
use crate::engine::alerts::Alert;
use crate::engine::review::ReviewItem;
use crate::engine::review_query::{CaseQuery, ReviewOrder};
use crate::engine::snapshot::Snapshot;

/// Panels that take the focus (Tab).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Panel {
    #[default]
    Review,
    Alerts,
}

/// The last outcome shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at_ms: i64,
}

/// Longest review-queue filter, in characters.
const MAX_FILTER: usize = 64;

/// How long a success notice stays (errors stay until the next key).
pub const NOTICE_MS: i64 = 6_000;
/// A yes/no confirmation ignores `y`/Enter this long after it opened: no
/// one reads the dialog that fast, but a paste that the terminal sends as
/// keys, key repeat, or typing meant for another window can.
pub const ARMING_MS: i64 = 400;

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub keymap: Keymap,
    pub theme: Theme,
    pub focus: Panel,
    /// The model on screen (`None`: the first).
    pub model: Option<String>,
    pub order: ReviewOrder,
    pub filter: Option<String>,
    /// The filter line is being typed.
    pub editing_filter: bool,
    /// The selected case (`seq`) and where it was.
    pub selected: Option<u64>,
    pub position: usize,
    /// The selected alert (`id`) and where it was.
    pub alert_selected: Option<u64>,
    pub alert_position: usize,
    /// The case to select once the decision asked for is recorded: the
    /// one after the decided case in the current order (so `s` moves on).
    pub select_after_decision: Option<u64>,
    /// The view is frozen; ingest goes on.
    pub paused: bool,
    /// The features view replaces the panels; `features_scroll` is its
    /// first row shown.
    pub features_view: bool,
    pub features_scroll: usize,
    pub dialog: Option<Dialog>,
    /// When the open dialog appeared (for [`ARMING_MS`]).
    pub dialog_opened_ms: i64,
    pub notice: Option<Notice>,
    /// Why the kill switch cannot trip at all (read-only, no actuator).
    pub trip_block: Option<String>,
    /// Cases copied per snapshot (at least the rows on screen).
    pub page: usize,
}

impl App {
    pub fn new(keymap: Keymap, theme: Theme) -> App {
        App {
            keymap,
            theme,
            focus: Panel::Review,
            model: None,
            order: ReviewOrder::default(),
            select_after_decision: None,
            filter: None,
            editing_filter: false,
            selected: None,
            position: 0,
            alert_selected: None,
            alert_position: 0,
            paused: false,
            features_view: false,
            features_scroll: 0,
            dialog: None,
            dialog_opened_ms: 0,
            notice: None,
            trip_block: None,
            page: 64,
        }
    }

    /// What to copy from the engine for the next frame.
    pub fn query(&self) -> ReviewQuery {
        ReviewQuery {
            cases: CaseQuery {
                order: self.order,
                filter: self.filter.clone(),
            },
            selected: self.selected,
            fallback_position: self.position,
            page: self.page,
        }
    }

    /// Follows the snapshot just taken: the selection it resolved (the case
    /// selected before, or the one now where it was).
    pub fn sync(&mut self, shown: &Shown) {
        // Until the operator picks a model, the screen opens on the one in
        // the worst state.
        if self.model.is_none()
            && let Some(worst) = shown.snap.worst_model()
        {
            self.model = Some(worst.to_string());
        }
        let view = &shown.review;
        if let (Some(i), Some(item)) = (view.selected, view.selected_item()) {
            self.selected = Some(item.seq);
            self.position = view.page_start + i;
        }
        let alerts = &shown.snap.alerts;
        match self
            .alert_selected
            .and_then(|id| alerts.iter().position(|a| a.id == id))
        {
            Some(i) => self.alert_position = i,
            None => {
                self.alert_position = self.alert_position.min(alerts.len().saturating_sub(1));
                self.alert_selected = alerts.get(self.alert_position).map(|a| a.id);
            }
        }
    }

    /// Whether the selection has moved past the cases `shown` holds (only
    /// while paused: otherwise every frame copies the page around it).
    pub fn left_page(&self, shown: &Shown) -> bool {
        let v = &shown.review;
        v.total > 0 && !(v.page_start..v.page_start + v.page.len()).contains(&self.position)
    }

    /// The case highlighted on screen: the selected one if it is in the
    /// snapshot, else the one the snapshot resolved.
    pub fn shown_case<'a>(&self, shown: &'a Shown) -> Option<&'a ReviewItem> {
        let view = &shown.review;
        self.selected
            .and_then(|seq| view.page.iter().find(|i| i.seq == seq))
            .or_else(|| view.selected_item())
    }

    /// The alert highlighted in the alerts panel.
    pub fn shown_alert<'a>(&self, shown: &'a Snapshot) -> Option<&'a Alert> {
        let alerts = &shown.alerts;
        self.alert_selected
            .and_then(|id| alerts.iter().find(|a| a.id == id))
            .or_else(|| alerts.get(self.alert_position))
    }

    pub fn notice(&mut self, text: impl Into<String>, error: bool, now_ms: i64) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
            at_ms: now_ms,
        });
    }

    /// A notice still worth showing at `now_ms`.
    pub fn live_notice(&self, now_ms: i64) -> Option<&Notice> {
        self.notice
            .as_ref()
            .filter(|n| n.error || now_ms - n.at_ms < NOTICE_MS)
    }

    /// A key from the terminal, with the snapshot on screen when it was
    /// pressed.
    pub fn on_key(&mut self, ev: KeyEvent, shown: &Shown, now_ms: i64) -> Option<Effect> {
        // ctrl-c quits from anywhere, whatever the keymap says (the
        // terminal is raw: no SIGINT comes).
        if ev.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(ev.code, KeyCode::Char('c' | 'C'))
        {
            return self.apply(Action::Quit, shown, now_ms);
        }
        if let Some(dialog) = self.dialog.as_mut() {
            let yes_no = dialog.is_yes_no();
            return match dialog.on_key(ev) {
                DialogOutcome::Done(_) if yes_no && self.arming_until(now_ms).is_some() => {
                    self.dialog = None;
                    self.notice(
                        "not confirmed: that key came before the dialog could be read \
                         (a paste, or typing meant elsewhere?); open it again",
                        true,
                        now_ms,
                    );
                    None
                }
                DialogOutcome::Stay => None,
                DialogOutcome::Close => {
                    self.dialog = None;
                    None
                }
                DialogOutcome::Refuse(why) => {
                    self.notice(why, true, now_ms);
                    None
                }
                DialogOutcome::Done(effect) => {
                    self.dialog = None;
                    Some(effect)
                }
                DialogOutcome::ShowModel(name) => {
                    self.dialog = None;
                    self.show_model(name);
                    None
                }
            };
        }
        if self.editing_filter {
            self.edit_filter(ev);
            return None;
        }
        // A key press answers the last notice.
        if self.notice.as_ref().is_some_and(|n| n.error) {
            self.notice = None;
        }
        let action = self.keymap.action(&ev)?;
        self.apply(action, shown, now_ms)
    }

    /// Puts `name` on screen, its queue and alerts from the top.
    fn show_model(&mut self, name: String) {
        self.model = Some(name);
        self.selected = None;
        self.position = 0;
        self.alert_selected = None;
        self.alert_position = 0;
    }

    /// Until when the open yes/no dialog ignores its confirmation key.
    pub fn arming_until(&self, now_ms: i64) -> Option<i64> {
        let until = self.dialog_opened_ms + ARMING_MS;
        (self.dialog.as_ref().is_some_and(Dialog::is_yes_no) && now_ms < until).then_some(until)
    }

    fn open_dialog(&mut self, dialog: Dialog, now_ms: i64) {
        self.dialog = Some(dialog);
        self.dialog_opened_ms = now_ms;
    }

    /// Pasted text (bracketed paste): it goes into the text field being
    /// typed, if any; otherwise it is ignored. A paste never acts as keys,
    /// and it closes a yes/no confirmation rather than answer it.
    pub fn on_paste(&mut self, text: &str, now_ms: i64) {
        if self.editing_filter {
            paste_into(
                self.filter.get_or_insert_with(String::new),
                text,
                MAX_FILTER,
            );
            self.selected = None;
            self.position = 0;
            return;
        }
        if let Some(field) = self.dialog.as_mut().and_then(Dialog::text_field) {
            paste_into(field, text, MAX_TYPED);
            return;
        }
        if self.dialog.as_ref().is_some_and(Dialog::is_yes_no) {
            self.dialog = None;
        }
        self.notice(
            "paste ignored: pasted text never acts as keys (paste into a text field)",
            true,
            now_ms,
        );
    }

    fn edit_filter(&mut self, ev: KeyEvent) {
        let text = self.filter.get_or_insert_with(String::new);
        match ev.code {
            KeyCode::Enter => self.editing_filter = false,
            KeyCode::Esc => {
                self.filter = None;
                self.editing_filter = false;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && text.chars().count() < MAX_FILTER => {
                text.push(c)
            }
            _ => {}
        }
        // A new filter starts from the top of what matches.
        self.selected = None;
        self.position = 0;
    }

    /// Applies one action to the state; returns the work it asks for.
    pub fn apply(&mut self, action: Action, shown: &Shown, now_ms: i64) -> Option<Effect> {
        let model_name = shown.snap.model.as_ref().map(|m| m.name.clone());
        // A decision applies to the case on screen: the features view shows none.
        if self.features_view
            && matches!(
                action,
                Action::Approve | Action::Override | Action::Escalate | Action::Skip
            )
        {
            self.notice(
                "no case on screen: close the features view first",
                true,
                now_ms,
            );
            return None;
        }
        match action {
            Action::MoveDown => self.move_by(shown, 1),
            Action::MoveUp => self.move_by(shown, -1),
            Action::PageDown => self.move_by(shown, 10),
            Action::PageUp => self.move_by(shown, -10),
            Action::Top => self.move_by(shown, isize::MIN / 2),
            Action::Bottom => self.move_by(shown, isize::MAX / 2),
            Action::NextPanel | Action::PrevPanel => {
                self.focus = match self.focus {
                    Panel::Review => Panel::Alerts,
                    Panel::Alerts => Panel::Review,
                }
            }
            Action::Approve | Action::Escalate | Action::Skip => {
                let decision = match action {
                    Action::Approve => Decision::Approve,
                    Action::Escalate => Decision::Escalate,
                    _ => Decision::Skip,
                };
                self.select_after_decision = self.next_case(shown);
                return match self.shown_case(shown) {
                    Some(case) => Some(Effect::Decide {
                        shown: case.clone(),
                        decision,
                    }),
                    None => {
                        self.notice("no case selected", true, now_ms);
                        None
                    }
                };
            }
            Action::Override => match (self.shown_case(shown), &shown.snap.model) {
                (Some(case), Some(m)) => {
                    self.select_after_decision = self.next_case(shown);
                    let picker = LabelPicker::new(case.clone(), m.labels.clone());
                    self.open_dialog(Dialog::PickLabel(picker), now_ms);
                }
                _ => self.notice("no case selected", true, now_ms),
            },
            Action::SwitchOrder => {
                self.order = match self.order {
                    ReviewOrder::OldestFirst => ReviewOrder::LowestConfidenceFirst,
                    ReviewOrder::LowestConfidenceFirst => ReviewOrder::NewestFirst,
                    ReviewOrder::NewestFirst => ReviewOrder::OldestFirst,
                };
                self.selected = None;
                self.position = 0;
            }
            Action::KillSwitch | Action::ResetKillSwitch | Action::Rebaseline => {
                if action != Action::Rebaseline
                    && let Some(why) = &self.trip_block
                {
                    self.notice(format!("kill switch unavailable: {why}"), true, now_ms);
                    return None;
                }
                let Some(model) = model_name else {
                    self.notice("no model yet: waiting for predictions", true, now_ms);
                    return None;
                };
                let dialog = match action {
                    Action::KillSwitch => Dialog::ConfirmTrip { model },
                    Action::ResetKillSwitch => Dialog::ConfirmReset {
                        model,
                        typed: String::new(),
                    },
                    _ => Dialog::ConfirmRebaseline { model },
                };
                self.open_dialog(dialog, now_ms);
            }
            Action::Acknowledge => {
                let target = match self.focus {
                    Panel::Alerts => self.shown_alert(&shown.snap),
                    Panel::Review => shown
                        .snap
                        .alerts
                        .iter()
                        .find(|a| a.is_active() && !a.acknowledged),
                };
                match target {
                    Some(a) if a.acknowledged => {
                        self.notice("that alert is already acknowledged", true, now_ms)
                    }
                    Some(a) => return Some(Effect::Acknowledge(a.clone())),
                    None => self.notice("no unacknowledged alert", true, now_ms),
                }
            }
            Action::AlertDetail => {
                let target = match self.focus {
                    Panel::Alerts => self.shown_alert(&shown.snap),
                    Panel::Review => shown.snap.alerts.iter().find(|a| a.is_active()),
                };
                match target {
                    Some(a) => self.open_dialog(
                        Dialog::AlertDetail {
                            alert: Box::new(a.clone()),
                            scroll: 0,
                        },
                        now_ms,
                    ),
                    None => self.notice("no alert to show", true, now_ms),
                }
            }
            Action::NextModel => {
                let names = shown.snap.model_names();
                if names.len() > 1 {
                    let at = model_name
                        .as_deref()
                        .and_then(|n| names.iter().position(|x| x == n))
                        .unwrap_or(0);
                    self.show_model(names[(at + 1) % names.len()].clone());
                }
            }
            Action::Models => {
                let names = shown.snap.model_names();
                let selected = model_name
                    .as_deref()
                    .and_then(|n| names.iter().position(|x| x == n))
                    .unwrap_or(0);
                self.open_dialog(Dialog::Models { names, selected }, now_ms);
            }
            Action::Features => {
                self.features_view = !self.features_view;
                self.features_scroll = 0;
            }
            Action::Pause => self.paused = !self.paused,
            Action::Filter => {
                self.editing_filter = true;
                self.focus = Panel::Review;
            }
            Action::Help => self.open_dialog(Dialog::Help { scroll: 0 }, now_ms),
            Action::Quit => return Some(Effect::Quit),
            Action::Suspend => return Some(Effect::Suspend),
        }
        None
    }

    /// The case after the highlighted one in the current order (before
    /// it when it is the last), to move on to after a decision.
    fn next_case(&self, shown: &Shown) -> Option<u64> {
        let case = self.shown_case(shown)?;
        let page = &shown.review.page;
        let i = page.iter().position(|c| c.seq == case.seq)?;
        page.get(i + 1)
            .or_else(|| i.checked_sub(1).and_then(|j| page.get(j)))
            .map(|c| c.seq)
    }

    /// A decision was recorded: move on to the next case.
    pub fn decided(&mut self) {
        if let Some(next) = self.select_after_decision.take() {
            self.selected = Some(next);
        }
    }

    fn move_by(&mut self, shown: &Shown, delta: isize) {
        if self.features_view {
            let rows = shown
                .snap
                .model
                .as_ref()
                .map_or(0, |m| m.features.rows.len());
            self.features_scroll = (self.features_scroll as isize)
                .saturating_add(delta)
                .clamp(0, rows.saturating_sub(1) as isize)
                as usize;
            return;
        }
        match self.focus {
            Panel::Review => {
                let view = &shown.review;
                if view.total == 0 {
                    return;
                }
                // Past the copied page the selection is only a position.
                let current = self
                    .selected
                    .and_then(|seq| view.page.iter().position(|i| i.seq == seq))
                    .map_or(self.position, |i| view.page_start + i);
                let target = (current as isize)
                    .saturating_add(delta)
                    .clamp(0, view.total as isize - 1) as usize;
                self.position = target;
                self.selected = target
                    .checked_sub(view.page_start)
                    .and_then(|i| view.page.get(i))
                    .map(|i| i.seq);
            }
            Panel::Alerts => {
                let alerts = &shown.snap.alerts;
                if alerts.is_empty() {
                    return;
                }
                let target = (self.alert_position as isize)
                    .saturating_add(delta)
                    .clamp(0, alerts.len() as isize - 1) as usize;
                self.alert_position = target;
                self.alert_selected = alerts.get(target).map(|a| a.id);
            }
        }
    }
}

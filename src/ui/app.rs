//! The dashboard's state and the one place it changes: keys become
//! [`Action`]s (through the keymap) or dialog input, and [`App::apply`]
//! turns them into state changes and [`Effect`]s, the work only the
//! session and the desk can do (decisions, the kill switch). Everything
//! here is synchronous and needs no terminal, so tests drive it directly.
//!
//! A decision applies to the case the operator saw: it is taken from the
//! snapshot on screen when the key was pressed, never from the live queue.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialog::{Dialog, DialogOutcome, LabelPicker, paste_into};
use super::effect::Effect;
use super::keymap::{Action, Keymap};
use super::list_page::{ListCursor, step};
use super::note::Note;
use super::review_page::{ReviewQuery, Shown, ShownQuery};
use super::screen::{Screen, ScreenOutcome};
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
    /// The screen in the panels' place, if any.
    pub screen: Screen,
    pub focus: Panel,
    /// The model on screen (`None`: the first).
    pub model: Option<String>,
    pub order: ReviewOrder,
    pub filter: Option<String>,
    /// The filter line is being typed.
    pub editing_filter: bool,
    /// The selected case (`seq`) and where it was.
    pub review: ListCursor<u64>,
    /// The selected alert (`id`) and where it was.
    pub alert_selected: Option<u64>,
    pub alert_position: usize,
    /// The case to select once the decision asked for is recorded: the
    /// one after the decided case in the current order (so `s` moves on).
    pub select_after_decision: Option<u64>,
    /// The view is frozen; ingest goes on.
    pub paused: bool,
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
            screen: Screen::Dashboard,
            focus: Panel::Review,
            model: None,
            order: ReviewOrder::default(),
            select_after_decision: None,
            filter: None,
            editing_filter: false,
            review: ListCursor::default(),
            alert_selected: None,
            alert_position: 0,
            paused: false,
            dialog: None,
            dialog_opened_ms: 0,
            notice: None,
            trip_block: None,
            page: 64,
        }
    }

    /// What to copy from the engine for the next frame.
    pub fn query(&self) -> ShownQuery {
        ShownQuery {
            review: ReviewQuery {
                cases: CaseQuery {
                    order: self.order,
                    filter: self.filter.clone(),
                },
                cursor: self.review.clone(),
                page: self.page,
            },
            screen: self.screen.clone(),
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
        self.review.sync(&shown.review, |case| case.seq);
        self.screen.sync(&shown.screen);
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
        self.review.left_page(&shown.review)
    }

    /// The case highlighted on screen: the selected one if it is in the
    /// snapshot, else the one the snapshot resolved.
    pub fn shown_case<'a>(&self, shown: &'a Shown) -> Option<&'a ReviewItem> {
        let view = &shown.review;
        self.review
            .selected
            .and_then(|seq| view.rows.iter().find(|i| i.seq == seq))
            .or_else(|| view.selected_row())
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
            let outcome = dialog.on_key(ev);
            // Back from its note to a yes/no question: the question arms
            // anew, so a keystroke paste that ends the note with Enter and
            // goes on with `y` cannot answer it.
            if !yes_no && dialog.is_yes_no() {
                self.dialog_opened_ms = now_ms;
            }
            return match outcome {
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
        if ev.code == KeyCode::Esc && !self.screen.is_dashboard() {
            self.screen = Screen::Dashboard;
            return None;
        }
        let action = self.keymap.action(&ev)?;
        self.apply(action, shown, now_ms)
    }

    /// Puts `name` on screen, its queue and alerts from the top.
    fn show_model(&mut self, name: String) {
        self.model = Some(name);
        self.review = ListCursor::default();
        self.alert_selected = None;
        self.alert_position = 0;
        self.screen.restart();
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
            self.review = ListCursor::default();
            return;
        }
        if self.dialog.as_mut().is_some_and(|d| d.paste(text)) {
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
        self.review = ListCursor::default();
    }

    /// Applies one action to the state; returns the work it asks for.
    pub fn apply(&mut self, action: Action, shown: &Shown, now_ms: i64) -> Option<Effect> {
        if let Some(screen) = self.screen.toggled(action) {
            self.screen = screen;
            return None;
        }
        if let Some(outcome) = self.screen.apply(action, shown) {
            match outcome {
                ScreenOutcome::Stay => {}
                ScreenOutcome::Close => self.screen = Screen::Dashboard,
                ScreenOutcome::Detail(alert) => self.open_dialog(
                    Dialog::AlertDetail {
                        alert: Box::new(alert),
                        scroll: 0,
                    },
                    now_ms,
                ),
                ScreenOutcome::Acknowledge(a) if a.acknowledged => {
                    self.notice("that alert is already acknowledged", true, now_ms)
                }
                ScreenOutcome::Acknowledge(a) => return Some(Effect::Acknowledge(a)),
                ScreenOutcome::Refuse(why) => self.notice(why, true, now_ms),
            }
            return None;
        }
        let model_name = shown.snap.model.as_ref().map(|m| m.name.clone());
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
            Action::Approve | Action::Skip => {
                let decision = match action {
                    Action::Approve => Decision::Approve,
                    _ => Decision::Skip,
                };
                self.select_after_decision = self.next_case(shown);
                return match self.shown_case(shown) {
                    Some(case) => Some(Effect::Decide {
                        shown: Box::new(case.clone()),
                        decision,
                        note: None,
                    }),
                    None => {
                        self.notice("no case selected", true, now_ms);
                        None
                    }
                };
            }
            // An escalation says why, if the operator wants to: a note
            // first (Enter with none escalates as it is).
            Action::Escalate => match self.shown_case(shown) {
                Some(case) => {
                    self.select_after_decision = self.next_case(shown);
                    let dialog = Dialog::Escalate {
                        case: Box::new(case.clone()),
                        note: Note::default(),
                    };
                    self.open_dialog(dialog, now_ms);
                }
                None => self.notice("no case selected", true, now_ms),
            },
            Action::Override => match (self.shown_case(shown), &shown.snap.model) {
                (Some(case), Some(m)) => {
                    self.select_after_decision = self.next_case(shown);
                    let picker = LabelPicker::new(case.clone(), m.labels.clone());
                    self.open_dialog(Dialog::PickLabel(Box::new(picker)), now_ms);
                }
                _ => self.notice("no case selected", true, now_ms),
            },
            Action::SwitchOrder => {
                self.order = match self.order {
                    ReviewOrder::OldestFirst => ReviewOrder::LowestConfidenceFirst,
                    ReviewOrder::LowestConfidenceFirst => ReviewOrder::NewestFirst,
                    ReviewOrder::NewestFirst => ReviewOrder::OldestFirst,
                };
                self.review = ListCursor::default();
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
                    Action::KillSwitch => Dialog::confirm_trip(model),
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
            Action::Pause => self.paused = !self.paused,
            Action::Filter => {
                self.editing_filter = true;
                self.focus = Panel::Review;
            }
            Action::Help => self.open_dialog(Dialog::Help { scroll: 0 }, now_ms),
            Action::FilterActive | Action::FilterSeverity => {
                self.notice("c and F filter the alert history: H opens it", true, now_ms)
            }
            // Opened or closed by `Screen::toggled` above.
            Action::AlertHistory | Action::MalformedLines | Action::Features => {}
            Action::Quit => return Some(Effect::Quit),
            Action::Suspend => return Some(Effect::Suspend),
        }
        None
    }

    /// The case after the highlighted one in the current order (before
    /// it when it is the last), to move on to after a decision.
    fn next_case(&self, shown: &Shown) -> Option<u64> {
        let case = self.shown_case(shown)?;
        let page = &shown.review.rows;
        let i = page.iter().position(|c| c.seq == case.seq)?;
        page.get(i + 1)
            .or_else(|| i.checked_sub(1).and_then(|j| page.get(j)))
            .map(|c| c.seq)
    }

    /// A decision was recorded: move on to the next case.
    pub fn decided(&mut self) {
        if let Some(next) = self.select_after_decision.take() {
            self.review.selected = Some(next);
        }
    }

    fn move_by(&mut self, shown: &Shown, delta: isize) {
        match self.focus {
            Panel::Review => self.review.move_by(&shown.review, delta, |case| case.seq),
            Panel::Alerts => {
                let alerts = &shown.snap.alerts;
                if alerts.is_empty() {
                    return;
                }
                let target = step(self.alert_position, delta, alerts.len());
                self.alert_position = target;
                self.alert_selected = alerts.get(target).map(|a| a.id);
            }
        }
    }
}

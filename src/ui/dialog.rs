//! Dialogs: help, the confirmations (kill switch, reset, re-baseline) and
//! the label picker. Each is a [`Dialog`] state that, once confirmed,
//! yields its [`Effect`]. Esc always cancels; in a yes/no confirmation
//! every key but `y` and Enter cancels, so stray input never confirms.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::effect::Effect;
use crate::engine::Decision;
use crate::engine::review::ReviewItem;

/// Longest text typed into a dialog.
const MAX_TYPED: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// Trip: `y` or Enter confirms.
    ConfirmTrip {
        model: String,
    },
    /// Reset: stronger than a trip, the model's name must be typed.
    ConfirmReset {
        model: String,
        typed: String,
    },
    ConfirmRebaseline {
        model: String,
    },
    PickLabel(LabelPicker),
}

/// Override: choose one of the model's labels (j/k, Enter) or type one.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPicker {
    /// The case as the operator saw it when pressing the key.
    pub case: ReviewItem,
    pub labels: Vec<String>,
    pub selected: usize,
    pub typed: String,
    /// Letters type (after Tab, or any letter other than j/k).
    pub typing: bool,
}

impl LabelPicker {
    pub fn new(case: ReviewItem, labels: Vec<String>) -> LabelPicker {
        // Start on a label other than the model's: an override changes it.
        let own = labels.iter().position(|l| *l == case.label);
        let selected = match own {
            Some(i) if labels.len() > 1 => (i + 1) % labels.len(),
            _ => 0,
        };
        LabelPicker {
            case,
            labels,
            selected,
            typed: String::new(),
            typing: false,
        }
    }

    /// The label Enter would give.
    pub fn choice(&self) -> Option<&str> {
        if self.typing || !self.typed.is_empty() {
            let t = self.typed.trim();
            return (!t.is_empty()).then_some(t);
        }
        self.labels.get(self.selected).map(String::as_str)
    }
}

/// What a key did to a dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogOutcome {
    Stay,
    Close,
    /// Not accepted; say why and stay open.
    Refuse(String),
    Done(Effect),
}

impl Dialog {
    pub fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        if ev.code == KeyCode::Esc {
            return DialogOutcome::Close;
        }
        match self {
            Dialog::Help { scroll } => match ev.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    *scroll = scroll.saturating_add(1);
                    DialogOutcome::Stay
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    *scroll = scroll.saturating_sub(1);
                    DialogOutcome::Stay
                }
                KeyCode::Char('?' | 'q') | KeyCode::Enter => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::ConfirmTrip { model } => confirm(ev, || Effect::Trip {
                model: model.clone(),
            }),
            Dialog::ConfirmRebaseline { model } => confirm(ev, || Effect::Rebaseline {
                model: model.clone(),
            }),
            Dialog::ConfirmReset { model, typed } => match ev.code {
                KeyCode::Enter if typed == model => DialogOutcome::Done(Effect::Reset {
                    model: model.clone(),
                    typed: typed.clone(),
                }),
                KeyCode::Enter => DialogOutcome::Refuse(
                    "reset not confirmed: type the model's name exactly, then Enter".into(),
                ),
                KeyCode::Backspace => {
                    typed.pop();
                    DialogOutcome::Stay
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    if typed.chars().count() < MAX_TYPED {
                        typed.push(c);
                    }
                    DialogOutcome::Stay
                }
                _ => DialogOutcome::Stay,
            },
            Dialog::PickLabel(p) => p.on_key(ev),
        }
    }
}

impl LabelPicker {
    fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        let n = self.labels.len();
        match ev.code {
            KeyCode::Enter => match self.choice() {
                Some(label) => DialogOutcome::Done(Effect::Decide {
                    shown: self.case.clone(),
                    decision: Decision::Override(label.to_string()),
                }),
                None => DialogOutcome::Refuse("pick a label or type one".into()),
            },
            KeyCode::Tab => {
                self.typing = !self.typing;
                DialogOutcome::Stay
            }
            KeyCode::Down if n > 0 => {
                self.typing = false;
                self.typed.clear();
                self.selected = (self.selected + 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Up if n > 0 => {
                self.typing = false;
                self.typed.clear();
                self.selected = (self.selected + n - 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Char('j') if !self.typing && n > 0 => {
                self.selected = (self.selected + 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Char('k') if !self.typing && n > 0 => {
                self.selected = (self.selected + n - 1) % n;
                DialogOutcome::Stay
            }
            KeyCode::Backspace => {
                self.typed.pop();
                if self.typed.is_empty() {
                    self.typing = false;
                }
                DialogOutcome::Stay
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                self.typing = true;
                if self.typed.chars().count() < MAX_TYPED {
                    self.typed.push(c);
                }
                DialogOutcome::Stay
            }
            _ => DialogOutcome::Stay,
        }
    }
}

/// A yes/no dialog: `y` or Enter does `effect`; any other key closes it.
fn confirm(ev: KeyEvent, effect: impl FnOnce() -> Effect) -> DialogOutcome {
    match ev.code {
        KeyCode::Char('y' | 'Y') | KeyCode::Enter
            if ev.modifiers.difference(KeyModifiers::SHIFT).is_empty() =>
        {
            DialogOutcome::Done(effect())
        }
        _ => DialogOutcome::Close,
    }
}

impl Dialog {
    /// Whether it has a text field (a paste goes there).
    pub fn text_field(&mut self) -> Option<&mut String> {
        match self {
            Dialog::ConfirmReset { typed, .. } => Some(typed),
            Dialog::PickLabel(p) => {
                p.typing = true;
                Some(&mut p.typed)
            }
            _ => None,
        }
    }

    /// Whether it confirms with one key (and so waits out the arming delay).
    pub fn is_yes_no(&self) -> bool {
        matches!(
            self,
            Dialog::ConfirmTrip { .. } | Dialog::ConfirmRebaseline { .. }
        )
    }
}

/// Appends pasted `text` to a text field: control characters (newlines
/// included) are dropped, never acted on; at most [`MAX_TYPED`] characters.
pub fn paste_into(field: &mut String, text: &str) {
    let room = MAX_TYPED.saturating_sub(field.chars().count());
    field.extend(text.chars().filter(|c| !c.is_control()).take(room));
}

//! Dialogs: help, the confirmations (kill switch, reset, re-baseline), the
//! label picker (`label_picker.rs`) and the escalation's note. Each is a
//! [`Dialog`] state that, once confirmed, yields its [`Effect`]. Esc always
//! cancels; in a yes/no confirmation every key but `y` and Enter cancels,
//! so stray input never confirms.
//!
//! The kill switch's note does not loosen that: Tab opens the note (a key
//! that otherwise cancels), Enter or Tab closes it, and the question then
//! waits out its arming delay again (`App::on_key`) before `y` or Enter
//! trips. Typing or pasting into the note never trips.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::effect::Effect;
pub use super::label_picker::LabelPicker;
use super::note::Note;
use crate::engine::Decision;
use crate::engine::alerts::Alert;
use crate::engine::review::ReviewItem;

/// Longest text typed into a dialog.
pub const MAX_TYPED: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// One alert in full.
    AlertDetail {
        alert: Box<Alert>,
        scroll: u16,
    },
    /// Trip: `y` or Enter confirms; Tab writes a note first (`writing`).
    ConfirmTrip {
        model: String,
        note: Note,
        writing: bool,
    },
    /// Reset: stronger than a trip, the model's name must be typed.
    ConfirmReset {
        model: String,
        typed: String,
    },
    ConfirmRebaseline {
        model: String,
    },
    PickLabel(Box<LabelPicker>),
    /// Escalate the case, with a note if one is typed: Enter escalates.
    Escalate {
        case: Box<ReviewItem>,
        note: Note,
    },
    /// Every model, one row each (`names` in the fleet's order when opened).
    Models {
        names: Vec<String>,
        selected: usize,
    },
}

/// What a key did to a dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogOutcome {
    Stay,
    Close,
    /// Not accepted; say why and stay open.
    Refuse(String),
    Done(Effect),
    /// Show this model.
    ShowModel(String),
}

impl Dialog {
    pub fn on_key(&mut self, ev: KeyEvent) -> DialogOutcome {
        if ev.code == KeyCode::Esc {
            return DialogOutcome::Close;
        }
        match self {
            Dialog::Help { scroll } | Dialog::AlertDetail { scroll, .. } => match ev.code {
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
            Dialog::Models { names, selected } => match ev.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    *selected = (*selected + 1).min(names.len().saturating_sub(1));
                    DialogOutcome::Stay
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    *selected = selected.saturating_sub(1);
                    DialogOutcome::Stay
                }
                KeyCode::Enter => names.get(*selected).map_or(DialogOutcome::Close, |n| {
                    DialogOutcome::ShowModel(n.clone())
                }),
                KeyCode::Char('M' | 'q') => DialogOutcome::Close,
                _ => DialogOutcome::Stay,
            },
            Dialog::ConfirmTrip {
                model,
                note,
                writing,
            } => {
                if *writing {
                    if matches!(ev.code, KeyCode::Enter | KeyCode::Tab) {
                        *writing = false;
                    } else {
                        note.on_key(&ev);
                    }
                    DialogOutcome::Stay
                } else if ev.code == KeyCode::Tab {
                    *writing = true;
                    DialogOutcome::Stay
                } else {
                    confirm(ev, || Effect::Trip {
                        model: model.clone(),
                        note: note.reason(),
                    })
                }
            }
            Dialog::Escalate { case, note } => match ev.code {
                KeyCode::Enter => DialogOutcome::Done(Effect::Decide {
                    shown: case.clone(),
                    decision: Decision::Escalate,
                    note: note.reason(),
                }),
                _ => {
                    note.on_key(&ev);
                    DialogOutcome::Stay
                }
            },
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
    /// The kill switch's question for `model`, with no note yet.
    pub fn confirm_trip(model: String) -> Dialog {
        Dialog::ConfirmTrip {
            model,
            note: Note::default(),
            writing: false,
        }
    }

    /// Puts pasted text into the text field being typed; false when there
    /// is none (the paste is then not taken).
    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            Dialog::ConfirmReset { typed, .. } => paste_into(typed, text, MAX_TYPED),
            Dialog::PickLabel(p) => p.paste(text),
            Dialog::ConfirmTrip {
                note,
                writing: true,
                ..
            }
            | Dialog::Escalate { note, .. } => note.paste(text),
            _ => return false,
        }
        true
    }

    /// Whether it confirms with one key (and so waits out the arming delay).
    pub fn is_yes_no(&self) -> bool {
        matches!(
            self,
            Dialog::ConfirmTrip { writing: false, .. } | Dialog::ConfirmRebaseline { .. }
        )
    }
}

/// Appends pasted `text` to a text field of at most `max` characters:
/// control characters (newlines included) are dropped, never acted on.
pub fn paste_into(field: &mut String, text: &str, max: usize) {
    let room = max.saturating_sub(field.chars().count());
    field.extend(text.chars().filter(|c| !c.is_control()).take(room));
}

//! The keymap: one table from keys to [`Action`]s. Key dispatch, the hint
//! bar and the help screen are all generated from it, so what the screen
//! says is always what the keys do.
//!
//! Config (`[ui.keys]`): an action's name maps to a key string or a list of
//! them, replacing that action's defaults:
//!
//! ```toml
//! [ui.keys]
//! approve = "a"
//! move_down = ["j", "down", "ctrl-n"]
//! kill_switch = "K"
//! ```
//!
//! Key strings: one character (case matters: `K` is shift-k), or a name
//! (`enter`, `esc`, `tab`, `backtab`, `space`, `backspace`, `delete`,
//! `up`, `down`, `left`, `right`, `home`, `end`, `pageup`, `pagedown`,
//! `f1`..`f12`), optionally after `ctrl-` and/or `alt-`.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// Everything a key can ask for outside dialogs. Only actions change
/// state (the app applies them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    MoveUp,
    MoveDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPanel,
    PrevPanel,
    Approve,
    Override,
    Escalate,
    Skip,
    SwitchOrder,
    KillSwitch,
    ResetKillSwitch,
    Acknowledge,
    AlertDetail,
    NextModel,
    Models,
    AlertHistory,
    MalformedLines,
    Features,
    FilterActive,
    FilterSeverity,
    Rebaseline,
    Pause,
    Filter,
    Help,
    Quit,
    Suspend,
}

/// Per action: config name, default keys, what help says, the hint-bar
/// word (actions without one are only in help).
struct Entry {
    action: Action,
    name: &'static str,
    defaults: &'static [&'static str],
    help: &'static str,
    hint: Option<&'static str>,
}

/// Most important first: help lists them in this order, and the hint bar
/// keeps it and drops from the end, so a narrow terminal still shows how to
/// decide, stop the model and get help.
const TABLE: &[Entry] = &[
    e(
        Action::Approve,
        "approve",
        &["a"],
        "approve the selected case (the model was right)",
        Some("approve"),
    ),
    e(
        Action::Override,
        "override",
        &["o"],
        "override: pick or type the right label (Tab: a note)",
        Some("override"),
    ),
    e(
        Action::KillSwitch,
        "kill_switch",
        &["K"],
        "kill switch: stop the model (asks to confirm; Tab: a note)",
        Some("KILL"),
    ),
    e(Action::Help, "help", &["?"], "this help", Some("help")),
    e(
        Action::Escalate,
        "escalate",
        &["e"],
        "escalate the selected case (with an optional note)",
        Some("escalate"),
    ),
    e(
        Action::Skip,
        "skip",
        &["s"],
        "skip: send the case to the back of the queue",
        Some("skip"),
    ),
    e(
        Action::AlertHistory,
        "alert_history",
        &["H"],
        "every alert of the model, newest first (again or Esc: back)",
        Some("history"),
    ),
    e(
        Action::Acknowledge,
        "acknowledge",
        &["A"],
        "acknowledge the selected (or newest) alert",
        Some("ack"),
    ),
    e(Action::Quit, "quit", &["q", "ctrl-c"], "quit", Some("quit")),
    e(
        Action::MalformedLines,
        "malformed_lines",
        &["L"],
        "the last malformed input lines, escaped (again or Esc: back)",
        Some("malformed"),
    ),
    e(
        Action::AlertDetail,
        "alert_detail",
        &["enter"],
        "the selected alert in full: figures, times, what clears it",
        None,
    ),
    e(
        Action::NextPanel,
        "next_panel",
        &["tab"],
        "focus the next panel (review queue, alerts)",
        Some("panel"),
    ),
    e(
        Action::Pause,
        "pause",
        &["p"],
        "pause the view (ingest goes on)",
        Some("pause"),
    ),
    e(
        Action::Filter,
        "filter",
        &["/"],
        "filter the review queue by id or label",
        Some("filter"),
    ),
    e(
        Action::SwitchOrder,
        "switch_order",
        &["S"],
        "review order: oldest / lowest confidence / newest first",
        Some("order"),
    ),
    e(
        Action::NextModel,
        "next_model",
        &["m"],
        "show the next model",
        Some("model"),
    ),
    e(
        Action::Models,
        "models",
        &["M"],
        "every model at a glance; Enter shows one",
        Some("models"),
    ),
    e(
        Action::Features,
        "features",
        &["f"],
        "the input features ranked by drift, and the segments (again or Esc: back)",
        Some("features"),
    ),
    e(
        Action::Rebaseline,
        "rebaseline",
        &["b"],
        "take a new baseline (asks to confirm)",
        Some("rebaseline"),
    ),
    e(
        Action::ResetKillSwitch,
        "reset_kill_switch",
        &["R"],
        "reset the kill switch (type the model's name)",
        None,
    ),
    e(
        Action::FilterActive,
        "filter_active",
        &["c"],
        "alert history: active alerts only / all",
        None,
    ),
    e(
        Action::FilterSeverity,
        "filter_severity",
        &["F"],
        "alert history: any severity / critical / warning",
        None,
    ),
    e(
        Action::MoveDown,
        "move_down",
        &["j", "down"],
        "move down",
        None,
    ),
    e(Action::MoveUp, "move_up", &["k", "up"], "move up", None),
    e(
        Action::PageDown,
        "page_down",
        &["pagedown", "ctrl-d"],
        "page down",
        None,
    ),
    e(
        Action::PageUp,
        "page_up",
        &["pageup", "ctrl-u"],
        "page up",
        None,
    ),
    e(Action::Top, "top", &["g", "home"], "first row", None),
    e(Action::Bottom, "bottom", &["G", "end"], "last row", None),
    e(
        Action::PrevPanel,
        "prev_panel",
        &["backtab"],
        "focus the previous panel",
        None,
    ),
    e(
        Action::Suspend,
        "suspend",
        &["ctrl-z"],
        "suspend to the shell (fg to come back)",
        None,
    ),
];

const fn e(
    action: Action,
    name: &'static str,
    defaults: &'static [&'static str],
    help: &'static str,
    hint: Option<&'static str>,
) -> Entry {
    Entry {
        action,
        name,
        defaults,
        help,
        hint,
    }
}

/// A key as bound: code and modifiers (shift folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Normalises a terminal key event: shift is part of a character's case
    /// (`K`), not a modifier, so `K` matches however the terminal reports it.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::ALT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => {
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                f if f.len() > 1 && f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(format!("unknown key {s:?}")),
                },
                _ => return Err(format!("unknown key {s:?}")),
            },
        };
        Ok(Key { code, mods })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            _ => f.write_str("?"),
        }
    }
}

/// `[ui.keys]` values: one key or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    fn keys(&self) -> Vec<&str> {
        match self {
            KeySpec::One(k) => vec![k.as_str()],
            KeySpec::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// The live keymap.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Per action (in table order), its keys.
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).expect("the default keymap is valid")
    }
}

impl Keymap {
    /// The defaults with `overrides` (action name → keys) applied. Errors:
    /// an unknown action or key, or one key bound to two actions.
    pub fn new(overrides: &BTreeMap<String, KeySpec>) -> Result<Keymap, String> {
        for name in overrides.keys() {
            if !TABLE.iter().any(|e| e.name == name) {
                let names: Vec<&str> = TABLE.iter().map(|e| e.name).collect();
                return Err(format!(
                    "[ui.keys]: unknown action {name:?} (actions: {})",
                    names.join(", ")
                ));
            }
        }
        let mut bindings = Vec::with_capacity(TABLE.len());
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for entry in TABLE {
            let keys: Vec<&str> = match overrides.get(entry.name) {
                Some(spec) => spec.keys(),
                None => entry.defaults.to_vec(),
            };
            let mut parsed = Vec::with_capacity(keys.len());
            for k in keys {
                let key = Key::parse(k).map_err(|e| format!("[ui.keys] {}: {e}", entry.name))?;
                if let Some(other) = owner.insert(key.to_string(), entry.name) {
                    return Err(format!(
                        "[ui.keys]: key {key} is bound to both {other} and {}",
                        entry.name
                    ));
                }
                parsed.push(key);
            }
            bindings.push((entry.action, parsed));
        }
        Ok(Keymap { bindings })
    }

    /// The action bound to a key event, if any.
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev);
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(a, _)| *a)
    }

    /// The keys of an action, e.g. `j/↓`.
    pub fn keys_of(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, keys)| {
                keys.iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }

    /// The first key of an action, for hints (`""` when unbound).
    pub fn first_key(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .and_then(|(_, keys)| keys.first())
            .map(Key::to_string)
            .unwrap_or_default()
    }

    /// (keys, action name, description) for the help screen.
    pub fn help_rows(&self) -> Vec<(String, &'static str, &'static str)> {
        TABLE
            .iter()
            .map(|e| (self.keys_of(e.action), e.name, e.help))
            .collect()
    }

    /// (first key, word) pairs for the hint bar, bound actions only.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let words: Vec<(Action, &'static str)> = TABLE
            .iter()
            .filter_map(|e| Some((e.action, e.hint?)))
            .collect();
        self.hints_of(&words)
    }

    /// (first key, word) pairs for `wanted` actions, in that order, bound
    /// ones only: the hint bar of a screen with keys of its own.
    pub fn hints_of(&self, wanted: &[(Action, &'static str)]) -> Vec<(String, &'static str)> {
        wanted
            .iter()
            .filter_map(|&(action, word)| {
                let key = self.first_key(action);
                (!key.is_empty()).then_some((key, word))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn defaults_follow_the_design() {
        let k = Keymap::default();
        let n = KeyModifiers::NONE;
        assert_eq!(k.action(&ev(KeyCode::Char('j'), n)), Some(Action::MoveDown));
        assert_eq!(k.action(&ev(KeyCode::Down, n)), Some(Action::MoveDown));
        assert_eq!(
            k.action(&ev(KeyCode::Char('K'), KeyModifiers::SHIFT)),
            Some(Action::KillSwitch)
        );
        assert_eq!(k.action(&ev(KeyCode::Char('k'), n)), Some(Action::MoveUp));
        assert_eq!(
            k.action(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            k.action(&ev(KeyCode::Char('z'), KeyModifiers::CONTROL)),
            Some(Action::Suspend)
        );
        assert_eq!(k.action(&ev(KeyCode::Char('x'), n)), None);
        assert_eq!(k.keys_of(Action::MoveDown), "j/↓");
        assert!(k.hints().iter().any(|(key, w)| key == "K" && *w == "KILL"));
    }

    #[test]
    fn overrides_replace_and_conflicts_are_errors() {
        let mut o = BTreeMap::new();
        o.insert("approve".to_string(), KeySpec::One("y".into()));
        let k = Keymap::new(&o).unwrap();
        assert_eq!(
            k.action(&ev(KeyCode::Char('y'), KeyModifiers::NONE)),
            Some(Action::Approve)
        );
        assert_eq!(k.action(&ev(KeyCode::Char('a'), KeyModifiers::NONE)), None);
        o.insert("skip".to_string(), KeySpec::Many(vec!["y".into()]));
        let err = Keymap::new(&o).unwrap_err();
        assert!(err.contains("bound to both"), "{err}");
        let mut o = BTreeMap::new();
        o.insert("fly".to_string(), KeySpec::One("f".into()));
        assert!(Keymap::new(&o).unwrap_err().contains("unknown action"));
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), KeySpec::One("ctrl-nope".into()));
        assert!(Keymap::new(&o).unwrap_err().contains("unknown key"));
    }

    #[test]
    fn key_strings_round_trip() {
        for s in [
            "a", "K", "ctrl-c", "alt-x", "enter", "f5", "pageup", "/", "?",
        ] {
            let k = Key::parse(s).unwrap();
            assert_eq!(Key::parse(&k.to_string().replace("pgup", "pageup")), Ok(k));
        }
    }
}

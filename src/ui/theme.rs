//! Themes: semantic slots (what a style means, never a raw colour in a
//! widget), loaded from `themes/*.toml` embedded at build time. A theme
//! names only the slots it changes over the one it `extends`; the config
//! file's `[ui.colors]` changes slots of the chosen theme the same way.
//!
//! Colour depth: RGB colours are kept on terminals that say they have true
//! colour (`COLORTERM=truecolor|24bit`), mapped to the 256-colour cube on
//! `*256color` terminals, and to the 16 named colours elsewhere.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The built-in themes: (name, file).
const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
    ("gruvbox", include_str!("../../themes/gruvbox.toml")),
    ("nord", include_str!("../../themes/nord.toml")),
];

/// What a style is for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selected: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub accent: Style,
    pub mean: Style,
    pub band: Style,
    pub baseline: Style,
    pub threshold: Style,
    pub status: Style,
    pub key: Style,
    pub paused: Style,
    pub kill_armed: Style,
    pub kill_alarm: Style,
    pub notice_ok: Style,
    pub notice_err: Style,
    pub dialog: Style,
    pub refusal: Style,
    /// Label colours by label id (cycled).
    pub labels: Vec<Style>,
}

/// A slot as written: a colour name, or a table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SlotSpec {
    Color(String),
    Full(SlotTable),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotTable {
    pub fg: Option<String>,
    pub bg: Option<String>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub dim: bool,
    #[serde(default)]
    pub reverse: bool,
    #[serde(default)]
    pub underline: bool,
    #[serde(default)]
    pub italic: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    extends: Option<String>,
    #[serde(default)]
    slots: BTreeMap<String, SlotSpec>,
    labels: Option<LabelsTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelsTable {
    colors: Vec<String>,
}

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
}

impl ColorDepth {
    /// From `COLORTERM` and `TERM`.
    pub fn detect() -> ColorDepth {
        let colorterm = std::env::var("COLORTERM").unwrap_or_default();
        let term = std::env::var("TERM").unwrap_or_default();
        ColorDepth::from_env(&colorterm, &term)
    }

    pub fn from_env(colorterm: &str, term: &str) -> ColorDepth {
        let ct = colorterm.to_ascii_lowercase();
        if ct.contains("truecolor") || ct.contains("24bit") {
            ColorDepth::TrueColor
        } else if term.contains("256color") || term.contains("direct") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

/// Names of the built-in themes.
pub fn built_in_names() -> Vec<&'static str> {
    BUILT_IN.iter().map(|(n, _)| *n).collect()
}

impl Theme {
    /// A built-in theme with `overrides` applied, for a terminal of `depth`.
    pub fn load(
        name: &str,
        overrides: &BTreeMap<String, SlotSpec>,
        depth: ColorDepth,
    ) -> Result<Theme, String> {
        let mut slots = resolve_slots(name, 0)?;
        let mut labels = slots.1;
        for (slot, spec) in overrides {
            if !SLOTS.iter().any(|(name, _)| name == slot) && slot != "labels" {
                let names: Vec<&str> = SLOTS.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "[ui.colors]: unknown slot {slot:?} (slots: {})",
                    names.join(", ")
                ));
            }
            slots.0.insert(slot.clone(), spec.clone());
        }
        if let Some(SlotSpec::Color(list)) = overrides.get("labels") {
            labels = list.split(',').map(|s| s.trim().to_string()).collect();
        }
        let mut theme = Theme {
            name: name.to_string(),
            ..Theme::default()
        };
        for (slot, field) in SLOTS {
            let spec = slots
                .0
                .get(*slot)
                .ok_or_else(|| format!("theme {name}: slot {slot} is missing"))?;
            *field(&mut theme) =
                style_of(spec, depth).map_err(|e| format!("theme {name}: {slot}: {e}"))?;
        }
        theme.labels = labels
            .iter()
            .map(|c| parse_color(c, depth).map(|c| Style::default().fg(c)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("theme {name}: labels: {e}"))?;
        if theme.labels.is_empty() {
            theme.labels.push(Style::default());
        }
        Ok(theme)
    }

    /// The built-in default theme in 16 colours (what `UiSettings` starts
    /// from; `NO_COLOR` is applied by `UiSettings::resolve`).
    pub fn fallback() -> Theme {
        Theme::load("default", &BTreeMap::new(), ColorDepth::Ansi16).expect("built-in theme")
    }

    /// The style of label `id`.
    pub fn label(&self, id: usize) -> Style {
        self.labels
            .get(id % self.labels.len().max(1))
            .copied()
            .unwrap_or_default()
    }
}

/// Where a slot's style lives in a [`Theme`].
type SlotField = fn(&mut Theme) -> &mut Style;

/// Every style slot a theme sets: its name in the theme files, and its field.
const SLOTS: &[(&str, SlotField)] = &[
    ("text", |t| &mut t.text),
    ("dim", |t| &mut t.dim),
    ("title", |t| &mut t.title),
    ("border", |t| &mut t.border),
    ("border_focus", |t| &mut t.border_focus),
    ("selected", |t| &mut t.selected),
    ("ok", |t| &mut t.ok),
    ("warn", |t| &mut t.warn),
    ("crit", |t| &mut t.crit),
    ("accent", |t| &mut t.accent),
    ("mean", |t| &mut t.mean),
    ("band", |t| &mut t.band),
    ("baseline", |t| &mut t.baseline),
    ("threshold", |t| &mut t.threshold),
    ("status", |t| &mut t.status),
    ("key", |t| &mut t.key),
    ("paused", |t| &mut t.paused),
    ("kill_armed", |t| &mut t.kill_armed),
    ("kill_alarm", |t| &mut t.kill_alarm),
    ("notice_ok", |t| &mut t.notice_ok),
    ("notice_err", |t| &mut t.notice_err),
    ("dialog", |t| &mut t.dialog),
    ("refusal", |t| &mut t.refusal),
];

type Slots = (BTreeMap<String, SlotSpec>, Vec<String>);

/// A theme's slots with everything it extends filled in.
fn resolve_slots(name: &str, depth: usize) -> Result<Slots, String> {
    let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
        return Err(format!(
            "unknown theme {name:?} (built in: {})",
            built_in_names().join(", ")
        ));
    };
    let file: ThemeFile = toml::from_str(text).map_err(|e| format!("theme {name}: {e}"))?;
    let parent = match (&file.extends, name) {
        (_, "default") => None,
        (Some(p), _) => Some(p.as_str()),
        (None, _) => Some("default"),
    };
    let (mut slots, mut labels) = match parent {
        Some(p) if depth < 8 => resolve_slots(p, depth + 1)?,
        Some(_) => return Err(format!("theme {name}: `extends` goes round in a circle")),
        None => (BTreeMap::new(), Vec::new()),
    };
    slots.extend(file.slots);
    if let Some(l) = file.labels {
        labels = l.colors;
    }
    Ok((slots, labels))
}

fn style_of(spec: &SlotSpec, depth: ColorDepth) -> Result<Style, String> {
    let table = match spec {
        SlotSpec::Color(c) => SlotTable {
            fg: Some(c.clone()),
            ..SlotTable::default()
        },
        SlotSpec::Full(t) => t.clone(),
    };
    let mut style = Style::default();
    if let Some(fg) = &table.fg {
        style = style.fg(parse_color(fg, depth)?);
    }
    if let Some(bg) = &table.bg {
        style = style.bg(parse_color(bg, depth)?);
    }
    let flags = [
        (table.bold, Modifier::BOLD),
        (table.dim, Modifier::DIM),
        (table.reverse, Modifier::REVERSED),
        (table.underline, Modifier::UNDERLINED),
        (table.italic, Modifier::ITALIC),
    ];
    for (on, m) in flags {
        if on {
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

const NAMED: &[(&str, Color, (u8, u8, u8))] = &[
    ("black", Color::Black, (0, 0, 0)),
    ("red", Color::Red, (205, 0, 0)),
    ("green", Color::Green, (0, 205, 0)),
    ("yellow", Color::Yellow, (205, 205, 0)),
    ("blue", Color::Blue, (0, 0, 238)),
    ("magenta", Color::Magenta, (205, 0, 205)),
    ("cyan", Color::Cyan, (0, 205, 205)),
    ("gray", Color::Gray, (229, 229, 229)),
    ("darkgray", Color::DarkGray, (127, 127, 127)),
    ("lightred", Color::LightRed, (255, 0, 0)),
    ("lightgreen", Color::LightGreen, (0, 255, 0)),
    ("lightyellow", Color::LightYellow, (255, 255, 0)),
    ("lightblue", Color::LightBlue, (92, 92, 255)),
    ("lightmagenta", Color::LightMagenta, (255, 0, 255)),
    ("lightcyan", Color::LightCyan, (0, 255, 255)),
    ("white", Color::White, (255, 255, 255)),
];

/// A colour name, `#rrggbb` or a 256-colour index, fitted to `depth`.
pub fn parse_color(s: &str, depth: ColorDepth) -> Result<Color, String> {
    let lower = s.trim().to_ascii_lowercase().replace(['_', '-', ' '], "");
    let lower = lower.replace("grey", "gray");
    if lower == "reset" || lower == "default" {
        return Ok(Color::Reset);
    }
    if let Some((_, c, _)) = NAMED.iter().find(|(n, _, _)| *n == lower) {
        return Ok(*c);
    }
    if let Some(hex) = lower.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == 6)
            .ok_or_else(|| format!("bad colour {s:?}"))?;
        let (r, g, b) = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        return Ok(match depth {
            ColorDepth::TrueColor => Color::Rgb(r, g, b),
            ColorDepth::Ansi256 => Color::Indexed(rgb_to_256(r, g, b)),
            ColorDepth::Ansi16 => nearest_named(r, g, b),
        });
    }
    if let Ok(i) = lower.parse::<u8>() {
        return Ok(match depth {
            ColorDepth::Ansi16 if i >= 16 => {
                let (r, g, b) = index_to_rgb(i);
                nearest_named(r, g, b)
            }
            _ => Color::Indexed(i),
        });
    }
    Err(format!("unknown colour {s:?}"))
}

fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let (cr, cg, cb) = (level(r), level(g), level(b));
    let cube = 16 + 36 * cr + 6 * cg + cb;
    // A gray ramp entry is closer for near-gray colours.
    let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let gray = if avg > 238 {
        23
    } else {
        (avg.saturating_sub(3) / 10) as u8
    };
    let gray_rgb = 8 + 10 * gray;
    let dist = |(x, y, z): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(x, r) + d(y, g) + d(z, b)
    };
    if dist((gray_rgb, gray_rgb, gray_rgb)) < dist(index_to_rgb(cube)) {
        232 + gray
    } else {
        cube
    }
}

fn index_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => NAMED
            .iter()
            .find(|(_, c, _)| *c == ansi16(i))
            .map_or((0, 0, 0), |(_, _, rgb)| *rgb),
        16..=231 => {
            let i = i - 16;
            let v = |x: u8| if x == 0 { 0 } else { 55 + 40 * x };
            (v(i / 36), v((i / 6) % 6), v(i % 6))
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

fn ansi16(i: u8) -> Color {
    [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ][usize::from(i & 15)]
}

fn nearest_named(r: u8, g: u8, b: u8) -> Color {
    NAMED
        .iter()
        .min_by_key(|(_, _, (x, y, z))| {
            let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
            d(*x, r) + d(*y, g) + d(*z, b)
        })
        .map_or(Color::Reset, |(_, c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads_at_every_depth() {
        for name in built_in_names() {
            for depth in [
                ColorDepth::TrueColor,
                ColorDepth::Ansi256,
                ColorDepth::Ansi16,
            ] {
                let t = Theme::load(name, &BTreeMap::new(), depth).unwrap();
                assert!(!t.labels.is_empty());
                if depth == ColorDepth::Ansi16 {
                    let all = [t.text, t.selected, t.crit, t.label(0), t.label(3)];
                    assert!(
                        all.iter()
                            .flat_map(|s| [s.fg, s.bg])
                            .flatten()
                            .all(|c| !matches!(c, Color::Rgb(..) | Color::Indexed(16..))),
                        "{name} keeps colours a 16-colour terminal lacks"
                    );
                }
            }
        }
    }

    #[test]
    fn monochrome_has_no_colour_and_marks_selection_by_reverse_video() {
        let t = Theme::load("monochrome", &BTreeMap::new(), ColorDepth::TrueColor).unwrap();
        for s in [
            t.text,
            t.selected,
            t.crit,
            t.warn,
            t.ok,
            t.kill_alarm,
            t.label(2),
        ] {
            assert!(matches!(s.fg, None | Some(Color::Reset)), "{s:?}");
            assert!(matches!(s.bg, None | Some(Color::Reset)), "{s:?}");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.crit.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn overrides_unknown_names_and_downgrades() {
        let mut o = BTreeMap::new();
        o.insert("crit".to_string(), SlotSpec::Color("#ff0000".into()));
        let t = Theme::load("nord", &o, ColorDepth::Ansi256).unwrap();
        assert_eq!(t.crit.fg, Some(Color::Indexed(196)));
        let t = Theme::load("nord", &o, ColorDepth::Ansi16).unwrap();
        assert_eq!(t.crit.fg, Some(Color::LightRed));
        assert!(
            Theme::load("solarized", &o, ColorDepth::Ansi16)
                .unwrap_err()
                .contains("unknown theme")
        );
        o.insert("nope".to_string(), SlotSpec::Color("red".into()));
        assert!(
            Theme::load("default", &o, ColorDepth::Ansi16)
                .unwrap_err()
                .contains("unknown slot")
        );
        assert_eq!(
            ColorDepth::from_env("truecolor", "xterm"),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::from_env("", "screen-256color"),
            ColorDepth::Ansi256
        );
        assert_eq!(ColorDepth::from_env("", "linux"), ColorDepth::Ansi16);
    }
}

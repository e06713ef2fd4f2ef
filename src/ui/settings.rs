//! The dashboard's settings: the config file's `[ui]` section, then flags.
//!
//! ```toml
//! [ui]
//! theme = "nord"        # default, light, high-contrast, monochrome, gruvbox, nord
//! fps = 15              # most frames a second (--fps wins)
//! mouse = false         # capture the mouse (wheel scrolls the focused list)
//! [ui.keys]             # action = key or [keys]; see ui::keymap
//! approve = "a"
//! [ui.colors]           # slot = colour or { fg, bg, bold, dim, reverse, underline }
//! crit = { fg = "#ff5555", bold = true }
//! ```
//!
//! Theme choice: `--theme` wins; otherwise `NO_COLOR` (non-empty) selects
//! `monochrome`; otherwise `[ui] theme`; otherwise `default`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::keymap::{KeySpec, Keymap};
use super::theme::{ColorDepth, SlotSpec, Theme};

/// Frames a second when neither `--fps` nor `[ui] fps` says.
pub const DEFAULT_FPS: u32 = 15;

/// `[ui]` in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Action name → key(s).
    pub keys: BTreeMap<String, KeySpec>,
    pub theme: Option<String>,
    pub fps: Option<u32>,
    pub mouse: bool,
    /// Slot overrides on top of the theme.
    pub colors: BTreeMap<String, SlotSpec>,
}

/// Everything the dashboard is told, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct UiSettings {
    pub keymap: Keymap,
    pub theme: Theme,
    pub fps: u32,
    pub mouse: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            keymap: Keymap::default(),
            theme: Theme::fallback(),
            fps: DEFAULT_FPS,
            mouse: false,
        }
    }
}

/// What the environment says, passed in so resolution stays testable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiEnv {
    pub no_color: bool,
    pub depth: ColorDepth,
}

impl UiEnv {
    pub fn detect() -> UiEnv {
        UiEnv {
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            depth: ColorDepth::detect(),
        }
    }
}

impl UiSettings {
    /// Resolves the config with the `--theme` and `--fps` flags. Errors are
    /// one line (an unknown theme, key or action, a key bound twice).
    pub fn resolve(
        config: &UiConfig,
        theme_flag: Option<&str>,
        fps_flag: Option<u32>,
        env: &UiEnv,
    ) -> Result<UiSettings, String> {
        let keymap = Keymap::new(&config.keys)?;
        let asked = theme_flag.or(config.theme.as_deref()).unwrap_or("default");
        // Checked even when NO_COLOR overrides it: a typo is still a typo.
        let mut theme = Theme::load(asked, &config.colors, env.depth)?;
        if env.no_color && theme_flag.is_none() {
            theme = Theme::load("monochrome", &BTreeMap::new(), env.depth)?;
        }
        let fps = fps_flag.or(config.fps).unwrap_or(DEFAULT_FPS);
        if !(1..=120).contains(&fps) {
            return Err(format!("[ui] fps {fps} is not in 1..=120"));
        }
        Ok(UiSettings {
            keymap,
            theme,
            fps,
            mouse: config.mouse,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: bool) -> UiEnv {
        UiEnv {
            no_color,
            depth: ColorDepth::Ansi16,
        }
    }

    #[test]
    fn flags_over_no_color_over_config() {
        let config: UiConfig =
            toml::from_str("theme = \"nord\"\nfps = 30\n[keys]\napprove = \"y\"\n").unwrap();
        let s = UiSettings::resolve(&config, None, None, &env(false)).unwrap();
        assert_eq!((s.theme.name.as_str(), s.fps), ("nord", 30));
        let s = UiSettings::resolve(&config, None, Some(5), &env(true)).unwrap();
        assert_eq!((s.theme.name.as_str(), s.fps), ("monochrome", 5));
        let s = UiSettings::resolve(&config, Some("light"), None, &env(true)).unwrap();
        assert_eq!(s.theme.name, "light");
        let e = UiSettings::resolve(&config, Some("neon"), None, &env(true)).unwrap_err();
        assert!(
            e.contains("unknown theme \"neon\"") && !e.contains('\n'),
            "{e}"
        );
        assert!(toml::from_str::<UiConfig>("colour = 1").is_err());
    }
}

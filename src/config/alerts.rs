//! The `[alerts]` section: the rules' settings (the engine's) and the
//! `[[alerts.hook]]` list (the hooks'). Read in one pass over the table,
//! `hook` taken aside and every other key handed to the rules, so that
//! unknown keys are still refused and every error keeps its line.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::engine::rules::AlertRules;
use crate::hooks::settings::{HookSpec, hook_list};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertsSection {
    pub rules: AlertRules,
    /// `[[alerts.hook]]`: where alert transitions are delivered.
    pub hooks: Vec<HookSpec>,
}

/// The key that is not the rules'.
const HOOK_KEY: &str = "hook";

impl<'de> Deserialize<'de> for AlertsSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(SectionVisitor)
    }
}

struct SectionVisitor;

impl<'de> Visitor<'de> for SectionVisitor {
    type Value = AlertsSection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AlertsSection, A::Error> {
        let mut hooks = Vec::new();
        let rules = AlertRules::deserialize(de::value::MapAccessDeserializer::new(WithoutHooks {
            map,
            hooks: &mut hooks,
        }))?;
        Ok(AlertsSection { rules, hooks })
    }
}

/// The section's entries less `hook`, whose value is read into `hooks`.
struct WithoutHooks<'h, A> {
    map: A,
    hooks: &'h mut Vec<HookSpec>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutHooks<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            match self.map.next_key_seed(KeyOrHook(seed))? {
                None => return Ok(None),
                Some(Ok(key)) => return Ok(Some(key)),
                Some(Err(unused)) => {
                    *self.hooks = self.map.next_value_seed(HookListSeed)?;
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Reads a key: `hook` gives the rules' seed back unused, any other key is
/// read by that seed (inside the map's own key read, so errors keep their
/// position).
struct KeyOrHook<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyOrHook<K> {
    type Value = Result<K::Value, K>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyOrHook<K> {
    type Value = Result<K::Value, K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == HOOK_KEY {
            return Ok(Err(self.0));
        }
        self.0.deserialize(key.into_deserializer()).map(Ok)
    }
}

struct HookListSeed;

impl<'de> DeserializeSeed<'de> for HookListSeed {
    type Value = Vec<HookSpec>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<HookSpec>, D::Error> {
        hook_list(d)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn hooks_sit_beside_the_rules_in_any_order() {
        let c = parse(
            "[alerts]\nconsecutive = 3\n[[alerts.hook]]\nkind = \"command\"\nargv = [\"x\"]\n\
             [alerts.confidence_drift]\nmin_effect = 0.2\n",
        )
        .unwrap();
        assert_eq!(c.alerts.rules.consecutive, 3);
        assert_eq!(c.alerts.rules.confidence_drift.min_effect, 0.2);
        assert_eq!(c.alerts.hooks.len(), 1);
        assert!(parse("").unwrap().alerts.hooks.is_empty());
    }

    #[test]
    fn errors_keep_their_line() {
        let e = parse(
            "[alerts]\nconsecutiv = 3\n[[alerts.hook]]\nkind = \"command\"\nargv = [\"x\"]\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("c.toml:2:") && e.contains("consecutiv"),
            "{e}"
        );
        let e =
            parse("window = 5\n[alerts]\nconsecutive = 2\n\n[[alerts.hook]]\nkind = \"webhook\"\n")
                .unwrap_err();
        assert!(
            e.starts_with("c.toml:5:") && e.contains("alerts.hook[1]"),
            "{e}"
        );
        let e =
            parse("[[alerts.hook]]\nkind = \"command\"\nargv = [\"x\"]\ncolour = 2\n").unwrap_err();
        assert!(e.starts_with("c.toml:4:") && e.contains("colour"), "{e}");
    }
}

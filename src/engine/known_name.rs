//! Reading back (from a checkpoint) a name the engine holds as a
//! `&'static str`: one of the names the code knows.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// A name fixed at build time. Spelt as an alias so that serde's derive
/// does not take the field for one borrowed from the input.
pub type KnownName = &'static str;

/// The one of `known` that was written, else an error naming it.
pub fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
    known: &[&'static str],
) -> Result<KnownName, D::Error> {
    let name = String::deserialize(d)?;
    known
        .iter()
        .find(|k| **k == name)
        .copied()
        .ok_or_else(|| D::Error::custom(format!("unknown name {name:?}")))
}

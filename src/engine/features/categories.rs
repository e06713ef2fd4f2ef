//! The categories of one categorical feature, each given a small id: the
//! first `max_categories` values seen, then `(other)` for the rest, and
//! `(missing)` for predictions without a value.

use std::sync::Arc;

use crate::record::malformed::MAX_NAME_BYTES;

/// Where values beyond the cap (or over [`MAX_NAME_BYTES`]) are counted.
pub const OTHER: &str = "(other)";
/// Where predictions without the feature (or with another kind of value)
/// are counted.
pub const MISSING: &str = "(missing)";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CategoryTable {
    /// Shared with the snapshots that show them.
    names: Vec<Arc<str>>,
    /// Real categories among `names` (the pseudo ones are not counted).
    real: usize,
    max: usize,
    other: Option<u8>,
    missing: Option<u8>,
}

impl CategoryTable {
    /// `max` is at most `settings::MAX_CATEGORIES`, so ids fit a byte.
    pub fn new(max: usize) -> Self {
        CategoryTable {
            names: Vec::new(),
            real: 0,
            max,
            other: None,
            missing: None,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// The names, shared, by id.
    pub fn shared(&self) -> &[Arc<str>] {
        &self.names
    }

    /// The id of a value, adding it while there is room.
    #[inline]
    pub fn id(&mut self, value: &str) -> u8 {
        // A feature has a few dozen categories at most: a scan that
        // compares lengths first beats hashing the value.
        if let Some(i) = self.names.iter().position(|n| **n == *value) {
            return i as u8;
        }
        // The pseudo categories' names are reserved: a value spelled so is
        // counted with them, never listed twice.
        if value == MISSING {
            return self.missing();
        }
        if self.real >= self.max || value.len() > MAX_NAME_BYTES || value == OTHER {
            return self.other();
        }
        self.real += 1;
        self.push(value)
    }

    pub fn missing(&mut self) -> u8 {
        match self.missing {
            Some(id) => id,
            None => {
                let id = self.push(MISSING);
                self.missing = Some(id);
                id
            }
        }
    }

    fn other(&mut self) -> u8 {
        match self.other {
            Some(id) => id,
            None => {
                let id = self.push(OTHER);
                self.other = Some(id);
                id
            }
        }
    }

    fn push(&mut self, name: &str) -> u8 {
        self.names.push(name.into());
        (self.names.len() - 1) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_sends_the_rest_to_other_and_missing_is_its_own() {
        let mut t = CategoryTable::new(2);
        assert_eq!((t.id("a"), t.id("b"), t.id("a")), (0, 1, 0));
        let other = t.id("c");
        assert_eq!(t.id("d"), other);
        let missing = t.missing();
        assert_ne!(missing, other);
        assert_eq!(t.missing(), missing);
        assert_eq!(t.id(&"x".repeat(MAX_NAME_BYTES + 1)), other);
        assert_eq!((t.id(OTHER), t.id(MISSING)), (other, missing));
        let names: Vec<&str> = t.names().collect();
        assert_eq!(names, ["a", "b", OTHER, MISSING]);
    }
}

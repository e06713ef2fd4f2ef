//! The names of a model's watched features, each given an id in the order
//! first seen, and the lookup of a prediction's features by name.
//!
//! A stream's predictions list their features in the same order nearly
//! always, so the lookup first tries the id found at the same position in
//! the previous prediction (one string comparison) and hashes only when
//! that misses.

use std::collections::HashMap;
use std::sync::Arc;

use crate::record::input_features::MAX_FEATURES_PER_EVENT;

/// No feature remembered at a position.
const NONE: u16 = u16::MAX;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Registry {
    /// Shared with the alerts that name them.
    names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u16>,
    /// The id found at each position of the previous prediction's features.
    order: Vec<u16>,
}

impl Registry {
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The id of the feature at position `pos` of a prediction's features.
    #[inline]
    pub fn find(&mut self, pos: usize, name: &str) -> Option<u16> {
        if let Some(&id) = self.order.get(pos)
            && self
                .names
                .get(usize::from(id))
                .is_some_and(|n| **n == *name)
        {
            return Some(id);
        }
        let id = *self.index.get(name)?;
        self.remember(pos, id);
        Some(id)
    }

    fn remember(&mut self, pos: usize, id: u16) {
        if pos >= MAX_FEATURES_PER_EVENT {
            return;
        }
        if self.order.len() <= pos {
            self.order.resize(pos + 1, NONE);
        }
        self.order[pos] = id;
    }

    /// Adds a name not yet registered (met at position `pos`); its id.
    pub fn add(&mut self, pos: usize, name: &str) -> u16 {
        debug_assert!(!self.index.contains_key(name));
        let id = self.names.len() as u16;
        let name: Arc<str> = Arc::from(name);
        self.index.insert(Arc::clone(&name), id);
        self.names.push(name);
        self.remember(pos, id);
        id
    }

    /// Forgets the newest name (its id may be given again).
    pub fn remove_last(&mut self) {
        if let Some(name) = self.names.pop() {
            self.index.remove(&*name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_position_or_by_name() {
        let mut r = Registry::default();
        assert_eq!(r.find(0, "a"), None);
        assert_eq!((r.add(0, "a"), r.add(1, "b")), (0, 1));
        assert_eq!((r.find(0, "a"), r.find(1, "b")), (Some(0), Some(1)));
        // Another order: found by name, and remembered.
        assert_eq!((r.find(0, "b"), r.find(1, "a")), (Some(1), Some(0)));
        assert_eq!(r.find(0, "b"), Some(1));
        r.remove_last();
        assert_eq!((r.find(0, "b"), r.find(5, "a")), (None, Some(0)));
        assert_eq!(r.add(0, "c"), 1);
        assert_eq!(r.find(0, "c"), Some(1));
        let names: Vec<&str> = r.names().iter().map(|n| &**n).collect();
        assert_eq!(names, ["a", "c"]);
    }
}

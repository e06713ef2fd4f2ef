//! Interning of a model's labels, so that counts are indexed arrays and
//! everything else (review cases, windows) holds a label as its id.

use std::collections::HashMap;
use std::sync::Arc;

/// A model's labels in order of first appearance; ids are indices. Each
/// name is stored once, shared by the list and the index.
#[derive(Debug, Clone, Default)]
pub struct LabelTable {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

/// Beyond this many labels a model's further labels share one id, so that a
/// stream of unique "labels" (an id written in the wrong field) cannot grow
/// memory without bound.
pub const MAX_LABELS: usize = 1_000;
/// The name of the shared id for labels beyond [`MAX_LABELS`].
pub const OVERFLOW_LABEL: &str = "(other)";

impl LabelTable {
    /// The id of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        // Few labels is the common case: a scan beats hashing there.
        if self.names.len() <= 8 {
            if let Some(i) = self.names.iter().position(|n| **n == *name) {
                return i as u32;
            }
        } else if let Some(&id) = self.ids.get(name) {
            return id;
        }
        if self.names.len() >= MAX_LABELS {
            return self.intern_overflow();
        }
        self.push(name)
    }

    fn push(&mut self, name: &str) -> u32 {
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        id
    }

    fn intern_overflow(&mut self) -> u32 {
        match self.ids.get(OVERFLOW_LABEL) {
            Some(&id) => id,
            None => self.push(OVERFLOW_LABEL),
        }
    }

    /// The id of `name` if the model has predicted it.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }
}

/// Kept (in a checkpoint) as its names in id order; the index is rebuilt.
impl serde::Serialize for LabelTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl<'de> serde::Deserialize<'de> for LabelTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let names = Vec::<Box<str>>::deserialize(d)?;
        if names.len() > MAX_LABELS + 1 {
            return Err(D::Error::custom("more labels than a model holds"));
        }
        let mut table = LabelTable::default();
        for name in &names {
            if table.ids.contains_key(&**name) {
                return Err(D::Error::custom("a label listed twice"));
            }
            table.push(name);
        }
        Ok(table)
    }
}

/// Counts indexed by label id, growing as labels appear.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabelCounts(pub Vec<u64>);

impl LabelCounts {
    #[inline]
    pub fn add(&mut self, id: u32) {
        let i = id as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] += 1;
    }

    pub fn set(&mut self, id: u32, count: u64) {
        let i = id as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = count;
    }

    #[inline]
    pub fn sub(&mut self, id: u32) {
        if let Some(c) = self.0.get_mut(id as usize) {
            *c = c.saturating_sub(1);
        }
    }

    pub fn get(&self, id: u32) -> u64 {
        self.0.get(id as usize).copied().unwrap_or(0)
    }

    /// Counts for ids `0..len`, zero-padded.
    pub fn padded(&self, len: usize) -> Vec<u64> {
        let mut v = self.0.clone();
        v.resize(len.max(v.len()), 0);
        v
    }

    pub fn clear(&mut self) {
        self.0.iter_mut().for_each(|c| *c = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_bounds() {
        let mut t = LabelTable::default();
        assert_eq!(t.intern("a"), 0);
        assert_eq!(t.intern("b"), 1);
        assert_eq!(t.intern("a"), 0);
        for i in 0..2 * MAX_LABELS {
            t.intern(&format!("l{i}"));
        }
        assert_eq!(t.len(), MAX_LABELS + 1);
        let other = t.intern("zzz");
        assert_eq!(t.name(other), OVERFLOW_LABEL);
        assert_eq!(t.get("b"), Some(1));
        let mut c = LabelCounts::default();
        c.add(3);
        c.sub(3);
        c.sub(7);
        assert_eq!(c.padded(5), vec![0; 5]);
    }
}

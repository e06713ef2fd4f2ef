//! Dropping events a websocket server sends again after a reconnect.
//!
//! The last `capacity` event keys (64-bit hashes of kind, model and id) are
//! remembered in a ring with a hash map beside it, each with the connection
//! it arrived on. An event whose key arrived on an earlier connection is a
//! duplicate; one repeated within the same connection is passed on (that
//! is what the server meant to send). Memory is bounded by `capacity`.

use std::collections::VecDeque;

use crate::engine::join::HashedMap;
use crate::record::Event;

pub(crate) struct Dedup {
    capacity: usize,
    order: VecDeque<u64>,
    /// Keyed by the hashes as they are (they are xxh3 already).
    seen: HashedMap<u64>,
    key: Vec<u8>,
}

impl Dedup {
    pub fn new(capacity: usize) -> Self {
        Dedup {
            capacity,
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            seen: HashedMap::with_capacity_and_hasher(capacity.min(1 << 16), Default::default()),
            key: Vec::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Records `key`, seen on connection `generation`; true when it was
    /// seen on an earlier connection.
    pub fn is_duplicate(&mut self, key: u64, generation: u64) -> bool {
        if !self.enabled() {
            return false;
        }
        if let Some(&g) = self.seen.get(&key) {
            return g < generation;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(key);
        self.seen.insert(key, generation);
        false
    }

    /// The key of an event with an id (a prediction and its feedback share
    /// an id, so the kind is part of the key); `None` for one without an id.
    pub fn event_key(&mut self, event: &Event<'_>) -> Option<u64> {
        let (kind, model, id): (u8, &str, &str) = match event {
            Event::Prediction(p) => (b'p', &p.model, p.id.as_deref()?),
            Event::Feedback(f) => (b'f', f.model.as_deref().unwrap_or_default(), &f.id),
        };
        self.key.clear();
        self.key.push(kind);
        self.key.extend_from_slice(model.as_bytes());
        // 0xFF never occurs in UTF-8: an unambiguous separator.
        self.key.push(0xFF);
        self.key.extend_from_slice(id.as_bytes());
        Some(xxhash_rust::xxh3::xxh3_64(&self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_only_across_connections() {
        let mut d = Dedup::new(3);
        assert!(!d.is_duplicate(1, 1));
        assert!(
            !d.is_duplicate(1, 1),
            "a repeat on the same connection passes"
        );
        assert!(d.is_duplicate(1, 2), "seen on an earlier connection");
        for k in 2..=4 {
            assert!(!d.is_duplicate(k, 2));
        }
        assert_eq!(d.len(), 3);
        assert!(!d.is_duplicate(1, 3), "1 was evicted");
        assert_eq!(d.len(), 3);
        let mut off = Dedup::new(0);
        assert!(!off.is_duplicate(1, 1) && !off.is_duplicate(1, 2));
        assert_eq!(off.len(), 0);
    }

    #[test]
    fn keys_tell_kinds_models_and_ids_apart() {
        let p = crate::record::Parser::default();
        let mut d = Dedup::new(8);
        let mut key = |line: &str| match p.parse(line.as_bytes()) {
            Ok(event) => d.event_key(&event),
            Err(_) => None,
        };
        let a = key(r#"{"id":"1","model":"m","prediction":"x","confidence":0.5}"#);
        let b = key(r#"{"id":"1","model":"n","prediction":"x","confidence":0.5}"#);
        let c = key(r#"{"type":"feedback","id":"1","label":"x"}"#);
        let a2 = key(r#"{"id":1,"model":"m","prediction":"y","confidence":0.9}"#);
        assert!(a.is_some() && b.is_some() && c.is_some());
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, a2, "the same event id, whatever else changed");
        assert_eq!(key(r#"{"prediction":"x","confidence":0.5}"#), None);
        assert_eq!(key("not json"), None);
    }
}

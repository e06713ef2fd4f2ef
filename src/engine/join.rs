//! Joining late feedback to the predictions it is about.
//!
//! Ground truth arrives minutes to days after a prediction, in any order, so
//! the table remembers the last `capacity` predictions by id (a 64-bit xxh3
//! hash of it rather than its text) in a ring, so memory is fixed whatever
//! the stream's length. Predictions pushed out before their feedback arrived
//! are counted as evicted. Feedback that arrives before its prediction waits
//! in a second table, bounded in entries and in bytes.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

/// The table as a checkpoint keeps it: its two big arrays packed.
#[path = "join_codec.rs"]
mod codec;

/// Hashes an id for the join.
#[inline]
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// The keys are already hashes: use them as they are.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// Who provided a prediction's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSource {
    /// Ground truth from a feedback event.
    Feedback,
    /// An operator's approval or override.
    Human,
}

/// A prediction waiting for its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinEntry {
    pub model: u32,
    pub index: u64,
    pub label: u32,
    pub ts_ms: i64,
    /// The label counted so far, and whether it matched the prediction.
    pub labelled: Option<(LabelSource, bool)>,
    /// An earlier prediction with the same id by another model.
    pub prev: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    seq: u64,
    /// False once the index dropped it early (its probe window was full).
    reachable: bool,
    entry: JoinEntry,
}

/// Open-addressing index from id hash to ring sequence number. Nothing is
/// ever deleted: an entry whose sequence has left the ring is stale and
/// its slot reused, so an insert touches one cache line where a hash map
/// would also pay for removing the evicted key.
#[derive(Debug, Clone)]
struct SeqIndex {
    /// (hash, seq + 1); 0 marks a slot never used.
    slots: Vec<(u64, u64)>,
    mask: usize,
}

/// Slots looked at per lookup or insert.
const PROBES: usize = 16;

impl SeqIndex {
    fn new(capacity: usize) -> Self {
        let size = (capacity.max(8) * 2).next_power_of_two();
        SeqIndex {
            slots: vec![(0, 0); size],
            mask: size - 1,
        }
    }

    /// Starts loading the slot a hash lands on, so that an insert made
    /// after other work finds it in cache (the table is megabytes: a miss
    /// costs more than parsing a line).
    #[inline]
    fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let slot = &self.slots[(hash as usize) & self.mask];
            // SAFETY: SSE is part of every x86_64 target; a prefetch only
            // hints the cache, never faults, and the pointer is to a live slot.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((slot as *const (u64, u64)).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    fn find(&self, hash: u64, live: impl Fn(u64) -> bool) -> Option<u64> {
        for k in 0..PROBES {
            let (h, s) = self.slots[(hash as usize).wrapping_add(k) & self.mask];
            if s == 0 {
                return None;
            }
            if h == hash && live(s - 1) {
                return Some(s - 1);
            }
        }
        None
    }

    /// Inserts in one pass over the probe window.
    fn insert(&mut self, hash: u64, seq: u64, live: impl Fn(u64) -> bool) -> Placed {
        let mut free = None;
        let mut oldest: Option<(usize, u64)> = None;
        for k in 0..PROBES {
            let pos = (hash as usize).wrapping_add(k) & self.mask;
            let (h, s) = self.slots[pos];
            if s != 0 && h == hash {
                // The same id again: the index points at the newer one.
                self.slots[pos] = (hash, seq + 1);
                return match live(s - 1) {
                    true => Placed::SameId(s - 1),
                    false => Placed::Fresh,
                };
            }
            if s == 0 || !live(s - 1) {
                // An older live entry with this id further on is shadowed:
                // lookups meet this newer one first.
                free = Some(pos);
                break;
            }
            if oldest.is_none_or(|(_, o)| s - 1 < o) {
                oldest = Some((pos, s - 1));
            }
        }
        let (pos, placed) = match (free, oldest) {
            (Some(pos), _) => (pos, Placed::Fresh),
            (None, Some((pos, old))) => (pos, Placed::Displaced(old)),
            (None, None) => unreachable!("PROBES > 0"),
        };
        self.slots[pos] = (hash, seq + 1);
        placed
    }
}

/// What an insert into the index did.
enum Placed {
    Fresh,
    /// The id was there: the index now points at the new entry.
    SameId(u64),
    /// The probe window was full of live entries: this one lost its place.
    Displaced(u64),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JoinTable {
    capacity: usize,
    #[serde(with = "codec::index")]
    index: SeqIndex,
    #[serde(with = "codec::ring")]
    ring: Vec<Slot>,
    next_seq: u64,
    /// Predictions evicted before any label arrived.
    pub evicted_unlabelled: u64,
}

impl JoinTable {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        JoinTable {
            capacity,
            index: SeqIndex::new(capacity),
            ring: Vec::new(),
            next_seq: 0,
            evicted_unlabelled: 0,
        }
    }

    /// Predictions held (a scan: tests only).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.ring.iter().filter(|s| s.reachable).count()
    }

    fn is_live(next_seq: u64, capacity: usize, seq: u64) -> bool {
        next_seq - seq <= capacity as u64
    }

    /// Hints that `hash` is about to be inserted or looked up.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    fn pos(&self, seq: u64) -> usize {
        (seq % self.capacity as u64) as usize
    }

    /// The newest live, reachable entry for `hash`.
    fn newest(&self, hash: u64) -> Option<u64> {
        let (next, cap) = (self.next_seq, self.capacity);
        let seq = self.index.find(hash, |s| Self::is_live(next, cap, s))?;
        self.slot_of(seq, hash).map(|_| seq)
    }

    fn slot_of(&self, seq: u64, hash: u64) -> Option<&Slot> {
        let slot = self.ring.get(self.pos(seq))?;
        (slot.seq == seq
            && slot.hash == hash
            && slot.reachable
            && Self::is_live(self.next_seq, self.capacity, seq))
        .then_some(slot)
    }

    /// Remembers a prediction and returns its sequence number. A later
    /// prediction of the same model with the same id takes the earlier
    /// one's place; predictions of other models with that id stay reachable
    /// (an A/B or shadow deployment scoring the same requests): feedback
    /// for the id reaches each.
    pub fn insert(&mut self, hash: u64, entry: JoinEntry) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.pos(seq);
        if let Some(old) = self.ring.get(pos)
            && old.reachable
            && old.entry.labelled.is_none()
        {
            self.evicted_unlabelled += 1;
        }
        let slot = Slot {
            hash,
            seq,
            reachable: true,
            entry: JoinEntry {
                prev: None,
                ..entry
            },
        };
        if pos < self.ring.len() {
            self.ring[pos] = slot;
        } else {
            self.ring.push(slot);
        }
        let (next, cap) = (self.next_seq, self.capacity);
        match self
            .index
            .insert(hash, seq, |s| Self::is_live(next, cap, s))
        {
            Placed::Fresh => {}
            Placed::SameId(old) => self.link(seq, old, hash),
            Placed::Displaced(other) => {
                let other_pos = self.pos(other);
                let old = &mut self.ring[other_pos];
                if old.reachable && old.entry.labelled.is_none() {
                    self.evicted_unlabelled += 1;
                }
                old.reachable = false;
            }
        }
        seq
    }

    /// Chains the new entry `seq` in front of the id's earlier ones
    /// (`old` the newest of them), dropping the same model's earlier
    /// prediction from the chain wherever it stands: the new one replaces it.
    fn link(&mut self, seq: u64, old: u64, hash: u64) {
        if self.slot_of(old, hash).is_none() {
            return;
        }
        let new_pos = self.pos(seq);
        let model = self.ring[new_pos].entry.model;
        self.ring[new_pos].entry.prev = Some(old);
        // `before` is the entry whose `prev` points at `at`.
        let (mut before, mut at) = (seq, Some(old));
        // One entry per model at most: the bound also guards a bad chain.
        for _ in 0..=super::MAX_MODELS {
            let Some(cur) = at else { return };
            let Some(slot) = self.slot_of(cur, hash) else {
                return;
            };
            let next = slot.entry.prev;
            if slot.entry.model == model {
                let cur_pos = self.pos(cur);
                let replaced = &mut self.ring[cur_pos];
                replaced.reachable = false;
                if replaced.entry.labelled.is_none() {
                    self.evicted_unlabelled += 1;
                }
                let before_pos = self.pos(before);
                self.ring[before_pos].entry.prev = next;
                return;
            }
            (before, at) = (cur, next);
        }
    }

    /// The remembered predictions with this id (one per model) that `keep`
    /// accepts, newest first, as sequence numbers for [`JoinTable::entry`].
    pub fn entries_where(
        &self,
        hash: u64,
        keep: impl Fn(&JoinEntry) -> bool,
    ) -> SmallVec<[u64; 4]> {
        let mut out = SmallVec::new();
        let mut next = self.newest(hash);
        // One entry per model at most: the bound also guards a bad chain.
        for _ in 0..=super::MAX_MODELS {
            let Some(seq) = next else { break };
            let Some(slot) = self.slot_of(seq, hash) else {
                break;
            };
            if keep(&slot.entry) {
                out.push(seq);
            }
            next = slot.entry.prev;
        }
        out
    }

    pub fn entry(&self, seq: u64) -> Option<&JoinEntry> {
        let slot = self.ring.get(self.pos(seq))?;
        (slot.seq == seq && slot.reachable).then_some(&slot.entry)
    }

    pub fn entry_mut(&mut self, seq: u64) -> Option<&mut JoinEntry> {
        let pos = self.pos(seq);
        let slot = self.ring.get_mut(pos)?;
        (slot.seq == seq && slot.reachable).then_some(&mut slot.entry)
    }

    /// The newest entry for this id (tests).
    #[cfg(test)]
    fn get_mut(&mut self, hash: u64) -> Option<&mut JoinEntry> {
        let seq = self.newest(hash)?;
        self.entry_mut(seq)
    }
}

/// Feedback that arrived before its prediction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingFeedback {
    pub label: String,
    pub ts_ms: i64,
    /// The model the feedback named: only that model's prediction takes it.
    pub model: Option<String>,
}

impl PendingFeedback {
    /// Bytes one waiting feedback holds: the entry in the map and the
    /// order queue, and its strings.
    fn bytes(&self) -> usize {
        std::mem::size_of::<(u64, PendingFeedback)>()
            + std::mem::size_of::<u64>()
            + self.label.len()
            + self.model.as_ref().map_or(0, String::len)
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingTable {
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    by_hash: HashedMap<PendingFeedback>,
    order: VecDeque<u64>,
    /// Feedback dropped without ever meeting its prediction.
    pub evicted: u64,
    /// Of those, the ones dropped because the table was over its bytes.
    pub evicted_over_bytes: u64,
}

impl PendingTable {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        PendingTable {
            capacity,
            max_bytes,
            bytes: 0,
            by_hash: HashedMap::default(),
            order: VecDeque::new(),
            evicted: 0,
            evicted_over_bytes: 0,
        }
    }

    /// Feedback waiting now.
    pub fn waiting(&self) -> usize {
        self.by_hash.len()
    }

    /// Bytes the waiting feedback holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn insert(&mut self, hash: u64, feedback: PendingFeedback) {
        if self.capacity == 0 {
            self.evicted += 1;
            return;
        }
        self.bytes += feedback.bytes();
        match self.by_hash.insert(hash, feedback) {
            None => self.order.push_back(hash),
            Some(replaced) => self.bytes -= replaced.bytes(),
        }
        loop {
            let over_count = self.by_hash.len() > self.capacity;
            let over_bytes = self.bytes > self.max_bytes;
            if !(over_count || over_bytes) {
                break;
            }
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(dropped) = self.by_hash.remove(&old) {
                self.bytes -= dropped.bytes();
                self.evicted += 1;
                self.evicted_over_bytes += u64::from(over_bytes && !over_count);
            }
        }
    }

    /// Takes the feedback waiting for this id, if any and meant for `model`.
    pub fn take(&mut self, hash: u64, model: &str) -> Option<PendingFeedback> {
        if self.by_hash.is_empty() {
            return None;
        }
        let waiting = self.by_hash.get(&hash)?;
        if waiting.model.as_deref().is_some_and(|m| m != model) {
            return None;
        }
        let found = self.by_hash.remove(&hash);
        if let Some(f) = &found {
            self.bytes -= f.bytes();
        }
        if found.is_some() && self.order.len() > 2 * self.capacity.max(1) {
            let live = &self.by_hash;
            self.order.retain(|h| live.contains_key(h));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64) -> JoinEntry {
        JoinEntry {
            model: 0,
            index,
            label: 0,
            ts_ms: 0,
            labelled: None,
            prev: None,
        }
    }

    #[test]
    fn ring_evicts_oldest_and_counts_unlabelled() {
        let mut t = JoinTable::new(3);
        for i in 0..3 {
            t.insert(id_hash(&format!("id{i}")), entry(i));
        }
        t.get_mut(id_hash("id0")).unwrap().labelled = Some((LabelSource::Feedback, true));
        t.insert(id_hash("id3"), entry(3)); // evicts id0 (labelled)
        t.insert(id_hash("id4"), entry(4)); // evicts id1 (unlabelled)
        assert!(t.get_mut(id_hash("id0")).is_none());
        assert!(t.get_mut(id_hash("id1")).is_none());
        assert_eq!(t.get_mut(id_hash("id4")).unwrap().index, 4);
        assert_eq!((t.len(), t.evicted_unlabelled), (3, 1));
        // A repeated id of the same model points at the newer prediction;
        // the older slot's eviction does not remove it.
        t.insert(id_hash("id2"), entry(5));
        t.insert(id_hash("x"), entry(6));
        t.insert(id_hash("y"), entry(7));
        assert_eq!(t.get_mut(id_hash("id2")).unwrap().index, 5);
    }

    #[test]
    fn one_id_scored_by_several_models_reaches_each() {
        let mut t = JoinTable::new(16);
        let by = |model, index| JoinEntry {
            model,
            ..entry(index)
        };
        t.insert(id_hash("r1"), by(0, 1));
        t.insert(id_hash("r1"), by(1, 1));
        t.insert(id_hash("r2"), by(0, 2));
        t.insert(id_hash("r1"), by(1, 3)); // model 1 again: replaces its own
        let models = |t: &JoinTable| -> Vec<(u32, u64)> {
            t.entries_where(id_hash("r1"), |_| true)
                .into_iter()
                .map(|s| {
                    let e = t.entry(s).unwrap();
                    (e.model, e.index)
                })
                .collect()
        };
        assert_eq!(models(&t), [(1, 3), (0, 1)]);
        assert!(t.entries_where(id_hash("nope"), |_| true).is_empty());
        assert_eq!(t.evicted_unlabelled, 1);
        // Model 0 again, behind model 1's entry in the chain: its earlier
        // prediction is replaced there too, never reached twice.
        t.insert(id_hash("r1"), by(0, 4));
        assert_eq!(models(&t), [(0, 4), (1, 3)]);
        assert_eq!(t.evicted_unlabelled, 2);
        let only_1 = t.entries_where(id_hash("r1"), |e| e.model == 1);
        assert_eq!(only_1.len(), 1);
    }

    #[test]
    fn pending_is_bounded_in_bytes() {
        let waiting = |label: &str| PendingFeedback {
            label: label.into(),
            ts_ms: 0,
            model: None,
        };
        let one = waiting(&"x".repeat(256)).bytes();
        let mut p = PendingTable::new(1000, 3 * one);
        for i in 0..10 {
            p.insert(i, waiting(&"x".repeat(256)));
        }
        assert_eq!((p.waiting(), p.evicted, p.evicted_over_bytes), (3, 7, 7));
        assert_eq!(p.bytes(), 3 * one);
        // Replacing an entry and taking one keep the count of bytes right.
        p.insert(9, waiting("short"));
        assert_eq!(p.bytes(), 2 * one + waiting("short").bytes());
        assert!(p.take(9, "m").is_some());
        assert_eq!((p.bytes(), p.waiting()), (2 * one, 2));
    }

    #[test]
    fn pending_is_bounded() {
        let mut p = PendingTable::new(2, usize::MAX);
        for i in 0..5 {
            p.insert(
                i,
                PendingFeedback {
                    label: "a".into(),
                    ts_ms: 0,
                    model: (i == 3).then(|| "b".into()),
                },
            );
        }
        assert_eq!((p.waiting(), p.evicted, p.evicted_over_bytes), (2, 3, 0));
        assert!(p.take(4, "a").is_some());
        assert!(p.take(0, "a").is_none());
        // Feedback naming model b waits for b's prediction.
        assert!(p.take(3, "a").is_none());
        assert!(p.take(3, "b").is_some());
    }
}

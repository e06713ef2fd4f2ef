//! The join table's two big arrays as a checkpoint keeps them: packed as
//! bytes, little-endian (a ring slot in 51, an index slot in 16), so a
//! table of a quarter of a million predictions is one value to write and
//! read rather than millions.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;

use super::{JoinEntry, LabelSource, SeqIndex, Slot};

/// Bytes, from a format that has them or as a sequence of numbers.
struct Packed(Vec<u8>);

impl<'de> de::Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Packed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Packed, E> {
                Ok(Packed(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Packed, E> {
                Ok(Packed(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Packed, A::Error> {
                let mut v = Vec::new();
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(Packed(v))
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(super) mod ring {
    use super::*;

    const SLOT: usize = 51;

    pub fn serialize<S: Serializer>(ring: &[Slot], s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(ring.len() * SLOT);
        for slot in ring {
            let e = &slot.entry;
            out.extend_from_slice(&slot.hash.to_le_bytes());
            out.extend_from_slice(&slot.seq.to_le_bytes());
            out.push(u8::from(slot.reachable));
            out.extend_from_slice(&e.model.to_le_bytes());
            out.extend_from_slice(&e.index.to_le_bytes());
            out.extend_from_slice(&e.label.to_le_bytes());
            out.extend_from_slice(&e.ts_ms.to_le_bytes());
            out.push(match e.labelled {
                None => 0,
                Some((LabelSource::Feedback, right)) => 1 + u8::from(right),
                Some((LabelSource::Human, right)) => 3 + u8::from(right),
            });
            out.push(u8::from(e.prev.is_some()));
            out.extend_from_slice(&e.prev.unwrap_or(0).to_le_bytes());
        }
        s.serialize_bytes(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Slot>, D::Error> {
        let Packed(bytes) = de::Deserialize::deserialize(d)?;
        if bytes.len() % SLOT != 0 {
            return Err(de::Error::custom("a join ring of the wrong size"));
        }
        bytes.chunks_exact(SLOT).map(slot).collect()
    }

    fn slot<E: de::Error>(b: &[u8]) -> Result<Slot, E> {
        let labelled = match b[41] {
            0 => None,
            1 | 2 => Some((LabelSource::Feedback, b[41] == 2)),
            3 | 4 => Some((LabelSource::Human, b[41] == 4)),
            _ => return Err(E::custom("a join slot's label of no known kind")),
        };
        Ok(Slot {
            hash: u64_at(b, 0),
            seq: u64_at(b, 8),
            reachable: b[16] != 0,
            entry: JoinEntry {
                model: u32_at(b, 17),
                index: u64_at(b, 21),
                label: u32_at(b, 29),
                ts_ms: u64_at(b, 33) as i64,
                labelled,
                prev: (b[42] != 0).then(|| u64_at(b, 43)),
            },
        })
    }
}

pub(super) mod index {
    use super::*;

    const SLOT: usize = 16;

    pub fn serialize<S: Serializer>(index: &SeqIndex, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(index.slots.len() * SLOT);
        for (hash, seq) in &index.slots {
            out.extend_from_slice(&hash.to_le_bytes());
            out.extend_from_slice(&seq.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SeqIndex, D::Error> {
        let Packed(bytes) = de::Deserialize::deserialize(d)?;
        let n = bytes.len() / SLOT;
        if bytes.len() % SLOT != 0 || !n.is_power_of_two() {
            return Err(de::Error::custom("a join index of the wrong size"));
        }
        let slots = bytes
            .chunks_exact(SLOT)
            .map(|b| (u64_at(b, 0), u64_at(b, 8)))
            .collect();
        Ok(SeqIndex { slots, mask: n - 1 })
    }
}

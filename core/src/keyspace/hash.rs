//! [`Hash`]: a hash value, compact while small (Redis's `t_hash.c`
//! encodings).
//!
//! A new hash is a [`Listpack`] of alternating fields and values, in
//! insertion order. It becomes a [`Dict`] (`hashtable`) the moment it would
//! hold more than `hash-max-listpack-entries` fields or a field or value
//! longer than `hash-max-listpack-value` bytes, and never goes back, as in
//! Redis. OBJECT ENCODING reports which one a hash uses.

use std::fmt;

use super::listpack::{Listpack, Slot};
use crate::dict::Dict;
use crate::rng::Rng;

/// The compact-encoding limits (the `*-max-listpack-*` and
/// `set-max-intset-entries` parameters), read once per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    /// `list-max-listpack-size`, read as Redis reads it.
    pub list_node: super::NodeLimit,
    pub zset_entries: usize,
    pub zset_value: usize,
}

impl Default for Limits {
    /// Redis 7.0's defaults (as `CONFIG GET` shows them on redis-server
    /// 7.0.15: 512 fields, 64 bytes, 512 members).
    fn default() -> Limits {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            list_node: super::NodeLimit::default(),
            zset_entries: 128,
            zset_value: 64,
        }
    }
}

/// A hash value in one of its two encodings.
pub enum Hash {
    Listpack(Listpack),
    Table(Dict<Vec<u8>>),
}

impl Default for Hash {
    fn default() -> Hash {
        Hash::Listpack(Listpack::new())
    }
}

impl Hash {
    /// OBJECT ENCODING's name for the encoding in use.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => {
                let mut slots = lp.slots();
                while let Some((_, f)) = slots.next() {
                    let (_, v) = slots.next()?;
                    if f == field {
                        return Some(v);
                    }
                }
                None
            }
            Hash::Table(d) => d.get(field).map(Vec::as_slice),
        }
    }

    /// Every field and value: insertion order while compact, the table's
    /// deterministic order after.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Listpack(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            Hash::Table(d) => Box::new(d.iter().map(|(f, v)| (f, v.as_slice()))),
        }
    }

    /// Convert to a table if a field or value of these lengths could not
    /// be stored compactly (Redis's `hashTypeTryConversion`, run on a
    /// command's arguments before any is stored).
    pub fn fit(&mut self, longest: usize, limits: &Limits) {
        if longest > limits.hash_value {
            self.convert();
        }
    }

    /// Set `field` to `value`; true if the field is new. Converts to a
    /// table when the hash outgrows the compact limits (Redis 7.0's
    /// `hashTypeSet` checks the lengths too, so a long HINCRBYFLOAT result
    /// converts).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if field.len().max(value.len()) > limits.hash_value {
            self.convert();
        }
        let new = match self {
            Hash::Listpack(lp) => match find_pair(lp, field) {
                Some((_, vslot)) => {
                    lp.replace(vslot, value);
                    false
                }
                None => {
                    lp.push(field);
                    lp.push(value);
                    true
                }
            },
            Hash::Table(d) => d.insert(field, value.to_vec()).is_none(),
        };
        if self.len() > limits.hash_entries {
            self.convert();
        }
        new
    }

    /// Remove `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match find_pair(lp, field) {
                Some((f, v)) => {
                    lp.remove(f, v, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// The field at position `i` of [`Hash::iter`]'s order.
    pub fn nth(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.iter().nth(i)
    }

    /// A uniformly drawn field and value (HRANDFIELD).
    pub fn random(&self, rng: &Rng) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(_) => {
                let n = self.len() as u64;
                (n > 0).then(|| self.nth(rng.below(n) as usize)).flatten()
            }
            Hash::Table(d) => d.random_entry(rng).map(|(f, v)| (f, v.as_slice())),
        }
    }

    /// One step of HSCAN: a compact hash is returned whole (cursor 0
    /// next), a table one bucket chain at a time, as Redis's `scanGenericCommand`.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(_) => {
                for (f, v) in self.iter() {
                    visit(f, v);
                }
                0
            }
            Hash::Table(d) => d.scan(cursor, |f, v| visit(f, v)),
        }
    }

    /// Switch to the table encoding (never back).
    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut d = Dict::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert(f, v.to_vec());
            }
            *self = Hash::Table(d);
        }
    }
}

/// The slots of `field` and of its value in a hash's listpack.
fn find_pair(lp: &Listpack, field: &[u8]) -> Option<(Slot, Slot)> {
    let mut slots = lp.slots();
    while let Some((fslot, f)) = slots.next() {
        let (vslot, _) = slots.next()?;
        if f == field {
            return Some((fslot, vslot));
        }
    }
    None
}

impl Clone for Hash {
    fn clone(&self) -> Hash {
        match self {
            Hash::Listpack(lp) => Hash::Listpack(lp.clone()),
            Hash::Table(d) => {
                let mut copy = Dict::new();
                for (f, v) in d.iter() {
                    copy.insert(f, v.clone());
                }
                Hash::Table(copy)
            }
        }
    }
}

/// Equal when they hold the same fields and values, whatever the order or
/// encoding.
impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Eq for Hash {}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in self.iter() {
            map.entry(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_until_a_limit_then_a_table_for_good() {
        let limits = Limits {
            hash_entries: 3,
            hash_value: 8,
            ..Limits::default()
        };
        let mut h = Hash::default();
        assert!(h.set(b"a", b"1", &limits));
        assert!(h.set(b"b", b"2", &limits));
        assert!(!h.set(b"a", b"one", &limits));
        assert_eq!(h.encoding(), "listpack");
        let order: Vec<_> = h.iter().map(|(f, _)| f.to_vec()).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec()], "insertion order");
        assert!(h.set(b"c", b"3", &limits));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"d", b"4", &limits));
        assert_eq!(h.encoding(), "hashtable", "more than 3 fields");
        assert!(h.remove(b"d") && h.remove(b"c"));
        assert_eq!(h.encoding(), "hashtable", "never back");
        assert_eq!(h.get(b"a"), Some(&b"one"[..]));
        let mut small = Hash::default();
        small.fit(b"a value longer than 8".len(), &limits);
        small.set(b"f", b"a value longer than 8", &limits);
        assert_eq!(small.encoding(), "hashtable", "a long value");
        assert_eq!(small.clone(), small);
    }
}

//! What a value costs: the bytes [`Keyspace`](super::Keyspace) charges for
//! each entry, following the model in [`crate::memory`].
//!
//! Strings and compact encodings are measured exactly. Hash tables, large
//! sorted sets and long lists are *estimated* as Redis's `MEMORY USAGE`
//! estimates them (`objectComputeSize` with 5 samples): the average of the
//! first few elements, times the element count, plus the table. That keeps
//! the charge of a write O(1) whatever the size of the collection, and it
//! is still a pure function of the value, so native and replay agree.
//!
//! Each entry remembers what it was charged, and a change re-charges it by
//! the difference: the keyspace's total is exactly the sum of its entries'
//! charges, whatever the estimates are.

use super::{Hash, List, Set, Str, Value, ZSet};
use crate::dict::Dict;
use crate::memory::{alloc_size, ENTRY_NODE, POINTER};
use crate::str::INLINE;

/// Elements sampled to estimate a large collection (Redis's
/// `OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
const SAMPLES: usize = 5;

/// The boxed headers of the collections, as laid out on a 64-bit target
/// (checked by a test there).
pub(crate) const HASH_HEADER: usize = 40;
pub(crate) const SET_HEADER: usize = 32;
pub(crate) const LIST_HEADER: usize = 40;
pub(crate) const ZSET_HEADER: usize = 24;
/// A node of a hash table holding `Vec<u8>` values (next, key, value).
const HASH_NODE: usize = 56;
/// A listpack inside a list's deque (its buffer and count).
const LIST_NODE: usize = 32;
/// A member of a small sorted set (score, boxed member).
const ZSET_SMALL_MEMBER: usize = 24;
/// A large sorted set: the dict node (next, key, score) and the treap node
/// (score, member, priority, size, two children).
const ZSET_DICT_NODE: usize = 40;
const ZSET_TREE_NODE: usize = 56;
/// The large sorted set's own box (dict and treap root).
const ZSET_LARGE: usize = 40;

/// What an entry for `key` holding `value` costs: its dict node, the key
/// if it does not fit inline, and the value's own allocations.
pub(crate) fn entry_bytes(key: &[u8], value: &Value) -> usize {
    alloc_size(ENTRY_NODE) + key_bytes(key) + value_bytes(value)
}

/// A key's heap bytes (0 when the node holds it inline).
pub(crate) fn key_bytes(key: &[u8]) -> usize {
    if key.len() > INLINE {
        alloc_size(key.len())
    } else {
        0
    }
}

/// The allocations a value owns beyond the entry that holds it.
pub fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.owned_bytes(),
        Value::Hash(h) => h.owned_bytes(),
        Value::Set(s) => s.owned_bytes(),
        Value::List(l) => l.owned_bytes(),
        Value::ZSet(z) => z.owned_bytes(),
    }
}

/// A value's own allocations, by type.
pub trait Measured {
    fn owned_bytes(&self) -> usize;
}

impl Measured for Str {
    fn owned_bytes(&self) -> usize {
        self.heap_bytes()
    }
}

impl Measured for Hash {
    fn owned_bytes(&self) -> usize {
        alloc_size(HASH_HEADER) + hash_bytes(self)
    }
}

impl Measured for Set {
    fn owned_bytes(&self) -> usize {
        alloc_size(SET_HEADER) + set_bytes(self)
    }
}

impl Measured for List {
    fn owned_bytes(&self) -> usize {
        alloc_size(LIST_HEADER) + list_bytes(self)
    }
}

impl Measured for ZSet {
    fn owned_bytes(&self) -> usize {
        alloc_size(ZSET_HEADER) + zset_bytes(self)
    }
}

fn hash_bytes(h: &Hash) -> usize {
    match h {
        Hash::Listpack(lp) => alloc_size(lp.capacity()),
        Hash::Table(dict) => dict_bytes(dict, |field, value| {
            alloc_size(HASH_NODE) + key_bytes(field) + alloc_size(value.capacity())
        }),
    }
}

fn set_bytes(s: &Set) -> usize {
    match s {
        Set::Intset(v) => alloc_size(v.capacity() * 8),
        Set::Table(dict) => dict_bytes(dict, |member, _| {
            alloc_size(crate::memory::KEY_NODE) + key_bytes(member)
        }),
    }
}

fn list_bytes(l: &List) -> usize {
    let nodes = l.node_count();
    let sampled: Vec<usize> = l.node_capacities().take(SAMPLES).map(alloc_size).collect();
    alloc_size(l.deque_capacity() * LIST_NODE) + scale(&sampled, nodes)
}

fn zset_bytes(z: &ZSet) -> usize {
    match z {
        ZSet::Listpack(members) => {
            let sampled: Vec<usize> = members
                .iter()
                .take(SAMPLES)
                .map(|(_, m)| alloc_size(m.len()))
                .collect();
            alloc_size(members.capacity() * ZSET_SMALL_MEMBER) + scale(&sampled, members.len())
        }
        ZSet::Skiplist(large) => {
            alloc_size(ZSET_LARGE)
                + dict_bytes(large.dict(), |member, _| {
                    alloc_size(ZSET_DICT_NODE)
                        + key_bytes(member)
                        + alloc_size(ZSET_TREE_NODE)
                        + alloc_size(member.len())
                })
        }
    }
}

/// A dict's table plus its entries, estimated from the first few.
fn dict_bytes<V>(dict: &Dict<V>, entry: impl Fn(&[u8], &V) -> usize) -> usize {
    let sampled: Vec<usize> = dict
        .iter()
        .take(SAMPLES)
        .map(|(k, v)| entry(k, v))
        .collect();
    alloc_size(dict.buckets() * POINTER) + scale(&sampled, dict.len())
}

/// `count` elements estimated from the costs of a sample of them.
fn scale(sampled: &[usize], count: usize) -> usize {
    if sampled.is_empty() {
        return 0;
    }
    if sampled.len() == count {
        return sampled.iter().sum();
    }
    let total: usize = sampled.iter().sum();
    ((total as u128 * count as u128) / sampled.len() as u128) as usize
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn the_constants_are_this_targets_layout() {
        assert_eq!(size_of::<Hash>(), HASH_HEADER);
        assert_eq!(size_of::<Set>(), SET_HEADER);
        assert_eq!(size_of::<List>(), LIST_HEADER);
        assert_eq!(size_of::<ZSet>(), ZSET_HEADER);
        assert_eq!(size_of::<super::super::listpack::Listpack>(), LIST_NODE);
        assert_eq!(size_of::<(f64, Box<[u8]>)>(), ZSET_SMALL_MEMBER);
        assert_eq!(size_of::<super::super::zset::Large>(), ZSET_LARGE);
    }

    #[test]
    fn a_small_string_entry_is_one_node() {
        let v = Value::String(Str::from(b"v000000000000001"));
        assert_eq!(entry_bytes(b"key:000000000001", &v), 80);
        let long = Value::String(Str::from(vec![b'x'; 100]));
        assert_eq!(entry_bytes(&[b'k'; 30], &long), 80 + 48 + 112);
    }

    #[test]
    fn estimates_scale_with_the_count() {
        assert_eq!(scale(&[], 0), 0);
        assert_eq!(scale(&[10, 20], 2), 30);
        assert_eq!(scale(&[10, 20], 10), 150);
    }
}

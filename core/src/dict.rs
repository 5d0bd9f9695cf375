//! [`Dict`]: a chained hash table shaped like Redis's `dict.c`.
//!
//! Why not `std::collections::HashMap`? Three reasons, all about being Redis:
//!
//! * **SCAN's guarantee.** Redis promises that a key present for the whole
//!   of a SCAN is returned at least once, even if the table grows or shrinks
//!   between calls. It keeps that promise with a *reverse-binary* cursor over
//!   power-of-two bucket arrays ([`Dict::scan`]); that needs bucket
//!   indices, which `HashMap` does not expose.
//! * **Random sampling.** RANDOMKEY and the active-expiry cycle pick a
//!   random bucket and then a random entry in its chain, as
//!   `dictGetRandomKey` does.
//! * **Determinism.** The bucket of a key depends only on the key (a fixed
//!   hash, [`dict_hash`]), so iteration order depends only on the history
//!   of operations: the same session gives the same KEYS order natively and
//!   in WebAssembly.
//!
//! Unlike Redis, a resize rehashes all entries at once instead of
//! incrementally; with a million keys that is a pause of some milliseconds
//! under the shard's lock, which the contention trace shows.

use crate::hash::dict_hash;
use crate::rng::Rng;
use crate::str::Str;

/// Smallest non-empty table, as Redis's `DICT_HT_INITIAL_SIZE`.
const INITIAL_SIZE: usize = 4;
/// Grow when entries reach this multiple of buckets (Redis: ratio 1).
const MAX_LOAD: usize = 1;
/// Shrink when fewer than 1 in `MIN_FILL_DIVISOR` buckets would be used
/// (Redis's `HASHTABLE_MIN_FILL` is 10 %).
const MIN_FILL_DIVISOR: usize = 10;

/// One entry of a chain. The key is a [`Str`], so a key of up to 22 bytes
/// lives inside the node: one allocation per entry, not two.
struct Node<V> {
    key: Str,
    value: V,
    next: Option<Box<Node<V>>>,
}

/// A hash table from binary keys to `V`.
pub struct Dict<V> {
    /// Bucket heads; the length is 0 or a power of two.
    table: Vec<Option<Box<Node<V>>>>,
    len: usize,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

impl<V> Dict<V> {
    pub const fn new() -> Dict<V> {
        Dict {
            table: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (for INFO-style introspection and tests).
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    fn bucket_of(&self, key: &[u8]) -> usize {
        (dict_hash(key) as usize) & (self.table.len() - 1)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.table.is_empty() {
            return None;
        }
        let mut cur = self.table[self.bucket_of(key)].as_deref();
        while let Some(node) = cur {
            if node.key.as_slice() == key {
                return Some(&node.value);
            }
            cur = node.next.as_deref();
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.table.is_empty() {
            return None;
        }
        let b = self.bucket_of(key);
        let mut cur = self.table[b].as_deref_mut();
        while let Some(node) = cur {
            if node.key.as_slice() == key {
                return Some(&mut node.value);
            }
            cur = node.next.as_deref_mut();
        }
        None
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Insert or replace; returns the previous value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if let Some(slot) = self.get_mut(key) {
            return Some(std::mem::replace(slot, value));
        }
        // Grow before adding, as `_dictExpandIfNeeded` does.
        if self.table.is_empty() {
            self.resize(INITIAL_SIZE);
        } else if self.len >= self.table.len() * MAX_LOAD {
            self.resize(self.table.len() * 2);
        }
        let b = self.bucket_of(key);
        // New entries go to the head of the chain, as in Redis: recently
        // added keys are the likeliest to be read soon.
        let next = self.table[b].take();
        self.table[b] = Some(Box::new(Node {
            key: Str::copy_from(key),
            value,
            next,
        }));
        self.len += 1;
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        if self.table.is_empty() {
            return None;
        }
        let b = self.bucket_of(key);
        let mut link = &mut self.table[b];
        loop {
            let found = match link.as_deref() {
                None => return None,
                Some(node) => node.key.as_slice() == key,
            };
            if found {
                let mut node = link.take()?;
                *link = node.next.take();
                self.len -= 1;
                self.shrink_if_sparse();
                return Some(node.value);
            }
            link = &mut link.as_mut()?.next;
        }
    }

    /// Drop every entry and release the table.
    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long `Box` chain recursively
        // could overflow the stack.
        for head in self.table.iter_mut() {
            let mut cur = head.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
            }
        }
        self.table = Vec::new();
        self.len = 0;
    }

    fn shrink_if_sparse(&mut self) {
        let size = self.table.len();
        if size > INITIAL_SIZE && self.len * MIN_FILL_DIVISOR < size {
            self.resize(self.len.next_power_of_two().max(INITIAL_SIZE));
        }
    }

    /// Rehash every entry into a table of `size` buckets (a power of two).
    /// Nodes are moved, not reallocated.
    fn resize(&mut self, size: usize) {
        debug_assert!(size.is_power_of_two());
        let old = std::mem::replace(&mut self.table, (0..size).map(|_| None).collect());
        for mut head in old {
            while let Some(mut node) = head {
                head = node.next.take();
                let b = self.bucket_of(&node.key);
                node.next = self.table[b].take();
                self.table[b] = Some(node);
            }
        }
    }

    /// Every entry, in bucket order (deterministic for a given history).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.table.iter().flat_map(|head| {
            let mut cur = head.as_deref();
            std::iter::from_fn(move || {
                let node = cur?;
                cur = node.next.as_deref();
                Some((node.key.as_slice(), &node.value))
            })
        })
    }

    /// Visit the bucket `cursor` points at and return the next cursor
    /// (0 when the scan is complete), as Redis's `dictScan`.
    ///
    /// The cursor counts with its bits reversed: for a table of 2^k buckets
    /// it increments the *high* bit of the low k bits first. A bucket `b` in
    /// a table of 2^k expands to buckets `b` and `b + 2^k` when the table
    /// doubles, and those are exactly the buckets the reversed counter visits
    /// next, so no bucket visited before a resize needs a second visit and
    /// none that was not visited is skipped. Keys may be returned twice
    /// (after a shrink), never missed.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.table.is_empty() {
            return 0;
        }
        let mask = (self.table.len() - 1) as u64;
        let mut cur = self.table[(cursor & mask) as usize].as_deref();
        while let Some(node) = cur {
            visit(&node.key, &node.value);
            cur = node.next.as_deref();
        }
        // Set the unmasked bits so the increment carries through them,
        // then increment the reversed cursor.
        let mut v = cursor | !mask;
        v = v.reverse_bits().wrapping_add(1).reverse_bits();
        v
    }

    /// A random entry: a random non-empty bucket, then a random node of its
    /// chain (`dictGetRandomKey`). Keys in long chains are slightly less
    /// likely, as in Redis.
    pub fn random_entry(&self, rng: &Rng) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = (self.table.len() - 1) as u64;
        // Terminates: len > 0, so some bucket is non-empty, and the fill is
        // kept above 1/MIN_FILL_DIVISOR, so ~10 draws suffice on average.
        let head = loop {
            if let Some(node) = self.table[(rng.next_u64() & mask) as usize].as_deref() {
                break node;
            }
        };
        let mut chain_len = 0u64;
        let mut cur = Some(head);
        while let Some(node) = cur {
            chain_len += 1;
            cur = node.next.as_deref();
        }
        let mut node = head;
        for _ in 0..rng.below(chain_len) {
            node = node.next.as_deref()?;
        }
        Some((node.key.as_slice(), &node.value))
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut d = Dict::new();
        assert_eq!(d.get(b"a"), None);
        assert_eq!(d.insert(b"a", 1), None);
        assert_eq!(d.insert(b"a", 2), Some(1));
        assert_eq!(d.get(b"a"), Some(&2));
        *d.get_mut(b"a").unwrap() += 1;
        assert_eq!(d.remove(b"a"), Some(3));
        assert_eq!(d.remove(b"a"), None);
        assert!(d.is_empty());
    }

    #[test]
    fn grows_and_shrinks_keeping_every_key() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            d.insert(&key(i), i);
        }
        assert_eq!(d.len(), 10_000);
        assert!(d.buckets() >= 10_000 && d.buckets().is_power_of_two());
        for i in 0..9_990 {
            assert_eq!(d.remove(&key(i)), Some(i));
        }
        assert!(d.buckets() <= 64, "{}", d.buckets());
        for i in 9_990..10_000 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(&key(i), ());
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut step = 0u32;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            // Churn between calls: grow the table, then shrink it again.
            step += 1;
            if step == 50 {
                for i in 1000..5000 {
                    d.insert(&key(i), ());
                }
            }
            if step == 300 {
                for i in 1000..5000 {
                    d.remove(&key(i));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&key(i)), "key {i} missed");
        }
    }

    #[test]
    fn random_entry_reaches_every_key_and_is_seeded() {
        let mut d = Dict::new();
        for i in 0..20 {
            d.insert(&key(i), i);
        }
        let rng = Rng::new(7);
        let mut seen = BTreeSet::new();
        for _ in 0..2000 {
            seen.insert(*d.random_entry(&rng).unwrap().1);
        }
        assert_eq!(seen.len(), 20);
        let (a, b) = (Rng::new(9), Rng::new(9));
        assert_eq!(d.random_entry(&a), d.random_entry(&b));
        assert!(Dict::<()>::new().random_entry(&a).is_none());
    }

    #[test]
    fn iteration_order_depends_only_on_history() {
        let build = || {
            let mut d = Dict::new();
            for i in 0..500 {
                d.insert(&key(i), ());
            }
            for i in (0..500).step_by(3) {
                d.remove(&key(i));
            }
            d.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>()
        };
        assert_eq!(build(), build());
    }
}

/// The memory model's node sizes are this target's, on 64-bit targets
/// (the wasm replay counts with the same constants).
#[cfg(all(test, target_pointer_width = "64"))]
mod size_tests {
    #[test]
    fn nodes_are_as_large_as_the_memory_model_says() {
        use crate::memory::{ENTRY_NODE, KEY_NODE};
        assert_eq!(
            std::mem::size_of::<super::Node<crate::keyspace::Entry>>(),
            ENTRY_NODE
        );
        assert_eq!(std::mem::size_of::<super::Node<()>>(), KEY_NODE);
    }
}

//! [`Listpack`]: small collections as one flat byte buffer, as Redis's
//! `listpack.c` stores small hashes and the nodes of a list.
//!
//! A hash table pays for every field with a table slot, an entry header and
//! two separate allocations; for a hash of ten short fields that overhead is
//! most of the memory. A listpack is one allocation holding every element
//! back to back, each as `[length][bytes][back-length]`: the length as a
//! LEB128 varint (one byte below 128), and the size of the whole entry
//! again at its end, written backwards, so the buffer can be walked from
//! either end (a list pops its last element without walking the node).
//! Lookups scan it, which for the few dozen short elements Redis allows in
//! a compact hash (or a list node's 8 kB) is as fast as hashing and far
//! smaller. Elements keep their insertion order, which is the order
//! HGETALL shows.
//!
//! Unlike Redis's, this one does not encode integers specially.

/// A flat sequence of byte strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    len: usize,
}

/// Where an element sits in the buffer: its entry, and its bytes inside.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    start: usize,
    data: usize,
    end: usize,
    /// One past the entry (after the back-length): the next entry.
    next: usize,
}

/// An element as an entry: header, bytes, back-length.
fn encode(element: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(element.len() + 10);
    put_varint(&mut entry, element.len());
    entry.extend_from_slice(element);
    let size = entry.len();
    put_backlen(&mut entry, size);
    entry
}

impl Listpack {
    pub fn new() -> Listpack {
        Listpack::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes in use: the elements and their headers.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Make room for `additional` more bytes. A listpack is meant to be
    /// compact: Redis reallocates it to the exact size on every insert,
    /// where a `Vec`'s doubling would leave up to half of it unused. This
    /// grows by what is needed or an eighth of the size, whichever is
    /// more: at most 12.5 % unused, still amortised O(1) per byte.
    fn grow_for(&mut self, additional: usize) {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len < additional {
            self.buf.reserve_exact(additional.max(len / 8));
        }
    }

    /// Append an element.
    pub fn push(&mut self, element: &[u8]) {
        let entry = encode(element);
        self.grow_for(entry.len());
        self.buf.extend_from_slice(&entry);
        self.len += 1;
    }

    /// Insert an element before everything else.
    pub fn push_front(&mut self, element: &[u8]) {
        let entry = encode(element);
        self.grow_for(entry.len());
        self.buf.splice(0..0, entry);
        self.len += 1;
    }

    /// The elements in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { lp: self, at: 0 }
    }

    /// The elements with their slots, in order.
    pub fn slots(&self) -> impl Iterator<Item = (Slot, &[u8])> {
        let mut at = 0;
        std::iter::from_fn(move || {
            let slot = self.slot_at(at)?;
            at = slot.next;
            Some((slot, self.get(slot)))
        })
    }

    fn slot_at(&self, start: usize) -> Option<Slot> {
        if start >= self.buf.len() {
            return None;
        }
        let (len, header) = get_varint(&self.buf[start..]);
        let data = start + header;
        let end = data + len;
        let next = end + backlen_size(end - start);
        Some(Slot {
            start,
            data,
            end,
            next,
        })
    }

    /// The slot of the last element, found from the end.
    fn last_slot(&self) -> Option<Slot> {
        let size = get_backlen(&self.buf)?;
        let start = self.buf.len() - backlen_size(size) - size;
        self.slot_at(start)
    }

    /// The element after `slot`, if any.
    pub fn next(&self, slot: Slot) -> Option<(Slot, &[u8])> {
        let next = self.slot_at(slot.next)?;
        Some((next, self.get(next)))
    }

    /// The slot of element `i`.
    pub fn nth_slot(&self, i: usize) -> Option<Slot> {
        self.slots().nth(i).map(|(slot, _)| slot)
    }

    /// The element at `slot`.
    pub fn get(&self, slot: Slot) -> &[u8] {
        &self.buf[slot.data..slot.end]
    }

    /// Replace the element at `slot` with `element`.
    pub fn replace(&mut self, slot: Slot, element: &[u8]) {
        let entry = encode(element);
        self.grow_for(entry.len().saturating_sub(slot.next - slot.start));
        self.buf.splice(slot.start..slot.next, entry);
    }

    /// Remove the elements from `first` through `last` (inclusive), which
    /// must be `count` elements.
    pub fn remove(&mut self, first: Slot, last: Slot, count: usize) {
        self.buf.drain(first.start..last.next);
        self.len -= count;
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 4 {
            self.buf.shrink_to_fit();
        }
    }

    /// Remove and return the first element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let slot = self.slot_at(0)?;
        let element = self.get(slot).to_vec();
        self.remove(slot, slot, 1);
        Some(element)
    }

    /// Remove and return the last element, found through its back-length.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let slot = self.last_slot()?;
        let element = self.get(slot).to_vec();
        self.remove(slot, slot, 1);
        Some(element)
    }
}

/// The elements of a [`Listpack`], in order.
pub struct Iter<'a> {
    lp: &'a Listpack,
    at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let slot = self.lp.slot_at(self.at)?;
        self.at = slot.next;
        Some(self.lp.get(slot))
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The varint at the start of `buf` and its length in bytes. The buffer is
/// only ever written by [`put_varint`], so it is always well formed.
fn get_varint(buf: &[u8]) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    for (i, &b) in buf.iter().enumerate() {
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
        shift += 7;
    }
    (n, buf.len())
}

/// How many bytes the back-length of an entry of `size` bytes takes.
fn backlen_size(size: usize) -> usize {
    let mut bytes = 1;
    let mut n = size >> 7;
    while n > 0 {
        bytes += 1;
        n >>= 7;
    }
    bytes
}

/// The back-length: the varint of `size` with its bytes reversed, so that
/// reading from the buffer's end meets the low seven bits first.
fn put_backlen(out: &mut Vec<u8>, size: usize) {
    let mut forward = Vec::with_capacity(4);
    put_varint(&mut forward, size);
    out.extend(forward.iter().rev());
}

/// The back-length that ends `buf`: the size of the last entry before it.
fn get_backlen(buf: &[u8]) -> Option<usize> {
    let (mut n, mut shift) = (0usize, 0);
    for &b in buf.iter().rev() {
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
        shift += 7;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_iterate_replace_remove() {
        let mut lp = Listpack::new();
        let long = vec![b'x'; 300];
        for e in [&b"a"[..], b"", &long, b"dd"] {
            lp.push(e);
        }
        assert_eq!(lp.len(), 4);
        assert_eq!(
            lp.iter().collect::<Vec<_>>(),
            [&b"a"[..], b"", &long, b"dd"]
        );
        let (slot, _) = lp.slots().nth(2).unwrap();
        lp.replace(slot, b"short");
        assert_eq!(lp.iter().nth(2), Some(&b"short"[..]));
        let (first, _) = lp.slots().nth(1).unwrap();
        let (last, _) = lp.next(first).unwrap();
        lp.remove(first, last, 2);
        assert_eq!(lp.iter().collect::<Vec<_>>(), [&b"a"[..], b"dd"]);
        assert_eq!(lp.len(), 2);
    }

    #[test]
    fn both_ends_pop_through_the_back_lengths() {
        let mut lp = Listpack::new();
        let sizes = [0usize, 1, 126, 127, 128, 300, 16_500];
        for (i, n) in sizes.iter().enumerate() {
            lp.push(&vec![b'a' + i as u8; *n]);
        }
        lp.push_front(b"front");
        for (i, n) in sizes.iter().enumerate().rev() {
            assert_eq!(lp.pop_back(), Some(vec![b'a' + i as u8; *n]), "size {n}");
        }
        assert_eq!(lp.pop_back(), Some(b"front".to_vec()));
        assert_eq!(lp.pop_back(), None);
        assert_eq!(lp.pop_front(), None);
        assert!(lp.is_empty() && lp.bytes() == 0);
    }
}

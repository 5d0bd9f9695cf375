//! [`Listpack`]: small collections as one flat byte buffer, as Redis's
//! `listpack.c` stores small hashes (and, in later Redis, small sets and
//! lists).
//!
//! A hash table pays for every field with a table slot, an entry header and
//! two separate allocations; for a hash of ten short fields that overhead is
//! most of the memory. A listpack is one allocation holding every element
//! back to back, each as `[length][bytes]` with the length as a LEB128
//! varint (one byte below 128). Lookups scan it, which for the few dozen
//! short elements Redis allows (`hash-max-listpack-entries 128`,
//! `hash-max-listpack-value 64`) is as fast as hashing and far smaller.
//! Elements keep their insertion order, which is the order HGETALL shows.
//!
//! Unlike Redis's, this one does not encode integers specially nor keep a
//! back-length for reverse iteration: nothing here walks it backwards.

/// A flat sequence of byte strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    len: usize,
}

/// Where an element sits in the buffer: its header and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    start: usize,
    data: usize,
    end: usize,
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

    /// Insert an element before everything else.
    pub fn push_front(&mut self, element: &[u8]) {
        let mut encoded = Vec::with_capacity(element.len() + 5);
        put_varint(&mut encoded, element.len());
        encoded.extend_from_slice(element);
        self.buf.splice(0..0, encoded);
        self.len += 1;
    }

    /// The slot of element `i`.
    pub fn nth_slot(&self, i: usize) -> Option<Slot> {
        self.slots().nth(i).map(|(slot, _)| slot)
    }

    /// The element at `slot`.
    pub fn get(&self, slot: Slot) -> &[u8] {
        &self.buf[slot.data..slot.end]
    }

    /// Remove and return the first element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let slot = self.slot_at(0)?;
        let element = self.get(slot).to_vec();
        self.remove(slot, slot, 1);
        Some(element)
    }

    /// Remove and return the last element. (No back-length: the walk to
    /// the last element is over one node, a few kilobytes at most.)
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let (slot, _) = self.slots().last()?;
        let element = self.get(slot).to_vec();
        self.remove(slot, slot, 1);
        Some(element)
    }

    /// Append an element.
    pub fn push(&mut self, element: &[u8]) {
        put_varint(&mut self.buf, element.len());
        self.buf.extend_from_slice(element);
        self.len += 1;
    }

    /// The elements in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            at: 0,
        }
    }

    /// The elements with their slots, in order.
    pub fn slots(&self) -> impl Iterator<Item = (Slot, &[u8])> {
        let mut at = 0;
        std::iter::from_fn(move || {
            let slot = self.slot_at(at)?;
            at = slot.end;
            Some((slot, &self.buf[slot.data..slot.end]))
        })
    }

    fn slot_at(&self, start: usize) -> Option<Slot> {
        if start >= self.buf.len() {
            return None;
        }
        let (len, header) = get_varint(&self.buf[start..]);
        let data = start + header;
        Some(Slot {
            start,
            data,
            end: data + len,
        })
    }

    /// The element after `slot`, if any.
    pub fn next(&self, slot: Slot) -> Option<(Slot, &[u8])> {
        let next = self.slot_at(slot.end)?;
        Some((next, &self.buf[next.data..next.end]))
    }

    /// Replace the element at `slot` with `element`.
    pub fn replace(&mut self, slot: Slot, element: &[u8]) {
        let mut encoded = Vec::with_capacity(element.len() + 5);
        put_varint(&mut encoded, element.len());
        encoded.extend_from_slice(element);
        self.buf.splice(slot.start..slot.end, encoded);
    }

    /// Remove the elements from `first` through `last` (inclusive), which
    /// must be `count` elements.
    pub fn remove(&mut self, first: Slot, last: Slot, count: usize) {
        self.buf.drain(first.start..last.end);
        self.len -= count;
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 4 {
            self.buf.shrink_to_fit();
        }
    }
}

/// The elements of a [`Listpack`], in order.
pub struct Iter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.buf.len() {
            return None;
        }
        let (len, header) = get_varint(&self.buf[self.at..]);
        let data = self.at + header;
        self.at = data + len;
        Some(&self.buf[data..data + len])
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
}

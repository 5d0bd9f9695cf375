//! [`List`]: a list value as Redis 7.0's quicklist stores it: a deque of
//! [`Listpack`] nodes, each holding a run of elements back to back.
//!
//! Pushing and popping at either end touches one small node: O(1). Finding
//! element *i* walks the nodes by their lengths, then one node: O(n / node
//! size), which is what LINDEX, LSET and LRANGE cost in Redis. A node is
//! full at `list-max-listpack-size` (-2, Redis's default: 8 kb of
//! elements; a positive value counts elements instead); a new node starts
//! then. `list-compress-depth` is accepted but nodes are not compressed.
//! OBJECT ENCODING answers `quicklist`, as Redis 7.0 does for every list.

use std::collections::VecDeque;
use std::fmt;

use super::listpack::Listpack;

/// How full a node may get (`list-max-listpack-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeLimit {
    Bytes(usize),
    Entries(usize),
}

impl NodeLimit {
    /// Redis's reading of `list-max-listpack-size`: -1..-5 are 4, 8, 16,
    /// 32 and 64 kb (smaller values count as -5), a positive value is a
    /// number of elements, 0 counts as 1.
    pub fn from_config(value: i64) -> NodeLimit {
        if value < 0 {
            let step = (-value).min(5) as u32;
            NodeLimit::Bytes(4096 << (step - 1))
        } else {
            NodeLimit::Entries(value.max(1) as usize)
        }
    }

    fn has_room(self, node: &Listpack, element: usize) -> bool {
        if node.is_empty() {
            return true;
        }
        match self {
            NodeLimit::Bytes(max) => node.bytes() + element + 5 <= max,
            NodeLimit::Entries(max) => node.len() < max,
        }
    }
}

impl Default for NodeLimit {
    fn default() -> NodeLimit {
        NodeLimit::from_config(-2)
    }
}

/// A list value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct List {
    nodes: VecDeque<Listpack>,
    len: usize,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// Number of listpack nodes (OBJECT ENCODING, memory accounting).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The deque's capacity in nodes (memory accounting).
    pub fn deque_capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Each node's buffer capacity in bytes, front to back.
    pub fn node_capacities(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().map(Listpack::capacity)
    }

    /// Built from `elements` in order, nodes filled to `limit`.
    pub fn from_elements<'a>(
        elements: impl IntoIterator<Item = &'a [u8]>,
        limit: NodeLimit,
    ) -> List {
        let mut list = List::new();
        for e in elements {
            list.push_back(e, limit);
        }
        list
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_back(&mut self, element: &[u8], limit: NodeLimit) {
        match self.nodes.back_mut() {
            Some(node) if limit.has_room(node, element.len()) => node.push(element),
            _ => {
                let mut node = Listpack::new();
                node.push(element);
                self.nodes.push_back(node);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, element: &[u8], limit: NodeLimit) {
        match self.nodes.front_mut() {
            Some(node) if limit.has_room(node, element.len()) => node.push_front(element),
            _ => {
                let mut node = Listpack::new();
                node.push(element);
                self.nodes.push_front(node);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let element = node.pop_front()?;
        if node.is_empty() {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(element)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let element = node.pop_back()?;
        if node.is_empty() {
            self.nodes.pop_back();
        }
        self.len -= 1;
        Some(element)
    }

    /// The node holding element `index` and the index inside it.
    fn locate(&self, mut index: usize) -> Option<(usize, usize)> {
        for (n, node) in self.nodes.iter().enumerate() {
            if index < node.len() {
                return Some((n, index));
            }
            index -= node.len();
        }
        None
    }

    /// Element `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (n, i) = self.locate(index)?;
        let node = &self.nodes[n];
        node.nth_slot(i).map(|slot| node.get(slot))
    }

    /// Replace element `index`; false if out of range.
    pub fn set(&mut self, index: usize, element: &[u8]) -> bool {
        let Some((n, i)) = self.locate(index) else {
            return false;
        };
        let node = &mut self.nodes[n];
        match node.nth_slot(i) {
            Some(slot) => {
                node.replace(slot, element);
                true
            }
            None => false,
        }
    }

    /// Every element, head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        Elements {
            list: self,
            front: (0, Vec::new()),
            back: (self.nodes.len(), Vec::new()),
            remaining: self.len,
        }
    }

    /// Elements `start..=end` (already clamped to the list): whole nodes
    /// before `start` are skipped by their lengths, then the elements are
    /// read in place.
    pub fn range(&self, start: usize, end: usize) -> Vec<&[u8]> {
        if start > end || start >= self.len {
            return Vec::new();
        }
        let want = end.min(self.len - 1) - start + 1;
        let mut out = Vec::with_capacity(want);
        let mut skip = start;
        for node in &self.nodes {
            if skip >= node.len() {
                skip -= node.len();
                continue;
            }
            for e in node.iter().skip(skip) {
                if out.len() == want {
                    return out;
                }
                out.push(e);
            }
            skip = 0;
        }
        out
    }
}

/// A list's elements in either direction: one node at a time is decoded
/// into slices (a node is a few kilobytes).
struct Elements<'a> {
    list: &'a List,
    /// The next node to decode from the front, and the decoded rest of the
    /// current front node, reversed (so `pop` yields the next element).
    front: (usize, Vec<&'a [u8]>),
    /// One past the next node to decode from the back, and the decoded
    /// rest of the current back node, in order.
    back: (usize, Vec<&'a [u8]>),
    remaining: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        if self.front.1.is_empty() {
            if self.front.0 < self.back.0 {
                let node = &self.list.nodes[self.front.0];
                self.front.0 += 1;
                self.front.1 = node.iter().rev_collect();
            } else {
                // Only the back's partly consumed node is left.
                self.remaining -= 1;
                return Some(self.back.1.remove(0));
            }
        }
        self.remaining -= 1;
        self.front.1.pop()
    }
}

impl DoubleEndedIterator for Elements<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        if self.back.1.is_empty() {
            if self.back.0 > self.front.0 {
                self.back.0 -= 1;
                self.back.1 = self.list.nodes[self.back.0].iter().collect();
            } else {
                self.remaining -= 1;
                return Some(self.front.1.remove(0));
            }
        }
        self.remaining -= 1;
        self.back.1.pop()
    }
}

/// Collect an iterator reversed.
trait RevCollect<'a> {
    fn rev_collect(self) -> Vec<&'a [u8]>;
}

impl<'a, I: Iterator<Item = &'a [u8]>> RevCollect<'a> for I {
    fn rev_collect(self) -> Vec<&'a [u8]> {
        let mut v: Vec<&'a [u8]> = self.collect();
        v.reverse();
        v
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &List) -> Vec<String> {
        list.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[test]
    fn both_ends_index_and_iteration_across_nodes() {
        let limit = NodeLimit::Entries(3);
        let mut list = List::new();
        for i in 0..10 {
            list.push_back(format!("b{i}").as_bytes(), limit);
            list.push_front(format!("f{i}").as_bytes(), limit);
        }
        assert_eq!(list.len(), 20);
        assert!(list.nodes.len() >= 7, "small nodes");
        assert_eq!(list.get(0), Some(&b"f9"[..]));
        assert_eq!(list.get(19), Some(&b"b9"[..]));
        assert_eq!(list.get(20), None);
        let forward = words(&list);
        let mut backward: Vec<String> = list
            .iter()
            .rev()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert!(list.set(10, b"mid"));
        assert_eq!(list.get(10), Some(&b"mid"[..]));
        assert_eq!(list.range(9, 11).len(), 3);
        assert_eq!(list.pop_front(), Some(b"f9".to_vec()));
        assert_eq!(list.pop_back(), Some(b"b9".to_vec()));
        while list.pop_back().is_some() {}
        assert!(list.is_empty() && list.nodes.is_empty());
        // Mixed directions meet in the middle without losing an element.
        let list = List::from_elements([&b"a"[..], b"b", b"c", b"d", b"e"], limit);
        let mut it = list.iter();
        assert_eq!(it.next(), Some(&b"a"[..]));
        assert_eq!(it.next_back(), Some(&b"e"[..]));
        assert_eq!(it.next_back(), Some(&b"d"[..]));
        assert_eq!(it.next(), Some(&b"b"[..]));
        assert_eq!(it.next(), Some(&b"c"[..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
    }

    #[test]
    fn node_limits_follow_redis() {
        assert_eq!(NodeLimit::from_config(-1), NodeLimit::Bytes(4096));
        assert_eq!(NodeLimit::from_config(-2), NodeLimit::Bytes(8192));
        assert_eq!(NodeLimit::from_config(-9), NodeLimit::Bytes(65536));
        assert_eq!(NodeLimit::from_config(0), NodeLimit::Entries(1));
        let mut list = List::new();
        for _ in 0..100 {
            list.push_back(&[b'x'; 200], NodeLimit::Bytes(8192));
        }
        assert!(list.nodes.iter().all(|n| n.bytes() <= 8192));
        assert!(list.nodes.len() >= 3);
    }
}

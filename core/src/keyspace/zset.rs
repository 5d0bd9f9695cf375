//! [`ZSet`]: a sorted set, members ordered by (score, member), compact
//! while small (Redis's `t_zset.c` encodings).
//!
//! Small sorted sets (at most `zset-max-listpack-entries` members of at
//! most `zset-max-listpack-value` bytes) are a sorted vector, as Redis's
//! listpack keeps them: searched by bisection, shifted on insert. Larger
//! ones are Redis's pair: a dictionary member → score for ZSCORE in O(1),
//! and an ordered structure that answers rank and "the i-th element" in
//! O(log n). Redis uses a skiplist with spans; here it is a treap (a
//! binary search tree kept balanced by random priorities) whose nodes
//! count their subtree, which gives the same O(log n) rank and select
//! with plain owned boxes. The priorities are a hash of the member, not a
//! random draw, so the same commands build the same tree natively and in
//! WebAssembly.

use std::cmp::Ordering;
use std::fmt;

use crate::dict::Dict;
use crate::hash::fnv1a32;

/// `(score, member)` order: scores first, then the member's bytes (Redis
/// compares equal scores with `sdscmp`, a byte-wise comparison).
pub fn cmp_entry(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1))
}

struct Node {
    score: f64,
    member: Box<[u8]>,
    priority: u32,
    /// Elements in this subtree, itself included.
    size: usize,
    left: Tree,
    right: Tree,
}

type Tree = Option<Box<Node>>;

fn size(t: &Tree) -> usize {
    t.as_ref().map_or(0, |n| n.size)
}

fn fix(n: &mut Node) {
    n.size = 1 + size(&n.left) + size(&n.right);
}

/// Split `t` into the elements for which `before` holds (a prefix of the
/// order) and the rest.
fn split(t: Tree, before: &dyn Fn(f64, &[u8]) -> bool) -> (Tree, Tree) {
    let Some(mut n) = t else {
        return (None, None);
    };
    if before(n.score, &n.member) {
        let (l, r) = split(n.right.take(), before);
        n.right = l;
        fix(&mut n);
        (Some(n), r)
    } else {
        let (l, r) = split(n.left.take(), before);
        n.left = r;
        fix(&mut n);
        (l, Some(n))
    }
}

/// Join two trees, every element of `a` before every element of `b`.
fn merge(a: Tree, b: Tree) -> Tree {
    match (a, b) {
        (None, t) | (t, None) => t,
        (Some(mut a), Some(mut b)) => {
            if a.priority >= b.priority {
                a.right = merge(a.right.take(), Some(b));
                fix(&mut a);
                Some(a)
            } else {
                b.left = merge(Some(a), b.left.take());
                fix(&mut b);
                Some(b)
            }
        }
    }
}

/// The ordered half of a large sorted set.
#[derive(Default)]
struct Treap {
    root: Tree,
}

impl Treap {
    fn insert(&mut self, score: f64, member: &[u8]) {
        let key = (score, member);
        let (l, r) = split(self.root.take(), &|s, m| {
            cmp_entry((s, m), key) == Ordering::Less
        });
        let node = Box::new(Node {
            score,
            member: member.into(),
            priority: fnv1a32(member),
            size: 1,
            left: None,
            right: None,
        });
        self.root = merge(merge(l, Some(node)), r);
    }

    fn remove(&mut self, score: f64, member: &[u8]) {
        let key = (score, member);
        let (l, r) = split(self.root.take(), &|s, m| {
            cmp_entry((s, m), key) == Ordering::Less
        });
        let (_, r) = split(r, &|s, m| cmp_entry((s, m), key) != Ordering::Greater);
        self.root = merge(l, r);
    }

    /// How many elements satisfy `before` (a prefix of the order).
    fn count(&self, before: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        let (mut t, mut n) = (&self.root, 0);
        while let Some(node) = t {
            if before(node.score, &node.member) {
                n += size(&node.left) + 1;
                t = &node.right;
            } else {
                t = &node.left;
            }
        }
        n
    }

    /// Elements `from..to` in order.
    fn range(&self, from: usize, to: usize, out: &mut Vec<(f64, Box<[u8]>)>) {
        fn walk(t: &Tree, from: usize, to: usize, base: usize, out: &mut Vec<(f64, Box<[u8]>)>) {
            let Some(n) = t else {
                return;
            };
            let here = base + size(&n.left);
            if from < here {
                walk(&n.left, from, to, base, out);
            }
            if from <= here && here < to {
                out.push((n.score, n.member.clone()));
            }
            if here + 1 < to {
                walk(&n.right, from, to, here + 1, out);
            }
        }
        walk(&self.root, from, to, 0, out);
    }
}

/// A sorted set in one of its two encodings.
pub enum ZSet {
    /// Sorted by (score, member).
    Listpack(Vec<(f64, Box<[u8]>)>),
    Skiplist(Box<Large>),
}

/// The large encoding: member → score, and the order.
pub struct Large {
    dict: Dict<f64>,
    order: Treap,
}

impl Large {
    /// Member → score (memory accounting samples it).
    pub fn dict(&self) -> &Dict<f64> {
        &self.dict
    }
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::Listpack(Vec::new())
    }
}

impl ZSet {
    /// OBJECT ENCODING's name (Redis calls the large one `skiplist`).
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(v) => v.len(),
            ZSet::Skiplist(l) => l.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(v) => v.iter().find(|(_, m)| &m[..] == member).map(|(s, _)| *s),
            ZSet::Skiplist(l) => l.dict.get(member).copied(),
        }
    }

    /// Add `member` with `score`, or move it to `score`. Converts to the
    /// large encoding past `max_entries` members or a member longer than
    /// `max_value` bytes.
    pub fn insert(&mut self, score: f64, member: &[u8], max_entries: usize, max_value: usize) {
        if let Some(old) = self.score(member) {
            // `==`, as Redis compares: 0 and -0 are the same score.
            if old == score {
                return;
            }
            self.remove(member);
        }
        if let ZSet::Listpack(v) = self {
            if v.len() + 1 > max_entries || member.len() > max_value {
                self.convert();
            }
        }
        match self {
            ZSet::Listpack(v) => {
                // A listpack holds the score as its shortest text, and
                // redis-server 7.0 reads a -0 back from it as 0 (checked
                // against it: `ZADD z -0 a; ZSCORE z a` is "0").
                let score = score + 0.0;
                let at = v.partition_point(|(s, m)| {
                    cmp_entry((*s, m), (score, member)) == Ordering::Less
                });
                v.insert(at, (score, member.into()));
            }
            ZSet::Skiplist(l) => {
                l.dict.insert(member, score);
                l.order.insert(score, member);
            }
        }
    }

    /// Remove `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Listpack(v) => match v.iter().position(|(_, m)| &m[..] == member) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(l) => match l.dict.remove(member) {
                Some(score) => {
                    l.order.remove(score, member);
                    true
                }
                None => false,
            },
        }
    }

    /// How many elements come before the first one for which `before`
    /// fails (`before` must hold on a prefix of the order): the rank of a
    /// score or lex bound.
    pub fn count_before(&self, before: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(v) => v.partition_point(|(s, m)| before(*s, m)),
            ZSet::Skiplist(l) => l.order.count(before),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.count_before(&|s, m| cmp_entry((s, m), (score, member)) == Ordering::Less))
    }

    /// Elements `from..to` (ranks, ascending), with their scores.
    pub fn range(&self, from: usize, to: usize) -> Vec<(f64, Box<[u8]>)> {
        let to = to.min(self.len());
        if from >= to {
            return Vec::new();
        }
        match self {
            ZSet::Listpack(v) => v[from..to].to_vec(),
            ZSet::Skiplist(l) => {
                let mut out = Vec::with_capacity(to - from);
                l.order.range(from, to, &mut out);
                out
            }
        }
    }

    /// Every element, ascending.
    pub fn all(&self) -> Vec<(f64, Box<[u8]>)> {
        self.range(0, self.len())
    }

    fn convert(&mut self) {
        if let ZSet::Listpack(v) = self {
            let mut large = Large {
                dict: Dict::new(),
                order: Treap::default(),
            };
            for (s, m) in v.iter() {
                large.dict.insert(m, *s);
                large.order.insert(*s, m);
            }
            *self = ZSet::Skiplist(Box::new(large));
        }
    }

    /// A sorted set of `elements` in the encoding Redis would pick for it
    /// (the STORE commands build their result this way).
    pub fn from_elements(
        elements: &[(f64, Box<[u8]>)],
        max_entries: usize,
        max_value: usize,
    ) -> ZSet {
        let mut z = ZSet::default();
        let longest = elements.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
        if elements.len() > max_entries || longest > max_value {
            z.convert();
        }
        for (s, m) in elements {
            z.insert(*s, m, usize::MAX, usize::MAX);
        }
        z
    }

    /// The large encoding's dictionary, for ZSCAN's cursor.
    pub fn dict(&self) -> Option<&Dict<f64>> {
        match self {
            ZSet::Skiplist(l) => Some(&l.dict),
            ZSet::Listpack(_) => None,
        }
    }
}

impl Clone for ZSet {
    fn clone(&self) -> ZSet {
        match self {
            ZSet::Listpack(v) => ZSet::Listpack(v.clone()),
            ZSet::Skiplist(_) => ZSet::from_elements(&self.all(), 0, 0),
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.all() == other.all()
    }
}

impl Eq for ZSet {}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.all()
                    .iter()
                    .map(|(s, m)| (s, String::from_utf8_lossy(m))),
            )
            .finish()
    }
}

/// A double as Redis 7.0 prints a score (`%.17g`; `inf`, `-inf`).
pub fn format_score(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // 17 significant digits, correctly rounded: d.dddddddddddddddde±x.
    let sci = format!("{:.16e}", d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..17).contains(&exp) {
        let (int, frac) = if exp >= 0 {
            let cut = exp as usize + 1;
            (digits[..cut].to_string(), digits[cut..].to_string())
        } else {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-exp - 1) as usize), digits),
            )
        };
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = rest.trim_end_matches('0');
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_as_redis_7_0_prints_them() {
        for (d, s) in [
            (1.1, "1.1000000000000001"),
            (1.0, "1"),
            (0.5, "0.5"),
            (-2.5, "-2.5"),
            (1e20, "1e+20"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (10.0, "10"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (3.0e-300, "3.0000000000000002e-300"),
        ] {
            assert_eq!(format_score(d), s, "{d}");
        }
    }

    #[test]
    fn both_encodings_agree_on_order_rank_and_ranges() {
        let mut small = ZSet::default();
        let mut large = ZSet::default();
        for i in 0..200u32 {
            let member = format!("m{}", (i * 37) % 200);
            let score = f64::from((i * 13) % 50);
            small.insert(score, member.as_bytes(), usize::MAX, usize::MAX);
            large.insert(score, member.as_bytes(), 4, usize::MAX);
        }
        assert_eq!(small.encoding(), "listpack");
        assert_eq!(large.encoding(), "skiplist");
        assert_eq!(small.all(), large.all());
        for m in ["m0", "m17", "m199"] {
            assert_eq!(small.rank(m.as_bytes()), large.rank(m.as_bytes()));
        }
        assert_eq!(small.range(10, 20), large.range(10, 20));
        let below_7 = |s: f64, _: &[u8]| s < 7.0;
        assert_eq!(small.count_before(&below_7), large.count_before(&below_7));
        for i in 0..100u32 {
            let member = format!("m{}", i * 2);
            assert_eq!(
                small.remove(member.as_bytes()),
                large.remove(member.as_bytes())
            );
        }
        assert_eq!(small.all(), large.all());
        assert_eq!(large.len(), 100);
        large.insert(-1.0, b"m1", 4, usize::MAX);
        assert_eq!(large.rank(b"m1"), Some(0));
        assert_eq!(large.score(b"m1"), Some(-1.0));
    }
}

//! [`Set`]: a set value, compact while it holds only integers (Redis 7.0's
//! `t_set.c` encodings).
//!
//! A set whose members are all integers (in canonical form: `12`, not
//! `012` or `+12`) is an *intset*: a sorted array of `i64`, 8 bytes a
//! member, searched by bisection; SMEMBERS lists it in ascending order, as
//! Redis does. The first member that is not such an integer, or growing
//! past `set-max-intset-entries`, turns it into a [`Dict`] (`hashtable`),
//! for good. (Redis 7.0 has no listpack sets; 7.2 added them.)

use std::borrow::Cow;
use std::fmt;

use super::hash::Limits;
use crate::cmd::parse_i64;
use crate::dict::Dict;
use crate::rng::Rng;

/// A set value in one of its two encodings.
pub enum Set {
    Intset(Vec<i64>),
    Table(Dict<()>),
}

impl Set {
    /// An empty set of the encoding Redis picks for a set whose first
    /// member is `first` (`setTypeCreate`).
    pub fn for_member(first: &[u8]) -> Set {
        match parse_i64(first) {
            Some(_) => Set::Intset(Vec::new()),
            None => Set::Table(Dict::new()),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Table(d) => d.contains_key(member),
        }
    }

    /// Add `member`; true if it is new.
    pub fn add(&mut self, member: &[u8], limits: &Limits) -> bool {
        if let Set::Intset(v) = self {
            match parse_i64(member) {
                Some(n) => {
                    let Err(at) = v.binary_search(&n) else {
                        return false;
                    };
                    // Compact like Redis's intset (reallocated to size on
                    // every insert): grow by an eighth, not by doubling.
                    if v.len() == v.capacity() {
                        v.reserve_exact((v.len() / 8).max(1));
                    }
                    v.insert(at, n);
                    if v.len() > limits.set_intset_entries {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        match self {
            Set::Table(d) => d.insert(member, ()).is_none(),
            Set::Intset(_) => unreachable!("converted above"),
        }
    }

    /// Remove `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Set::Table(d) => d.remove(member).is_some(),
        }
    }

    /// Every member: ascending for an intset, the table's deterministic
    /// order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'_, [u8]>> + '_> {
        match self {
            Set::Intset(v) => Box::new(v.iter().map(|n| Cow::Owned(n.to_string().into_bytes()))),
            Set::Table(d) => Box::new(d.iter().map(|(m, _)| Cow::Borrowed(m))),
        }
    }

    /// A uniformly drawn member (SRANDMEMBER, SPOP).
    pub fn random(&self, rng: &Rng) -> Option<Cow<'_, [u8]>> {
        match self {
            Set::Intset(v) if v.is_empty() => None,
            Set::Intset(v) => {
                let n = v[rng.below(v.len() as u64) as usize];
                Some(Cow::Owned(n.to_string().into_bytes()))
            }
            Set::Table(d) => d.random_entry(rng).map(|(m, _)| Cow::Borrowed(m)),
        }
    }

    /// One step of SSCAN: an intset whole, a table bucket by bucket.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Intset(_) => {
                for m in self.iter() {
                    visit(&m);
                }
                0
            }
            Set::Table(d) => d.scan(cursor, |m, _| visit(m)),
        }
    }

    fn convert(&mut self) {
        if let Set::Intset(v) = self {
            let mut d = Dict::new();
            for n in v.iter() {
                d.insert(n.to_string().as_bytes(), ());
            }
            *self = Set::Table(d);
        }
    }
}

impl Clone for Set {
    fn clone(&self) -> Set {
        match self {
            Set::Intset(v) => Set::Intset(v.clone()),
            Set::Table(d) => {
                let mut copy = Dict::new();
                for (m, _) in d.iter() {
                    copy.insert(m, ());
                }
                Set::Table(copy)
            }
        }
    }
}

/// Equal when they hold the same members, whatever the encoding.
impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

impl Eq for Set {}

impl fmt::Debug for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m).into_owned()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_an_intset_until_a_string_or_the_limit() {
        let limits = Limits {
            set_intset_entries: 3,
            ..Limits::default()
        };
        let mut s = Set::for_member(b"10");
        assert!(s.add(b"10", &limits) && s.add(b"-2", &limits) && !s.add(b"10", &limits));
        assert_eq!(s.encoding(), "intset");
        let members: Vec<Vec<u8>> = s.iter().map(|m| m.into_owned()).collect();
        assert_eq!(members, [b"-2".to_vec(), b"10".to_vec()], "ascending");
        assert!(!s.contains(b"010"), "not canonical, so not the integer 10");
        assert!(s.add(b"010", &limits));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"10") && s.contains(b"010"));
        let mut big = Set::for_member(b"1");
        for i in 0..4 {
            big.add(i.to_string().as_bytes(), &limits);
        }
        assert_eq!(big.encoding(), "hashtable", "past 3 members");
        assert_eq!(Set::for_member(b"x").encoding(), "hashtable");
    }
}

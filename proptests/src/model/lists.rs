//! Lists (`t_list.c`): a `Vec` from left (head) to right.
//!
//! Redis checks things in a different order from one list command to the
//! next, and the order decides the reply to a bad command on a missing or
//! wrong-type key: LRANGE, LTRIM and LREM parse their integers before the
//! key is looked up, LINDEX and LSET after. Each arm below says which.

use bytes::Bytes;
use myongoredis_core::Frame;

use super::{arity, err, int, parse_num, Entry, Model, Value, NOT_INTEGER, WRONGTYPE};
use crate::command::{Command, Elem, End, Key, Num, Side};

/// A list's elements, left to right.
pub type List = Vec<Vec<u8>>;

/// `popGenericCommand`'s message for a count that is not a positive
/// integer (also for one that is not an integer at all).
pub(super) const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// The indexes `start..=stop` select, normalized as LRANGE, LTRIM and
/// ZRANGE do: negative counts from the end, the start is clamped to 0,
/// the stop to the last element; an empty range if start > stop or the
/// start is past the end.
pub(super) fn rank_range(len: usize, start: i64, stop: i64) -> std::ops::Range<usize> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return 0..0;
    }
    start as usize..(stop.min(len - 1) + 1) as usize
}

fn pop_end(list: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Left if !list.is_empty() => Some(list.remove(0)),
        End::Left => None,
        End::Right => list.pop(),
    }
}

fn push_end(list: &mut List, end: End, element: Vec<u8>) {
    match end {
        End::Left => list.insert(0, element),
        End::Right => list.push(element),
    }
}

fn array<'a>(items: impl IntoIterator<Item = &'a Vec<u8>>) -> Frame {
    Frame::Array(items.into_iter().map(|e| Frame::bulk(e)).collect())
}

impl Model {
    /// A lookup, then `checkType(c, o, OBJ_LIST)`.
    fn lookup_list(&mut self, key: &[u8]) -> Result<Option<&mut List>, Frame> {
        match self.lookup(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l)),
            Some(_) => Err(err(WRONGTYPE)),
        }
    }

    /// The list at `key`, which the caller has just made sure is one.
    fn list_mut(&mut self, key: &[u8]) -> &mut List {
        match self.lookup_list(key) {
            Ok(Some(list)) => list,
            _ => unreachable!("the caller checked that a list is at this key"),
        }
    }

    /// Delete the key if its list is now empty (Redis never keeps one).
    fn drop_if_empty(&mut self, key: &[u8]) {
        if matches!(self.lookup_list(key), Ok(Some(l)) if l.is_empty()) {
            self.entries.remove(key);
        }
    }

    /// A read of the list at `key`: `missing` if there is none,
    /// WRONGTYPE for another type.
    fn read_list(&mut self, key: Key, missing: Frame, f: impl FnOnce(&List) -> Frame) -> Frame {
        match self.lookup_list(key.bytes()) {
            Ok(Some(list)) => f(list),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    pub(super) fn list_command(&mut self, cmd: &Command) -> Frame {
        let name = || String::from_utf8_lossy(&cmd.args()[0]).to_ascii_lowercase();
        match cmd {
            Command::LPush(_, es)
            | Command::RPush(_, es)
            | Command::LPushX(_, es)
            | Command::RPushX(_, es)
                if es.is_empty() =>
            {
                arity(&name())
            }
            Command::LPush(k, es) => self.push(k.bytes(), es, End::Left, false),
            Command::RPush(k, es) => self.push(k.bytes(), es, End::Right, false),
            Command::LPushX(k, es) => self.push(k.bytes(), es, End::Left, true),
            Command::RPushX(k, es) => self.push(k.bytes(), es, End::Right, true),
            Command::LPop(k, count) => self.pop(k.bytes(), *count, End::Left),
            Command::RPop(k, count) => self.pop(k.bytes(), *count, End::Right),
            Command::LLen(k) => self.read_list(*k, int(0), |l| int(l.len() as i64)),
            // The indexes first, then the key.
            Command::LRange(k, start, stop) => {
                let (Some(start), Some(stop)) = (parse_num(*start), parse_num(*stop)) else {
                    return err(NOT_INTEGER);
                };
                self.read_list(*k, Frame::Array(Vec::new()), |l| {
                    array(&l[rank_range(l.len(), start, stop)])
                })
            }
            // The key first, then the index.
            Command::LIndex(k, index) => self.read_list(*k, Frame::Null, |l| {
                let Some(index) = parse_num(*index) else {
                    return err(NOT_INTEGER);
                };
                Frame::bulk_or_null(resolve(l.len(), index).map(|i| &l[i][..]))
            }),
            Command::LSet(k, index, e) => {
                let list = match self.lookup_list(k.bytes()) {
                    Ok(Some(list)) => list,
                    Ok(None) => return err("ERR no such key"),
                    Err(e) => return e,
                };
                let Some(index) = parse_num(*index) else {
                    return err(NOT_INTEGER);
                };
                match resolve(list.len(), index) {
                    Some(i) => {
                        list[i] = e.bytes().to_vec();
                        Frame::ok()
                    }
                    None => err("ERR index out of range"),
                }
            }
            Command::LRem(k, count, e) => self.lrem(k.bytes(), *count, *e),
            Command::LTrim(k, start, stop) => {
                let (Some(start), Some(stop)) = (parse_num(*start), parse_num(*stop)) else {
                    return err(NOT_INTEGER);
                };
                let list = match self.lookup_list(k.bytes()) {
                    Ok(Some(list)) => list,
                    Ok(None) => return Frame::ok(),
                    Err(e) => return e,
                };
                let keep = rank_range(list.len(), start, stop);
                *list = list[keep].to_vec();
                self.drop_if_empty(k.bytes());
                Frame::ok()
            }
            Command::LMove(src, dst, from, to) => self.lmove(src.bytes(), dst.bytes(), *from, *to),
            Command::RPopLPush(src, dst) => {
                self.lmove(src.bytes(), dst.bytes(), End::Right, End::Left)
            }
            Command::LInsert(k, side, pivot, e) => {
                let list = match self.lookup_list(k.bytes()) {
                    Ok(Some(list)) => list,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                // The first occurrence of the pivot, from the left.
                match list.iter().position(|x| x.as_slice() == pivot.bytes()) {
                    Some(i) => {
                        let at = if *side == Side::Before { i } else { i + 1 };
                        list.insert(at, e.bytes().to_vec());
                        int(list.len() as i64)
                    }
                    None => int(-1),
                }
            }
            _ => unreachable!("apply sends only list commands here"),
        }
    }

    /// `pushGenericCommand`: the elements go in one by one (LPUSH a b c
    /// leaves c b a); the X forms do nothing to a missing key.
    fn push(&mut self, key: &[u8], elements: &[Elem], end: End, only_existing: bool) -> Frame {
        match self.lookup_list(key) {
            Err(e) => return e,
            Ok(None) if only_existing => return int(0),
            Ok(None) => self.insert(key, Entry::persistent(Value::List(Vec::new()))),
            Ok(Some(_)) => {}
        }
        let list = self.list_mut(key);
        for e in elements {
            push_end(list, end, e.bytes().to_vec());
        }
        int(list.len() as i64)
    }

    /// `popGenericCommand`: the count is parsed first; a missing key is a
    /// nil, or with a count a nil *array*; a count of 0 is an empty array
    /// (after the type check); with a count, the reply is an array even
    /// for one element.
    fn pop(&mut self, key: &[u8], count: Option<Num>, end: End) -> Frame {
        let count = match count.map(parse_num) {
            None => None,
            Some(Some(n)) if n >= 0 => Some(n as usize),
            Some(_) => return err(NOT_POSITIVE),
        };
        let list = match self.lookup_list(key) {
            Ok(Some(list)) => list,
            Ok(None) if count.is_some() => return Frame::NullArray,
            Ok(None) => return Frame::Null,
            Err(e) => return e,
        };
        let reply = match count {
            None => Frame::bulk_or_null(pop_end(list, end).as_deref()),
            Some(n) => {
                let popped: Vec<Vec<u8>> = (0..n).map_while(|_| pop_end(list, end)).collect();
                array(&popped)
            }
        };
        self.drop_if_empty(key);
        reply
    }

    /// `lremCommand`: the count is parsed first; positive removes from the
    /// left, negative from the right, 0 every occurrence.
    fn lrem(&mut self, key: &[u8], count: Num, element: Elem) -> Frame {
        let Some(count) = parse_num(count) else {
            return err(NOT_INTEGER);
        };
        let list = match self.lookup_list(key) {
            Ok(Some(list)) => list,
            Ok(None) => return int(0),
            Err(e) => return e,
        };
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        let mut keep = |x: &Vec<u8>| {
            let remove = removed < limit && x.as_slice() == element.bytes();
            removed += usize::from(remove);
            !remove
        };
        if count < 0 {
            list.reverse();
            list.retain(&mut keep);
            list.reverse();
        } else {
            list.retain(&mut keep);
        }
        self.drop_if_empty(key);
        int(removed as i64)
    }

    /// `lmoveGenericCommand`: the source is looked up first (missing: nil,
    /// whatever the destination is), then the destination's type checked;
    /// the element is popped and pushed (to the same list, a rotation),
    /// then an emptied source deleted.
    fn lmove(&mut self, src: &[u8], dst: &[u8], from: End, to: End) -> Frame {
        match self.lookup_list(src) {
            Ok(Some(_)) => {}
            Ok(None) => return Frame::Null,
            Err(e) => return e,
        }
        if let Err(e) = self.lookup_list(dst) {
            return e;
        }
        let Some(value) = pop_end(self.list_mut(src), from) else {
            unreachable!("a stored list is never empty")
        };
        match self.lookup_list(dst) {
            Ok(Some(list)) => push_end(list, to, value.clone()),
            _ => self.insert(dst, Entry::persistent(Value::List(vec![value.clone()]))),
        }
        self.drop_if_empty(src);
        Frame::Bulk(Bytes::from(value))
    }
}

/// LINDEX's and LSET's index: negative counts from the end; `None` if
/// outside the list.
fn resolve(len: usize, index: i64) -> Option<usize> {
    let index = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

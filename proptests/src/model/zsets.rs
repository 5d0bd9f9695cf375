//! Sorted sets (`t_zset.c`): members with scores, ordered by score, ties
//! broken by member bytes (`memcmp`), as Redis's listpack and skiplist
//! order them.
//!
//! Scores are `f64`, printed as Redis 7.0 prints them ([`format_score`]).
//! Two parsers, because Redis has two: a score (ZADD, ZINCRBY) goes through
//! `string2d`, strict; a range bound (ZRANGEBYSCORE, ZCOUNT,
//! ZREMRANGEBYSCORE) through plain `strtod`, which reads `""` as 0 and
//! `1e400` as infinity.

use std::collections::BTreeMap;

use bytes::Bytes;
use myongoredis_core::Frame;

use super::lists::{rank_range, NOT_POSITIVE};
use super::{arity, err, int, parse_num, Entry, Model, Value, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::command::{Bound, Command, Key, Member, Num, Score, ZAddOpt};

/// A sorted set: each member's score. Never holds NaN.
#[derive(Clone, Debug, Default)]
pub struct SortedSet(BTreeMap<Vec<u8>, f64>);

/// Scores compare by their bits: the model must not confuse `-0` with `0`
/// when comparing two states.
impl PartialEq for SortedSet {
    fn eq(&self, other: &SortedSet) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.to_bits() == y.to_bits())
    }
}

impl Eq for SortedSet {}

impl SortedSet {
    /// Members in Redis's order: by score (`-0 == 0`), then by bytes.
    fn ordered(&self) -> Vec<(&Vec<u8>, f64)> {
        let mut items: Vec<(&Vec<u8>, f64)> = self.0.iter().map(|(m, &s)| (m, s)).collect();
        items.sort_by(|a, b| a.1.partial_cmp(&b.1).expect("no NaN").then(a.0.cmp(b.0)));
        items
    }

    /// Store a score. Redis 7.0 stores a zero score as `0`, even `-0`
    /// (which ZADD INCR still *replies* as `-0`); `-0.0 + 0.0` is `0.0`.
    fn set(&mut self, member: &[u8], score: f64) {
        self.0.insert(member.to_vec(), score + 0.0);
    }
}

/// Redis 7.0's `addReplyDouble`: `inf` and `-inf`, otherwise `%.17g`
/// (`1.1` -> `1.1000000000000001`, `1e20` -> `1e+20`).
pub fn format_score(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // 17 significant digits, correctly rounded, and the exponent after
    // rounding: what %g decides the style by.
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let strip = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mantissa), exp.abs())
    } else {
        strip(&format!("{d:.*}", (16 - exp) as usize))
    }
}

fn score_reply(d: f64) -> Frame {
    Frame::Bulk(Bytes::from(format_score(d)))
}

/// Redis's `string2d`: the whole string, no leading space, no NaN, no
/// overflow to infinity (an explicit `inf` is fine).
fn parse_score(s: Score) -> Option<f64> {
    let text = std::str::from_utf8(s.bytes()).ok()?;
    if text.is_empty() || text.starts_with(char::is_whitespace) {
        return None;
    }
    let d: f64 = text.parse().ok()?;
    let overflow = d.is_infinite() && !text.to_ascii_lowercase().contains("inf");
    (!d.is_nan() && !overflow).then_some(d)
}

/// `zslParseRange`'s reading of one bound: `(` makes it exclusive, the
/// rest goes to `strtod`, which skips leading spaces, reads `""` as 0 and
/// overflows to infinity; only trailing garbage and NaN are refused.
fn parse_bound(b: Bound) -> Option<(f64, bool)> {
    let text = std::str::from_utf8(b.score.bytes()).ok()?;
    let d = if text.is_empty() {
        0.0
    } else {
        text.trim_start().parse::<f64>().ok()?
    };
    (!d.is_nan()).then_some((d, b.exclusive))
}

/// Both bounds, or ZRANGEBYSCORE's, ZCOUNT's and ZREMRANGEBYSCORE's error.
fn parse_range(min: Bound, max: Bound) -> Result<impl Fn(f64) -> bool, Frame> {
    let (Some((min, minex)), Some((max, maxex))) = (parse_bound(min), parse_bound(max)) else {
        return Err(err("ERR min or max is not a float"));
    };
    Ok(move |s: f64| {
        (if minex { s > min } else { s >= min }) && (if maxex { s < max } else { s <= max })
    })
}

/// A flat RESP2 array of members, with their scores if asked.
fn members_reply(items: &[(&Vec<u8>, f64)], withscores: bool) -> Frame {
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(Frame::bulk(m));
        if withscores {
            out.push(score_reply(*s));
        }
    }
    Frame::Array(out)
}

impl Model {
    /// A lookup, then `checkType(c, o, OBJ_ZSET)`.
    fn lookup_zset(&mut self, key: &[u8]) -> Result<Option<&mut SortedSet>, Frame> {
        match self.lookup(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::ZSet(z)) => Ok(Some(z)),
            Some(_) => Err(err(WRONGTYPE)),
        }
    }

    /// A read of the sorted set at `key`: `missing` if there is none,
    /// WRONGTYPE for another type.
    fn read_zset(
        &mut self,
        key: Key,
        missing: Frame,
        f: impl FnOnce(&SortedSet) -> Frame,
    ) -> Frame {
        match self.lookup_zset(key.bytes()) {
            Ok(Some(z)) => f(z),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    fn drop_zset_if_empty(&mut self, key: &[u8]) {
        if matches!(self.lookup_zset(key), Ok(Some(z)) if z.0.is_empty()) {
            self.entries.remove(key);
        }
    }

    pub(super) fn zset_command(&mut self, cmd: &Command) -> Frame {
        match cmd {
            Command::ZAdd(k, opts, pairs) => self.zadd(k.bytes(), opts, pairs),
            // `zaddGenericCommand` with INCR.
            Command::ZIncrBy(k, s, m) => self.zadd(k.bytes(), &[ZAddOpt::Incr], &[(*s, *m)]),
            Command::ZRem(_, members) if members.is_empty() => arity("zrem"),
            Command::ZRem(k, members) => {
                let z = match self.lookup_zset(k.bytes()) {
                    Ok(Some(z)) => z,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                let removed = members.iter().filter(|m| z.0.remove(m.bytes()).is_some());
                let removed = removed.count();
                self.drop_zset_if_empty(k.bytes());
                int(removed as i64)
            }
            Command::ZCard(k) => self.read_zset(*k, int(0), |z| int(z.0.len() as i64)),
            Command::ZScore(k, m) => self.read_zset(*k, Frame::Null, |z| {
                z.0.get(m.bytes()).map_or(Frame::Null, |&s| score_reply(s))
            }),
            Command::ZRank(k, m) => self.rank(*k, *m, false),
            Command::ZRevRank(k, m) => self.rank(*k, *m, true),
            // The indexes are parsed before the key is looked up.
            Command::ZRange(k, start, stop, withscores) => {
                let (Some(start), Some(stop)) = (parse_num(*start), parse_num(*stop)) else {
                    return err(NOT_INTEGER);
                };
                self.read_zset(*k, Frame::Array(Vec::new()), |z| {
                    let items = z.ordered();
                    members_reply(&items[rank_range(items.len(), start, stop)], *withscores)
                })
            }
            Command::ZRangeByScore(k, min, max, withscores, limit) => {
                self.zrangebyscore(*k, *min, *max, *withscores, *limit)
            }
            Command::ZCount(k, min, max) => {
                let in_range = match parse_range(*min, *max) {
                    Ok(f) => f,
                    Err(e) => return e,
                };
                self.read_zset(*k, int(0), |z| {
                    int(z.0.values().filter(|&&s| in_range(s)).count() as i64)
                })
            }
            Command::ZPopMin(k, count) => self.zpop(k.bytes(), *count, false),
            Command::ZPopMax(k, count) => self.zpop(k.bytes(), *count, true),
            Command::ZRemRangeByScore(k, min, max) => {
                let in_range = match parse_range(*min, *max) {
                    Ok(f) => f,
                    Err(e) => return e,
                };
                let z = match self.lookup_zset(k.bytes()) {
                    Ok(Some(z)) => z,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                let before = z.0.len();
                z.0.retain(|_, s| !in_range(*s));
                let removed = before - z.0.len();
                self.drop_zset_if_empty(k.bytes());
                int(removed as i64)
            }
            _ => unreachable!("apply sends only sorted set commands here"),
        }
    }

    /// `zaddGenericCommand`, checks in its order: arity, the pairs' count,
    /// incompatible options, every score, then the key (created unless
    /// XX), then each pair (`zsetAdd`).
    fn zadd(&mut self, key: &[u8], opts: &[ZAddOpt], pairs: &[(Score, Member)]) -> Frame {
        if opts.len() + 2 * pairs.len() < 2 {
            return arity("zadd");
        }
        if pairs.is_empty() {
            return err(SYNTAX);
        }
        let has = |o: ZAddOpt| opts.contains(&o);
        let (nx, xx, gt, lt) = (
            has(ZAddOpt::Nx),
            has(ZAddOpt::Xx),
            has(ZAddOpt::Gt),
            has(ZAddOpt::Lt),
        );
        let (ch, incr) = (has(ZAddOpt::Ch), has(ZAddOpt::Incr));
        if nx && xx {
            return err("ERR XX and NX options at the same time are not compatible");
        }
        if (gt || lt) && nx || gt && lt {
            return err("ERR GT, LT, and/or NX options at the same time are not compatible");
        }
        if incr && pairs.len() > 1 {
            return err("ERR INCR option supports a single increment-element pair");
        }
        let mut scores = Vec::new();
        for (s, _) in pairs {
            match parse_score(*s) {
                Some(d) => scores.push(d),
                None => return err("ERR value is not a valid float"),
            }
        }
        match self.lookup_zset(key) {
            Err(e) => return e,
            Ok(Some(_)) => {}
            // No key and XX: nothing to do.
            Ok(None) if xx => return if incr { Frame::Null } else { int(0) },
            Ok(None) => self.insert(key, Entry::persistent(Value::ZSet(SortedSet::default()))),
        }
        let Ok(Some(z)) = self.lookup_zset(key) else {
            unreachable!("a sorted set is at this key")
        };
        let (mut added, mut updated, mut processed) = (0, 0, 0);
        let mut last = 0.0;
        for ((_, m), mut score) in pairs.iter().zip(scores) {
            let member = m.bytes();
            match z.0.get(member).copied() {
                Some(_) if nx => continue,
                Some(current) => {
                    if incr {
                        score += current;
                        if score.is_nan() {
                            return err("ERR resulting score is not a number (NaN)");
                        }
                    }
                    if (lt && score >= current) || (gt && score <= current) {
                        continue;
                    }
                    if score != current {
                        z.set(member, score);
                        updated += 1;
                    }
                }
                None if xx => continue,
                None => {
                    z.set(member, score);
                    added += 1;
                }
            }
            processed += 1;
            last = score;
        }
        if incr {
            if processed > 0 {
                score_reply(last)
            } else {
                Frame::Null
            }
        } else {
            int(if ch { added + updated } else { added })
        }
    }

    /// ZRANK and ZREVRANK: nil for a missing key or member.
    fn rank(&mut self, key: Key, member: Member, reverse: bool) -> Frame {
        self.read_zset(key, Frame::Null, |z| {
            let items = z.ordered();
            match items
                .iter()
                .position(|(m, _)| m.as_slice() == member.bytes())
            {
                Some(i) if reverse => int((items.len() - 1 - i) as i64),
                Some(i) => int(i as i64),
                None => Frame::Null,
            }
        })
    }

    /// `zrangeGenericCommand` by score: LIMIT's integers first, then the
    /// range, then the key. An offset skips that many matches (a negative
    /// one skips them all, as the C loop `while (offset--)` does); a
    /// negative count means all.
    fn zrangebyscore(
        &mut self,
        key: Key,
        min: Bound,
        max: Bound,
        withscores: bool,
        limit: Option<(Num, Num)>,
    ) -> Frame {
        let (offset, count) = match limit {
            None => (0, -1),
            Some((o, c)) => match (parse_num(o), parse_num(c)) {
                (Some(o), Some(c)) => (o, c),
                _ => return err(NOT_INTEGER),
            },
        };
        let in_range = match parse_range(min, max) {
            Ok(f) => f,
            Err(e) => return e,
        };
        self.read_zset(key, Frame::Array(Vec::new()), |z| {
            if offset < 0 {
                return Frame::Array(Vec::new());
            }
            let items: Vec<_> = z
                .ordered()
                .into_iter()
                .filter(|(_, s)| in_range(*s))
                .skip(offset as usize)
                .take(if count < 0 {
                    usize::MAX
                } else {
                    count as usize
                })
                .collect();
            members_reply(&items, withscores)
        })
    }

    /// ZPOPMIN and ZPOPMAX: the count is parsed first (any bad one is "out
    /// of range"); then the key is looked up (missing: an empty array,
    /// never nil) and type-checked, and only then does a count of 0 give
    /// an empty array. The reply is flat: member, score, member, score.
    fn zpop(&mut self, key: &[u8], count: Option<Num>, max: bool) -> Frame {
        let count = match count.map(parse_num) {
            None => 1,
            Some(Some(n)) if n >= 0 => n as usize,
            Some(_) => return err(NOT_POSITIVE),
        };
        let z = match self.lookup_zset(key) {
            Ok(Some(z)) => z,
            Ok(None) => return Frame::Array(Vec::new()),
            Err(e) => return e,
        };
        let mut items: Vec<(Vec<u8>, f64)> = z
            .ordered()
            .into_iter()
            .map(|(m, s)| (m.clone(), s))
            .collect();
        if max {
            items.reverse();
        }
        items.truncate(count);
        for (m, _) in &items {
            z.0.remove(m);
        }
        self.drop_zset_if_empty(key);
        let refs: Vec<(&Vec<u8>, f64)> = items.iter().map(|(m, s)| (m, *s)).collect();
        members_reply(&refs, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_as_redis_7_0_prints_them() {
        for (d, text) in [
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (2.5, "2.5"),
            (-3.0, "-3"),
            (1e20, "1e+20"),
            (2e20, "2e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
            (0.2 + 0.1, "0.30000000000000004"),
        ] {
            assert_eq!(format_score(d), text, "{d:e}");
        }
    }
}

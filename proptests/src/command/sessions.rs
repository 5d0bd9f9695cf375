//! Fixed sessions, replayed on every run next to the random ones: each
//! pins a rule of Redis that is easy to get wrong, or once exposed a
//! disagreement (`tests/model.rs` runs them in every mode,
//! `tests/reference.rs` against a real Redis).

use super::{
    Bound, Command, Elem, End, Field, Key, Member, Num, Score, SetOpt, Side, Val, ZAddOpt,
};

/// Sessions that pin a rule of hashes, sets, lists, sorted sets and types that is easy to get
/// wrong, kept as plain regression tests next to
/// [`crate::harness::regression_sessions`]: `tests/model.rs` runs them in
/// every mode, `tests/reference.rs` against a real Redis.
pub fn type_sessions() -> Vec<(&'static str, Vec<Command>)> {
    use Command::*;
    let (a, b, c) = (Key(0), Key(1), Key(2));
    let (f, g, one) = (Field(0), Field(1), Field(2));
    // MEMBERS: "1", "2", ..., "01" at 8, "-0" at 9.
    let (m1, m2, m0, text) = (Member(0), Member(1), Member(3), Member(5));
    let (m01, minus0) = (Member(8), Member(9));
    let read_back = |mut session: Vec<Command>| {
        session.extend(Command::read_back());
        session
    };
    vec![
        (
            "a listpack hash lists fields in insertion order: an update keeps \
             its place, a field deleted and set again goes last",
            read_back(vec![
                HSet(a, vec![(f, Val(1)), (g, Val(2)), (one, Val(3))], None),
                HSet(a, vec![(f, Val(5)), (f, Val(6))], None),
                HDel(a, vec![g, g]),
                HIncrBy(a, g, Num::Int(7)),
                HGetAll(a),
                HKeys(a),
                HVals(a),
            ]),
        ),
        (
            "removing the last field or member deletes the key",
            vec![
                HSet(b, vec![(f, Val(1))], None),
                HDel(b, vec![f, g]),
                Exists(vec![b]),
                SAdd(c, vec![m1]),
                SRem(c, vec![m1, m2]),
                Type(c),
                SAdd(c, vec![m1]),
                SMove(c, a, m1),
                Type(c),
                SMembers(a),
                DbSize,
            ],
        ),
        (
            "WRONGTYPE across strings, hashes and sets; MGET reads nil; SET \
             replaces any type unless it has GET",
            vec![
                HSet(a, vec![(f, Val(1))], None),
                SAdd(b, vec![m1]),
                Set(c, Val(3), vec![]),
                Get(a),
                Incr(b),
                Append(a, Val(1)),
                Strlen(b),
                HGet(b, f),
                HLen(c),
                SAdd(a, vec![m1]),
                SCard(c),
                MGet(vec![a, b, c]),
                Set(b, Val(0), vec![SetOpt::Get]),
                Set(b, Val(0), vec![]),
                Type(b),
                BitField(a, vec![]),
            ],
        ),
        (
            "Redis 7.0 looks every key of SINTER/SDIFF up before answering: \
             a missing key does not hide a later WRONGTYPE",
            vec![
                Set(a, Val(1), vec![]),
                SInter(vec![b, a]),
                SDiff(vec![b, a]),
                SInterStore(c, vec![b, a]),
                SUnion(vec![b]),
                SInter(vec![b]),
            ],
        ),
        (
            "SINTERSTORE stops at the first key that is not a set: an expired \
             key after it is not looked up, so not yet deleted",
            vec![
                Set(b, Val(1), vec![]),
                Set(c, Val(1), vec![SetOpt::Px(Num::Int(1))]),
                Advance(2_000),
                SInterStore(a, vec![b, c]),
                SUnion(vec![b, c]),
                DbSize,
                SDiff(vec![c, b]),
                DbSize,
            ],
        ),
        (
            "an intset holds canonical integers only: 01 and -0 are other members",
            vec![
                SAdd(a, vec![m1, m0]),
                SIsMember(a, m01),
                SMIsMember(a, vec![minus0, m0, m1]),
                SAdd(a, vec![m01, minus0]),
                SCard(a),
                SMembers(a),
                SRem(a, vec![m01, minus0, text]),
                SMembers(a),
            ],
        ),
        (
            "a STORE drops the destination's TTL and type; an empty result \
             deletes it, even expired",
            vec![
                SAdd(a, vec![m1, m2]),
                SAdd(b, vec![m2, text]),
                Set(c, Val(1), vec![SetOpt::Ex(Num::Int(10))]),
                SUnionStore(c, vec![a, b]),
                Ttl(c),
                SMembers(c),
                SDiffStore(c, vec![a, b]),
                SMembers(c),
                Set(c, Val(1), vec![SetOpt::Px(Num::Int(1))]),
                Advance(2_000),
                SInterStore(c, vec![a, Key(3)]),
                DbSize,
            ],
        ),
        (
            "SMOVE: a missing source is 0 even to a string; a wrong-type \
             destination is refused; to the same key it tells membership",
            vec![
                Set(b, Val(1), vec![]),
                SMove(c, b, m1),
                SAdd(a, vec![m1]),
                SMove(a, b, m1),
                SMove(a, a, m1),
                SMove(a, a, m2),
                SMove(a, c, m2),
                SMove(a, c, m1),
                Exists(vec![a]),
                SMembers(c),
            ],
        ),
        (
            "HINCRBY parses the increment first, refuses a non-integer value, \
             and stops at i64's edge",
            vec![
                Set(b, Val(1), vec![]),
                HIncrBy(b, f, Num::NotInt(0)),
                HIncrBy(b, f, Num::Int(1)),
                HIncrBy(a, f, Num::NotInt(0)),
                Exists(vec![a]),
                HSet(a, vec![(f, Val(8))], None),
                HIncrBy(a, f, Num::Int(1)),
                HIncrBy(a, g, Num::Int(i64::MAX)),
                HIncrBy(a, g, Num::Int(1)),
                HStrlen(a, g),
                HSet(a, vec![], Some(f)),
                HSet(a, vec![(f, Val(1))], Some(g)),
                HMGet(a, vec![]),
                HMGet(c, vec![f, g]),
            ],
        ),
    ]
    .into_iter()
    .chain(list_zset_sessions())
    .collect()
}

/// Sessions that pin a rule of lists and sorted sets that is easy to get
/// wrong (part of [`type_sessions`]).
pub fn list_zset_sessions() -> Vec<(&'static str, Vec<Command>)> {
    use Command::*;
    let (a, b, c) = (Key(0), Key(1), Key(2));
    // ELEMENTS: "a", "b", "c", "1", "", "sp ace".
    let (ea, eb, ec) = (Elem(0), Elem(1), Elem(2));
    // SCORES: "1", "0.1", "1.1", "2.5", "-3", "inf", "-inf", ...
    let (one, tenth, one_tenth, inf, minus_inf) =
        (Score(0), Score(1), Score(2), Score(5), Score(6));
    let (m1, m2, text) = (Member(0), Member(1), Member(5));
    let n = Num::Int;
    let bound = |exclusive, score| Bound { exclusive, score };
    vec![
        (
            "LPUSH pushes one by one; LRANGE clamps; LREM's sign picks the end; \
             the list emptied is deleted",
            vec![
                LPush(a, vec![ea, eb, ea, ec]),
                RPush(a, vec![ea]),
                LRange(a, n(-100), n(100)),
                LRange(a, n(2), n(1)),
                LRem(a, n(-1), ea),
                LRange(a, n(0), n(-1)),
                LRem(a, n(1), ea),
                LRange(a, n(0), n(-1)),
                LRem(a, n(0), eb),
                LTrim(a, n(1), n(0)),
                Exists(vec![a]),
                LPushX(a, vec![ea]),
                Type(a),
            ],
        ),
        (
            "LPOP with a count: an array even for one, a nil array for no key, \
             an empty array for 0 (after the type check); a bad count first",
            vec![
                RPush(a, vec![ea, eb, ec]),
                LPop(a, Some(n(0))),
                RPop(a, Some(n(2))),
                LPop(a, Some(n(5))),
                LPop(a, Some(n(1))),
                LPop(a, None),
                Set(b, Val(1), vec![]),
                LPop(b, Some(n(0))),
                LPop(b, Some(n(-1))),
                LPop(c, Some(Num::NotInt(0))),
            ],
        ),
        (
            "LMOVE to the same list rotates; a missing source is nil even to a \
             string; LSET's and LINSERT's misses",
            vec![
                RPush(a, vec![ea, eb, ec]),
                LMove(a, a, End::Left, End::Right),
                RPopLPush(a, a),
                LRange(a, n(0), n(-1)),
                Set(b, Val(1), vec![]),
                LMove(c, b, End::Left, End::Left),
                LMove(a, b, End::Left, End::Left),
                LMove(a, c, End::Right, End::Left),
                LSet(a, n(5), ea),
                LSet(a, n(-1), ec),
                LSet(c, n(0), ea),
                LIndex(a, n(-1)),
                LInsert(a, Side::After, Elem(3), ea),
                LInsert(a, Side::Before, ea, ec),
                LInsert(Key(3), Side::Before, ea, ec),
                LRange(a, n(0), n(-1)),
            ],
        ),
        (
            "scores print with %.17g; ties go by member bytes; ZADD's options \
             and their conflicts; INCR to NaN",
            vec![
                ZAdd(
                    a,
                    vec![],
                    vec![(one_tenth, text), (tenth, m2), (one, m1), (one, text)],
                ),
                ZRange(a, n(0), n(-1), true),
                ZIncrBy(a, tenth, m2),
                ZAdd(
                    a,
                    vec![ZAddOpt::Gt, ZAddOpt::Ch],
                    vec![(tenth, m1), (inf, m2)],
                ),
                ZAdd(a, vec![ZAddOpt::Incr], vec![(minus_inf, m2)]),
                ZAdd(a, vec![ZAddOpt::Nx, ZAddOpt::Gt], vec![(one, m1)]),
                ZAdd(a, vec![ZAddOpt::Xx, ZAddOpt::Nx], vec![(Score(11), m1)]),
                ZAdd(a, vec![ZAddOpt::Incr], vec![(one, m1), (one, m2)]),
                ZAdd(a, vec![ZAddOpt::Xx, ZAddOpt::Incr], vec![(one, Member(3))]),
                ZAdd(b, vec![ZAddOpt::Xx], vec![(one, m1)]),
                ZAdd(b, vec![ZAddOpt::Ch], vec![]),
                ZAdd(b, vec![], vec![]),
                Exists(vec![b]),
                ZAdd(a, vec![], vec![(Score(8), Member(3))]),
                ZRank(a, text),
                ZRevRank(a, text),
                ZRange(a, n(0), n(-1), true),
            ],
        ),
        (
            "ZRANGEBYSCORE's exclusive and infinite bounds and LIMIT; ZPOP's \
             flat pairs; ZREMRANGEBYSCORE deletes an emptied key",
            vec![
                ZAdd(a, vec![], vec![(one, m1), (Score(3), m2), (inf, text)]),
                ZRangeByScore(a, bound(true, one), bound(false, Score(7)), true, None),
                ZRangeByScore(
                    a,
                    bound(false, minus_inf),
                    bound(false, inf),
                    false,
                    Some((n(1), n(1))),
                ),
                ZRangeByScore(
                    a,
                    bound(false, minus_inf),
                    bound(false, inf),
                    false,
                    Some((n(-1), n(1))),
                ),
                ZCount(a, bound(true, one), bound(true, inf)),
                ZCount(a, bound(false, Score(12)), bound(false, inf)),
                ZPopMax(a, None),
                ZPopMin(a, Some(n(5))),
                ZPopMin(a, Some(n(0))),
                ZAdd(a, vec![], vec![(one, m1)]),
                ZRemRangeByScore(a, bound(false, minus_inf), bound(true, Score(3))),
                Type(a),
                Set(c, Val(1), vec![]),
                ZPopMin(c, Some(n(0))),
                ZCard(c),
                LLen(c),
            ],
        ),
    ]
}

/// Sessions on which this server disagreed with Redis 7.0 when they were
/// written (each with Redis's reply), since fixed: `tests/reference.rs`
/// checks that the model follows Redis on them, `tests/model.rs` that
/// every mode follows the model.
pub fn known_core_divergences() -> Vec<(&'static str, Vec<Command>)> {
    use Command::*;
    let (s, missing, z) = (Key(0), Key(1), Key(2));
    let bad = Num::NotInt(0);
    let bound = |score| Bound {
        exclusive: false,
        score: Score(score),
    };
    vec![
        (
            "LINDEX and LSET look the key up before parsing the index: \
             LINDEX nil / WRONGTYPE, LSET ERR no such key / WRONGTYPE",
            vec![
                Set(s, Val(1), vec![]),
                LIndex(missing, bad),
                LIndex(s, bad),
                LSet(missing, bad, Elem(0)),
                LSet(s, bad, Elem(0)),
            ],
        ),
        (
            "ZRANGE and ZRANGEBYSCORE parse the range before the type check: \
             not an integer / min or max is not a float, not WRONGTYPE",
            vec![
                Set(s, Val(1), vec![]),
                ZRange(s, Num::Int(0), bad, false),
                ZRangeByScore(s, bound(11), bound(0), false, None),
            ],
        ),
        (
            "a -0 score is stored (and read back) as 0 in a listpack; only \
             ZADD INCR's own reply says -0",
            vec![
                ZAdd(z, vec![], vec![(Score(10), Member(0))]),
                ZScore(z, Member(0)),
                ZIncrBy(z, Score(10), Member(1)),
                ZRange(z, Num::Int(0), Num::Int(-1), true),
            ],
        ),
        (
            "range bounds are read by strtod: \"\" is 0 and 1e400 is inf",
            vec![
                ZAdd(
                    z,
                    vec![],
                    vec![(Score(9), Member(0)), (Score(0), Member(1))],
                ),
                ZCount(z, bound(13), bound(0)),
                ZCount(z, bound(14), bound(5)),
                ZRangeByScore(
                    z,
                    Bound {
                        exclusive: true,
                        score: Score(13),
                    },
                    bound(0),
                    false,
                    None,
                ),
            ],
        ),
    ]
}

//! `proptest` strategies for the command language.
//!
//! Weighted toward what finds bugs: SET with expiry options, counters near
//! `i64`'s edges, multi-key commands, and time jumps around the interesting
//! distances (0, 1 µs, 1 ms, a deadline's exact millisecond). Values shrink
//! toward the first alternative of each `prop_oneof!`, so a shrunk sequence
//! uses simple keys, small numbers and few options.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::command::{At, Command, ExpireCond, Key, Num, SetOpt, Val, KEYS, NOT_INTEGERS, VALUES};
use crate::command::{Bound, Elem, End, Score, Side, ZAddOpt, ELEMENTS, SCORES};
use crate::command::{Field, FieldOp, FieldType, Member, FIELDS, MEMBERS};

/// Number of cases for a property: `default`, unless the `PROPTEST_CASES`
/// environment variable asks for another count (a soak run raises it).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn key() -> impl Strategy<Value = Key> {
    (0..KEYS.len() as u8).prop_map(Key)
}

pub fn val() -> impl Strategy<Value = Val> {
    (0..VALUES.len() as u8).prop_map(Val)
}

pub fn field() -> impl Strategy<Value = Field> {
    (0..FIELDS.len() as u8).prop_map(Field)
}

pub fn member() -> impl Strategy<Value = Member> {
    (0..MEMBERS.len() as u8).prop_map(Member)
}

fn not_int() -> impl Strategy<Value = Num> {
    (0..NOT_INTEGERS.len() as u8).prop_map(Num::NotInt)
}

/// An INCRBY / DECRBY amount.
pub fn increment() -> impl Strategy<Value = Num> {
    prop_oneof![
        8 => (-3i64..=3).prop_map(Num::Int),
        2 => prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 1000])
            .prop_map(Num::Int),
        1 => not_int(),
    ]
}

/// A relative expiry in seconds (EX, EXPIRE): mostly a few seconds, with
/// zero, negatives and the overflow edges.
pub fn seconds() -> impl Strategy<Value = Num> {
    prop_oneof![
        8 => (-1i64..=4).prop_map(Num::Int),
        1 => prop::sample::select(vec![
            i64::MAX / 1000,
            i64::MAX / 1000 + 1,
            i64::MIN / 1000,
            i64::MIN / 1000 - 1,
            i64::MAX,
            i64::MIN,
        ])
        .prop_map(Num::Int),
        1 => not_int(),
    ]
}

/// A relative expiry in milliseconds (PX, PEXPIRE).
pub fn millis() -> impl Strategy<Value = Num> {
    prop_oneof![
        8 => prop_oneof![(-2i64..=3), (995i64..=1005), (0i64..5000)].prop_map(Num::Int),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX - super::command::T0_MS as i64])
            .prop_map(Num::Int),
        1 => not_int(),
    ]
}

/// An absolute time (EXAT, PXAT, EXPIREAT, PEXPIREAT): near the clock's
/// start in the command's unit, or any number.
pub fn at(seconds: bool) -> impl Strategy<Value = At> {
    let near = if seconds { -3i32..=8 } else { -3000i32..=8000 };
    prop_oneof![
        8 => near.prop_map(At::FromStart),
        1 => prop::sample::select(vec![0, 1, -1, i64::MAX, i64::MIN])
            .prop_map(|n| At::Raw(Num::Int(n))),
        1 => not_int().prop_map(At::Raw),
    ]
}

pub fn set_opt() -> impl Strategy<Value = SetOpt> {
    prop_oneof![
        Just(SetOpt::Nx),
        Just(SetOpt::Xx),
        Just(SetOpt::Get),
        Just(SetOpt::KeepTtl),
        seconds().prop_map(SetOpt::Ex),
        millis().prop_map(SetOpt::Px),
        at(true).prop_map(SetOpt::ExAt),
        at(false).prop_map(SetOpt::PxAt),
    ]
}

/// EXPIRE's conditions: usually none or one, sometimes a conflicting pair.
pub fn conds() -> impl Strategy<Value = Vec<ExpireCond>> {
    let cond = prop::sample::select(vec![
        ExpireCond::Nx,
        ExpireCond::Xx,
        ExpireCond::Gt,
        ExpireCond::Lt,
    ]);
    prop_oneof![
        4 => Just(Vec::new()),
        3 => vec(cond.clone(), 1),
        1 => vec(cond, 2),
    ]
}

/// How far the clock moves: nothing, under a millisecond, exactly one,
/// about a second (TTLs are rounded to seconds), or a long jump.
pub fn advance() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(1000u32),
        Just(0),
        1u32..1000,
        (1u32..=3000).prop_map(|ms| ms * 1000),
        Just(10_000_000),
    ]
    .prop_map(Command::Advance)
}

fn keys(min: usize) -> impl Strategy<Value = Vec<Key>> {
    vec(key(), min..=4)
}

fn pairs() -> impl Strategy<Value = Vec<(Key, Val)>> {
    vec((key(), val()), 1..=3)
}

/// One step of a model-based test: a command, a clock jump or an
/// active-expiry run.
pub fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        40 => real_command(),
        4 => advance(),
        1 => Just(Command::ActiveExpire),
    ]
}

/// A command a client sends: strings and the keyspace (weight 64), hashes
/// (20), sets (22), lists (24) and sorted sets (26), on the same keys so
/// the types meet. Empty key, field, member and element lists are rare but
/// present, so arity errors are checked too.
pub fn real_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        64 => string_command(),
        20 => hash_command(),
        22 => set_command(),
        24 => list_command(),
        26 => zset_command(),
    ]
}

/// A command of the string, keyspace and expiry groups.
pub fn string_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        10 => (key(), val(), vec(set_opt(), 0..=2)).prop_map(|(k, v, o)| Command::Set(k, v, o)),
        8 => key().prop_map(Command::Get),
        2 => key().prop_map(Command::GetDel),
        2 => (key(), val()).prop_map(|(k, v)| Command::SetNx(k, v)),
        3 => keys(0).prop_map(Command::Del),
        2 => keys(0).prop_map(Command::Exists),
        3 => key().prop_map(Command::Incr),
        1 => key().prop_map(Command::Decr),
        3 => (key(), increment()).prop_map(|(k, n)| Command::IncrBy(k, n)),
        2 => (key(), increment()).prop_map(|(k, n)| Command::DecrBy(k, n)),
        2 => (key(), val()).prop_map(|(k, v)| Command::Append(k, v)),
        1 => key().prop_map(Command::Strlen),
        3 => pairs().prop_map(Command::MSet),
        2 => keys(1).prop_map(Command::MGet),
        2 => pairs().prop_map(Command::MSetNx),
        3 => (key(), key()).prop_map(|(a, b)| Command::Rename(a, b)),
        2 => (key(), key()).prop_map(|(a, b)| Command::RenameNx(a, b)),
        3 => (key(), seconds(), conds()).prop_map(|(k, n, c)| Command::Expire(k, n, c)),
        3 => (key(), millis(), conds()).prop_map(|(k, n, c)| Command::PExpire(k, n, c)),
        1 => (key(), at(true), conds()).prop_map(|(k, t, c)| Command::ExpireAt(k, t, c)),
        1 => (key(), at(false), conds()).prop_map(|(k, t, c)| Command::PExpireAt(k, t, c)),
        2 => key().prop_map(Command::Persist),
        2 => key().prop_map(Command::Ttl),
        2 => key().prop_map(Command::Pttl),
        1 => Just(Command::DbSize),
        3 => (key(), vec(field_op(), 0..=4)).prop_map(|(k, ops)| Command::BitField(k, ops)),
    ]
}

/// A list of one to `max` items, rarely none (the arity error).
fn some<T>(item: T, max: usize) -> impl Strategy<Value = Vec<T::Value>>
where
    T: Strategy,
    T::Value: Clone,
{
    prop_oneof![
        12 => vec(item, 1..=max),
        1 => Just(Vec::new()),
    ]
}

fn fields() -> impl Strategy<Value = Vec<Field>> {
    some(field(), 3)
}

fn members() -> impl Strategy<Value = Vec<Member>> {
    some(member(), 4)
}

/// A hash command. HSET is the most frequent so that hashes exist; an
/// odd argument count is rare.
pub fn hash_command() -> impl Strategy<Value = Command> {
    let hset_pairs = prop_oneof![
        20 => vec((field(), val()), 1..=3).prop_map(|p| (p, None)),
        1 => (vec((field(), val()), 0..=1), field()).prop_map(|(p, f)| (p, Some(f))),
    ];
    prop_oneof![
        6 => (key(), hset_pairs).prop_map(|(k, (p, d))| Command::HSet(k, p, d)),
        2 => (key(), field()).prop_map(|(k, f)| Command::HGet(k, f)),
        1 => (key(), fields()).prop_map(|(k, f)| Command::HMGet(k, f)),
        2 => (key(), fields()).prop_map(|(k, f)| Command::HDel(k, f)),
        1 => key().prop_map(Command::HLen),
        1 => (key(), field()).prop_map(|(k, f)| Command::HExists(k, f)),
        1 => (key(), field()).prop_map(|(k, f)| Command::HStrlen(k, f)),
        3 => (key(), field(), increment()).prop_map(|(k, f, n)| Command::HIncrBy(k, f, n)),
        2 => key().prop_map(Command::HGetAll),
        1 => key().prop_map(Command::HKeys),
        1 => key().prop_map(Command::HVals),
    ]
}

/// A set command. SADD is the most frequent so that sets exist.
pub fn set_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        6 => (key(), members()).prop_map(|(k, m)| Command::SAdd(k, m)),
        3 => (key(), members()).prop_map(|(k, m)| Command::SRem(k, m)),
        1 => key().prop_map(Command::SCard),
        1 => (key(), member()).prop_map(|(k, m)| Command::SIsMember(k, m)),
        1 => (key(), members()).prop_map(|(k, m)| Command::SMIsMember(k, m)),
        2 => key().prop_map(Command::SMembers),
        1 => some(key(), 3).prop_map(Command::SInter),
        1 => some(key(), 3).prop_map(Command::SUnion),
        1 => some(key(), 3).prop_map(Command::SDiff),
        1 => (key(), some(key(), 3)).prop_map(|(d, ks)| Command::SInterStore(d, ks)),
        1 => (key(), some(key(), 3)).prop_map(|(d, ks)| Command::SUnionStore(d, ks)),
        1 => (key(), some(key(), 3)).prop_map(|(d, ks)| Command::SDiffStore(d, ks)),
        2 => (key(), key(), member()).prop_map(|(a, b, m)| Command::SMove(a, b, m)),
        1 => key().prop_map(Command::Type),
    ]
}

pub fn elem() -> impl Strategy<Value = Elem> {
    (0..ELEMENTS.len() as u8).prop_map(Elem)
}

/// A score: mostly valid (the first eleven of [`SCORES`]), sometimes not.
pub fn score() -> impl Strategy<Value = Score> {
    let valid = 11u8;
    prop_oneof![
        8 => (0..valid).prop_map(Score),
        1 => (valid..SCORES.len() as u8).prop_map(Score),
    ]
}

/// A range bound: any of [`SCORES`], `(` (exclusive) about a third of the
/// time.
pub fn bound() -> impl Strategy<Value = Bound> {
    let score = (0..SCORES.len() as u8).prop_map(Score);
    (prop::bool::weighted(0.3), score).prop_map(|(exclusive, score)| Bound { exclusive, score })
}

/// A list index (LRANGE, LTRIM, LINDEX, LSET, ZRANGE): small, negative
/// from the end, sometimes far out or not an integer.
pub fn index() -> impl Strategy<Value = Num> {
    prop_oneof![
        10 => (-5i64..=5).prop_map(Num::Int),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, 100, -100]).prop_map(Num::Int),
        1 => not_int(),
    ]
}

/// A count (LPOP, ZPOPMIN, LREM, LIMIT): small, sometimes negative or not
/// an integer.
pub fn count() -> impl Strategy<Value = Num> {
    prop_oneof![
        10 => (-1i64..=4).prop_map(Num::Int),
        1 => not_int(),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::Left), Just(End::Right)]
}

/// A list command. The pushes are the most frequent so that lists exist.
pub fn list_command() -> impl Strategy<Value = Command> {
    let elems = || some(elem(), 4);
    prop_oneof![
        4 => (key(), elems()).prop_map(|(k, e)| Command::LPush(k, e)),
        4 => (key(), elems()).prop_map(|(k, e)| Command::RPush(k, e)),
        1 => (key(), elems()).prop_map(|(k, e)| Command::LPushX(k, e)),
        1 => (key(), elems()).prop_map(|(k, e)| Command::RPushX(k, e)),
        2 => (key(), prop::option::of(count())).prop_map(|(k, n)| Command::LPop(k, n)),
        2 => (key(), prop::option::of(count())).prop_map(|(k, n)| Command::RPop(k, n)),
        1 => key().prop_map(Command::LLen),
        2 => (key(), index(), index()).prop_map(|(k, a, b)| Command::LRange(k, a, b)),
        1 => (key(), index()).prop_map(|(k, i)| Command::LIndex(k, i)),
        1 => (key(), index(), elem()).prop_map(|(k, i, e)| Command::LSet(k, i, e)),
        2 => (key(), count(), elem()).prop_map(|(k, n, e)| Command::LRem(k, n, e)),
        1 => (key(), index(), index()).prop_map(|(k, a, b)| Command::LTrim(k, a, b)),
        2 => (key(), key(), end(), end()).prop_map(|(a, b, f, t)| Command::LMove(a, b, f, t)),
        1 => (key(), key()).prop_map(|(a, b)| Command::RPopLPush(a, b)),
        2 => (key(), prop_oneof![Just(Side::Before), Just(Side::After)], elem(), elem())
            .prop_map(|(k, s, p, e)| Command::LInsert(k, s, p, e)),
    ]
}

/// ZADD's options: usually none or one, sometimes an incompatible pair.
fn zadd_opts() -> impl Strategy<Value = Vec<ZAddOpt>> {
    let opt = prop::sample::select(vec![
        ZAddOpt::Nx,
        ZAddOpt::Xx,
        ZAddOpt::Gt,
        ZAddOpt::Lt,
        ZAddOpt::Ch,
        ZAddOpt::Incr,
    ]);
    prop_oneof![
        6 => Just(Vec::new()),
        4 => vec(opt.clone(), 1),
        2 => vec(opt, 2..=3),
    ]
}

/// A sorted set command. ZADD is the most frequent so that sorted sets
/// exist; an INCR with one pair is common enough to reach NaN.
pub fn zset_command() -> impl Strategy<Value = Command> {
    let pairs = prop_oneof![
        12 => vec((score(), member()), 1..=3),
        1 => Just(Vec::new()),
    ];
    let limit = prop::option::weighted(0.4, (count(), count()));
    prop_oneof![
        7 => (key(), zadd_opts(), pairs).prop_map(|(k, o, p)| Command::ZAdd(k, o, p)),
        3 => (key(), score(), member()).prop_map(|(k, s, m)| Command::ZIncrBy(k, s, m)),
        2 => (key(), members()).prop_map(|(k, m)| Command::ZRem(k, m)),
        1 => key().prop_map(Command::ZCard),
        2 => (key(), member()).prop_map(|(k, m)| Command::ZScore(k, m)),
        1 => (key(), member()).prop_map(|(k, m)| Command::ZRank(k, m)),
        1 => (key(), member()).prop_map(|(k, m)| Command::ZRevRank(k, m)),
        2 => (key(), index(), index(), any::<bool>())
            .prop_map(|(k, a, b, w)| Command::ZRange(k, a, b, w)),
        2 => (key(), bound(), bound(), any::<bool>(), limit)
            .prop_map(|(k, a, b, w, l)| Command::ZRangeByScore(k, a, b, w, l)),
        1 => (key(), bound(), bound()).prop_map(|(k, a, b)| Command::ZCount(k, a, b)),
        1 => (key(), prop::option::of(count())).prop_map(|(k, n)| Command::ZPopMin(k, n)),
        1 => (key(), prop::option::of(count())).prop_map(|(k, n)| Command::ZPopMax(k, n)),
        1 => (key(), bound(), bound()).prop_map(|(k, a, b)| Command::ZRemRangeByScore(k, a, b)),
    ]
}

/// A BITFIELD type: mostly valid and narrow (so overflow is common),
/// sometimes at or past the 63/64-bit limits.
pub fn field_type() -> impl Strategy<Value = FieldType> {
    let bits = prop_oneof![8 => 1u8..=16, 2 => prop::sample::select(vec![0u8, 32, 63, 64, 65])];
    (any::<bool>(), bits).prop_map(|(signed, bits)| FieldType { signed, bits })
}

/// A BITFIELD operation over the first few bytes of the value.
pub fn field_op() -> impl Strategy<Value = FieldOp> {
    let value = prop_oneof![
        6 => (-300i64..=300).prop_map(Num::Int),
        2 => increment(),
    ];
    prop_oneof![
        3 => (field_type(), 0u8..=40).prop_map(|(t, o)| FieldOp::Get(t, o)),
        3 => (field_type(), 0u8..=40, value.clone()).prop_map(|(t, o, n)| FieldOp::Set(t, o, n)),
        3 => (field_type(), 0u8..=40, value).prop_map(|(t, o, n)| FieldOp::IncrBy(t, o, n)),
        2 => (0u8..4).prop_map(FieldOp::Overflow),
    ]
}

/// A session of up to `max` steps.
///
/// Most sessions mix every group; the others dwell on one type (hashes,
/// sets, lists or sorted sets, with other commands among them), because in
/// a mixed session of 40 steps over six keys a list or sorted set rarely
/// grows long enough, or meets the same element twice, for LREM's
/// direction or a score tie to show.
pub fn session(max: usize) -> impl Strategy<Value = Vec<Command>> {
    let focused = |group: BoxedStrategy<Command>| {
        vec(prop_oneof![4 => group, 1 => command()], 1..=max).boxed()
    };
    prop_oneof![
        4 => vec(command(), 1..=max).boxed(),
        1 => focused(hash_command().boxed()),
        1 => focused(set_command().boxed()),
        2 => focused(list_command().boxed()),
        2 => focused(zset_command().boxed()),
    ]
}

/// A session of up to `max` steps, then [`Command::read_back`]: the type,
/// hash, set, list and sorted set contents of every key (shrinking keeps the read-back).
pub fn session_read_back(max: usize) -> impl Strategy<Value = Vec<Command>> {
    session(max).prop_map(|mut commands| {
        commands.extend(Command::read_back());
        commands
    })
}

//! Key extraction by spec, with the specs Redis 7.0 declares for commands
//! that have each shape (the expected keys are what redis-server 7.0.15's
//! `COMMAND GETKEYS` answers for the same arguments).

use super::key_flags::*;
use super::*;

fn argv(words: &str) -> Vec<Bytes> {
    words
        .split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn positions(specs: &[KeySpec], words: &str) -> Result<Vec<usize>, InvalidKeyArgs> {
    keys_from_specs(specs, &argv(words)).map(|keys| keys.iter().map(|k| k.pos).collect())
}

const GET: &[KeySpec] = &[KeySpec::key(1, RO | ACCESS)];
const DEL: &[KeySpec] = &[KeySpec::index(1).range(-1, 1, 0).flags(RM | DELETE)];
const MSET: &[KeySpec] = &[KeySpec::index(1).range(-1, 2, 0).flags(OW | UPDATE)];
/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...]
const ZUNIONSTORE: &[KeySpec] = &[
    KeySpec::key(1, OW | UPDATE),
    KeySpec::index(2).keynum(0, 1, 1).flags(RO | ACCESS),
];
/// SINTERCARD numkeys key [key ...] [LIMIT limit]
const SINTERCARD: &[KeySpec] = &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)];
/// GEORADIUS key ... [STORE key] [STORESTORE key]
const GEORADIUS: &[KeySpec] = &[
    KeySpec::key(1, RO | ACCESS),
    KeySpec::keyword("STORE", 6)
        .range(0, 1, 0)
        .flags(OW | UPDATE),
];
/// MIGRATE host port key|"" db timeout [... KEYS key [key ...]]
const MIGRATE_KEYS: &[KeySpec] = &[KeySpec::keyword("KEYS", -2)
    .range(-1, 1, 0)
    .flags(RW | ACCESS | DELETE | INCOMPLETE)];
/// XREAD ... STREAMS key [key ...] id [id ...]: the keys are the first
/// half of what follows STREAMS.
const XREAD: &[KeySpec] = &[KeySpec::keyword("STREAMS", 1)
    .range(-1, 1, 2)
    .flags(RO | ACCESS)];

#[test]
fn range_with_a_fixed_last_key() {
    assert_eq!(positions(GET, "get k"), Ok(vec![1]));
    let keys = keys_from_specs(GET, &argv("get k")).unwrap();
    assert_eq!(keys[0].flags, RO | ACCESS);
}

#[test]
fn range_with_a_negative_last_key_counts_from_the_end() {
    assert_eq!(positions(DEL, "del a b c"), Ok(vec![1, 2, 3]));
    assert_eq!(positions(DEL, "del a"), Ok(vec![1]));
    // Step 2 from 1 to the last argument: MSET's keys, even with an
    // unpaired last key (Redis answers `a b` for `MSET a 1 b`).
    assert_eq!(positions(MSET, "mset a 1 b 2"), Ok(vec![1, 3]));
    assert_eq!(positions(MSET, "mset a 1 b"), Ok(vec![1, 3]));
    // Nothing after the start: a range past the end is invalid.
    assert_eq!(positions(DEL, "del"), Err(InvalidKeyArgs));
}

#[test]
fn range_with_a_limit_takes_a_fraction_of_the_rest() {
    let half = &[KeySpec::index(1).range(-1, 1, 2)];
    // 4 arguments after the start, limit 2: the first 2 are keys.
    assert_eq!(positions(half, "cmd a b x y"), Ok(vec![1, 2]));
}

#[test]
fn keynum_reads_the_key_count_from_the_arguments() {
    assert_eq!(positions(SINTERCARD, "sintercard 2 a b"), Ok(vec![2, 3]));
    assert_eq!(positions(SINTERCARD, "sintercard 1 a b"), Ok(vec![2]));
    assert_eq!(
        positions(ZUNIONSTORE, "zunionstore dst 2 a b weights 1 2"),
        Ok(vec![1, 3, 4])
    );
    let keys = keys_from_specs(ZUNIONSTORE, &argv("zunionstore d 1 a")).unwrap();
    assert_eq!(keys[0].flags, OW | UPDATE);
    assert_eq!(keys[1].flags, RO | ACCESS);
}

#[test]
fn keynum_zero_is_invalid() {
    // An empty key list leaves `last < first`: Redis's `invalid_spec`.
    assert_eq!(positions(SINTERCARD, "sintercard 0 a"), Err(InvalidKeyArgs));
    assert_eq!(
        positions(ZUNIONSTORE, "zunionstore dst 0 a"),
        Err(InvalidKeyArgs)
    );
}

#[test]
fn keynum_larger_than_the_arguments_is_invalid() {
    assert_eq!(
        positions(SINTERCARD, "sintercard 3 a b"),
        Err(InvalidKeyArgs)
    );
    assert_eq!(
        positions(ZUNIONSTORE, "zunionstore dst 3 a b"),
        Err(InvalidKeyArgs)
    );
    // Far too large: no arithmetic overflow, just invalid.
    assert_eq!(
        positions(SINTERCARD, "sintercard 9223372036854775807 a"),
        Err(InvalidKeyArgs)
    );
}

#[test]
fn keynum_that_is_not_a_count_is_invalid() {
    for bad in ["x", "-1", "1.0", "+1", " 1", "01", ""] {
        let words = format!("zunionstore dst {bad} a b");
        assert_eq!(
            positions(ZUNIONSTORE, &words),
            Err(InvalidKeyArgs),
            "{bad:?}"
        );
    }
    // The count itself is missing.
    assert_eq!(
        positions(ZUNIONSTORE, "zunionstore dst"),
        Err(InvalidKeyArgs)
    );
}

#[test]
fn keyword_search_forward_and_backward() {
    let geo = "georadius src 0 0 1 km STORE dst";
    assert_eq!(positions(GEORADIUS, geo), Ok(vec![1, 7]));
    assert_eq!(
        positions(GEORADIUS, "georadius src 0 0 1 km store d"),
        Ok(vec![1, 7])
    );
    // No keyword: that spec finds nothing, the others still count.
    assert_eq!(positions(GEORADIUS, "georadius src 0 0 1 km"), Ok(vec![1]));
    // Searched backward from the second-to-last argument: the last KEYS
    // before the end wins, not an earlier one.
    let backward = &[KeySpec::keyword("KEYS", -2).range(-1, 1, 0).flags(RW)];
    let migrate = "migrate h 1 keys 0 5000 KEYS a b";
    assert_eq!(positions(backward, migrate), Ok(vec![7, 8]));
    assert_eq!(positions(backward, "migrate h 1 k 0 5000"), Ok(vec![]));
    let xread = "xread COUNT 2 STREAMS s1 s2 0 0";
    assert_eq!(positions(XREAD, xread), Ok(vec![4, 5]));
}

#[test]
fn incomplete_or_unknown_specs_fail_so_the_finder_is_asked() {
    // MIGRATE's KEYS spec finds keys but is INCOMPLETE.
    assert_eq!(
        positions(MIGRATE_KEYS, "migrate h 1 k 0 5000 KEYS a"),
        Err(InvalidKeyArgs)
    );
    assert_eq!(
        positions(&[KeySpec::unknown(RW)], "cmd a"),
        Err(InvalidKeyArgs)
    );
}

#[test]
fn not_key_specs_are_skipped() {
    let routed = &[KeySpec::key(1, NOT_KEY), KeySpec::key(2, RO)];
    assert_eq!(positions(routed, "cmd route k"), Ok(vec![2]));
}

#[test]
fn legacy_triple_as_redis_7_0_prints_it() {
    assert_eq!(legacy_range(GET), (1, 1, 1));
    assert_eq!(legacy_range(DEL), (1, -1, 1));
    assert_eq!(legacy_range(MSET), (1, -1, 2));
    let rename = &[KeySpec::key(1, RW), KeySpec::key(2, OW)];
    assert_eq!(legacy_range(rename), (1, 2, 1));
    // The keynum spec is skipped: ZUNIONSTORE shows 1 1 1.
    assert_eq!(legacy_range(ZUNIONSTORE), (1, 1, 1));
    assert_eq!(legacy_range(SINTERCARD), (0, 0, 0));
    assert_eq!(legacy_range(&[]), (0, 0, 0));
    // Ranges that are not consecutive cannot be glued.
    let gap = &[KeySpec::key(1, RW), KeySpec::key(3, OW)];
    assert_eq!(legacy_range(gap), (0, 0, 0));
    assert!(has_movable_keys(ZUNIONSTORE));
    assert!(!has_movable_keys(MSET));
}

//! How each value type of an RDB file becomes a [`Value`]: Redis 7.0's
//! `rdbLoadObject`, including its choice of encoding under the config
//! limits (a compact encoding that holds too many entries is converted, a
//! plain `HASH` or `SET` that fits is made compact), and the older
//! encodings it still reads.

use super::decode::Reader;
use super::listpack::{self, Element};
use super::{intset, legacy, rdb_type, RdbError};
use crate::dict::Dict;
use crate::keyspace::listpack::Listpack;
use crate::keyspace::{Hash, Limits, List, Set, Value, ZSet};

/// A score written as text (type 3, and inside listpacks and ziplists):
/// what `strtod` accepts for Redis's own output (`inf`, `-inf`, `1.5`,
/// `1e+20`).
pub(super) fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

/// A value of type `t` (the type byte was at `type_at`). `None` for an
/// empty collection, which is skipped as Redis 7.0 skips it.
pub(super) fn read_value(
    r: &mut Reader<'_>,
    t: u8,
    limits: &Limits,
    type_at: usize,
) -> Result<Option<Value>, RdbError> {
    let blob_error = |at: usize, what: &str, e: String| RdbError::new(at, format!("{what}: {e}"));
    Ok(match t {
        rdb_type::STRING => Some(Value::String(r.string("a string value")?.into())),
        rdb_type::LIST => {
            let n = r.count("a list's length")?;
            let mut elements = Vec::with_capacity(n);
            for _ in 0..n {
                elements.push(r.string("a list element")?);
            }
            list_value(elements.iter().map(Vec::as_slice), limits)
        }
        rdb_type::SET => {
            let n = r.count("a set's size")?;
            if n == 0 {
                return Ok(None);
            }
            // Redis: a set that may fit starts as an intset and turns into
            // a table at the first member that is not an integer.
            let mut set = if n > limits.set_intset_entries {
                Set::Table(Dict::new())
            } else {
                Set::Intset(Vec::new())
            };
            for _ in 0..n {
                let at = r.pos;
                let member = r.string("a set member")?;
                if !set.add(&member, limits) {
                    return Err(RdbError::new(at, "duplicate set member"));
                }
            }
            Some(Value::Set(Box::new(set)))
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.count("a sorted set's size")?;
            let mut elements: Vec<(f64, Box<[u8]>)> = Vec::with_capacity(n);
            for _ in 0..n {
                let member = r.string("a sorted set member")?;
                let at = r.pos;
                let score = if t == rdb_type::ZSET_2 {
                    f64::from_le_bytes(r.u64_le("a score")?.to_le_bytes())
                } else {
                    r.string_double("a score")?
                };
                if score.is_nan() {
                    return Err(RdbError::new(at, "sorted set score is NaN"));
                }
                elements.push((score, member.into()));
            }
            // Converted after loading, as Redis does, since the file is
            // ordered from the greatest element down.
            zset_value(elements, limits.zset_entries, limits.zset_value, r.pos)?
        }
        rdb_type::HASH => {
            let n = r.count("a hash's size")?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let at = r.pos;
                pairs.push((r.string("a hash field")?, r.string("a hash value")?, at));
            }
            if pairs.is_empty() {
                return Ok(None);
            }
            // Redis: compact from the start if the count fits, converted
            // at the first field or value too long for it.
            let fits = pairs.len() <= limits.hash_entries
                && pairs
                    .iter()
                    .all(|(f, v, _)| f.len().max(v.len()) <= limits.hash_value);
            Some(hash_value(
                pairs
                    .iter()
                    .map(|(f, v, at)| (f.as_slice(), v.as_slice(), *at)),
                fits,
            )?)
        }
        rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => {
            let nodes = r.count("a quicklist's node count")?;
            let mut elements: Vec<Vec<u8>> = Vec::new();
            for _ in 0..nodes {
                let at = r.pos;
                let container = if t == rdb_type::LIST_QUICKLIST_2 {
                    r.len("a quicklist node's container")?
                } else {
                    2
                };
                let blob_at = r.pos;
                let blob = r.string("a quicklist node")?;
                if blob.is_empty() {
                    return Err(RdbError::new(blob_at, "empty quicklist node"));
                }
                match container {
                    1 => elements.push(blob),
                    2 => {
                        let parsed = if t == rdb_type::LIST_QUICKLIST_2 {
                            listpack::parse(&blob)
                        } else {
                            legacy::parse_ziplist(&blob)
                        };
                        let parsed =
                            parsed.map_err(|e| blob_error(blob_at, "a quicklist node", e))?;
                        elements.extend(parsed.into_iter().map(Element::to_bytes));
                    }
                    c => {
                        return Err(RdbError::new(
                            at,
                            format!(
                                "quicklist node container {c} is neither 1 (plain) nor 2 (packed)"
                            ),
                        ))
                    }
                }
            }
            list_value(elements.iter().map(Vec::as_slice), limits)
        }
        rdb_type::HASH_ZIPMAP
        | rdb_type::LIST_ZIPLIST
        | rdb_type::SET_INTSET
        | rdb_type::ZSET_ZIPLIST
        | rdb_type::HASH_ZIPLIST
        | rdb_type::ZSET_LISTPACK
        | rdb_type::HASH_LISTPACK => {
            let at = r.pos;
            let blob = r.string("an encoded value")?;
            let what = rdb_type::name(t);
            let fail = |e: String| blob_error(at, what, e);
            match t {
                rdb_type::HASH_ZIPMAP => {
                    let pairs = legacy::parse_zipmap(&blob).map_err(fail)?;
                    if pairs.is_empty() {
                        return Ok(None);
                    }
                    let fits = pairs.len() <= limits.hash_entries
                        && pairs
                            .iter()
                            .all(|(f, v)| f.len().max(v.len()) <= limits.hash_value);
                    Some(hash_value(
                        pairs.into_iter().map(|(f, v)| (f, v, at)),
                        fits,
                    )?)
                }
                rdb_type::LIST_ZIPLIST => {
                    let elements = legacy::parse_ziplist(&blob).map_err(fail)?;
                    let elements: Vec<Vec<u8>> =
                        elements.into_iter().map(Element::to_bytes).collect();
                    list_value(elements.iter().map(Vec::as_slice), limits)
                }
                rdb_type::SET_INTSET => {
                    let values = intset::decode(&blob).map_err(fail)?;
                    let mut set = Set::Intset(values);
                    if set.len() > limits.set_intset_entries {
                        let mut table = Set::Table(Dict::new());
                        for m in set.iter() {
                            table.add(&m, limits);
                        }
                        set = table;
                    }
                    Some(Value::Set(Box::new(set)))
                }
                _ => {
                    let elements =
                        if matches!(t, rdb_type::ZSET_ZIPLIST | rdb_type::HASH_ZIPLIST) {
                            legacy::parse_ziplist(&blob)
                        } else {
                            listpack::parse(&blob)
                        }
                        .map_err(fail)?;
                    if elements.len() % 2 != 0 {
                        return Err(fail(format!("{} elements, not pairs", elements.len())));
                    }
                    if elements.is_empty() {
                        return Ok(None);
                    }
                    let pairs: Vec<(Vec<u8>, Element<'_>)> = elements
                        .chunks_exact(2)
                        .map(|p| (p[0].to_bytes(), p[1]))
                        .collect();
                    if matches!(t, rdb_type::HASH_ZIPLIST | rdb_type::HASH_LISTPACK) {
                        // Only the count is checked on load (an O(1) test in
                        // Redis); long values stay compact until written.
                        let fits = pairs.len() <= limits.hash_entries;
                        let owned: Vec<(Vec<u8>, Vec<u8>)> =
                            pairs.into_iter().map(|(f, v)| (f, v.to_bytes())).collect();
                        Some(hash_value(
                            owned.iter().map(|(f, v)| (f.as_slice(), v.as_slice(), at)),
                            fits,
                        )?)
                    } else {
                        let mut scored = Vec::with_capacity(pairs.len());
                        for (member, score) in pairs {
                            let score = match score {
                                Element::Int(v) => v as f64,
                                Element::Str(s) => parse_score(s).ok_or_else(|| {
                                    fail(format!(
                                        "score {:?} is not a number",
                                        String::from_utf8_lossy(s)
                                    ))
                                })?,
                            };
                            if score.is_nan() {
                                return Err(fail("score is NaN".into()));
                            }
                            scored.push((score, member.into_boxed_slice()));
                        }
                        // Again only the count: long members stay compact.
                        zset_value(scored, limits.zset_entries, usize::MAX, at)?
                    }
                }
            }
        }
        rdb_type::MODULE_PRE_GA | rdb_type::MODULE_2 => {
            return Err(RdbError::new(
                type_at,
                format!(
                    "{} (type {t}) are not supported: no modules here",
                    rdb_type::name(t)
                ),
            ));
        }
        rdb_type::STREAM_LISTPACKS
        | rdb_type::STREAM_LISTPACKS_2
        | rdb_type::STREAM_LISTPACKS_3
        | rdb_type::SET_LISTPACK => {
            return Err(RdbError::new(
                type_at,
                format!("{} (RDB type {t}) are not supported yet", rdb_type::name(t)),
            ));
        }
        _ => return Err(RdbError::new(type_at, format!("unknown value type {t}"))),
    })
}

/// A list of `elements` (none: an empty key, skipped). Redis keeps the
/// file's nodes as they are; our list refills its own nodes by
/// `list-max-listpack-size`, and the writer cuts them Redis's way again
/// when saving, so a list's nodes in the next file do not depend on this.
fn list_value<'e>(elements: impl Iterator<Item = &'e [u8]>, limits: &Limits) -> Option<Value> {
    let list = List::from_elements(elements, limits.list_node);
    (!list.is_empty()).then(|| Value::List(Box::new(list)))
}

/// A hash of `(field, value, offset)` triples: a listpack if `fits`, else
/// a table. A repeated field is an error (Redis: "Duplicate hash fields").
fn hash_value<'e>(
    pairs: impl Iterator<Item = (&'e [u8], &'e [u8], usize)>,
    fits: bool,
) -> Result<Value, RdbError> {
    let mut seen: Dict<()> = Dict::new();
    let mut lp = Listpack::new();
    let mut table: Dict<Vec<u8>> = Dict::new();
    for (field, value, at) in pairs {
        if seen.insert(field, ()).is_some() {
            return Err(RdbError::new(
                at,
                format!("duplicate hash field {:?}", String::from_utf8_lossy(field)),
            ));
        }
        if fits {
            lp.push(field);
            lp.push(value);
        } else {
            table.insert(field, value.to_vec());
        }
    }
    let hash = if fits {
        Hash::Listpack(lp)
    } else {
        Hash::Table(table)
    };
    Ok(Value::Hash(Box::new(hash)))
}

/// A sorted set of `elements`, in the encoding [`ZSet::from_elements`]
/// picks for these limits. A repeated member is an error.
fn zset_value(
    elements: Vec<(f64, Box<[u8]>)>,
    max_entries: usize,
    max_value: usize,
    at: usize,
) -> Result<Option<Value>, RdbError> {
    if elements.is_empty() {
        return Ok(None);
    }
    let mut members: Vec<&[u8]> = elements.iter().map(|(_, m)| &m[..]).collect();
    members.sort_unstable();
    if let Some(w) = members.windows(2).find(|w| w[0] == w[1]) {
        return Err(RdbError::new(
            at,
            format!(
                "duplicate sorted set member {:?}",
                String::from_utf8_lossy(w[0])
            ),
        ));
    }
    Ok(Some(Value::ZSet(Box::new(ZSet::from_elements(
        &elements,
        max_entries,
        max_value,
    )))))
}

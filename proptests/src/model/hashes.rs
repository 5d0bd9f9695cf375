//! Hashes (`t_hash.c`): fields in insertion order, as a listpack keeps
//! them (see [`crate::command::FIELDS`]).

use myongoredis_core::Frame;

use super::{arity, err, int, parse_num, string2ll, Entry, Fields, Model, Value};
use super::{NOT_INTEGER, OVERFLOW};
use crate::command::{Command, Key, Num};

fn field_value<'h>(hash: &'h Fields, field: &[u8]) -> Option<&'h [u8]> {
    hash.iter()
        .find(|(f, _)| f.as_slice() == field)
        .map(|(_, v)| v.as_slice())
}

/// `hashTypeSet`: update in place, or append. True if the field is new.
fn hash_set(hash: &mut Fields, field: &[u8], value: Vec<u8>) -> bool {
    match hash.iter_mut().find(|(f, _)| f.as_slice() == field) {
        Some((_, v)) => {
            *v = value;
            false
        }
        None => {
            hash.push((field.to_vec(), value));
            true
        }
    }
}

impl Model {
    /// `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty if
    /// there is none (the caller adds a field before anyone can see it).
    fn hash_or_create(&mut self, key: &[u8]) -> Result<&mut Fields, Frame> {
        if self.lookup_hash(key)?.is_none() {
            self.insert(key, Entry::persistent(Value::Hash(Vec::new())));
        }
        match self.lookup_hash(key) {
            Ok(Some(hash)) => Ok(hash),
            _ => unreachable!("a hash was stored at this key above"),
        }
    }

    /// A read of the hash at `key` (`lookupKeyRead` + `checkType`):
    /// `missing` if there is none, WRONGTYPE for another type.
    fn read_hash(&mut self, key: Key, missing: Frame, f: impl FnOnce(&Fields) -> Frame) -> Frame {
        match self.lookup_hash(key.bytes()) {
            Ok(Some(hash)) => f(hash),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    pub(super) fn hash_command(&mut self, cmd: &Command) -> Frame {
        match cmd {
            // `(argc % 2) == 1` and the table's arity -4 get the same text.
            Command::HSet(_, pairs, dangling) if pairs.is_empty() || dangling.is_some() => {
                arity("hset")
            }
            Command::HSet(k, pairs, _) => match self.hash_or_create(k.bytes()) {
                // A field named twice is created once; the last value wins.
                Ok(hash) => int(pairs
                    .iter()
                    .filter(|(f, v)| hash_set(hash, f.bytes(), v.bytes().to_vec()))
                    .count() as i64),
                Err(e) => e,
            },
            Command::HGet(k, f) => self.read_hash(*k, Frame::Null, |h| {
                Frame::bulk_or_null(field_value(h, f.bytes()))
            }),
            Command::HMGet(_, fields) if fields.is_empty() => arity("hmget"),
            // A missing key is a hash without fields: a nil for each.
            Command::HMGet(k, fields) => {
                let nils = Frame::Array(vec![Frame::Null; fields.len()]);
                self.read_hash(*k, nils, |h| {
                    Frame::Array(
                        fields
                            .iter()
                            .map(|f| Frame::bulk_or_null(field_value(h, f.bytes())))
                            .collect(),
                    )
                })
            }
            Command::HDel(_, fields) if fields.is_empty() => arity("hdel"),
            Command::HDel(k, fields) => {
                let hash = match self.lookup_hash(k.bytes()) {
                    Ok(Some(hash)) => hash,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                // A field named twice is deleted once.
                let before = hash.len();
                hash.retain(|(f, _)| !fields.iter().any(|g| g.bytes() == f.as_slice()));
                let deleted = before - hash.len();
                if hash.is_empty() {
                    self.entries.remove(k.bytes());
                }
                int(deleted as i64)
            }
            Command::HLen(k) => self.read_hash(*k, int(0), |h| int(h.len() as i64)),
            Command::HExists(k, f) => self.read_hash(*k, int(0), |h| {
                int(i64::from(field_value(h, f.bytes()).is_some()))
            }),
            Command::HStrlen(k, f) => self.read_hash(*k, int(0), |h| {
                int(field_value(h, f.bytes()).map_or(0, <[u8]>::len) as i64)
            }),
            Command::HIncrBy(k, f, n) => self.hincrby(k.bytes(), f.bytes(), *n),
            // RESP3 calls it a map (RESP2 sends it as a flat array).
            Command::HGetAll(k) => self.read_hash(*k, Frame::Map(Vec::new()), |h| {
                Frame::Map(
                    h.iter()
                        .map(|(f, v)| (Frame::bulk(f), Frame::bulk(v)))
                        .collect(),
                )
            }),
            Command::HKeys(k) => self.read_hash(*k, Frame::Array(Vec::new()), |h| {
                Frame::Array(h.iter().map(|(f, _)| Frame::bulk(f)).collect())
            }),
            Command::HVals(k) => self.read_hash(*k, Frame::Array(Vec::new()), |h| {
                Frame::Array(h.iter().map(|(_, v)| Frame::bulk(v)).collect())
            }),
            _ => unreachable!("apply sends only hash commands here"),
        }
    }

    /// `hincrbyCommand`: the increment is parsed first, then the key is
    /// looked up (and created); the field's value must be a `string2ll`
    /// integer, and the sum must fit.
    fn hincrby(&mut self, key: &[u8], field: &[u8], by: Num) -> Frame {
        let Some(by) = parse_num(by) else {
            return err(NOT_INTEGER);
        };
        let hash = match self.hash_or_create(key) {
            Ok(hash) => hash,
            Err(e) => return e,
        };
        // The key can only be new if the field is: the errors below leave
        // no empty hash behind.
        let current = match field_value(hash, field) {
            None => 0,
            Some(value) => match string2ll(value) {
                Some(n) => n,
                None => return err("ERR hash value is not an integer"),
            },
        };
        let Some(new) = current.checked_add(by) else {
            return err(OVERFLOW);
        };
        hash_set(hash, field, new.to_string().into_bytes());
        int(new)
    }
}

//! Sets (`t_set.c`): members in byte order, the order [`comparable`] puts
//! the server's set replies in.

use std::collections::BTreeSet;

use myongoredis_core::Frame;

use super::{arity, err, int, Entry, Members, Model, Value, WRONGTYPE};
use crate::command::{Command, Key};

/// What SINTER, SUNION and SDIFF (and their STORE forms) compute.
#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// A set reply (RESP3 `~`; an array in RESP2): the members in byte order,
/// the order [`comparable`] puts the server's reply in.
fn members_reply<'a>(members: impl IntoIterator<Item = &'a Vec<u8>>) -> Frame {
    let sorted: BTreeSet<&Vec<u8>> = members.into_iter().collect();
    Frame::Set(sorted.into_iter().map(|m| Frame::bulk(m)).collect())
}

impl Model {
    /// A read of the set at `key`: `missing` if there is none, WRONGTYPE
    /// for another type.
    fn read_set(&mut self, key: Key, missing: Frame, f: impl FnOnce(&Members) -> Frame) -> Frame {
        match self.lookup_set(key.bytes()) {
            Ok(Some(set)) => f(set),
            Ok(None) => missing,
            Err(e) => e,
        }
    }

    pub(super) fn set_command(&mut self, cmd: &Command) -> Frame {
        match cmd {
            Command::SAdd(_, members) if members.is_empty() => arity("sadd"),
            Command::SAdd(k, members) => {
                // setTypeLookupWriteOrCreate
                match self.lookup_set(k.bytes()) {
                    Err(e) => return e,
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        self.insert(k.bytes(), Entry::persistent(Value::Set(Members::new())))
                    }
                }
                let Ok(Some(set)) = self.lookup_set(k.bytes()) else {
                    unreachable!("a set was stored at this key above")
                };
                int(members
                    .iter()
                    .filter(|m| set.insert(m.bytes().to_vec()))
                    .count() as i64)
            }
            Command::SRem(_, members) if members.is_empty() => arity("srem"),
            Command::SRem(k, members) => {
                let set = match self.lookup_set(k.bytes()) {
                    Ok(Some(set)) => set,
                    Ok(None) => return int(0),
                    Err(e) => return e,
                };
                let removed = members.iter().filter(|m| set.remove(m.bytes())).count();
                if set.is_empty() {
                    self.entries.remove(k.bytes());
                }
                int(removed as i64)
            }
            Command::SCard(k) => self.read_set(*k, int(0), |s| int(s.len() as i64)),
            Command::SIsMember(k, m) => {
                self.read_set(*k, int(0), |s| int(i64::from(s.contains(m.bytes()))))
            }
            Command::SMIsMember(_, members) if members.is_empty() => arity("smismember"),
            Command::SMIsMember(k, members) => {
                let is_member = |s: Option<&Members>| {
                    Frame::Array(
                        members
                            .iter()
                            .map(|m| int(i64::from(s.is_some_and(|s| s.contains(m.bytes())))))
                            .collect(),
                    )
                };
                let missing = is_member(None);
                self.read_set(*k, missing, |s| is_member(Some(s)))
            }
            // Redis 7.0 runs SMEMBERS as an SINTER of one key.
            Command::SMembers(k) => self.set_op(SetOp::Inter, None, &[*k]),
            // The table's arity (-2, -3 for the STORE forms) is checked
            // before anything else.
            Command::SInter(keys) | Command::SUnion(keys) | Command::SDiff(keys)
                if keys.is_empty() =>
            {
                arity(&String::from_utf8_lossy(&cmd.args()[0]).to_ascii_lowercase())
            }
            Command::SInterStore(_, keys)
            | Command::SUnionStore(_, keys)
            | Command::SDiffStore(_, keys)
                if keys.is_empty() =>
            {
                arity(&String::from_utf8_lossy(&cmd.args()[0]).to_ascii_lowercase())
            }
            Command::SInter(keys) => self.set_op(SetOp::Inter, None, keys),
            Command::SUnion(keys) => self.set_op(SetOp::Union, None, keys),
            Command::SDiff(keys) => self.set_op(SetOp::Diff, None, keys),
            Command::SInterStore(d, keys) => self.set_op(SetOp::Inter, Some(*d), keys),
            Command::SUnionStore(d, keys) => self.set_op(SetOp::Union, Some(*d), keys),
            Command::SDiffStore(d, keys) => self.set_op(SetOp::Diff, Some(*d), keys),
            Command::SMove(src, dst, m) => self.smove(src.bytes(), dst.bytes(), m.bytes()),
            _ => unreachable!("apply sends only set commands here"),
        }
    }

    /// `sinterGenericCommand` and `sunionDiffGenericCommand`: every key is
    /// looked up in order, and the first that is not a set ends the command
    /// with WRONGTYPE (the keys after it are not looked up); a missing key
    /// is an empty set. The STORE form replaces `dst` (of any type, TTL
    /// dropped: `setKey`) with the result, or deletes it if the result is
    /// empty, and replies with the result's size.
    fn set_op(&mut self, op: SetOp, dst: Option<Key>, keys: &[Key]) -> Frame {
        let mut sets: Vec<Option<Members>> = Vec::new();
        for k in keys {
            match self.lookup_set(k.bytes()) {
                Ok(set) => sets.push(set.cloned()),
                Err(e) => return e,
            }
        }
        let empty = Members::new();
        let result: Members = match op {
            // A missing key makes the intersection empty.
            SetOp::Inter if sets.iter().any(Option::is_none) => Members::new(),
            SetOp::Inter => {
                let (first, rest) = sets.split_first().expect("at least one key");
                let first = first.as_ref().unwrap_or(&empty);
                first
                    .iter()
                    .filter(|m| rest.iter().flatten().all(|s| s.contains(*m)))
                    .cloned()
                    .collect()
            }
            SetOp::Union => sets.iter().flatten().flatten().cloned().collect(),
            SetOp::Diff => {
                let (first, rest) = sets.split_first().expect("at least one key");
                first
                    .as_ref()
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|m| !rest.iter().flatten().any(|s| s.contains(*m)))
                    .cloned()
                    .collect()
            }
        };
        let Some(dst) = dst else {
            return members_reply(&result);
        };
        let size = result.len();
        if result.is_empty() {
            // `dbDelete`: removed even if it has expired and was not yet.
            self.entries.remove(dst.bytes());
        } else {
            self.insert(dst.bytes(), Entry::persistent(Value::Set(result)));
        }
        int(size as i64)
    }

    /// `smoveCommand`: both keys are looked up first; a missing source is 0
    /// even if the destination has the wrong type.
    fn smove(&mut self, src: &[u8], dst: &[u8], member: &[u8]) -> Frame {
        let mut is_set = |key| self.lookup(key).map(|e| matches!(e.value, Value::Set(_)));
        match (is_set(src), is_set(dst)) {
            (None, _) => return int(0),
            (Some(true), None | Some(true)) => {}
            _ => return err(WRONGTYPE),
        }
        let Ok(Some(set)) = self.lookup_set(src) else {
            unreachable!("checked to be a set above")
        };
        // The same key: a no-op that tells whether the member is there.
        if src == dst {
            return int(i64::from(set.contains(member)));
        }
        if !set.remove(member) {
            return int(0);
        }
        if set.is_empty() {
            self.entries.remove(src);
        }
        match self.lookup_set(dst) {
            Ok(Some(set)) => {
                set.insert(member.to_vec());
            }
            _ => {
                let set = Members::from([member.to_vec()]);
                self.insert(dst, Entry::persistent(Value::Set(set)));
            }
        }
        int(1)
    }
}

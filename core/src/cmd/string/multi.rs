//! The multi-key string commands: MSET, MSETNX, MGET.
//!
//! Their keys may live in different keyspaces (in shard mode, under
//! different locks). The executor has taken every lock their keys need,
//! in ascending order, before the handler runs and holds them until it
//! returns, so each command is atomic as in Redis. The handlers reach each
//! key through `view.ks(key)` / `view.ks_mut(key)`, never through one
//! keyspace cached for several keys.

use bytes::Bytes;

use super::{set_string, string_at, Expiry};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

/// MSET key value [key value ...]
pub(super) fn mset(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    // The arity (-3) only says "at least one pair"; an unpaired key is
    // reported with the same wrong-arity error.
    if args.len() % 2 == 0 {
        return Ok(error::wrong_arity(ctx.spec.name));
    }
    set_pairs(view, args, ctx.now_ms())?;
    Ok(Frame::ok())
}

/// MSETNX key value [key value ...]: all or nothing, 1 if it set them.
pub(super) fn msetnx(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    if args.len() % 2 == 0 {
        return Ok(error::wrong_arity(ctx.spec.name));
    }
    // Every key is checked before any is set. In shard mode the keys may
    // live under different locks; the executor holds all of them for the
    // whole command, so no other client can create one in between.
    let now = ctx.now_ms();
    for key in args[1..].iter().step_by(2) {
        if view.ks_mut(key)?.lookup(key, now).is_some() {
            return Ok(Frame::Integer(0));
        }
    }
    set_pairs(view, args, now)?;
    Ok(Frame::Integer(1))
}

/// Store every `key value` pair of `args[1..]`, in order (a repeated key
/// ends up with its last value), each in the keyspace that owns it.
///
/// Every key's lock is checked before the first is written, so a plan that
/// missed one leaves no half-applied MSET behind.
fn set_pairs(view: &mut WriteView<'_>, args: &[Bytes], now_ms: u64) -> Result<(), KeyOutsidePlan> {
    for key in args[1..].iter().step_by(2) {
        view.ks(key)?;
    }
    for pair in args[1..].chunks_exact(2) {
        let key = &pair[0];
        let mut ks = view.ks_mut(key)?;
        // Redis's `setKey` looks the key up for writing: an expired one
        // is deleted (and signalled) before it is replaced.
        ks.lookup(key, now_ms);
        set_string(&mut ks, key, &pair[1], Expiry::Clear, now_ms);
    }
    Ok(())
}

/// MGET key [key ...]
pub(super) fn mget(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    let mut values = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        // Unlike GET, a key of another type is no error here, just nil.
        values.push(match string_at(view.ks(key)?, key, now) {
            Ok(Some(value)) => Frame::bulk(value),
            _ => Frame::Null,
        });
    }
    Ok(Frame::Array(values))
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::store::{lock_of, Mode};
    use crate::testkit::*;

    #[test]
    fn mset_and_mget() {
        check_all_modes(&[
            (&["MSET", "a", "1", "b", "2", "c", "3"], ok()),
            (
                &["MGET", "a", "b", "missing", "c"],
                arr(vec![bulk("1"), bulk("2"), Frame::Null, bulk("3")]),
            ),
            (&["MSET", "a", "x", "a", "y"], ok()),
            (&["GET", "a"], bulk("y")),
            (&["MGET", "a"], arr(vec![bulk("y")])),
            (
                &["MSET", "a"],
                err("ERR wrong number of arguments for 'mset' command"),
            ),
            (
                &["MSET", "a", "1", "b"],
                err("ERR wrong number of arguments for 'mset' command"),
            ),
            (&["GET", "b"], bulk("2")),
            (
                &["MGET"],
                err("ERR wrong number of arguments for 'mget' command"),
            ),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "a", "v", "EX", "100"]);
            db.cmd(&["MSET", "a", "w"]);
            assert_eq!(db.cmd(&["TTL", "a"]), int(-1), "MSET drops the TTL");
            db.cmd(&["SET", "gone", "v", "PX", "1"]);
            db.advance_ms(2);
            assert_eq!(
                db.cmd(&["MGET", "gone", "a"]),
                arr(vec![Frame::Null, bulk("w")])
            );
            assert_eq!(
                db.cmd_bytes(&[b"MSET", b"\x00k", b"\xff\r\n", b"k\x00", b""]),
                ok()
            );
            assert_eq!(
                db.cmd_bytes(&[b"MGET", b"\x00k", b"k\x00", b"k"]),
                arr(vec![
                    Frame::bulk(b"\xff\r\n"),
                    Frame::bulk(b""),
                    Frame::Null
                ])
            );
        }
    }

    #[test]
    fn msetnx_is_all_or_nothing() {
        check_all_modes(&[
            (&["MSETNX", "a", "1", "b", "2"], int(1)),
            (&["MSETNX", "b", "x", "c", "3"], int(0)),
            (
                &["MGET", "a", "b", "c"],
                arr(vec![bulk("1"), bulk("2"), Frame::Null]),
            ),
            (&["MSETNX", "d", "1", "d", "2"], int(1)),
            (&["GET", "d"], bulk("2")),
            (
                &["MSETNX", "a"],
                err("ERR wrong number of arguments for 'msetnx' command"),
            ),
            (
                &["MSETNX", "x", "1", "y"],
                err("ERR wrong number of arguments for 'msetnx' command"),
            ),
            (&["EXISTS", "x"], int(0)),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "t", "v", "PX", "1"]);
            db.advance_ms(2);
            assert_eq!(
                db.cmd(&["MSETNX", "t", "new", "u", "1"]),
                int(1),
                "expired keys are missing"
            );
            assert_eq!(db.cmd(&["GET", "t"]), bulk("new"));
        }
    }

    /// Keys that land on `count` different shards of an 8-shard store.
    fn keys_on_different_shards(count: usize) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let mut shards = Vec::new();
        for i in 0.. {
            let key = format!("key:{i}");
            let shard = lock_of(key.as_bytes(), 8);
            if !shards.contains(&shard) {
                shards.push(shard);
                keys.push(key);
                if keys.len() == count {
                    break;
                }
            }
        }
        keys
    }

    #[test]
    fn multi_key_commands_span_shards() {
        let keys = keys_on_different_shards(5);
        let mut db = TestDb::new(Mode::Shard, 8);
        let mut mset = vec!["MSET"];
        for k in &keys[..4] {
            mset.extend([k.as_str(), k.as_str()]);
        }
        assert_eq!(db.cmd(&mset), ok());
        let mut mget = vec!["MGET"];
        mget.extend(keys.iter().map(String::as_str));
        let mut want: Vec<Frame> = keys[..4].iter().map(|k| bulk(k)).collect();
        want.push(Frame::Null);
        assert_eq!(db.cmd(&mget), arr(want));
        // MSETNX over five shards, one key taken: nothing is written anywhere.
        let mut msetnx = vec!["MSETNX", keys[4].as_str(), "new"];
        msetnx.extend([keys[0].as_str(), "new"]);
        assert_eq!(db.cmd(&msetnx), int(0));
        assert_eq!(db.cmd(&["EXISTS", &keys[4]]), int(0));
        assert_eq!(db.cmd(&["DEL", &keys[0]]), int(1));
        assert_eq!(db.cmd(&msetnx), int(1));
        assert_eq!(
            db.cmd(&["MGET", &keys[4], &keys[0]]),
            arr(vec![bulk("new"), bulk("new")])
        );
    }
}

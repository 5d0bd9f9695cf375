//! GETEX: GET that may also change the key's TTL, and so is a write
//! (Redis's `getexCommand`). Propagated as what it did to the TTL:
//! `PEXPIREAT key <abs ms>`, `PERSIST key`, or `DEL key` for a deadline
//! already reached; a plain GETEX propagates nothing.

use bytes::Bytes;

use super::{string_at, TimeArg};
use crate::cmd::is_keyword;
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::signal::number;
use crate::signal::words::{DEL, PERSIST, PEXPIREAT};
use crate::store::{KeyOutsidePlan, WriteView};

/// What GETEX does to the key's TTL.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum GetExAction<'a> {
    /// No option: GETEX is a GET.
    Keep,
    /// PERSIST: remove the TTL.
    Persist,
    /// EX / PX / EXAT / PXAT and its argument.
    Expire(TimeArg, &'a [u8]),
}

/// GETEX's options, as Redis's `parseExtendedStringArgumentsOrReply` reads
/// them for GET: PERSIST and one time unit exclude each other; the same
/// option may repeat (the last one wins); anything else, including SET's
/// NX/XX/GET/KEEPTTL, is a syntax error.
pub(super) fn parse_getex_options(args: &[Bytes]) -> Option<GetExAction<'_>> {
    let mut action = GetExAction::Keep;
    let mut i = 2;
    while i < args.len() {
        let opt = &args[i];
        if is_keyword(opt, "persist") && !matches!(action, GetExAction::Expire(..)) {
            action = GetExAction::Persist;
        } else if let Some(unit) = TimeArg::parse(opt) {
            let compatible = match action {
                GetExAction::Keep => true,
                GetExAction::Persist => false,
                GetExAction::Expire(seen, _) => seen == unit,
            };
            let arg = args.get(i + 1).filter(|_| compatible)?;
            action = GetExAction::Expire(unit, arg);
            i += 1;
        } else {
            return None;
        }
        i += 1;
    }
    Some(action)
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ts-ms | PERSIST]
pub(super) fn getex(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    // The syntax is checked first; the expire time only once the key is
    // known to exist (so `GETEX missing EX 0` is nil, not an error).
    let Some(action) = parse_getex_options(args) else {
        return Ok(Frame::static_error(error::SYNTAX));
    };
    let (key, now) = (&args[1], ctx.now_ms());
    let mut ks = view.ks_mut(key)?;
    ks.lookup(key, now);
    let value = match string_at(&ks, key, now) {
        Err(e) => return Ok(e),
        Ok(None) => return Ok(Frame::Null),
        Ok(Some(value)) => Frame::bulk(value),
    };
    match action {
        GetExAction::Keep => {}
        GetExAction::Persist => {
            if ks.set_expire(key, None, now) {
                ks.propagate_as(vec![PERSIST, key.clone()]);
            }
        }
        GetExAction::Expire(unit, arg) => {
            let at = match unit.deadline(arg, now, "getex") {
                Ok(at) => at,
                Err(e) => return Ok(e),
            };
            // A deadline already reached (EXAT/PXAT in the past, or now)
            // deletes the key at once, as Redis's `checkAlreadyExpired`.
            // Propagated as the absolute deadline, or as the deletion.
            if at <= now {
                ks.remove(key, now);
                ks.propagate_as(vec![DEL, key.clone()]);
            } else {
                ks.set_expire(key, Some(at), now);
                ks.propagate_as(vec![PEXPIREAT, key.clone(), number(at)]);
            }
        }
    }
    Ok(value)
}

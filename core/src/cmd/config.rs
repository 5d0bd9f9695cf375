//! CONFIG GET | SET | RESETSTAT | REWRITE: the registry
//! ([`crate::config`]) as clients see it. Redis 7.0's replies and errors.

use bytes::Bytes;

use crate::config::{ApplyFn, Param, Value};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;

/// CONFIG GET pattern [pattern ...]: name/value pairs, each name once.
pub(crate) fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    // A map: `%` in RESP3, a flat name, value, ... array in RESP2.
    Frame::Map(
        ctx.exec
            .config()
            .matching(&args[2..])
            .into_iter()
            .map(|(name, value)| (Frame::Bulk(name), Frame::bulk(value.as_bytes())))
            .collect(),
    )
}

/// CONFIG SET parameter value [parameter value ...]: all pairs or none
/// (see [`crate::config::Config::set_many`]). A parameter the shell
/// applies (`timeout`, `maxclients`) is unknown without a shell.
pub(crate) fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    // Arity (at least one pair) is checked by the caller; a name without
    // its value is a syntax error in Redis 7, not an arity error.
    if args.len() % 2 != 0 {
        return Frame::static_error(error::SYNTAX);
    }
    let pairs: Vec<(Bytes, Bytes)> = args[2..]
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();
    let hooks = ctx.exec.hooks();
    let apply_with = |param: &'static Param, value: &Value| {
        hooks.map_or(Ok(()), |h| h.apply_config(param, value))
    };
    let apply: Option<ApplyFn<'_>> = match hooks {
        Some(_) => Some(&apply_with),
        None => None,
    };
    match ctx.exec.config().set_many(&pairs, apply) {
        Ok(()) => {
            // maxmemory, the policy and the LFU knobs are cached where
            // they are used: re-read them.
            ctx.exec.apply_memory_config();
            Frame::ok()
        }
        Err(e) => Frame::error(format!("ERR {e}")),
    }
}

/// CONFIG RESETSTAT: the shell's counters (INFO stats) back to zero.
pub(crate) fn resetstat(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if let Some(hooks) = ctx.exec.hooks() {
        hooks.reset_stats(ctx.exec.store());
    }
    ctx.exec.reset_evicted_keys();
    Frame::ok()
}

/// CONFIG REWRITE: the shell rewrites the file it was started with
/// ([`crate::config::file::rewrite`] makes the text).
pub(crate) fn rewrite(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    let done = match ctx.exec.hooks() {
        Some(hooks) => hooks.rewrite_config(ctx.exec.config()),
        None => Err(NO_CONFIG_FILE.to_string()),
    };
    match done {
        Ok(()) => Frame::ok(),
        Err(e) => Frame::error(format!("ERR {e}")),
    }
}

/// Redis's reply to CONFIG REWRITE when started without a file.
pub const NO_CONFIG_FILE: &str = "The server is running without a config file";

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

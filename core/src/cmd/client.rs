//! CLIENT: a connection's view of itself (ID, GETNAME, SETNAME, SETINFO,
//! REPLY, NO-EVICT) and of the others (LIST, INFO, KILL, PAUSE, UNPAUSE).
//!
//! The first kind is [`Session`](crate::Session) state. The second needs
//! the live connections, which only the shell knows: it lends them as a
//! [`ClientRegistry`](crate::clients::ClientRegistry). Parsing and every
//! error are here, in Redis 7.0's order (`clientCommand` in
//! `networking.c`), so they are the same with or without a shell.
//!
//! Not implemented: CACHING, GETREDIR, TRACKING, TRACKINGINFO, UNBLOCK
//! (no tracking, no blocking commands yet) and HELP; they get Redis's
//! unknown-subcommand error.

use bytes::Bytes;

use super::{is_keyword, parse_i64, spec, subcommand, NO_KEYS};
use crate::clients::{ClientInfo, ClientRegistry, ClientType, KillFilter, PauseMode};
use crate::cmd::{CommandSpec, Handler};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::Frame;
use crate::session::ReplyMode;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("client", -2, 0, NO_KEYS, "connection", "A container for client connection commands.", "2.4.0", Handler::Server(client)),
];

/// Without a shell (the simulator, unit tests) there is no registry of
/// connections to list, kill or pause.
const NO_REGISTRY: &str =
    "ERR this command needs the server's registry of connections, which this engine runs without";

fn client(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    subcommand(
        ctx,
        args,
        "client",
        &[
            ("id", 2, |ctx, _| Frame::Integer(ctx.session.id as i64)),
            ("getname", 2, |ctx, _| match &ctx.session.name {
                Some(name) => Frame::Bulk(name.clone()),
                None => Frame::Null,
            }),
            ("setname", 3, setname),
            ("setinfo", 4, setinfo),
            ("reply", 3, reply),
            ("no-evict", 3, no_evict),
            ("list", -2, list),
            ("info", 2, info),
            ("kill", -3, kill),
            ("pause", -3, pause),
            ("unpause", 2, unpause),
        ],
    )
}

fn setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    match valid_name(&args[2]) {
        Ok(()) => {
            set_name(ctx, &args[2]);
            Frame::ok()
        }
        Err(e) => e,
    }
}

/// May `name` name a connection (CLIENT SETNAME, HELLO SETNAME)? Names
/// must survive CLIENT LIST's space-separated format: printable ASCII
/// without spaces (Redis's `validateClientName`).
pub(crate) fn valid_name(name: &[u8]) -> Result<(), Frame> {
    if printable(name) {
        Ok(())
    } else {
        Err(Frame::static_error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

/// Name the connection; an empty name removes the name.
pub(crate) fn set_name(ctx: &mut Ctx<'_>, name: &Bytes) {
    // A copy: the argument is a slice of the connection's input buffer,
    // which a name kept for the connection's life would pin.
    ctx.session.name = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
}

fn printable(s: &[u8]) -> bool {
    s.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// CLIENT SETINFO LIB-NAME name | LIB-VER version.
///
/// Redis 7.0.15 does not have it (7.2 added it): there it is an unknown
/// subcommand. It is accepted here because redis-py 8 and node-redis 6
/// send it on every connection (and ignore the error 7.0 gives); the
/// values show in CLIENT LIST as 7.2 shows them. Replies and errors are
/// Redis 7.2's `clientSetinfoCommand`.
fn setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let (attr, value) = (&args[2], &args[3]);
    let slot = if is_keyword(attr, "lib-name") {
        &mut ctx.session.lib_name
    } else if is_keyword(attr, "lib-ver") {
        &mut ctx.session.lib_ver
    } else {
        return Frame::error(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        ));
    };
    if !printable(value) {
        return Frame::error(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        ));
    }
    *slot = (!value.is_empty()).then(|| value.clone());
    Frame::ok()
}

/// CLIENT REPLY ON | OFF | SKIP. OFF and SKIP have no reply of their own
/// (the executor drops it, see [`ReplyMode`]); ON answers `+OK` even after
/// OFF. SKIP while OFF changes nothing, as in Redis.
fn reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mode = &mut ctx.session.reply;
    if is_keyword(&args[2], "on") {
        *mode = ReplyMode::On;
    } else if is_keyword(&args[2], "off") {
        *mode = ReplyMode::Off;
    } else if is_keyword(&args[2], "skip") {
        if *mode != ReplyMode::Off {
            *mode = ReplyMode::SkipNext;
        }
    } else {
        return Frame::static_error(error::SYNTAX);
    }
    Frame::ok()
}

/// CLIENT NO-EVICT ON | OFF. There is no client eviction (no maxmemory
/// yet), so the flag is recorded and shown (CLIENT LIST `flags=e`) only.
fn no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if is_keyword(&args[2], "on") {
        ctx.session.no_evict = true;
    } else if is_keyword(&args[2], "off") {
        ctx.session.no_evict = false;
    } else {
        return Frame::static_error(error::SYNTAX);
    }
    Frame::ok()
}

/// The registry, or the error without a shell.
fn registry<'c>(ctx: &Ctx<'c>) -> Result<&'c dyn ClientRegistry, Frame> {
    ctx.exec.clients().ok_or(Frame::static_error(NO_REGISTRY))
}

/// Every client, the asking one described as it is now, with the command
/// it is running (`client|list`) as its last command.
fn clients(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<Vec<ClientInfo>, Frame> {
    let registry = registry(ctx)?;
    let me = ctx.session.id;
    let cmd = super::full_name(args).unwrap_or_default();
    Ok(registry
        .list(ctx.session)
        .into_iter()
        .map(|c| {
            if c.id == me {
                // Running a command now: not idle (Redis's lastinteraction
                // is the read of this very command).
                ClientInfo {
                    cmd: cmd.clone(),
                    idle: 0,
                    ..c.with_session(ctx.session)
                }
            } else {
                c
            }
        })
        .collect())
}

/// CLIENT LIST [TYPE type | ID id [id ...]]
fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    enum Only {
        All,
        Type(ClientType),
        Ids(Vec<i64>),
    }
    let only = if args.len() == 4 && is_keyword(&args[2], "type") {
        match ClientType::parse(&args[3]) {
            Some(t) => Only::Type(t),
            None => return unknown_type(&args[3]),
        }
    } else if args.len() > 3 && is_keyword(&args[2], "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for id in &args[3..] {
            match parse_i64(id) {
                Some(id) => ids.push(id),
                None => return Frame::static_error("ERR Invalid client ID"),
            }
        }
        Only::Ids(ids)
    } else if args.len() != 2 {
        return Frame::static_error(error::SYNTAX);
    } else {
        Only::All
    };
    let all = match clients(ctx, args) {
        Ok(all) => all,
        Err(e) => return e,
    };
    let mut text = String::new();
    let add = |c: &ClientInfo| {
        text.push_str(&c.line());
        text.push('\n');
    };
    match only {
        Only::All | Only::Type(ClientType::Normal) => all.iter().for_each(add),
        Only::Type(_) => {}
        // In the order asked, once per mention, as Redis.
        Only::Ids(ids) => ids
            .iter()
            .filter_map(|&id| all.iter().find(|c| c.id as i64 == id))
            .for_each(add),
    }
    Frame::Verbatim(Bytes::from(text))
}

/// CLIENT INFO: this client's CLIENT LIST line.
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let all = match clients(ctx, args) {
        Ok(all) => all,
        Err(e) => return e,
    };
    match all.iter().find(|c| c.id == ctx.session.id) {
        Some(me) => Frame::Verbatim(Bytes::from(me.line() + "\n")),
        None => Frame::static_error(NO_REGISTRY),
    }
}

fn unknown_type(name: &[u8]) -> Frame {
    Frame::error(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(name)
    ))
}

/// CLIENT KILL ip:port | CLIENT KILL filter value [filter value ...]
///
/// The old form kills by address (the asking client too) and answers
/// `+OK` or "No such client"; the new form answers how many it killed and
/// spares the asking client unless SKIPME no. A killed asking client is
/// closed after its reply.
fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(args[2].clone()),
            ..KillFilter::default()
        }
    } else {
        match kill_filter(&args[2..]) {
            Ok(filter) => filter,
            Err(e) => return e,
        }
    };
    let registry = match registry(ctx) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let killed = registry.kill(ctx.session, &filter);
    if killed.me {
        ctx.flow = Flow::Close;
    }
    match (old_form, killed.count) {
        (true, 0) => Frame::static_error("ERR No such client"),
        (true, _) => Frame::ok(),
        (false, n) => Frame::Integer(n as i64),
    }
}

/// The new form's `filter value` pairs, checked in order; the first bad
/// one is the error (Redis's loop in `clientCommand`).
fn kill_filter(pairs: &[Bytes]) -> Result<KillFilter, Frame> {
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let syntax = || Frame::static_error(error::SYNTAX);
    let mut i = 0;
    while i < pairs.len() {
        let (option, value) = (&pairs[i], pairs.get(i + 1).ok_or_else(syntax)?);
        if is_keyword(option, "id") {
            match parse_i64(value) {
                Some(id) if id >= 1 => filter.id = Some(id as u64),
                _ => {
                    return Err(Frame::static_error(
                        "ERR client-id should be greater than 0",
                    ))
                }
            }
        } else if is_keyword(option, "type") {
            filter.client_type = Some(ClientType::parse(value).ok_or_else(|| unknown_type(value))?);
        } else if is_keyword(option, "addr") {
            filter.addr = Some(value.clone());
        } else if is_keyword(option, "laddr") {
            filter.laddr = Some(value.clone());
        } else if is_keyword(option, "user") {
            if &value[..] != super::auth::DEFAULT_USER.as_bytes() {
                return Err(Frame::error(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(value)
                )));
            }
            filter.user = Some(value.clone());
        } else if is_keyword(option, "skipme") {
            filter.skip_me = if is_keyword(value, "yes") {
                true
            } else if is_keyword(value, "no") {
                false
            } else {
                return Err(syntax());
            };
        } else {
            return Err(syntax());
        }
        i += 2;
    }
    Ok(filter)
}

/// CLIENT PAUSE timeout [WRITE | ALL]: hold other clients' commands (all
/// of them, or those that write) until `timeout` milliseconds from now or
/// CLIENT UNPAUSE. The shell holds them, each in its own thread, without
/// any lock of the store.
fn pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if args.len() > 4 {
        // Redis checks this count inside `clientCommand`, after the table's
        // arity (-3) let the command through.
        return Frame::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1])
        ));
    }
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(m) if is_keyword(m, "write") => PauseMode::Write,
        Some(m) if is_keyword(m, "all") => PauseMode::All,
        Some(_) => return Frame::static_error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    // Redis's getTimeoutFromObjectOrReply in milliseconds.
    let timeout = match parse_i64(&args[2]) {
        None => return Frame::static_error(error::NOT_INTEGER_OR_RANGE_TIMEOUT),
        Some(t) if t < 0 => return Frame::static_error("ERR timeout is negative"),
        Some(t) => t,
    };
    // Redis 7.0 adds the clock with no overflow check (7.2 added "timeout
    // is out of range"): a sum that wraps negative is a pause that has
    // already ended, and the reply is still +OK.
    let until = match timeout {
        0 => 0,
        t => t.wrapping_add(ctx.now_ms() as i64).max(0),
    };
    match registry(ctx) {
        Ok(registry) => {
            registry.pause(until as u64, mode);
            Frame::ok()
        }
        Err(e) => e,
    }
}

fn unpause(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    match registry(ctx) {
        Ok(registry) => {
            registry.unpause();
            Frame::ok()
        }
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests;

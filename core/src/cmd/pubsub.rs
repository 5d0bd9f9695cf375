//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, PUBSUB. None touches a key; the registry is the executor's
//! ([`crate::pubsub::PubSub`]), the subscriptions of a client are its
//! session's. (UN)SUBSCRIBE answer once per channel: several replies to
//! one command ([`Frame::Many`]), push frames in RESP3.

use bytes::Bytes;

use super::{spec, subcommand, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::exec::Ctx;
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS, "pubsub", "Listen for messages published to the given channels", "2.0.0", Handler::Server(subscribe)),
    spec("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS, "pubsub", "Stop listening for messages posted to the given channels", "2.0.0", Handler::Server(unsubscribe)),
    spec("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS, "pubsub", "Listen for messages published to channels matching the given patterns", "2.0.0", Handler::Server(psubscribe)),
    spec("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS, "pubsub", "Stop listening for messages posted to channels matching the given patterns", "2.0.0", Handler::Server(punsubscribe)),
    spec("publish", 3, PUBSUB | LOADING | STALE | FAST, NO_KEYS, "pubsub", "Post a message to a channel", "2.0.0", Handler::Server(publish)),
    spec("pubsub", -2, 0, NO_KEYS, "pubsub", "A container for Pub/Sub commands", "2.8.0", Handler::Server(pubsub)),
];

/// `[kind, name, count]`: the reply for each (un)subscribed name.
fn notice(kind: &'static str, name: Option<&Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::bulk(kind.as_bytes()),
        name.map_or(Frame::Null, |n| Frame::Bulk(n.clone())),
        Frame::Integer(count as i64),
    ])
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut replies = Vec::with_capacity(args.len() - 1);
    for channel in &args[1..] {
        let s = &mut *ctx.session;
        if !s.channels.contains(channel) {
            // Copies: arguments are slices of the input buffer, which a
            // subscription kept for hours would pin (see pipeline.rs).
            let channel = Bytes::copy_from_slice(channel);
            s.channels.push(channel.clone());
            ctx.exec.pubsub().subscribe(s.id, s.sink.clone(), &channel);
        }
        replies.push(notice(
            "subscribe",
            Some(channel),
            ctx.session.subscription_count(),
        ));
    }
    Frame::Many(replies)
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut replies = Vec::with_capacity(args.len() - 1);
    for pattern in &args[1..] {
        let s = &mut *ctx.session;
        if !s.patterns.contains(pattern) {
            let pattern = Bytes::copy_from_slice(pattern);
            s.patterns.push(pattern.clone());
            ctx.exec.pubsub().psubscribe(s.id, s.sink.clone(), &pattern);
        }
        replies.push(notice(
            "psubscribe",
            Some(pattern),
            ctx.session.subscription_count(),
        ));
    }
    Frame::Many(replies)
}

/// UNSUBSCRIBE [channel ...]: the named channels, or every one; a client
/// subscribed to nothing gets one reply with a nil channel.
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let names: Vec<Bytes> = match args.len() {
        1 => ctx.session.channels.clone(),
        _ => args[1..].to_vec(),
    };
    if names.is_empty() {
        return Frame::Many(vec![notice(
            "unsubscribe",
            None,
            ctx.session.subscription_count(),
        )]);
    }
    let mut replies = Vec::with_capacity(names.len());
    for channel in &names {
        let s = &mut *ctx.session;
        if let Some(i) = s.channels.iter().position(|c| c == channel) {
            s.channels.remove(i);
            ctx.exec.pubsub().unsubscribe(s.id, channel);
        }
        replies.push(notice(
            "unsubscribe",
            Some(channel),
            ctx.session.subscription_count(),
        ));
    }
    Frame::Many(replies)
}

/// PUNSUBSCRIBE [pattern ...]
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let names: Vec<Bytes> = match args.len() {
        1 => ctx.session.patterns.clone(),
        _ => args[1..].to_vec(),
    };
    if names.is_empty() {
        return Frame::Many(vec![notice(
            "punsubscribe",
            None,
            ctx.session.subscription_count(),
        )]);
    }
    let mut replies = Vec::with_capacity(names.len());
    for pattern in &names {
        let s = &mut *ctx.session;
        if let Some(i) = s.patterns.iter().position(|p| p == pattern) {
            s.patterns.remove(i);
            ctx.exec.pubsub().punsubscribe(s.id, pattern);
        }
        replies.push(notice(
            "punsubscribe",
            Some(pattern),
            ctx.session.subscription_count(),
        ));
    }
    Frame::Many(replies)
}

/// Drop every subscription of the session (RESET, the end of the
/// connection).
pub(crate) fn unsubscribe_all(
    ctx_exec: &crate::exec::Executor,
    session: &mut crate::session::Session,
) {
    for channel in std::mem::take(&mut session.channels) {
        ctx_exec.pubsub().unsubscribe(session.id, &channel);
    }
    for pattern in std::mem::take(&mut session.patterns) {
        ctx_exec.pubsub().punsubscribe(session.id, &pattern);
    }
}

/// PUBLISH channel message: the number of clients that received it. A
/// message to the publisher itself (a RESP3 client may publish while
/// subscribed) comes before this reply, as in Redis.
fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    // Cluster mode: the other nodes' subscribers get it too (the count
    // replied is this node's receivers, as in Redis Cluster).
    if let Some(cluster) = ctx.exec.cluster() {
        cluster.shell().publish(&args[1], &args[2]);
    }
    let (count, mut own) = ctx
        .exec
        .pubsub()
        .publish(ctx.session.id, &args[1], &args[2]);
    if own.is_empty() {
        return Frame::Integer(count as i64);
    }
    own.push(Frame::Integer(count as i64));
    Frame::Many(own)
}

/// Redis's `addReplySubcommandSyntaxError`.
fn syntax(args: &[Bytes]) -> Frame {
    Frame::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT |
/// SHARDCHANNELS [pattern] | SHARDNUMSUB [channel ...] | HELP. There are
/// no shard channels (SSUBSCRIBE does not exist here): the SHARD forms
/// answer as Redis does when nobody uses them.
fn pubsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    subcommand(
        ctx,
        args,
        "pubsub",
        &[
            ("channels", -2, |ctx, args| {
                if args.len() > 3 {
                    return syntax(args);
                }
                let pattern = args.get(2).map(|p| &p[..]);
                Frame::Array(
                    ctx.exec
                        .pubsub()
                        .channels(pattern)
                        .into_iter()
                        .map(Frame::Bulk)
                        .collect(),
                )
            }),
            ("numsub", -2, |ctx, args| {
                Frame::Array(
                    args[2..]
                        .iter()
                        .flat_map(|c| {
                            [
                                Frame::Bulk(c.clone()),
                                Frame::Integer(ctx.exec.pubsub().numsub(c) as i64),
                            ]
                        })
                        .collect(),
                )
            }),
            ("numpat", 2, |ctx, _| {
                Frame::Integer(ctx.exec.pubsub().numpat() as i64)
            }),
            ("shardchannels", -2, |_, args| {
                if args.len() > 3 {
                    return syntax(args);
                }
                Frame::Array(vec![])
            }),
            ("shardnumsub", -2, |_, args| {
                Frame::Array(
                    args[2..]
                        .iter()
                        .flat_map(|c| [Frame::Bulk(c.clone()), Frame::Integer(0)])
                        .collect(),
                )
            }),
            ("help", 2, |_, _| {
                const LINES: &[&str] = &[
                    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "CHANNELS [<pattern>]",
                    "    Return the currently active channels matching a <pattern> (default: '*').",
                    "NUMPAT",
                    "    Return number of subscriptions to patterns.",
                    "NUMSUB [<channel> ...]",
                    "    Return the number of subscribers for the specified channels, excluding",
                    "    pattern subscriptions(default: no channels).",
                    "SHARDCHANNELS [<pattern>]",
                    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                    "SHARDNUMSUB [<shardchannel> ...]",
                    "    Return the number of subscribers for the specified shard level channel(s)",
                    "HELP",
                    "    Prints this help.",
                ];
                Frame::Array(LINES.iter().map(|l| Frame::simple(l)).collect())
            }),
        ],
    )
}

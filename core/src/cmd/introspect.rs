//! COMMAND: the command table describing itself (Redis's `commandCommand`
//! and friends in `server.c`).
//!
//! Clients read it to learn arities, flags and, above all, where the keys
//! are: cluster-aware clients route a command by its keys, and ask `COMMAND
//! GETKEYS` when the key specs of `COMMAND INFO` are not enough. Every
//! answer here comes from the same rows and the same key extraction the
//! executor plans its locks with, so what a client is told and what the
//! server locks cannot drift apart.

use bytes::Bytes;

use super::{is_keyword, subcommand};
use super::{spec, NO_KEYS};
use crate::cmd::{
    flags::*, has_movable_keys, key_flags, BeginSearch, CommandSpec, FindKeys, Handler, KeySpec,
};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::glob::glob_match;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("command", -1, LOADING | STALE, NO_KEYS, "server", "Returns detailed information about all commands.", "2.8.13", Handler::Server(command)).with_tips(&["nondeterministic_output_order"]),
];

/// COMMAND | COUNT | INFO [name ...] | DOCS [name ...]
/// | LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]
/// | GETKEYS cmd [arg ...] | GETKEYSANDFLAGS cmd [arg ...]
fn command(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if args.len() == 1 {
        return Frame::Array(
            super::table::all()
                .iter()
                .map(|c| command_info(c))
                .collect(),
        );
    }
    subcommand(
        ctx,
        args,
        "command",
        &[
            ("count", 2, |_, _| {
                Frame::Integer(super::table::all().len() as i64)
            }),
            ("info", -2, |_, args| {
                let rows = command_rows(&args[2..]);
                Frame::Array(
                    rows.into_iter()
                        .map(|c| c.map_or(Frame::Null, command_info))
                        .collect(),
                )
            }),
            ("docs", -2, |_, args| {
                let rows = command_rows(&args[2..]);
                // DOCS omits unknown names instead of replying nil for them.
                Frame::Map(rows.into_iter().flatten().map(command_docs).collect())
            }),
            ("list", -2, |_, args| list(args)),
            ("getkeys", -4, |_, args| getkeys(&args[2..], false)),
            ("getkeysandflags", -4, |_, args| getkeys(&args[2..], true)),
        ],
    )
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]`:
/// the names of the commands, or of those the filter keeps, as Redis
/// 7.0's `commandListCommand`. There are no modules, so MODULE keeps
/// none; PATTERN is a case-insensitive glob; ACLCAT a category name
/// without its `@`, any case.
///
/// Redis also lists subcommands (`client|list`); this table has rows for
/// whole commands only, so only those are listed. The order is the
/// table's (sorted); Redis's is its dict's, unspecified.
fn list(args: &[Bytes]) -> Frame {
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match args {
        [_, _] => Box::new(|_| true),
        [_, _, filterby, kind, value] if is_keyword(filterby, "filterby") => {
            let value = value.clone();
            if is_keyword(kind, "module") {
                Box::new(|_| false)
            } else if is_keyword(kind, "aclcat") {
                Box::new(move |c| {
                    categories(c)
                        .iter()
                        .any(|cat| cat.as_bytes()[1..].eq_ignore_ascii_case(&value))
                })
            } else if is_keyword(kind, "pattern") {
                Box::new(move |c| glob_match(&value, c.name.as_bytes(), true))
            } else {
                return Frame::static_error(error::SYNTAX);
            }
        }
        _ => return Frame::static_error(error::SYNTAX),
    };
    Frame::Array(
        super::table::all()
            .iter()
            .filter(|c| keep(c))
            .map(|c| Frame::bulk(c.name.as_bytes()))
            .collect(),
    )
}

/// The rows named in `names`, or every row when none are named.
fn command_rows(names: &[Bytes]) -> Vec<Option<&'static CommandSpec>> {
    if names.is_empty() {
        super::table::all().iter().map(|c| Some(*c)).collect()
    } else {
        names.iter().map(|n| super::table::lookup(n)).collect()
    }
}

/// `COMMAND GETKEYS[ANDFLAGS] name arg ...`: the keys of the command in
/// `argv`, as Redis's `getKeysSubcommandImpl`, checks in its order: the
/// command exists, can have keys, gets a valid argument count; then the
/// keys, or an error when these arguments name none.
fn getkeys(argv: &[Bytes], with_flags: bool) -> Frame {
    match super::table::lookup(&argv[0]) {
        None => Frame::static_error(error::GETKEYS_INVALID_COMMAND),
        Some(c) => keys_reply(c, argv, with_flags),
    }
}

/// The reply of `COMMAND GETKEYS` for the row `c` and its argv.
pub(crate) fn keys_reply(c: &CommandSpec, argv: &[Bytes], with_flags: bool) -> Frame {
    if !c.has_keys() {
        return Frame::static_error(error::GETKEYS_NO_KEYS);
    }
    if !c.arity_ok(argv.len()) {
        return Frame::static_error(error::GETKEYS_ARITY);
    }
    let keys = c.keys(argv);
    if keys.is_empty() && !c.has(NO_MANDATORY_KEYS) {
        return Frame::static_error(error::GETKEYS_INVALID_ARGS);
    }
    let keys = keys.iter().map(|k| {
        let key = Frame::Bulk(argv[k.pos].clone());
        if with_flags {
            Frame::Array(vec![key, key_flag_names(k.flags)])
        } else {
            key
        }
    });
    Frame::Array(keys.collect())
}

/// One `COMMAND INFO` entry, in Redis 7.0's ten-field shape: name, arity,
/// flags, first key, last key, step, ACL categories, tips, key specs,
/// subcommands. (Subcommands are left empty: CLIENT, COMMAND and CONFIG
/// dispatch theirs in code, not in the table.)
fn command_info(c: &CommandSpec) -> Frame {
    // `movablekeys` is derived, as Redis derives it: some key spec is not
    // a plain index range.
    let movable = if has_movable_keys(c.keys) {
        MOVABLE_KEYS
    } else {
        0
    };
    let flags = NAMES
        .iter()
        .filter(|(f, _)| (c.flags | movable) & f != 0)
        .map(|(_, n)| Frame::simple(n))
        .collect();
    let (first, last, step) = c.legacy_range();
    let tips = c.tips.iter().map(|t| Frame::bulk(t.as_bytes())).collect();
    let key_specs = c.keys.iter().map(key_spec_info).collect();
    // In RESP3 the flags, categories, tips, key specs and subcommands are
    // sets, as Redis's addReplySetLen writes them.
    Frame::Array(vec![
        Frame::bulk(c.name.as_bytes()),
        Frame::Integer(c.arity as i64),
        Frame::Set(flags),
        Frame::Integer(first as i64),
        Frame::Integer(last as i64),
        Frame::Integer(step as i64),
        acl_categories(c),
        Frame::Set(tips),
        Frame::Set(key_specs),
        Frame::Set(vec![]),
    ])
}

/// ACL categories, in Redis's category order (keyspace, read, write,
/// string, bitmap, fast/slow, connection), derived from the group and
/// flags. Redis declares them per command; the derivation matches it for
/// the key commands but not for every server command (see the tests).
fn acl_categories(c: &CommandSpec) -> Frame {
    Frame::Set(categories(c).into_iter().map(Frame::simple).collect())
}

/// [`acl_categories`] as names.
fn categories(c: &CommandSpec) -> Vec<&'static str> {
    let mut categories = vec![];
    if c.group == "generic" {
        categories.push("@keyspace");
    }
    if c.has(READONLY) {
        categories.push("@read");
    }
    if c.has(WRITE) {
        categories.push("@write");
    }
    if c.group == "set" {
        categories.push("@set");
    }
    if c.group == "sorted-set" {
        categories.push("@sortedset");
    }
    if c.group == "list" {
        categories.push("@list");
    }
    if c.group == "hash" {
        categories.push("@hash");
    }
    if c.group == "string" {
        categories.push("@string");
    }
    if c.group == "bitmap" {
        categories.push("@bitmap");
    }
    if c.has(PUBSUB) {
        categories.push("@pubsub");
    }
    // Redis's setImplicitACLCategories: an admin command is dangerous.
    // LASTSAVE declares both itself, without the admin flag.
    let admin = c.has(ADMIN) || c.name == "lastsave";
    if admin {
        categories.push("@admin");
    }
    categories.push(if c.has(FAST) { "@fast" } else { "@slow" });
    if c.has(BLOCKING) {
        categories.push("@blocking");
    }
    if admin {
        categories.push("@dangerous");
    }
    if c.group == "connection" {
        categories.push("@connection");
    }
    if c.group == "transactions" {
        categories.push("@transaction");
    }
    categories
}

/// The key-flag names of `flags`, as status replies.
fn key_flag_names(flags: u32) -> Frame {
    let names = key_flags::NAMES
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| Frame::simple(n));
    Frame::Set(names.collect())
}

/// A key spec as Redis's `addReplyCommandKeySpecs` writes it: a map
/// (flattened to an array in RESP2) of optional notes, flags, begin_search
/// and find_keys, each search a map of its type and its spec.
fn key_spec_info(k: &KeySpec) -> Frame {
    let int = |n: i32| Frame::Integer(n as i64);
    let search = |kind: &str, spec: Vec<Frame>| {
        Frame::map_from_flat(vec![
            Frame::bulk(b"type"),
            Frame::bulk(kind.as_bytes()),
            Frame::bulk(b"spec"),
            Frame::map_from_flat(spec),
        ])
    };
    let begin = match k.begin_search {
        BeginSearch::Index(pos) => search("index", vec![Frame::bulk(b"index"), int(pos)]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => search(
            "keyword",
            vec![
                Frame::bulk(b"keyword"),
                Frame::bulk(keyword.as_bytes()),
                Frame::bulk(b"startfrom"),
                int(start_from),
            ],
        ),
        BeginSearch::Unknown => search("unknown", vec![]),
    };
    let find = match k.find_keys {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => search(
            "range",
            vec![
                Frame::bulk(b"lastkey"),
                int(last_key),
                Frame::bulk(b"keystep"),
                int(key_step),
                Frame::bulk(b"limit"),
                int(limit),
            ],
        ),
        FindKeys::Keynum {
            keynum_idx,
            first_key,
            key_step,
        } => search(
            "keynum",
            vec![
                Frame::bulk(b"keynumidx"),
                int(keynum_idx),
                Frame::bulk(b"firstkey"),
                int(first_key),
                Frame::bulk(b"keystep"),
                int(key_step),
            ],
        ),
        FindKeys::Unknown => search("unknown", vec![]),
    };
    let mut fields = vec![];
    if let Some(notes) = k.notes {
        fields.extend([Frame::bulk(b"notes"), Frame::bulk(notes.as_bytes())]);
    }
    fields.extend([
        Frame::bulk(b"flags"),
        key_flag_names(k.flags),
        Frame::bulk(b"begin_search"),
        begin,
        Frame::bulk(b"find_keys"),
        find,
    ]);
    Frame::map_from_flat(fields)
}

/// One `COMMAND DOCS` entry: the name, and a map of summary, since and
/// group (both maps are flattened in RESP2).
fn command_docs(c: &CommandSpec) -> (Frame, Frame) {
    (
        Frame::bulk(c.name.as_bytes()),
        Frame::map_from_flat(vec![
            Frame::bulk(b"summary"),
            Frame::bulk(c.summary.as_bytes()),
            Frame::bulk(b"since"),
            Frame::bulk(c.since.as_bytes()),
            Frame::bulk(b"group"),
            Frame::bulk(c.group.as_bytes()),
        ]),
    )
}

#[cfg(test)]
mod tests;

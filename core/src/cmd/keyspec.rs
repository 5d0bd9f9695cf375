//! Key specs: where a command's keys are among its arguments, as Redis 7
//! describes them (`src/commands/*.json` → `keySpec` in `server.h`).
//!
//! The older `(first, last, step)` triple cannot describe a command whose
//! key count is an argument (`ZUNIONSTORE dst 2 a b`, `EVAL s 1 k`,
//! `SINTERCARD 2 a b`). A key spec splits the search in two steps:
//! * **begin search**: where the keys start: at a fixed index, or just
//!   after a keyword (`STORE`, `KEYS`) looked for from an index;
//! * **find keys**: from there, either a *range* (a last key relative to
//!   the start, or counted from the end of argv, and a stride) or a
//!   *keynum* (an argument that says how many keys follow).
//!
//! Each spec also says what the command does with the keys it finds
//! ([`key_flags`]), which `COMMAND GETKEYSANDFLAGS` reports. A command that
//! neither shape describes has a finder function on its row
//! ([`super::KeyFinder`]), Redis's `getkeys_proc`.
//!
//! The same extraction drives the lock plan, `COMMAND GETKEYS` and `COMMAND
//! INFO`, so the keys a command is told it may touch and the keys it
//! reports to clients are one list.

use bytes::Bytes;

use crate::cmd::parse_i64;

/// Key-spec flags, Redis's `CMD_KEY_*`, as `COMMAND INFO` prints them.
///
/// Exactly one of RO / RW / OW / RM says how the key is used; ACCESS /
/// UPDATE / INSERT / DELETE refine it (read the value, change it, only add
/// to it, remove it).
pub mod key_flags {
    /// Read-only: the value is read, never changed.
    pub const RO: u32 = 1 << 0;
    /// Read-write: the value is changed based on its previous content.
    pub const RW: u32 = 1 << 1;
    /// Overwrite: the value is replaced without being read.
    pub const OW: u32 = 1 << 2;
    /// Remove: the key is deleted.
    pub const RM: u32 = 1 << 3;
    /// The value (or part of it) is returned to the user.
    pub const ACCESS: u32 = 1 << 4;
    /// The value is modified (or its TTL).
    pub const UPDATE: u32 = 1 << 5;
    /// Data is only added, nothing existing is changed or deleted.
    pub const INSERT: u32 = 1 << 6;
    /// Data is deleted.
    pub const DELETE: u32 = 1 << 7;
    /// The "key" is not a key (only used to route, as in a cluster).
    pub const NOT_KEY: u32 = 1 << 8;
    /// The spec may not find every key: the finder must be asked.
    pub const INCOMPLETE: u32 = 1 << 9;
    /// The flags depend on the arguments (SET with GET): the finder says.
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    /// The names, in the order Redis's `addReplyFlagsForKeyArgs` prints.
    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for keys begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument index (the command name is index 0).
    Index(i32),
    /// Just after the first argument equal (case-insensitively) to
    /// `keyword`, searched from `start_from` towards the end, or, when
    /// `start_from` is negative, from that many arguments before the end
    /// towards the start.
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
    /// Redis's `unknown`: only the finder function knows.
    Unknown,
}

/// How the keys are found once the search has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys from the start to `last_key`, every `key_step` arguments.
    /// `last_key` ≥ 0 is relative to the start; -1 is the last argument,
    /// -2 the one before. With `limit` > 1 and `last_key` -1, only the first
    /// 1/`limit` of the remaining arguments hold keys.
    Range {
        last_key: i32,
        key_step: i32,
        limit: i32,
    },
    /// The argument `keynum_idx` after the start holds the number of
    /// keys; the first key is `first_key` after the start, then every
    /// `key_step`.
    Keynum {
        keynum_idx: i32,
        first_key: i32,
        key_step: i32,
    },
    /// Redis's `unknown`: only the finder function knows.
    Unknown,
}

/// One key spec of a command row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Shown by `COMMAND INFO` when present (why the flags are what they are).
    pub notes: Option<&'static str>,
    /// [`key_flags`].
    pub flags: u32,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// The first half of a key spec under construction: [`KeySpec::index`] or
/// [`KeySpec::keyword`], then `.range(..)` or `.keynum(..)`.
#[derive(Clone, Copy, Debug)]
pub struct Begin(BeginSearch);

impl KeySpec {
    /// The commonest spec: one key at `index`, used as `flags` say.
    pub const fn key(index: i32, flags: u32) -> KeySpec {
        KeySpec::index(index).range(0, 1, 0).flags(flags)
    }

    /// Begin the search at a fixed argument index.
    pub const fn index(index: i32) -> Begin {
        Begin(BeginSearch::Index(index))
    }

    /// Begin the search after `keyword`, looked for from `start_from`.
    pub const fn keyword(keyword: &'static str, start_from: i32) -> Begin {
        Begin(BeginSearch::Keyword {
            keyword,
            start_from,
        })
    }

    /// A spec that only the command's finder function can follow.
    pub const fn unknown(flags: u32) -> KeySpec {
        KeySpec {
            notes: None,
            flags,
            begin_search: BeginSearch::Unknown,
            find_keys: FindKeys::Unknown,
        }
    }

    pub const fn flags(mut self, flags: u32) -> KeySpec {
        self.flags = flags;
        self
    }

    pub const fn notes(mut self, notes: &'static str) -> KeySpec {
        self.notes = Some(notes);
        self
    }
}

impl Begin {
    /// Keys from here to `last_key` (relative, or negative from the end),
    /// every `key_step`; see [`FindKeys::Range`].
    pub const fn range(self, last_key: i32, key_step: i32, limit: i32) -> KeySpec {
        self.then(FindKeys::Range {
            last_key,
            key_step,
            limit,
        })
    }

    /// A key count at `keynum_idx`, keys from `first_key`; see
    /// [`FindKeys::Keynum`].
    pub const fn keynum(self, keynum_idx: i32, first_key: i32, key_step: i32) -> KeySpec {
        self.then(FindKeys::Keynum {
            keynum_idx,
            first_key,
            key_step,
        })
    }

    const fn then(self, find_keys: FindKeys) -> KeySpec {
        KeySpec {
            notes: None,
            flags: 0,
            begin_search: self.0,
            find_keys,
        }
    }
}

/// The keys found among a command's arguments: inline up to four, the
/// common case, so finding them allocates nothing.
pub type KeyRefs = smallvec::SmallVec<[KeyRef; 4]>;

/// One key found among a command's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    /// Its index in argv (the command name is 0).
    pub pos: usize,
    /// The [`key_flags`] of the spec (or finder) that found it.
    pub flags: u32,
}

/// The specs cannot locate the keys in these arguments: a count that is
/// not a number or points past the end, a range past the end. The command
/// itself will reject such arguments with its own error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidKeyArgs;

/// The keys that `specs` find in `args`: Redis 7.0's
/// `getKeysUsingKeySpecs` without its `INCLUDE_NOT_KEYS` and
/// `RETURN_PARTIAL` options (specs of `NOT_KEY` keys are skipped; any
/// invalid or incomplete spec fails the whole search).
pub fn keys_from_specs(specs: &[KeySpec], args: &[Bytes]) -> Result<KeyRefs, InvalidKeyArgs> {
    // Indices are i64 so that no argument count or spec value can
    // overflow them; Redis uses int and trusts its own table.
    let argc = args.len() as i64;
    let mut keys = KeyRefs::new();
    for spec in specs {
        if spec.flags & key_flags::NOT_KEY != 0 {
            continue;
        }
        let first = match spec.begin_search {
            BeginSearch::Index(pos) => pos as i64,
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => match find_keyword(args, keyword, start_from) {
                Some(first) => first,
                // No keyword, no keys from this spec (not an error).
                None => continue,
            },
            BeginSearch::Unknown => return Err(InvalidKeyArgs),
        };
        let (first, last, step) = match spec.find_keys {
            FindKeys::Range {
                last_key,
                key_step,
                limit,
            } => {
                let last = if last_key >= 0 {
                    first + last_key as i64
                } else if limit <= 1 {
                    argc + last_key as i64
                } else {
                    // Redis asserts last_key == -1 here.
                    first + ((argc - first) / limit as i64 + last_key as i64)
                };
                (first, last, key_step as i64)
            }
            FindKeys::Keynum {
                keynum_idx,
                first_key,
                key_step,
            } => {
                let count_at = first + keynum_idx as i64;
                let Some(count) = usize::try_from(count_at).ok().and_then(|i| args.get(i)) else {
                    return Err(InvalidKeyArgs);
                };
                let numkeys = match parse_i64(count) {
                    Some(n) if n >= 0 => n,
                    _ => return Err(InvalidKeyArgs),
                };
                let first = first + first_key as i64;
                // numkeys comes from the client: i64::MAX must give an
                // invalid range, not an overflow.
                let Some(last) = first.checked_add(numkeys - 1) else {
                    return Err(InvalidKeyArgs);
                };
                (first, last, key_step as i64)
            }
            FindKeys::Unknown => return Err(InvalidKeyArgs),
        };
        // A first or last key out of bounds is a syntax error in the
        // arguments; so is an empty keynum list (`last < first`).
        if last >= argc || last < first || first >= argc {
            return Err(InvalidKeyArgs);
        }
        let mut i = first;
        while i <= last {
            keys.push(KeyRef {
                pos: i as usize,
                flags: spec.flags,
            });
            i += step.max(1);
        }
        if spec.flags & key_flags::INCOMPLETE != 0 {
            return Err(InvalidKeyArgs);
        }
    }
    Ok(keys)
}

/// The index just after `keyword`, searched as Redis's begin-search
/// `keyword` does: forward from `start_from` (excluding the last argument),
/// or, for a negative `start_from`, backward from `argc + start_from` down
/// to index 2.
fn find_keyword(args: &[Bytes], keyword: &str, start_from: i32) -> Option<i64> {
    let argc = args.len() as i64;
    let start_from = start_from as i64;
    let (start, end) = if start_from > 0 {
        (start_from, argc - 1)
    } else {
        (argc + start_from, 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            return None;
        }
        if args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i + 1);
        }
        i = if start <= end { i + 1 } else { i - 1 };
    }
    None
}

/// The legacy `(first, last, step)` triple that `COMMAND INFO` prints in
/// its positions 4 to 6, derived from the specs as Redis 7.0's
/// `populateCommandLegacyRangeSpec` does: one index+range spec is taken
/// as it is; several are glued only if each is a plain range (step 1)
/// that starts right after the previous one; anything else gives 0,0,0.
/// Keynum and keyword specs are skipped (the command is `movablekeys`).
pub fn legacy_range(specs: &[KeySpec]) -> (i32, i32, i32) {
    let absolute = |first: i32, last: i32| if last >= 0 { first + last } else { last };
    if let [KeySpec {
        begin_search: BeginSearch::Index(first),
        find_keys: FindKeys::Range {
            last_key, key_step, ..
        },
        ..
    }] = specs
    {
        return (*first, absolute(*first, *last_key), *key_step);
    }
    let (mut first, mut last, mut prev_last) = (i32::MAX, 0i32, 0i32);
    for spec in specs {
        let (
            BeginSearch::Index(pos),
            FindKeys::Range {
                last_key, key_step, ..
            },
        ) = (spec.begin_search, spec.find_keys)
        else {
            continue;
        };
        if key_step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            return (0, 0, 0);
        }
        first = first.min(pos);
        // Unsigned comparison, as Redis: a negative (from the end) last
        // key is "larger" than any positive one.
        let abs = absolute(pos, last_key);
        last = if (abs as u32) > (last as u32) {
            abs
        } else {
            last
        };
        prev_last = last;
    }
    if first == i32::MAX {
        (0, 0, 0)
    } else {
        (first, last, 1)
    }
}

/// Does any spec need more than a fixed index range (Redis adds the
/// `movablekeys` flag to such a command)?
pub fn has_movable_keys(specs: &[KeySpec]) -> bool {
    specs.iter().any(|s| {
        !matches!(
            (s.begin_search, s.find_keys),
            (BeginSearch::Index(_), FindKeys::Range { .. })
        )
    })
}

#[cfg(test)]
mod tests;

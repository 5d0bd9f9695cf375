//! The command table: every group's rows, merged and sorted once, and
//! looked up by name without allocating.
//!
//! Each group's rows live beside its handlers (GET's row is in
//! `cmd/string.rs`, next to `get`); [`lookup`] finds them all here.

use std::sync::OnceLock;

use super::row::CommandSpec;

/// Every command, sorted by name.
fn table() -> &'static [&'static CommandSpec] {
    &index().sorted
}

/// The table, and a hash index over it: every command of every request is
/// looked up by name, and a binary search of ~240 names with a
/// case-insensitive compare at each step was 2 % of a pipelined SET.
struct Index {
    sorted: Vec<&'static CommandSpec>,
    /// Open addressing: `slots[hash(name) & mask]`, then the next slots,
    /// hold positions in `sorted` (+1; 0 is empty). At most half full.
    slots: Vec<u16>,
    mask: usize,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut sorted: Vec<&'static CommandSpec> = super::GROUPS
            .iter()
            .flat_map(|group| group.iter())
            .collect();
        sorted.sort_by_key(|c| c.name);
        let size = (sorted.len() * 2).next_power_of_two();
        let mask = size - 1;
        let mut slots = vec![0u16; size];
        for (i, spec) in sorted.iter().enumerate() {
            let mut slot = hash_lower(spec.name.as_bytes()) & mask;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            // Fewer than 65,535 commands: the position fits.
            slots[slot] = (i + 1) as u16;
        }
        Index {
            sorted,
            slots,
            mask,
        }
    })
}

/// FNV-1a over the lower-cased name (command names are ASCII; any other
/// byte hashes as itself and simply finds nothing).
fn hash_lower(name: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

/// Find a command by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    position(name).map(|i| table()[i])
}

/// The index of a command in [`all`] (for per-command statistics kept in
/// arrays rather than maps).
pub fn position(name: &[u8]) -> Option<usize> {
    let index = index();
    let mut slot = hash_lower(name) & index.mask;
    loop {
        let at = usize::from(index.slots[slot]).checked_sub(1)?;
        if index.sorted[at].name.as_bytes().eq_ignore_ascii_case(name) {
            return Some(at);
        }
        slot = (slot + 1) & index.mask;
    }
}

/// Every command, sorted by name (COMMAND, COMMAND COUNT).
pub fn all() -> &'static [&'static CommandSpec] {
    table()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::cmd::{flags, key_flags, Handler, KeyRef};

    #[test]
    fn lookup_is_case_insensitive_and_names_are_unique_lowercase() {
        assert_eq!(lookup(b"GeT").map(|c| c.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
        let names: Vec<&str> = all().iter().map(|c| c.name).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup, "duplicate rows");
        assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
    }

    #[test]
    fn every_keyed_command_declares_read_or_write_consistently() {
        for c in all() {
            match c.handler {
                Handler::Read(_) => assert!(c.has(flags::READONLY), "{}", c.name),
                Handler::Write(_) => assert!(c.has(flags::WRITE), "{}", c.name),
                Handler::Server(_) | Handler::Exec => assert!(
                    !c.has_keys() || c.has(flags::OWN_LOCKS),
                    "{} has keys but takes no lock",
                    c.name
                ),
            }
        }
    }

    #[test]
    fn read_only_commands_declare_read_only_keys() {
        for c in all().iter().filter(|c| c.has(flags::READONLY)) {
            for k in c.keys {
                assert_eq!(k.flags & !key_flags::ACCESS, key_flags::RO, "{}", c.name);
            }
        }
    }

    fn argv(words: &str) -> Vec<Bytes> {
        words
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn positions(name: &str, words: &str) -> Vec<usize> {
        let c = lookup(name.as_bytes()).unwrap();
        c.keys(&argv(words)).iter().map(|k| k.pos).collect()
    }

    #[test]
    fn table_keys_follow_the_specs() {
        assert_eq!(positions("mset", "mset a 1 b 2"), vec![1, 3]);
        assert_eq!(positions("get", "get k"), vec![1]);
        assert_eq!(positions("rename", "rename a b"), vec![1, 2]);
        assert_eq!(positions("del", "del a b c"), vec![1, 2, 3]);
        assert_eq!(positions("ping", "ping x"), Vec::<usize>::new());
        assert_eq!(lookup(b"mset").unwrap().legacy_range(), (1, -1, 2));
        assert_eq!(lookup(b"rename").unwrap().legacy_range(), (1, 2, 1));
        assert_eq!(lookup(b"keys").unwrap().legacy_range(), (0, 0, 0));
    }

    #[test]
    fn set_asks_its_finder_because_its_flags_vary() {
        let set = lookup(b"set").unwrap();
        let plain = set.keys(&argv("set k v"));
        assert_eq!(
            plain.to_vec(),
            vec![KeyRef {
                pos: 1,
                flags: key_flags::OW | key_flags::UPDATE
            }]
        );
        let get = set.keys(&argv("set k v EX 10 gEt"));
        let rw = key_flags::RW | key_flags::ACCESS | key_flags::UPDATE;
        assert_eq!(get.to_vec(), vec![KeyRef { pos: 1, flags: rw }]);
        // The value itself is never taken for the GET option.
        assert_eq!(
            set.keys(&argv("set k get"))[0].flags,
            key_flags::OW | key_flags::UPDATE
        );
    }
}

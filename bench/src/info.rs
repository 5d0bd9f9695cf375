//! Reading the server's lock counters from `INFO contention`.
//!
//! The section looks like this (integers; times in microseconds):
//!
//! ```text
//! # Contention
//! contention_mode:shard
//! contention_locks:32
//! lock_acquisitions:123
//! lock_contended:4
//! lock_wait_us:567
//! lock_hold_us:890
//! ```
//!
//! The counters only grow, so a run's share is the difference between a
//! snapshot taken just before it and one just after. A server without the
//! section (redis-server answers `INFO contention` with an empty string)
//! has no snapshot, and the report says "n/a" rather than guess.

use std::net::SocketAddr;

use myongoredis_core::Frame;
use serde::Serialize;

use crate::client::Conn;

/// The counters at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contention {
    pub mode: String,
    pub locks: u64,
    pub acquisitions: u64,
    pub contended: u64,
    pub wait_us: u64,
    pub hold_us: u64,
}

impl Contention {
    /// Parse an INFO reply's text; `None` unless every field is there.
    pub fn parse(info: &str) -> Option<Contention> {
        let field = |name: &str| info_field(info, name);
        let number = |name: &str| field(name)?.parse::<u64>().ok();
        Some(Contention {
            mode: field("contention_mode")?,
            locks: number("contention_locks")?,
            acquisitions: number("lock_acquisitions")?,
            contended: number("lock_contended")?,
            wait_us: number("lock_wait_us")?,
            hold_us: number("lock_hold_us")?,
        })
    }

    /// What happened between `self` (before) and `after`.
    pub fn delta(&self, after: &Contention) -> Contention {
        Contention {
            mode: after.mode.clone(),
            locks: after.locks,
            acquisitions: after.acquisitions.saturating_sub(self.acquisitions),
            contended: after.contended.saturating_sub(self.contended),
            wait_us: after.wait_us.saturating_sub(self.wait_us),
            hold_us: after.hold_us.saturating_sub(self.hold_us),
        }
    }
}

/// `INFO <section>` as text; `None` if the server answers with an error
/// (a server without INFO) or cannot be asked.
pub fn info(addr: SocketAddr, section: &str) -> Option<String> {
    let mut conn = Conn::open(addr).ok()?;
    match conn.command(&[b"INFO", section.as_bytes()]).ok()? {
        Frame::Bulk(text) => Some(String::from_utf8_lossy(&text).into_owned()),
        _ => None,
    }
}

/// The server's contention counters now, if it reports them.
pub fn contention(addr: SocketAddr) -> Option<Contention> {
    Contention::parse(&info(addr, "contention")?)
}

/// One `field:value` from an INFO section (e.g. `redis_version`).
pub fn info_field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.trim_end().split_once(':'))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# Contention\r\ncontention_mode:shard\r\ncontention_locks:32\r\n\
        lock_acquisitions:10\r\nlock_contended:1\r\nlock_wait_us:100\r\nlock_hold_us:50\r\n";

    #[test]
    fn parses_the_section_and_subtracts() {
        let before = Contention::parse(BEFORE).expect("complete section");
        assert_eq!(before.mode, "shard");
        assert_eq!(before.locks, 32);
        let after = Contention::parse(&BEFORE.replace("wait_us:100", "wait_us:350"))
            .expect("complete section");
        let d = before.delta(&after);
        assert_eq!((d.wait_us, d.acquisitions), (250, 0));
    }

    #[test]
    fn a_missing_field_means_no_snapshot() {
        assert_eq!(Contention::parse(""), None);
        assert_eq!(
            Contention::parse(&BEFORE.replace("lock_hold_us", "x")),
            None
        );
        assert_eq!(
            info_field("# Server\r\nredis_version:7.0.15\r\n", "redis_version").as_deref(),
            Some("7.0.15")
        );
    }
}

//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (Redis's
//! `lcsCommand`): the longest common subsequence of two strings.
//!
//! Redis fills the classic dynamic-programming table, `LCS[i][j]` = the
//! length of the LCS of the first `i` bytes of a and the first `j` of b,
//! then walks it back from the end. The walk decides *which* of several
//! equally long subsequences is returned, and the order of the IDX ranges
//! (from the end of the strings to the start), so it is reproduced step
//! for step, ties included.
//!
//! The table has `(len(a) + 1) * (len(b) + 1)` 32-bit cells; like Redis,
//! LCS refuses when that is more than proto-max-bulk-len (512 MB) bytes
//! rather than allocating it. Missing keys are empty strings.

use crate::keyspace::Str;
use bytes::Bytes;

use super::string_at;
use crate::cmd::{int_arg, is_keyword};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::resp::PROTO_MAX_BULK_LEN;
use crate::store::{KeyOutsidePlan, ReadView};

/// What the reply is.
#[derive(Clone, Copy, Debug, Default)]
struct Options {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
pub(super) fn lcs(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    // Both keys are looked up before the options are read; a key of
    // another type is LCS's own error, not WRONGTYPE.
    let (a, b) = match (
        string_at(view.ks(&args[1])?, &args[1], now),
        string_at(view.ks(&args[2])?, &args[2], now),
    ) {
        (Ok(a), Ok(b)) => (
            a.map_or(&[][..], Str::as_slice),
            b.map_or(&[][..], Str::as_slice),
        ),
        _ => return Ok(Frame::static_error(error::LCS_NOT_STRINGS)),
    };
    Ok(match parse_options(&args[3..]) {
        Err(e) => e,
        Ok(opts) => reply(a, b, opts),
    })
}

fn parse_options(args: &[Bytes]) -> Result<Options, Frame> {
    let mut opts = Options::default();
    let mut i = 0;
    while i < args.len() {
        let opt = &args[i];
        if is_keyword(opt, "idx") {
            opts.idx = true;
        } else if is_keyword(opt, "len") {
            opts.len = true;
        } else if is_keyword(opt, "withmatchlen") {
            opts.with_match_len = true;
        } else if is_keyword(opt, "minmatchlen") && i + 1 < args.len() {
            // A negative length means no minimum.
            opts.min_match_len = int_arg(&args[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(Frame::static_error(error::SYNTAX));
        }
        i += 1;
    }
    if opts.len && opts.idx {
        return Err(Frame::static_error(error::LCS_LEN_AND_IDX));
    }
    Ok(opts)
}

/// The LCS table of `a` and `b`, row by row (`(len(a) + 1)` rows of
/// `(len(b) + 1)` cells), or Redis's error when it is too large.
fn table(a: &[u8], b: &[u8]) -> Result<Vec<u32>, Frame> {
    // Each cell must hold a length; Redis checks this before sizing.
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(Frame::static_error(error::LCS_TOO_LONG));
    }
    // Both lengths are below 2^32: the product of their successors fits in
    // u64, and times 4 too unless it is far beyond the limit anyway.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    match cells.checked_mul(4) {
        Some(bytes) if bytes <= PROTO_MAX_BULK_LEN as u64 => {}
        _ => return Err(Frame::static_error(error::LCS_TABLE_TOO_LARGE)),
    }
    let cells =
        usize::try_from(cells).map_err(|_| Frame::static_error(error::LCS_ALLOCATION_FAILED))?;
    let mut lcs = Vec::new();
    if lcs.try_reserve_exact(cells).is_err() {
        return Err(Frame::static_error(error::LCS_ALLOCATION_FAILED));
    }
    lcs.resize(cells, 0u32);
    let width = b.len() + 1;
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            lcs[i * width + j] = if a[i - 1] == b[j - 1] {
                lcs[(i - 1) * width + j - 1] + 1
            } else {
                lcs[(i - 1) * width + j].max(lcs[i * width + j - 1])
            };
        }
    }
    Ok(lcs)
}

/// One matching range, as IDX reports it: positions in a, in b, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

impl Match {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// Walk the table back from its last cell, as Redis does: the common
/// subsequence (built backwards) and the ranges of contiguous matches, in
/// the order the walk closes them (from the end of the strings).
fn walk(a: &[u8], b: &[u8], lcs: &[u32]) -> (Vec<u8>, Vec<Match>) {
    let width = b.len() + 1;
    let total = lcs[a.len() * width + b.len()] as usize;
    let mut common = vec![0u8; total];
    let mut idx = total;
    let mut ranges = Vec::new();
    let mut current: Option<Match> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[idx - 1] = a[i - 1];
            match &mut current {
                None => {
                    current = Some(Match {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                // Extend the range backwards while it stays contiguous.
                Some(m) if m.a.0 == i && m.b.0 == j => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            // A range that reached the start of either string is complete.
            if current.is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            // Follow the larger neighbour; on a tie, move in b.
            if lcs[(i - 1) * width + j] > lcs[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            // `emit` is only set with a range open.
            if let Some(m) = current.take() {
                ranges.push(m);
            }
        }
    }
    (common, ranges)
}

/// The reply for the given options: the subsequence, its length (LEN), or
/// the map of IDX.
fn reply(a: &[u8], b: &[u8], opts: Options) -> Frame {
    let lcs = match table(a, b) {
        Ok(lcs) => lcs,
        Err(e) => return e,
    };
    let total = lcs[lcs.len() - 1] as i64;
    if opts.len {
        return Frame::Integer(total);
    }
    let (common, ranges) = walk(a, b, &lcs);
    if !opts.idx {
        return Frame::Bulk(common.into());
    }
    let pair = |(start, end): (usize, usize)| {
        Frame::Array(vec![
            Frame::Integer(start as i64),
            Frame::Integer(end as i64),
        ])
    };
    let matches = ranges
        .into_iter()
        .filter(|m| opts.min_match_len == 0 || m.len() as u64 >= opts.min_match_len)
        .map(|m| {
            let mut entry = vec![pair(m.a), pair(m.b)];
            if opts.with_match_len {
                entry.push(Frame::Integer(m.len() as i64));
            }
            Frame::Array(entry)
        })
        .collect();
    // A map in RESP3, a flat array of four in RESP2 (Redis's
    // addReplyMapLen).
    Frame::Map(vec![
        (Frame::bulk(b"matches"), Frame::Array(matches)),
        (Frame::bulk(b"len"), Frame::Integer(total)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn ranges(a: &str, b: &str) -> Vec<((usize, usize), (usize, usize))> {
        let lcs = table(a.as_bytes(), b.as_bytes()).unwrap();
        walk(a.as_bytes(), b.as_bytes(), &lcs)
            .1
            .into_iter()
            .map(|m| (m.a, m.b))
            .collect()
    }

    #[test]
    fn the_walk_returns_redis_ranges() {
        // The example of Redis's documentation.
        assert_eq!(
            ranges("ohmytext", "mynewtext"),
            vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]
        );
        assert_eq!(ranges("", "abc"), vec![]);
        assert_eq!(ranges("abc", "xyz"), vec![]);
        assert_eq!(ranges("a", "a"), vec![((0, 0), (0, 0))]);
    }

    #[test]
    fn lcs_replies() {
        // The test client speaks RESP2: the map is a flat array.
        let idx = |matches: Vec<Frame>, len| {
            arr(vec![bulk("matches"), arr(matches), bulk("len"), int(len)])
        };
        let range = |a0, a1, b0, b1| {
            arr(vec![
                arr(vec![int(a0), int(a1)]),
                arr(vec![int(b0), int(b1)]),
            ])
        };
        check_all_modes(&[
            (&["MSET", "a", "ohmytext", "b", "mynewtext"], ok()),
            (&["LCS", "a", "b"], bulk("mytext")),
            (&["LCS", "a", "b", "LEN"], int(6)),
            (
                &["LCS", "a", "b", "IDX"],
                idx(vec![range(4, 7, 5, 8), range(2, 3, 0, 1)], 6),
            ),
            (
                &["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"],
                idx(vec![range(4, 7, 5, 8)], 6),
            ),
            (&["LCS", "a", "missing"], bulk("")),
            (
                &["LCS", "a", "b", "LEN", "IDX"],
                err(error::LCS_LEN_AND_IDX),
            ),
            (&["LCS", "a", "b", "MINMATCHLEN"], err(error::SYNTAX)),
            (
                &["LCS", "a", "b", "MINMATCHLEN", "x"],
                err(error::NOT_INTEGER),
            ),
            (&["HSET", "h", "f", "v"], int(1)),
            (
                &["LCS", "a", "h", "LEN", "IDX"],
                err(error::LCS_NOT_STRINGS),
            ),
        ]);
    }

    #[test]
    fn a_table_over_proto_max_bulk_len_is_refused() {
        // (2^14 + 1)^2 cells of 4 bytes: just over 1 GB.
        let a = vec![b'a'; 1 << 14];
        assert_eq!(
            table(&a, &a).unwrap_err(),
            Frame::static_error(error::LCS_TABLE_TOO_LARGE)
        );
        // The edge: 11586^2 cells of 4 bytes are 70,672 bytes over 512 MB
        // (11585^2 would fit), refused before any allocation.
        let a = vec![b'a'; 11585];
        assert_eq!(
            table(&a, &a).unwrap_err(),
            Frame::static_error(error::LCS_TABLE_TOO_LARGE)
        );
        assert!(table(&a, b"").is_ok());
    }
}

//! Redis's glob-style pattern matching (`stringmatchlen` in src/util.c),
//! used by KEYS, SCAN ... MATCH, PSUBSCRIBE and friends.
//!
//! Users write patterns like `user:*`, `h?llo`, `h[ae]llo`, `h[^e]llo`,
//! `h[a-b]llo`, and `\` escapes any special character. Redis's matcher has
//! corner cases that differ from shell globbing (an unterminated `[` still
//! matches, ranges may be written backwards, `\` works inside brackets) and
//! clients can observe every one of them through KEYS, so this is a faithful
//! port rather than a general-purpose glob crate.
//!
//! Two safety fixes that Redis made after shipping the naive matcher are
//! part of the port:
//!
//! * `skipLongerMatches` (CVE-2022-36021, Redis 7.0.9): the naive recursive
//!   matcher tries every way of splitting the string among the `*`s, which
//!   is exponential for `a*a*a*a*a*a*a*a*a*b` against a run of `a`s. Once the
//!   rest of a pattern has failed to match at *every* position after a `*`,
//!   giving an earlier `*` a longer match cannot help, so the whole match
//!   fails at once. That makes the search O(pattern × string).
//! * the nesting limit (CVE-2024-31228): each `*` was one more level of C
//!   recursion, and a pattern of many thousands of `*`s overflowed the
//!   stack. Redis now gives up (no match) past 1000 nested `*`s; we do the
//!   same, so results agree with current Redis.
//!
//! Because of `skipLongerMatches`, a failed attempt never resumes an
//! *earlier* `*`: only the innermost `*` is ever retried. So the recursion
//! can be replaced by a loop that remembers just that one `*`, with the
//! same results (the tests check this against a literal recursive port).

/// More nested `*`s than this and Redis stops trying (returns "no match").
const MAX_STAR_NESTING: usize = 1000;

/// Match `string` against the glob `pattern`, exactly as Redis 7.0's
/// `stringmatchlen` does; `nocase` folds ASCII letters only.
///
/// Binary safe. One Redis quirk is kept on purpose: the empty string
/// matches only the empty pattern, not even `*` (Redis's KEYS and SCAN skip
/// matching altogether for the pattern `*`, and so must our callers).
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let matcher = Matcher {
        pattern,
        string,
        nocase,
    };
    // The step counter exists for the tests (to prove the pathological
    // cases stay polynomial without timing anything); here it is ignored.
    matcher.run(&mut 0)
}

/// How a straight run of the pattern (up to the next `*`) ended.
enum Run {
    Match,
    NoMatch,
    /// Reached a `*` that is not the last thing in the pattern: the rest of
    /// the pattern starts at `after`, and its first try is at `string[at..]`.
    Star {
        after: usize,
        at: usize,
    },
}

struct Matcher<'a> {
    pattern: &'a [u8],
    string: &'a [u8],
    nocase: bool,
}

/// C's `tolower()` in the C locale (Redis never sets LC_CTYPE): A-Z only.
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// A byte as C's plain `char` on x86-64, where `char` is signed. This only
/// matters in `[a-z]` ranges whose ends or subject are bytes >= 0x80: Redis
/// compares them as negative numbers there. (On ARM, where `char` is
/// unsigned, Redis itself gives different answers for such ranges.)
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

impl Matcher<'_> {
    /// The pattern byte at `i`, or 0 past the end. The C code reads the
    /// pattern's NUL terminator in a few places (it is always an sds string);
    /// returning 0 reproduces that without reading out of bounds.
    fn pat(&self, i: usize) -> u8 {
        self.pattern.get(i).copied().unwrap_or(0)
    }

    fn same(&self, a: u8, b: u8) -> bool {
        if self.nocase {
            lower(signed(a)) == lower(signed(b))
        } else {
            a == b
        }
    }

    fn run(&self, steps: &mut u64) -> bool {
        // The innermost `*` reached so far: where the pattern after it
        // starts, and the string position it is currently being tried at.
        let mut star: Option<(usize, usize)> = None;
        let mut nesting = 0;
        let (mut p, mut s) = (0, 0);
        loop {
            *steps += 1;
            match self.straight(p, s, steps) {
                Run::Match => return true,
                Run::Star { after, at } => {
                    // Redis enters one more recursion level per `*`.
                    nesting += 1;
                    if nesting > MAX_STAR_NESTING {
                        return false;
                    }
                    star = Some((after, at));
                    (p, s) = (after, at);
                }
                Run::NoMatch => {
                    let Some((after, tried)) = star else {
                        return false;
                    };
                    // Let the `*` swallow one more byte. Once it would
                    // swallow the whole string, the rest of the pattern has
                    // failed everywhere: skipLongerMatches says no earlier
                    // `*` can do better, so the answer is no.
                    let next = tried + 1;
                    if next >= self.string.len() {
                        return false;
                    }
                    star = Some((after, next));
                    (p, s) = (after, next);
                }
            }
        }
    }

    /// The body of `stringmatchlen_impl`'s loop, from pattern index `p` and
    /// string index `s`, until it decides or reaches a `*`.
    fn straight(&self, mut p: usize, mut s: usize, steps: &mut u64) -> Run {
        let (plen, slen) = (self.pattern.len(), self.string.len());
        while p < plen && s < slen {
            *steps += 1;
            // In bounds: s < slen is the loop condition.
            let c = self.string[s];
            match self.pat(p) {
                b'*' => {
                    // Consecutive stars act as one.
                    while self.pat(p + 1) == b'*' {
                        p += 1;
                    }
                    // A trailing star matches whatever is left.
                    if plen - p == 1 {
                        return Run::Match;
                    }
                    return Run::Star {
                        after: p + 1,
                        at: s,
                    };
                }
                b'?' => s += 1,
                b'[' => {
                    p += 1;
                    let negate = self.pat(p) == b'^';
                    if negate {
                        p += 1;
                    }
                    let mut matched = false;
                    loop {
                        if self.pat(p) == b'\\' && plen - p >= 2 {
                            // An escaped byte is compared exactly, even with
                            // nocase (Redis does not fold it).
                            p += 1;
                            if self.pat(p) == c {
                                matched = true;
                            }
                        } else if self.pat(p) == b']' {
                            break;
                        } else if p == plen {
                            // Unterminated `[`: Redis treats the end of the
                            // pattern as the closing bracket. Step back so
                            // the shared `p += 1` below lands on the end.
                            p -= 1;
                            break;
                        } else if plen - p >= 3 && self.pat(p + 1) == b'-' {
                            let (mut start, mut end) =
                                (signed(self.pat(p)), signed(self.pat(p + 2)));
                            let mut subject = signed(c);
                            // `[z-a]` means `[a-z]`.
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            // Folded *after* ordering, as Redis does.
                            if self.nocase {
                                start = lower(start);
                                end = lower(end);
                                subject = lower(subject);
                            }
                            // The range end is consumed even if it is `]`:
                            // `[a-]` does not close the bracket there.
                            p += 2;
                            if (start..=end).contains(&subject) {
                                matched = true;
                            }
                        } else if self.same(self.pat(p), c) {
                            matched = true;
                        }
                        p += 1;
                    }
                    if matched == negate {
                        return Run::NoMatch;
                    }
                    s += 1;
                }
                literal => {
                    // `\x` matches `x` literally; a `\` that ends the pattern
                    // matches a `\`.
                    let literal = if literal == b'\\' && plen - p >= 2 {
                        p += 1;
                        self.pat(p)
                    } else {
                        literal
                    };
                    if !self.same(literal, c) {
                        return Run::NoMatch;
                    }
                    s += 1;
                }
            }
            p += 1;
            if s == slen {
                // The string is used up: trailing stars still match nothing.
                while self.pat(p) == b'*' {
                    p += 1;
                }
                break;
            }
        }
        if p == plen && s == slen {
            Run::Match
        } else {
            Run::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(pattern: &[u8], string: &[u8], steps: &mut u64) -> bool {
        let nocase = false;
        Matcher {
            pattern,
            string,
            nocase,
        }
        .run(steps)
    }

    fn m(pattern: &str, string: &str) -> bool {
        glob_match(pattern.as_bytes(), string.as_bytes(), false)
    }

    /// A literal transliteration of Redis's recursive `stringmatchlen_impl`
    /// (with skipLongerMatches and the nesting limit), used as the oracle
    /// for the loop-based matcher above.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn at(p: &[u8], i: usize) -> u8 {
            p.get(i).copied().unwrap_or(0)
        }
        fn go(
            pat: &[u8],
            mut p: usize,
            st: &[u8],
            mut s: usize,
            nc: bool,
            skip: &mut bool,
            nesting: usize,
        ) -> bool {
            if nesting > MAX_STAR_NESTING {
                return false;
            }
            let eq = |a: u8, b: u8| {
                if nc {
                    lower(signed(a)) == lower(signed(b))
                } else {
                    a == b
                }
            };
            let plen = pat.len();
            while p < plen && s < st.len() {
                match pat[p] {
                    b'*' => {
                        while at(pat, p + 1) == b'*' {
                            p += 1;
                        }
                        if plen - p == 1 {
                            return true;
                        }
                        while s < st.len() {
                            if go(pat, p + 1, st, s, nc, skip, nesting + 1) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            s += 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => s += 1,
                    b'[' => {
                        p += 1;
                        let not = at(pat, p) == b'^';
                        if not {
                            p += 1;
                        }
                        let mut hit = false;
                        loop {
                            if at(pat, p) == b'\\' && plen - p >= 2 {
                                p += 1;
                                hit |= at(pat, p) == st[s];
                            } else if at(pat, p) == b']' {
                                break;
                            } else if p == plen {
                                p -= 1;
                                break;
                            } else if plen - p >= 3 && at(pat, p + 1) == b'-' {
                                let (mut a, mut b, mut c) =
                                    (signed(pat[p]), signed(pat[p + 2]), signed(st[s]));
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nc {
                                    (a, b, c) = (lower(a), lower(b), lower(c));
                                }
                                p += 2;
                                hit |= c >= a && c <= b;
                            } else {
                                hit |= eq(pat[p], st[s]);
                            }
                            p += 1;
                        }
                        if not {
                            hit = !hit;
                        }
                        if !hit {
                            return false;
                        }
                        s += 1;
                    }
                    c => {
                        let c = if c == b'\\' && plen - p >= 2 {
                            p += 1;
                            pat[p]
                        } else {
                            c
                        };
                        if !eq(c, st[s]) {
                            return false;
                        }
                        s += 1;
                    }
                }
                p += 1;
                if s == st.len() {
                    while at(pat, p) == b'*' {
                        p += 1;
                    }
                    break;
                }
            }
            p == plen && s == st.len()
        }
        go(p, 0, s, 0, nocase, &mut false, 0)
    }

    #[test]
    fn literals_and_question_mark() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
    }

    #[test]
    fn stars() {
        assert!(m("*", "anything"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h***llo", "heello"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a", "bba"));
        assert!(!m("*a", "ab"));
        assert!(m("user:*:name", "user:42:name"));
        // Redis quirk: the empty string matches nothing, not even `*`.
        assert!(!m("*", ""));
        assert!(!m("**", ""));
    }

    #[test]
    fn brackets() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-c]llo", "hbllo"));
        assert!(!m("h[a-c]llo", "hdllo"));
        // Reversed ranges are swapped.
        assert!(m("h[c-a]llo", "hbllo"));
        // `[a-]`: the `]` becomes the range end, so the bracket stays open
        // and swallows the rest of the pattern.
        assert!(m("[a-]", "_"));
        assert!(m("[a-]x", "^"));
        // `]` right after `[` closes an empty set.
        assert!(!m("[]a", "a"));
    }

    #[test]
    fn unterminated_bracket() {
        // The end of the pattern acts as the closing `]`.
        assert!(m("[ab", "a"));
        assert!(m("[ab", "b"));
        assert!(!m("[ab", "c"));
        assert!(!m("[", "a"));
        assert!(m("[^", "a"));
        assert!(m("a[", "a") == reference(b"a[", b"a", false));
    }

    #[test]
    fn escapes() {
        assert!(m(r"h\*llo", "h*llo"));
        assert!(!m(r"h\*llo", "hallo"));
        assert!(m(r"\?", "?"));
        assert!(!m(r"\?", "a"));
        assert!(m(r"[\]]", "]"));
        assert!(m(r"[\-]", "-"));
        assert!(m(r"[\^a]", "^"));
        // A trailing backslash matches itself.
        assert!(m("a\\", "a\\"));
        assert!(m("[\\", "\\"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"h[A-C]llo", b"hbllo", true));
        assert!(glob_match(b"h[^E]llo", b"hallo", true));
        assert!(!glob_match(b"h[^E]llo", b"hello", true));
        // Escaped bytes inside brackets are compared exactly even with nocase.
        assert!(!glob_match(b"[\\A]", b"a", true));
        // Folding happens after a range is ordered: `[A-z]` folds to `[a-z]`,
        // which no longer contains `[` (0x5b) as the case-sensitive range does.
        assert!(glob_match(b"[A-z]", b"[", false));
        assert!(!glob_match(b"[A-z]", b"[", true));
        // Only ASCII letters fold.
        assert!(!glob_match("É".as_bytes(), "é".as_bytes(), true));
    }

    #[test]
    fn binary_and_signed_char_ranges() {
        assert!(glob_match(b"a\0*", b"a\0\xffz", false));
        assert!(glob_match(b"[\x80-\xff]", b"\xc0", false));
        // Redis compares range ends as signed chars (x86-64): 'a' (97) to
        // 0xff (-1) swaps into -1..=97, which excludes 'b' but includes '0'.
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[a-\xff]", b"0", false));
    }

    #[test]
    fn pathological_pattern_is_polynomial() {
        let pattern = b"a*a*a*a*a*a*a*a*a*b";
        for len in [10usize, 100, 1000] {
            let string = vec![b'a'; len];
            let mut steps = 0;
            assert!(!counting(pattern, &string, &mut steps));
            // Naively this is about C(len, 8) attempts; here it is linear-ish.
            assert!(steps < 30 * len as u64 + 100, "len {len}: {steps} steps");
        }
        let mut steps = 0;
        let pattern = "*a".repeat(40) + "*b";
        assert!(!counting(pattern.as_bytes(), &[b'a'; 2000], &mut steps));
        assert!(steps < 20_000, "{steps} steps");
    }

    #[test]
    fn nesting_limit_like_current_redis() {
        let many = "*a".repeat(MAX_STAR_NESTING);
        assert!(glob_match(
            many.as_bytes(),
            "a".repeat(MAX_STAR_NESTING).as_bytes(),
            false
        ));
        let too_many = "*a".repeat(MAX_STAR_NESTING + 1);
        let subject = "a".repeat(MAX_STAR_NESTING + 1);
        assert!(!glob_match(too_many.as_bytes(), subject.as_bytes(), false));
        assert!(!reference(too_many.as_bytes(), subject.as_bytes(), false));
        // A trailing star is decided before the limit applies, as in Redis.
        let trailing = "*a".repeat(MAX_STAR_NESTING) + "*";
        assert!(glob_match(trailing.as_bytes(), subject.as_bytes(), false));
    }

    /// Every pattern of up to 4 symbols from a set full of special
    /// characters, against every short string, both case modes: the loop
    /// must agree with the recursive port on all of them.
    #[test]
    fn agrees_with_recursive_port_exhaustively() {
        const PAT: &[u8] = b"aB*?[]^-\\";
        const STR: &[u8] = b"ab-]";
        fn all(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
            let mut out = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| alphabet.iter().map(move |&c| [w.as_slice(), &[c]].concat()))
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let strings = all(STR, 3);
        for pattern in all(PAT, 4) {
            for string in &strings {
                for nocase in [false, true] {
                    assert_eq!(
                        glob_match(&pattern, string, nocase),
                        reference(&pattern, string, nocase),
                        "pattern {:?} string {:?} nocase {nocase}",
                        String::from_utf8_lossy(&pattern),
                        String::from_utf8_lossy(string),
                    );
                }
            }
        }
    }
}

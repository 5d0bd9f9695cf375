//! The text form of a capture: writing records as lines and reading them
//! back (the layout is described in the parent module's docs).

use super::{
    Capture, CaptureError, CommandRecord, EvictRecord, ExpireRecord, Header, LazyExpireRecord,
    Mark, Record, FORMAT_VERSION, MAGIC,
};
use crate::store::Mode;

impl Header {
    /// Append the header lines.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "{MAGIC} {FORMAT_VERSION} server={} mode={} shards={} seed={} start_us={}\n",
                self.server,
                self.mode.name(),
                self.shards,
                self.seed,
                self.start_us
            )
            .as_bytes(),
        );
        for (name, value) in &self.config {
            out.extend_from_slice(b"config ");
            put_payload(out, name.as_bytes());
            out.push(b' ');
            put_payload(out, value.as_bytes());
            out.push(b'\n');
        }
    }
}

impl Record {
    /// Append the record as one line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Open { seq, conn, now_us } => put_fields(out, b'O', &[*seq, *conn, *now_us]),
            Record::Close { seq, conn, now_us } => put_fields(out, b'X', &[*seq, *conn, *now_us]),
            Record::Expire(e) => put_fields(
                out,
                b'E',
                &[e.seq, e.lock.into(), e.now_us, e.rng, e.sampled, e.expired],
            ),
            Record::LazyExpire(l) => {
                put_lazy_expire(out, l.seq, l.conn, l.now_us, l.deleted, &l.request)
            }
            Record::Command(c) => put_command(
                out, c.seq, c.conn, c.now_us, c.rng, c.mark, &c.request, &c.reply,
            ),
            Record::Evict(v) => put_evict(out, v.seq, v.now_us, v.db, &v.key),
        }
        out.push(b'\n');
    }
}

/// A command line from borrowed parts (the server writes these for every
/// command, so nothing here allocates). No trailing newline.
#[allow(clippy::too_many_arguments)]
pub(super) fn put_command(
    out: &mut Vec<u8>,
    seq: u64,
    conn: u64,
    now_us: u64,
    rng: Option<u64>,
    mark: Mark,
    request: &[u8],
    reply: &[u8],
) {
    put_fields(out, b'C', &[seq, conn, now_us]);
    out.push(b' ');
    match rng {
        Some(p) => put_u64(out, p),
        None => out.push(b'-'),
    }
    out.push(b' ');
    out.extend_from_slice(mark.symbol().as_bytes());
    out.push(b' ');
    put_payload(out, request);
    out.push(b' ');
    put_payload(out, reply);
}

/// A lazy-expiry line from borrowed parts. No trailing newline.
pub(super) fn put_lazy_expire(
    out: &mut Vec<u8>,
    seq: u64,
    conn: u64,
    now_us: u64,
    deleted: u64,
    request: &[u8],
) {
    put_fields(out, b'L', &[seq, conn, now_us, deleted]);
    out.push(b' ');
    put_payload(out, request);
}

/// An eviction line: `V seq now_us db <key>`. No trailing newline.
pub(super) fn put_evict(out: &mut Vec<u8>, seq: u64, now_us: u64, db: u32, key: &[u8]) {
    put_fields(out, b'V', &[seq, now_us, db.into()]);
    out.push(b' ');
    put_payload(out, key);
}

/// `tag n1 n2 ...`, no trailing newline.
fn put_fields(out: &mut Vec<u8>, tag: u8, numbers: &[u64]) {
    out.push(tag);
    for &n in numbers {
        out.push(b' ');
        put_u64(out, n);
    }
}

/// Decimal digits of `n`, without going through a `String` (the capture
/// writer's, and the trace writer's in the native shell).
pub fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `<len>:<escaped>`.
pub fn put_payload(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.push(b':');
    escape_into(out, bytes);
}

/// The escaping described in the module docs.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let plain = |b: u8| (b'!'..=b'~').contains(&b) && b != b'\\';
    let mut rest = bytes;
    while !rest.is_empty() {
        // Runs of printable bytes (most of RESP) are copied in one go.
        let run = rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        let Some((&b, tail)) = rest[run..].split_first() else {
            break;
        };
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
        rest = tail;
    }
}

/// Bytes as a one-line, quoted, escaped string for messages (replay's
/// divergence report).
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'"');
    for &b in bytes {
        match b {
            b' ' => out.push(b' '),
            b'"' => out.extend_from_slice(b"\\\""),
            _ => escape_into(&mut out, &[b]),
        }
    }
    out.push(b'"');
    // Only ASCII was pushed.
    String::from_utf8_lossy(&out).into_owned()
}

/// Read a whole capture. A last line without its `\n` is an unfinished
/// record (the writer was killed mid-line): it is ignored and counted in
/// [`Capture::truncated_tail`]. Any whole line that does not parse is an
/// error naming the line (and the record's `seq` when readable).
pub fn decode(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let (whole, tail) = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => (&bytes[..end], bytes.len() - end - 1),
        None => (&bytes[..0], bytes.len()),
    };
    let mut lines = whole.split(|&b| b == b'\n').enumerate();
    let Some((_, first)) = lines
        .next()
        .filter(|_| !bytes.is_empty() && tail < bytes.len())
    else {
        return Err(CaptureError::NotACapture);
    };
    let mut header = decode_header_line(first)?;
    let mut records = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if let Some(rest) = line.strip_prefix(b"config ") {
            if !records.is_empty() {
                return Err(malformed(
                    line_no,
                    None,
                    "config line after the first record",
                ));
            }
            let (name, value) =
                decode_config(rest).ok_or_else(|| malformed(line_no, None, "bad config line"))?;
            header.config.push((name, value));
            continue;
        }
        records.push(decode_record(line).map_err(|(seq, reason)| malformed(line_no, seq, reason))?);
    }
    Ok(Capture {
        header,
        records,
        truncated_tail: tail,
    })
}

fn malformed(line: usize, seq: Option<u64>, reason: &str) -> CaptureError {
    CaptureError::Malformed {
        line,
        seq,
        reason: reason.to_string(),
    }
}

fn decode_header_line(line: &[u8]) -> Result<Header, CaptureError> {
    let text = std::str::from_utf8(line).map_err(|_| CaptureError::NotACapture)?;
    let mut words = text.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(CaptureError::NotACapture);
    }
    let version = words.next().unwrap_or_default();
    if version != FORMAT_VERSION.to_string() {
        return Err(CaptureError::Version {
            found: version.to_string(),
            supported: FORMAT_VERSION,
        });
    }
    let bad = |reason: String| malformed(1, None, &reason);
    let mut header = Header {
        server: String::new(),
        mode: Mode::Mutex,
        shards: 1,
        seed: 0,
        start_us: 0,
        config: Vec::new(),
    };
    let mut seen_mode = false;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| bad(format!("header field {word:?} is not key=value")))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| bad(format!("header field {key} is not a number: {value:?}")))
        };
        match key {
            "server" => header.server = value.to_string(),
            "mode" => {
                header.mode =
                    Mode::parse(value).ok_or_else(|| bad(format!("unknown mode {value:?}")))?;
                seen_mode = true;
            }
            "shards" => {
                header.shards = u32::try_from(number()?)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("bad shard count {value:?}")))?
            }
            "seed" => header.seed = number()?,
            "start_us" => header.start_us = number()?,
            // Unknown keys are additions a newer writer made within the
            // same format version; they change nothing a reader needs.
            _ => {}
        }
    }
    if !seen_mode {
        return Err(bad("header has no mode".to_string()));
    }
    Ok(header)
}

fn decode_config(rest: &[u8]) -> Option<(String, String)> {
    let mut fields = Fields(rest);
    let name = String::from_utf8(fields.payload()?).ok()?;
    let value = String::from_utf8(fields.payload()?).ok()?;
    fields.end().then_some((name, value))
}

/// Decode one record line; on failure the seq (if it was read) and why.
fn decode_record(line: &[u8]) -> Result<Record, (Option<u64>, &'static str)> {
    let mut f = Fields(line);
    let tag = f.word().ok_or((None, "empty line"))?;
    let seq = f.number().ok_or((None, "no sequence number"))?;
    let err = |reason| (Some(seq), reason);
    let record = match tag {
        b"O" | b"X" => {
            let conn = f.number().ok_or(err("bad connection id"))?;
            let now_us = f.number().ok_or(err("bad clock reading"))?;
            if tag == b"O" {
                Record::Open { seq, conn, now_us }
            } else {
                Record::Close { seq, conn, now_us }
            }
        }
        b"C" => {
            let conn = f.number().ok_or(err("bad connection id"))?;
            let now_us = f.number().ok_or(err("bad clock reading"))?;
            let rng = match f.word().ok_or(err("no PRNG position"))? {
                b"-" => None,
                w => Some(parse_u64(w).ok_or(err("bad PRNG position"))?),
            };
            let mark = Mark::parse(f.word().ok_or(err("no mark"))?).ok_or(err("bad mark"))?;
            let request = f.payload().ok_or(err("bad request payload"))?;
            let reply = f.payload().ok_or(err("bad reply payload"))?;
            Record::Command(CommandRecord {
                seq,
                conn,
                now_us,
                rng,
                mark,
                request,
                reply,
            })
        }
        b"E" => {
            let mut n = || f.number().ok_or(err("bad expiry field"));
            let lock = u32::try_from(n()?).map_err(|_| err("bad lock index"))?;
            Record::Expire(ExpireRecord {
                seq,
                lock,
                now_us: n()?,
                rng: n()?,
                sampled: n()?,
                expired: n()?,
            })
        }
        b"L" => {
            let mut n = || f.number().ok_or(err("bad lazy-expiry field"));
            let (conn, now_us, deleted) = (n()?, n()?, n()?);
            let request = f.payload().ok_or(err("bad request payload"))?;
            Record::LazyExpire(LazyExpireRecord {
                seq,
                conn,
                now_us,
                deleted,
                request,
            })
        }
        b"V" => {
            let now_us = f.number().ok_or(err("bad clock reading"))?;
            let db = f.number().ok_or(err("bad database"))?;
            let db = u32::try_from(db).map_err(|_| err("bad database"))?;
            let key = f.payload().ok_or(err("bad key payload"))?;
            Record::Evict(EvictRecord {
                seq,
                now_us,
                db,
                key,
            })
        }
        _ => return Err(err("unknown record type")),
    };
    if !f.end() {
        return Err(err("extra fields at the end of the line"));
    }
    Ok(record)
}

/// A cursor over the space-separated fields of one line.
pub(crate) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Fields(line)
    }

    pub(crate) fn word(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let end = self
            .0
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.0.len());
        let word = &self.0[..end];
        self.0 = self.0.get(end + 1..).unwrap_or_default();
        Some(word)
    }

    pub(crate) fn number(&mut self) -> Option<u64> {
        parse_u64(self.word()?)
    }

    pub(crate) fn payload(&mut self) -> Option<Vec<u8>> {
        let word = self.word()?;
        let colon = word.iter().position(|&b| b == b':')?;
        let len = usize::try_from(parse_u64(&word[..colon])?).ok()?;
        let bytes = unescape(&word[colon + 1..], len)?;
        (bytes.len() == len).then_some(bytes)
    }

    pub(crate) fn end(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Undo [`escape_into`]; `None` on a malformed escape. `expected_len` only
/// sizes the buffer (capped, so a corrupt length cannot allocate much).
fn unescape(s: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len.min(s.len()));
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b != b'\\' {
            if !(b'!'..=b'~').contains(&b) {
                return None;
            }
            out.push(b);
            i += 1;
            continue;
        }
        match s.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b'x' => {
                let hi = hex_digit(*s.get(i + 2)?)?;
                let lo = hex_digit(*s.get(i + 3)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

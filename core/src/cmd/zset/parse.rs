//! Parsing scores and range bounds as Redis does.

use bytes::Bytes;

pub const NOT_FLOAT: &str = "ERR value is not a valid float";

/// A score (`strtod` as Redis's getDoubleFromObject accepts it): decimal
/// or `inf`/`+inf`/`-inf`, no leading space, nothing after the number, no
/// NaN, no overflow to infinity and no underflow to zero of a nonzero
/// literal.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let body = s.trim_start_matches(['+', '-']);
    if s.len() - body.len() > 1 {
        return None;
    }
    let is_inf = body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity");
    if body.eq_ignore_ascii_case("nan") || body.to_ascii_lowercase().starts_with("nan") {
        return None;
    }
    let d: f64 = match body.get(..2) {
        Some("0x" | "0X") => {
            let v = parse_hex(&body[2..])?;
            if s.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => s.parse().ok()?,
    };
    if d.is_nan() {
        return None;
    }
    if d.is_infinite() && !is_inf {
        return None;
    }
    if d == 0.0 {
        // A nonzero literal that rounds to zero: strtod's ERANGE.
        let mantissa = body.split(['e', 'E']).next().unwrap_or("");
        if mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return None;
        }
    }
    Some(d)
}

/// C's hexadecimal floating-point literal after `0x`: hex digits, an
/// optional `.` and fraction, an optional binary exponent `p[+-]n`.
fn parse_hex(s: &str) -> Option<f64> {
    let (mantissa, exp) = match s.find(['p', 'P']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// A range bound's number, as Redis's `zslParseRange` reads it: plain
/// `strtod` over the whole argument. That is more lenient than a score
/// (`parse_score`): leading white space is skipped, an empty argument is
/// 0, and a literal too large for a double is infinity. Only trailing
/// text and NaN are refused.
pub fn bound_number(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() {
        return Some(0.0);
    }
    let s = std::str::from_utf8(arg).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let negative = t.starts_with('-');
    let d = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex(hex)?
    } else if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        body.parse().ok()?
    } else {
        return None;
    };
    let d = if negative { -d } else { d };
    (!d.is_nan()).then_some(d)
}

/// A score bound: `(x` exclusive, `x` inclusive, `-inf`/`+inf`.
pub fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.split_first() {
        Some((b'(', rest)) => bound_number(rest).map(|d| (d, true)),
        _ => bound_number(arg).map(|d| (d, false)),
    }
}

/// One end of a lexicographic range.
pub enum Lex {
    /// `-`: below everything.
    Min,
    /// `+`: above everything.
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

pub fn lex_bound(arg: &[u8]) -> Option<Lex> {
    match arg {
        b"-" => Some(Lex::Min),
        b"+" => Some(Lex::Max),
        [b'[', rest @ ..] => Some(Lex::Incl(Bytes::copy_from_slice(rest))),
        [b'(', rest @ ..] => Some(Lex::Excl(Bytes::copy_from_slice(rest))),
        _ => None,
    }
}

/// A parsed bound of a score or lex range.
pub enum Bound {
    Score(f64, bool),
    Lex(Lex),
}

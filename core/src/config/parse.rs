//! Values: parsing a parameter's text with Redis's rules and error texts,
//! and writing it back as CONFIG GET and CONFIG REWRITE do.
//!
//! Every source of a value (a redis.conf line, a `--flag`, CONFIG SET)
//! goes through [`Param::parse`], so a value is accepted or refused the
//! same way, with the same message, wherever it comes from.

use std::borrow::Cow;
use std::fmt;

use super::params::{Kind, Param};
use crate::resp::string2ll;

/// A parameter's value, typed by its [`Kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    /// A memory size in bytes.
    Bytes(u64),
    Bool(bool),
    /// The canonical (table) spelling of one of the kind's names.
    Enum(&'static str),
    Text(Cow<'static, str>),
}

/// CONFIG GET's form: numbers in decimal (memory sizes in bytes),
/// `yes`/`no`, the enum's name, text as is.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Bytes(n) => write!(f, "{n}"),
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Value::Enum(name) => f.write_str(name),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// `save`'s value checked as Redis's `setConfigSaveOption` checks it
/// (an even number of integers, seconds ≥ 1, changes ≥ 0).
fn save_points(text: &str) -> Result<String, &'static str> {
    const INVALID: &str = "Invalid save parameters";
    if text.is_empty() {
        return Ok(String::new());
    }
    // Redis splits CONFIG SET's value on single spaces: two in a row make
    // an empty word, which is not a number.
    let words: Vec<&str> = text.split(' ').collect();
    if words.len() % 2 != 0 {
        return Err(INVALID);
    }
    let mut numbers = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let n = string2ll(word.as_bytes()).ok_or(INVALID)?;
        if (i % 2 == 0 && n < 1) || n < 0 {
            return Err(INVALID);
        }
        numbers.push(n.to_string());
    }
    Ok(numbers.join(" "))
}

/// The save points of a `save` value: (seconds, changes) pairs.
pub fn save_points_of(value: &str) -> Vec<(u64, u64)> {
    let numbers: Vec<u64> = value
        .split_ascii_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

impl Param {
    /// Parse `text` as this parameter's value, or say why not in Redis's
    /// words (the text after `- ` in CONFIG SET's error, the last line of
    /// redis-server's fatal config error).
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let value = match &self.kind {
            Kind::Int { min, max } => {
                let n = string2ll(text.as_bytes())
                    .ok_or("argument couldn't be parsed into an integer")?;
                if n < *min || n > *max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Value::Int(n)
            }
            Kind::Memory { min, max } => {
                let n = memtoull(text).ok_or("argument must be a memory value")?;
                if n < *min || n > *max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Value::Bytes(n)
            }
            Kind::Bool => Value::Bool(yes_no(text).ok_or("argument must be 'yes' or 'no'")?),
            Kind::Enum(names) => match names.iter().find(|n| n.eq_ignore_ascii_case(text)) {
                Some(name) => Value::Enum(name),
                None => {
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    ))
                }
            },
            Kind::Text => Value::Text(Cow::Owned(text.to_string())),
            Kind::SavePoints => Value::Text(Cow::Owned(save_points(text)?)),
        };
        match self.fixed {
            Some(why) if value != self.default => {
                Err(format!("only '{}' is supported: {why}", self.default))
            }
            _ => Ok(value),
        }
    }

    /// The redis.conf line CONFIG REWRITE writes for `value`: memory sizes
    /// in the largest exact unit (`100mb`), text quoted as Redis's
    /// `sdscatrepr` quotes it, several-word parameters as their words.
    pub fn conf_line(&self, value: &Value) -> String {
        let shown = match value {
            Value::Bytes(n) => format_memory(*n),
            // Word by word, as Redis writes `bind` and `save`; a word that
            // would not read back as itself is quoted.
            Value::Text(s) if self.multi_arg => s
                .split(' ')
                .map(|word| match plain(word) {
                    true => word.to_string(),
                    false => repr(word.as_bytes()),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Value::Text(s) => repr(s.as_bytes()),
            other => other.to_string(),
        };
        format!("{} {shown}", self.name)
    }
}

/// Can `word` stand unquoted on a redis.conf line and read back as itself?
fn plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && !matches!(b, b'"' | b'\'' | b'\\'))
}

/// Redis's `yesnotoi`: `yes` or `no`, any case.
fn yes_no(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if text.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// Redis's `memtoull` (src/util.c): digits, then an optional unit, `b`,
/// `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, any case.
///
/// Its quirks are kept, because CONFIG SET accepts what it accepts: no
/// digits at all reads as 0 (`""`, `mb`), leading zeros are fine, a
/// number past `u64::MAX` saturates (`strtoull`) and the unit's multiply
/// wraps. Signs, spaces, fractions and unknown units are refused.
pub fn memtoull(text: &str) -> Option<u64> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if digits.len() >= 128 {
        return None;
    }
    let n = digits.bytes().fold(0u64, |n, d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX)
    });
    Some(n.wrapping_mul(multiplier))
}

/// Redis's `rewriteConfigFormatMemory`: the largest binary unit that
/// divides the size exactly.
pub fn format_memory(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")];
    for (size, unit) in UNITS {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Redis's `sdscatrepr`: a double-quoted string that `sdssplitargs` (the
/// redis.conf reader) turns back into the same bytes.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::params::named;

    #[test]
    fn memory_sizes_follow_memtoull() {
        for (text, want) in [
            ("0", Some(0)),
            ("100mb", Some(100 << 20)),
            ("1gb", Some(1 << 30)),
            ("1GB", Some(1 << 30)),
            ("1k", Some(1000)),
            ("1kb", Some(1024)),
            ("5G", Some(5_000_000_000)),
            ("3m", Some(3_000_000)),
            ("1b", Some(1)),
            ("007", Some(7)),
            ("", Some(0)),
            ("mb", Some(0)),
            ("18446744073709551616", Some(u64::MAX)),
            ("20000000000gb", Some(3_028_092_406_290_448_384)),
            ("1.5mb", None),
            ("-1", None),
            ("+1", None),
            (" 1", None),
            ("1x", None),
            ("1 mb", None),
            ("1kbb", None),
        ] {
            assert_eq!(memtoull(text), want, "{text:?}");
        }
        assert_eq!(memtoull(&"1".repeat(128)), None);
    }

    #[test]
    fn memory_is_rewritten_in_the_largest_exact_unit() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(3 << 20), "3mb");
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(1024 + 1024), "2kb");
        assert_eq!(format_memory(1000), "1000");
    }

    #[test]
    fn integers_are_strict_and_bounded() {
        let timeout = named("timeout");
        assert_eq!(timeout.parse("5"), Ok(Value::Int(5)));
        assert_eq!(timeout.parse("2147483647"), Ok(Value::Int(2147483647)));
        for bad in ["abc", "1.5", "", "+5", " 5", "007", "-0"] {
            assert_eq!(
                timeout.parse(bad),
                Err("argument couldn't be parsed into an integer".into()),
                "{bad:?}"
            );
        }
        for out in ["-1", "2147483648", "99999999999"] {
            assert_eq!(
                timeout.parse(out),
                Err("argument must be between 0 and 2147483647 inclusive".into())
            );
        }
        assert_eq!(
            named("maxclients").parse("0"),
            Err("argument must be between 1 and 4294967295 inclusive".into())
        );
        assert_eq!(
            named("port").parse("65536"),
            Err("argument must be between 0 and 65535 inclusive".into())
        );
    }

    #[test]
    fn bools_and_enums_ignore_case_and_list_the_choices() {
        let daemonize = named("daemonize");
        assert_eq!(daemonize.parse("NO"), Ok(Value::Bool(false)));
        for bad in ["1", "", "maybe", "y"] {
            assert_eq!(
                daemonize.parse(bad),
                Err("argument must be 'yes' or 'no'".into())
            );
        }
        let policy = named("maxmemory-policy");
        assert_eq!(policy.parse("NoEviction"), Ok(Value::Enum("noeviction")));
        assert_eq!(
            policy.parse("lru"),
            Err(
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, \
                 volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, \
                 noeviction"
                    .into()
            )
        );
    }

    #[test]
    fn fixed_parameters_refuse_what_the_server_does_not_do() {
        let maxmemory = named("maxmemory");
        assert_eq!(maxmemory.parse("0"), Ok(Value::Bytes(0)));
        assert_eq!(maxmemory.parse("0gb"), Ok(Value::Bytes(0)));
        assert_eq!(maxmemory.parse("100mb"), Ok(Value::Bytes(100 << 20)));
        assert_eq!(
            named("daemonize").parse("yes"),
            Err("only 'no' is supported: the server runs in the foreground".into())
        );
        assert_eq!(
            maxmemory.parse("x"),
            Err("argument must be a memory value".into())
        );
        assert_eq!(
            named("proto-max-bulk-len").parse("1"),
            Err("argument must be between 1048576 and 9223372036854775807 inclusive".into())
        );
        assert_eq!(
            named("proto-max-bulk-len").parse("512mb"),
            Ok(Value::Bytes(1 << 29))
        );
    }

    #[test]
    fn rewrite_lines_read_back_to_the_same_value() {
        let bind = named("bind");
        assert_eq!(
            bind.conf_line(&Value::Text("127.0.0.1".into())),
            "bind 127.0.0.1"
        );
        assert_eq!(
            named("save").conf_line(&Value::Text("".into())),
            "save \"\""
        );
        // A word that would not read back as itself is quoted; the load
        // joins the words with single spaces again.
        let odd = Value::Text("a\nb  -::1".into());
        assert_eq!(bind.conf_line(&odd), "bind \"a\\nb\" \"\" -::1");
        let words = crate::resp::split_args(bind.conf_line(&odd).as_bytes()).unwrap();
        let joined: Vec<String> = words[1..]
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        assert_eq!(joined.join(" "), "a\nb  -::1");
        assert_eq!(
            named("proto-max-bulk-len").conf_line(&Value::Bytes(1 << 29)),
            "proto-max-bulk-len 512mb"
        );
        assert_eq!(named("hz").conf_line(&Value::Int(20)), "hz 20");
        assert_eq!(repr(b"a \"b\"\\\n\x01"), "\"a \\\"b\\\"\\\\\\n\\x01\"");
        let parsed = crate::resp::split_args(repr(b"a \"b\"\\\n\x01\xff").as_bytes());
        assert_eq!(
            parsed,
            Some(vec![bytes::Bytes::from_static(b"a \"b\"\\\n\x01\xff")])
        );
    }
}

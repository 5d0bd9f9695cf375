//! INCRBYFLOAT's arithmetic, bit for bit as Redis does it on x86-64: the
//! x87 80-bit `long double`, in software.
//!
//! ## Why not `f64`
//! Redis parses the stored value and the increment with `strtold`, adds
//! them in `long double` (64 significant bits on x86-64, 11 more than
//! `f64`) and prints the sum with `"%.17Lf"`, trailing zeros trimmed
//! (`ld2string`, `LD_STR_HUMAN`). No `f64` formatting reproduces that:
//! `0.1 + 0.2` is `0.30000000000000004` in `f64` but `"0.3"` in Redis, while
//! Redis prints `200 + 0.1` as `"200.10000000000000001"` (the extended
//! format's own rounding error, visible at 17 decimals). Replies must be
//! byte-identical to Redis's, so this module does what the FPU does:
//! * [`LongDouble::parse`]: `strtold`, correctly rounded (ties to even), with
//!   Redis's `string2ld` rules on top (whole string, no leading space, no
//!   NaN, no overflow, no underflow to zero, shorter than 5 KiB);
//! * [`LongDouble::checked_add`]: one correctly rounded addition;
//! * [`LongDouble::to_human_string`]: exact decimal expansion rounded to 17
//!   places (glibc rounds ties to even), then `ld2string`'s trimming.
//!
//! Only integer arithmetic is used, so the result is the same natively and
//! in `wasm32-wasip1` (which has no extended type at all). Where `long
//! double` is something else, Redis itself answers differently (IEEE quad
//! on aarch64 Linux, plain `double` with MSVC); x86-64 is the reference.
//!
//! A value is `mantissa × 2^exp` with a 64-bit mantissa, as in the x87
//! register: normal numbers have the top mantissa bit set; the smallest
//! exponent, [`MIN_EXP`], also holds the subnormals (top bit clear) and
//! zero. Numbers wider than 128 bits are [`Natural`]s.

mod natural;

use natural::Natural;

/// The exponent of the lowest mantissa bit of the smallest normal number
/// (2^-16382) and of every subnormal: 2^-16382 / 2^63.
const MIN_EXP: i64 = -16445;
/// The largest exponent: LDBL_MAX = (2^64 - 1) × 2^16320.
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` copies its input into a
/// buffer of this size, so only shorter strings are numbers.
const MAX_CHARS: usize = 5 * 1024;

/// An x87 extended-precision value (the only non-finite one that matters
/// here is infinity: NaN is never accepted nor produced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongDouble {
    /// `(-1)^negative × mantissa × 2^exp`, normalized as described above.
    Finite {
        negative: bool,
        mantissa: u64,
        exp: i64,
    },
    Infinite {
        negative: bool,
    },
}

impl LongDouble {
    /// +0: what a missing key counts as.
    pub(crate) const ZERO: LongDouble = LongDouble::zero(false);

    const fn zero(negative: bool) -> LongDouble {
        LongDouble::Finite {
            negative,
            mantissa: 0,
            exp: MIN_EXP,
        }
    }

    /// Redis's `string2ld`: `None` where Redis replies "value is not a valid
    /// float". Accepts what `strtold` accepts in the C locale when it
    /// consumes the whole string: decimal (`-1.5e3`, `.5`, `1.`), hex
    /// (`0x1.8p3`) and `inf`/`infinity` in any case, with an optional sign.
    pub(crate) fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let (negative, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            // A literal infinity is no range error: strtold accepts it, and
            // INCRBYFLOAT then fails on the infinite sum.
            return Some(LongDouble::Infinite { negative });
        }
        // Hex: the exponent counts bits, each digit after the point 4 bits.
        // Decimal: the exponent and the digits after the point count tens.
        let (digits, radix, exp) = match body {
            [b'0', b'x' | b'X', rest @ ..] => {
                let (digits, fraction_len, exp) = split_number(rest, 16, b'p')?;
                (digits, 16, exp - 4 * fraction_len)
            }
            _ => {
                let (digits, fraction_len, exp) = split_number(body, 10, b'e')?;
                (digits, 10, exp - fraction_len)
            }
        };
        // Leading zeros carry no value; a number without other digits is 0.
        let first = digits.iter().position(|&d| d != 0);
        let Some(first) = first else {
            return Some(LongDouble::zero(negative));
        };
        let value = if radix == 16 {
            from_binary(negative, Natural::from_digits(&digits[first..], 16), exp)
        } else {
            from_decimal(negative, &digits[first..], exp)?
        };
        // A finite literal that rounds to infinity (overflow) or to zero
        // (underflow) makes strtold set ERANGE, and string2ld rejects both.
        match value {
            LongDouble::Finite { mantissa: 0, .. } | LongDouble::Infinite { .. } => None,
            finite => Some(finite),
        }
    }

    /// `self + other`, rounded once, as the FPU adds; `None` if the sum is
    /// infinite or NaN (an infinite operand, or an overflow).
    pub(crate) fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (
            LongDouble::Finite {
                negative: an,
                mantissa: am,
                exp: ae,
            },
            LongDouble::Finite {
                negative: bn,
                mantissa: bm,
                exp: be,
            },
        ) = (self, other)
        else {
            return None;
        };
        if am == 0 && bm == 0 {
            // IEEE: -0 + -0 is -0, any other sum of zeros is +0.
            return Some(LongDouble::zero(an && bn));
        }
        // Order by magnitude: normalized, a larger exponent is a larger
        // number; at equal exponents the mantissas decide.
        let ((neg, big, big_exp), (small_neg, small, small_exp)) = if (ae, am) >= (be, bm) {
            ((an, am, ae), (bn, bm, be))
        } else {
            ((bn, bm, be), (an, am, ae))
        };
        // Give the larger operand GUARD bits of room below its mantissa and
        // align the smaller one to it; what falls off the end is remembered
        // as a sticky bit ("plus something less than one unit").
        const GUARD: u32 = 62;
        let x = (big as u128) << GUARD;
        let distance = (big_exp - small_exp) as u64;
        let full = (small as u128) << GUARD;
        let (y, sticky) = if distance >= 128 {
            (0, small != 0)
        } else {
            let lost = full & ((1u128 << distance) - 1);
            (full >> distance, lost != 0)
        };
        let exp = big_exp - GUARD as i64;
        let result = if neg == small_neg {
            // Both below 2^126: no overflow.
            round(neg, x + y, exp, sticky)
        } else {
            // x - (y + δ) = (x - y - 1) + (1 - δ): the sticky part stays.
            // With a sticky bit the operands are more than 62 binades apart,
            // so x > y + 1.
            let diff = x - y - sticky as u128;
            if diff == 0 && !sticky {
                // Exact cancellation gives +0 when rounding to nearest.
                return Some(LongDouble::zero(false));
            }
            round(neg, diff, exp, sticky)
        };
        match result {
            LongDouble::Infinite { .. } => None,
            finite => Some(finite),
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `"%.17Lf"`, then trailing
    /// zeros (and a trailing `.`) removed, and `-0` written as `0`.
    pub(crate) fn to_human_string(self) -> Vec<u8> {
        let (negative, mantissa, exp) = match self {
            LongDouble::Infinite { negative } => {
                return if negative {
                    b"-inf".to_vec()
                } else {
                    b"inf".to_vec()
                };
            }
            LongDouble::Finite {
                negative,
                mantissa,
                exp,
            } => (negative, mantissa, exp),
        };
        // The integer part and the 17 decimals, rounded as printf does.
        let (integer, decimals) = if exp >= 0 {
            (Natural::from_u64(mantissa).shl(exp as u64), 0)
        } else {
            fixed_17(mantissa, exp.unsigned_abs())
        };
        let mut out = Vec::new();
        if negative {
            out.push(b'-');
        }
        out.extend_from_slice(&integer.to_decimal());
        let decimals = format!("{decimals:017}");
        let decimals = decimals.trim_end_matches('0');
        if !decimals.is_empty() {
            out.push(b'.');
            out.extend_from_slice(decimals.as_bytes());
        }
        if out == b"-0" {
            out.remove(0);
        }
        out
    }
}

/// Split `[digits][.digits][<marker>[sign]digits]` (the marker is `e` for
/// decimal, `p` for hex, in either case) into its digit values in order,
/// the number of digits after the point, and the exponent. `None` unless
/// the whole string has that shape with at least one digit: strtold would
/// stop short of anything else, and string2ld rejects a partial parse.
fn split_number(s: &[u8], radix: u32, marker: u8) -> Option<(Vec<u8>, i64, i64)> {
    let (mantissa, exponent) = match s.iter().position(|c| c.to_ascii_lowercase() == marker) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &[][..]),
    };
    let mut digits = Vec::with_capacity(int_part.len() + frac_part.len());
    for &c in int_part.iter().chain(frac_part) {
        digits.push((c as char).to_digit(radix)? as u8);
    }
    if digits.is_empty() {
        return None;
    }
    let exp = match exponent {
        None => 0,
        Some(e) => parse_exponent(e)?,
    };
    // |exp| ≤ 10^9 and the fraction is shorter than 5 KiB: the callers'
    // arithmetic on these cannot overflow.
    Some((digits, frac_part.len() as i64, exp))
}

/// A decimal exponent, saturated at ±10^9: far beyond any finite long
/// double, so a saturated exponent still over- or underflows as it should.
fn parse_exponent(e: &[u8]) -> Option<i64> {
    let (negative, digits) = match e.first() {
        Some(b'-') => (true, &e[1..]),
        Some(b'+') => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + (d - b'0') as i64).min(1_000_000_000)
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// The long double nearest to `digits × 10^exp10` (`digits` is a decimal
/// number without leading zeros). `None` when it is certainly out of range.
fn from_decimal(negative: bool, digits: &[u8], exp10: i64) -> Option<LongDouble> {
    // The value lies in [10^(magnitude-1), 10^magnitude). LDBL_MAX is about
    // 1.19e4932 and half the smallest subnormal about 1.8e-4951: beyond
    // these bounds the answer is known without computing (and the numbers
    // to compute would be huge); within them it is computed exactly.
    let magnitude = digits.len() as i64 + exp10;
    if magnitude > 4934 {
        return Some(LongDouble::Infinite { negative });
    }
    if magnitude < -4952 {
        return Some(LongDouble::zero(negative));
    }
    let d = Natural::from_digits(digits, 10);
    if exp10 >= 0 {
        return Some(from_binary(negative, d.mul_pow10(exp10 as u64), 0));
    }
    // digits / 10^-exp10: scale by 2^shift so that the integer quotient has
    // 66 or 67 bits (two more than the mantissa: enough to round, with the
    // remainder as sticky bit).
    let p = Natural::from_u64(1).mul_pow10(exp10.unsigned_abs());
    let shift = p.bit_len() as i64 - d.bit_len() as i64 + 66;
    let (num, den) = if shift >= 0 {
        (d.shl(shift as u64), p)
    } else {
        (d, p.shl(shift.unsigned_abs()))
    };
    let (quotient, inexact) = num.div_small_quotient(&den);
    Some(round(negative, quotient, -shift, inexact))
}

/// The long double nearest to `n × 2^exp2`.
fn from_binary(negative: bool, n: Natural, exp2: i64) -> LongDouble {
    // LDBL_MAX < 2^16384; half the smallest subnormal is 2^-16446.
    let magnitude = n.bit_len() as i64 + exp2;
    if magnitude > 16385 {
        return LongDouble::Infinite { negative };
    }
    if magnitude < -16446 {
        return LongDouble::zero(negative);
    }
    let (top, shift, sticky) = n.top_128();
    round(negative, top, exp2 + shift, sticky)
}

/// Round `(-1)^negative × (bits + sticky) × 2^exp` to the nearest long
/// double, ties to even, as the FPU does; `sticky` means "plus something
/// strictly between 0 and 1". Callers give at least 66 significant bits
/// whenever `sticky` is set, so the rounding point is always above it.
fn round(negative: bool, bits: u128, exp: i64, sticky: bool) -> LongDouble {
    if bits == 0 {
        return LongDouble::zero(negative);
    }
    let len = 128 - bits.leading_zeros() as i64;
    // Keep 64 bits, but never go below the subnormal exponent.
    let shift = (len - 64).max(MIN_EXP - exp);
    let (mut mantissa, mut exp) = if shift <= 0 {
        debug_assert!(!sticky, "an inexact value needs more than 64 bits");
        // len - 64 ≤ shift ≤ 0, so the shifted value fits in 64 bits.
        ((bits << shift.unsigned_abs()) as u64 as u128, exp + shift)
    } else {
        let shift = shift as u64;
        let (kept, half, rest) = if shift > 128 {
            (0, false, true)
        } else {
            let half = (bits >> (shift - 1)) & 1 == 1;
            let rest = bits & ((1u128 << (shift - 1)) - 1) != 0;
            let kept = if shift == 128 { 0 } else { bits >> shift };
            (kept, half, rest)
        };
        let round_up = half && (rest || sticky || kept & 1 == 1);
        (kept + round_up as u128, exp + shift as i64)
    };
    if mantissa == 1 << 64 {
        // Rounding carried into a 65th bit.
        mantissa = 1 << 63;
        exp += 1;
    }
    if exp > MAX_EXP {
        return LongDouble::Infinite { negative };
    }
    LongDouble::Finite {
        negative,
        mantissa: mantissa as u64,
        exp,
    }
}

/// `mantissa × 2^-k` as printf's `%.17Lf` sees it: the integer part and the
/// 17 decimals as an integer below 10^17, rounded to nearest, ties to even
/// (glibc rounds the exact binary value, as the current rounding mode says).
fn fixed_17(mantissa: u64, k: u64) -> (Natural, u128) {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17 < 2^57
    let (integer, fraction) = if k >= 64 {
        (0u128, mantissa as u128)
    } else {
        let integer = (mantissa >> k) as u128;
        (integer, mantissa as u128 - (integer << k))
    };
    // fraction < 2^64, so fraction × 10^17 < 2^121.
    let scaled = fraction * SCALE;
    let (quotient, remainder) = if k >= 128 {
        (0, scaled)
    } else {
        (scaled >> k, scaled & ((1u128 << k) - 1))
    };
    // Compare the remainder with half a unit, 2^(k-1) (beyond 2^121 when
    // k > 122: then the remainder is certainly below it).
    let round_up = match k {
        0 => false,
        1..=122 => {
            let half = 1u128 << (k - 1);
            remainder > half || (remainder == half && quotient & 1 == 1)
        }
        _ => false,
    };
    let decimals = quotient + round_up as u128;
    if decimals == SCALE {
        (Natural::from_u128(integer + 1), 0)
    } else {
        (Natural::from_u128(integer), decimals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis 7.0's `INCRBYFLOAT` on x86-64: stored value, increment, reply
    /// (or `None` for "not a valid float", `Some("NANINF")` for an infinite
    /// sum). Expected values come from real redis-server 7.0.15 and from
    /// glibc's strtold/printf in C.
    fn redis(a: &str, b: &str) -> Option<String> {
        let (a, b) = (
            LongDouble::parse(a.as_bytes())?,
            LongDouble::parse(b.as_bytes())?,
        );
        Some(match a.checked_add(b) {
            Some(sum) => String::from_utf8(sum.to_human_string()).unwrap(),
            None => "NANINF".into(),
        })
    }

    #[test]
    fn matches_redis_on_ordinary_sums() {
        for (a, b, want) in [
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("1", "0.1", "1.1"),
            ("3.0e3", "0", "3000"),
            ("5.0e3", "2", "5002"),
            ("5.0e3", "2.0e2", "5200"),
            ("1.5e-3", "0", "0.0015"),
            ("17179869184", "1.5", "17179869185.5"),
            ("17179869184", "17179869184", "34359738368"),
            ("10", "-10", "0"),
            ("-0.0", "0", "0"),
            ("0", "-1e-30", "0"),
            ("1", "1e-20", "1"),
            ("1", "1.", "2"),
            ("1", ".5", "1.5"),
            ("1", "+.5e1", "6"),
            ("0x1p3", "0x.8", "8.5"),
            ("-3", "1", "-2"),
            ("1.2345678901234567", "0", "1.2345678901234567"),
        ] {
            assert_eq!(redis(a, b).as_deref(), Some(want), "{a} + {b}");
        }
    }

    #[test]
    fn shows_the_extended_formats_own_rounding_like_redis() {
        for (a, b, want) in [
            ("5000.1", "2", "5002.10000000000000009"),
            ("200", "0.1", "200.10000000000000001"),
        ] {
            assert_eq!(redis(a, b).as_deref(), Some(want), "{a} + {b}");
        }
        let big = redis("1e300", "0").unwrap();
        assert!(big.starts_with("1000000000000000000008997324079559193870523944273290747938"));
        assert_eq!(big.len(), 301);
    }

    #[test]
    fn rejects_what_string2ld_rejects() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "-nan", "1e", "1e+", ".", "-", "+", "0x", "0xg",
            "1\u{0}2", "1e5000", "-1e5000", "1e-4960", "1..2", "1e1.5", "infinit",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(LongDouble::parse("1".repeat(MAX_CHARS).as_bytes()), None);
        assert!(
            LongDouble::parse("1".repeat(MAX_CHARS - 1).as_bytes()).is_none(),
            "overflows"
        );
        assert!(LongDouble::parse(format!("0.{}", "0".repeat(MAX_CHARS - 3)).as_bytes()).is_some());
    }

    #[test]
    fn infinities_and_range_edges() {
        assert_eq!(redis("1", "inf").as_deref(), Some("NANINF"));
        assert_eq!(redis("-Infinity", "1").as_deref(), Some("NANINF"));
        assert_eq!(redis("1e4932", "1e4932").as_deref(), Some("NANINF"));
        let max = redis("1.18973149535723176502e4932", "0").unwrap();
        assert_eq!(max.len(), 4933);
        assert!(max.starts_with("118973149535723176502126385303"));
        // Half an ulp above LDBL_MAX is about 1.1897314953572317650535e4932.
        assert_eq!(
            redis("1.18973149535723176505e4932", "0"),
            Some(max),
            "rounds down to LDBL_MAX"
        );
        assert_eq!(
            redis("1.18973149535723176506e4932", "0"),
            None,
            "rounds past LDBL_MAX"
        );
        assert_eq!(
            redis("3.6e-4951", "0").as_deref(),
            Some("0"),
            "the smallest subnormal"
        );
        assert_eq!(
            redis("1.8e-4951", "0"),
            None,
            "below half of it: zero, ERANGE"
        );
        assert_eq!(redis("0e-99999999999999999999", "0").as_deref(), Some("0"));
    }

    #[test]
    fn printf_rounds_ties_to_even() {
        // 2^-18 × 3 = 0.000011444091796875: the 18th decimal is a 5 exactly.
        assert_eq!(
            redis("0x3p-18", "0").as_deref(),
            Some("0.00001144409179688")
        );
        // 2^-18 = 0.000003814697265625: ...2656|25 rounds down to even.
        assert_eq!(
            redis("0x1p-18", "0").as_deref(),
            Some("0.00000381469726562")
        );
        assert_eq!(redis("0.999999999999999999", "0").as_deref(), Some("1"));
    }
}

//! [`Natural`]: the arbitrary-size unsigned integers that exact decimal
//! parsing and printing of x87 long doubles needs (numbers up to about
//! 2^33000 for a 5 KiB decimal string), and nothing more.

use std::cmp::Ordering;

/// An arbitrary-size natural number: what exact parsing and printing of
/// numbers up to 2^16384 needs, and nothing more. Little-endian 32-bit
/// limbs, without high zero limbs (zero is the empty vector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Natural {
    limbs: Vec<u32>,
}

impl Natural {
    pub(super) fn from_u128(mut v: u128) -> Natural {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Natural { limbs }
    }

    pub(super) fn from_u64(v: u64) -> Natural {
        Natural::from_u128(v as u128)
    }

    /// From digit values (each below `radix`), most significant first.
    pub(super) fn from_digits(digits: &[u8], radix: u32) -> Natural {
        let mut n = Natural { limbs: Vec::new() };
        // Take as many digits at a time as fit in one limb multiplier.
        let per_chunk = if radix == 10 { 9 } else { 7 };
        for chunk in digits.chunks(per_chunk) {
            let value = chunk.iter().fold(0u32, |acc, &d| acc * radix + d as u32);
            n.mul_small_add(radix.pow(chunk.len() as u32), value);
        }
        n
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    /// `self = self × mul + add`.
    fn mul_small_add(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for limb in &mut self.limbs {
            let v = *limb as u64 * mul as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    /// `self × 10^n`.
    pub(super) fn mul_pow10(mut self, n: u64) -> Natural {
        for _ in 0..n / 9 {
            self.mul_small_add(1_000_000_000, 0);
        }
        self.mul_small_add(10u32.pow((n % 9) as u32), 0);
        self
    }

    pub(super) fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() as u64 * 32 - top.leading_zeros() as u64,
        }
    }

    pub(super) fn shl(&self, bits: u64) -> Natural {
        if self.is_zero() {
            return self.clone();
        }
        let (words, bits) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut limbs = vec![0u32; words];
        let mut carry = 0u32;
        for &limb in &self.limbs {
            limbs.push(if bits == 0 {
                limb
            } else {
                (limb << bits) | carry
            });
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        limbs.push(carry);
        let mut n = Natural { limbs };
        n.trim();
        n
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.limbs.iter_mut().rev() {
            let next = *limb & 1;
            *limb = (*limb >> 1) | (carry << 31);
            carry = next;
        }
        self.trim();
    }

    fn cmp(&self, other: &Natural) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// `self -= other`; `other` must not be larger.
    fn sub_assign(&mut self, other: &Natural) {
        let mut borrow = 0i64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let v = *limb as i64 - *other.limbs.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = (v < 0) as i64;
            *limb = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    /// `self / den`, known to be below 2^128, and whether it left a
    /// remainder. Binary long division: one compare-and-subtract per
    /// quotient bit, which is cheap for the 67 bits we need.
    pub(super) fn div_small_quotient(mut self, den: &Natural) -> (u128, bool) {
        let mut quotient = 0u128;
        if self.bit_len() >= den.bit_len() {
            let top = self.bit_len() - den.bit_len();
            debug_assert!(top < 128);
            let mut d = den.shl(top);
            for i in (0..=top.min(127)).rev() {
                if self.cmp(&d) != Ordering::Less {
                    self.sub_assign(&d);
                    quotient |= 1 << i;
                }
                d.shr1();
            }
        }
        (quotient, !self.is_zero())
    }

    /// The top 128 bits (or all of them): `self = (top + sticky) × 2^shift`.
    pub(super) fn top_128(&self) -> (u128, i64, bool) {
        let shift = self.bit_len().saturating_sub(128);
        let (words, bits) = ((shift / 32) as usize, shift % 32);
        let mut top = 0u128;
        // Bits [shift, shift + 128) span at most five limbs from `words`.
        for (i, &limb) in self.limbs.iter().enumerate().skip(words).take(5) {
            let at = (i - words) as u64 * 32;
            let limb = limb as u128;
            top |= if at >= bits {
                // A shift of 128 or more only happens past the top bit.
                limb.checked_shl((at - bits) as u32).unwrap_or(0)
            } else {
                limb >> (bits - at)
            };
        }
        let sticky = self.limbs[..words].iter().any(|&l| l != 0)
            || self
                .limbs
                .get(words)
                .is_some_and(|&l| bits > 0 && l & ((1 << bits) - 1) != 0);
        (top, shift as i64, sticky)
    }

    /// Decimal digits (ASCII), `0` for zero.
    pub(super) fn to_decimal(&self) -> Vec<u8> {
        let mut n = self.clone();
        let mut chunks = Vec::new(); // base 10^9, least significant first
        while !n.is_zero() {
            let mut remainder = 0u64;
            for limb in n.limbs.iter_mut().rev() {
                let v = (remainder << 32) | *limb as u64;
                *limb = (v / 1_000_000_000) as u32;
                remainder = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(remainder);
        }
        let mut out = chunks.pop().unwrap_or(0).to_string();
        for chunk in chunks.iter().rev() {
            out.push_str(&format!("{chunk:09}"));
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(decimal: &str) -> Natural {
        let digits: Vec<u8> = decimal.bytes().map(|b| b - b'0').collect();
        Natural::from_digits(&digits, 10)
    }

    #[test]
    fn decimal_round_trip_and_powers() {
        let big = "123456789012345678901234567890123456789";
        assert_eq!(n(big).to_decimal(), big.as_bytes());
        assert_eq!(n("0").to_decimal(), b"0");
        assert_eq!(n("1000000000").to_decimal(), b"1000000000");
        assert_eq!(
            Natural::from_u64(7).mul_pow10(30).to_decimal(),
            format!("7{}", "0".repeat(30)).as_bytes()
        );
        assert_eq!(
            Natural::from_digits(&[0xf, 0xf, 0x1], 16).to_decimal(),
            b"4081"
        );
    }

    #[test]
    fn shifts_top_bits_and_division() {
        let x = Natural::from_u64(0b1011).shl(200);
        assert_eq!(x.bit_len(), 204);
        assert_eq!(x.top_128(), (0b1011 << 124, 76, false));
        let y = Natural::from_u64(1).shl(300).shl(0);
        let (top, shift, sticky) = Natural::from_u128(u128::MAX).shl(10).top_128();
        assert_eq!((top, shift, sticky), (u128::MAX, 10, false));
        let mut odd = y.clone();
        odd.sub_assign(&Natural::from_u64(1));
        assert_eq!(odd.top_128(), (u128::MAX, 172, true));
        // (2^300 - 1) / 2^240 = 2^60 - 1, remainder 2^240 - 1.
        assert_eq!(
            odd.div_small_quotient(&Natural::from_u64(1).shl(240)),
            ((1 << 60) - 1, true)
        );
        assert_eq!(
            y.div_small_quotient(&Natural::from_u64(1).shl(240)),
            (1 << 60, false)
        );
        assert_eq!(n("100").div_small_quotient(&n("7")), (14, true));
    }
}

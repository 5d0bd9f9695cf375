//! [`Str`]: a binary-safe byte string that keeps short contents inline.
//!
//! Most keys and most string values are short: `user:1000`, a counter, a
//! 16-byte token. Stored as a `Vec<u8>` each costs a pointer, a capacity and
//! a length (24 bytes) *plus* a heap allocation of its own, and glibc's
//! malloc hands out no chunk smaller than 32 bytes. A `Str` is the same 24
//! bytes, but up to [`INLINE`] bytes live inside it: a key of 16 bytes with a
//! value of 16 bytes needs no allocation besides the entry that holds them.
//! That is the idea of Redis's `embstr` encoding (the value in the same
//! allocation as its object header), taken one step further.
//!
//! Three forms, as Redis's string encodings:
//! * **inline** (up to 22 bytes; what Redis reports as `int` or `embstr`);
//! * **boxed**: longer contents in one exact-size heap allocation (a value
//!   as SET stored it, `embstr` or `raw` by length);
//! * **raw**: a growable buffer, what a string becomes once a command edits
//!   it in place (APPEND, SETRANGE, SETBIT): like Redis's `raw` sds, it
//!   keeps spare room so that repeated appends are amortised O(1).
//!
//! The layout costs no `unsafe`: the inline length is an enum of 23 values,
//! so the compiler finds spare bit patterns in it to tell the forms apart
//! (and [`crate::keyspace::Value`], which wraps a `Str`, stays 24 bytes too).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// How many bytes a `Str` holds without allocating.
pub const INLINE: usize = 22;

/// A binary-safe string; see the module documentation.
#[derive(Clone)]
pub struct Str(Repr);

#[derive(Clone)]
enum Repr {
    Inline(Len, [u8; INLINE]),
    Boxed(Box<[u8]>),
    // Boxed so that the form fits beside the inline one in 24 bytes: the
    // extra allocation is paid only by strings edited in place.
    #[allow(clippy::box_collection)]
    Raw(Box<Vec<u8>>),
}

/// The length of inline contents: 0..=22, as a type with exactly those
/// values (the other 233 bit patterns are the niche the enums above use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[rustfmt::skip]
enum Len {
    L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11,
    L12, L13, L14, L15, L16, L17, L18, L19, L20, L21, L22,
}

#[rustfmt::skip]
const LENS: [Len; INLINE + 1] = [
    Len::L0, Len::L1, Len::L2, Len::L3, Len::L4, Len::L5, Len::L6, Len::L7,
    Len::L8, Len::L9, Len::L10, Len::L11, Len::L12, Len::L13, Len::L14,
    Len::L15, Len::L16, Len::L17, Len::L18, Len::L19, Len::L20, Len::L21,
    Len::L22,
];

impl Str {
    /// The empty string.
    pub const fn new() -> Str {
        Str(Repr::Inline(Len::L0, [0; INLINE]))
    }

    /// A copy of `bytes`, inline if it fits, else in one exact allocation.
    pub fn copy_from(bytes: &[u8]) -> Str {
        match LENS.get(bytes.len()) {
            Some(&len) => {
                let mut buf = [0; INLINE];
                buf[..bytes.len()].copy_from_slice(bytes);
                Str(Repr::Inline(len, buf))
            }
            None => Str(Repr::Boxed(bytes.into())),
        }
    }

    /// `bytes` as a growable buffer from the start (SETRANGE and SETBIT
    /// creating a key: Redis makes those `raw` too).
    pub fn raw(bytes: Vec<u8>) -> Str {
        Str(Repr::Raw(Box::new(bytes)))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, buf) => &buf[..*len as usize],
            Repr::Boxed(b) => b,
            Repr::Raw(v) => v,
        }
    }

    /// Replace the contents (INCR's new number, SET over an edited value):
    /// back to the compact forms, whatever the string was before.
    pub fn assign(&mut self, bytes: &[u8]) {
        *self = Str::copy_from(bytes);
    }

    /// The contents as a growable buffer, for an edit in place. The first
    /// call turns the string into its raw form (Redis's `embstr` → `raw`
    /// conversion on APPEND), which it keeps.
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self.0, Repr::Raw(_)) {
            let bytes = self.as_slice().to_vec();
            self.0 = Repr::Raw(Box::new(bytes));
        }
        match &mut self.0 {
            Repr::Raw(v) => v,
            // Just converted above.
            _ => unreachable!("a string made raw is raw"),
        }
    }

    /// Is this the form an edit in place leaves (OBJECT ENCODING `raw`)?
    pub fn is_raw(&self) -> bool {
        matches!(self.0, Repr::Raw(_))
    }

    /// Bytes this string holds on the heap, as the allocator hands them
    /// out (see [`crate::memory`]); 0 when inline.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline(..) => 0,
            Repr::Boxed(b) => crate::memory::alloc_size(b.len()),
            Repr::Raw(v) => {
                crate::memory::alloc_size(crate::memory::VEC_HEADER)
                    + crate::memory::alloc_size(v.capacity())
            }
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::new()
    }
}

impl Deref for Str {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Writing bytes in place makes the string raw first, as Redis unshares
/// an `embstr` before SETBIT or BITFIELD writes into it.
impl AsMut<[u8]> for Str {
    fn as_mut(&mut self) -> &mut [u8] {
        self.make_mut()
    }
}

impl Borrow<[u8]> for Str {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for Str {
    fn from(bytes: &[u8]) -> Str {
        Str::copy_from(bytes)
    }
}

impl From<Vec<u8>> for Str {
    /// Short contents move inline (the vector is freed); long ones keep
    /// the vector's allocation, trimmed to its length.
    fn from(bytes: Vec<u8>) -> Str {
        if bytes.len() <= INLINE {
            Str::copy_from(&bytes)
        } else {
            Str(Repr::Boxed(bytes.into_boxed_slice()))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for Str {
    fn from(bytes: &[u8; N]) -> Str {
        Str::copy_from(bytes)
    }
}

/// Equal when the bytes are, whatever the forms.
impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Str {}

impl PartialEq<[u8]> for Str {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<u8>> for Str {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_as_small_as_a_vec_and_gives_enums_a_niche() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Option<Str>>(), 24);
    }

    #[test]
    fn short_contents_stay_inline_and_long_ones_do_not() {
        for n in [0, 1, 16, INLINE, INLINE + 1, 100] {
            let bytes: Vec<u8> = (0..n as u8).collect();
            let s = Str::copy_from(&bytes);
            assert_eq!(s.as_slice(), &bytes[..]);
            assert_eq!(Str::from(bytes.clone()), s);
            assert_eq!(s.heap_bytes() == 0, n <= INLINE, "length {n}");
        }
    }

    #[test]
    fn an_edit_in_place_makes_it_raw_until_reassigned() {
        let mut s = Str::from(b"abc");
        assert!(!s.is_raw());
        s.make_mut().extend_from_slice(b"def");
        s.make_mut().push(b'!');
        assert!(s.is_raw());
        assert_eq!(&*s, b"abcdef!");
        s.assign(b"12");
        assert!(!s.is_raw());
        assert_eq!(s.heap_bytes(), 0);
        assert_eq!(s, Str::from(&b"12"[..]));
    }
}

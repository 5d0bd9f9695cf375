//! The memory model: how many bytes a stored thing costs, as the allocator
//! hands them out.
//!
//! `used_memory` is counted by the core itself, not asked of the allocator:
//! the count must be the same natively and in the WebAssembly replay (a
//! different allocator, 32-bit pointers), and eviction decides from it, so
//! it must be a pure function of the data. Every figure here is therefore
//! what the *native* 64-bit server allocates, rounded as glibc's malloc
//! rounds, whatever target the code runs on (a unit test checks the struct
//! sizes on 64-bit targets).
//!
//! glibc's malloc serves a request of `n` bytes from a chunk of
//! `n + 8` bytes (one header word) rounded up to 16, and never less than
//! 32: a 16-byte key costs 32 bytes, a 72-byte dict node 80. Redis counts
//! the same way with jemalloc's size classes (`zmalloc_size`).

/// The bytes the allocator really sets aside for a request of `n` bytes.
pub const fn alloc_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let chunk = (n + 8 + 15) & !15;
    if chunk < 32 {
        32
    } else {
        chunk
    }
}

/// A `Vec`'s own header (pointer, capacity, length).
pub const VEC_HEADER: usize = 24;
/// A pointer: one bucket of a dict's table.
pub const POINTER: usize = 8;
/// A node of the main dict: next pointer, key ([`crate::str::Str`]) and
/// [`crate::keyspace::Entry`].
pub const ENTRY_NODE: usize = 72;
/// A node of the volatile index (next pointer and key).
pub const KEY_NODE: usize = 32;

/// Human-readable bytes as Redis prints them (`bytesToHuman`): `1.50K`,
/// `12.00M`, `945B`.
pub fn human(n: u64) -> String {
    let d = n as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0, "K"),
        (1024.0 * 1024.0, "M"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
    ];
    if d < 1024.0 {
        return format!("{n}B");
    }
    for (i, (unit, name)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || d < unit * 1024.0 {
            return format!("{:.2}{name}", d / unit);
        }
    }
    unreachable!("the last unit takes everything")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_as_glibc_malloc() {
        assert_eq!(alloc_size(0), 0);
        assert_eq!(alloc_size(1), 32);
        assert_eq!(alloc_size(24), 32);
        assert_eq!(alloc_size(25), 48);
        assert_eq!(alloc_size(40), 48);
        assert_eq!(alloc_size(72), 80);
    }

    #[test]
    fn human_is_redis_bytes_to_human() {
        assert_eq!(human(945), "945B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(12 * 1024 * 1024), "12.00M");
    }
}

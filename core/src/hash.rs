//! Hash functions: FNV-1a, chosen because the seed server used it to pick a
//! shard, and because it is deterministic (no per-process random seed) —
//! which matters here: nothing in `core` may depend on a random hash seed,
//! or two runs of the same session could order keys differently.

/// 32-bit FNV-1a, as Go's `hash/fnv.New32a` that the seed server used.
/// `fnv1a32(key) % shards` picks a shard.
pub fn fnv1a32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in data {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// 64-bit FNV-1a.
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hash the [`Dict`](crate::dict::Dict) uses to pick a bucket.
///
/// Why not plain FNV-1a 64? Because FNV's *low* bits are weak and, worse,
/// identical between the 32- and 64-bit variants (both offset bases and both
/// primes agree in their low bits, and multiplication mod 2^k only looks at
/// the low k bits). In shard mode every key in shard `i` has
/// `fnv1a32(key) % 32 == i`, so a table indexed by the low bits of
/// `fnv1a64` would put all of a shard's keys in 1/32 of its buckets. The
/// murmur3 finalizer below spreads every input bit over every output bit.
pub fn dict_hash(data: &[u8]) -> u64 {
    let mut h = fnv1a64(data);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_vectors() {
        // Vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn low_bits_of_fnv32_and_fnv64_agree_so_the_dict_must_mix() {
        for k in 0..1000u32 {
            let key = format!("key-{k}");
            assert_eq!(
                fnv1a32(key.as_bytes()) % 32,
                (fnv1a64(key.as_bytes()) % 32) as u32
            );
        }
        // After mixing, the keys of one shard spread over many buckets.
        let mut buckets = std::collections::BTreeSet::new();
        for k in 0..10_000u32 {
            let key = format!("key-{k}");
            if fnv1a32(key.as_bytes()) % 32 == 0 {
                buckets.insert(dict_hash(key.as_bytes()) % 64);
            }
        }
        assert!(buckets.len() > 60, "{}", buckets.len());
    }
}

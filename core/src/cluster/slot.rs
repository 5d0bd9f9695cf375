//! Hash slots: which of the 16384 slots a key belongs to, exactly as
//! Redis's `keyHashSlot` (`src/cluster.c`) and `crc16` (`src/crc16.c`)
//! compute it, so a cluster-aware client and this server agree on every
//! key's home.
//!
//! The slot is CRC16 (the XMODEM variant: polynomial 0x1021, initial value
//! 0, no reflection) of the key modulo 16384. A *hash tag* narrows what is
//! hashed: if the key holds a `{` followed later by a `}` with at least
//! one byte between them, only those bytes are hashed, so
//! `{user1000}.following` and `{user1000}.followers` share a slot and may
//! be used together in one multi-key command.

/// The number of hash slots (Redis's `CLUSTER_SLOTS`).
pub const SLOTS: usize = 16384;

/// CRC16-XMODEM's byte table, computed at compile time (Redis's
/// `crc16tab`).
const TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC16-XMODEM of `bytes` (Redis's `crc16`).
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ TABLE[(((crc >> 8) as u8) ^ b) as usize]
    })
}

/// The part of `key` that is hashed: the bytes between the first `{` and
/// the first `}` after it, when that is not empty; else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    match key[open + 1..].iter().position(|&b| b == b'}') {
        Some(0) | None => key,
        Some(len) => &key[open + 1..open + 1 + len],
    }
}

/// The hash slot of `key` (Redis's `keyHashSlot`).
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOTS as u16 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from Redis: the cluster spec's CRC16 check value, and
    /// CLUSTER KEYSLOT answers of redis-server 7.0.
    #[test]
    fn slots_match_redis() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    }

    #[test]
    fn hash_tags_follow_the_first_brace_pair() {
        assert_eq!(hash_tag(b"foo{bar}zap"), b"bar");
        assert_eq!(
            hash_tag(b"{}{bar}"),
            b"{}{bar}",
            "an empty tag hashes the whole key"
        );
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
        assert_eq!(hash_tag(b"foo}bar{"), b"foo}bar{");
        assert_eq!(key_slot(b"{a}x"), key_slot(b"a"));
    }
}

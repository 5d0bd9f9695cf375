//! CRC-64/Jones, the checksum Redis appends to every RDB file (and to
//! DUMP payloads): Redis's `crc64.c`.
//!
//! Parameters, in the usual catalogue form: polynomial
//! `0xad93d23594c935a9`, input and output reflected, initial value 0, no
//! final xor. Reflected means bits are processed least significant first,
//! so the table below is built from the bit-reversed polynomial
//! `0x95ac9329ac4bc9b5` and shifts right. Redis speeds this up with
//! eight tables ("crcspeed"); one table is plenty here and gives the same
//! numbers.

/// The reflected form of Jones's polynomial `0xad93d23594c935a9`.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// One entry per byte value: the CRC of that byte alone, built at
/// compile time.
const TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Continue the checksum `crc` over `bytes` (start with 0), as Redis's
/// `crc64(crc, s, l)`: the checksum of a file written in pieces is the
/// checksum of the whole.
pub fn crc64(mut crc: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        crc = TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of Redis's `crc64.c` (`crc64Test`).
    #[test]
    fn redis_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn pieces_give_the_checksum_of_the_whole() {
        let data = b"REDIS0010\xfa\x09redis-ver\x067.0.15";
        let whole = crc64(0, data);
        let (a, b) = data.split_at(7);
        assert_eq!(crc64(crc64(0, a), b), whole);
        assert_eq!(crc64(0, b""), 0);
    }
}

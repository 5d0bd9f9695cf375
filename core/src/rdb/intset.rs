//! Redis's intset byte layout (`intset.c`): a set of integers stored as
//! one sorted array, the RDB payload of type 11.
//!
//! ```text
//! <encoding: u32 LE = 2, 4 or 8> <length: u32 LE> <length × value, LE, ascending>
//! ```
//!
//! Every value takes the width of the widest one. Redis widens the array
//! when a bigger member arrives and never narrows it back; our sets keep
//! `i64`s, so a set that once held 100000 and now holds only small
//! numbers is written 2 bytes wide here and 4 bytes wide by Redis. Both
//! load the same.

/// The blob for `values`, which must be ascending and unique.
pub fn encode(values: &[i64]) -> Vec<u8> {
    let width = values.iter().map(|&v| width_of(v)).max().unwrap_or(2);
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Bytes needed for `v` (`_intsetValueEncoding`).
fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// The members of an intset blob, checked as Redis's deep
/// `intsetValidateIntegrity`: a known width, a length that matches the
/// blob, at least one member, strictly ascending.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, String> {
    if blob.len() < 8 {
        return Err(format!(
            "intset of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset has unknown encoding {width}"));
    }
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as u64;
    if 8 + count * width as u64 != blob.len() as u64 {
        return Err(format!(
            "intset of {count} × {width} bytes does not fill its {} bytes",
            blob.len()
        ));
    }
    if count == 0 {
        return Err("intset is empty".into());
    }
    let mut values: Vec<i64> = Vec::with_capacity(count as usize);
    for raw in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([raw[0], raw[1]])),
            4 => i64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
            _ => i64::from_le_bytes([
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
            ]),
        };
        if values.last().is_some_and(|&prev| prev >= v) {
            return Err(format!(
                "intset is not strictly ascending at member {}",
                values.len()
            ));
        }
        values.push(v);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SADD s 1 2 3` in redis-server 7.0: 16-bit members.
    #[test]
    fn bytes_as_redis_lays_them_out() {
        assert_eq!(
            encode(&[1, 2, 3]),
            [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]
        );
        assert_eq!(&encode(&[-1, 70000])[..4], [4, 0, 0, 0]);
        assert_eq!(&encode(&[i64::MIN])[..4], [8, 0, 0, 0]);
        for values in [vec![1, 2, 3], vec![-1, 70000], vec![i64::MIN, 0, i64::MAX]] {
            assert_eq!(decode(&encode(&values)), Ok(values));
        }
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let good = encode(&[5, 6, 7]);
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&encode(&[])).is_err(), "empty");
        let mut unsorted = good.clone();
        unsorted[8] = 9;
        assert!(decode(&unsorted).is_err());
        let mut width = good.clone();
        width[0] = 3;
        assert!(decode(&width).is_err());
    }
}

//! The compressed counts string of COCO RLE (`rleToString` / `rleFrString` in cocoapi).
//!
//! Each run length is written as a signed number in groups of 5 bits, least significant
//! first, one character per group (`'0' + group`, with 0x20 set while more groups follow).
//! From index 3 on, a value is stored as the difference to the value two places back
//! (index 2 is stored raw). Termination is sign-aware: the last group is the one after
//! which the remaining bits are all copies of its 0x10 bit.

use crate::error::{Error, Result};

/// Most characters one value may use: 7 groups hold 35 bits, enough for any difference of
/// two u32 values.
const MAX_GROUPS: u32 = 7;

/// Parses a compressed counts string into run lengths.
///
/// Validates everything pycocotools takes on trust: every byte must lie in `'0'..='o'`,
/// the last value must be terminated, no value may use more than 7 characters, and every
/// run must land in `0..=u32::MAX`. An empty string gives no runs (the caller checks the
/// runs against the mask size).
///
/// # Errors
/// [`Error::InvalidCountsByte`], [`Error::TruncatedCounts`], [`Error::CountsValueTooLong`],
/// [`Error::NegativeRun`] or [`Error::RunOverflow`], each with the byte offset.
///
/// # Examples
/// ```
/// use sa1b_rle::counts::{parse_counts, write_counts};
/// let runs = parse_counts(b"5220").unwrap();
/// assert_eq!(runs, vec![5, 2, 2, 2]);
/// assert_eq!(write_counts(&runs), b"5220");
/// assert!(parse_counts(b"5 2").is_err());
/// ```
pub fn parse_counts(s: &[u8]) -> Result<Vec<u32>> {
    // Validate every byte up front in one vectorised pass, so the decoding loop below
    // can trust its input.
    if s.iter()
        .fold(0u8, |acc, &b| acc | (b.wrapping_sub(48) >> 6))
        != 0
    {
        let offset = s
            .iter()
            .position(|&b| b.wrapping_sub(48) >= 64)
            .unwrap_or(0);
        return Err(Error::InvalidCountsByte {
            offset,
            byte: s[offset],
        });
    }
    // At most one value per byte; reserving that avoids any regrowth in the hot loop.
    let mut counts: Vec<u32> = Vec::with_capacity(s.len());
    // The value two places back (deltas apply from index 3 on) and the one before it.
    let (mut back2, mut back1) = (0i64, 0i64);
    // Where values end is found 64 bytes at a time as a bit mask (a byte below 'P' has no
    // continuation bit), so finding the next value never waits on decoding this one.
    let mut start = 0usize;
    for (block, bytes) in s.chunks(64).enumerate() {
        let mut ends = value_ends(bytes);
        while ends != 0 {
            let end = block * 64 + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            let len = end + 1 - start;
            let mut x = match s.get(start..start + 4) {
                Some(four) if len <= 4 => decode_short(four, len),
                _ => decode_long(&s[start..=end], start)?,
            };
            let m = counts.len();
            if m > 2 {
                x += back2;
            }
            if !(0..=i64::from(u32::MAX)).contains(&x) {
                return Err(if x < 0 {
                    Error::NegativeRun {
                        run: m,
                        offset: start,
                        value: x,
                    }
                } else {
                    Error::RunOverflow {
                        run: m,
                        offset: start,
                        value: x,
                    }
                });
            }
            counts.push(x as u32);
            back2 = back1;
            back1 = x;
            start = end + 1;
        }
    }
    if start < s.len() {
        return Err(Error::TruncatedCounts { offset: start });
    }
    Ok(counts)
}

/// Bit `j` set when byte `j` (of at most 64 valid bytes) ends a value: its continuation
/// bit 0x20 (of `byte - 48`) is clear, i.e. the byte is below `'P'`.
#[inline]
fn value_ends(bytes: &[u8]) -> u64 {
    let mut mask = 0u64;
    let mut words = bytes.chunks_exact(8);
    for (k, w) in (&mut words).enumerate() {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // 0x01 in each byte that ends a value, then the eight flags gathered into a byte.
        let flags = !((w - 0x3030_3030_3030_3030) >> 5) & 0x0101_0101_0101_0101;
        mask |= (flags.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    let done = bytes.len() - words.remainder().len();
    for (j, &b) in words.remainder().iter().enumerate() {
        mask |= u64::from(b < b'P') << (done + j);
    }
    mask
}

/// Decodes a value of `len` (1 to 4) characters from the 4 valid bytes at its start.
#[inline]
fn decode_short(four: &[u8], len: usize) -> i64 {
    let w = u32::from_le_bytes([four[0], four[1], four[2], four[3]]) - 0x3030_3030;
    let g = w & 0x1f1f_1f1f;
    let v = i64::from((g & 0x1f) | (g >> 3) & 0x3e0 | (g >> 6) & 0x7c00 | (g >> 9) & 0xf_8000);
    let unused = 64 - 5 * len as u32;
    (v << unused) >> unused
}

/// Decodes one complete value (`chars` ends with its terminating character) of any
/// length; `offset` is where it starts in the string, for errors.
fn decode_long(chars: &[u8], offset: usize) -> Result<i64> {
    if chars.len() > MAX_GROUPS as usize {
        return Err(Error::CountsValueTooLong { offset });
    }
    let mut x = 0i64;
    for (k, &b) in chars.iter().enumerate() {
        x |= i64::from((b - 48) & 0x1f) << (5 * k);
    }
    let shift = 5 * chars.len() as u32;
    if (chars[chars.len() - 1] - 48) & 0x10 != 0 {
        x |= -1i64 << shift;
    }
    Ok(x)
}

/// Writes run lengths as a compressed counts string, byte for byte as pycocotools does.
///
/// Unlike cocoapi's `rleToString`, the buffer grows as needed, so values that need 6 or 7
/// characters (images of more than 2**24 pixels) do not overflow it.
///
/// # Examples
/// ```
/// use sa1b_rle::counts::write_counts;
/// assert_eq!(write_counts(&[0]), b"0");
/// assert_eq!(write_counts(&[4096 * 4096]), b"PPPP`0");
/// ```
#[must_use]
pub fn write_counts(counts: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(counts.len() * 2 + 1);
    append_counts(counts, &mut out);
    out
}

/// Appends the compressed counts string of `counts` to `out` (see [`write_counts`]).
///
/// # Examples
/// ```
/// use sa1b_rle::counts::append_counts;
/// let mut s = b"counts: ".to_vec();
/// append_counts(&[3, 2, 4], &mut s);
/// assert_eq!(s, b"counts: 324");
/// ```
pub fn append_counts(counts: &[u32], out: &mut Vec<u8>) {
    // Continuation bits (0x20) for every character but the last of an n-character value.
    const CONTINUE: [u32; 5] = [0, 0, 0x20, 0x2020, 0x0020_2020];
    let base = out.len();
    // Worst case 7 characters a value; written in place, then cut to length.
    out.resize(base + counts.len() * 7 + 4, 0);
    let buf = &mut out[base..];
    let mut len = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        let mut x = i64::from(c);
        if i > 2 {
            x -= i64::from(counts[i - 2]);
        }
        // Significant bits including the sign: n characters hold 5n of them.
        let bits = 65 - (x ^ (x >> 63)).leading_zeros();
        let n = bits.div_ceil(5) as usize;
        if n <= 4 {
            // Write four characters, keep n: no branch on the length.
            let g = (x & 0x1f) | (x << 3) & 0x1f00 | (x << 6) & 0x1f_0000 | (x << 9) & 0x1f00_0000;
            let word = (g as u32 | CONTINUE[n]) + 0x3030_3030;
            buf[len..len + 4].copy_from_slice(&word.to_le_bytes());
            len += n;
            continue;
        }
        loop {
            let mut c = (x & 0x1f) as u8;
            x >>= 5;
            let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                c |= 0x20;
            }
            buf[len] = c + 48;
            len += 1;
            if !more {
                break;
            }
        }
    }
    out.truncate(base + len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_strings() {
        assert_eq!(write_counts(&[]), b"");
        assert_eq!(write_counts(&[9]), b"9");
        assert_eq!(parse_counts(b"").unwrap(), Vec::<u32>::new());
        // index 2 raw, index 3 a delta against index 1
        assert_eq!(write_counts(&[1, 2, 3, 2]), b"1230");
        assert_eq!(parse_counts(b"1230").unwrap(), vec![1, 2, 3, 2]);
    }

    #[test]
    fn negative_delta_round_trips() {
        let runs = [100, 50, 3, 1, 1000, 7];
        assert_eq!(parse_counts(&write_counts(&runs)).unwrap(), runs);
    }

    #[test]
    fn every_small_delta_round_trips() {
        // Values around the 1/2/3-character boundaries, as raw values and as deltas.
        let mut runs = vec![0u32, 0, 0];
        for v in 0..2000u32 {
            runs.push(v);
            runs.push(2000 - v);
        }
        runs.extend([1 << 24, 0, (1 << 24) + 1, u32::MAX, 5, 0]);
        let s = write_counts(&runs);
        assert_eq!(parse_counts(&s).unwrap(), runs);
    }

    #[test]
    fn extreme_values_round_trip() {
        let runs = [u32::MAX, 0, 0, u32::MAX, u32::MAX, 0, 1];
        let s = write_counts(&runs);
        assert!(s.len() <= 7 * runs.len());
        assert_eq!(parse_counts(&s).unwrap(), runs);
    }

    #[test]
    fn rejects_bad_bytes_with_offset() {
        assert_eq!(
            parse_counts(b"12p"),
            Err(Error::InvalidCountsByte {
                offset: 2,
                byte: b'p'
            })
        );
        assert_eq!(
            parse_counts(b"1/"),
            Err(Error::InvalidCountsByte {
                offset: 1,
                byte: b'/'
            })
        );
    }

    #[test]
    fn rejects_truncation() {
        // 'P' = 0x20: continuation bit set, nothing follows.
        assert_eq!(
            parse_counts(b"1P"),
            Err(Error::TruncatedCounts { offset: 1 })
        );
    }

    #[test]
    fn rejects_overlong_values() {
        assert_eq!(
            parse_counts(b"PPPPPPP0"),
            Err(Error::CountsValueTooLong { offset: 0 })
        );
        assert!(matches!(
            parse_counts(b"PPPPPP7"),
            Err(Error::RunOverflow { run: 0, .. })
        ));
    }

    #[test]
    fn rejects_negative_runs() {
        // 'O' = 31: 0x10 set, no continuation: -1 as a raw value.
        assert!(matches!(
            parse_counts(b"O"),
            Err(Error::NegativeRun {
                run: 0,
                value: -1,
                ..
            })
        ));
        // Run 3 = run 1 + delta(-3) ('M' = 29) = 2 - 3 < 0.
        assert!(matches!(
            parse_counts(b"123M"),
            Err(Error::NegativeRun { run: 3, .. })
        ));
    }
}

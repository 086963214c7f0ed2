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
    // Most SA-1B runs take 1-2 characters; reserving half the length avoids regrowth
    // without over-allocating much.
    let mut counts: Vec<u32> = Vec::with_capacity(s.len() / 2 + 1);
    let mut p = 0usize;
    while p < s.len() {
        let start = p;
        let mut x: i64 = 0;
        let mut k: u32 = 0;
        loop {
            let Some(&byte) = s.get(p) else {
                return Err(Error::TruncatedCounts { offset: start });
            };
            if !(48..=111).contains(&byte) {
                return Err(Error::InvalidCountsByte { offset: p, byte });
            }
            if k == MAX_GROUPS {
                return Err(Error::CountsValueTooLong { offset: start });
            }
            let c = i64::from(byte - 48);
            x |= (c & 0x1f) << (5 * k);
            p += 1;
            k += 1;
            if c & 0x20 == 0 {
                if c & 0x10 != 0 {
                    x |= -1i64 << (5 * k);
                }
                break;
            }
        }
        let m = counts.len();
        if m > 2 {
            x += i64::from(counts[m - 2]);
        }
        if x < 0 {
            return Err(Error::NegativeRun {
                run: m,
                offset: start,
                value: x,
            });
        }
        let Ok(v) = u32::try_from(x) else {
            return Err(Error::RunOverflow {
                run: m,
                offset: start,
                value: x,
            });
        };
        counts.push(v);
    }
    Ok(counts)
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
    for (i, &c) in counts.iter().enumerate() {
        let mut x = i64::from(c);
        if i > 2 {
            x -= i64::from(counts[i - 2]);
        }
        loop {
            let mut c = (x & 0x1f) as u8;
            x >>= 5;
            let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                c |= 0x20;
            }
            out.push(c + 48);
            if !more {
                break;
            }
        }
    }
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

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
    // One value per character at most; reserving half that avoids regrowth for SA-1B
    // strings (1.7 characters a value on average) without over-allocating much.
    let mut counts: Vec<u32> = Vec::with_capacity(s.len() / 2 + 1);
    for_each_run(s, |run| counts.push(run))?;
    Ok(counts)
}

/// Decodes a compressed counts string run by run, calling `f` with each run length in
/// order, with the validation of [`parse_counts`]; returns the number of runs. Lets a
/// caller that only needs a summary (area, box) skip storing the runs.
///
/// # Errors
/// As [`parse_counts`]; `f` may have seen the runs before the bad one.
///
/// # Examples
/// ```
/// use sa1b_rle::counts::for_each_run;
/// let mut total = 0;
/// assert_eq!(for_each_run(b"5220", |r| total += r).unwrap(), 4);
/// assert_eq!(total, 11);
/// ```
pub fn for_each_run(s: &[u8], mut f: impl FnMut(u32)) -> Result<usize> {
    // cocoapi's loop with every check it lacks. (Branch-free, two-pass and AVX2
    // variants were measured: none was clearly faster on SA-1B-like strings; see
    // benches/RESULTS.md.)
    let (mut back2, mut back1) = (0i64, 0i64);
    let mut m = 0usize;
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
        if m > 2 {
            x += back2;
        }
        let Ok(v) = u32::try_from(x) else {
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
        };
        f(v);
        back2 = back1;
        back1 = x;
        m += 1;
    }
    Ok(m)
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

    /// cocoapi's `rleFrString`, transcribed without checks: the oracle for the parser.
    fn reference_parse(s: &[u8]) -> Vec<i64> {
        let (mut out, mut p) = (Vec::<i64>::new(), 0);
        while p < s.len() {
            let (mut x, mut k) = (0i64, 0);
            loop {
                let c = i64::from(s[p]) - 48;
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
            if out.len() > 2 {
                x += out[out.len() - 2];
            }
            out.push(x);
        }
        out
    }

    #[test]
    fn parser_matches_reference_on_all_short_strings() {
        // Every string of up to 3 characters from a spread of the alphabet (1-, 2- and
        // 3-character values, signs, continuation at the end).
        let alphabet: Vec<u8> = (48u8..=111).step_by(3).chain([79, 80, 111]).collect();
        let mut strings: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..3 {
            let mut next = vec![];
            for s in &strings {
                for &c in &alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    next.push(t);
                }
            }
            strings.extend(next.clone());
            strings.retain(|s| s.len() <= 3);
            strings.sort();
            strings.dedup();
        }
        for s in strings {
            let ok = s.last().is_none_or(|&b| b < b'P');
            let ours = parse_counts(&s);
            if !ok {
                // truncated (or an earlier value already invalid)
                assert!(ours.is_err(), "{s:?}");
                continue;
            }
            let want = reference_parse(&s);
            if want.iter().all(|&v| (0..=i64::from(u32::MAX)).contains(&v)) {
                let got: Vec<i64> = ours.unwrap().into_iter().map(i64::from).collect();
                assert_eq!(got, want, "{s:?}");
            } else {
                assert!(ours.is_err(), "{s:?}");
            }
        }
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

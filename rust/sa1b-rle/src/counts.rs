//! The compressed counts string of COCO RLE (`rleToString` / `rleFrString` in cocoapi).
//!
//! Each run length is written as a signed number in groups of 5 bits, least significant
//! first, one character per group (`'0' + group`, with 0x20 set while more groups follow).
//! From index 3 on, a value is stored as the difference to the value two places back
//! (index 2 is stored raw). Termination is sign-aware: the last group is the one after
//! which the remaining bits are all copies of its 0x10 bit.

use crate::arch::{write_value, MAX_GROUPS};
use crate::error::{Error, Result};

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
    let mut counts = Vec::new();
    parse_counts_into(s, &mut counts)?;
    Ok(counts)
}

/// [`parse_counts`] appending the runs to `out` (a buffer reused across strings, or a
/// batch's one buffer). On error `out` is left as it was.
///
/// # Errors
/// As [`parse_counts`], and [`Error::OutOfMemory`] when `out` cannot grow.
///
/// # Examples
/// ```
/// use sa1b_rle::counts::parse_counts_into;
/// let mut runs = vec![7];
/// parse_counts_into(b"5220", &mut runs).unwrap();
/// assert_eq!(runs, vec![7, 5, 2, 2, 2]);
/// assert!(parse_counts_into(b"5 2", &mut runs).is_err());
/// assert_eq!(runs, vec![7, 5, 2, 2, 2]);
/// ```
pub fn parse_counts_into(s: &[u8], out: &mut Vec<u32>) -> Result<()> {
    // At most one run per character, and the vector stores reach 16 past the last run.
    crate::alloc::reserve(out, s.len() + 16, "the runs of a counts string")?;
    #[cfg(target_arch = "x86_64")]
    if crate::arch::avx512::counts::parse_if_supported(s, out)
        || crate::arch::avx2::counts::parse_if_supported(s, out)
    {
        return Ok(());
    }
    let base = out.len();
    for_each_run_scalar(s, |run| out.push(run)).inspect_err(|_| out.truncate(base))?;
    Ok(())
}

/// The scalar parser (the reference for the vectorised one, and the path on other CPUs).
#[cfg(test)]
fn parse_counts_scalar(s: &[u8]) -> Result<Vec<u32>> {
    let mut counts: Vec<u32> = Vec::new();
    for_each_run_scalar(s, |run| counts.push(run))?;
    Ok(counts)
}

/// The scalar decoder behind [`parse_counts`]: cocoapi's loop with every check it lacks,
/// calling `f` with each run; returns the number of runs.
fn for_each_run_scalar(s: &[u8], mut f: impl FnMut(u32)) -> Result<usize> {
    // (Branch-free and two-pass scalar variants were measured slower on SA-1B-like
    // strings; the AVX2 path in `simd` is about 1.5x faster.)
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
    #[cfg(target_arch = "x86_64")]
    if crate::arch::avx2::counts::append_if_supported(counts, out) {
        return;
    }
    append_counts_scalar(counts, out);
}

/// The scalar writer behind [`append_counts`] (the reference for the vectorised one).
fn append_counts_scalar(counts: &[u32], out: &mut Vec<u8>) {
    // Worst case 7 characters a value, and `write_value` stores 4 bytes at a time.
    out.reserve(counts.len() * 7 + 4);
    let spare = out.spare_capacity_mut();
    let mut len = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        let mut x = i64::from(c);
        if i > 2 {
            x -= i64::from(counts[i - 2]);
        }
        len += write_value(x, &mut spare[len..]);
    }
    // SAFETY: `write_value` initialised every byte below `len` (it returns how many of
    // the bytes it wrote belong to the value), and `len` is within the reserved capacity.
    unsafe { out.set_len(out.len() + len) };
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

    use crate::test_support::rng as xorshift;

    #[test]
    fn vector_and_scalar_parsers_agree() {
        // Strings long enough for the vector path: encoded random runs of every size
        // class, random valid characters, and corrupted variants. Same runs, or the same
        // error.
        let mut rnd = xorshift(0x1234_5678_9abc_def0u64);
        for round in 0..4000 {
            let len = 16 + rnd(300) as usize;
            let s: Vec<u8> = if round % 3 == 2 {
                (0..len).map(|_| 48 + rnd(64) as u8).collect()
            } else {
                let runs: Vec<u32> = (0..len / 2)
                    .map(|_| match rnd(5) {
                        0 => rnd(16) as u32,
                        1 => rnd(600) as u32,
                        2 => rnd(20_000) as u32,
                        3 => rnd(1 << 24) as u32,
                        _ => rnd(1 << 32) as u32,
                    })
                    .collect();
                let mut s = write_counts(&runs);
                if round % 3 == 1 {
                    let at = rnd(s.len() as u64) as usize;
                    s[at] = 40 + rnd(80) as u8;
                }
                s
            };
            let scalar = parse_counts_scalar(&s);
            let dispatched = parse_counts(&s);
            match (&scalar, &dispatched) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b),
                _ => panic!("{s:?}: {scalar:?} vs {dispatched:?}"),
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    type VectorParser = fn(&[u8], &mut Vec<u32>) -> bool;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_parser_takes_mask_like_strings() {
        // Strings like real masks (mostly 1-3 character values, a few long ones at random
        // places, incl. the first runs) must parse on the vector path to the scalar
        // result; corrupted ones (a byte changed: negative runs, bad bytes, truncation)
        // must be left to the scalar parser or agree with it.
        let mut rnd = xorshift(0x00c0_ffee_1234_5678_u64);
        let mut vector_runs = 0;
        for round in 0..6000 {
            let len = 1 + rnd(400) as usize;
            let mut runs: Vec<u32> = Vec::with_capacity(len);
            for k in 0..len {
                let v = match rnd(60) {
                    0 => rnd(1 << 24) as u32,
                    1 => rnd(1 << 30) as u32,
                    _ if k >= 2 && rnd(2) == 0 => {
                        // A small difference to the run two places back.
                        let d = rnd(2000) as i64 - 1000;
                        (i64::from(runs[k - 2]) + d).clamp(0, (1 << 30) - 1) as u32
                    }
                    _ => rnd(1500) as u32,
                };
                runs.push(v);
            }
            let mut s = write_counts(&runs);
            if round % 4 == 3 {
                let at = rnd(s.len() as u64) as usize;
                s[at] = 40 + rnd(80) as u8;
            }
            let scalar = parse_counts_scalar(&s);
            // Each vector path on its own, appending after an existing run with the room
            // the caller reserves: the scalar result, or left alone (never for clean
            // mask-like strings of their length).
            let paths: [(VectorParser, usize, bool); 2] = [
                (
                    crate::arch::avx2::counts::parse_if_supported,
                    32,
                    std::arch::is_x86_feature_detected!("avx2"),
                ),
                (
                    crate::arch::avx512::counts::parse_if_supported,
                    64,
                    std::arch::is_x86_feature_detected!("avx512vbmi2"),
                ),
            ];
            for (parse, min_len, supported) in paths {
                let mut v = vec![9];
                v.reserve(s.len() + 16);
                let took = parse(&s, &mut v);
                let expect = scalar.as_ref().ok().map(|r| [&[9][..], r].concat());
                if took {
                    assert_eq!(Some(&v), expect.as_ref(), "{s:?}");
                } else {
                    assert_eq!(v, vec![9]);
                }
                if supported && s.len() >= min_len && round % 4 != 3 {
                    assert!(took, "{s:?}");
                    vector_runs += 1;
                }
            }
            match (&scalar, &parse_counts(&s)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("{s:?}: {a:?} vs {b:?}"),
            }
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            assert!(vector_runs > 3000, "{vector_runs}");
        }
    }

    #[test]
    fn writer_round_trips_every_size_class() {
        let mut rnd = xorshift(0x0fed_cba9_8765_4321u64);
        for round in 0..3000 {
            let len = rnd(200) as usize;
            let runs: Vec<u32> = (0..len)
                .map(|i| match (round + i) % 7 {
                    0 => rnd(16) as u32,
                    1 => rnd(600) as u32,
                    2 => rnd(20_000) as u32,
                    3 => (1 << 18) - 2 + rnd(5) as u32,
                    4 => rnd(1 << 24) as u32,
                    5 => u32::MAX - rnd(1 << 20) as u32,
                    _ => rnd(1 << 32) as u32,
                })
                .collect();
            let mut s = b"prefix".to_vec();
            append_counts(&runs, &mut s);
            assert_eq!(&s[..6], b"prefix");
            assert_eq!(parse_counts(&s[6..]).unwrap(), runs, "{runs:?}");
            assert_eq!(parse_counts_scalar(&s[6..]).unwrap(), runs);
        }
    }

    #[test]
    fn vector_and_scalar_writers_agree() {
        // Mostly small values (the vector path), with blocks that force the scalar
        // fallback (5+ character values, runs of 2**31 and more) at random places, and
        // lengths around the 8-value step.
        let mut rnd = xorshift(0x5eed_0fc0_c0a5_a5a5_u64);
        for round in 0..5000 {
            let len = rnd(120) as usize;
            let runs: Vec<u32> = (0..len)
                .map(|_| match rnd(40) {
                    0 => rnd(1 << 32) as u32,
                    1 => (1 << 31) + rnd(1 << 20) as u32,
                    2 => rnd(1 << 20) as u32,
                    3..=6 => rnd(1 << 15) as u32,
                    7..=15 => 16 + rnd(600) as u32,
                    _ => rnd(40) as u32,
                })
                .map(|v| if round % 5 == 0 { v & 0xffff } else { v })
                .collect();
            let mut vector = b"x".to_vec();
            append_counts(&runs, &mut vector);
            let mut scalar = b"x".to_vec();
            append_counts_scalar(&runs, &mut scalar);
            assert_eq!(vector, scalar, "{runs:?}");
        }
        // Every value around the 1/2/3/4/5-character boundaries, as a difference.
        for edge in [16i64, 512, 16384, 1 << 19] {
            for d in -3..=3 {
                for sign in [1i64, -1] {
                    let x = sign * edge + d;
                    // Runs i and i - 2 differ by x.
                    let runs: Vec<u32> =
                        (0..40i64).map(|i| ((1 << 24) + i / 2 * x) as u32).collect();
                    let mut scalar = Vec::new();
                    append_counts_scalar(&runs, &mut scalar);
                    assert_eq!(write_counts(&runs), scalar, "{x}");
                }
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

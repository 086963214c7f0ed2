//! The compressed counts string of COCO RLE (`rleToString` / `rleFrString` in cocoapi).
//!
//! Each run length is written as a signed number in groups of 5 bits, least significant
//! first, one character per group (`'0' + group`, with 0x20 set while more groups follow).
//! From index 3 on, a value is stored as the difference to the value two places back
//! (index 2 is stored raw). Termination is sign-aware: the last group is the one after
//! which the remaining bits are all copies of its 0x10 bit.

use std::mem::MaybeUninit;

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
    if avx512::parse_if_supported(s, out) || simd::parse_if_supported(s, out) {
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

/// The AVX-512 parser (AVX-512 BW/VL and VBMI2): the AVX2 parser's scheme on 32 bytes
/// at a time, with the bytes that end a value packed by `vpcompressw` instead of a
/// shuffle table, and the differences undone 16 runs at a time.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// The vectorised parse when the CPU has the instructions and the string is long
    /// enough to gain from it; `false` (with `out` unchanged) to take another path.
    /// `out` must have room for `s.len() + 16` more runs.
    pub(super) fn parse_if_supported(s: &[u8], out: &mut Vec<u32>) -> bool {
        if s.len() >= 64
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vbmi2")
        {
            // SAFETY: the CPU supports the features (checked just above).
            unsafe { parse(s, out) }
        } else {
            false
        }
    }

    /// For each number of runs written by a 16-lane store (0..=16), the lanes of the
    /// result that carry into the next store: `[r(n-2), r(n-1)]` repeated (see the AVX2
    /// parser's `CARRY`).
    static CARRY: [[u32; 16]; 17] = carry_table();

    const fn carry_table() -> [[u32; 16]; 17] {
        let mut t = [[0u32; 16]; 17];
        let mut n = 0;
        while n <= 16 {
            let (even, odd) = match n {
                0 => (0, 1),
                1 => (1, 0),
                _ => (n as u32 - 2, n as u32 - 1),
            };
            let mut lane = 0;
            while lane < 16 {
                t[n][lane] = if lane % 2 == 0 { even } else { odd };
                lane += 1;
            }
            n += 1;
        }
        t
    }

    /// Thirty-two bytes of `p` from `at` (bounds-checked slice, unaligned load).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn load32(p: &[u8], at: usize) -> __m256i {
        let bytes: &[u8; 32] = p[at..at + 32].try_into().unwrap_or(&[b'0'; 32]);
        // SAFETY: `bytes` is 32 readable bytes; `_mm256_loadu_si256` has no alignment need.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
    }

    /// The stored value of 4+ characters ending at `s[end]`, or `None` if it has more than
    /// 7 (the scalar parser then reports it). Wrapping arithmetic: the bytes are not
    /// validated yet (the caller discards the result if they turn out invalid).
    fn long_value(s: &[u8], end: usize) -> Option<i64> {
        let mut start = end;
        // Continuation bytes are 'P'..=0x7f.
        while start > 0 && (s[start - 1] as i8) > b'O' as i8 {
            start -= 1;
            if end - start >= super::MAX_GROUPS as usize {
                return None;
            }
        }
        let mut x = 0i64;
        for (k, &b) in s[start..=end].iter().enumerate() {
            x |= i64::from(b.wrapping_sub(48) & 0x1f) << (5 * k);
        }
        if s[end].wrapping_sub(48) & 0x10 != 0 {
            x |= -1i64 << (5 * (end - start + 1));
        }
        Some(x)
    }

    /// # Safety
    /// The CPU must support AVX-512 F, BW, VL and VBMI2.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2")]
    unsafe fn parse(s: &[u8], out: &mut Vec<u32>) -> bool {
        parse_runs(s, out).is_some()
    }

    /// The running sums with stride 2 of up to 16 stored values `d` (zero past them):
    /// lane k holds `d(k) + d(k-2) + ...`; adding the carry gives the runs.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn stride2_sums(d: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let s = _mm512_add_epi32(d, _mm512_alignr_epi32::<14>(d, zero));
        let s = _mm512_add_epi32(s, _mm512_alignr_epi32::<12>(s, zero));
        _mm512_add_epi32(s, _mm512_alignr_epi32::<8>(s, zero))
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2")]
    fn parse_runs(s: &[u8], out: &mut Vec<u32>) -> Option<()> {
        let n = s.len();
        if n == 0 || s[n - 1] >= b'P' {
            return None;
        }
        let base = out.len();
        let spare = out.spare_capacity_mut().get_mut(..n + 16)?;
        let mut m = 0usize;
        let (mut carry, mut signs) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let last_terminator = _mm256_set1_epi8(b'P' as i8 - 1);
        let low5 = _mm256_set1_epi8(0x1f);
        let flip = _mm256_set1_epi8(0x10);
        let (zero_char, mut largest) = (_mm256_set1_epi8(48), _mm256_setzero_si256());
        let mut i = 0;
        // The 35 bytes from i - 3 of the first and last chunks, with terminators before
        // the string (nothing to continue from) and continuation characters after it
        // (nothing past the end ends a value); the other chunks are read in place.
        let mut edge = [0u8; 35];
        while i < n {
            let window: &[u8] = if i >= 3 && i + 32 <= n {
                &s[i - 3..i + 32]
            } else {
                for (k, b) in edge.iter_mut().enumerate() {
                    *b = match (i + k).checked_sub(3) {
                        None => b'0',
                        Some(at) => s.get(at).copied().unwrap_or(b'P'),
                    };
                }
                &edge
            };
            let (b0, b1, b2, b3) = (
                load32(window, 3),
                load32(window, 2),
                load32(window, 1),
                load32(window, 0),
            );
            largest = _mm256_max_epu8(largest, _mm256_sub_epi8(b0, zero_char));
            let c0 = _mm256_cmpgt_epi8_mask(b0, last_terminator);
            let c1 = _mm256_cmpgt_epi8_mask(b1, last_terminator);
            let c2 = _mm256_cmpgt_epi8_mask(b2, last_terminator);
            let c3 = _mm256_cmpgt_epi8_mask(b3, last_terminator);
            let ends = !c0;
            let longs = ends & c1 & c2 & c3;
            // The value ending at each byte if it is 1, 2 or 3 characters long (as in the
            // AVX2 parser), in 16-bit lanes.
            let one = _mm512_cvtepi8_epi16(_mm256_sub_epi8(_mm256_and_si256(b0, low5), flip));
            let g1 = _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_xor_si256(b1, flip), low5));
            let g2 = _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_xor_si256(b2, flip), low5));
            let two = _mm512_add_epi16(g1, _mm512_slli_epi16::<5>(one));
            let three = _mm512_add_epi16(g2, _mm512_slli_epi16::<5>(two));
            let value = _mm512_mask_blend_epi16(c1, one, _mm512_mask_blend_epi16(c2, two, three));
            if longs != 0 || m < 3 {
                // Value by value: long values, and the first three runs (stored raw).
                let mut lanes = [0i16; 32];
                // SAFETY: `lanes` is 64 writable bytes; unaligned store.
                unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), value) };
                let mut back2 = i64::from(_mm_cvtsi128_si32(_mm512_castsi512_si128(carry)));
                let mut back1 = i64::from(_mm_extract_epi32::<1>(_mm512_castsi512_si128(carry)));
                let mut rest = ends;
                while rest != 0 {
                    let j = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    let stored = if longs & (1 << j) != 0 {
                        long_value(s, i + j)?
                    } else {
                        i64::from(lanes[j])
                    };
                    let x = stored + if m > 2 { back2 } else { 0 };
                    if !(0..1 << 31).contains(&x) {
                        return None;
                    }
                    spare[m].write(x as u32);
                    (back2, back1) = (back1, x);
                    m += 1;
                }
                let (b2, b1) = (back2 as i32, back1 as i32);
                carry = _mm512_setr_epi32(
                    b2, b1, b2, b1, b2, b1, b2, b1, b2, b1, b2, b1, b2, b1, b2, b1,
                );
            } else {
                let packed = _mm512_maskz_compress_epi16(ends, value);
                let count = ends.count_ones() as usize;
                let (lo, hi) = (count.min(16), count.saturating_sub(16));
                for (half, k) in [
                    (_mm512_castsi512_si256(packed), lo),
                    (_mm512_extracti64x4_epi64::<1>(packed), hi),
                ] {
                    let sums = stride2_sums(_mm512_cvtepi16_epi32(half));
                    let r = _mm512_add_epi32(sums, carry);
                    signs = _mm512_or_si512(signs, r);
                    let dst = &mut spare[m..m + 16];
                    // SAFETY: `dst` is 16 writable (uninitialised) u32s, 64 bytes;
                    // unaligned store.
                    unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), r) };
                    // SAFETY: a row of `CARRY` is 16 readable i32s; unaligned load.
                    let lanes = unsafe { _mm512_loadu_epi32(CARRY[k].as_ptr().cast()) };
                    carry = _mm512_permutexvar_epi32(lanes, r);
                    m += k;
                }
            }
            i += 32;
        }
        let valid = _mm256_cmpeq_epi8_mask(_mm256_min_epu8(largest, _mm256_set1_epi8(63)), largest);
        if valid != u32::MAX || _mm512_cmplt_epi32_mask(signs, _mm512_setzero_si512()) != 0 {
            return None;
        }
        // SAFETY: every run below m was written above (by `write` or by a store covering
        // the 16 runs from the then-current m, which grew by at most 16 per store).
        unsafe { out.set_len(base + m) };
        Some(())
    }
}

/// The AVX2 codec. The parser takes sixteen bytes at a time without a branch on value
/// lengths: each byte gets the value that a 1-, 2- or 3-character value ending there
/// holds (in 16-bit lanes), the bytes that end a value are packed to the front with a
/// shuffle table, and the differences are undone in 32-bit lanes (a prefix sum with
/// stride 2) in the same pass. Chunks holding a value of 4+ characters (a few per string:
/// large first runs, gaps between parts) go value by value. The writer is described at
/// [`append`].
#[cfg(target_arch = "x86_64")]
mod simd {
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// For each 8-bit mask, the `pshufb` control moving the 16-bit lanes it selects to the
    /// front, in order.
    static PACK: [[u8; 16]; 256] = pack_table();

    const fn pack_table() -> [[u8; 16]; 256] {
        let mut t = [[0x80u8; 16]; 256];
        let mut mask = 0;
        while mask < 256 {
            let (mut lane, mut k) = (0u8, 0);
            while lane < 8 {
                if mask & (1 << lane) != 0 {
                    t[mask][2 * k] = 2 * lane;
                    t[mask][2 * k + 1] = 2 * lane + 1;
                    k += 1;
                }
                lane += 1;
            }
            mask += 1;
        }
        t
    }

    /// The vectorised parse when the CPU has AVX2 and the string is long enough to gain
    /// from it; `None` to take the scalar path (which also reports every error: anything
    /// unusual, such as a bad byte or a value of 8+ characters, is left to it).
    pub(super) fn parse_if_supported(s: &[u8], out: &mut Vec<u32>) -> bool {
        if s.len() >= 32
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi1")
        {
            // SAFETY: the CPU supports AVX2, POPCNT and BMI1 (checked just above).
            unsafe { parse(s, out) }
        } else {
            false
        }
    }

    /// Sixteen bytes of `p` from `at` (bounds-checked slice, unaligned load).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load16(p: &[u8], at: usize) -> __m128i {
        let bytes: &[u8; 16] = p[at..at + 16].try_into().unwrap_or(&[b'0'; 16]);
        // SAFETY: `bytes` is 16 readable bytes; `_mm_loadu_si128` has no alignment need.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// For each number of values gathered into a half (0..=8), the lanes of the half's
    /// runs that carry into the next half: the last two runs, repeated (`[r(k-2), r(k-1)]`
    /// pattern, since run k adds the run two places back). With fewer than two new runs the
    /// lanes past them still hold the previous carry (see [`parse`]).
    static CARRY: [[i32; 8]; 9] = carry_table();

    const fn carry_table() -> [[i32; 8]; 9] {
        let mut t = [[0i32; 8]; 9];
        let mut n = 0;
        while n <= 8 {
            let (even, odd) = match n {
                0 => (0, 1),
                1 => (1, 0),
                _ => (n as i32 - 2, n as i32 - 1),
            };
            let mut lane = 0;
            while lane < 8 {
                t[n][lane] = if lane % 2 == 0 { even } else { odd };
                lane += 1;
            }
            n += 1;
        }
        t
    }

    /// The stored value of 4+ characters ending at `p[end]`, or `None` if it has more
    /// than 7 (the scalar parser then reports it). Wrapping arithmetic: the bytes are not
    /// validated yet (the caller discards the result if they turn out invalid).
    fn long_value(p: &[u8], end: usize) -> Option<i64> {
        let mut start = end;
        // Continuation bytes are 'P'..=0x7f; `p` starts with terminators.
        while (p[start - 1] as i8) > b'O' as i8 {
            start -= 1;
            if end - start >= super::MAX_GROUPS as usize {
                return None;
            }
        }
        let mut x = 0i64;
        for (k, &b) in p[start..=end].iter().enumerate() {
            x |= i64::from(b.wrapping_sub(48) & 0x1f) << (5 * k);
        }
        if p[end].wrapping_sub(48) & 0x10 != 0 {
            x |= -1i64 << (5 * (end - start + 1));
        }
        Some(x)
    }

    /// Parses a counts string, appending its runs to `out` (which has room for
    /// `s.len() + 8` more), or returns `false` with `out` unchanged when it holds
    /// anything this fast path leaves to the scalar parser (invalid bytes, truncation,
    /// values of 8+ characters, runs that are negative or of 2**31 and more).
    ///
    /// # Safety
    /// The CPU must support AVX2, POPCNT and BMI1.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    unsafe fn parse(s: &[u8], out: &mut Vec<u32>) -> bool {
        parse_runs(s, out).is_some()
    }

    #[target_feature(enable = "avx2,popcnt,bmi1")]
    fn parse_runs(s: &[u8], out: &mut Vec<u32>) -> Option<()> {
        let n = s.len();
        if n == 0 || s[n - 1] >= b'P' {
            return None;
        }
        // Three terminators in front (nothing to continue from), and sixteen continuation
        // characters behind for the loads, so that nothing past the end ends a value.
        let mut padded = Vec::with_capacity(n + 19);
        padded.extend_from_slice(b"000");
        padded.extend_from_slice(s);
        padded.extend_from_slice(&[b'P'; 16]);
        // At most one run per byte, and the 8-lane stores reach 8 past the last run
        // (the caller reserved that room).
        let base = out.len();
        let spare = out.spare_capacity_mut().get_mut(..n + 8)?;
        let mut m = 0usize;
        let zero = _mm256_setzero_si256();
        // [run m-2, run m-1] repeated; sign bits of every run (any set: out of range).
        let (mut carry, mut signs) = (zero, zero);
        let last_terminator = _mm_set1_epi8(b'P' as i8 - 1);
        let low5 = _mm_set1_epi8(0x1f);
        let flip = _mm_set1_epi8(0x10);
        // The largest byte - 48 seen (bytes must lie in '0'..='o', 0..=63 after it).
        let (zero_char, mut largest) = (_mm_set1_epi8(48), _mm_setzero_si128());
        let mut i = 0;
        while i < n {
            let (b0, b1, b2, b3) = (
                load16(&padded, i + 3),
                load16(&padded, i + 2),
                load16(&padded, i + 1),
                load16(&padded, i),
            );
            largest = _mm_max_epu8(largest, _mm_sub_epi8(b0, zero_char));
            // Continuation flags, byte-wise (for valid bytes, 48..=111, positive as i8;
            // invalid ones make the result garbage, discarded below).
            let c0 = _mm_cmpgt_epi8(b0, last_terminator);
            let c1 = _mm_cmpgt_epi8(b1, last_terminator);
            let c2 = _mm_cmpgt_epi8(b2, last_terminator);
            let c3 = _mm_cmpgt_epi8(b3, last_terminator);
            let ends = !(_mm_movemask_epi8(c0) as u32) & 0xffff;
            let long = _mm_and_si128(_mm_andnot_si128(c0, c1), _mm_and_si128(c2, c3));
            let longs = _mm_movemask_epi8(long) as u32 & ends;
            // The value ending at each byte if it is 1, 2 or 3 characters long: the last
            // character's group is signed, the earlier ones are not. (The low 5 bits of a
            // byte are its group with bit 4 flipped: '0' is 0x30.)
            let one = _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_and_si128(b0, low5), flip));
            let g1 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_xor_si128(b1, flip), low5));
            let g2 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_xor_si128(b2, flip), low5));
            let two = _mm256_add_epi16(g1, _mm256_slli_epi16::<5>(one));
            let three = _mm256_add_epi16(g2, _mm256_slli_epi16::<5>(two));
            let (m1, m2) = (_mm256_cvtepi8_epi16(c1), _mm256_cvtepi8_epi16(c2));
            let value = _mm256_blendv_epi8(one, _mm256_blendv_epi8(two, three, m2), m1);
            if longs != 0 || m < 3 {
                // Value by value: long values, and the first three runs (stored raw).
                let mut lanes = [0i16; 16];
                // SAFETY: `lanes` is 32 writable bytes; unaligned store.
                unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), value) };
                let mut back2 = i64::from(_mm256_extract_epi32::<0>(carry));
                let mut back1 = i64::from(_mm256_extract_epi32::<1>(carry));
                let mut rest = ends;
                while rest != 0 {
                    let j = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    let stored = if longs & (1 << j) != 0 {
                        long_value(&padded, i + 3 + j)?
                    } else {
                        i64::from(lanes[j])
                    };
                    let x = stored + if m > 2 { back2 } else { 0 };
                    if !(0..1 << 31).contains(&x) {
                        return None;
                    }
                    spare[m].write(x as u32);
                    (back2, back1) = (back1, x);
                    m += 1;
                }
                let (b2, b1) = (back2 as i32, back1 as i32);
                carry = _mm256_setr_epi32(b2, b1, b2, b1, b2, b1, b2, b1);
            } else {
                for (half, mask) in [
                    (_mm256_castsi256_si128(value), ends & 0xff),
                    (_mm256_extracti128_si256::<1>(value), ends >> 8),
                ] {
                    let control = load16(&PACK[mask as usize], 0);
                    let d = _mm256_cvtepi16_epi32(_mm_shuffle_epi8(half, control));
                    // Run k = d(k) + run k-2: add d shifted up 2 lanes, then the sum
                    // shifted up 4 lanes, then the carry. Lanes past the new runs add
                    // zeros, so they repeat the last runs of their parity.
                    let up2 = _mm256_blend_epi32::<0b0000_0011>(
                        _mm256_permute4x64_epi64::<0b1001_0000>(d),
                        zero,
                    );
                    let s = _mm256_add_epi32(d, up2);
                    let s = _mm256_add_epi32(s, _mm256_permute2x128_si256::<0x08>(s, s));
                    let r = _mm256_add_epi32(s, carry);
                    signs = _mm256_or_si256(signs, r);
                    let dst = &mut spare[m..m + 8];
                    // SAFETY: `dst` is 8 writable (uninitialised) u32s, 32 bytes;
                    // unaligned store.
                    unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), r) };
                    let count = mask.count_ones() as usize;
                    let lanes = load8_i32(&CARRY[count]);
                    carry = _mm256_permutevar8x32_epi32(r, lanes);
                    m += count;
                }
            }
            i += 16;
        }
        let valid = _mm_cmpeq_epi8(_mm_min_epu8(largest, _mm_set1_epi8(63)), largest);
        if _mm_movemask_epi8(valid) != 0xffff || _mm256_movemask_ps(_mm256_castsi256_ps(signs)) != 0
        {
            return None;
        }
        // SAFETY: every run below m was written above (by `write` or by a store covering
        // the 8 runs from the then-current m, which grew by at most 8 per store).
        unsafe { out.set_len(base + m) };
        Some(())
    }

    /// Eight `i32`s (unaligned load).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load8_i32(v: &[i32; 8]) -> __m256i {
        // SAFETY: `v` is 32 readable bytes; `_mm256_loadu_si256` has no alignment need.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    }

    /// For four values of 1 to 4 characters each (`length - 1` in 2 bits per value, the
    /// first value lowest), the `pshufb` control gathering their characters (each value
    /// in its own 4-byte lane) to the front.
    static GATHER: [[u8; 16]; 256] = gather_table();
    /// The number of characters each `GATHER` control keeps.
    static GATHER_LEN: [u8; 256] = gather_len_table();
    /// The 4 bits of the index spread to bits 0, 2, 4 and 6.
    static SPREAD: [u8; 16] = spread_table();

    const fn gather_table() -> [[u8; 16]; 256] {
        let mut t = [[0x80u8; 16]; 256];
        let mut index = 0;
        while index < 256 {
            let (mut k, mut lane) = (0, 0);
            while lane < 4 {
                let len = ((index >> (2 * lane)) & 3) + 1;
                let mut c = 0;
                while c < len {
                    t[index][k] = (4 * lane + c) as u8;
                    k += 1;
                    c += 1;
                }
                lane += 1;
            }
            index += 1;
        }
        t
    }

    const fn gather_len_table() -> [u8; 256] {
        let mut t = [0u8; 256];
        let mut index = 0;
        while index < 256 {
            t[index] =
                (4 + (index & 3) + ((index >> 2) & 3) + ((index >> 4) & 3) + ((index >> 6) & 3))
                    as u8;
            index += 1;
        }
        t
    }

    const fn spread_table() -> [u8; 16] {
        let mut t = [0u8; 16];
        let mut m = 0;
        while m < 16 {
            t[m] = ((m & 1) | (m & 2) << 1 | (m & 4) << 2 | (m & 8) << 3) as u8;
            m += 1;
        }
        t
    }

    /// The vectorised [`append_counts`](super::append_counts) when the CPU has AVX2 and
    /// there are enough runs to gain from it; `false` (having written nothing) otherwise.
    pub(super) fn append_if_supported(counts: &[u32], out: &mut Vec<u8>) -> bool {
        if counts.len() >= 16 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { append(counts, out) };
            true
        } else {
            false
        }
    }

    /// Eight `u32`s of `p` from `at` (bounds-checked slice, unaligned load).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load8(p: &[u32], at: usize) -> __m256i {
        let v: &[u32; 8] = p[at..at + 8].try_into().unwrap_or(&[0; 8]);
        // SAFETY: `v` is 32 readable bytes; `_mm256_loadu_si256` has no alignment need.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    }

    /// Eight values a step: each value's four first characters are built in its own
    /// 32-bit lane with its length from three comparisons, then each half's 4..16
    /// characters are gathered to the front with a shuffle table and stored. Steps that
    /// hold a value of 5+ characters (or runs of 2**31 and more) are written in scalar.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn append(counts: &[u32], out: &mut Vec<u8>) {
        let n = counts.len();
        // 7 characters a value at most, and the last 16-byte store may reach 16 - 4 bytes
        // past the characters it keeps.
        out.reserve(n * 7 + 16);
        let spare = out.spare_capacity_mut();
        let mut len = 0usize;
        let stored = |i: usize| {
            let x = i64::from(counts[i]);
            if i > 2 {
                x - i64::from(counts[i - 2])
            } else {
                x
            }
        };
        let mut i = 0;
        while i < 3 {
            len += super::write_value(stored(i), &mut spare[len..]);
            i += 1;
        }
        let low5 = _mm256_set1_epi32(0x1f);
        let (g1, g2, g3) = (
            _mm256_set1_epi32(0x1f00),
            _mm256_set1_epi32(0x1f_0000),
            _mm256_set1_epi32(0x1f00_0000),
        );
        let (t1, t2, t3, t4) = (
            _mm256_set1_epi32(15),
            _mm256_set1_epi32(511),
            _mm256_set1_epi32(16383),
            _mm256_set1_epi32((1 << 19) - 1),
        );
        let (k1, k2, k3) = (
            _mm256_set1_epi32(0x20),
            _mm256_set1_epi32(0x2000),
            _mm256_set1_epi32(0x20_0000),
        );
        let zero_char = _mm256_set1_epi32(0x3030_3030);
        while i + 8 <= n {
            let (a, b) = (load8(counts, i), load8(counts, i - 2));
            // Exact in i32 while both runs are below 2**31 (checked below).
            let x = _mm256_sub_epi32(a, b);
            // x for x >= 0, -x - 1 below: n characters hold it iff it is below 2**(5n-1).
            let y = _mm256_xor_si256(x, _mm256_srai_epi32::<31>(x));
            let (m1, m2, m3) = (
                _mm256_cmpgt_epi32(y, t1),
                _mm256_cmpgt_epi32(y, t2),
                _mm256_cmpgt_epi32(y, t3),
            );
            let unusual = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_cmpgt_epi32(y, t4));
            if _mm256_movemask_ps(_mm256_castsi256_ps(unusual)) != 0 {
                for j in i..i + 8 {
                    len += super::write_value(stored(j), &mut spare[len..]);
                }
                i += 8;
                continue;
            }
            let groups = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_and_si256(x, low5),
                    _mm256_and_si256(_mm256_slli_epi32::<3>(x), g1),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_slli_epi32::<6>(x), g2),
                    _mm256_and_si256(_mm256_slli_epi32::<9>(x), g3),
                ),
            );
            let continuation = _mm256_or_si256(
                _mm256_and_si256(m1, k1),
                _mm256_or_si256(_mm256_and_si256(m2, k2), _mm256_and_si256(m3, k3)),
            );
            let chars = _mm256_add_epi32(_mm256_or_si256(groups, continuation), zero_char);
            let (b1, b2, b3) = (
                _mm256_movemask_ps(_mm256_castsi256_ps(m1)) as usize,
                _mm256_movemask_ps(_mm256_castsi256_ps(m2)) as usize,
                _mm256_movemask_ps(_mm256_castsi256_ps(m3)) as usize,
            );
            for (half, bits) in [
                (
                    _mm256_castsi256_si128(chars),
                    b1 & 15 | (b2 & 15) << 4 | (b3 & 15) << 8,
                ),
                (
                    _mm256_extracti128_si256::<1>(chars),
                    b1 >> 4 | (b2 >> 4) << 4 | (b3 >> 4) << 8,
                ),
            ] {
                let index =
                    usize::from(SPREAD[bits & 15] + SPREAD[(bits >> 4) & 15] + SPREAD[bits >> 8]);
                let control = load16(&GATHER[index], 0);
                let dst = &mut spare[len..len + 16];
                // SAFETY: `dst` is 16 writable (uninitialised) bytes; unaligned store.
                unsafe {
                    _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm_shuffle_epi8(half, control));
                }
                len += usize::from(GATHER_LEN[index]);
            }
            i += 8;
        }
        while i < n {
            len += super::write_value(stored(i), &mut spare[len..]);
            i += 1;
        }
        // SAFETY: every byte below `len` was written above (each store or `write_value`
        // covers the characters it counts), and `len` is within the reserved capacity.
        unsafe { out.set_len(out.len() + len) };
    }
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
    if simd::append_if_supported(counts, out) {
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

/// Writes one stored value (a run, or a difference of runs) at the front of `dst` and
/// returns its length in characters. `dst` must have room for 4 bytes, or for the
/// value's length if that is more (at most [`MAX_GROUPS`]).
#[inline]
fn write_value(mut x: i64, dst: &mut [MaybeUninit<u8>]) -> usize {
    // Continuation bits (0x20) for every character but the last of an n-character value.
    const CONTINUE: [u32; 5] = [0, 0, 0x20, 0x2020, 0x0020_2020];
    // Significant bits including the sign: n characters hold 5n of them.
    let bits = 65 - (x ^ (x >> 63)).leading_zeros();
    // ceil(bits / 5), spelled out: `div_ceil` compiles to a slower sequence here.
    #[allow(clippy::manual_div_ceil)]
    let n = ((bits + 4) / 5) as usize;
    if n <= 4 {
        // Write four characters, keep n: no branch on the length.
        let g = (x & 0x1f) | (x << 3) & 0x1f00 | (x << 6) & 0x1f_0000 | (x << 9) & 0x1f00_0000;
        let word = (g as u32 | CONTINUE[n]) + 0x3030_3030;
        for (d, b) in dst[..4].iter_mut().zip(word.to_le_bytes()) {
            d.write(b);
        }
        return n;
    }
    let mut len = 0;
    loop {
        let mut c = (x & 0x1f) as u8;
        x >>= 5;
        let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
        if more {
            c |= 0x20;
        }
        dst[len].write(c + 48);
        len += 1;
        if !more {
            return len;
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
                    simd::parse_if_supported,
                    32,
                    std::arch::is_x86_feature_detected!("avx2"),
                ),
                (
                    avx512::parse_if_supported,
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

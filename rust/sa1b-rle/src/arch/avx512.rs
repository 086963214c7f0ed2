//! The AVX-512 kernels (F for all; BW, VL and VBMI2 for the counts parser), each
//! dispatched from its module, which holds the scalar path it is tested against.

/// The counts string parser (dispatched from the `counts` module).
pub(crate) mod counts {
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// The vectorised parse when the CPU has the instructions and the string is long
    /// enough to gain from it; `false` (with `out` unchanged) to take another path.
    /// `out` must have room for `s.len() + 16` more runs.
    pub(crate) fn parse_if_supported(s: &[u8], out: &mut Vec<u32>) -> bool {
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
    static CARRY: [[i32; 16]; 17] = crate::arch::carry_table();

    /// Thirty-two bytes of `p` from `at` (bounds-checked slice, unaligned load).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn load32(p: &[u8], at: usize) -> __m256i {
        let bytes: &[u8; 32] = p[at..at + 32].try_into().unwrap_or(&[b'0'; 32]);
        // SAFETY: `bytes` is 32 readable bytes; `_mm256_loadu_si256` has no alignment need.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
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
                let low = _mm512_castsi512_si128(carry);
                let back = (
                    i64::from(_mm_cvtsi128_si32(low)),
                    i64::from(_mm_extract_epi32::<1>(low)),
                );
                let (back2, back1) =
                    crate::arch::values_one_by_one(&lanes, ends, longs, s, i, back, &mut m, spare)?;
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

/// The rows of a mask's foreground runs, for its bounding box (dispatched from the `rle` module).
pub(crate) mod bbox {
    use crate::arch::RowExtents;
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// [`rows_avx2`] with AVX-512, sixteen pairs a step, the last step a masked load.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn rows(h: u64, pairs: &[u32]) -> RowExtents {
        let hi = h as i32; // h < 2**24
        let hv = _mm512_set1_epi32(hi);
        let hm1 = _mm512_set1_epi32(hi - 1);
        let inv_h = _mm512_set1_ps(1.0 / h as f32);
        let zero = _mm512_setzero_si512();
        let ones = _mm512_set1_epi32(-1);
        let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
        let lane15 = _mm512_set1_epi32(15);
        let (mut top, mut bottom, mut carry) = (ones, zero, zero);
        let mut at = 0;
        while at < pairs.len() {
            let rest = pairs.len() - at;
            let (a, b) = if rest >= 32 {
                let c: &[u32; 32] = pairs[at..at + 32].try_into().unwrap_or(&[0; 32]);
                // SAFETY: `c` is 32 readable u32; unaligned loads.
                unsafe {
                    (
                        _mm512_loadu_si512(c.as_ptr().cast()),
                        _mm512_loadu_si512(c.as_ptr().add(16).cast()),
                    )
                }
            } else {
                // The last (fewer than 32) runs, zeros after them: empty pairs.
                let c = &pairs[at..];
                let (m0, m1) = if rest >= 16 {
                    (u16::MAX, ((1u32 << (rest - 16)) - 1) as u16)
                } else {
                    (((1u32 << rest) - 1) as u16, 0)
                };
                // SAFETY: the masks select only the `rest` readable u32 of `c` (masked-off
                // lanes are not accessed).
                unsafe {
                    (
                        _mm512_maskz_loadu_epi32(m0, c.as_ptr().cast()),
                        _mm512_maskz_loadu_epi32(m1, c.as_ptr().wrapping_add(16).cast()),
                    )
                }
            };
            at += 32;
            let bg = _mm512_permutex2var_epi32(a, evens, b);
            let fg = _mm512_permutex2var_epi32(a, odds, b);
            // Inclusive prefix sum over the sixteen lanes (lanes shifted up, zeros in).
            let mut s = _mm512_add_epi32(bg, fg);
            s = _mm512_add_epi32(s, _mm512_alignr_epi32::<15>(s, zero));
            s = _mm512_add_epi32(s, _mm512_alignr_epi32::<14>(s, zero));
            s = _mm512_add_epi32(s, _mm512_alignr_epi32::<12>(s, zero));
            s = _mm512_add_epi32(s, _mm512_alignr_epi32::<8>(s, zero));
            let end = _mm512_add_epi32(s, carry);
            carry = _mm512_permutexvar_epi32(lane15, end);
            let start = _mm512_sub_epi32(end, fg);
            let q = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(start), inv_h));
            let mut row = _mm512_sub_epi32(start, _mm512_mullo_epi32(q, hv));
            row = _mm512_mask_add_epi32(row, _mm512_cmplt_epi32_mask(row, zero), row, hv);
            row = _mm512_mask_sub_epi32(row, _mm512_cmpgt_epi32_mask(row, hm1), row, hv);
            let full = _mm512_test_epi32_mask(fg, fg);
            let row_end = _mm512_add_epi32(row, _mm512_add_epi32(fg, ones));
            top = _mm512_mask_min_epu32(top, full, top, row);
            bottom = _mm512_mask_max_epu32(bottom, full, bottom, row_end);
        }
        RowExtents {
            top: _mm512_reduce_min_epu32(top),
            bottom: _mm512_reduce_max_epu32(bottom),
            pos: 0,
            done: pairs.len(),
        }
    }
}

/// The pair test of the IoU walk (dispatched from the `column_iou` module).
pub(crate) mod iou {
    use crate::arch::{Ranges, Scratch, PAD};
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// The scalar pair test of the `column_iou` module, sixteen ground-truth ranges a step.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn pairs(
        d: &Ranges<'_>,
        g: &Ranges<'_>,
        inter: &mut [u64],
        m: usize,
        lower: bool,
        s: &mut Scratch,
    ) {
        if lower {
            pairs_avx512_of::<true>(d, g, inter, m, s);
        } else {
            pairs_avx512_of::<false>(d, g, inter, m, s);
        }
    }

    /// Every overlapping pair's matrix index and rows are compressed into the low lanes
    /// and stored into a list (no branch per lane or per chunk), which is then added up.
    /// The compress goes to a register and a full vector is stored: the memory form
    /// (`vpcompressd` to memory) is microcoded on AMD Zen 4, ~40x slower.
    #[target_feature(enable = "avx512f")]
    fn pairs_avx512_of<const LOWER: bool>(
        d: &Ranges<'_>,
        g: &Ranges<'_>,
        inter: &mut [u64],
        m: usize,
        scratch: &mut Scratch,
    ) {
        let zero = _mm512_setzero_si512();
        let padded = g.len.div_ceil(16) * 16;
        assert!(
            g.starts.len() >= g.len + PAD
                && g.ends.len() >= g.len + PAD
                && g.masks.len() >= g.len + PAD,
            "lists padded"
        );
        // Indices in u32 lanes: the caller takes the scalar kernel for larger matrices.
        assert!(u32::try_from(inter.len()).is_ok());
        let Scratch { at, rows } = scratch;
        at.clear();
        rows.clear();
        // A full vector is stored at the end of the list: 16 entries of slack.
        at.reserve(d.len * padded + 16);
        rows.reserve(d.len * padded + 16);
        let mv = _mm512_set1_epi32(m as i32);
        for a in 0..d.len {
            let (s, e) = (_mm512_set1_epi32(d.starts[a]), _mm512_set1_epi32(d.ends[a]));
            let dm = _mm512_set1_epi32(d.masks[a] as i32);
            let upto = if LOWER { a } else { g.len };
            let mut b = 0;
            while b < upto {
                // SAFETY: b + 16 <= the padded length (asserted above); unaligned loads.
                let (gs, ge, gm) = unsafe {
                    (
                        _mm512_loadu_si512(g.starts.as_ptr().add(b).cast()),
                        _mm512_loadu_si512(g.ends.as_ptr().add(b).cast()),
                        _mm512_loadu_si512(g.masks.as_ptr().add(b).cast()),
                    )
                };
                let r = _mm512_sub_epi32(_mm512_min_epi32(e, ge), _mm512_max_epi32(s, gs));
                let mut k = _mm512_cmpgt_epi32_mask(r, zero);
                // Lanes at or past `upto` are other ranges of `d` itself (the padding
                // never overlaps anything).
                if LOWER && upto - b < 16 {
                    k &= ((1u32 << (upto - b)) - 1) as u16;
                }
                let idx = if LOWER {
                    let hi = _mm512_max_epu32(dm, gm);
                    _mm512_add_epi32(_mm512_mullo_epi32(hi, mv), _mm512_min_epu32(dm, gm))
                } else {
                    _mm512_add_epi32(_mm512_mullo_epi32(dm, mv), gm)
                };
                let len = at.len();
                // SAFETY: at most `padded` entries per row of `d` are kept, and 16 lanes
                // are written from `len`, within the capacity reserved above (the list's
                // entries plus 16); the lengths then cover exactly the kept entries.
                unsafe {
                    let (ci, cr) = (
                        _mm512_maskz_compress_epi32(k, idx),
                        _mm512_maskz_compress_epi32(k, r),
                    );
                    _mm512_storeu_si512(at.as_mut_ptr().add(len).cast(), ci);
                    _mm512_storeu_si512(rows.as_mut_ptr().add(len).cast(), cr);
                    let n = k.count_ones() as usize;
                    at.set_len(len + n);
                    rows.set_len(len + n);
                }
                b += 16;
            }
        }
        for (&i, &r) in at.iter().zip(rows.iter()) {
            inter[i as usize] += r as u64;
        }
    }
}

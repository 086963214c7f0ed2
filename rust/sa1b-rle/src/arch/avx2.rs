//! The AVX2 kernels (x86-64 CPUs since 2013), each dispatched from its module, which
//! holds the scalar path it is tested against: the counts codec (the `counts` module), the
//! row extents of a bounding box (the `rle` module) and the pair test of the IoU walk
//! (the `column_iou` module).

/// The counts string parser and writer (dispatched from the `counts` module).
pub(crate) mod counts {
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
    pub(crate) fn parse_if_supported(s: &[u8], out: &mut Vec<u32>) -> bool {
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
    static CARRY: [[i32; 8]; 9] = crate::arch::carry_table();

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
                let back = (
                    i64::from(_mm256_extract_epi32::<0>(carry)),
                    i64::from(_mm256_extract_epi32::<1>(carry)),
                );
                let (back2, back1) = crate::arch::values_one_by_one(
                    &lanes,
                    ends,
                    longs,
                    &padded,
                    i + 3,
                    back,
                    &mut m,
                    spare,
                )?;
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

    /// The vectorised `counts::append_counts` when the CPU has AVX2 and
    /// there are enough runs to gain from it; `false` (having written nothing) otherwise.
    pub(crate) fn append_if_supported(counts: &[u32], out: &mut Vec<u8>) -> bool {
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
            len += crate::arch::write_value(stored(i), &mut spare[len..]);
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
                    len += crate::arch::write_value(stored(j), &mut spare[len..]);
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
            len += crate::arch::write_value(stored(i), &mut spare[len..]);
            i += 1;
        }
        // SAFETY: every byte below `len` was written above (each store or `write_value`
        // covers the characters it counts), and `len` is within the reserved capacity.
        unsafe { out.set_len(out.len() + len) };
    }
}

/// The rows of a mask's foreground runs, for its bounding box (dispatched from the `rle` module).
pub(crate) mod bbox {
    use crate::arch::RowExtents;
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// The rows of the foreground runs of the whole 16-run chunks of `pairs` (an even
    /// number of runs of a mask of fewer than 2**24 pixels), eight pairs a step.
    #[target_feature(enable = "avx2")]
    pub(crate) fn rows(h: u64, pairs: &[u32]) -> RowExtents {
        let hi = h as i32; // h < 2**24
        let hv = _mm256_set1_epi32(hi);
        let hm1 = _mm256_set1_epi32(hi - 1);
        let inv_h = _mm256_set1_ps(1.0 / h as f32);
        let zero = _mm256_setzero_si256();
        let ones = _mm256_set1_epi32(-1);
        let evens_odds = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        let lane7 = _mm256_set1_epi32(7);
        let (mut top, mut bottom, mut carry) = (ones, zero, zero);
        let mut chunks = pairs.chunks_exact(16);
        for c in &mut chunks {
            let c: &[u32; 16] = c.try_into().unwrap_or(&[0; 16]);
            // SAFETY: `c` is 16 readable u32; unaligned loads.
            let (a, b) = unsafe {
                (
                    _mm256_loadu_si256(c.as_ptr().cast()),
                    _mm256_loadu_si256(c.as_ptr().add(8).cast()),
                )
            };
            let a = _mm256_permutevar8x32_epi32(a, evens_odds);
            let b = _mm256_permutevar8x32_epi32(b, evens_odds);
            let bg = _mm256_permute2x128_si256::<0x20>(a, b);
            let fg = _mm256_permute2x128_si256::<0x31>(a, b);
            // Inclusive prefix sum of the pair lengths: the end of each foreground run.
            let mut s = _mm256_add_epi32(bg, fg);
            s = _mm256_add_epi32(s, _mm256_slli_si256::<4>(s));
            s = _mm256_add_epi32(s, _mm256_slli_si256::<8>(s));
            let low_total = _mm256_shuffle_epi32::<0xFF>(s);
            s = _mm256_add_epi32(s, _mm256_permute2x128_si256::<0x08>(low_total, low_total));
            let end = _mm256_add_epi32(s, carry);
            carry = _mm256_permutevar8x32_epi32(end, lane7);
            let start = _mm256_sub_epi32(end, fg);
            // row = start - h * floor(start / h), the quotient off by at most one.
            let q = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(start), inv_h));
            let mut row = _mm256_sub_epi32(start, _mm256_mullo_epi32(q, hv));
            row = _mm256_add_epi32(row, _mm256_and_si256(_mm256_cmpgt_epi32(zero, row), hv));
            row = _mm256_sub_epi32(row, _mm256_and_si256(_mm256_cmpgt_epi32(row, hm1), hv));
            // Empty foreground runs count for nothing (their lanes become the identity).
            // A run crossing into the next column has a last row of h or more: `bottom`
            // then tells that the box has the full height.
            let empty = _mm256_cmpeq_epi32(fg, zero);
            let row_end = _mm256_add_epi32(row, _mm256_add_epi32(fg, ones));
            top = _mm256_min_epu32(top, _mm256_or_si256(row, empty));
            bottom = _mm256_max_epu32(bottom, _mm256_andnot_si256(empty, row_end));
        }
        RowExtents {
            top: hmin(top),
            bottom: hmax(bottom),
            pos: u64::from(_mm256_extract_epi32::<0>(carry) as u32),
            done: pairs.len() - chunks.remainder().len(),
        }
    }

    /// The largest of eight unsigned lanes.
    #[target_feature(enable = "avx2")]
    fn hmax(v: __m256i) -> u32 {
        let m = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0x4E>(m));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0xB1>(m));
        _mm_cvtsi128_si32(m) as u32
    }

    /// The smallest of eight unsigned lanes.
    #[target_feature(enable = "avx2")]
    fn hmin(v: __m256i) -> u32 {
        let m = _mm_min_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let m = _mm_min_epu32(m, _mm_shuffle_epi32::<0x4E>(m));
        let m = _mm_min_epu32(m, _mm_shuffle_epi32::<0xB1>(m));
        _mm_cvtsi128_si32(m) as u32
    }
}

/// The pair test of the IoU walk (dispatched from the `column_iou` module).
pub(crate) mod iou {
    use crate::arch::{add, Ranges, PAD};
    // The intrinsics are a vocabulary of their own; importing them one by one adds nothing.
    #[allow(clippy::wildcard_imports)]
    use std::arch::x86_64::*;

    /// The scalar pair test of the `column_iou` module, eight ground-truth ranges a step.
    #[target_feature(enable = "avx2")]
    pub(crate) fn pairs(d: &Ranges<'_>, g: &Ranges<'_>, inter: &mut [u64], m: usize, lower: bool) {
        if lower {
            pairs_avx2_of::<true>(d, g, inter, m);
        } else {
            pairs_avx2_of::<false>(d, g, inter, m);
        }
    }

    #[target_feature(enable = "avx2")]
    fn pairs_avx2_of<const LOWER: bool>(
        d: &Ranges<'_>,
        g: &Ranges<'_>,
        inter: &mut [u64],
        m: usize,
    ) {
        let zero = _mm256_setzero_si256();
        let mut rows = [0i32; 8];
        // Padding: the lists hold a multiple of 16 entries, so every 8-lane load below
        // stays inside them.
        assert!(
            g.starts.len() >= g.len + PAD && g.ends.len() >= g.len + PAD,
            "lists padded"
        );
        for a in 0..d.len {
            let (s, e) = (_mm256_set1_epi32(d.starts[a]), _mm256_set1_epi32(d.ends[a]));
            let dm = d.masks[a] as usize;
            let upto = if LOWER { a } else { g.len };
            let mut b = 0;
            while b < upto {
                // SAFETY: b + 8 <= the padded length (asserted above); unaligned loads.
                let (gs, ge) = unsafe {
                    (
                        _mm256_loadu_si256(g.starts.as_ptr().add(b).cast()),
                        _mm256_loadu_si256(g.ends.as_ptr().add(b).cast()),
                    )
                };
                let r = _mm256_sub_epi32(_mm256_min_epi32(e, ge), _mm256_max_epi32(s, gs));
                let mut bits =
                    _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(r, zero))) as u32;
                // Lanes at or past `upto` are other ranges of `d` itself (the padding
                // never overlaps anything).
                if LOWER && upto - b < 8 {
                    bits &= (1 << (upto - b)) - 1;
                }
                if bits != 0 {
                    // SAFETY: `rows` is 8 writable i32.
                    unsafe { _mm256_storeu_si256(rows.as_mut_ptr().cast(), r) };
                    while bits != 0 {
                        let l = bits.trailing_zeros() as usize;
                        add(inter, dm, g.masks[b + l] as usize, m, LOWER, rows[l]);
                        bits &= bits - 1;
                    }
                }
                b += 8;
            }
        }
    }
}

//! SIMD kernels, grouped by instruction set. Each kernel is called from the module whose
//! job it does (after a runtime check of the CPU), beside the scalar path that is the
//! reference for it, and that module's tests run every kernel the CPU has against it.
//!
//! This module depends on nothing else in the crate: it also holds the few plain pieces
//! the kernels share with their scalar paths (the counts format's value writer, the IoU
//! walk's range lists and accumulator, a bounding box kernel's result).

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

use std::mem::MaybeUninit;

/// Most characters one value may use: 7 groups hold 35 bits, enough for any difference of
/// two u32 values.
pub(crate) const MAX_GROUPS: u32 = 7;

/// Writes one stored value (a run, or a difference of runs) at the front of `dst` and
/// returns its length in characters. `dst` must have room for 4 bytes, or for the
/// value's length if that is more (at most [`MAX_GROUPS`]).
#[inline]
pub(crate) fn write_value(mut x: i64, dst: &mut [MaybeUninit<u8>]) -> usize {
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

/// Empty entries after a column's ranges: whole 16-lane chunks can be loaded.
pub(crate) const PAD: usize = 16;

/// The vector parsers' carry permutations: for each number `n` of runs a store of `L`
/// lanes wrote (`0..=L`, `N = L + 1` rows), the lanes of the result holding the last two
/// runs, repeated as `[r(n-2), r(n-1)]` (run k adds the run two places back). Lanes past
/// the new runs still hold the previous carry, hence rows 0 and 1.
pub(crate) const fn carry_table<const L: usize, const N: usize>() -> [[i32; L]; N] {
    let mut t = [[0i32; L]; N];
    let mut n = 0;
    while n < N {
        let (even, odd) = match n {
            0 => (0, 1),
            1 => (1, 0),
            _ => (n as i32 - 2, n as i32 - 1),
        };
        let mut lane = 0;
        while lane < L {
            t[n][lane] = if lane % 2 == 0 { even } else { odd };
            lane += 1;
        }
        n += 1;
    }
    t
}

/// The stored value of 4+ characters of a counts string ending at `s[end]`, or `None`
/// if it has more than [`MAX_GROUPS`] (the scalar parser then reports it). Wrapping
/// arithmetic: the bytes are not validated yet (a vector parser discards its result if
/// they turn out invalid).
pub(crate) fn long_value(s: &[u8], end: usize) -> Option<i64> {
    let mut start = end;
    // Continuation bytes are 'P'..=0x7f.
    while start > 0 && (s[start - 1] as i8) > b'O' as i8 {
        start -= 1;
        if end - start >= MAX_GROUPS as usize {
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

/// A vector parser's slow path for one chunk: the runs of the values ending at the set
/// bits `j` of `ends`, in order, written to `spare` from `*m`. A value is `lanes[j]`
/// (1-3 characters) or, where `longs` has bit `j`, the long value ending at
/// `s[base + j]`; from the fourth run on it is a difference to the run two back
/// (`back` holds the last two). Returns the new last two runs, or `None` when the
/// string must go to the scalar parser (a value too long, a run out of range).
#[allow(clippy::too_many_arguments)]
pub(crate) fn values_one_by_one(
    lanes: &[i16],
    ends: u32,
    longs: u32,
    s: &[u8],
    base: usize,
    back: (i64, i64),
    m: &mut usize,
    spare: &mut [MaybeUninit<u32>],
) -> Option<(i64, i64)> {
    let (mut back2, mut back1) = back;
    let mut rest = ends;
    while rest != 0 {
        let j = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let stored = if longs & (1 << j) != 0 {
            long_value(s, base + j)?
        } else {
            i64::from(lanes[j])
        };
        let x = stored + if *m > 2 { back2 } else { 0 };
        if !(0..1 << 31).contains(&x) {
            return None;
        }
        spare[*m].write(x as u32);
        (back2, back1) = (back1, x);
        *m += 1;
    }
    Some((back2, back1))
}

/// One side's ranges of a column of the IoU walk (padded with [`PAD`] empty ranges).
pub(crate) struct Ranges<'a> {
    pub(crate) starts: &'a [i32],
    pub(crate) ends: &'a [i32],
    pub(crate) masks: &'a [u32],
    pub(crate) len: usize,
}

/// Buffers a kernel reuses from column to column.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) at: Vec<u32>,
    pub(crate) rows: Vec<i32>,
}

/// Adds `rows` shared by detection `dm` and ground truth `gm` to the intersection counts
/// (`lower`: one triangle of a symmetric matrix).
#[inline]
pub(crate) fn add(inter: &mut [u64], dm: usize, gm: usize, m: usize, lower: bool, rows: i32) {
    let at = if lower {
        dm.max(gm) * m + dm.min(gm)
    } else {
        dm * m + gm
    };
    inter[at] += rows as u64;
}

/// What a bounding-box row kernel found in the whole 16-run chunks of a run list.
#[derive(Clone, Copy)]
pub(crate) struct RowExtents {
    /// The first and last rows of the foreground runs seen (`top == u32::MAX`: none).
    pub(crate) top: u32,
    pub(crate) bottom: u32,
    /// The pixel position after the chunks, and the runs they hold.
    pub(crate) pos: u64,
    pub(crate) done: usize,
}

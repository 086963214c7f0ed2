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

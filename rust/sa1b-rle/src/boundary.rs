//! The inner boundary band of a mask, as boundary-iou-api's `mask_to_boundary` computes
//! it (Cheng et al., "Boundary IoU", CVPR 2021): the mask minus its erosion by a 3x3
//! square repeated `d` times, the image padded with one background pixel so that a mask
//! cut by the image border has a boundary there.
//!
//! `d` erosions by a 3x3 square are one erosion by a `(2d+1) x (2d+1)` square, and with
//! the background padding a pixel survives exactly when that square around it lies
//! inside the image and inside the mask. The square is separable: each column's
//! intervals shrink by `d` at both ends, then each row's. Both are done on intervals:
//! the columns' (the RLE's own order), then the rows' (a sweep over the columns that
//! only visits the rows whose membership changes), then back to columns, so the cost is
//! the number of runs and of row intervals plus `h + w`, whatever `d` is; no dense mask
//! is made.

use crate::error::{Error, Result};

/// boundary-iou-api's `dilation` for an `height x width` image: `max(1, round(ratio *
/// sqrt(height**2 + width**2)))` with numpy's float64 arithmetic and Python's rounding
/// (half to even).
///
/// ```
/// use sa1b_rle::boundary::dilation;
/// assert_eq!(dilation(480, 640, 0.02).unwrap(), 16);  // round(16.0)
/// assert_eq!(dilation(3, 4, 0.5).unwrap(), 2);        // round(2.5): half to even
/// assert_eq!(dilation(3, 4, 0.0).unwrap(), 1);        // at least 1
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a NaN or infinite ratio (Python's `int(round(x))`
/// fails there too).
pub fn dilation(height: u64, width: u64, ratio: f64) -> Result<u64> {
    if !ratio.is_finite() {
        return Err(Error::InvalidArgument {
            message: format!("the dilation ratio must be a finite number, not {ratio}"),
        });
    }
    let (h, w) = (u128::from(height), u128::from(width));
    // (The exact integer, rounded once to a double, as numpy converts Python's int.)
    let diagonal = ((h * h + w * w) as f64).sqrt();
    let d = (ratio * diagonal).round_ties_even();
    // Anything past the image's larger side erodes everything, as that side does.
    let cap = height.max(width).saturating_add(1);
    Ok(if d < 1.0 {
        1
    } else if d >= cap as f64 {
        cap
    } else {
        d as u64
    })
}

/// Half-open intervals `[a, b)` of one axis, grouped by the other axis: line `i`'s are
/// `iv[start[i]..start[i + 1]]`, ascending and disjoint.
#[derive(Default)]
pub(crate) struct Lines {
    pub(crate) iv: Vec<(u32, u32)>,
    pub(crate) start: Vec<usize>,
    /// The lines with intervals, ascending (the walks visit only these: a mask has far
    /// fewer intervals than columns).
    pub(crate) nonempty: Vec<u32>,
}

impl Lines {
    pub(crate) fn line(&self, i: usize) -> &[(u32, u32)] {
        &self.iv[self.start[i]..self.start[i + 1]]
    }
}

/// Buffers reused from mask to mask.
#[derive(Default)]
pub struct Scratch {
    pub(crate) mask: Lines,
    pub(crate) shrunk: Lines,
    pub(crate) eroded: Lines,
    pub(crate) back: Lines,
    /// `(line, a, b)` intervals before they are grouped by line.
    loose: Vec<(u32, u32, u32)>,
    /// One column's intervals.
    pub(crate) column: Vec<(u32, u32)>,

    open: Vec<u32>,
    count: Vec<u32>,
    /// Runs between two steps of a composed operation.
    pub(crate) spare: Vec<u32>,
    /// See `spare` (for the steps of a sequence of operations).
    pub(crate) spare2: Vec<u32>,
}

/// The column intervals of column-major `runs` (zeros first) over `width` columns of
/// `height` pixels; touching foreground runs (split by an empty background run) join.
pub(crate) fn columns_of(runs: &[u32], height: u64, width: u64, out: &mut Lines) {
    out.iv.clear();
    out.start.clear();
    out.start.push(0);
    out.nonempty.clear();
    // The column of the last interval pushed (`u64::MAX`: none yet), kept in a register
    // rather than read back from `start`.
    let mut last_col = u64::MAX;
    out.start.reserve(width as usize + 1);
    // The end of the last interval pushed, in a register too.
    let mut last_end = 0u32;
    crate::rle::for_each_column_piece(height, runs, |x, a, b| {
        let (a, b) = (a as u32, b as u32);
        if x == last_col {
            // (Only a non-canonical empty background run makes two pieces touch.)
            if a == last_end {
                if let Some(last) = out.iv.last_mut() {
                    last.1 = b;
                }
            } else {
                out.iv.push((a, b));
            }
        } else {
            let (x, n) = (x as usize, out.iv.len());
            // (Most columns follow the last one: one entry.)
            if out.start.len() == x {
                out.start.push(n);
            } else {
                out.start.resize(x + 1, n);
            }
            out.nonempty.push(x as u32);
            out.iv.push((a, b));
            last_col = x as u64;
        }
        last_end = b;
    });
    out.start.resize(width as usize + 1, out.iv.len());
}

/// Each interval of `src` (lines of `len` positions) grown (`grow`) or shrunk by `d` at
/// both ends, clamped to `0..len`: dropped when nothing is left, joined with the one
/// before when they overlap or touch (only grown ones can).
pub(crate) fn grow_or_shrink(src: &Lines, d: u64, len: u64, grow: bool, out: &mut Lines) {
    out.iv.clear();
    out.start.clear();
    out.start.push(0);
    out.nonempty.clear();
    for &x in &src.nonempty {
        let i = x as usize;
        out.start.resize(i + 1, out.iv.len());
        let first = out.iv.len();
        for &(a, b) in src.line(i) {
            let (a, b) = (u64::from(a), u64::from(b));
            let (a, b) = if grow {
                (a.saturating_sub(d), (b + d).min(len))
            } else {
                (a + d, b.saturating_sub(d))
            };
            if a >= b {
                continue;
            }
            let (a, b) = (a as u32, b as u32);
            let joins = out.iv.len() > first;
            match out.iv.last_mut() {
                Some(last) if joins && a <= last.1 => last.1 = last.1.max(b),
                _ => out.iv.push((a, b)),
            }
        }
        if out.iv.len() > first {
            out.nonempty.push(x);
        }
    }
    out.start.resize(src.start.len(), out.iv.len());
}

/// Calls `f(lo, hi, in_b)` for the pieces where membership in two ascending lists of
/// disjoint intervals differs (in `a` only: `in_b` false; in `b` only: true), in order:
/// one walk of both, each interval's unhandled part held in registers. `next_a` and
/// `next_b` give the intervals one at a time, `END` past the last.
#[inline]
fn symmetric_difference(
    mut next_a: impl FnMut() -> (u64, u64),
    mut next_b: impl FnMut() -> (u64, u64),
    mut f: impl FnMut(u64, u64, bool),
) {
    let (mut al, mut ah) = next_a();
    let (mut bl, mut bh) = next_b();
    while al != END.0 && bl != END.0 {
        if ah <= bl {
            f(al, ah, false);
            (al, ah) = next_a();
        } else if bh <= al {
            f(bl, bh, true);
            (bl, bh) = next_b();
        } else {
            // They overlap: the part before the later start is one side's alone, the
            // common part up to the earlier end is dropped.
            if al < bl {
                f(al, bl, false);
            } else if bl < al {
                f(bl, al, true);
            }
            let m = ah.min(bh);
            (al, bl) = (m, m);
            if al == ah {
                (al, ah) = next_a();
            }
            if bl == bh {
                (bl, bh) = next_b();
            }
        }
    }
    while al != END.0 {
        f(al, ah, false);
        (al, ah) = next_a();
    }
    while bl != END.0 {
        f(bl, bh, true);
        (bl, bh) = next_b();
    }
}

/// What the interval sources of [`symmetric_difference`] give past their last.
const END: (u64, u64) = (u64::MAX, u64::MAX);

/// [`symmetric_difference`] of two interval lists of one line.
#[inline]
fn differences(a: &[(u32, u32)], b: &[(u32, u32)], mut f: impl FnMut(u32, u32, bool)) {
    let (mut ia, mut ib) = (a.iter(), b.iter());
    let wide = |iv: Option<&(u32, u32)>| iv.map_or(END, |&(p, q)| (u64::from(p), u64::from(q)));
    symmetric_difference(
        || wide(ia.next()),
        || wide(ib.next()),
        |lo, hi, in_b| f(lo as u32, hi as u32, in_b),
    );
}

/// One step of the sweeps of [`transpose`] and [`transpose_runs`] at line `x`: the
/// positions in `cur` and not in `prev` (line `x - 1`) open a transposed interval at
/// `x`, those in `prev` and not in `cur` close theirs, kept in `loose` when still
/// non-empty after shrinking by `d` at both ends.
#[inline]
fn sweep_step(
    open: &mut [u32],
    loose: &mut Vec<(u32, u32, u32)>,
    d: u64,
    x: usize,
    prev: &[(u32, u32)],
    cur: &[(u32, u32)],
) {
    differences(prev, cur, |lo, hi, entering| {
        let rows = lo as usize..hi as usize;
        if entering {
            open[rows].fill(x as u32);
        } else if d == 0 {
            let x = x as u32;
            loose.extend(
                rows.clone()
                    .zip(&open[rows])
                    .map(|(y, &o)| (y as u32, o, x)),
            );
        } else {
            let end = (x as u64).saturating_sub(d);
            for (y, &o) in rows.clone().zip(&open[rows]) {
                let a = u64::from(o) + d;
                if a < end {
                    loose.push((y as u32, a as u32, end as u32));
                }
            }
        }
    });
}

/// The foreground intervals of column-major runs, one at a time (`END` past the last).
struct Foreground<'a> {
    runs: &'a [u32],
    k: usize,
    pos: u64,
}

impl<'a> Foreground<'a> {
    fn new(runs: &'a [u32]) -> Foreground<'a> {
        Foreground { runs, k: 0, pos: 0 }
    }

    #[inline]
    fn next(&mut self) -> (u64, u64) {
        while self.k + 1 < self.runs.len() {
            let a = self.pos + u64::from(self.runs[self.k]);
            let b = a + u64::from(self.runs[self.k + 1]);
            self.k += 2;
            self.pos = b;
            if a < b {
                return (a, b);
            }
        }
        END
    }

    /// The next interval moved by `by` (`u64::MAX` stays).
    #[inline]
    fn next_moved(&mut self, by: u64) -> (u64, u64) {
        let (a, b) = self.next();
        (a.saturating_add(by), b.saturating_add(by))
    }
}

/// The transposed intervals of a mask given by column-major `runs` (columns of
/// `height`), straight from the runs: a pixel differs from its left neighbour exactly
/// where the mask differs from itself moved one column right, so one merge of the
/// foreground intervals with themselves shifted by `height` gives, column by column, the
/// rows that turn on (foreground, left neighbour not) and off (the reverse; the column
/// past the last one closes what is open), as the sweep of [`transpose`] does.
pub(crate) fn transpose_runs(runs: &[u32], height: u64, s: &mut Scratch, out: &mut Lines) {
    let h = height;
    let len = h as usize;
    s.loose.clear();
    if s.open.len() < len {
        // (Each row's entry is written when it turns on, before it is read.)
        s.open.resize(len, 0);
    }
    let (open, loose) = (&mut s.open, &mut s.loose);
    // Pixels `lo..hi` turn their rows on (`on`) or off, column by column (they come
    // in ascending order: their columns tracked, not divided for).
    let mut columns = crate::rle::ColumnTracker::new(h);
    let mut emit = |lo: u64, hi: u64, on: bool| {
        let mut p = lo;
        while p < hi {
            let (x, base) = columns.locate(p);
            let x = x as u32;
            let end = hi.min(base + h);
            let rows = (p - base) as usize..(end - base) as usize;
            if on {
                open[rows].fill(x);
            } else {
                loose.extend(
                    rows.clone()
                        .zip(&open[rows])
                        .map(|(y, &o)| (y as u32, o, x)),
                );
            }
            p = end;
        }
    };
    // The foreground intervals (on) and the same moved by `h` (off), two cursors over
    // the runs.
    let (mut ca, mut cb) = (Foreground::new(runs), Foreground::new(runs));
    symmetric_difference(
        || ca.next(),
        || cb.next_moved(h),
        |lo, hi, off| emit(lo, hi, !off),
    );
    group(s, len, out);
}

/// Transposes `src` (intervals along one axis, grouped by `lines` lines of the other)
/// into intervals grouped by the `len` positions of the first axis, each shrunk by `d`
/// (0: as they are). Visits only the positions whose membership changes from line to
/// line.
pub(crate) fn transpose(
    src: &Lines,
    lines: usize,
    len: usize,
    d: u64,
    s: &mut Scratch,
    out: &mut Lines,
) {
    s.loose.clear();
    if s.open.len() < len {
        // (Each row's entry is written when it enters, before it is read.)
        s.open.resize(len, 0);
    }
    let empty: &[(u32, u32)] = &[];
    // Membership changes only at a line with intervals and the line after one.
    for (k, &c) in src.nonempty.iter().enumerate() {
        let x = c as usize;
        let prev = if x == 0 { empty } else { src.line(x - 1) };
        sweep_step(&mut s.open, &mut s.loose, d, x, prev, src.line(x));
        if src.nonempty.get(k + 1) != Some(&(c + 1)) {
            let cur = if x + 1 == lines {
                empty
            } else {
                src.line(x + 1)
            };
            sweep_step(&mut s.open, &mut s.loose, d, x + 1, src.line(x), cur);
        }
    }
    group(s, len, out);
}

/// `s.loose`'s `(position, a, b)` intervals grouped by position (`len` of them) into
/// `out`, each position's in the order given.
fn group(s: &mut Scratch, len: usize, out: &mut Lines) {
    // Grouped by position, each position's in order: sorted when they are few, else
    // by a counting sort over the positions.
    out.iv.clear();
    out.start.clear();
    out.start.push(0);
    out.nonempty.clear();
    if s.loose.len() * 16 < len {
        s.loose.sort_unstable_by_key(|&(y, a, _)| (y, a));
        for &(y, a, b) in &s.loose {
            let y = y as usize;
            if out.start.len() <= y {
                out.start.resize(y + 1, out.iv.len());
            }
            if out.nonempty.last() != Some(&(y as u32)) {
                out.nonempty.push(y as u32);
            }
            out.iv.push((a, b));
        }
        out.start.resize(len + 1, out.iv.len());
        return;
    }
    // A counting sort over the rows `lo..hi` that have intervals (a mask spans few of
    // the image's rows): counts, their running totals (in a register: adding each entry
    // to the one before it would wait on the store just made), then each interval put
    // at its row's next slot.
    if s.loose.is_empty() {
        out.start.resize(len + 1, 0);
        return;
    }
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    for &(y, _, _) in &s.loose {
        lo = lo.min(y);
        hi = hi.max(y + 1);
    }
    let (lo, hi) = (lo as usize, hi as usize);
    s.count.clear();
    s.count.resize(hi - lo, 0);
    for &(y, _, _) in &s.loose {
        s.count[y as usize - lo] += 1;
    }
    out.start.clear();
    out.start.resize(lo + 1, 0);
    // (Slots in 32 bits: a mask has fewer than 2**32 row intervals.)
    let mut total = 0u32;
    for (k, c) in s.count.iter_mut().enumerate() {
        if *c > 0 {
            out.nonempty.push((lo + k) as u32);
        }
        // `c` becomes the row's first slot; the row ends at the new total.
        let n = *c;
        *c = total;
        total += n;
        out.start.push(total as usize);
    }
    out.start.resize(len + 1, total as usize);
    out.iv.resize(s.loose.len(), (0, 0));
    for &(y, a, b) in &s.loose {
        let k = &mut s.count[y as usize - lo];
        out.iv[*k as usize] = (a, b);
        *k += 1;
    }
}

/// The column-major runs of the boundary band of the mask given by `runs` (an
/// `height x width` COCO RLE, zeros first) at dilation `d` (see [`dilation`]), into
/// `out`, canonical as pycocotools' `encode` gives them (no empty runs but the first).
///
/// # Errors
/// [`Error::CountsSumMismatch`] when the runs do not cover the image exactly.
///
/// ```
/// use sa1b_rle::boundary::{boundary_runs, Scratch};
/// // A 5x5 square in a 7x7 image: at d = 1 its 3x3 core goes.
/// let runs = [8, 5, 2, 5, 2, 5, 2, 5, 2, 5, 8];
/// let mut out = Vec::new();
/// boundary_runs(7, 7, &runs, 1, &mut Scratch::default(), &mut out).unwrap();
/// assert_eq!(out, [8, 5, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 5, 8]);
/// ```
pub fn boundary_runs(
    height: u64,
    width: u64,
    runs: &[u32],
    d: u64,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) -> Result<()> {
    let pixels = crate::rle::pixel_count(height, width)?;
    let total: u64 = runs.iter().map(|&r| u64::from(r)).sum();
    if total != pixels {
        return Err(Error::CountsSumMismatch {
            expected: pixels,
            actual: total,
        });
    }
    out.clear();
    if pixels == 0 {
        out.push(0);
        return Ok(());
    }
    let (h, w) = (height as usize, width as usize);
    let mut mask = std::mem::take(&mut s.mask);
    let mut shrunk = std::mem::take(&mut s.shrunk);
    let mut eroded = std::mem::take(&mut s.eroded);
    let mut back = std::mem::take(&mut s.back);
    columns_of(runs, height, width, &mut mask);
    // Vertical erosion (columns), horizontal (rows, by the transposition), back to
    // columns.
    grow_or_shrink(&mask, d, height, false, &mut shrunk);
    transpose(&shrunk, w, h, d, s, &mut eroded);
    transpose(&eroded, h, w, 0, s, &mut back);
    // The mask minus its erosion (a subset of it), column by column, as runs: zeros
    // and ones alternating, a foreground piece that continues the last one (across a
    // column) joining it.
    let mut pos = 0u64;
    for &x in &mask.nonempty {
        let x = x as usize;
        let base = x as u64 * height;
        differences(mask.line(x), back.line(x), |lo, hi, _| {
            let (a, b) = (base + u64::from(lo), base + u64::from(hi));
            match out.last_mut() {
                Some(last) if a == pos => *last += (b - a) as u32,
                _ => {
                    out.push((a - pos) as u32);
                    out.push((b - a) as u32);
                }
            }
            pos = b;
        });
    }
    if out.is_empty() || pos < pixels {
        out.push((pixels - pos) as u32);
    }
    (s.mask, s.shrunk, s.eroded, s.back) = (mask, shrunk, eroded, back);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::runs_of;
    use proptest::prelude::*;

    /// The definition on a dense column-major mask: a pixel of the mask is on the
    /// boundary unless the `(2d+1)` square around it lies inside the image and the mask.
    fn dense_boundary(h: usize, w: usize, m: &[u8], d: usize) -> Vec<u8> {
        let at = |y: usize, x: usize| m[x * h + y];
        let mut out = vec![0u8; h * w];
        for x in 0..w {
            for y in 0..h {
                if at(y, x) == 0 {
                    continue;
                }
                let inside = y >= d && x >= d && y + d < h && x + d < w;
                let kept =
                    inside && (y - d..=y + d).all(|yy| (x - d..=x + d).all(|xx| at(yy, xx) != 0));
                out[x * h + y] = u8::from(!kept);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn equals_the_dense_definition(
            h in 1usize..14,
            w in 1usize..14,
            bits in proptest::collection::vec(0u8..4, 196),
            d in 1u64..6,
        ) {
            // Mostly foreground, so that erosions leave something.
            let m: Vec<u8> = bits[..h * w].iter().map(|&b| u8::from(b != 0)).collect();
            let want = runs_of(&dense_boundary(h, w, &m, d as usize));
            let mut out = Vec::new();
            boundary_runs(h as u64, w as u64, &runs_of(&m), d, &mut Scratch::default(), &mut out)
                .unwrap();
            prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn full_empty_and_zero_runs() {
        let mut s = Scratch::default();
        let mut out = Vec::new();
        // A full 5x5 mask: its core 3x3 at d = 1.
        boundary_runs(5, 5, &[0, 25], 1, &mut s, &mut out).unwrap();
        assert_eq!(out, [0, 6, 3, 2, 3, 2, 3, 6]);
        boundary_runs(5, 5, &[25], 1, &mut s, &mut out).unwrap();
        assert_eq!(out, [25]);
        // Empty runs inside are not kept; adjacent foreground runs join.
        boundary_runs(1, 4, &[0, 2, 0, 2], 1, &mut s, &mut out).unwrap();
        assert_eq!(out, [0, 4]);
        boundary_runs(0, 4, &[0], 1, &mut s, &mut out).unwrap();
        assert_eq!(out, [0]);
        assert!(boundary_runs(2, 2, &[3], 1, &mut s, &mut out).is_err());
    }
}

//! Operations on one mask's runs (COCO's column-major run lengths, zeros first), never
//! a dense mask. How each walks the runs (memory: the runs in and out, plus buffers the
//! size of the intervals, and of one image side at most):
//!
//! - set operations: one walk over both run lists' run ends;
//! - `flipud`: one walk of the runs, a column's pieces held until it ends and written
//!   back reversed; `fliplr`: the same walk from the last run, so columns come last
//!   first; `rot90` by 2: the run list reversed;
//! - crops, pads, shifts and resizes: each column's foreground intervals moved;
//! - the transpose and quarter turns: the foreground merged with itself moved one
//!   column gives the rows that turn on and off, column by column
//!   (`boundary::transpose_runs`), grouped by row;
//! - morphology: column intervals grown or shrunk, transposed into row intervals (a
//!   sweep over the columns visiting only rows whose membership changes), grown or
//!   shrunk, transposed back, written once;
//! - components: the column intervals, then one walk over them, each labelled from
//!   the intervals of the column before that it touches (a union-find over labels);
//!   holes: the background in the foreground's columns and one more on each side;
//! - centroid: sums over whole intervals.
//!
//! Every result is canonical, as pycocotools' `encode` gives it (no empty run but the
//! first).

use crate::boundary::{columns_of, grow_or_shrink, Lines, Scratch};
use crate::error::{Error, Result};

/// Canonical runs from foreground intervals given in ascending order (touching ones
/// join).
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u32>,
    pos: u64,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u32>) -> Writer<'a> {
        out.clear();
        Writer { out, pos: 0 }
    }

    /// Foreground `[a, b)` (`a >= ` the end of the last one).
    #[inline]
    pub(crate) fn fg(&mut self, a: u64, b: u64) {
        if a >= b {
            return;
        }
        // (Past the start, something was written: `out` is not empty.)
        if a == self.pos && a > 0 {
            let n = self.out.len();
            self.out[n - 1] += (b - a) as u32;
        } else {
            self.out
                .extend_from_slice(&[(a - self.pos) as u32, (b - a) as u32]);
        }
        self.pos = b;
    }

    pub(crate) fn finish(self, pixels: u64) {
        if self.out.is_empty() || self.pos < pixels {
            self.out.push((pixels - self.pos) as u32);
        }
    }
}

/// The background a mask's holes can lie in, as runs of a `height x cols` mask into
/// `out`; returns `(first, cols)`: the columns of the foreground and one more on each
/// side where the image has one (`whole`: every column; a mask without foreground: every
/// column too). A background component that reaches a column outside holds that whole
/// column (`height` pixels, touching the top and bottom), so the components inside are
/// the image's own and those reaching the side columns are at least `height` pixels and
/// touch the border. `scratch` holds the canonical runs.
pub(crate) fn hole_background(
    height: u64,
    width: u64,
    runs: &[u32],
    whole: bool,
    scratch: &mut Vec<u32>,
    out: &mut Vec<u32>,
) -> (u64, u64) {
    let pixels = height * width;
    canonical(runs, pixels, scratch);
    let n = scratch.len();
    if whole || n < 2 {
        invert(scratch, pixels, out);
        return (0, width);
    }
    // (Canonical with two runs or more: foreground from `scratch[0]` to the trailing
    // background run, if any.)
    let trailing = if n % 2 == 1 {
        u64::from(scratch[n - 1])
    } else {
        0
    };
    let first = (u64::from(scratch[0]) / height).saturating_sub(1);
    let last = ((pixels - trailing - 1) / height + 1).min(width - 1);
    let (before, after) = (first * height, (width - 1 - last) * height);
    scratch[0] -= before as u32;
    if n % 2 == 1 {
        scratch[n - 1] -= after as u32;
        if scratch[n - 1] == 0 {
            scratch.pop();
        }
    }
    let cols = last - first + 1;
    invert(scratch, height * cols, out);
    (first, cols)
}

/// The runs of a `height x cols` mask whose columns are the image's from `first` on, as
/// runs of the whole `height x width` image (background around it).
pub(crate) fn widen(height: u64, width: u64, (first, cols): (u64, u64), runs: &mut Vec<u32>) {
    let (before, after) = (first * height, (width - first - cols) * height);
    runs[0] += before as u32;
    if runs.len() % 2 == 1 {
        let n = runs.len();
        runs[n - 1] += after as u32;
    } else if after > 0 {
        runs.push(after as u32);
    }
}

/// A binary set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// `a | b`.
    Or,
    /// `a & b`.
    And,
    /// `a ^ b`.
    Xor,
    /// `a - b`: in `a` and not in `b`.
    AndNot,
}

/// `op` of two masks of `pixels` pixels, into `out`.
///
/// # Errors
/// [`Error::CountsSumMismatch`] when either list does not cover `pixels`.
pub fn combine(a: &[u32], b: &[u32], pixels: u64, op: SetOp, out: &mut Vec<u32>) -> Result<()> {
    for r in [a, b] {
        let total: u64 = r.iter().map(|&x| u64::from(x)).sum();
        if total != pixels {
            return Err(Error::CountsSumMismatch {
                expected: pixels,
                actual: total,
            });
        }
    }
    // One instance of the walk per operation (the test inlined).
    match op {
        SetOp::Or => merge(a, b, pixels, |x, y| x | y, out),
        SetOp::And => merge(a, b, pixels, |x, y| x & y, out),
        SetOp::Xor => merge(a, b, pixels, |x, y| x ^ y, out),
        SetOp::AndNot => merge(a, b, pixels, |x, y| x && !y, out),
    }
    Ok(())
}

/// The walk of [`combine`] over the two lists' run ends (both cover `pixels`): the
/// result changes only where one of the inputs does, and a run ends where it changes.
#[inline]
fn merge(a: &[u32], b: &[u32], pixels: u64, f: impl Fn(bool, bool) -> bool, out: &mut Vec<u32>) {
    out.clear();
    if pixels == 0 {
        out.push(0);
        return;
    }
    // `ea`: where `a`'s current run (value `va`, index `ia`) ends; likewise for `b`;
    // `cur` = `f(va, vb)` is the output's value, and `last` where its run started.
    let (mut ia, mut ib) = (0usize, 0usize);
    let (mut ea, mut eb) = (u64::from(a[0]), u64::from(b[0]));
    let (mut va, mut vb) = (false, false);
    let mut cur = false;
    let mut last = 0u64;
    loop {
        // While one side stays as it is, the output either follows the other's every
        // turn or stays as it is too: a tight loop over the other's runs (a union of
        // masks that meet in few columns is mostly that).
        if ea < eb {
            let follows = f(true, vb) != f(false, vb);
            walk_side(a, (&mut ia, &mut va, &mut ea), eb, follows, &mut last, out);
            cur = f(va, vb);
            continue;
        }
        if eb < ea {
            let follows = f(va, true) != f(va, false);
            walk_side(b, (&mut ib, &mut vb, &mut eb), ea, follows, &mut last, out);
            cur = f(va, vb);
            continue;
        }
        // Both turn here (an empty run ends where it starts: stepped over next turn).
        let next = ea;
        if next >= pixels {
            break;
        }
        ia += 1;
        va = !va;
        ea += u64::from(a[ia]);
        ib += 1;
        vb = !vb;
        eb += u64::from(b[ib]);
        let v = f(va, vb);
        if v != cur {
            out.push((next - last) as u32);
            last = next;
            cur = v;
        }
    }
    out.push((pixels - last) as u32);
}

/// One side of [`merge`] stepped over its turns before `until` (the other side's next),
/// its run index, value and current run's end in `side`; each turn written to `out` when
/// the output follows this side there (`follows`).
#[inline]
fn walk_side(
    runs: &[u32],
    side: (&mut usize, &mut bool, &mut u64),
    until: u64,
    follows: bool,
    last: &mut u64,
    out: &mut Vec<u32>,
) {
    let (i, v, e) = side;
    while *e < until {
        if follows {
            out.push((*e - *last) as u32);
            *last = *e;
        }
        *i += 1;
        *v = !*v;
        *e += u64::from(runs[*i]);
    }
}

/// The complement of a mask of `pixels` pixels.
pub fn invert(runs: &[u32], pixels: u64, out: &mut Vec<u32>) {
    if pixels > 0 && !runs.is_empty() && !runs[1..].contains(&0) {
        // Canonical: the same runs with the roles swapped, an empty first run added or
        // taken away.
        out.clear();
        if runs[0] == 0 {
            out.extend_from_slice(&runs[1..]);
        } else {
            out.push(0);
            out.extend_from_slice(runs);
        }
        return;
    }
    write_runs(runs, pixels, false, out);
}

/// The mask's runs as they are when canonical (no empty run but the first), else
/// rewritten so.
pub(crate) fn canonical(runs: &[u32], pixels: u64, out: &mut Vec<u32>) {
    if runs.len() > 1 && runs[1..].contains(&0) {
        write_runs(runs, pixels, true, out);
    } else {
        out.clear();
        out.extend_from_slice(runs);
    }
}

/// Canonical runs of the foreground of `runs` (`foreground`) or of its background.
fn write_runs(runs: &[u32], pixels: u64, foreground: bool, out: &mut Vec<u32>) {
    let mut w = Writer::new(out);
    let mut pos = 0u64;
    for (i, &r) in runs.iter().enumerate() {
        let end = pos + u64::from(r);
        if (i % 2 == 1) == foreground {
            w.fg(pos, end);
        }
        pos = end;
    }
    w.finish(pixels);
}

/// Writes the column intervals `lines` (`width` columns of `height` rows) as runs.
pub(crate) fn write_columns(lines: &Lines, height: u64, width: u64, out: &mut Vec<u32>) {
    let mut w = Writer::new(out);
    for &x in &lines.nonempty {
        let base = u64::from(x) * height;
        for &(a, b) in lines.line(x as usize) {
            w.fg(base + u64::from(a), base + u64::from(b));
        }
    }
    w.finish(height * width);
}

/// Each column's rows reversed (numpy's `flipud` of the mask): one walk of the runs,
/// a column's pieces held until the column ends and written back reversed.
pub fn flip_rows(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    let h = height;
    let mut pieces = std::mem::take(&mut s.column);
    pieces.clear();
    let mut w = Writer::new(out);
    // The column being collected and its first pixel's index (none yet: `col_end` 0).
    let (mut col_start, mut col_end) = (0u64, 0u64);
    let mut pos = 0u64;
    for pair in runs.chunks_exact(2) {
        let mut a = pos + u64::from(pair[0]);
        let e = a + u64::from(pair[1]);
        pos = e;
        while a < e {
            if a >= col_end {
                // Written reversed: row y goes to h - 1 - y.
                for &(p, q) in pieces.iter().rev() {
                    w.fg(col_end - u64::from(q), col_end - u64::from(p));
                }
                pieces.clear();
                col_start = a - a % h;
                col_end = col_start + h;
            }
            let b = e.min(col_end);
            pieces.push(((a - col_start) as u32, (b - col_start) as u32));
            a = b;
        }
    }
    for &(p, q) in pieces.iter().rev() {
        w.fg(col_end - u64::from(q), col_end - u64::from(p));
    }
    w.finish(height * width);
    s.column = pieces;
}

/// The columns in reverse order (numpy's `fliplr` of the mask): one walk of the runs
/// from the end, so the columns come last first; a column's pieces (bottom first) are
/// held until it ends and written top first.
pub fn flip_columns(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    let (h, pixels) = (height, height * width);
    let mut pieces = std::mem::take(&mut s.column);
    pieces.clear();
    let mut w = Writer::new(out);
    // The first pixel of the column being collected (`pixels` at first: past the last
    // column, with no pieces).
    let mut col_start = pixels;
    let flush = |w: &mut Writer<'_>, col_start: u64, pieces: &[(u32, u32)]| {
        let base = pixels - h - col_start;
        for &(p, q) in pieces.iter().rev() {
            w.fg(base + u64::from(p), base + u64::from(q));
        }
    };
    // (Pairs of background and foreground runs from the last, after the trailing
    // background run if any.)
    let even = runs.len() & !1;
    let mut pos = pixels - runs[even..].iter().map(|&r| u64::from(r)).sum::<u64>();
    for pair in runs[..even].chunks_exact(2).rev() {
        let (a, mut b) = (pos - u64::from(pair[1]), pos);
        pos = a - u64::from(pair[0]);
        while b > a {
            if b <= col_start {
                if !pieces.is_empty() {
                    flush(&mut w, col_start, &pieces);
                    pieces.clear();
                }
                // Down to the column of `b - 1` (divided only for a jump of columns).
                if col_start - b >= 4 * h {
                    col_start = (b - 1) - (b - 1) % h;
                } else {
                    while col_start >= b {
                        col_start -= h;
                    }
                }
            }
            let p = a.max(col_start);
            pieces.push(((p - col_start) as u32, (b - col_start) as u32));
            b = p;
        }
    }
    if !pieces.is_empty() {
        flush(&mut w, col_start, &pieces);
    }
    w.finish(pixels);
    s.column = pieces;
}

/// The transposed mask (`width x height`): the rows' intervals become its columns'.
pub fn transpose(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    rotate(height, width, runs, 0, s, out);
}

/// numpy's `rot90(mask, k)` (counter-clockwise quarter turns): a half turn reverses the
/// column-major pixel order, so it is the run list reversed; a quarter turn is the
/// transposition written with its columns' rows reversed (`k = 1`: numpy's
/// `m[:, ::-1].T`, the transpose flipped upside down) or its columns reversed (`k = 3`),
/// in the same pass that writes the transposed intervals.
pub fn rot90(height: u64, width: u64, runs: &[u32], k: i64, s: &mut Scratch, out: &mut Vec<u32>) {
    match k.rem_euclid(4) {
        0 => {
            out.clear();
            out.extend_from_slice(runs);
        }
        2 => {
            out.clear();
            // The run list read backwards starts with foreground when it has an even
            // length (then an empty background run comes first); a leading empty run
            // would end it (dropped).
            if runs.len().is_multiple_of(2) {
                out.push(0);
            }
            let keep = usize::from(runs.len() > 1 && runs[0] == 0);
            out.extend(runs[keep..].iter().rev());
        }
        q => rotate(height, width, runs, q, s, out),
    }
}

/// The transposition (`k` 0), or it with its columns' rows reversed (1) or its columns
/// reversed (3).
fn rotate(height: u64, width: u64, runs: &[u32], k: i64, s: &mut Scratch, out: &mut Vec<u32>) {
    let mut rows = std::mem::take(&mut s.eroded);
    crate::boundary::transpose_runs(runs, height, s, &mut rows);
    // The result has `width` rows and `height` columns.
    let (h, w) = (width, height);
    if k == 0 {
        write_columns(&rows, h, w, out);
    } else {
        let mut wr = Writer::new(out);
        if k == 1 {
            for &x in &rows.nonempty {
                let end = (u64::from(x) + 1) * h;
                for &(a, b) in rows.line(x as usize).iter().rev() {
                    wr.fg(end - u64::from(b), end - u64::from(a));
                }
            }
        } else {
            for &x in rows.nonempty.iter().rev() {
                let base = (w - 1 - u64::from(x)) * h;
                for &(a, b) in rows.line(x as usize) {
                    wr.fg(base + u64::from(a), base + u64::from(b));
                }
            }
        }
        wr.finish(h * w);
    }
    s.eroded = rows;
}

/// The part of the mask in the box at column `x`, row `y`, `w` columns by `h` rows
/// (inside the image), as an `h x w` mask.
pub fn crop(
    height: u64,
    width: u64,
    runs: &[u32],
    [x, y, w, h]: [u64; 4],
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let mut wr = Writer::new(out);
    let first = lines.nonempty.partition_point(|&c| u64::from(c) < x);
    for &col in lines.nonempty[first..]
        .iter()
        .take_while(|&&c| u64::from(c) < x + w)
    {
        let cx = u64::from(col) - x;
        let base = cx * h;
        for &(a, b) in lines.line(col as usize) {
            let (a, b) = (u64::from(a).max(y), u64::from(b).min(y + h));
            if a < b {
                wr.fg(base + a - y, base + b - y);
            }
        }
    }
    wr.finish(w * h);
    s.mask = lines;
}

/// The mask with `top`, `bottom` rows and `left`, `right` columns of background added.
pub fn pad(
    height: u64,
    width: u64,
    runs: &[u32],
    [top, bottom, left, right]: [u64; 4],
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let h2 = height + top + bottom;
    let mut wr = Writer::new(out);
    for &x in &lines.nonempty {
        let base = (u64::from(x) + left) * h2 + top;
        for &(a, b) in lines.line(x as usize) {
            wr.fg(base + u64::from(a), base + u64::from(b));
        }
    }
    wr.finish(h2 * (width + left + right));
    s.mask = lines;
}

/// The mask moved `dy` rows down and `dx` columns right (background entering, nothing
/// wrapping).
pub fn shift(
    height: u64,
    width: u64,
    runs: &[u32],
    dy: i64,
    dx: i64,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let (h, w) = (height as i64, width as i64);
    let mut wr = Writer::new(out);
    for &src in &lines.nonempty {
        let x = i64::from(src).saturating_add(dx);
        if !(0..w).contains(&x) {
            continue;
        }
        let base = x as u64 * height;
        for &(a, b) in lines.line(src as usize) {
            let (a, b) = (
                (i64::from(a) + dy).clamp(0, h),
                (i64::from(b) + dy).clamp(0, h),
            );
            if a < b {
                wr.fg(base + a as u64, base + b as u64);
            }
        }
    }
    wr.finish(height * width);
    s.mask = lines;
}

/// How [`resize`] picks each output pixel's source pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// `floor(i * in / out)` (torch's `nearest`, in exact integer arithmetic).
    Nearest,
    /// `floor((i + 0.5) * in / out)` (torch's `nearest-exact`).
    NearestExact,
}

impl Resize {
    /// The source index of output index `i` (`n_in`, `n_out` > 0).
    fn source(self, i: u64, n_in: u64, n_out: u64) -> u64 {
        let (i, a, b) = (u128::from(i), u128::from(n_in), u128::from(n_out));
        let s = match self {
            Resize::Nearest => i * a / b,
            Resize::NearestExact => (2 * i + 1) * a / (2 * b),
        };
        (s as u64).min(n_in - 1)
    }

    /// The first output index whose source index is at least `t` (`n_out` when none):
    /// the source index never decreases with the output index.
    fn first(self, t: u64, n_in: u64, n_out: u64) -> u64 {
        let (t, a, b) = (u128::from(t), u128::from(n_in), u128::from(n_out));
        let i = match self {
            // i * a >= t * b
            Resize::Nearest => (t * b).div_ceil(a),
            // (2i + 1) * a >= 2 t b  <=>  i >= (2 t b - a) / (2 a)
            Resize::NearestExact => (2 * t * b).saturating_sub(a).div_ceil(2 * a),
        };
        (i.min(b)) as u64
    }
}

/// The `height x width` mask resized to `out_h x out_w` (both at least 1) by `mode`:
/// each output column copies its source column's intervals, mapped to the output rows
/// whose source rows they cover.
pub fn resize(
    height: u64,
    width: u64,
    runs: &[u32],
    (out_h, out_w): (u64, u64),
    mode: Resize,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let mut wr = Writer::new(out);
    if height > 0 && width > 0 {
        for j in 0..out_w {
            let src = mode.source(j, width, out_w) as usize;
            let base = j * out_h;
            for &(a, b) in lines.line(src) {
                let lo = mode.first(u64::from(a), height, out_h);
                let hi = mode.first(u64::from(b), height, out_h);
                wr.fg(base + lo, base + hi);
            }
        }
    }
    wr.finish(out_h * out_w);
    s.mask = lines;
}

/// A structuring element of `OpenCV`'s `getStructuringElement` with size `(2r+1, 2r+1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `MORPH_RECT`: the square.
    Square,
    /// `MORPH_CROSS`: the centre row and column.
    Cross,
    /// `MORPH_ELLIPSE`: row `dy` spans `dx = round(r * sqrt(1 - dy²/r²))` columns each
    /// side (`OpenCV`'s rounding: half to even).
    Disk,
}

/// Each row's intervals grown or shrunk by `k`: the runs transposed into row intervals,
/// grown or shrunk, transposed back and written once.
fn horizontal(
    height: u64,
    width: u64,
    runs: &[u32],
    k: u64,
    grow: bool,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let (mut rows, mut moved, mut cols) = (
        std::mem::take(&mut s.eroded),
        std::mem::take(&mut s.shrunk),
        std::mem::take(&mut s.mask),
    );
    crate::boundary::transpose_runs(runs, height, s, &mut rows);
    grow_or_shrink(&rows, k, width, grow, &mut moved);
    crate::boundary::transpose(&moved, height as usize, width as usize, 0, s, &mut cols);
    write_columns(&cols, height, width, out);
    (s.eroded, s.shrunk, s.mask) = (rows, moved, cols);
}

/// [`horizontal`] on column intervals, in place.
fn rows_pass(cols: &mut Lines, height: u64, width: u64, k: u64, grow: bool, s: &mut Scratch) {
    let (h, w) = (height as usize, width as usize);
    let mut rows = std::mem::take(&mut s.eroded);
    if grow {
        let mut grown = std::mem::take(&mut s.shrunk);
        crate::boundary::transpose(cols, w, h, 0, s, &mut rows);
        grow_or_shrink(&rows, k, width, true, &mut grown);
        crate::boundary::transpose(&grown, h, w, 0, s, cols);
        s.shrunk = grown;
    } else {
        crate::boundary::transpose(cols, w, h, k, s, &mut rows);
        crate::boundary::transpose(&rows, h, w, 0, s, cols);
    }
    s.eroded = rows;
}

/// Each column's intervals grown (`grow`) or shrunk by `k`, clamped to `0..height`,
/// touching ones joined; then, with `rows` (the `(2k+1)` square), each row's the same
/// way; on intervals from the first split of the runs to the one write.
#[allow(clippy::too_many_arguments)]
fn columns_then_rows(
    height: u64,
    width: u64,
    runs: &[u32],
    k: u64,
    grow: bool,
    rows: bool,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut cols = std::mem::take(&mut s.mask);
    let mut moved = std::mem::take(&mut s.back);
    columns_of(runs, height, width, &mut cols);
    grow_or_shrink(&cols, k, height, grow, &mut moved);
    if rows {
        rows_pass(&mut moved, height, width, k, grow, s);
    }
    write_columns(&moved, height, width, out);
    (s.mask, s.back) = (cols, moved);
}

/// `OpenCV`'s ellipse half-widths: row `dy` (0..=r) of a `(2r+1)` `MORPH_ELLIPSE` spans
/// `dx` columns each side of the centre.
fn disk_half_widths(r: u64) -> Vec<u64> {
    let rr = r as f64;
    let inv = if r > 0 { 1.0 / (rr * rr) } else { 0.0 };
    (0..=r)
        .map(|dy| {
            let d = dy as f64;
            (rr * ((rr * rr - d * d) * inv).sqrt()).round_ties_even() as u64
        })
        .collect()
}

/// The mask dilated (`dilate`) or eroded by the `(2r+1)` structuring element `shape`,
/// pixels outside the image counting as background (`OpenCV`'s `BORDER_CONSTANT`, 0):
/// the square as a column then a row pass; the cross as the union (dilation) or
/// intersection (erosion) of the two passes; the disk as the union or intersection of
/// each row offset's row pass, shifted.
///
/// # Errors
/// [`Error::OutOfMemory`] is the only one (the sizes are the mask's).
#[allow(clippy::too_many_arguments)]
pub fn morph(
    height: u64,
    width: u64,
    runs: &[u32],
    r: u64,
    shape: Shape,
    dilate: bool,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) -> Result<()> {
    let pixels = height * width;
    // (A radius past the image's larger side acts as that side.)
    let r = r.min(height.max(width));
    if r == 0 || pixels == 0 {
        write_runs(runs, pixels, true, out);
        return Ok(());
    }
    let mut a = Vec::new();
    match shape {
        Shape::Square => columns_then_rows(height, width, runs, r, dilate, true, s, out),
        Shape::Cross => {
            let mut b = Vec::new();
            columns_then_rows(height, width, runs, r, dilate, false, s, &mut a);
            horizontal(height, width, runs, r, dilate, s, &mut b);
            let op = if dilate { SetOp::Or } else { SetOp::And };
            combine(&a, &b, pixels, op, out)?;
        }
        Shape::Disk => {
            let half = disk_half_widths(r);
            let op = if dilate { SetOp::Or } else { SetOp::And };
            let (mut row, mut moved, mut acc) = (Vec::new(), Vec::new(), Vec::new());
            let mut first = true;
            for (dy, &k) in half.iter().enumerate() {
                horizontal(height, width, runs, k, dilate, s, &mut row);
                let offsets: &[i64] = if dy == 0 {
                    &[0]
                } else {
                    &[dy as i64, -(dy as i64)]
                };
                for &o in offsets {
                    shift(height, width, &row, o, 0, s, &mut moved);
                    if first {
                        std::mem::swap(&mut acc, &mut moved);
                        first = false;
                    } else {
                        combine(&acc, &moved, pixels, op, &mut a)?;
                        std::mem::swap(&mut acc, &mut a);
                    }
                }
            }
            std::mem::swap(out, &mut acc);
        }
    }
    Ok(())
}

/// The connected components of a mask: its column intervals, each one's component
/// (numbered in `OpenCV`'s label order: by the first pixel of a row-major scan with
/// 4-connectivity, by the first 2x2 block of a row-major scan of blocks with 8) and
/// each component's area. [`Components::label`]
/// reuses the buffers of the last mask labelled.
#[derive(Default)]
pub struct Components {
    /// The column intervals in column-major order, as `[start, end)` indices of an
    /// image two rows taller (`col * (height + 2) + row`: intervals of neighbouring
    /// columns compare as intervals of one line once the earlier is moved by a
    /// column, and those two columns apart stay apart), and each one's column.
    iv: Vec<(u64, u64)>,
    col: Vec<u32>,
    /// Per interval: its provisional label (a union-find node, one per interval that
    /// touched nothing in the column before; far fewer than the intervals).
    lab: Vec<u32>,
    /// Per provisional label: its parent in the union-find (never above itself), then,
    /// once labelled, its component.
    parent: Vec<u32>,
    /// Per component: pixels.
    pub areas: Vec<u64>,
    // Per provisional label, then per slot (components in first-seen order): the
    // `OpenCV` sort key and area.
    l_key: Vec<u64>,
    l_area: Vec<u64>,
    key: Vec<u64>,
    slot_areas: Vec<u64>,
    order: Vec<u32>,
    rank: Vec<u32>,
    // Buffers of `each`.
    count: Vec<usize>,
    grouped: Vec<(u64, u64)>,
    one: Vec<u32>,
}

/// `OpenCV`'s sort key of a component's pixels in column `col` from row `a` down: row
/// then column, in blocks of 2 when `unit` is 1 (8-connectivity; see
/// [`Components::label`]), as one integer (its minimum without branches).
fn sort_key(a: u64, col: u32, unit: u32) -> u64 {
    ((a >> unit) << 32) | u64::from(col >> unit)
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// Labels the components of a mask (`eight`: 8-connectivity, else 4): see
/// [`Components::label`].
#[must_use]
pub fn components(height: u64, runs: &[u32], eight: bool) -> Components {
    let mut c = Components::default();
    c.label(height, runs, eight);
    c
}

impl Components {
    /// Labels the components of a mask (`eight`: 8-connectivity, else 4): its column
    /// intervals, then one walk over them in column-major order, each interval given
    /// the label of the intervals of the column before that it touches (diagonally too
    /// with 8), joining those labels when there are several (a union-find over labels,
    /// not intervals); no dense label image.
    pub fn label(&mut self, height: u64, runs: &[u32], eight: bool) {
        self.label_with(height, runs, eight, true);
    }

    /// [`Components::label`] without `OpenCV`'s order: components numbered by their
    /// first interval in column-major order (no sort keys gathered); see
    /// [`Components::first_largest`] for the one tie-break that needs the order.
    pub(crate) fn label_unordered(&mut self, height: u64, runs: &[u32], eight: bool) {
        self.label_with(height, runs, eight, false);
    }

    fn label_with(&mut self, height: u64, runs: &[u32], eight: bool, ordered: bool) {
        self.split(height, runs);
        self.walk(height, eight, ordered);
        // One pass over the labels in order gives each its component's slot (numbered
        // by first label, so by first interval in column-major order): a root comes
        // before the rest of its set, which point to smaller labels, already turned.
        let Components {
            parent,
            l_key,
            l_area,
            key,
            slot_areas,
            ..
        } = self;
        key.clear();
        slot_areas.clear();
        for l in 0..parent.len() {
            let p = parent[l] as usize;
            let s = if p == l {
                key.push(u64::MAX);
                slot_areas.push(0);
                key.len() - 1
            } else {
                parent[p] as usize
            };
            parent[l] = s as u32;
            key[s] = key[s].min(l_key[l]);
            slot_areas[s] += l_area[l];
        }
        // OpenCV's label order: with 4-connectivity (SAUF, a scan of pixels) by each
        // component's first pixel in a row-major scan; with 8 (a scan of 2x2 blocks,
        // one component per block) by its first block in a row-major scan of blocks.
        let order = &mut self.order;
        order.clear();
        order.extend(0..key.len() as u32);
        if ordered {
            order.sort_unstable_by_key(|&c| key[c as usize]);
        }
        let rank = &mut self.rank;
        rank.clear();
        rank.resize(key.len(), 0);
        self.areas.clear();
        for (l, &c) in order.iter().enumerate() {
            rank[c as usize] = l as u32;
            self.areas.push(slot_areas[c as usize]);
        }
        for p in &mut self.parent {
            *p = rank[*p as usize];
        }
    }

    /// The column intervals of `runs` (columns of `height`) into `iv` and `col`
    /// (touching pieces, split by an empty background run, joined).
    fn split(&mut self, height: u64, runs: &[u32]) {
        let (iv, cols) = (&mut self.iv, &mut self.col);
        iv.clear();
        cols.clear();
        let hp = height + 2;
        // (A piece continues the last one only in its column: columns are apart.)
        let mut last_end = u64::MAX;
        for (x, a, b) in crate::rle::column_pieces(height, runs) {
            let base = x * hp;
            if base + a == last_end {
                if let Some(last) = iv.last_mut() {
                    last.1 = base + b;
                }
            } else {
                iv.push((base + a, base + b));
                cols.push(x as u32);
            }
            last_end = base + b;
        }
    }

    /// The walk of [`Components::label`] over the intervals of [`Components::split`]:
    /// each one's provisional label into `lab`, the labels' union-find into `parent`,
    /// their sort keys (when `ordered`), areas and border contact.
    fn walk(&mut self, height: u64, eight: bool, ordered: bool) {
        let Components {
            iv,
            col,
            lab,
            parent,
            l_key,
            l_area,
            ..
        } = self;
        parent.clear();
        l_key.clear();
        l_area.clear();
        lab.clear();
        lab.resize(iv.len(), 0);
        let (t, unit, hp) = (u64::from(eight), u32::from(eight), height + 2);
        // The intervals moved one column on: `iv[j] + hp`, the first of them that may
        // touch the current interval or a later one (each is passed once it ends
        // before the current one's reach; mostly exactly one is passed per interval).
        let mut j = 0;
        for i in 0..iv.len() {
            let (a, b) = iv[i];
            let reach = a.saturating_sub(hp + t);
            if j < i && iv[j].1 <= reach {
                j += 1;
                while j < i && iv[j].1 <= reach {
                    j += 1;
                }
            }
            let mut l = u32::MAX;
            if j < i && iv[j].0 + hp < b + t {
                // One touching: its label as it is (any label of the set will do);
                // more: their roots joined.
                l = lab[j];
                let mut k = j + 1;
                if k < i && iv[k].0 + hp < b + t {
                    l = find(parent, l);
                    while k < i && iv[k].0 + hp < b + t {
                        let r = find(parent, lab[k]);
                        if r != l {
                            parent[r.max(l) as usize] = r.min(l);
                            l = r.min(l);
                        }
                        k += 1;
                    }
                }
            }
            if l == u32::MAX {
                l = parent.len() as u32;
                parent.push(l);
                l_key.push(u64::MAX);
                l_area.push(0);
            }
            lab[i] = l;
            let (c, k) = (col[i], l as usize);
            let base = u64::from(c) * hp;
            if ordered {
                l_key[k] = l_key[k].min(sort_key(a - base, c, unit));
            }
            l_area[k] += b - a;
        }
    }

    /// Per component: whether it touches the image border (one pass over the
    /// intervals).
    #[must_use]
    pub fn touching_border(&self, height: u64, width: u64) -> Vec<bool> {
        let mut border = vec![false; self.len()];
        let hp = height + 2;
        for (k, (&(a, b), &c)) in self.iv.iter().zip(&self.col).enumerate() {
            let base = u64::from(c) * hp;
            if a == base || b == base + height || c == 0 || u64::from(c) + 1 == width {
                border[self.component(k)] = true;
            }
        }
        border
    }

    /// Interval `k`'s component.
    fn component(&self, k: usize) -> usize {
        self.parent[self.lab[k] as usize] as usize
    }

    /// Interval `k` as `[start, end)` pixel indices (column-major, `height` rows).
    fn pixels(&self, k: usize) -> (u64, u64) {
        // (Two rows fewer per column before it.)
        let (a, b) = self.iv[k];
        let skip = 2 * u64::from(self.col[k]);
        (a - skip, b - skip)
    }

    /// The largest component (ties: the first in `OpenCV`'s label order), `None` when
    /// there is none; the sort keys of the tied ones are gathered only when there is a
    /// tie.
    pub(crate) fn first_largest(&self, height: u64, eight: bool) -> Option<usize> {
        let max = *self.areas.iter().max()?;
        let tied: Vec<usize> = (0..self.len()).filter(|&c| self.areas[c] == max).collect();
        if tied.len() == 1 {
            return Some(tied[0]);
        }
        // The labels' order is OpenCV's when labelled in order; otherwise the tied
        // ones' keys decide (see `label_with`).
        let unit = u32::from(eight);
        let mut key = vec![u64::MAX; self.len()];
        for k in 0..self.iv.len() {
            let c = self.component(k);
            let row = self.iv[k].0 - u64::from(self.col[k]) * (height + 2);
            key[c] = key[c].min(sort_key(row, self.col[k], unit));
        }
        tied.into_iter().min_by_key(|&c| (key[c], c))
    }

    /// The number of components.
    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The runs of the union of the components `keep` says yes to.
    pub fn union(&self, height: u64, width: u64, keep: impl Fn(usize) -> bool, out: &mut Vec<u32>) {
        let mut w = Writer::new(out);
        for k in 0..self.iv.len() {
            if keep(self.component(k)) {
                let (a, b) = self.pixels(k);
                w.fg(a, b);
            }
        }
        w.finish(height * width);
    }

    /// Each component's runs, one after the other (`ends[c]`: the end of component `c`'s).
    pub fn each(&mut self, height: u64, width: u64, runs: &mut Vec<u32>, ends: &mut Vec<usize>) {
        // The intervals grouped by component (stable: column-major within each).
        let k = self.len();
        let mut count = std::mem::take(&mut self.count);
        count.clear();
        count.resize(k + 1, 0);
        for i in 0..self.lab.len() {
            count[self.component(i) + 1] += 1;
        }
        for c in 0..k {
            count[c + 1] += count[c];
        }
        let mut grouped = std::mem::take(&mut self.grouped);
        grouped.clear();
        grouped.resize(self.lab.len(), (0, 0));
        for i in 0..self.lab.len() {
            let slot = &mut count[self.component(i)];
            grouped[*slot] = self.pixels(i);
            *slot += 1;
        }
        // (`count[c]` is now where component `c` ends.)
        let mut from = 0;
        for &end in &count[..k] {
            let mut w = Writer::new(&mut self.one);
            for &(a, b) in &grouped[from..end] {
                w.fg(a, b);
            }
            w.finish(height * width);
            from = end;
            runs.extend_from_slice(&self.one);
            ends.push(runs.len());
        }
        self.count = count;
        self.grouped = grouped;
    }
}

/// The mean `[x, y]` of the mask's pixels (pixel centres at integer coordinates, as
/// numpy's indices), `None` for an empty mask. Sums of whole intervals, in integers.
#[must_use]
pub fn centroid(height: u64, runs: &[u32]) -> Option<[f64; 2]> {
    // Every sum fits 64 bits: over all of an image's at most 2**32 - 1 pixels the sum of
    // the columns is `h * w (w - 1) / 2 < 2**63`, and likewise for the rows.
    let (mut n, mut sx, mut sy) = (0u64, 0u64, 0u64);
    crate::rle::for_each_column_piece(height, runs, |x, a, b| {
        let len = b - a;
        n += len;
        sx += x * len;
        // a + (a+1) + ... + (b-1) = len (a + b - 1) / 2, halving the even factor.
        let s = a + b - 1;
        sy += if len % 2 == 0 {
            len / 2 * s
        } else {
            s / 2 * len
        };
    });
    (n > 0).then(|| [sx as f64 / n as f64, sy as f64 / n as f64])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::runs_of;
    use proptest::prelude::*;

    /// Column-major `h x w` from a row-major closure.
    fn dense(h: usize, w: usize, f: impl Fn(usize, usize) -> bool) -> Vec<u8> {
        let mut m = vec![0u8; h * w];
        for x in 0..w {
            for y in 0..h {
                m[x * h + y] = u8::from(f(y, x));
            }
        }
        m
    }

    fn mask() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
        (1usize..12, 1usize..12)
            .prop_flat_map(|(h, w)| (Just(h), Just(w), proptest::collection::vec(0u8..3, h * w)))
    }

    fn dense_morph(h: usize, w: usize, m: &[u8], r: usize, shape: Shape, dilate: bool) -> Vec<u8> {
        let half = disk_half_widths(r as u64);
        let inside = |dy: i64, dx: i64| -> bool {
            let (ady, adx) = (dy.unsigned_abs() as usize, dx.unsigned_abs() as usize);
            match shape {
                Shape::Square => true,
                Shape::Cross => ady == 0 || adx == 0,
                Shape::Disk => adx as u64 <= half[ady],
            }
        };
        let r = r as i64;
        dense(h, w, |y, x| {
            let mut any = false;
            let mut all = true;
            for dy in -r..=r {
                for dx in -r..=r {
                    if !inside(dy, dx) {
                        continue;
                    }
                    let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                    let v = (0..h as i64).contains(&yy)
                        && (0..w as i64).contains(&xx)
                        && m[xx as usize * h + yy as usize] != 0;
                    any |= v;
                    all &= v;
                }
            }
            if dilate {
                any
            } else {
                all
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn morphology_equals_the_definition((h, w, m) in mask(), r in 0u64..5) {
            let m: Vec<u8> = m.iter().map(|&v| u8::from(v != 0)).collect();
            let runs = runs_of(&m);
            let mut s = Scratch::default();
            let mut out = Vec::new();
            for shape in [Shape::Square, Shape::Cross, Shape::Disk] {
                for dilate in [true, false] {
                    morph(h as u64, w as u64, &runs, r, shape, dilate, &mut s, &mut out).unwrap();
                    let want = dense_morph(h, w, &m, r as usize, shape, dilate);
                    prop_assert_eq!(&out, &runs_of(&want), "{:?} dilate {} r {}", shape, dilate, r);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn equal_the_dense_operations(
            (h, w, m) in mask(),
            other in proptest::collection::vec(0u8..2, 144),
            box_ in (0usize..12, 0usize..12, 0usize..12, 0usize..12),
            shifts in (-13i64..13, -13i64..13),
        ) {
            let m: Vec<u8> = m.iter().map(|&v| u8::from(v != 0)).collect();
            let o: Vec<u8> = other[..h * w].to_vec();
            let at = |y: usize, x: usize| m[x * h + y] != 0;
            let runs = runs_of(&m);
            let (hh, ww) = (h as u64, w as u64);
            let mut s = Scratch::default();
            let mut out = Vec::new();
            for (op, f) in [
                (SetOp::Or, (|a, b| a | b) as fn(bool, bool) -> bool),
                (SetOp::And, |a, b| a & b),
                (SetOp::Xor, |a, b| a ^ b),
                (SetOp::AndNot, |a, b| a && !b),
            ] {
                combine(&runs, &runs_of(&o), hh * ww, op, &mut out).unwrap();
                let want: Vec<u8> = m.iter().zip(&o).map(|(&a, &b)| u8::from(f(a != 0, b != 0))).collect();
                prop_assert_eq!(&out, &runs_of(&want));
            }
            invert(&runs, hh * ww, &mut out);
            prop_assert_eq!(&out, &runs_of(&m.iter().map(|&v| 1 - v).collect::<Vec<u8>>()));
            flip_rows(hh, ww, &runs, &mut s, &mut out);
            prop_assert_eq!(&out, &runs_of(&dense(h, w, |y, x| at(h - 1 - y, x))));
            flip_columns(hh, ww, &runs, &mut s, &mut out);
            prop_assert_eq!(&out, &runs_of(&dense(h, w, |y, x| at(y, w - 1 - x))));
            transpose(hh, ww, &runs, &mut s, &mut out);
            prop_assert_eq!(&out, &runs_of(&dense(w, h, |y, x| at(x, y))));
            // numpy's rot90: k = 1 reads m[j, w-1-i], 2 m[h-1-i, w-1-j], 3 m[h-1-j, i].
            for k in [-3i64, -1, 0, 1, 2, 3, 4, 6] {
                rot90(hh, ww, &runs, k, &mut s, &mut out);
                let want = match k.rem_euclid(4) {
                    0 => dense(h, w, at),
                    1 => dense(w, h, |i, j| at(j, w - 1 - i)),
                    2 => dense(h, w, |i, j| at(h - 1 - i, w - 1 - j)),
                    _ => dense(w, h, |i, j| at(h - 1 - j, i)),
                };
                prop_assert_eq!(&out, &runs_of(&want), "k {}", k);
            }
            let (bx, by) = (box_.0 % w, box_.1 % h);
            let (bw, bh) = (box_.2 % (w - bx + 1), box_.3 % (h - by + 1));
            crop(hh, ww, &runs, [bx as u64, by as u64, bw as u64, bh as u64], &mut s, &mut out);
            prop_assert_eq!(&out, &runs_of(&dense(bh, bw, |y, x| at(y + by, x + bx))));
            let p = [box_.0 as u64 % 3, box_.1 as u64 % 3, box_.2 as u64 % 3, box_.3 as u64 % 3];
            pad(hh, ww, &runs, p, &mut s, &mut out);
            let (t, l) = (p[0] as usize, p[2] as usize);
            let want = dense(h + t + p[1] as usize, w + l + p[3] as usize, |y, x| {
                y >= t && x >= l && y - t < h && x - l < w && at(y - t, x - l)
            });
            prop_assert_eq!(&out, &runs_of(&want));
            let (dy, dx) = shifts;
            shift(hh, ww, &runs, dy, dx, &mut s, &mut out);
            let want = dense(h, w, |y, x| {
                let (sy, sx) = (y as i64 - dy, x as i64 - dx);
                (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx) && at(sy as usize, sx as usize)
            });
            prop_assert_eq!(&out, &runs_of(&want));
            for mode in [Resize::Nearest, Resize::NearestExact] {
                let (oh, ow) = (1 + box_.2 * 2 % 17, 1 + box_.3 * 3 % 17);
                resize(hh, ww, &runs, (oh as u64, ow as u64), mode, &mut s, &mut out);
                let src = |i: usize, n_in: usize, n_out: usize| match mode {
                    Resize::Nearest => (i * n_in / n_out).min(n_in - 1),
                    Resize::NearestExact => ((2 * i + 1) * n_in / (2 * n_out)).min(n_in - 1),
                };
                let want = dense(oh, ow, |y, x| at(src(y, h, oh), src(x, w, ow)));
                prop_assert_eq!(&out, &runs_of(&want));
            }
            let got = centroid(hh, &runs);
            let pts: Vec<(usize, usize)> = (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).filter(|&(y, x)| at(y, x)).collect();
            if pts.is_empty() {
                prop_assert!(got.is_none());
            } else {
                let n = pts.len() as f64;
                let cx = pts.iter().map(|p| p.1 as f64).sum::<f64>() / n;
                let cy = pts.iter().map(|p| p.0 as f64).sum::<f64>() / n;
                let g = got.unwrap();
                prop_assert!((g[0] - cx).abs() < 1e-9 && (g[1] - cy).abs() < 1e-9);
            }
        }
    }

    /// The components of a column-major mask by flood fill: each one's pixels
    /// (column-major indices, ascending), in `OpenCV`'s label order.
    fn dense_components(h: usize, w: usize, m: &[u8], eight: bool) -> Vec<Vec<usize>> {
        let mut seen = vec![false; h * w];
        let mut comps = Vec::new();
        for y in 0..h {
            for x in 0..w {
                if m[x * h + y] == 0 || seen[x * h + y] {
                    continue;
                }
                let (mut stack, mut pixels) = (vec![(y, x)], Vec::new());
                seen[x * h + y] = true;
                while let Some((y, x)) = stack.pop() {
                    pixels.push(x * h + y);
                    for dy in -1i64..=1 {
                        for dx in -1i64..=1 {
                            let (ny, nx) = (y as i64 + dy, x as i64 + dx);
                            if (dy == 0 && dx == 0)
                                || (!eight && dy != 0 && dx != 0)
                                || !(0..h as i64).contains(&ny)
                                || !(0..w as i64).contains(&nx)
                            {
                                continue;
                            }
                            let k = nx as usize * h + ny as usize;
                            if m[k] != 0 && !seen[k] {
                                seen[k] = true;
                                stack.push((ny as usize, nx as usize));
                            }
                        }
                    }
                }
                pixels.sort_unstable();
                comps.push(pixels);
            }
        }
        // OpenCV: by first pixel in a row-major scan (4), by first 2x2 block (8).
        let u = usize::from(eight);
        comps.sort_by_key(|p| p.iter().map(|&k| ((k % h) >> u, (k / h) >> u)).min());
        comps
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn components_equal_a_flood_fill(
            (h, w, m) in (1usize..14, 1usize..14).prop_flat_map(|(h, w)| {
                (Just(h), Just(w), proptest::collection::vec(0u8..2, h * w))
            }),
            eight: bool,
        ) {
            let (hh, ww) = (h as u64, w as u64);
            let runs = runs_of(&m);
            let want = dense_components(h, w, &m, eight);
            let mut c = components(hh, &runs, eight);
            prop_assert_eq!(c.len(), want.len());
            let areas: Vec<u64> = want.iter().map(|p| p.len() as u64).collect();
            prop_assert_eq!(&c.areas, &areas);
            let border: Vec<bool> = want
                .iter()
                .map(|p| p.iter().any(|&k| k % h == 0 || k % h == h - 1 || k / h == 0 || k / h == w - 1))
                .collect();
            prop_assert_eq!(c.touching_border(hh, ww), border);
            let (mut all, mut ends) = (Vec::new(), Vec::new());
            c.each(hh, ww, &mut all, &mut ends);
            let mut from = 0;
            for (p, &end) in want.iter().zip(&ends) {
                let mut d = vec![0u8; h * w];
                for &k in p {
                    d[k] = 1;
                }
                prop_assert_eq!(&all[from..end], &runs_of(&d)[..]);
                from = end;
            }
            // Unordered: the same components, and the first largest is OpenCV's.
            c.label_unordered(hh, &runs, eight);
            let mut got: Vec<u64> = c.areas.clone();
            got.sort_unstable();
            let mut sorted = areas.clone();
            sorted.sort_unstable();
            prop_assert_eq!(got, sorted);
            let max = areas.iter().max();
            let first = areas.iter().position(|a| Some(a) == max);
            let best = c.first_largest(hh, eight);
            let mut out = Vec::new();
            c.union(hh, ww, |k| Some(k) == best, &mut out);
            let mut d = vec![0u8; h * w];
            for &k in first.map_or(&[][..], |f| &want[f][..]) {
                d[k] = 1;
            }
            prop_assert_eq!(out, runs_of(&d));
        }
    }
}

//! Operations on one mask's runs (COCO's column-major run lengths, zeros first), never
//! a dense mask: set operations walk the two run lists side by side; flips, crops, pads
//! and shifts move each column's foreground intervals; the transpose turns column
//! intervals into row intervals by one sweep over the columns that visits only the rows
//! whose membership changes ([`crate::boundary`]). Every result is canonical, as
//! pycocotools' `encode` gives it (no empty run but the first).

use crate::boundary::{columns_of, Lines, Scratch};
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
    pub(crate) fn fg(&mut self, a: u64, b: u64) {
        if a >= b {
            return;
        }
        match self.out.last_mut() {
            Some(last) if a == self.pos => *last += (b - a) as u32,
            _ => {
                self.out.push((a - self.pos) as u32);
                self.out.push((b - a) as u32);
            }
        }
        self.pos = b;
    }

    pub(crate) fn finish(self, pixels: u64) {
        if self.out.is_empty() || self.pos < pixels {
            self.out.push((pixels - self.pos) as u32);
        }
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

impl SetOp {
    fn apply(self, a: bool, b: bool) -> bool {
        match self {
            SetOp::Or => a | b,
            SetOp::And => a & b,
            SetOp::Xor => a ^ b,
            SetOp::AndNot => a && !b,
        }
    }
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
    let mut w = Writer::new(out);
    let (mut i, mut j) = (0usize, 0usize);
    // Remaining lengths of the current runs and their values.
    let (mut ra, mut rb) = (0u64, 0u64);
    let (mut va, mut vb) = (true, true);
    let mut pos = 0u64;
    while pos < pixels {
        while ra == 0 {
            ra = u64::from(a[i]);
            va = i % 2 == 1;
            i += 1;
        }
        while rb == 0 {
            rb = u64::from(b[j]);
            vb = j % 2 == 1;
            j += 1;
        }
        let step = ra.min(rb);
        if op.apply(va, vb) {
            w.fg(pos, pos + step);
        }
        pos += step;
        ra -= step;
        rb -= step;
    }
    w.finish(pixels);
    Ok(())
}

/// The complement of a mask of `pixels` pixels.
pub fn invert(runs: &[u32], pixels: u64, out: &mut Vec<u32>) {
    write_runs(runs, pixels, false, out);
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

/// Each column's rows reversed (numpy's `flipud` of the mask).
pub fn flip_rows(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let h = height as u32;
    for &x in &lines.nonempty {
        let x = x as usize;
        let (from, to) = (lines.start[x], lines.start[x + 1]);
        let col = &mut lines.iv[from..to];
        col.reverse();
        for iv in col.iter_mut() {
            *iv = (h - iv.1, h - iv.0);
        }
    }
    write_columns(&lines, height, width, out);
    s.mask = lines;
}

/// The columns in reverse order (numpy's `fliplr` of the mask).
pub fn flip_columns(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let mut w = Writer::new(out);
    for &src in lines.nonempty.iter().rev() {
        let base = (width - 1 - u64::from(src)) * height;
        for &(a, b) in lines.line(src as usize) {
            w.fg(base + u64::from(a), base + u64::from(b));
        }
    }
    w.finish(height * width);
    s.mask = lines;
}

/// The transposed mask (`width x height`): the rows' intervals become its columns'.
pub fn transpose(height: u64, width: u64, runs: &[u32], s: &mut Scratch, out: &mut Vec<u32>) {
    let mut lines = std::mem::take(&mut s.mask);
    let mut rows = std::mem::take(&mut s.eroded);
    columns_of(runs, height, width, &mut lines);
    crate::boundary::transpose(&lines, width as usize, height as usize, 0, s, &mut rows);
    write_columns(&rows, width, height, out);
    (s.mask, s.eroded) = (lines, rows);
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

/// Each column's intervals grown (`grow`) or shrunk by `k`, clamped to `0..height`,
/// touching ones joined, as runs.
fn vertical(
    height: u64,
    width: u64,
    runs: &[u32],
    k: u64,
    grow: bool,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut lines = std::mem::take(&mut s.mask);
    columns_of(runs, height, width, &mut lines);
    let mut wr = Writer::new(out);
    for &x in &lines.nonempty {
        let x = x as usize;
        let base = x as u64 * height;
        let mut open: Option<(u64, u64)> = None;
        for &(a, b) in lines.line(x) {
            let (a, b) = if grow {
                (
                    u64::from(a).saturating_sub(k),
                    (u64::from(b) + k).min(height),
                )
            } else {
                (u64::from(a) + k, u64::from(b).saturating_sub(k))
            };
            if a >= b {
                continue;
            }
            match open {
                Some((oa, ob)) if a <= ob => open = Some((oa, ob.max(b))),
                Some((oa, ob)) => {
                    wr.fg(base + oa, base + ob);
                    open = Some((a, b));
                }
                None => open = Some((a, b)),
            }
        }
        if let Some((oa, ob)) = open {
            wr.fg(base + oa, base + ob);
        }
    }
    wr.finish(height * width);
    s.mask = lines;
}

/// Each row's intervals grown or shrunk by `k` (the transpose's columns).
fn horizontal(
    height: u64,
    width: u64,
    runs: &[u32],
    k: u64,
    grow: bool,
    s: &mut Scratch,
    out: &mut Vec<u32>,
) {
    let mut t = std::mem::take(&mut s.spare);
    let mut u = Vec::new();
    transpose(height, width, runs, s, &mut t);
    vertical(width, height, &t, k, grow, s, &mut u);
    transpose(width, height, &u, s, out);
    s.spare = t;
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
        Shape::Square => {
            vertical(height, width, runs, r, dilate, s, &mut a);
            horizontal(height, width, &a, r, dilate, s, out);
        }
        Shape::Cross => {
            let mut b = Vec::new();
            vertical(height, width, runs, r, dilate, s, &mut a);
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
/// 4-connectivity, by the first 2x2 block of a row-major scan of blocks with 8), each
/// component's area and whether it touches the image border.
pub struct Components {
    lines: Lines,
    /// Per interval of `lines`, its component.
    pub(crate) of: Vec<u32>,
    /// Per component: pixels.
    pub areas: Vec<u64>,
    /// Per component: whether it touches the image border.
    pub border: Vec<bool>,
}

/// Each interval's column.
fn column_of_each(lines: &Lines) -> Vec<u32> {
    let mut out = Vec::with_capacity(lines.iv.len());
    for &x in &lines.nonempty {
        let x = x as usize;
        out.resize(lines.start[x + 1], x as u32);
    }
    out
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// Labels the components of a mask (`eight`: 8-connectivity, else 4): a union of the
/// intervals of neighbouring columns that touch (diagonally too with 8), found by one
/// walk of each column pair; no dense label image.
#[must_use]
pub fn components(height: u64, width: u64, runs: &[u32], eight: bool) -> Components {
    let mut lines = Lines::default();
    columns_of(runs, height, width, &mut lines);
    let n = lines.iv.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let t = u32::from(eight);
    for pair in lines.nonempty.windows(2) {
        if pair[1] != pair[0] + 1 {
            continue;
        }
        let x = pair[1] as usize;
        let (mut i, mut j) = (lines.start[x - 1], lines.start[x]);
        let (i_end, j_end) = (lines.start[x], lines.start[x + 1]);
        while i < i_end && j < j_end {
            let ((a, b), (c, d)) = (lines.iv[i], lines.iv[j]);
            if c < b + t && a < d + t {
                let (ri, rj) = (find(&mut parent, i as u32), find(&mut parent, j as u32));
                if ri != rj {
                    parent[ri.max(rj) as usize] = ri.min(rj);
                }
            }
            if b < d {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    // OpenCV's label order: with 4-connectivity (SAUF, a scan of pixels) by each
    // component's first pixel in a row-major scan; with 8 (a scan of 2x2 blocks, one
    // component per block) by its first block in a row-major scan of blocks.
    let (row_unit, col_unit) = if eight { (2, 2) } else { (1, 1) };
    let mut key: Vec<(u32, u32, u32)> = Vec::new();
    let mut root_index = vec![u32::MAX; n];
    let column = column_of_each(&lines);
    for (k, &col) in column.iter().enumerate() {
        let col = col as usize;
        let r = find(&mut parent, k as u32) as usize;
        let entry = (lines.iv[k].0 / row_unit, col as u32 / col_unit, r as u32);
        if root_index[r] == u32::MAX {
            root_index[r] = key.len() as u32;
            key.push(entry);
        } else {
            let e = &mut key[root_index[r] as usize];
            if (entry.0, entry.1) < (e.0, e.1) {
                *e = entry;
            }
        }
    }
    let mut order: Vec<usize> = (0..key.len()).collect();
    order.sort_unstable_by_key(|&c| (key[c].0, key[c].1));
    let mut label = vec![0u32; key.len()];
    for (l, &c) in order.iter().enumerate() {
        label[c] = l as u32;
    }
    let mut of = Vec::with_capacity(n);
    let mut areas = vec![0u64; key.len()];
    let mut border = vec![false; key.len()];
    for (k, &col) in column.iter().enumerate() {
        let col = col as usize;
        let c = label[root_index[find(&mut parent, k as u32) as usize] as usize];
        of.push(c);
        let (a, b) = lines.iv[k];
        areas[c as usize] += u64::from(b - a);
        border[c as usize] |=
            a == 0 || u64::from(b) == height || col == 0 || col + 1 == width as usize;
    }
    Components {
        lines,
        of,
        areas,
        border,
    }
}

impl Components {
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
        for &x in &self.lines.nonempty {
            let x = x as usize;
            let base = x as u64 * height;
            for k in self.lines.start[x]..self.lines.start[x + 1] {
                if keep(self.of[k] as usize) {
                    let (a, b) = self.lines.iv[k];
                    w.fg(base + u64::from(a), base + u64::from(b));
                }
            }
        }
        w.finish(height * width);
    }

    /// Each component's runs, one after the other (`ends[c]`: the end of component `c`'s).
    pub fn each(&self, height: u64, width: u64, runs: &mut Vec<u32>, ends: &mut Vec<usize>) {
        // The intervals grouped by component (stable: column-major within each).
        let k = self.len();
        let mut count = vec![0usize; k + 1];
        for &c in &self.of {
            count[c as usize + 1] += 1;
        }
        for c in 0..k {
            count[c + 1] += count[c];
        }
        let mut slot = count.clone();
        let mut grouped = vec![(0u64, 0u64); self.of.len()];
        let column = column_of_each(&self.lines);
        for (i, &c) in self.of.iter().enumerate() {
            let col = column[i] as usize;
            let base = col as u64 * height;
            let (a, b) = self.lines.iv[i];
            grouped[slot[c as usize]] = (base + u64::from(a), base + u64::from(b));
            slot[c as usize] += 1;
        }
        let mut one = Vec::new();
        for c in 0..k {
            let mut w = Writer::new(&mut one);
            for &(a, b) in &grouped[count[c]..count[c + 1]] {
                w.fg(a, b);
            }
            w.finish(height * width);
            runs.extend_from_slice(&one);
            ends.push(runs.len());
        }
    }
}

/// The mean `[x, y]` of the mask's pixels (pixel centres at integer coordinates, as
/// numpy's indices), `None` for an empty mask. Sums of whole intervals, in integers.
#[must_use]
pub fn centroid(height: u64, runs: &[u32]) -> Option<[f64; 2]> {
    let (mut n, mut sx, mut sy) = (0u128, 0u128, 0u128);
    crate::rle::for_each_column_piece(height, runs, |x, a, b| {
        let len = u128::from(b - a);
        n += len;
        sx += u128::from(x) * len;
        // a + (a+1) + ... + (b-1)
        sy += (u128::from(a) + u128::from(b) - 1) * len / 2;
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
}

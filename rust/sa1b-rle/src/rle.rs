//! The run-length-encoded mask: size, validated runs, area and bounding box.

use crate::counts::{parse_counts, write_counts};
use crate::error::{Error, Result};

/// Number of pixels of an `height` x `width` mask, checked to fit COCO's 32-bit counts.
///
/// # Errors
/// [`Error::SizeTooLarge`] when `height * width > u32::MAX`.
///
/// # Examples
/// ```
/// use sa1b_rle::pixel_count;
/// assert_eq!(pixel_count(1500, 2250).unwrap(), 3_375_000);
/// assert!(pixel_count(1 << 16, 1 << 16).is_err());
/// ```
pub fn pixel_count(height: u64, width: u64) -> Result<u64> {
    match height.checked_mul(width) {
        Some(n) if u32::try_from(n).is_ok() => Ok(n),
        _ => Err(Error::SizeTooLarge { height, width }),
    }
}

/// A binary mask as COCO run lengths: column-major (Fortran) order, alternating runs of
/// 0s and 1s, always starting with a (possibly empty) run of 0s.
///
/// An `Rle` built through [`Rle::new`] or [`Rle::from_counts_str`] is valid: its size fits
/// in 32 bits and its runs add up to exactly `height * width`. Zero-length runs are kept as
/// given, because pycocotools keeps them and its results depend on them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rle {
    height: u64,
    width: u64,
    counts: Vec<u32>,
}

impl Rle {
    /// Builds an RLE from run lengths, checking them against the size.
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`], [`Error::EmptyCounts`] (no runs for a mask with pixels) or
    /// [`Error::CountsSumMismatch`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// let r = Rle::new(2, 3, vec![1, 4, 1]).unwrap();
    /// assert_eq!(r.area(), 4);
    /// assert!(Rle::new(2, 3, vec![1, 4]).is_err());
    /// ```
    pub fn new(height: u64, width: u64, counts: Vec<u32>) -> Result<Rle> {
        check_runs(pixel_count(height, width)?, &counts)?;
        Ok(Rle {
            height,
            width,
            counts,
        })
    }

    /// Parses a compressed counts string (`b"..."` as in COCO JSON) for a mask of the given
    /// size. The size is checked before the string is parsed, so a huge declared size never
    /// causes an allocation.
    ///
    /// # Errors
    /// Those of [`crate::counts::parse_counts`] and of [`Rle::new`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// let r = Rle::from_counts_str(3, 3, b"324").unwrap();
    /// assert_eq!(r.counts(), &[3, 2, 4]);
    /// ```
    pub fn from_counts_str(height: u64, width: u64, s: &[u8]) -> Result<Rle> {
        pixel_count(height, width)?;
        Rle::new(height, width, parse_counts(s)?)
    }

    /// The empty mask of the given size: one background run (`[h*w]`).
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// assert_eq!(Rle::zeros(2, 2).unwrap().counts(), &[4]);
    /// ```
    pub fn zeros(height: u64, width: u64) -> Result<Rle> {
        let pixels = pixel_count(height, width)?;
        Ok(Rle {
            height,
            width,
            counts: vec![pixels as u32],
        })
    }

    /// Builds an RLE without checking; the caller guarantees the invariants.
    pub(crate) fn from_parts_unchecked(height: u64, width: u64, counts: Vec<u32>) -> Rle {
        debug_assert_eq!(
            counts.iter().map(|&c| u64::from(c)).sum::<u64>(),
            height * width
        );
        Rle {
            height,
            width,
            counts,
        }
    }

    /// Mask height (rows).
    #[must_use]
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Mask width (columns).
    #[must_use]
    pub fn width(&self) -> u64 {
        self.width
    }

    /// `(height, width)`.
    #[must_use]
    pub fn size(&self) -> (u64, u64) {
        (self.height, self.width)
    }

    /// The run lengths, starting with a background run.
    #[must_use]
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Consumes the RLE, returning its run lengths.
    #[must_use]
    pub fn into_counts(self) -> Vec<u32> {
        self.counts
    }

    /// The compressed counts string, byte-identical to pycocotools' `rleToString`.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// assert_eq!(Rle::zeros(0, 5).unwrap().to_counts_string(), b"0");
    /// ```
    #[must_use]
    pub fn to_counts_string(&self) -> Vec<u8> {
        write_counts(&self.counts)
    }

    /// Number of foreground pixels (the sum of the odd-index runs).
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// assert_eq!(Rle::new(3, 3, vec![1, 2, 3, 3]).unwrap().area(), 5);
    /// ```
    #[must_use]
    pub fn area(&self) -> u64 {
        area_of_runs(&self.counts)
    }

    /// The bounding box `[x, y, width, height]` as pycocotools' fixed `rleToBbox` computes
    /// it: a foreground run that crosses a column boundary widens the box to the full
    /// height. An empty mask gives `[0, 0, 0, 0]`.
    ///
    /// pycocotools returns a box with wrapped-around u32 extents for a non-empty run list
    /// whose foreground runs all have length 0; this returns `[0, 0, 0, 0]` there.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// // 4x5 mask, foreground rows 1-2 of columns 3-4.
    /// let r = Rle::new(4, 5, vec![13, 2, 2, 2, 1]).unwrap();
    /// assert_eq!(r.bbox(), [3.0, 1.0, 2.0, 2.0]);
    /// ```
    #[must_use]
    pub fn bbox(&self) -> [f64; 4] {
        bbox_of_runs(self.height, self.width, &self.counts)
    }

    /// The foreground as half-open intervals `[start, end)` of column-major pixel indices,
    /// in order, skipping zero-length runs.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::Rle;
    /// let r = Rle::new(3, 3, vec![1, 2, 0, 0, 3, 3]).unwrap();
    /// assert_eq!(r.foreground_intervals().collect::<Vec<_>>(), vec![(1, 3), (6, 9)]);
    /// ```
    pub fn foreground_intervals(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        foreground_intervals_of(&self.counts)
    }
}

/// [`Rle::area`] of a validated run list.
pub(crate) fn area_of_runs(runs: &[u32]) -> u64 {
    run_sums(runs).1
}

/// `(sum of all runs, sum of the foreground runs)` in one pass: pairs (background,
/// foreground) summed in independent lanes (the compiler vectorises this; `step_by(2)`
/// it does not), each chunk of 16 runs widened to u64 before it could overflow.
pub(crate) fn run_sums(runs: &[u32]) -> (u64, u64) {
    let (pairs, rest) = runs.as_chunks::<2>();
    let mut chunks = pairs.chunks_exact(8);
    let (mut background, mut foreground) = (0u64, 0u64);
    for c in &mut chunks {
        let (mut b, mut f) = ([0u32; 8], [0u32; 8]);
        for k in 0..8 {
            b[k] = c[k][0];
            f[k] = c[k][1];
        }
        background += b.iter().map(|&x| u64::from(x)).sum::<u64>();
        foreground += f.iter().map(|&x| u64::from(x)).sum::<u64>();
    }
    for &[b, f] in chunks.remainder() {
        background += u64::from(b);
        foreground += u64::from(f);
    }
    let tail: u64 = rest.iter().map(|&x| u64::from(x)).sum();
    (background + foreground + tail, foreground)
}

/// The column of a pixel index (column-major, `height` rows), for indices that only grow:
/// tracked incrementally (foreground runs of a mask are mostly in neighbouring columns),
/// dividing only for jumps of several columns.
pub(crate) struct ColumnTracker {
    h: u64,
    /// The current column, which holds the pixel indices `start..start + h`.
    col: u64,
    start: u64,
}

impl ColumnTracker {
    pub(crate) fn new(height: u64) -> ColumnTracker {
        ColumnTracker {
            h: height,
            col: 0,
            start: 0,
        }
    }

    /// `(column, index of the column's first pixel)` of pixel `pos` (not before the last
    /// pixel asked about; `height > 0`).
    #[inline]
    pub(crate) fn locate(&mut self, pos: u64) -> (u64, u64) {
        let h = self.h;
        if pos >= self.start + 4 * h {
            let skip = (pos - self.start) / h;
            self.col += skip;
            self.start += skip * h;
        }
        while pos >= self.start + h {
            self.col += 1;
            self.start += h;
        }
        (self.col, self.start)
    }
}

/// Calls `f(column, first_row, end_row)` for every piece of foreground of a validated run
/// list of a mask with `height > 0` rows: the foreground runs split at column boundaries,
/// in column order (and top to bottom within a column).
pub(crate) fn for_each_column_piece(height: u64, runs: &[u32], mut f: impl FnMut(u64, u64, u64)) {
    for (col, a, b) in column_pieces(height, runs) {
        f(col, a, b);
    }
}

/// The pieces of [`for_each_column_piece`] as an iterator (for loops whose state should
/// stay in registers: a closure called per piece keeps it in memory when not inlined).
pub(crate) fn column_pieces(height: u64, runs: &[u32]) -> ColumnPieces<'_> {
    ColumnPieces {
        runs: runs.chunks_exact(2),
        columns: ColumnTracker::new(height),
        pos: 0,
        next: 0,
    }
}

/// See [`column_pieces`].
pub(crate) struct ColumnPieces<'a> {
    runs: std::slice::ChunksExact<'a, u32>,
    columns: ColumnTracker,
    /// The end of the current foreground run, and where its next piece starts.
    pos: u64,
    next: u64,
}

impl Iterator for ColumnPieces<'_> {
    type Item = (u64, u64, u64);

    #[inline]
    fn next(&mut self) -> Option<(u64, u64, u64)> {
        while self.next >= self.pos {
            let pair = self.runs.next()?;
            self.next = self.pos + u64::from(pair[0]);
            self.pos = self.next + u64::from(pair[1]);
        }
        let (col, col_start) = self.columns.locate(self.next);
        let e = self.pos.min(col_start + self.columns.h);
        let piece = (col, self.next - col_start, e - col_start);
        self.next = e;
        Some(piece)
    }
}

/// [`Rle::bbox`] of a validated run list of a mask of `height` x `width`.
pub(crate) fn bbox_of_runs(height: u64, width: u64, runs: &[u32]) -> [f64; 4] {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = simd_bbox::bbox_if_supported(height, width, runs) {
        return b;
    }
    bbox_of_runs_scalar(height, runs)
}

/// Where a mask's foreground lies, accumulated over its foreground runs: the first and
/// last foreground pixel (column-major indices), the rows of the runs that stay in one
/// column, and whether any run crosses into another column (the box then has the full
/// height).
#[derive(Clone, Copy)]
struct Extents {
    first: u64,
    last: u64,
    top: u64,
    bottom: u64,
    spans: bool,
}

impl Extents {
    const NONE: Extents = Extents {
        first: u64::MAX,
        last: 0,
        top: u64::MAX,
        bottom: 0,
        spans: false,
    };

    /// Adds the pairs of `runs` (a trailing unpaired run is ignored, as cocoapi does),
    /// whose first background run starts at pixel `pos`; returns the position after them.
    /// Divides once per foreground run: for the few pairs the vector loop leaves.
    fn add_pairs(&mut self, h: u64, mut pos: u64, runs: &[u32]) -> u64 {
        for pair in runs.chunks_exact(2) {
            let start = pos + u64::from(pair[0]);
            let len = u64::from(pair[1]);
            pos = start + len;
            if len == 0 {
                continue;
            }
            self.first = self.first.min(start);
            self.last = self.last.max(pos - 1);
            let row = start % h;
            self.top = self.top.min(row);
            self.bottom = self.bottom.max(row + len - 1);
            self.spans |= row + len > h;
        }
        pos
    }

    /// The `[x, y, w, h]` box (all zero without foreground).
    fn finish(&self, h: u64) -> [f64; 4] {
        if self.first == u64::MAX {
            return [0.0; 4];
        }
        let (xs, xe) = (self.first / h, self.last / h);
        let (ys, ye) = if self.spans {
            (0, h - 1)
        } else {
            (self.top, self.bottom)
        };
        [
            xs as f64,
            ys as f64,
            (xe - xs + 1) as f64,
            (ye - ys + 1) as f64,
        ]
    }
}

/// [`bbox_of_runs`] with AVX2, eight run pairs a step: the run ends as a prefix sum in
/// 32-bit lanes, each start's row by a multiplication with `1 / h` in `f32` corrected
/// by one step either way (exact for masks of fewer than 2**24 pixels). The columns of
/// the first and last foreground pixels come from scalar scans of the ends of the list.
#[cfg(target_arch = "x86_64")]
mod simd_bbox {
    use super::Extents;

    /// Masks of fewer pixels take the vector path (f32 holds their indices exactly).
    const MAX_PIXELS: u64 = 1 << 24;

    pub(super) fn bbox_if_supported(h: u64, w: u64, runs: &[u32]) -> Option<[f64; 4]> {
        if h == 0 || h.saturating_mul(w) >= MAX_PIXELS || runs.len() < 32 {
            return None;
        }
        let rows: fn(u64, &[u32], &mut Extents) = if std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            |h, pairs, e| {
                add_rows(h, pairs, e, unsafe {
                    crate::arch::avx512::bbox::rows(h, pairs)
                });
            }
        } else if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            |h, pairs, e| {
                add_rows(h, pairs, e, unsafe {
                    crate::arch::avx2::bbox::rows(h, pairs)
                });
            }
        } else {
            return None;
        };
        Some(bbox(h, w, runs, rows))
    }

    /// The box of a validated run list of an `h` x `w` mask, `h * w < 2**24` (every count
    /// and position fits in 24 bits), with `rows` adding the rows of the foreground runs.
    fn bbox(h: u64, w: u64, runs: &[u32], rows: fn(u64, &[u32], &mut Extents)) -> [f64; 4] {
        let pairs = &runs[..runs.len() / 2 * 2];
        let mut e = Extents::NONE;
        // First and last foreground pixels: the ends of the first and last non-empty
        // foreground runs (both scans stop at once on real masks).
        let mut pos = 0u64;
        for p in pairs.chunks_exact(2) {
            pos += u64::from(p[0]);
            if p[1] > 0 {
                e.first = pos;
                break;
            }
            pos += u64::from(p[1]);
        }
        if e.first == u64::MAX {
            return [0.0; 4];
        }
        let mut end = h * w;
        end -= u64::from(runs[runs.len() - 1]) * u64::from(runs.len() % 2 == 1);
        for p in pairs.rchunks_exact(2) {
            if p[1] > 0 {
                e.last = end - 1;
                break;
            }
            end -= u64::from(p[0]) + u64::from(p[1]);
        }
        rows(h, pairs, &mut e);
        e.finish(h)
    }

    /// The box by every vector loop this CPU has (for the tests).
    #[cfg(test)]
    pub(super) fn bbox_by_every_path(h: u64, w: u64, runs: &[u32]) -> Vec<[f64; 4]> {
        let mut v = vec![];
        if h == 0 || h.saturating_mul(w) >= MAX_PIXELS {
            return v;
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F.
            v.push(bbox(h, w, runs, |h, p, e| {
                add_rows(h, p, e, unsafe { crate::arch::avx512::bbox::rows(h, p) });
            }));
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2.
            v.push(bbox(h, w, runs, |h, p, e| {
                add_rows(h, p, e, unsafe { crate::arch::avx2::bbox::rows(h, p) });
            }));
        }
        v
    }

    /// Adds what a row kernel found, and the runs it left, to `e`.
    fn add_rows(h: u64, pairs: &[u32], e: &mut Extents, r: crate::arch::RowExtents) {
        set_rows(e, h, r.top, r.bottom);
        e.add_pairs(h, r.pos, &pairs[r.done..]);
    }

    /// Stores the vector loops' row extents (`top` is `u32::MAX` when they saw no
    /// foreground).
    fn set_rows(e: &mut Extents, h: u64, top: u32, bottom: u32) {
        if top != u32::MAX {
            e.top = u64::from(top);
            e.bottom = u64::from(bottom);
            e.spans = u64::from(bottom) >= h;
        }
    }
}

/// [`bbox_of_runs`] without vector instructions.
fn bbox_of_runs_scalar(height: u64, runs: &[u32]) -> [f64; 4] {
    let h = height;
    if h == 0 {
        // Every run is then empty (they sum to 0): no foreground.
        return [0.0; 4];
    }
    let (mut xs, mut xe, mut ys, mut ye) = (u64::MAX, 0u64, u64::MAX, 0u64);
    let (mut any, mut spans) = (false, false);
    let mut columns = ColumnTracker::new(h);
    let mut pos = 0u64;
    // cocoapi ignores a trailing unpaired (background) run.
    for pair in runs.chunks_exact(2) {
        let start = pos + u64::from(pair[0]);
        let len = u64::from(pair[1]);
        pos = start + len;
        if len == 0 {
            continue;
        }
        any = true;
        let (col, col_start) = columns.locate(start);
        let y0 = start - col_start;
        xs = xs.min(col);
        if y0 + len <= h {
            xe = xe.max(col);
            ys = ys.min(y0);
            ye = ye.max(y0 + len - 1);
        } else {
            // Crosses into later columns: the box takes the full height.
            xe = xe.max((pos - 1) / h);
            spans = true;
        }
    }
    if !any {
        return [0.0; 4];
    }
    if spans {
        (ys, ye) = (0, h - 1);
    }
    [
        xs as f64,
        ys as f64,
        (xe - xs + 1) as f64,
        (ye - ys + 1) as f64,
    ]
}

/// [`Rle::foreground_intervals`] of a validated run list (whose total fits in u32): the
/// one foreground-interval walk (IoU of prepared masks, merge).
pub(crate) fn foreground_intervals_of(runs: &[u32]) -> impl Iterator<Item = (u32, u32)> + '_ {
    // A trailing background run ends no interval.
    let (pairs, _) = runs.as_chunks::<2>();
    let mut pos = 0u32;
    pairs.iter().filter_map(move |&[bg, fg]| {
        let start = pos + bg;
        pos = start + fg;
        (fg > 0).then_some((start, pos))
    })
}

/// pycocotools' fixed `rleToBbox` transcribed run by run: the oracle for
/// [`bbox_of_runs`].
#[cfg(test)]
struct BboxAccumulator {
    h: u64,
    /// Runs seen so far, and the position where the next one starts.
    runs: usize,
    pos: u64,
    /// The column containing `col_start..col_start + h`, tracked incrementally (no
    /// division per run).
    col: u64,
    col_start: u64,
    xs: u64,
    ys: u64,
    xe: u64,
    ye: u64,
    any: bool,
}

#[cfg(test)]
impl BboxAccumulator {
    fn new(h: u64) -> BboxAccumulator {
        BboxAccumulator {
            h,
            runs: 0,
            pos: 0,
            col: 0,
            col_start: 0,
            xs: u64::MAX,
            ys: u64::MAX,
            xe: 0,
            ye: 0,
            any: false,
        }
    }

    /// Feeds the next run (background and foreground alternate, background first). The
    /// caller drops a trailing unpaired run, as cocoapi does.
    #[inline]
    fn push(&mut self, c: u32) {
        let start = self.pos;
        self.pos += u64::from(c);
        let foreground = self.runs % 2 == 1;
        self.runs += 1;
        if !foreground || c == 0 {
            return;
        }
        // A non-empty foreground run implies h > 0.
        let h = self.h;
        self.any = true;
        if start >= self.col_start + h {
            let skip = (start - self.col_start) / h;
            self.col += skip;
            self.col_start += skip * h;
        }
        let (x_start, y_start) = (self.col, start - self.col_start);
        let last = self.pos - 1;
        let (x_end, y_end) = if last < self.col_start + h {
            (self.col, last - self.col_start)
        } else {
            (last / h, last % h)
        };
        self.xs = self.xs.min(x_start);
        self.xe = self.xe.max(x_end);
        if x_start < x_end {
            self.ys = 0;
            self.ye = h - 1;
        } else {
            self.ys = self.ys.min(y_start);
            self.ye = self.ye.max(y_end);
        }
    }

    fn finish(&self) -> [f64; 4] {
        if !self.any {
            return [0.0; 4];
        }
        [
            self.xs as f64,
            self.ys as f64,
            (self.xe - self.xs + 1) as f64,
            (self.ye - self.ys + 1) as f64,
        ]
    }
}

/// The one check of a run list against its mask's `pixels`: runs present, summing to
/// exactly `pixels` ([`Error::EmptyCounts`], [`Error::CountsSumMismatch`]).
pub(crate) fn check_runs(pixels: u64, runs: &[u32]) -> Result<()> {
    check_total(pixels, runs.len(), runs.iter().map(|&c| u64::from(c)).sum())
}

/// Checks parsed run totals against the size, with [`Rle::new`]'s errors.
pub(crate) fn check_total(pixels: u64, runs: usize, total: u64) -> Result<()> {
    if runs == 0 && pixels > 0 {
        return Err(Error::EmptyCounts { pixels });
    }
    if total != pixels {
        return Err(Error::CountsSumMismatch {
            expected: pixels,
            actual: total,
        });
    }
    Ok(())
}

/// Area of the mask a compressed counts string describes, validated as
/// [`Rle::from_counts_str`] validates (same errors), without building an [`Rle`].
///
/// # Errors
/// As [`Rle::from_counts_str`].
///
/// # Examples
/// ```
/// use sa1b_rle::{area_of_counts_str, Rle};
/// assert_eq!(area_of_counts_str(4, 5, b"=220O").unwrap(), 4);
/// assert!(area_of_counts_str(4, 5, b"=220").is_err());
/// ```
pub fn area_of_counts_str(height: u64, width: u64, s: &[u8]) -> Result<u64> {
    let pixels = pixel_count(height, width)?;
    let runs = parse_counts(s)?;
    let total = runs.iter().map(|&c| u64::from(c)).sum();
    check_total(pixels, runs.len(), total)?;
    Ok(runs.iter().skip(1).step_by(2).map(|&c| u64::from(c)).sum())
}

/// pycocotools' `toBbox` of the mask a compressed counts string describes, validated as
/// [`Rle::from_counts_str`] validates (same errors), without building an [`Rle`].
///
/// # Errors
/// As [`Rle::from_counts_str`].
///
/// # Examples
/// ```
/// use sa1b_rle::{bbox_of_counts_str, Rle};
/// let r = Rle::from_counts_str(4, 5, b"=220O").unwrap();
/// assert_eq!(bbox_of_counts_str(4, 5, b"=220O").unwrap(), r.bbox());
/// ```
pub fn bbox_of_counts_str(height: u64, width: u64, s: &[u8]) -> Result<[f64; 4]> {
    let pixels = pixel_count(height, width)?;
    let runs = parse_counts(s)?;
    let total = runs.iter().map(|&c| u64::from(c)).sum();
    check_total(pixels, runs.len(), total)?;
    Ok(bbox_of_runs(height, width, &runs))
}

/// Checks that all masks share one size, returning it (`None` for an empty slice).
///
/// # Errors
/// [`Error::SizeMismatch`] wrapped with the index of the first mask that differs.
///
/// # Examples
/// ```
/// use sa1b_rle::{common_size, Rle};
/// let a = Rle::zeros(2, 3).unwrap();
/// let b = Rle::zeros(3, 2).unwrap();
/// assert_eq!(common_size(&[a.clone(), a.clone()]).unwrap(), Some((2, 3)));
/// assert!(common_size(&[a, b]).is_err());
/// ```
pub fn common_size(rles: &[Rle]) -> Result<Option<(u64, u64)>> {
    common_size_of(rles.iter().map(Rle::size))
}

/// [`common_size`] over a sequence of `(height, width)`.
///
/// # Errors
/// [`Error::SizeMismatch`] wrapped with the index of the first size that differs.
pub fn common_size_of(mut sizes: impl Iterator<Item = (u64, u64)>) -> Result<Option<(u64, u64)>> {
    let Some(expected) = sizes.next() else {
        return Ok(None);
    };
    for (i, actual) in sizes.enumerate() {
        if actual != expected {
            return Err(Error::SizeMismatch { expected, actual }.at(i + 1));
        }
    }
    Ok(Some(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_of_runs_equals_the_accumulator() {
        // Runs of every kind: zero-length foreground, runs crossing columns, jumps of
        // many columns, trailing unpaired runs, one-row and one-column images.
        let mut rnd = crate::test_support::rng(0xdead_beef_cafe_f00du64);
        for round in 0..3000 {
            let h = 1 + rnd(40);
            let w = 1 + rnd(40);
            let pixels = h * w;
            let mut runs = vec![];
            let mut left = pixels;
            while left > 0 {
                let cap = match round % 4 {
                    0 => 3,
                    1 => h + 2,
                    2 => 6 * h,
                    _ => pixels,
                };
                let r = rnd(cap + 1).min(left);
                runs.push(r as u32);
                left -= r;
            }
            let mut acc = BboxAccumulator::new(h);
            for &c in &runs[..runs.len() / 2 * 2] {
                acc.push(c);
            }
            check_bbox(h, w, &runs, acc.finish());
        }
    }

    /// Asserts that every path computes the box `want`.
    fn check_bbox(h: u64, w: u64, runs: &[u32], want: [f64; 4]) {
        assert_eq!(bbox_of_runs(h, w, runs), want, "{h}x{w} {runs:?}");
        assert_eq!(bbox_of_runs_scalar(h, runs), want, "{h}x{w} {runs:?}");
        #[cfg(target_arch = "x86_64")]
        for (path, b) in simd_bbox::bbox_by_every_path(h, w, runs)
            .into_iter()
            .enumerate()
        {
            assert_eq!(b, want, "path {path}: {h}x{w} {runs:?}");
        }
    }

    #[test]
    fn vector_bbox_equals_the_accumulator_on_large_masks() {
        // Tall and wide masks, runs of every length class, positions past 2**24 (the
        // vector path hands those to the scalar one) and masks ending in empty runs.
        let mut rnd = crate::test_support::rng(0x0123_4567_89ab_cdefu64);
        for round in 0..400 {
            let (h, w) = match round % 5 {
                0 => (1 + rnd(3), 1 + rnd(5000)),
                1 => (1500, 2250),
                2 => (1 + rnd(3000), 1 + rnd(3000)),
                3 => (5000, 3500),
                _ => (1 + rnd(200), 1 + rnd(200)),
            };
            let pixels = h * w;
            let mut runs = vec![];
            let mut left = pixels;
            let cap = [4, h / 3 + 1, h, 3 * h, pixels / 50 + 1][(round / 5) % 5];
            while left > 0 && runs.len() < 20_000 {
                let r = rnd(cap + 1).min(left);
                runs.push(r as u32);
                left -= r;
            }
            runs.push(left as u32);
            if round % 7 == 0 {
                runs.extend([0, 0, 0]);
            }
            let mut acc = BboxAccumulator::new(h);
            for &c in &runs[..runs.len() / 2 * 2] {
                acc.push(c);
            }
            check_bbox(h, w, &runs, acc.finish());
        }
    }

    #[test]
    fn vector_bbox_equals_the_accumulator_on_blobs() {
        // Masks made of a few row intervals in each column of a random box, so that the
        // box is small and its rows are decided by single runs (random run lists nearly
        // always cover every row), sometimes joined with a run crossing a column.
        let mut rnd = crate::test_support::rng(0x5eed_f0b1_0b00_u64);
        for round in 0..2000 {
            // Some masks have over 2**24 pixels (the scalar path's), with short columns
            // (where f32 quotients of large positions are furthest off).
            let h = 1 + rnd([3000, 40, 2, 40_000, 4][round % 5]);
            let w = 1 + rnd([600, 600, 600, 60_000, 20_000_000][round % 5]);
            let (x0, mut y0) = (rnd(w), rnd(h));
            let (x1, mut y1) = (x0 + rnd((w - x0).min(300)), y0 + rnd(h - y0));
            // Boxes touching the first or last row (where f32 division errs most).
            match round % 3 {
                0 => y0 = 0,
                1 => y1 = h - 1,
                _ => {}
            }
            let mut fg = vec![];
            for x in x0..=x1 {
                for _ in 0..rnd(4) {
                    // Often exactly on the box's edges.
                    let a = if rnd(3) == 0 {
                        y0
                    } else {
                        y0 + rnd(y1 - y0 + 1)
                    };
                    let b = if rnd(3) == 0 { y1 } else { a + rnd(y1 - a + 1) };
                    fg.push((x * h + a, x * h + b + 1));
                }
            }
            if round % 11 == 0 && x1 > x0 {
                fg.push((x0 * h + h - 1, (x0 + 1) * h + 1));
            }
            fg.sort_unstable();
            let mut runs = vec![];
            let mut pos = 0;
            for (a, b) in fg {
                if b <= pos {
                    continue;
                }
                let a = a.max(pos);
                if a == pos && !runs.is_empty() {
                    *runs.last_mut().unwrap() += (b - a) as u32;
                } else {
                    runs.extend([(a - pos) as u32, (b - a) as u32]);
                }
                pos = b;
            }
            runs.push((h * w - pos) as u32);
            let mut acc = BboxAccumulator::new(h);
            for &c in &runs[..runs.len() / 2 * 2] {
                acc.push(c);
            }
            check_bbox(h, w, &runs, acc.finish());
        }
    }

    #[test]
    fn vector_bbox_rows_on_the_first_and_last_row() {
        // One pixel in the first or the last row of every column: each start's row is
        // then next to a multiple of h, where the f32 quotient is off by one either way
        // for some columns of most heights.
        for h in (1..700).chain([1499, 1500, 2047, 2250, 4095]) {
            let w = (1 << 24) / h - 1;
            let w = w.min(6000);
            for row in [0, h - 1] {
                let mut runs = vec![row as u32, 1];
                for _ in 1..w {
                    runs.extend([(h - 1) as u32, 1]);
                }
                runs.push((h - 1 - row) as u32);
                let want = [0.0, row as f64, w as f64, 1.0];
                check_bbox(h, w, &runs, want);
            }
        }
    }

    #[test]
    fn validation() {
        assert_eq!(
            Rle::new(3, 3, vec![]),
            Err(Error::EmptyCounts { pixels: 9 })
        );
        assert!(Rle::new(0, 0, vec![]).is_ok());
        assert!(Rle::new(0, 7, vec![0]).is_ok());
        assert_eq!(
            Rle::new(3, 3, vec![4, 6]),
            Err(Error::CountsSumMismatch {
                expected: 9,
                actual: 10
            })
        );
        assert!(matches!(
            Rle::from_counts_str(1 << 20, 1 << 20, b"0"),
            Err(Error::SizeTooLarge { .. })
        ));
    }

    #[test]
    fn bbox_cases() {
        // full image
        assert_eq!(
            Rle::new(4, 6, vec![0, 24]).unwrap().bbox(),
            [0., 0., 6., 4.]
        );
        // empty, and zero-size
        assert_eq!(Rle::new(4, 6, vec![24]).unwrap().bbox(), [0.; 4]);
        assert_eq!(Rle::new(0, 0, vec![0]).unwrap().bbox(), [0.; 4]);
        // zero-length foreground runs only
        assert_eq!(Rle::new(2, 5, vec![5, 0, 5]).unwrap().bbox(), [0.; 4]);
        // run spanning two columns widens to full height
        assert_eq!(
            Rle::new(4, 3, vec![3, 2, 7]).unwrap().bbox(),
            [0., 0., 2., 4.]
        );
    }
}

/// Masks of one size as the IoU walk reads them: mask `i`'s runs are
/// `runs[offsets[i]..offsets[i + 1]]` (an `RleBatch` seen from below, so the kernels need
/// not know the batch type).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Masks<'a> {
    pub(crate) height: u64,
    pub(crate) width: u64,
    pub(crate) offsets: &'a [usize],
    pub(crate) runs: &'a [u32],
}

impl<'a> Masks<'a> {
    /// Number of masks.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Rows.
    pub(crate) fn height(&self) -> u64 {
        self.height
    }

    /// Columns.
    pub(crate) fn width(&self) -> u64 {
        self.width
    }

    /// The runs of mask `i`.
    pub(crate) fn runs(&self, i: usize) -> &'a [u32] {
        &self.runs[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Runs of all masks.
    pub(crate) fn total_runs(&self) -> usize {
        self.runs.len()
    }
}

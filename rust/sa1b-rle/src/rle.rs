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
        let pixels = pixel_count(height, width)?;
        if counts.is_empty() && pixels > 0 {
            return Err(Error::EmptyCounts { pixels });
        }
        let actual: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        if actual != pixels {
            return Err(Error::CountsSumMismatch {
                expected: pixels,
                actual,
            });
        }
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
        bbox_of_runs(self.height, &self.counts)
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
    // Pairs (background, foreground) summed eight at a time in independent lanes (the
    // compiler vectorises this; `step_by(2)` it does not). Partial sums stay below 2**32
    // per lane only for 16 runs, so each chunk is widened to u64.
    let mut chunks = runs.chunks_exact(16);
    let mut total = 0u64;
    for c in &mut chunks {
        total += (0..8).map(|k| u64::from(c[2 * k + 1])).sum::<u64>();
    }
    let rest = chunks.remainder();
    total
        + rest
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| u64::from(c))
            .sum::<u64>()
}

/// Calls `f(column, first_row, end_row)` for every piece of foreground of a validated run
/// list of a mask with `height > 0` rows: the foreground runs split at column boundaries,
/// in column order (and top to bottom within a column). The column is tracked
/// incrementally, dividing only for jumps of several columns.
pub(crate) fn for_each_column_piece(height: u64, runs: &[u32], mut f: impl FnMut(u64, u64, u64)) {
    let h = height;
    let (mut col, mut col_start, mut pos) = (0u64, 0u64, 0u64);
    for pair in runs.chunks_exact(2) {
        let start = pos + u64::from(pair[0]);
        pos = start + u64::from(pair[1]);
        let mut s = start;
        while s < pos {
            if s >= col_start + 4 * h {
                let skip = (s - col_start) / h;
                col += skip;
                col_start += skip * h;
            }
            while s >= col_start + h {
                col += 1;
                col_start += h;
            }
            let e = pos.min(col_start + h);
            f(col, s - col_start, e - col_start);
            s = e;
        }
    }
}

/// [`Rle::bbox`] of a validated run list of a mask with `height` rows.
pub(crate) fn bbox_of_runs(height: u64, runs: &[u32]) -> [f64; 4] {
    let h = height;
    if h == 0 {
        // Every run is then empty (they sum to 0): no foreground.
        return [0.0; 4];
    }
    let (mut xs, mut xe, mut ys, mut ye) = (u64::MAX, 0u64, u64::MAX, 0u64);
    let (mut any, mut spans) = (false, false);
    // The column holding pixel indices col_start..col_start + h, moved forward a column at
    // a time (foreground runs of a mask are mostly in neighbouring columns; far jumps
    // divide): no division per run.
    let (mut col, mut col_start) = (0u64, 0u64);
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
        if start >= col_start + 4 * h {
            let skip = (start - col_start) / h;
            col += skip;
            col_start += skip * h;
        }
        while start >= col_start + h {
            col += 1;
            col_start += h;
        }
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

/// [`Rle::foreground_intervals`] of a validated run list (whose total fits in u32).
pub(crate) fn foreground_intervals_of(runs: &[u32]) -> impl Iterator<Item = (u32, u32)> + '_ {
    let mut pos = 0u32;
    runs.iter().enumerate().filter_map(move |(j, &c)| {
        let start = pos;
        pos += c;
        (j % 2 == 1 && c > 0).then_some((start, pos))
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

/// Checks parsed run totals against the size, with [`Rle::new`]'s errors.
fn check_total(pixels: u64, runs: usize, total: u64) -> Result<()> {
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
    Ok(bbox_of_runs(height, &runs))
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
pub(crate) fn common_size_of(
    mut sizes: impl Iterator<Item = (u64, u64)>,
) -> Result<Option<(u64, u64)>> {
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
        let mut seed = 0xdead_beef_cafe_f00du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
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
            assert_eq!(bbox_of_runs(h, &runs), acc.finish(), "{h}x{w} {runs:?}");
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

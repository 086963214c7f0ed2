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
        self.counts
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| u64::from(c))
            .sum()
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
        let h = self.height;
        let m = self.counts.len() / 2 * 2;
        let (mut xs, mut ys, mut xe, mut ye) = (u64::MAX, u64::MAX, 0u64, 0u64);
        // Column of the current position, tracked incrementally (no division per run):
        // `col` is the column containing `col_start..col_start + h`.
        let (mut col, mut col_start) = (0u64, 0u64);
        let mut cc = 0u64;
        let mut any = false;
        for (j, &c) in self.counts[..m].iter().enumerate() {
            let start = cc;
            cc += u64::from(c);
            if j % 2 == 0 || c == 0 {
                continue;
            }
            any = true;
            // Foreground run [start, cc): a non-empty run implies h > 0.
            if start >= col_start + h {
                let skip = (start - col_start) / h;
                col += skip;
                col_start += skip * h;
            }
            let (x_start, y_start) = (col, start - col_start);
            let last = cc - 1;
            let (x_end, y_end) = if last < col_start + h {
                (col, last - col_start)
            } else {
                ((last / h), last % h)
            };
            xs = xs.min(x_start);
            xe = xe.max(x_end);
            if x_start < x_end {
                ys = 0;
                ye = h - 1;
            } else {
                ys = ys.min(y_start);
                ye = ye.max(y_end);
            }
        }
        if !any {
            return [0.0; 4];
        }
        [
            xs as f64,
            ys as f64,
            (xe - xs + 1) as f64,
            (ye - ys + 1) as f64,
        ]
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
        let mut pos = 0u32;
        self.counts.iter().enumerate().filter_map(move |(j, &c)| {
            let start = pos;
            pos += c;
            (j % 2 == 1 && c > 0).then_some((start, pos))
        })
    }
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
    let Some(first) = rles.first() else {
        return Ok(None);
    };
    let expected = first.size();
    for (i, r) in rles.iter().enumerate().skip(1) {
        if r.size() != expected {
            return Err(Error::SizeMismatch {
                expected,
                actual: r.size(),
            }
            .at(i));
        }
    }
    Ok(Some(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

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

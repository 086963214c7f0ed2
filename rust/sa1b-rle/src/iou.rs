//! Intersection over union of masks and of boxes, bit-exact with cocoapi's `rleIou` /
//! `bbIou` (including the crowd rule: against a crowd ground truth the union is the
//! detection's own area).

use crate::error::Result;
use crate::rle::{area_of_runs, bbox_of_runs, foreground_intervals_of, Rle};

/// IoU of boxes `[x, y, w, h]`, as cocoapi's `bbIou`.
///
/// The result is laid out ground-truth-major: entry `g * dt.len() + d` is the IoU of
/// detection `d` with ground truth `g` (pycocotools returns it as a Fortran-ordered
/// `(n_dt, n_gt)` array). `iscrowd` is empty (no crowd) or has one flag per ground truth.
///
/// # Examples
/// ```
/// use sa1b_rle::bbox_iou;
/// let o = bbox_iou(&[[0., 0., 10., 10.]], &[[0., 0., 5., 5.], [20., 0., 1., 1.]], &[]);
/// assert_eq!(o.unwrap(), vec![0.25, 0.0]);
/// let crowd = bbox_iou(&[[0., 0., 5., 5.]], &[[0., 0., 10., 10.]], &[true]);
/// assert_eq!(crowd.unwrap(), vec![1.0]);
/// ```
///
/// # Errors
/// [`crate::Error::OutOfMemory`] when the result cannot be allocated.
pub fn bbox_iou(dt: &[[f64; 4]], gt: &[[f64; 4]], iscrowd: &[bool]) -> Result<Vec<f64>> {
    let mut out = result_matrix(dt.len(), gt.len())?;
    for (g, gb) in gt.iter().enumerate() {
        let crowd = iscrowd.get(g).copied().unwrap_or(false);
        let row = &mut out[g * dt.len()..(g + 1) * dt.len()];
        for (o, db) in row.iter_mut().zip(dt) {
            *o = box_pair_iou(db, gb, crowd);
        }
    }
    Ok(out)
}

/// A zeroed `n x m` IoU matrix, allocated fallibly.
pub(crate) fn result_matrix(n: usize, m: usize) -> Result<Vec<f64>> {
    crate::alloc::zeroed(
        crate::alloc::product(n as u64, m as u64, "an IoU matrix")?,
        "an IoU matrix",
    )
}

pub(crate) fn box_pair_iou(d: &[f64; 4], g: &[f64; 4], crowd: bool) -> f64 {
    let w = (d[2] + d[0]).min(g[2] + g[0]) - d[0].max(g[0]);
    if w <= 0.0 {
        return 0.0;
    }
    let h = (d[3] + d[1]).min(g[3] + g[1]) - d[1].max(g[1]);
    if h <= 0.0 {
        return 0.0;
    }
    let i = w * h;
    let da = d[2] * d[3];
    let u = if crowd { da } else { da + g[2] * g[3] - i };
    i / u
}

/// A mask prepared for repeated IoU: its area, box and foreground intervals.
#[derive(Debug, Clone)]
pub struct IouMask {
    area: u64,
    bbox: [f64; 4],
    intervals: Vec<(u32, u32)>,
}

impl IouMask {
    /// Prepares `rle` for [`IouMask::intersection`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::{IouMask, Rle};
    /// let m = IouMask::new(&Rle::new(3, 3, vec![1, 2, 6]).unwrap());
    /// assert_eq!(m.area(), 2);
    /// ```
    #[must_use]
    pub fn new(rle: &Rle) -> IouMask {
        IouMask::from_runs(rle.height(), rle.width(), rle.counts())
    }

    /// Prepares a validated run list of a `height` x `width` mask.
    pub(crate) fn from_runs(height: u64, width: u64, runs: &[u32]) -> IouMask {
        IouMask {
            area: area_of_runs(runs),
            bbox: bbox_of_runs(height, width, runs),
            intervals: foreground_intervals_of(runs).collect(),
        }
    }

    /// Number of foreground pixels.
    #[must_use]
    pub fn area(&self) -> u64 {
        self.area
    }

    /// pycocotools' `toBbox` of the mask.
    #[must_use]
    pub fn bbox(&self) -> [f64; 4] {
        self.bbox
    }

    /// Pixels in both masks (same size assumed), walking only the columns where both
    /// boxes lie.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::{IouMask, Rle};
    /// let a = IouMask::new(&Rle::new(3, 3, vec![0, 5, 4]).unwrap());
    /// let b = IouMask::new(&Rle::new(3, 3, vec![3, 6]).unwrap());
    /// assert_eq!(a.intersection(&b, 3), 2);
    /// ```
    #[must_use]
    pub fn intersection(&self, other: &IouMask, height: u64) -> u64 {
        let c0 = self.bbox[0].max(other.bbox[0]) as u64;
        let c1 = (self.bbox[0] + self.bbox[2]).min(other.bbox[0] + other.bbox[2]) as u64;
        if c1 <= c0 {
            return 0;
        }
        let (p0, p1) = (c0 * height, c1 * height);
        let p1 = u32::try_from(p1).unwrap_or(u32::MAX);
        let a = &self.intervals;
        let b = &other.intervals;
        let mut i = a.partition_point(|&(_, e)| u64::from(e) <= p0);
        let mut j = b.partition_point(|&(_, e)| u64::from(e) <= p0);
        let mut total = 0u64;
        while i < a.len() && j < b.len() {
            let (sa, ea) = a[i];
            let (sb, eb) = b[j];
            if sa.max(sb) >= p1 {
                break;
            }
            if ea <= sb {
                // a's interval ends before b's starts: skip a ahead (galloping, so a
                // stretch where only a has foreground costs a logarithm, not a walk).
                i = gallop(a, i + 1, sb);
            } else if eb <= sa {
                j = gallop(b, j + 1, sa);
            } else {
                total += u64::from(ea.min(eb) - sa.max(sb));
                if ea <= eb {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        }
        total
    }
}

/// First index `k >= from` with `v[k].1 > x` (or `v.len()`): exponential then binary search.
fn gallop(v: &[(u32, u32)], from: usize, x: u32) -> usize {
    let mut lo = from;
    let mut step = 1;
    let mut hi = from;
    while hi < v.len() && v[hi].1 <= x {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    let hi = hi.min(v.len());
    lo + v[lo..hi].partition_point(|&(_, e)| e <= x)
}

/// IoU of one prepared pair given that their boxes overlap (cocoapi's exact branch).
pub(crate) fn mask_pair_iou(d: &IouMask, g: &IouMask, height: u64, crowd: bool) -> f64 {
    let i = d.intersection(g, height);
    if i == 0 {
        return 0.0;
    }
    iou_of(i, d.area, g.area, crowd)
}

/// cocoapi's IoU of masks from their intersection (non-zero) and areas: against a crowd
/// ground truth the union is the detection's own area (the one crowd rule).
#[inline]
pub(crate) fn iou_of(inter: u64, dt_area: u64, gt_area: u64, crowd: bool) -> f64 {
    let u = if crowd {
        dt_area
    } else {
        dt_area + gt_area - inter
    };
    inter as f64 / u as f64
}

/// The IoU matrix of prepared masks, row-major `(dt.len(), gt.len())` (entry
/// `d * gt.len() + g`), each pair's boxes tested first; with `symmetric` (`gt` is `dt`,
/// no crowd) one triangle is computed and mirrored.
pub(crate) fn pairs_row_major(
    dt: &[IouMask],
    gt: &[IouMask],
    height: u64,
    iscrowd: &[bool],
    symmetric: bool,
) -> Result<Vec<f64>> {
    let (n, m) = (dt.len(), gt.len());
    let mut out = result_matrix(n, m)?;
    for (di, d) in dt.iter().enumerate() {
        let upto = if symmetric { di + 1 } else { m };
        for (gi, g) in gt.iter().enumerate().take(upto) {
            let crowd = iscrowd.get(gi).copied().unwrap_or(false);
            if box_pair_iou(&d.bbox, &g.bbox, crowd) > 0.0 {
                let v = mask_pair_iou(d, g, height, crowd);
                out[di * m + gi] = v;
                if symmetric {
                    out[gi * m + di] = v;
                }
            }
        }
    }
    Ok(out)
}

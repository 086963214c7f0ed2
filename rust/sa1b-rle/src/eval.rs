//! COCO evaluation kernels (see `sa1b_rle.cocoeval` in the Python package): the greedy
//! matching of one image and category, as pycocotools' `evaluateImg` does it.

use crate::error::{Error, Result};

/// The matches of one image and category at every IoU threshold, `T x D` and `T x G`
/// row-major (threshold-major), as pycocotools' `dtMatches`, `gtMatches` and (before the
/// area-range rule) `dtIgnore`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matches {
    /// The id of the ground truth each detection matched (0: none).
    pub dt_matches: Vec<f64>,
    /// The id of the detection each ground truth matched (0: none).
    pub gt_matches: Vec<f64>,
    /// Whether the ground truth a detection matched is ignored (0 or 1).
    pub dt_ignore: Vec<f64>,
}

/// The ground truths of one image and category, in pycocotools' order (not ignored
/// first, stably).
#[derive(Debug, Clone, Copy)]
pub struct GroundTruths<'a> {
    /// Annotation ids.
    pub ids: &'a [f64],
    /// `_ignore`: crowd, flagged `ignore`, or outside the area range.
    pub ignore: &'a [bool],
    /// `iscrowd`: may be matched by several detections.
    pub crowd: &'a [bool],
}

/// pycocotools' greedy matching: for each threshold `t`, each detection (in score
/// order) takes the ground truth of highest IoU (at least `min(t, 1 - 1e-10)`) that is
/// not yet matched (crowds always available), preferring not-ignored ones: once matched
/// to a regular ground truth it stops at the first ignored one. A ground truth counts
/// as matched when its match id is above 0 (pycocotools' test).
///
/// `ious` is `D x G` row-major (detections by score, ground truths in the order given).
///
/// # Errors
/// [`Error::ArgumentLength`] when the lengths disagree.
///
/// # Examples
/// ```
/// use sa1b_rle::eval::{coco_match, GroundTruths};
/// // One detection, two ground truths (IoU 0.6 and 0.8): it takes the second.
/// let gt = GroundTruths { ids: &[7.0, 8.0], ignore: &[false, false], crowd: &[false, false] };
/// let m = coco_match(&[0.6, 0.8], gt, &[3.0], &[0.5, 0.7, 0.9]).unwrap();
/// assert_eq!(m.dt_matches, [8.0, 8.0, 0.0]);
/// assert_eq!(m.gt_matches, [0.0, 3.0, 0.0, 3.0, 0.0, 0.0]);
/// ```
pub fn coco_match(
    ious: &[f64],
    gt: GroundTruths<'_>,
    dt_ids: &[f64],
    thresholds: &[f64],
) -> Result<Matches> {
    let (d, g, t) = (dt_ids.len(), gt.ids.len(), thresholds.len());
    for (what, len, want) in [
        ("ious", ious.len(), d * g),
        ("gt ignore flags", gt.ignore.len(), g),
        ("gt crowd flags", gt.crowd.len(), g),
    ] {
        if len != want {
            return Err(Error::ArgumentLength {
                what,
                expected: want,
                actual: len,
            });
        }
    }
    let cells = |n: usize| crate::alloc::zeroed::<f64>(t * n, "COCO matches");
    let mut out = Matches {
        dt_matches: cells(d)?,
        gt_matches: cells(g)?,
        dt_ignore: cells(d)?,
    };
    for (ti, &thr) in thresholds.iter().enumerate() {
        let gtm = &mut out.gt_matches[ti * g..(ti + 1) * g];
        for di in 0..d {
            let row = &ious[di * g..(di + 1) * g];
            let mut best = thr.min(1.0 - 1e-10);
            let mut m: Option<usize> = None;
            for gi in 0..g {
                if gtm[gi] > 0.0 && !gt.crowd[gi] {
                    continue;
                }
                if m.is_some_and(|m| !gt.ignore[m]) && gt.ignore[gi] {
                    break;
                }
                if row[gi] < best {
                    continue;
                }
                best = row[gi];
                m = Some(gi);
            }
            if let Some(m) = m {
                out.dt_ignore[ti * d + di] = f64::from(u8::from(gt.ignore[m]));
                out.dt_matches[ti * d + di] = gt.ids[m];
                gtm[m] = dt_ids[di];
            }
        }
    }
    Ok(out)
}

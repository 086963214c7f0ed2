//! Greedy non-maximum suppression: over a batch's masks, with the exact mask IoU of the
//! batch engine, and over boxes, with torchvision's box IoU (SAM's post-processing runs
//! `torchvision.ops.batched_nms` on `[x0, y0, x1, y1]` boxes).
//!
//! Both visit the candidates by score, highest first (ties: lower index first), keep a
//! candidate unless its IoU with one already kept is above the threshold (as torchvision
//! does), and stop after `max_keep` kept.

use std::cmp::Ordering;

use crate::batch::RleBatch;
use crate::error::{Error, Result};
use crate::iou::IouMask;

/// The most masks whose NMS computes the whole IoU matrix (8 bytes per pair: 32 MB);
/// beyond, each mask is compared with the kept ones only, so memory stays O(N).
const MATRIX_LIMIT: usize = 2048;

/// The order NMS visits `n` candidates in: score descending, ties by index.
fn order(scores: &[f64], n: usize) -> Result<Vec<usize>> {
    if scores.len() != n {
        return Err(Error::ArgumentLength {
            what: "scores",
            per: "mask",
            expected: n,
            actual: scores.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::NanScore { index });
    }
    let mut idx: Vec<usize> = crate::alloc::with_capacity(n, "an NMS order")?;
    idx.extend(0..n);
    // No NaN (checked): partial_cmp is total here, and -0.0 ties with 0.0.
    idx.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(&b))
    });
    Ok(idx)
}

/// Greedy selection: `order`'s candidates kept unless `suppresses(kept, candidate)` for
/// one already kept, at most `max_keep`.
fn greedy(
    order: &[usize],
    max_keep: Option<usize>,
    suppresses: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for &i in order {
        if max_keep.is_some_and(|m| kept.len() >= m) {
            break;
        }
        if !kept.iter().any(|&k| suppresses(k, i)) {
            kept.push(i);
        }
    }
    kept
}

impl RleBatch {
    /// Greedy mask NMS: the indices kept, in the order kept (highest score first).
    ///
    /// # Errors
    /// [`Error::ArgumentLength`] when `scores` does not have one entry per mask,
    /// [`Error::NanScore`]; [`Error::OutOfMemory`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// // Masks 0 and 1 overlap with IoU 1/3; mask 2 is apart.
    /// let b = RleBatch::from_runs(1, 8, &[vec![0, 4, 4], vec![2, 4, 2], vec![6, 2]]).unwrap();
    /// assert_eq!(b.nms(&[0.9, 0.95, 0.1], 0.3, None, None).unwrap(), [1, 2]);
    /// assert_eq!(b.nms(&[0.9, 0.95, 0.1], 0.4, None, None).unwrap(), [1, 0, 2]);
    /// assert_eq!(b.nms(&[0.9, 0.95, 0.1], 0.4, Some(1), None).unwrap(), [1]);
    /// ```
    pub fn nms(
        &self,
        scores: &[f64],
        iou_threshold: f64,
        max_keep: Option<usize>,
        threads: Option<usize>,
    ) -> Result<Vec<usize>> {
        self.nms_with(scores, iou_threshold, max_keep, threads, MATRIX_LIMIT)
    }

    /// [`RleBatch::nms`], by the IoU matrix up to `matrix_limit` masks.
    pub(crate) fn nms_with(
        &self,
        scores: &[f64],
        iou_threshold: f64,
        max_keep: Option<usize>,
        threads: Option<usize>,
        matrix_limit: usize,
    ) -> Result<Vec<usize>> {
        let order = order(scores, self.len())?;
        let n = self.len();
        if n <= matrix_limit {
            // Few masks: the IoU matrix (one triangle, by the engine, in parallel).
            let iou = self.iou(self, &[], threads)?;
            return Ok(greedy(&order, max_keep, |k, i| {
                iou[k * n + i] > iou_threshold
            }));
        }
        let (h, w) = (self.height(), self.width());
        // Each candidate compared only with the masks already kept (memory O(N), not
        // the N x N matrix), their boxes first: masks whose boxes do not overlap have IoU
        // exactly 0, as in the IoU engine; otherwise the engine's pair kernel.
        let boxes = self.bbox(threads);
        let mut kept: Vec<usize> = Vec::new();
        let mut prepared: Vec<IouMask> = Vec::new();
        for &i in &order {
            if max_keep.is_some_and(|m| kept.len() >= m) {
                break;
            }
            let mask = IouMask::from_runs(h, w, self.runs(i));
            let suppressed = kept.iter().zip(&prepared).any(|(&k, kept_mask)| {
                let iou = if crate::iou::box_pair_iou(&boxes[k], &boxes[i], false) > 0.0 {
                    crate::iou::mask_pair_iou(kept_mask, &mask, h, false)
                } else {
                    0.0
                };
                iou > iou_threshold
            });
            if !suppressed {
                crate::alloc::reserve(&mut kept, 1, "NMS")?;
                crate::alloc::reserve(&mut prepared, 1, "NMS")?;
                kept.push(i);
                prepared.push(mask);
            }
        }
        Ok(kept)
    }
}

/// torchvision's IoU of two `[x0, y0, x1, y1]` boxes (NaN when both are empty).
fn box_iou_xyxy(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let area = |b: &[f64; 4]| (b[2] - b[0]) * (b[3] - b[1]);
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    inter / (area(a) + area(b) - inter)
}

/// Greedy box NMS on `[x0, y0, x1, y1]` boxes with torchvision's IoU (a pair whose IoU
/// is NaN does not suppress): the indices kept, in the order kept.
///
/// # Errors
/// [`Error::ArgumentLength`], [`Error::NanScore`], [`Error::OutOfMemory`].
///
/// # Examples
/// ```
/// // Boxes 0 and 1: IoU 81 / 119 = 0.68.
/// let boxes = [[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]];
/// assert_eq!(sa1b_rle::box_nms(&boxes, &[0.5, 0.9, 0.1], 0.6, None).unwrap(), [1, 2]);
/// assert_eq!(sa1b_rle::box_nms(&boxes, &[0.5, 0.9, 0.1], 0.7, None).unwrap(), [1, 0, 2]);
/// ```
pub fn box_nms(
    boxes: &[[f64; 4]],
    scores: &[f64],
    iou_threshold: f64,
    max_keep: Option<usize>,
) -> Result<Vec<usize>> {
    let order = order(scores, boxes.len())?;
    Ok(greedy(&order, max_keep, |k, i| {
        box_iou_xyxy(&boxes[k], &boxes[i]) > iou_threshold
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{random_batch, rng};

    #[test]
    fn mask_nms_equals_brute_force() {
        let mut rnd = rng(17);
        for round in 0..300 {
            let n = 1 + rnd(25) as usize;
            let (h, w) = (1 + rnd(20), 1 + rnd(20));
            let b = random_batch(&mut rnd, h, w, n);
            // Ties on purpose: scores from a few levels.
            let scores: Vec<f64> = (0..n).map(|_| (rnd(5) as f64) / 4.0).collect();
            let thr = [0.0, 0.3, 0.5, 0.7, 1.0, -0.5][round % 6];
            let max_keep = (round % 3 == 0).then(|| rnd(5) as usize);
            // Brute force: pairwise IoU one pair at a time, candidates by a stable sort.
            let rle = |i: usize| b.rle(i).unwrap();
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &c| scores[c].partial_cmp(&scores[a]).unwrap());
            let mut want: Vec<usize> = vec![];
            for i in idx {
                if max_keep.is_some_and(|m| want.len() >= m) {
                    break;
                }
                let iou = |k: usize| crate::mask_iou(&[rle(k)], &[rle(i)], &[]).unwrap()[0];
                if want.iter().all(|&k| iou(k) <= thr) {
                    want.push(i);
                }
            }
            assert_eq!(b.nms(&scores, thr, max_keep, None).unwrap(), want);
            // The O(N)-memory path (used past MATRIX_LIMIT masks) gives the same.
            assert_eq!(b.nms_with(&scores, thr, max_keep, None, 0).unwrap(), want);
        }
    }

    #[test]
    fn bad_arguments() {
        let b = RleBatch::from_runs(1, 2, &[vec![2], vec![0, 2]]).unwrap();
        assert!(matches!(
            b.nms(&[1.0], 0.5, None, None),
            Err(Error::ArgumentLength { .. })
        ));
        assert!(matches!(
            b.nms(&[1.0, f64::NAN], 0.5, None, None),
            Err(Error::NanScore { index: 1 })
        ));
        assert_eq!(b.nms(&[-0.0, 0.0], 0.5, None, None).unwrap(), [0, 1]);
        assert_eq!(box_nms(&[], &[], 0.5, None).unwrap(), Vec::<usize>::new());
        // Degenerate boxes: IoU NaN, nothing suppressed.
        let z = [[1.0, 1.0, 1.0, 1.0]; 2];
        assert_eq!(box_nms(&z, &[0.5, 0.5], 0.1, None).unwrap(), [0, 1]);
    }
}

//! Object keypoint similarity as pycocotools' `computeOks` computes it, to the bit: the
//! same operations in the same order, and numpy's pairwise summation.

use crate::error::{Error, Result};

/// `(sigmas * 2) ** 2`, as pycocotools' `vars`.
pub(super) fn variances(sigmas: &[f64]) -> Vec<f64> {
    sigmas.iter().map(|s| (s * 2.0) * (s * 2.0)).collect()
}

/// A ground truth's keypoints, prepared for comparing detections with it.
pub(super) struct GroundTruth<'a> {
    /// `x, y, v` triples.
    points: &'a [f64],
    /// [`variances`].
    vars: &'a [f64],
    /// `area + np.spacing(1)`.
    scale: f64,
    /// The number of visible points (`v > 0`).
    visible: usize,
    /// The doubled box `x0, x1, y0, y1` (used when no point is visible).
    region: [f64; 4],
}

fn wrong_length(len: usize, k: usize) -> Error {
    Error::Dataset {
        message: format!(
            "keypoints has {len} values, expected 3 per sigma of kpt_oks_sigmas ({})",
            3 * k
        ),
    }
}

impl<'a> GroundTruth<'a> {
    /// `points`: the ground truth's keypoints (`3 * sigmas.len()` values); `bbox` and
    /// `area` as stored.
    pub(super) fn new(
        points: &'a [f64],
        bbox: [f64; 4],
        area: f64,
        vars: &'a [f64],
    ) -> Result<Self> {
        let k = vars.len();
        if points.len() != 3 * k {
            return Err(wrong_length(points.len(), k));
        }
        let visible = points.chunks_exact(3).filter(|p| p[2] > 0.0).count();
        let [x, y, w, h] = bbox;
        Ok(GroundTruth {
            points,
            vars,
            scale: area + f64::EPSILON,
            visible,
            region: [x - w, x + w * 2.0, y - h, y + h * 2.0],
        })
    }

    /// The OKS of a detection's keypoints with this ground truth (`e`: scratch).
    pub(super) fn oks(&self, det: &[f64], e: &mut Vec<f64>) -> Result<f64> {
        let k = self.vars.len();
        if det.len() != 3 * k {
            return Err(wrong_length(det.len(), k));
        }
        e.clear();
        let [x0, x1, y0, y1] = self.region;
        for j in 0..k {
            let (xd, yd) = (det[3 * j], det[3 * j + 1]);
            let (dx, dy) = if self.visible > 0 {
                if self.points[3 * j + 2] <= 0.0 || self.points[3 * j + 2].is_nan() {
                    continue;
                }
                (xd - self.points[3 * j], yd - self.points[3 * j + 1])
            } else {
                (
                    np_max0(x0 - xd) + np_max0(xd - x1),
                    np_max0(y0 - yd) + np_max0(yd - y1),
                )
            };
            let v = (dx * dx + dy * dy) / self.vars[j] / self.scale / 2.0;
            // exp(-v) is exactly 0 past v = 745.2 (below the least subnormal): skip the
            // call for the far pairs that make most of an image's.
            e.push(if v > 746.0 { 0.0 } else { (-v).exp() });
        }
        let n = e.len();
        Ok(pairwise_sum(e) / n as f64)
    }
}

/// `np.max((0, v), axis=0)` of one element: NaN propagates.
fn np_max0(v: f64) -> f64 {
    if v.is_nan() || v > 0.0 {
        v
    } else {
        0.0
    }
}

/// numpy's summation of a contiguous float64 array (`pairwise_sum`): eight accumulators
/// over blocks of up to 128 values, halves above that.
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_blocks() {
        let a: Vec<f64> = (0..300).map(|i| 1.0 / f64::from(i + 1)).collect();
        for n in [0, 1, 7, 8, 9, 17, 128, 129, 300] {
            let s = pairwise_sum(&a[..n]);
            let naive: f64 = a[..n].iter().sum();
            assert!((s - naive).abs() < 1e-12, "{n}");
        }
    }

    #[test]
    fn identical_points_score_one() {
        let vars = variances(&[0.1, 0.2]);
        let e = &mut Vec::new();
        let pts = [1.0, 2.0, 2.0, 5.0, 6.0, 1.0];
        let g = GroundTruth::new(&pts, [0.0, 0.0, 10.0, 10.0], 100.0, &vars).unwrap();
        assert_eq!(g.oks(&pts, e).unwrap(), 1.0);
        assert!(g.oks(&[1.0, 2.0, 2.0], e).is_err());
        // No visible point: distances to the doubled box; inside it the OKS is 1.
        let hidden = [1.0, 2.0, 0.0, 5.0, 6.0, 0.0];
        let g = GroundTruth::new(&hidden, [0.0, 0.0, 10.0, 10.0], 100.0, &vars).unwrap();
        assert_eq!(g.oks(&[3.0, 3.0, 1.0, 4.0, 4.0, 1.0], e).unwrap(), 1.0);
        assert!(g.oks(&[50.0, 3.0, 1.0, 4.0, 4.0, 1.0], e).unwrap() < 1.0);
    }
}

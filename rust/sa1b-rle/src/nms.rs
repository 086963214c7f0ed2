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
/// is NaN does not suppress): the indices kept, in the order kept. A NaN coordinate is
/// passed over by the IoU's `min`/`max` (the other box's is taken); torchvision's
/// kernel (`std::max`) takes one by argument order, so such boxes may differ from it.
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
    box_nms_checked(boxes, scores, iou_threshold, max_keep, || false)
}

/// How many candidates [`box_nms_checked`] visits between two calls of its `stop`.
const CHECK_EVERY: usize = 4096;

/// [`box_nms`], asking `stop` every few thousand candidates whether to give up
/// ([`Error::Interrupted`]).
///
/// With a threshold of at least 0 a pair can suppress only when its boxes' intersection
/// has positive area (otherwise the IoU is 0, -0 or NaN), so the kept boxes are held in
/// grids of cells doubling in size from about the median box's (each box at the level
/// whose cells are at least its size) and a candidate is compared only with the kept
/// boxes in the cells it touches at each level, plus those with a coordinate that is
/// not finite (compared with everything, as before).
/// Boxes without positive width and height never suppress nor are suppressed. The IoU
/// of each compared pair is torchvision's, so the answer is the plain greedy's.
///
/// # Errors
/// As [`box_nms`], and [`Error::Interrupted`].
pub fn box_nms_checked(
    boxes: &[[f64; 4]],
    scores: &[f64],
    iou_threshold: f64,
    max_keep: Option<usize>,
    mut stop: impl FnMut() -> bool,
) -> Result<Vec<usize>> {
    let order = order(scores, boxes.len())?;
    let limit = max_keep.unwrap_or(usize::MAX);
    if iou_threshold.is_nan() {
        // Nothing is above NaN: every candidate is kept.
        return Ok(order.into_iter().take(limit).collect());
    }
    let suppresses = |k: usize, i: usize| box_iou_xyxy(&boxes[k], &boxes[i]) > iou_threshold;
    let mut kept: Vec<usize> = Vec::new();
    if iou_threshold < 0.0 {
        // Any pair with a number for IoU suppresses: few are kept, compare with all.
        for (step, &i) in order.iter().enumerate() {
            if kept.len() >= limit {
                break;
            }
            if step % CHECK_EVERY == CHECK_EVERY - 1 && stop() {
                return Err(Error::Interrupted);
            }
            if !kept.iter().any(|&k| suppresses(k, i)) {
                crate::alloc::reserve(&mut kept, 1, "NMS")?;
                kept.push(i);
            }
        }
        return Ok(kept);
    }
    let mut grid = Grid::new(boxes)?;
    // `seen[k]`: the last candidate kept box `k` was compared with (a box in several
    // cells is compared once).
    let mut seen: Vec<usize> = crate::alloc::with_capacity(boxes.len(), "NMS")?;
    seen.resize(boxes.len(), usize::MAX);
    let mut near: Vec<u32> = Vec::new();
    for (step, &i) in order.iter().enumerate() {
        if kept.len() >= limit {
            break;
        }
        if step % CHECK_EVERY == CHECK_EVERY - 1 && stop() {
            return Err(Error::Interrupted);
        }
        let suppressed = match grid.place(&boxes[i]) {
            Place::Never => false,
            Place::Everything => kept.iter().any(|&k| suppresses(k, i)),
            Place::Level(_) => {
                near.clear();
                // A kept box of area `K` has IoU at most `K / A` with a candidate of
                // area `A`: levels whose boxes are all smaller than the threshold's
                // share of `A` cannot suppress it (a margin far above rounding).
                let b = &boxes[i];
                let least = iou_threshold * (b[2] - b[0]) * (b[3] - b[1]) * (1.0 - 1e-9);
                grid.near(b, least, &mut near);
                near.iter().any(|&k| {
                    let k = k as usize;
                    std::mem::replace(&mut seen[k], i) != i && suppresses(k, i)
                })
            }
        };
        if !suppressed {
            crate::alloc::reserve(&mut kept, 1, "NMS")?;
            kept.push(i);
            grid.insert(i, &boxes[i])?;
        }
    }
    Ok(kept)
}

/// Where a box goes in the [`Grid`].
enum Place {
    /// No positive width or height: never suppresses nor is suppressed.
    Never,
    /// A coordinate that is not finite: compared with every box.
    Everything,
    /// At a level (cells at most its size, so at most 2 x 2 cells).
    Level(usize),
}

/// One level of the [`Grid`]: cells of one size, and every box held at this level.
struct Level {
    cell: [f64; 2],
    n: [usize; 2],
    cells: Vec<Vec<u32>>,
    boxes: Vec<u32>,
}

/// Kept boxes by position: levels of grids whose cells double in size from about the
/// median box's (a box is held at the first level whose cells are at least its size,
/// in the at most 2 x 2 cells it touches), and the boxes compared with everything.
struct Grid {
    origin: [f64; 2],
    levels: Vec<Level>,
    everywhere: Vec<u32>,
}

fn regular(b: &[f64; 4]) -> bool {
    b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1]
}

impl Grid {
    fn new(boxes: &[[f64; 4]]) -> Result<Grid> {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        let (mut ws, mut hs) = (Vec::new(), Vec::new());
        for b in boxes.iter().filter(|b| regular(b)) {
            lo = [lo[0].min(b[0]), lo[1].min(b[1])];
            hi = [hi[0].max(b[2]), hi[1].max(b[3])];
            crate::alloc::reserve(&mut ws, 1, "NMS")?;
            crate::alloc::reserve(&mut hs, 1, "NMS")?;
            ws.push(b[2] - b[0]);
            hs.push(b[3] - b[1]);
        }
        let mut levels = Vec::new();
        if !ws.is_empty() {
            // The first level: about one cell per box at most, each about the median
            // box's size; then doubling until one cell covers everything (or the
            // extent is not a finite number: one cell).
            let side = ((ws.len() as f64).sqrt().ceil()).clamp(1.0, 4096.0);
            let mut cell = [0.0f64; 2];
            for (axis, sizes) in [&mut ws, &mut hs].into_iter().enumerate() {
                let mid = sizes.len() / 2;
                let median = *sizes.select_nth_unstable_by(mid, f64::total_cmp).1;
                let extent = hi[axis] - lo[axis];
                cell[axis] = if extent.is_finite() {
                    median.max(extent / side)
                } else {
                    f64::INFINITY
                };
            }
            loop {
                let count = |axis: usize| {
                    let c = ((hi[axis] - lo[axis]) / cell[axis]).ceil();
                    if c.is_finite() && c >= 1.0 {
                        c as usize
                    } else {
                        1
                    }
                };
                let n = [count(0), count(1)];
                let mut cells = Vec::new();
                crate::alloc::reserve(&mut cells, n[0] * n[1], "NMS")?;
                cells.resize_with(n[0] * n[1], Vec::new);
                levels.push(Level {
                    cell,
                    n,
                    cells,
                    boxes: Vec::new(),
                });
                if n == [1, 1] {
                    break;
                }
                cell = [cell[0] * 2.0, cell[1] * 2.0];
            }
        }
        Ok(Grid {
            origin: lo,
            levels,
            everywhere: Vec::new(),
        })
    }

    /// The cells `[x0, x1, y0, y1]` of level `l` that the box touches.
    fn span(&self, l: usize, b: &[f64; 4]) -> [usize; 4] {
        let level = &self.levels[l];
        let index = |v: f64, axis: usize| {
            let c = ((v - self.origin[axis]) / level.cell[axis]).floor();
            if c <= 0.0 {
                0
            } else {
                (c as usize).min(level.n[axis] - 1)
            }
        };
        [
            index(b[0], 0),
            index(b[2], 0),
            index(b[1], 1),
            index(b[3], 1),
        ]
    }

    fn place(&self, b: &[f64; 4]) -> Place {
        if !b.iter().all(|v| v.is_finite()) {
            return Place::Everything;
        }
        if !(b[2] > b[0] && b[3] > b[1]) {
            return Place::Never;
        }
        // (The last level is one cell: every regular box fits there.)
        let last = self.levels.len() - 1;
        let l = self.levels[..last]
            .iter()
            .position(|v| b[2] - b[0] <= v.cell[0] && b[3] - b[1] <= v.cell[1])
            .unwrap_or(last);
        Place::Level(l)
    }

    /// The kept boxes that may overlap the regular box `b` (some more than once): at
    /// each level those in the cells it touches (or all of the level's when they are
    /// fewer than the cells), and those compared with everything; levels whose boxes
    /// are all smaller than `least` in area left out (a box's level has cells at least
    /// its size; the last, one cell, is always looked at).
    fn near(&self, b: &[f64; 4], least: f64, out: &mut Vec<u32>) {
        let last = self.levels.len() - 1;
        for (l, level) in self.levels.iter().enumerate() {
            if level.boxes.is_empty() || (l < last && level.cell[0] * level.cell[1] < least) {
                continue;
            }
            let [x0, x1, y0, y1] = self.span(l, b);
            if (x1 - x0 + 1) * (y1 - y0 + 1) > level.boxes.len() {
                out.extend_from_slice(&level.boxes);
                continue;
            }
            for y in y0..=y1 {
                for x in x0..=x1 {
                    out.extend_from_slice(&level.cells[y * level.n[0] + x]);
                }
            }
        }
        out.extend_from_slice(&self.everywhere);
    }

    fn insert(&mut self, k: usize, b: &[f64; 4]) -> Result<()> {
        match self.place(b) {
            Place::Never => {}
            Place::Everything => {
                crate::alloc::reserve(&mut self.everywhere, 1, "NMS")?;
                self.everywhere.push(k as u32);
            }
            Place::Level(l) => {
                let [x0, x1, y0, y1] = self.span(l, b);
                let level = &mut self.levels[l];
                crate::alloc::reserve(&mut level.boxes, 1, "NMS")?;
                level.boxes.push(k as u32);
                for y in y0..=y1 {
                    for x in x0..=x1 {
                        let cell = &mut level.cells[y * level.n[0] + x];
                        crate::alloc::reserve(cell, 1, "NMS")?;
                        cell.push(k as u32);
                    }
                }
            }
        }
        Ok(())
    }
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

    /// The plain greedy over every kept box, as before the grid.
    fn brute_box_nms(
        boxes: &[[f64; 4]],
        scores: &[f64],
        thr: f64,
        max_keep: Option<usize>,
    ) -> Vec<usize> {
        let order = order(scores, boxes.len()).unwrap();
        greedy(&order, max_keep, |k, i| {
            box_iou_xyxy(&boxes[k], &boxes[i]) > thr
        })
    }

    #[test]
    fn box_nms_equals_the_plain_greedy() {
        let mut rnd = rng(23);
        let specials = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.0,
            -0.0,
            1e300,
            -1e300,
        ];
        for round in 0..400 {
            let n = 1 + rnd(if round % 10 == 0 { 3000 } else { 120 }) as usize;
            let span = [4.0, 100.0, 1e6][round % 3];
            let mut boxes = Vec::with_capacity(n);
            for _ in 0..n {
                let x0 = (rnd(1000) as f64 / 1000.0) * span;
                let y0 = (rnd(1000) as f64 / 1000.0) * span;
                // Some rounds with sizes over three orders of magnitude (levels
                // skipped by area).
                let scale = if round % 5 == 1 {
                    [1.0, 0.1, 0.01, 0.001][rnd(4) as usize]
                } else {
                    1.0
                };
                let (w, h) = (
                    (rnd(300) as f64 / 1000.0) * span * scale,
                    (rnd(300) as f64 / 1000.0) * span * scale,
                );
                let mut b = [x0, y0, x0 + w, y0 + h];
                match rnd(40) {
                    // Inverted, degenerate, and special coordinates.
                    0 => b.swap(0, 2),
                    1 => b[3] = b[1],
                    2 => b[rnd(4) as usize] = specials[rnd(specials.len() as u64) as usize],
                    3 => b = [0.0, 0.0, span * 10.0, span * 10.0],
                    _ => {}
                }
                boxes.push(b);
            }
            // Ties on purpose.
            let scores: Vec<f64> = (0..n).map(|_| rnd(50) as f64).collect();
            let thr = [0.0, 0.1, 0.3, 0.5, 0.7, 1.0, -0.5, f64::NAN][round % 8];
            let max_keep = (round % 4 == 0).then(|| rnd(30) as usize);
            assert_eq!(
                box_nms(&boxes, &scores, thr, max_keep).unwrap(),
                brute_box_nms(&boxes, &scores, thr, max_keep),
                "round {round}"
            );
        }
    }

    #[test]
    fn box_nms_stops_when_asked() {
        let boxes: Vec<[f64; 4]> = (0..10_000)
            .map(|i| [f64::from(i), 0.0, f64::from(i) + 0.5, 1.0])
            .collect();
        let scores = vec![1.0; boxes.len()];
        let mut asked = 0;
        let got = box_nms_checked(&boxes, &scores, 0.5, None, || {
            asked += 1;
            asked == 2
        });
        assert!(matches!(got, Err(Error::Interrupted)));
        assert_eq!(asked, 2);
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

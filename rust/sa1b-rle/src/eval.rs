//! COCO evaluation kernels (see `sa1b_rle.cocoeval` in the Python package): the greedy
//! matching of one image and category, as pycocotools' `evaluateImg` does it.

use crate::error::{Error, Result};
use crate::input::RleRef;
use crate::iou::IouMask;

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

/// The shapes annotations are compared by: masks (prepared for IoU, with their sizes)
/// or `[x, y, w, h]` boxes.
pub enum Geometry {
    /// `segm`: masks.
    Masks(Vec<(IouMask, (u64, u64))>),
    /// `bbox`: boxes.
    Boxes(Vec<[f64; 4]>),
}

impl Geometry {
    /// Masks prepared from COCO RLEs (each validated).
    ///
    /// # Errors
    /// The first bad RLE's error, with its index.
    pub fn masks(rles: &[RleRef<'_>], threads: Option<usize>) -> Result<Geometry> {
        let prepared = crate::input::map_validated(rles, threads, |runs, r| {
            (
                IouMask::from_runs(r.height, r.width, runs),
                (r.height, r.width),
            )
        })?;
        Ok(Geometry::Masks(prepared))
    }

    fn len(&self) -> usize {
        match self {
            Geometry::Masks(m) => m.len(),
            Geometry::Boxes(b) => b.len(),
        }
    }
}

/// One side's annotations, flattened group after group (a group: one image and
/// category, or one image when categories are not used), each group in pycocotools'
/// order.
pub struct Annotations {
    /// Annotation ids (as pycocotools stores them: float64).
    pub ids: Vec<f64>,
    /// Stored areas.
    pub area: Vec<f64>,
    /// Detections: scores. Ground truths: unused.
    pub score: Vec<f64>,
    /// Ground truths: `iscrowd`. Detections: unused.
    pub crowd: Vec<bool>,
    /// Ground truths: `ignore` (crowd or flagged). Detections: unused.
    pub ignore: Vec<bool>,
    /// Masks or boxes.
    pub geometry: Geometry,
    /// Group `k` is `offsets[k]..offsets[k + 1]`.
    pub offsets: Vec<usize>,
}

/// pycocotools' `evaluateImg` result of one group and area range, by index into the
/// flattened annotations.
#[derive(Debug, Clone)]
pub struct EvalImg {
    /// Detections, by score (stable), at most `max_det`.
    pub dt: Vec<usize>,
    /// Ground truths, not ignored first (stable).
    pub gt: Vec<usize>,
    /// [`Matches`] (`T x D`, `T x G`).
    pub dt_matches: Vec<f64>,
    /// See [`Matches`].
    pub gt_matches: Vec<f64>,
    /// `_ignore` of each ground truth (in `gt` order).
    pub gt_ignore: Vec<bool>,
    /// `dtIgnore` (`T x D`): matched to an ignored ground truth, or unmatched and outside
    /// the area range.
    pub dt_ignore: Vec<bool>,
}

/// The evaluation of every group: `imgs[group * A + a]` for area range `a` (`None` for a
/// group without ground truths and detections), and each group's IoU matrix
/// (`D x G`, detections by score, ground truths in group order).
pub struct Evaluation {
    pub imgs: Vec<Option<Box<EvalImg>>>,
    pub ious: Vec<Vec<f64>>,
    /// Detections of each group by score (stable), at most `max_det`.
    pub sorted_dt: Vec<Vec<usize>>,
}

/// Indices `range` sorted by `key` descending, stably (numpy's mergesort of `-key`; NaN
/// last).
fn by_score_desc(range: std::ops::Range<usize>, key: &[f64]) -> Vec<usize> {
    let mut v: Vec<usize> = range.collect();
    // An unstable sort with the index as the last key is the stable order.
    v.sort_unstable_by(|&a, &b| {
        let (x, y) = (-key[a], -key[b]);
        let by_key = match (x.is_nan(), y.is_nan()) {
            (false, false) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            (a_nan, b_nan) => a_nan.cmp(&b_nan),
        };
        by_key.then(a.cmp(&b))
    });
    v
}

/// pycocotools' `evaluate()` over flattened annotations: per group, detections sorted by
/// score and cut to `max_det`, the IoU matrix, and for each area range the ground truths'
/// `_ignore`, their stable reordering, the greedy matching ([`coco_match`]) and
/// `dtIgnore`.
///
/// # Errors
/// [`Error::SizeMismatch`] for masks of different sizes in one group (pycocotools gives
/// -1 there); [`Error::ArgumentLength`] for inconsistent inputs.
pub fn evaluate(
    gt: &Annotations,
    dt: &Annotations,
    thresholds: &[f64],
    area_rng: &[[f64; 2]],
    max_det: usize,
    threads: Option<usize>,
) -> Result<Evaluation> {
    let groups = gt.offsets.len().saturating_sub(1);
    if dt.offsets.len() != gt.offsets.len() {
        return Err(Error::ArgumentLength {
            what: "detection group offsets",
            expected: gt.offsets.len(),
            actual: dt.offsets.len(),
        });
    }
    for side in [gt, dt] {
        let n = side.geometry.len();
        if side.ids.len() != n || side.area.len() != n || side.offsets.last() != Some(&n) {
            return Err(Error::ArgumentLength {
                what: "annotation fields",
                expected: n,
                actual: side.ids.len(),
            });
        }
    }
    if gt.crowd.len() != gt.ids.len()
        || gt.ignore.len() != gt.ids.len()
        || dt.score.len() != dt.ids.len()
    {
        return Err(Error::ArgumentLength {
            what: "annotation flags",
            expected: gt.ids.len(),
            actual: gt.crowd.len(),
        });
    }
    let work = gt.ids.len() + dt.ids.len();
    let per_group =
        crate::pool::map_range(crate::pool::for_work(threads, work * 1000), groups, |k| {
            evaluate_group(gt, dt, k, thresholds, area_rng, max_det)
        });
    let mut out = Evaluation {
        imgs: Vec::with_capacity(groups * area_rng.len()),
        ious: Vec::with_capacity(groups),
        sorted_dt: Vec::with_capacity(groups),
    };
    for r in per_group {
        let (imgs, iou, sorted) = r?;
        match imgs {
            Some(v) => out.imgs.extend(v.into_iter().map(Some)),
            None => out.imgs.extend(std::iter::repeat_n(None, area_rng.len())),
        }
        out.ious.push(iou);
        out.sorted_dt.push(sorted);
    }
    Ok(out)
}

/// A group's entries (`None` for an empty group: no entry per area range is stored
/// separately), IoU matrix and sorted detections.
type GroupResult = (Option<Vec<Box<EvalImg>>>, Vec<f64>, Vec<usize>);

fn evaluate_group(
    gt: &Annotations,
    dt: &Annotations,
    k: usize,
    thresholds: &[f64],
    area_rng: &[[f64; 2]],
    max_det: usize,
) -> Result<GroupResult> {
    let gts: Vec<usize> = (gt.offsets[k]..gt.offsets[k + 1]).collect();
    let mut dts = by_score_desc(dt.offsets[k]..dt.offsets[k + 1], &dt.score);
    dts.truncate(max_det);
    if gts.is_empty() && dts.is_empty() {
        return Ok((None, Vec::new(), dts));
    }
    let (d, g) = (dts.len(), gts.len());
    let mut ious = crate::iou::result_matrix(d, g)?;
    for (di, &a) in dts.iter().enumerate() {
        for (gi, &b) in gts.iter().enumerate() {
            let crowd = gt.crowd[b];
            ious[di * g + gi] = match (&dt.geometry, &gt.geometry) {
                (Geometry::Boxes(db), Geometry::Boxes(gb)) => {
                    crate::iou::box_pair_iou(&db[a], &gb[b], crowd)
                }
                (Geometry::Masks(dm), Geometry::Masks(gm)) => {
                    let ((dmask, dsize), (gmask, gsize)) = (&dm[a], &gm[b]);
                    if dsize != gsize {
                        return Err(Error::SizeMismatch {
                            expected: *gsize,
                            actual: *dsize,
                        });
                    }
                    if crate::iou::box_pair_iou(&dmask.bbox(), &gmask.bbox(), crowd) > 0.0 {
                        crate::iou::mask_pair_iou(dmask, gmask, gsize.0, crowd)
                    } else {
                        0.0
                    }
                }
                _ => {
                    return Err(Error::ArgumentLength {
                        what: "geometry kinds",
                        expected: 0,
                        actual: 1,
                    })
                }
            };
        }
    }
    let dt_ids: Vec<f64> = dts.iter().map(|&i| dt.ids[i]).collect();
    let mut imgs = Vec::with_capacity(area_rng.len());
    for rng in area_rng {
        let outside = |area: f64| area < rng[0] || area > rng[1];
        let ignore: Vec<bool> = gts
            .iter()
            .map(|&i| gt.ignore[i] || outside(gt.area[i]))
            .collect();
        // Not ignored first, stably (numpy's mergesort of the 0/1 flags).
        let order: Vec<usize> = (0..g)
            .filter(|&j| !ignore[j])
            .chain((0..g).filter(|&j| ignore[j]))
            .collect();
        let sorted_gt: Vec<usize> = order.iter().map(|&j| gts[j]).collect();
        let gt_ignore: Vec<bool> = order.iter().map(|&j| ignore[j]).collect();
        let mut reordered = Vec::with_capacity(d * g);
        for di in 0..d {
            reordered.extend(order.iter().map(|&j| ious[di * g + j]));
        }
        let ids: Vec<f64> = sorted_gt.iter().map(|&i| gt.ids[i]).collect();
        let crowd: Vec<bool> = sorted_gt.iter().map(|&i| gt.crowd[i]).collect();
        let m = if d > 0 && g > 0 {
            coco_match(
                &reordered,
                GroundTruths {
                    ids: &ids,
                    ignore: &gt_ignore,
                    crowd: &crowd,
                },
                &dt_ids,
                thresholds,
            )?
        } else {
            Matches {
                dt_matches: vec![0.0; thresholds.len() * d],
                gt_matches: vec![0.0; thresholds.len() * g],
                dt_ignore: vec![0.0; thresholds.len() * d],
            }
        };
        let dt_ignore = (0..thresholds.len() * d)
            .map(|x| {
                m.dt_ignore[x] != 0.0
                    || (m.dt_matches[x] == 0.0 && outside(dt.area[dts[x % d.max(1)]]))
            })
            .collect();
        imgs.push(Box::new(EvalImg {
            dt: dts.clone(),
            gt: sorted_gt,
            dt_matches: m.dt_matches,
            gt_matches: m.gt_matches,
            gt_ignore,
            dt_ignore,
        }));
    }
    Ok((Some(imgs), ious, dts))
}

/// The accumulated `precision` (T, R, K, A, M), `recall` (T, K, A, M) and `scores`
/// (T, R, K, A, M), C order, -1 where not set.
pub struct Accumulated {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub scores: Vec<f64>,
}

/// What [`accumulate`] reads: pycocotools' index lists (`k_list`, `a_list`, `m_list`
/// as maxDet values, `i_list`), the evaluated sizes `i0`, `a0`, `k0` (images, area
/// ranges, categories of the evaluation) and `dims = [T, R, K, A, M]`.
pub struct AccumulateSpec<'a> {
    pub k_list: &'a [usize],
    pub a_list: &'a [usize],
    pub m_list: &'a [usize],
    pub i_list: &'a [usize],
    pub i0: usize,
    pub a0: usize,
    pub k0: usize,
    pub dims: [usize; 5],
    pub rec_thrs: &'a [f64],
    /// Threads (categories are accumulated side by side).
    pub threads: Option<usize>,
}

/// pycocotools' `accumulate()` on an [`Evaluation`] (entry `n` of its `evalImgs` list is
/// group `(n % i0) * k0 + n / (a0 * i0)` at area range `(n / i0) % a0`).
#[must_use]
pub fn accumulate(ev: &Evaluation, dt_score: &[f64], s: &AccumulateSpec<'_>) -> Accumulated {
    let [t_n, r_n, k_n, a_n, m_n] = s.dims;
    let mut out = Accumulated {
        precision: vec![-1.0; t_n * r_n * k_n * a_n * m_n],
        recall: vec![-1.0; t_n * k_n * a_n * m_n],
        scores: vec![-1.0; t_n * r_n * k_n * a_n * m_n],
    };
    let work = ev.imgs.len() * s.m_list.len();
    // Categories side by side (each writes only its own cells).
    let parts = crate::pool::map_range(
        crate::pool::for_work(s.threads, work),
        s.k_list.len(),
        |k| accumulate_category(ev, dt_score, s, k),
    );
    for (k, part) in parts.into_iter().enumerate() {
        for t in 0..t_n {
            for a in 0..a_n {
                for m in 0..m_n {
                    out.recall[((t * k_n + k) * a_n + a) * m_n + m] =
                        part.recall[(t * a_n + a) * m_n + m];
                    for r in 0..r_n {
                        let from = ((t * r_n + r) * a_n + a) * m_n + m;
                        let to = (((t * r_n + r) * k_n + k) * a_n + a) * m_n + m;
                        out.precision[to] = part.precision[from];
                        out.scores[to] = part.scores[from];
                    }
                }
            }
        }
    }
    out
}

/// [`accumulate`] of the `k`-th category of `k_list`: its cells, `(T, R, A, M)` and
/// `(T, A, M)`.
fn accumulate_category(
    ev: &Evaluation,
    dt_score: &[f64],
    s: &AccumulateSpec<'_>,
    k: usize,
) -> Accumulated {
    let [t_n, r_n, _, a_n, m_n] = s.dims;
    // The cells of one category: the (T, K, A, M) indexing below with K = 1, k = 0.
    let (k_n, k0, k) = (1, s.k_list[k], 0);
    let mut out = Accumulated {
        precision: vec![-1.0; t_n * r_n * a_n * m_n],
        recall: vec![-1.0; t_n * a_n * m_n],
        scores: vec![-1.0; t_n * r_n * a_n * m_n],
    };
    let eps = f64::EPSILON; // np.spacing(1)
    for (a, &a0) in s.a_list.iter().enumerate() {
        let es: Vec<&EvalImg> = s
            .i_list
            .iter()
            .filter_map(|&i| {
                let group = i * s.k0 + k0;
                ev.imgs.get(group * s.a0 + a0).and_then(Option::as_deref)
            })
            .collect();
        for (m, &max_det) in s.m_list.iter().enumerate() {
            // Concatenated detections (each image's first max_det), then stably by
            // score, highest first.
            let mut cols: Vec<(usize, usize)> = Vec::new();
            for (e_i, e) in es.iter().enumerate() {
                for c in 0..e.dt.len().min(max_det) {
                    cols.push((e_i, c));
                }
            }
            let scores: Vec<f64> = cols.iter().map(|&(e, c)| dt_score[es[e].dt[c]]).collect();
            let order = by_score_desc(0..cols.len(), &scores);
            let npig = es
                .iter()
                .flat_map(|e| e.gt_ignore.iter())
                .filter(|&&x| !x)
                .count();
            if npig == 0 {
                continue;
            }
            let nd = order.len();
            for t in 0..t_n {
                let (mut tp, mut fp) = (0.0f64, 0.0f64);
                let mut rc = Vec::with_capacity(nd);
                let mut pr = Vec::with_capacity(nd);
                for &o in &order {
                    let (e, c) = cols[o];
                    let d = es[e].dt.len();
                    let matched = es[e].dt_matches[t * d + c] != 0.0;
                    let ignored = es[e].dt_ignore[t * d + c];
                    if !ignored {
                        if matched {
                            tp += 1.0;
                        } else {
                            fp += 1.0;
                        }
                    }
                    rc.push(tp / npig as f64);
                    pr.push(tp / (fp + tp + eps));
                }
                let at_r = ((t * k_n + k) * a_n + a) * m_n + m;
                out.recall[at_r] = if nd > 0 { rc[nd - 1] } else { 0.0 };
                for i in (1..nd).rev() {
                    if pr[i] > pr[i - 1] {
                        pr[i - 1] = pr[i];
                    }
                }
                for (ri, &thr) in s.rec_thrs.iter().enumerate() {
                    let at = (((t * r_n + ri) * k_n + k) * a_n + a) * m_n + m;
                    let pi = rc.partition_point(|&x| x < thr);
                    // pycocotools stops at the first threshold past the last recall.
                    if pi >= nd {
                        for rj in ri..r_n {
                            let at = (((t * r_n + rj) * k_n + k) * a_n + a) * m_n + m;
                            out.precision[at] = 0.0;
                            out.scores[at] = 0.0;
                        }
                        break;
                    }
                    out.precision[at] = pr[pi];
                    out.scores[at] = scores[order[pi]];
                }
            }
        }
    }
    out
}

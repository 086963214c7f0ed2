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

/// The shapes annotations are compared by: COCO RLEs (parsed and prepared for IoU one
/// group at a time, so that only the groups in flight hold masks) or `[x, y, w, h]` boxes.
pub enum Geometry<'a> {
    /// `segm`: masks, as given (validated when their group is evaluated).
    Masks(Vec<RleRef<'a>>),
    /// `bbox`: boxes.
    Boxes(Vec<[f64; 4]>),
}

impl Geometry<'_> {
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
pub struct Annotations<'a> {
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
    pub geometry: Geometry<'a>,
    /// Group `k` is `offsets[k]..offsets[k + 1]`.
    pub offsets: Vec<usize>,
}

impl Annotations<'_> {
    /// Checks that every field has one entry per annotation and the offsets cover them
    /// in order.
    fn check(&self, what: &'static str) -> Result<()> {
        let n = self.geometry.len();
        let lengths = [
            self.ids.len(),
            self.area.len(),
            self.score.len(),
            self.crowd.len(),
            self.ignore.len(),
        ];
        if let Some(&bad) = lengths.iter().find(|&&l| l != n) {
            return Err(Error::ArgumentLength {
                what,
                expected: n,
                actual: bad,
            });
        }
        let ordered = self.offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ordered || self.offsets.first() != Some(&0) || self.offsets.last() != Some(&n) {
            return Err(Error::ArgumentLength {
                what: "group offsets (rising from 0 to the number of annotations)",
                expected: n,
                actual: self.offsets.last().copied().unwrap_or(0),
            });
        }
        Ok(())
    }
}

/// What [`evaluate`] compares with: pycocotools' `iouThrs`, `areaRng` and
/// `maxDets[-1]`.
#[derive(Debug, Clone, Copy)]
pub struct EvalParams<'a> {
    /// IoU thresholds.
    pub thresholds: &'a [f64],
    /// Area ranges `[lo, hi]`.
    pub area_rng: &'a [[f64; 2]],
    /// Detections kept per group, by score.
    pub max_det: usize,
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

/// Everything pycocotools keeps of one group: its `evalImgs` entry per area range and
/// its IoU matrix (`D x G`, detections by score, ground truths in group order).
#[derive(Debug, Clone)]
pub struct GroupDetail {
    /// One entry per area range.
    pub imgs: Vec<EvalImg>,
    /// The IoU matrix.
    pub ious: Vec<f64>,
    /// The group's detections by score (stable), at most `max_det`.
    pub dt: Vec<usize>,
}

/// A detection at one area range and IoU threshold, as [`accumulate`] counts it.
const FALSE_POSITIVE: u8 = 0;
const TRUE_POSITIVE: u8 = 1;
const IGNORED: u8 = 2;

/// The evaluation of every group, kept as [`accumulate`] reads it: for each group with
/// ground truths or detections, its detections' scores (by score, at most `max_det`),
/// one byte per (area range, threshold, detection) saying whether it is a true
/// positive, a false positive or ignored, and per area range the number of ground
/// truths not ignored. About `8 + A * T` bytes per detection (48 with COCO's
/// parameters) and `8 + 4 * A` per non-empty group; the IoU matrices and pycocotools'
/// per-entry arrays are not kept ([`evaluate_group`] rebuilds a group's).
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// The groups evaluated (empty ones included).
    groups: usize,
    /// The non-empty groups, ascending; the `j`-th is entry `j` of the arrays below.
    present: Vec<usize>,
    /// Entry `j`'s detections are `dt_offsets[j]..dt_offsets[j + 1]` of `scores`.
    dt_offsets: Vec<usize>,
    scores: Vec<f64>,
    /// Entry `j`'s block starts at `A * T * dt_offsets[j]`, laid out `[a][t][d]`.
    outcome: Vec<u8>,
    /// Ground truths not ignored, `[j][a]`.
    npig: Vec<u32>,
    areas: usize,
    thresholds: usize,
}

impl Evaluation {
    /// The number of groups.
    #[must_use]
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Bytes held (for the memory figures of the benchmarks).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        (self.present.capacity() + self.dt_offsets.capacity()) * std::mem::size_of::<usize>()
            + self.scores.capacity() * 8
            + self.outcome.capacity()
            + self.npig.capacity() * 4
    }

    /// The entry of group `k`, if it is not empty.
    fn entry(&self, k: usize) -> Option<usize> {
        self.present.binary_search(&k).ok()
    }
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

/// Checks the two sides against each other and the parameters.
fn check_inputs(gt: &Annotations<'_>, dt: &Annotations<'_>) -> Result<()> {
    gt.check("ground truth fields")?;
    dt.check("detection fields")?;
    if dt.offsets.len() != gt.offsets.len() {
        return Err(Error::ArgumentLength {
            what: "detection group offsets",
            expected: gt.offsets.len(),
            actual: dt.offsets.len(),
        });
    }
    if matches!(gt.geometry, Geometry::Masks(_)) != matches!(dt.geometry, Geometry::Masks(_)) {
        return Err(Error::ArgumentLength {
            what: "geometry kinds (masks on one side, boxes on the other)",
            expected: 0,
            actual: 1,
        });
    }
    Ok(())
}

/// pycocotools' `evaluate()` over flattened annotations, group by group on the pool
/// (each group's masks parsed, compared and dropped; see [`evaluate_group`]), kept as
/// [`accumulate`] needs it.
///
/// # Errors
/// A bad RLE, wrapped in [`Error::Annotation`] with its id (in group order: the first
/// bad one of the first group that has one); [`Error::SizeMismatch`] for masks of
/// different sizes in one group (pycocotools gives -1 there); [`Error::ArgumentLength`]
/// or [`Error::InvalidOffsets`] for inconsistent inputs; [`Error::OutOfMemory`].
pub fn evaluate(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    params: EvalParams<'_>,
    threads: Option<usize>,
) -> Result<Evaluation> {
    check_inputs(gt, dt)?;
    let groups = gt.offsets.len() - 1;
    let (a_n, t_n) = (params.area_rng.len(), params.thresholds.len());
    let work = (gt.ids.len() + dt.ids.len()) * 1000;
    // Each block of groups gives its part of the flat arrays.
    let blocks = crate::pool::map_blocks(
        crate::pool::for_work(threads, work),
        groups,
        |range| -> Result<Evaluation> {
            let mut part = Evaluation::default();
            let mut scratch = Vec::new();
            for k in range {
                let Some(g) = evaluate_group_with(gt, dt, k, params, &mut scratch)? else {
                    continue;
                };
                let d = g.dt.len();
                part.present.push(k);
                part.dt_offsets.push(part.scores.len());
                crate::alloc::reserve(&mut part.scores, d, "evaluation scores")?;
                crate::alloc::reserve(&mut part.outcome, a_n * t_n * d, "evaluation outcomes")?;
                crate::alloc::reserve(&mut part.npig, a_n, "evaluation counts")?;
                part.scores.extend(g.dt.iter().map(|&i| dt.score[i]));
                for img in &g.imgs {
                    let cells = img.dt_ignore.iter().zip(&img.dt_matches);
                    part.outcome.extend(cells.map(|(&ignored, &matched)| {
                        if ignored {
                            IGNORED
                        } else if matched == 0.0 {
                            FALSE_POSITIVE
                        } else {
                            TRUE_POSITIVE
                        }
                    }));
                    let npig = img.gt_ignore.iter().filter(|&&x| !x).count();
                    part.npig.push(u32::try_from(npig).unwrap_or(u32::MAX));
                }
            }
            Ok(part)
        },
    );
    let mut out = Evaluation {
        groups,
        areas: a_n,
        thresholds: t_n,
        ..Evaluation::default()
    };
    for part in blocks {
        let part = part?;
        out.present.extend_from_slice(&part.present);
        let base = out.scores.len();
        out.dt_offsets
            .extend(part.dt_offsets.iter().map(|o| o + base));
        crate::alloc::reserve(&mut out.scores, part.scores.len(), "evaluation scores")?;
        out.scores.extend_from_slice(&part.scores);
        crate::alloc::reserve(&mut out.outcome, part.outcome.len(), "evaluation outcomes")?;
        out.outcome.extend_from_slice(&part.outcome);
        out.npig.extend_from_slice(&part.npig);
    }
    out.dt_offsets.push(out.scores.len());
    // (What is kept for accumulate(): no growth slack.)
    out.present.shrink_to_fit();
    out.dt_offsets.shrink_to_fit();
    out.scores.shrink_to_fit();
    out.outcome.shrink_to_fit();
    out.npig.shrink_to_fit();
    Ok(out)
}

/// pycocotools' `evaluateImg` for every area range of group `k` and its `computeIoU`:
/// detections sorted by score and cut to `max_det`, the IoU matrix, and for each area
/// range the ground truths' `_ignore`, their stable reordering, the greedy matching
/// ([`coco_match`]) and `dtIgnore`. `None` for a group without ground truths and
/// detections (pycocotools' `None` entries).
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_group(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    k: usize,
    params: EvalParams<'_>,
) -> Result<Option<GroupDetail>> {
    check_inputs(gt, dt)?;
    if k + 1 >= gt.offsets.len() {
        return Err(Error::IndexOutOfRange {
            index: k,
            len: gt.offsets.len().saturating_sub(1),
        });
    }
    evaluate_group_with(gt, dt, k, params, &mut Vec::new())
}

/// The masks of `members` prepared for IoU, with their sizes (`scratch`: the parse
/// buffer).
fn prepare_masks(
    side: &Annotations<'_>,
    rles: &[RleRef<'_>],
    members: &[usize],
    what: &'static str,
    scratch: &mut Vec<u32>,
) -> Result<Vec<(IouMask, (u64, u64))>> {
    let mut out = crate::alloc::with_capacity(members.len(), "prepared masks")?;
    for &i in members {
        let r = &rles[i];
        scratch.clear();
        r.runs_into(scratch).map_err(|e| Error::Annotation {
            what,
            id: side.ids[i],
            source: Box::new(e),
        })?;
        out.push((IouMask::from_runs(r.height, r.width, scratch), r.size()));
    }
    Ok(out)
}

/// The `D x G` IoU matrix of detections `dts` with ground truths `gts`.
fn group_ious(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    gts: &[usize],
    dts: &[usize],
    scratch: &mut Vec<u32>,
) -> Result<Vec<f64>> {
    let (d, g) = (dts.len(), gts.len());
    let mut ious = crate::iou::result_matrix(d, g)?;
    if d == 0 || g == 0 {
        return Ok(ious);
    }
    match (&dt.geometry, &gt.geometry) {
        (Geometry::Boxes(db), Geometry::Boxes(gb)) => {
            for (di, &a) in dts.iter().enumerate() {
                for (gi, &b) in gts.iter().enumerate() {
                    ious[di * g + gi] = crate::iou::box_pair_iou(&db[a], &gb[b], gt.crowd[b]);
                }
            }
        }
        (Geometry::Masks(dr), Geometry::Masks(gr)) => {
            let gm = prepare_masks(gt, gr, gts, "ground truth", scratch)?;
            let dm = prepare_masks(dt, dr, dts, "detection", scratch)?;
            for (di, (dmask, dsize)) in dm.iter().enumerate() {
                for (gi, ((gmask, gsize), &b)) in gm.iter().zip(gts).enumerate() {
                    if dsize != gsize {
                        return Err(Error::Annotation {
                            what: "detection",
                            id: dt.ids[dts[di]],
                            source: Box::new(Error::SizeMismatch {
                                expected: *gsize,
                                actual: *dsize,
                            }),
                        });
                    }
                    let crowd = gt.crowd[b];
                    if crate::iou::box_pair_iou(&dmask.bbox(), &gmask.bbox(), crowd) > 0.0 {
                        ious[di * g + gi] = crate::iou::mask_pair_iou(dmask, gmask, gsize.0, crowd);
                    }
                }
            }
        }
        // `check_inputs` refuses mixed kinds.
        _ => {}
    }
    Ok(ious)
}

fn evaluate_group_with(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    k: usize,
    params: EvalParams<'_>,
    scratch: &mut Vec<u32>,
) -> Result<Option<GroupDetail>> {
    let EvalParams {
        thresholds,
        area_rng,
        max_det,
    } = params;
    let gts: Vec<usize> = (gt.offsets[k]..gt.offsets[k + 1]).collect();
    let mut dts = by_score_desc(dt.offsets[k]..dt.offsets[k + 1], &dt.score);
    dts.truncate(max_det);
    if gts.is_empty() && dts.is_empty() {
        return Ok(None);
    }
    let (d, g) = (dts.len(), gts.len());
    let ious = group_ious(gt, dt, &gts, &dts, scratch)?;
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
        let m = if d > 0 && g > 0 {
            let mut reordered = crate::alloc::with_capacity(d * g, "IoU matrix")?;
            for di in 0..d {
                reordered.extend(order.iter().map(|&j| ious[di * g + j]));
            }
            let ids: Vec<f64> = sorted_gt.iter().map(|&i| gt.ids[i]).collect();
            let crowd: Vec<bool> = sorted_gt.iter().map(|&i| gt.crowd[i]).collect();
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
        imgs.push(EvalImg {
            dt: dts.clone(),
            gt: sorted_gt,
            dt_matches: m.dt_matches,
            gt_matches: m.gt_matches,
            gt_ignore,
            dt_ignore,
        });
    }
    Ok(Some(GroupDetail {
        imgs,
        ious,
        dt: dts,
    }))
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
/// group `(n % i0) * k0 + n / (a0 * i0)` at area range `(n / i0) % a0`). Thresholds
/// past those evaluated stay -1.
///
/// # Errors
/// [`Error::IndexOutOfRange`] for an index list entry outside the evaluation,
/// [`Error::ArgumentLength`] for `rec_thrs` not of length `R`, [`Error::OutOfMemory`].
pub fn accumulate(ev: &Evaluation, s: &AccumulateSpec<'_>) -> Result<Accumulated> {
    let [t_n, r_n, k_n, a_n, m_n] = s.dims;
    let groups = ev.groups();
    let check = |list: &[usize], len: usize| match list.iter().find(|&&x| x >= len) {
        Some(&index) => Err(Error::IndexOutOfRange { index, len }),
        None => Ok(()),
    };
    check(s.k_list, s.k0)?;
    check(s.a_list, ev.areas.min(s.a0))?;
    check(s.i_list, s.i0)?;
    if s.i0.checked_mul(s.k0) != Some(groups) {
        return Err(Error::ArgumentLength {
            what: "evaluated images x categories",
            expected: groups,
            actual: s.i0.saturating_mul(s.k0),
        });
    }
    for (what, len, want) in [
        ("recall thresholds", s.rec_thrs.len(), r_n),
        ("categories", s.k_list.len(), k_n),
        ("area ranges", s.a_list.len(), a_n),
        ("max detections", s.m_list.len(), m_n),
    ] {
        if len != want {
            return Err(Error::ArgumentLength {
                what,
                expected: want,
                actual: len,
            });
        }
    }
    let cells = cell_count(&[t_n, r_n, k_n, a_n, m_n])?;
    // (Each category's share, allocated by the workers, is then in range too.)
    cell_count(&[t_n, r_n, a_n, m_n])?;
    let filled = |n: usize| -> Result<Vec<f64>> {
        let mut v = crate::alloc::with_capacity(n, "accumulated precision")?;
        v.resize(n, -1.0);
        Ok(v)
    };
    let mut out = Accumulated {
        precision: filled(cells)?,
        recall: filled(cells / r_n.max(1))?,
        scores: filled(cells)?,
    };
    let work = ev.scores.len() * s.m_list.len() * ev.thresholds;
    // Categories side by side (each writes only its own cells).
    let parts = crate::pool::map_range(
        crate::pool::for_work(s.threads, work),
        s.k_list.len(),
        |k| accumulate_category(ev, s, k),
    );
    for (k, part) in parts.into_iter().enumerate() {
        let part = part?;
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
    Ok(out)
}

/// The product of `dims`, or [`Error::OutOfMemory`] if it overflows.
fn cell_count(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(Error::OutOfMemory {
            what: "accumulated precision",
            bytes: u64::MAX,
        })
}

/// [`accumulate`] of the `k`-th category of `k_list`: its cells, `(T, R, A, M)` and
/// `(T, A, M)`.
fn accumulate_category(ev: &Evaluation, s: &AccumulateSpec<'_>, k: usize) -> Result<Accumulated> {
    let [t_n, r_n, _, a_n, m_n] = s.dims;
    let mut out = Accumulated {
        precision: crate::alloc::zeroed(t_n * r_n * a_n * m_n, "accumulated precision")?,
        recall: crate::alloc::zeroed(t_n * a_n * m_n, "accumulated recall")?,
        scores: crate::alloc::zeroed(t_n * r_n * a_n * m_n, "accumulated scores")?,
    };
    for v in [&mut out.precision, &mut out.recall, &mut out.scores] {
        v.fill(-1.0);
    }
    let (a_ev, t_ev) = (ev.areas, ev.thresholds);
    let kk = s.k_list[k];
    // The category's non-empty groups, as entries (empty ones add nothing).
    let groups: Vec<usize> = s
        .i_list
        .iter()
        .filter_map(|&i| ev.entry(i * s.k0 + kk))
        .collect();
    let eps = f64::EPSILON; // np.spacing(1)
                            // Every detection of the category, each image's in score order one after the other,
                            // then stably by score, highest first: (entry, detection) pairs. Sorted once: each
                            // maxDet's order is this one without the detections past it (pycocotools sorts
                            // each maxDet's concatenation, in which they keep their relative positions).
    let mut cols: Vec<(usize, usize)> = Vec::new();
    for &g in &groups {
        let d = ev.dt_offsets[g + 1] - ev.dt_offsets[g];
        crate::alloc::reserve(&mut cols, d, "accumulated detections")?;
        cols.extend((0..d).map(|c| (g, c)));
    }
    let all_scores: Vec<f64> = cols
        .iter()
        .map(|&(g, c)| ev.scores[ev.dt_offsets[g] + c])
        .collect();
    let sorted = by_score_desc(0..cols.len(), &all_scores);
    let mut rc = Vec::with_capacity(sorted.len());
    let mut pr = Vec::with_capacity(sorted.len());
    for (m, &max_det) in s.m_list.iter().enumerate() {
        let order: Vec<usize> = sorted
            .iter()
            .copied()
            .filter(|&o| cols[o].1 < max_det)
            .collect();
        let nd = order.len();
        for (a, &a0) in s.a_list.iter().enumerate() {
            let npig: usize = groups
                .iter()
                .map(|&g| ev.npig[g * a_ev + a0] as usize)
                .sum();
            if npig == 0 {
                continue;
            }
            for t in 0..t_n.min(t_ev) {
                let (mut tp, mut fp) = (0.0f64, 0.0f64);
                rc.clear();
                pr.clear();
                for &o in &order {
                    let (g, c) = cols[o];
                    let (start, d) = (ev.dt_offsets[g], ev.dt_offsets[g + 1] - ev.dt_offsets[g]);
                    match ev.outcome[a_ev * t_ev * start + (a0 * t_ev + t) * d + c] {
                        TRUE_POSITIVE => tp += 1.0,
                        FALSE_POSITIVE => fp += 1.0,
                        _ => {}
                    }
                    rc.push(tp / npig as f64);
                    pr.push(tp / (fp + tp + eps));
                }
                out.recall[(t * a_n + a) * m_n + m] = if nd > 0 { rc[nd - 1] } else { 0.0 };
                for i in (1..nd).rev() {
                    if pr[i] > pr[i - 1] {
                        pr[i - 1] = pr[i];
                    }
                }
                for (ri, &thr) in s.rec_thrs.iter().enumerate() {
                    let at = ((t * r_n + ri) * a_n + a) * m_n + m;
                    let pi = rc.partition_point(|&x| x < thr);
                    // pycocotools stops at the first threshold past the last recall.
                    if pi >= nd {
                        for rj in ri..r_n {
                            let at = ((t * r_n + rj) * a_n + a) * m_n + m;
                            out.precision[at] = 0.0;
                            out.scores[at] = 0.0;
                        }
                        break;
                    }
                    out.precision[at] = pr[pi];
                    out.scores[at] = all_scores[order[pi]];
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One side of `n` annotations in one group per entry of `groups` (its size).
    fn side<'a>(geometry: Geometry<'a>, groups: &[usize], score: Vec<f64>) -> Annotations<'a> {
        let n = groups.iter().sum();
        let mut offsets = vec![0];
        for g in groups {
            offsets.push(offsets.last().unwrap() + g);
        }
        Annotations {
            ids: (1..=n).map(|i| i as f64).collect(),
            area: vec![100.0; n],
            score,
            crowd: vec![false; n],
            ignore: vec![false; n],
            geometry,
            offsets,
        }
    }

    const PARAMS: EvalParams<'static> = EvalParams {
        thresholds: &[0.5, 0.75],
        area_rng: &[[0.0, 1e10], [0.0, 50.0]],
        max_det: 10,
    };

    fn spec<'a>(i0: usize, k_list: &'a [usize], rec: &'a [f64]) -> AccumulateSpec<'a> {
        AccumulateSpec {
            k_list,
            a_list: &[0, 1],
            m_list: &[10],
            i_list: &[0, 1][..i0],
            i0,
            a0: 2,
            k0: 1,
            dims: [2, rec.len(), k_list.len(), 2, 1],
            rec_thrs: rec,
            threads: None,
        }
    }

    #[test]
    fn one_hit_one_miss() {
        // Image 0: a ground truth and a detection on it (IoU 1) and one far away
        // (scored higher: a false positive first). Image 1: nothing.
        let gt = side(
            Geometry::Boxes(vec![[0.0, 0.0, 10.0, 10.0]]),
            &[1, 0],
            vec![0.0],
        );
        let boxes = vec![[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 5.0, 5.0]];
        let dt = side(Geometry::Boxes(boxes), &[2, 0], vec![0.5, 0.9]);
        let ev = evaluate(&gt, &dt, PARAMS, None).unwrap();
        assert_eq!(ev.groups(), 2);
        assert!(ev.heap_bytes() > 0);
        let detail = evaluate_group(&gt, &dt, 0, PARAMS).unwrap().unwrap();
        assert_eq!(detail.dt, [1, 0]);
        assert_eq!(detail.ious, [0.0, 1.0]);
        assert_eq!(detail.imgs[0].dt_matches, [0.0, 1.0, 0.0, 1.0]);
        assert!(evaluate_group(&gt, &dt, 1, PARAMS).unwrap().is_none());
        let rec = [0.0, 0.5, 1.0];
        let acc = accumulate(&ev, &spec(2, &[0], &rec)).unwrap();
        // Recall 1 after two detections at both thresholds; the precision envelope is 0.5.
        assert_eq!(acc.recall, [1.0, -1.0, 1.0, -1.0]);
        let p = |t: usize, r: usize, a: usize| acc.precision[(t * 3 + r) * 2 + a];
        assert!((p(0, 2, 0) - 0.5).abs() < 1e-12 && (p(1, 0, 0) - 0.5).abs() < 1e-12);
        // Area range 1 ([0, 50]): the ground truth (area 100) is ignored: no cells.
        assert_eq!(p(0, 0, 1), -1.0);
        assert_eq!(acc.scores[2 * 2], 0.5); // t 0, r 2, a 0
    }

    #[test]
    fn bad_input_is_an_error_naming_the_annotation() {
        let good = [RleRef::compressed(4, 4, b"88")];
        let bad = [RleRef::compressed(4, 4, b"4!")];
        let gt = side(Geometry::Masks(good.to_vec()), &[1], vec![0.0]);
        let dt = side(Geometry::Masks(bad.to_vec()), &[1], vec![1.0]);
        let e = evaluate(&gt, &dt, PARAMS, Some(2)).err().unwrap();
        assert!(
            e.to_string().starts_with("detection id 1: invalid byte"),
            "{e}"
        );
        let other = [RleRef::compressed(4, 5, b"<8")];
        let dt = side(Geometry::Masks(other.to_vec()), &[1], vec![1.0]);
        let e = evaluate(&gt, &dt, PARAMS, None).err().unwrap();
        assert!(matches!(e.root(), Error::SizeMismatch { .. }), "{e}");
        // Boxes against masks, offsets that do not cover the annotations.
        let boxes = side(Geometry::Boxes(vec![[0.0; 4]]), &[1], vec![1.0]);
        assert!(evaluate(&gt, &boxes, PARAMS, None).is_err());
        let mut short = side(Geometry::Boxes(vec![[0.0; 4]]), &[1], vec![1.0]);
        short.offsets = vec![0, 0];
        assert!(evaluate(&boxes, &short, PARAMS, None).is_err());
        assert!(evaluate_group(&boxes, &boxes, 1, PARAMS).is_err());
    }

    #[test]
    fn accumulate_checks_its_index_lists() {
        let gt = side(
            Geometry::Boxes(vec![[0.0, 0.0, 10.0, 10.0]]),
            &[1, 0],
            vec![0.0],
        );
        let dt = side(
            Geometry::Boxes(vec![[0.0, 0.0, 10.0, 10.0]]),
            &[1, 0],
            vec![1.0],
        );
        let ev = evaluate(&gt, &dt, PARAMS, None).unwrap();
        let rec = [0.0, 1.0];
        assert!(accumulate(&ev, &spec(2, &[0], &rec)).is_ok());
        let e = accumulate(&ev, &spec(2, &[1], &rec)).err().unwrap();
        assert!(
            matches!(e, Error::IndexOutOfRange { index: 1, len: 1 }),
            "{e}"
        );
        // i0 * k0 must be the number of groups evaluated.
        assert!(accumulate(&ev, &spec(1, &[0], &rec)).is_err());
        let mut huge = spec(2, &[0], &rec);
        huge.dims = [usize::MAX, 2, 1, 2, 1];
        assert!(matches!(
            accumulate(&ev, &huge).err().unwrap(),
            Error::OutOfMemory { .. }
        ));
    }
}

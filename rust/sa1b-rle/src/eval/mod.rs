//! COCO evaluation kernels (see `sa1b_rle.cocoeval` in the Python package): the greedy
//! matching of one image and category, as pycocotools' `evaluateImg` does it.

mod accumulate;
mod oks;
mod outcomes;
mod select;

pub use accumulate::{accumulate, AccumulateSpec, Accumulated};
pub use select::{gather, group, select, IouKind, Rules, Side};

use crate::coco::Shape;
use crate::error::{Error, Result};
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
/// [`Error::Inconsistent`] when the lengths disagree.
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
            return Err(Error::Inconsistent {
                message: format!("{what} has {len} entries, expected {want}"),
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
            let taken = |gi: usize| gtm[gi] > 0.0;
            let m = best_match(row, 0..g, thr, taken, |gi| gt.crowd[gi], |gi| gt.ignore[gi]);
            if let Some(m) = m {
                out.dt_ignore[ti * d + di] = f64::from(u8::from(gt.ignore[m]));
                out.dt_matches[ti * d + di] = gt.ids[m];
                gtm[m] = dt_ids[di];
            }
        }
    }
    Ok(out)
}

/// pycocotools' choice of a ground truth for one detection at threshold `thr`: over the
/// ground truths in `order` (not ignored first), skipping those `taken` that are not
/// crowds and stopping at the first ignored one once a regular one is chosen, the one of
/// highest IoU in `row` (at least `min(thr, 1 - 1e-10)` by Python's `min`, so a NaN
/// threshold stays NaN and lets every IoU pass; of equal ones the last).
pub(crate) fn best_match(
    row: &[f64],
    order: impl IntoIterator<Item = usize>,
    thr: f64,
    taken: impl Fn(usize) -> bool,
    crowd: impl Fn(usize) -> bool,
    ignored: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut best = if thr.is_nan() {
        thr
    } else {
        thr.min(1.0 - 1e-10)
    };
    let mut m: Option<usize> = None;
    for gi in order {
        if taken(gi) && !crowd(gi) {
            continue;
        }
        if m.is_some_and(|m| !ignored(m)) && ignored(gi) {
            break;
        }
        if row[gi] < best {
            continue;
        }
        best = row[gi];
        m = Some(gi);
    }
    m
}

/// The shapes annotations are compared by: masks (RLEs or polygons, rasterised and
/// prepared for IoU one group at a time, so that only the groups in flight hold masks),
/// `[x, y, w, h]` boxes, or keypoints (object keypoint similarity).
pub enum Geometry<'a> {
    /// `segm`: masks, as given (validated when their group is evaluated).
    Masks(Vec<Shape<'a>>),
    /// `bbox`: boxes.
    Boxes(Vec<[f64; 4]>),
    /// `keypoints`: each annotation's `x, y, v` values, and (ground truths) its box, the
    /// region a detection's points are measured against when no point is visible.
    Keypoints {
        /// The values.
        points: Vec<&'a [f64]>,
        /// The boxes (ground truths; unused for detections).
        boxes: Vec<[f64; 4]>,
    },
}

impl Geometry<'_> {
    fn len(&self) -> usize {
        match self {
            Geometry::Masks(m) => m.len(),
            Geometry::Boxes(b) => b.len(),
            Geometry::Keypoints { points, .. } => points.len(),
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Geometry::Masks(_) => 0,
            Geometry::Boxes(_) => 1,
            Geometry::Keypoints { .. } => 2,
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
    /// Ground truths: `ignore` (crowd or flagged). Detections: ignored when unmatched
    /// (LVIS: a category not exhaustively annotated in the image), as those outside the
    /// area range are.
    pub ignore: Vec<bool>,
    /// Masks or boxes.
    pub geometry: Geometry<'a>,
    /// Group `k` is `offsets[k]..offsets[k + 1]` (borrowed from the grouping, which
    /// outlives the evaluation).
    pub offsets: std::borrow::Cow<'a, [usize]>,
    /// Each annotation's image's `(height, width)`, where known (empty: none known): a
    /// mask of another size is the one blamed when two masks of a group differ.
    pub image_size: Vec<Option<(u64, u64)>>,
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
            return Err(Error::Inconsistent {
                message: format!("{what}: a column of {bad} entries beside one of {n}"),
            });
        }
        let ordered = self.offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ordered || self.offsets.first() != Some(&0) || self.offsets.last() != Some(&n) {
            return Err(Error::Inconsistent {
                message: format!(
                    "{what}: the group offsets do not rise from 0 to the {n} annotations"
                ),
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
    /// Detections kept per group, by score (a Python slice end: negative drops that
    /// many from the end).
    pub max_det: i64,
    /// `kpt_oks_sigmas` (keypoints).
    pub sigmas: &'a [f64],
    /// Nothing is compared: pycocotools' `computeOks` reads `_gts[imgId, -1]` when
    /// categories are not used, so every OKS matrix is empty and nothing matches.
    pub no_ious: bool,
    /// Masks: Boundary IoU at this dilation ratio (boundary-iou-api's `COCOeval`): the
    /// IoU of a pair is the smaller of its mask IoU and the IoU of the two masks'
    /// boundary bands ([`crate::boundary`]), against a crowd region its mask IoU.
    pub boundary: Option<f64>,
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
    /// the area range (or flagged: see [`Annotations::ignore`]).
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
    /// Per detection (in `scores` order) `A * T` bytes, laid out `[a][t]`: detection
    /// `i`'s outcomes at area range `a` are `outcome[(i * A + a) * T..][..T]`.
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
    // An unstable sort of (key, index) pairs is the stable order; the keys are integers
    // ordered as `-score` is by numpy (NaN last, -0.0 equal to 0.0).
    let mut v: Vec<(u64, usize)> = range.map(|i| (descending_key(key[i]), i)).collect();
    v.sort_unstable();
    v.into_iter().map(|(_, i)| i).collect()
}

/// An integer ordered as numpy orders `-score` in an ascending sort: NaN after every
/// number (all NaNs equal), -0.0 equal to 0.0.
fn descending_key(score: f64) -> u64 {
    let y = -score;
    if y.is_nan() {
        return u64::MAX;
    }
    // `+ 0.0` makes -0.0 into 0.0.
    let bits = (y + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Checks the two sides against each other and the parameters.
fn check_inputs(gt: &Annotations<'_>, dt: &Annotations<'_>) -> Result<()> {
    gt.check("ground truth fields")?;
    dt.check("detection fields")?;
    if dt.offsets.len() != gt.offsets.len() {
        return Err(Error::Inconsistent {
            message: format!(
                "{} detection groups beside {} ground-truth groups",
                dt.offsets.len().saturating_sub(1),
                gt.offsets.len().saturating_sub(1)
            ),
        });
    }
    if gt.geometry.kind() != dt.geometry.kind() {
        return Err(Error::Inconsistent {
            message: "the ground truths and the detections are of different kinds \
                      (masks, boxes, keypoints)"
                .into(),
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
            // Room for every detection of the block (at most this many are kept): the
            // two largest arrays without growth slack.
            let dts = dt.offsets[range.end] - dt.offsets[range.start];
            crate::alloc::reserve(&mut part.scores, dts, "evaluation scores")?;
            let cells = dts.saturating_mul(a_n * t_n);
            crate::alloc::reserve(&mut part.outcome, cells, "evaluation outcomes")?;
            let mut scratch = outcomes::Scratch::default();
            for k in range {
                let start = part.scores.len();
                if outcomes::group_outcomes(
                    gt,
                    dt,
                    k,
                    params,
                    &mut scratch,
                    &mut part.scores,
                    &mut part.outcome,
                    &mut part.npig,
                )? {
                    part.present.push(k);
                    part.dt_offsets.push(start);
                }
            }
            Ok(part)
        },
    );
    let mut parts = blocks.into_iter().collect::<Result<Vec<_>>>()?;
    // One block is the result; several are copied into arrays of their total size, each
    // dropped once copied.
    let mut out = if parts.len() == 1 {
        parts.pop().unwrap_or_default()
    } else {
        let total = |f: fn(&Evaluation) -> usize| parts.iter().map(f).sum::<usize>();
        let mut out = Evaluation {
            present: crate::alloc::with_capacity(total(|p| p.present.len()), "evaluation")?,
            dt_offsets: crate::alloc::with_capacity(total(|p| p.present.len()) + 1, "evaluation")?,
            scores: crate::alloc::with_capacity(total(|p| p.scores.len()), "evaluation scores")?,
            outcome: crate::alloc::with_capacity(
                total(|p| p.outcome.len()),
                "evaluation outcomes",
            )?,
            npig: crate::alloc::with_capacity(total(|p| p.npig.len()), "evaluation")?,
            ..Evaluation::default()
        };
        for part in parts {
            out.present.extend_from_slice(&part.present);
            let base = out.scores.len();
            out.dt_offsets
                .extend(part.dt_offsets.iter().map(|o| o + base));
            out.scores.extend_from_slice(&part.scores);
            out.outcome.extend_from_slice(&part.outcome);
            out.npig.extend_from_slice(&part.npig);
        }
        out
    };
    (out.groups, out.areas, out.thresholds) = (groups, a_n, t_n);
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

/// A mask prepared for IoU, its size, and with a dilation ratio its boundary band
/// prepared too.
type Prepared = (IouMask, (u64, u64), Option<IouMask>);

/// The masks of `members` prepared for IoU, with their sizes and (at `boundary`'s
/// dilation ratio) their boundary bands (`scratch`: the parse buffer).
fn prepare_masks(
    side: &Annotations<'_>,
    rles: &[Shape<'_>],
    members: &[usize],
    what: &'static str,
    boundary: Option<f64>,
    scratch: &mut Vec<u32>,
) -> Result<Vec<Prepared>> {
    let mut out = crate::alloc::with_capacity(members.len(), "prepared masks")?;
    let mut band_scratch = crate::boundary::Scratch::default();
    let mut band = Vec::new();
    for &i in members {
        let r = &rles[i];
        let blame = |e: Error| Error::Annotation {
            what,
            id: side.ids[i],
            source: Box::new(e),
        };
        let (h, w) = r.runs_into(scratch).map_err(blame)?;
        let edge = match boundary {
            Some(ratio) => {
                let d = crate::boundary::dilation(h, w, ratio)?;
                crate::boundary::boundary_runs(h, w, scratch, d, &mut band_scratch, &mut band)
                    .map_err(blame)?;
                Some(IouMask::from_runs(h, w, &band))
            }
            None => None,
        };
        out.push((IouMask::from_runs(h, w, scratch), (h, w), edge));
    }
    Ok(out)
}

/// The `D x G` IoU matrix of detections `dts` with ground truths `gts`.
fn group_ious(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    gts: &[usize],
    dts: &[usize],
    params: EvalParams<'_>,
    scratch: &mut Vec<u32>,
) -> Result<Vec<f64>> {
    let sigmas = params.sigmas;
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
            let band = params.boundary;
            let gm = prepare_masks(gt, gr, gts, "ground truth", band, scratch)?;
            let dm = prepare_masks(dt, dr, dts, "detection", band, scratch)?;
            for (di, (dmask, dsize, dband)) in dm.iter().enumerate() {
                for (gi, ((gmask, gsize, gband), &b)) in gm.iter().zip(gts).enumerate() {
                    if dsize != gsize {
                        // The ground truth's mask is at fault if it is not its image's
                        // size; else the detection's.
                        let image = gt.image_size.get(b).copied().flatten();
                        return Err(match image {
                            Some(size) if size != *gsize => Error::Annotation {
                                what: "ground truth",
                                id: gt.ids[b],
                                source: Box::new(Error::ImageSize {
                                    expected: *gsize,
                                    actual: size,
                                }),
                            },
                            _ => Error::Annotation {
                                what: "detection",
                                id: dt.ids[dts[di]],
                                source: Box::new(Error::SizeMismatch {
                                    expected: *gsize,
                                    actual: *dsize,
                                }),
                            },
                        });
                    }
                    let crowd = gt.crowd[b];
                    if crate::iou::box_pair_iou(&dmask.bbox(), &gmask.bbox(), crowd) > 0.0 {
                        let mut v = crate::iou::mask_pair_iou(dmask, gmask, gsize.0, crowd);
                        if let (Some(db), Some(gb), false) = (dband, gband, crowd) {
                            // (A band's box is its mask's: the extreme pixels are on it.)
                            v = v.min(crate::iou::mask_pair_iou(db, gb, gsize.0, false));
                        }
                        ious[di * g + gi] = v;
                    }
                }
            }
        }
        (
            Geometry::Keypoints { points: dp, .. },
            Geometry::Keypoints {
                points: gp,
                boxes: gb,
            },
        ) => {
            let vars = oks::variances(sigmas);
            let mut terms = Vec::with_capacity(vars.len());
            for (gi, &b) in gts.iter().enumerate() {
                let g = oks::GroundTruth::new(gp[b], gb[b], gt.area[b], &vars).map_err(|e| {
                    Error::Annotation {
                        what: "ground truth",
                        id: gt.ids[b],
                        source: Box::new(e),
                    }
                })?;
                for (di, &a) in dts.iter().enumerate() {
                    ious[di * gts.len() + gi] =
                        g.oks(dp[a], &mut terms).map_err(|e| Error::Annotation {
                            what: "detection",
                            id: dt.ids[a],
                            source: Box::new(e),
                        })?;
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
        ..
    } = params;
    let gts: Vec<usize> = (gt.offsets[k]..gt.offsets[k + 1]).collect();
    let mut dts = by_score_desc(dt.offsets[k]..dt.offsets[k + 1], &dt.score);
    dts.truncate(accumulate::slice_end(dts.len(), max_det));
    if gts.is_empty() && dts.is_empty() {
        return Ok(None);
    }
    let (d, g) = (dts.len(), gts.len());
    let ious = if params.no_ious {
        crate::alloc::zeroed(d * g, "IoU matrix")?
    } else {
        group_ious(gt, dt, &gts, &dts, params, scratch)?
    };
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
        let m = if d > 0 && g > 0 && !params.no_ious {
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
                let i = dts[x % d.max(1)];
                m.dt_ignore[x] != 0.0
                    || (m.dt_matches[x] == 0.0 && (outside(dt.area[i]) || dt.ignore[i]))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::RleRef;

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
            offsets: offsets.into(),
            image_size: Vec::new(),
        }
    }

    proptest::proptest! {
        /// The integer keys sort as numpy's stable sort of `-score` (NaN last, -0.0
        /// equal to 0.0).
        #[test]
        fn score_order_is_numpys(
            raw in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::f64::ANY,
                    proptest::sample::select(vec![0.0, -0.0, f64::NAN, -f64::NAN,
                        f64::INFINITY, f64::NEG_INFINITY, 0.5, 1.0]),
                ],
                0..40,
            )
        ) {
            let mut want: Vec<usize> = (0..raw.len()).collect();
            want.sort_by(|&a, &b| {
                let (x, y) = (-raw[a], -raw[b]);
                match (x.is_nan(), y.is_nan()) {
                    (false, false) => x.partial_cmp(&y).unwrap(),
                    (a_nan, b_nan) => a_nan.cmp(&b_nan),
                }
            });
            proptest::prop_assert_eq!(by_score_desc(0..raw.len(), &raw), want);
        }
    }

    const PARAMS: EvalParams<'static> = EvalParams {
        thresholds: &[0.5, 0.75],
        area_rng: &[[0.0, 1e10], [0.0, 50.0]],
        max_det: 10,
        sigmas: &[],
        no_ious: false,
        boundary: None,
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
        let good = [Shape::Rle(RleRef::compressed(4, 4, b"88"))];
        let bad = [Shape::Rle(RleRef::compressed(4, 4, b"4!"))];
        let gt = side(Geometry::Masks(good.to_vec()), &[1], vec![0.0]);
        let dt = side(Geometry::Masks(bad.to_vec()), &[1], vec![1.0]);
        let e = evaluate(&gt, &dt, PARAMS, Some(2)).err().unwrap();
        assert!(
            e.to_string().starts_with("detection id 1: invalid byte"),
            "{e}"
        );
        let other = [Shape::Rle(RleRef::compressed(4, 5, b"<8"))];
        let dt = side(Geometry::Masks(other.to_vec()), &[1], vec![1.0]);
        let e = evaluate(&gt, &dt, PARAMS, None).err().unwrap();
        assert!(matches!(e.root(), Error::SizeMismatch { .. }), "{e}");
        // Boxes against masks, offsets that do not cover the annotations.
        let boxes = side(Geometry::Boxes(vec![[0.0; 4]]), &[1], vec![1.0]);
        // (Inconsistent inputs say so, in their own words: no "expected one per mask".)
        let e = evaluate(&gt, &boxes, PARAMS, None).err().unwrap();
        assert!(matches!(e, Error::Inconsistent { .. }), "{e}");
        assert!(e.to_string().contains("different kinds"), "{e}");
        let mut short = side(Geometry::Boxes(vec![[0.0; 4]]), &[1], vec![1.0]);
        short.offsets = vec![0, 0].into();
        let e = evaluate(&boxes, &short, PARAMS, None).err().unwrap();
        assert_eq!(
            e.to_string(),
            "inconsistent inputs: detection fields: the group offsets do not rise from 0 to \
             the 1 annotations"
        );
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

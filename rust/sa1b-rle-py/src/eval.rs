//! `sa1b_rle._core` functions behind `sa1b_rle.cocoeval` (the kernels are `sa1b_rle::eval`).

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sa1b_rle::coco::Dataset;
use sa1b_rle::eval::{EvalParams, IouKind, Rules, Side};

use crate::coco::PyCocoColumns;
use crate::errors::{to_pyerr, Int};

/// The evaluation of a whole `COCOeval.evaluate()`, held in Rust as `accumulate()`
/// reads it (see `sa1b_rle::eval::Evaluation`), with what rebuilds any group's
/// `evalImgs` entries and IoU matrix on request.
#[pyclass(frozen, module = "sa1b_rle._core", name = "CocoEvaluation")]
pub struct PyCocoEvaluation {
    ev: sa1b_rle::eval::Evaluation,
    gt: Arc<Dataset>,
    dt: Arc<Dataset>,
    gt_groups: Grouping,
    dt_groups: Grouping,
    kind: IouKind,
    thresholds: Vec<f64>,
    area_rng: Vec<[f64; 2]>,
    max_det: i64,
    sigmas: Vec<f64>,
    no_ious: bool,
    boundary: Option<f64>,
    /// LVIS rules: per detection, whether its category is not exhaustively annotated
    /// in its image (None: pycocotools' rules).
    not_exhaustive: Option<Vec<bool>>,
}

impl PyCocoEvaluation {
    fn rules(&self) -> Rules<'_> {
        rules_of(self.not_exhaustive.as_deref())
    }
}

fn rules_of(not_exhaustive: Option<&[bool]>) -> Rules<'_> {
    match not_exhaustive {
        Some(flags) => Rules::Lvis {
            not_exhaustive: flags,
        },
        None => Rules::Coco,
    }
}

/// The annotations' kind and, for `"boundary"` (masks compared by Boundary IoU), the
/// dilation ratio.
fn iou_kind(name: &str, dilation_ratio: f64) -> PyResult<(IouKind, Option<f64>)> {
    let names = ["segm", "bbox", "keypoints", "boundary"];
    Ok(match crate::errors::choice("iou_type", name, &names)? {
        0 => (IouKind::Segm, None),
        1 => (IouKind::Bbox, None),
        2 => (IouKind::Keypoints, None),
        _ if !dilation_ratio.is_finite() => {
            return Err(PyValueError::new_err(format!(
                "dilation_ratio must be a finite number, not {dilation_ratio}"
            )))
        }
        _ => (IouKind::Segm, Some(dilation_ratio)),
    })
}
/// The two results of a `map_range` over the two sides.
fn pair<T>(v: Vec<T>) -> sa1b_rle::Result<(T, T)> {
    let len = v.len();
    let mut it = v.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), None) => Ok((a, b)),
        _ => Err(sa1b_rle::Error::Inconsistent {
            message: format!("{len} evaluation sides, expected 2"),
        }),
    }
}

/// pycocotools' `evaluate()` on columns: the ground truths and detections of `img_ids`
/// (and `cat_ids` with `use_cats`), as `loadAnns(getAnnIds(...))` selects them (or the
/// `gt_members` / `dt_members` indices given, in load order), grouped as `_prepare` does
/// and evaluated on the pool. Ids are the columns' integer keys.
#[pyfunction]
#[pyo3(signature = (gt, dt, *, img_ids, cat_ids, use_cats, iou_type, iou_thrs, area_rng, max_det, kpt_oks_sigmas, dilation_ratio=0.02, gt_members=None, dt_members=None, not_exhaustive=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn coco_evaluate(
    py: Python<'_>,
    gt: &PyCocoColumns,
    dt: &PyCocoColumns,
    img_ids: Vec<i64>,
    cat_ids: Vec<i64>,
    use_cats: bool,
    iou_type: &str,
    iou_thrs: Vec<f64>,
    area_rng: Vec<[f64; 2]>,
    max_det: Int,
    kpt_oks_sigmas: Vec<f64>,
    dilation_ratio: f64,
    gt_members: Option<Vec<usize>>,
    dt_members: Option<Vec<usize>>,
    not_exhaustive: Option<Vec<bool>>,
    threads: Option<Int>,
) -> PyResult<PyCocoEvaluation> {
    let threads = crate::errors::threads_arg(threads)?;
    let max_det = max_det.in_range("max_det", i64::MIN, i64::MAX)?;
    let (kind, boundary) = iou_kind(iou_type, dilation_ratio)?;
    let (g, d) = (Arc::clone(&gt.data), Arc::clone(&dt.data));
    for (what, members, n) in [
        ("gt_members", &gt_members, g.annotations.len()),
        ("dt_members", &dt_members, d.annotations.len()),
    ] {
        if let Some(bad) = members.iter().flatten().find(|&&i| i >= n) {
            return Err(PyValueError::new_err(format!(
                "{what}: index {bad} is out of range for {n} annotations"
            )));
        }
    }
    let run = || -> sa1b_rle::Result<PyCocoEvaluation> {
        let cats = use_cats.then_some(cat_ids.as_slice());
        let groups = |data: &Dataset, members: Option<&[usize]>| {
            let selected;
            let members = if let Some(m) = members {
                m
            } else {
                selected = sa1b_rle::eval::select(&data.annotations, &img_ids, cats);
                &selected
            };
            let a = &data.annotations;
            sa1b_rle::eval::group(
                &a.image_id,
                &a.category_id,
                members,
                &img_ids,
                &cat_ids,
                use_cats,
            )
        };
        // The two sides side by side (selection, grouping, then gathering).
        let (gt_groups, dt_groups) = pair(sa1b_rle::pool::map_range(threads, 2, |s| {
            if s == 0 {
                groups(&g, gt_members.as_deref())
            } else {
                groups(&d, dt_members.as_deref())
            }
        }))?;
        let (gt_groups, dt_groups) = (gt_groups?, dt_groups?);
        let params = EvalParams {
            thresholds: &iou_thrs,
            area_rng: &area_rng,
            max_det,
            sigmas: &kpt_oks_sigmas,
            no_ious: kind == IouKind::Keypoints && !use_cats,
            boundary,
        };
        let images = &g.images;
        let (gs, ds) = pair(sa1b_rle::pool::map_range(threads, 2, |s| {
            let (data, groups, side) = if s == 0 {
                (&g, &gt_groups, Side::GroundTruth)
            } else {
                (&d, &dt_groups, Side::Detections)
            };
            // Detections' polygons (rare) are rasterised at the ground truth's image
            // sizes.
            sa1b_rle::eval::gather(
                &data.annotations,
                images,
                &groups.0,
                groups.1.as_slice().into(),
                kind,
                side,
                rules_of(not_exhaustive.as_deref()),
            )
        }))?;
        // (The ground truth's error first, as before.)
        let (gs, ds) = (gs?, ds?);
        let ev = sa1b_rle::eval::evaluate(&gs, &ds, params, threads)?;
        drop((gs, ds));
        Ok(PyCocoEvaluation {
            ev,
            gt: Arc::clone(&g),
            dt: Arc::clone(&d),
            gt_groups: Grouping::new(&gt_groups)?,
            dt_groups: Grouping::new(&dt_groups)?,
            kind,
            thresholds: iou_thrs.clone(),
            area_rng: area_rng.clone(),
            max_det,
            sigmas: kpt_oks_sigmas.clone(),
            no_ious: kind == IouKind::Keypoints && !use_cats,
            boundary,
            not_exhaustive: not_exhaustive.clone(),
        })
    };
    py.detach(run).map_err(|e| to_pyerr(&e))
}

/// One `evalImgs` entry as the Python side builds its dict from: `(gt, dtMatches,
/// gtMatches, gtIgnore, dtIgnore)`.
type Entry<'py> = (
    Vec<usize>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

/// A group's `(dt, iou, entries)` (see `PyCocoEvaluation::group`).
type GroupDetail<'py> = (Vec<usize>, Bound<'py, PyAny>, Vec<Entry<'py>>);

fn shaped(py: Python<'_>, v: Vec<f64>, rows: usize, cols: usize) -> PyResult<Bound<'_, PyAny>> {
    crate::convert::nd_array(py, (rows, cols), v)
}

/// A side's grouping as the evaluation keeps it: group `k` is the annotations
/// `order[offsets[k]..offsets[k + 1]]`, in 32 bits (half the memory of the images x
/// categories offsets, held while `accumulate()` allocates its arrays).
struct Grouping {
    order: Vec<u32>,
    offsets: Vec<u32>,
}

impl Grouping {
    fn new((order, offsets): &(Vec<usize>, Vec<usize>)) -> sa1b_rle::Result<Self> {
        let narrow = |v: &[usize]| -> sa1b_rle::Result<Vec<u32>> {
            let mut out = sa1b_rle::alloc::with_capacity(v.len(), "evaluation groups")?;
            for &x in v {
                out.push(
                    u32::try_from(x).map_err(|_| sa1b_rle::Error::IndexOutOfRange {
                        index: x,
                        len: u32::MAX as usize,
                    })?,
                );
            }
            Ok(out)
        };
        Ok(Grouping {
            order: narrow(order)?,
            offsets: narrow(offsets)?,
        })
    }

    /// Group `k`'s annotations (indices into the side's columns).
    fn members(&self, k: usize) -> Vec<usize> {
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        self.order[a..b].iter().map(|&i| i as usize).collect()
    }
}

/// The annotations `members` of one side, gathered as one group.
fn one<'a>(
    data: &'a Dataset,
    images: &sa1b_rle::coco::Images,
    members: &[usize],
    kind: IouKind,
    side: Side,
    rules: Rules<'_>,
) -> sa1b_rle::Result<sa1b_rle::eval::Annotations<'a>> {
    sa1b_rle::eval::gather(
        &data.annotations,
        images,
        members,
        vec![0, members.len()].into(),
        kind,
        side,
        rules,
    )
}

#[pymethods]
impl PyCocoEvaluation {
    /// Bytes the evaluation holds.
    #[getter]
    fn nbytes(&self) -> usize {
        self.ev.heap_bytes()
    }

    /// The number of groups (images x categories, or images).
    #[getter]
    fn n_groups(&self) -> usize {
        self.ev.groups()
    }

    /// A side's grouping: `(order, offsets)` (int64): group `k` is the annotations
    /// (indices into the side's columns) `order[offsets[k]:offsets[k + 1]]`.
    fn members<'py>(&self, py: Python<'py>, gt: bool) -> (Bound<'py, PyAny>, Bound<'py, PyAny>) {
        let g = if gt { &self.gt_groups } else { &self.dt_groups };
        let as_i64 = |v: &[u32]| v.iter().map(|&x| i64::from(x)).collect::<Vec<i64>>();
        (
            crate::convert::array_1d(py, as_i64(&g.order)),
            crate::convert::array_1d(py, as_i64(&g.offsets)),
        )
    }

    /// Everything pycocotools keeps of group `k`: None for a group without ground truths
    /// and detections, else `(dt, iou, entries)`: the detections by score (indices into
    /// the detection columns), the `(D, G)` IoU matrix and one entry per area range,
    /// `(gt, dtMatches, gtMatches, gtIgnore, dtIgnore)` (gt: indices into the ground
    /// truth columns, not ignored first; arrays as pycocotools').
    fn group<'py>(&self, py: Python<'py>, k: Int) -> PyResult<Option<GroupDetail<'py>>> {
        let k = k.count("k", 0, self.ev.groups().saturating_sub(1))?;
        let params = EvalParams {
            thresholds: &self.thresholds,
            area_rng: &self.area_rng,
            max_det: self.max_det,
            sigmas: &self.sigmas,
            no_ious: self.no_ious,
            boundary: self.boundary,
        };
        let detail = py
            .detach(|| -> sa1b_rle::Result<_> {
                let images = &self.gt.images;
                let (gm, dm) = (self.gt_groups.members(k), self.dt_groups.members(k));
                let rules = self.rules();
                let g = one(&self.gt, images, &gm, self.kind, Side::GroundTruth, rules)?;
                let d = one(&self.dt, images, &dm, self.kind, Side::Detections, rules)?;
                let detail = sa1b_rle::eval::evaluate_group(&g, &d, 0, params)?;
                drop((g, d));
                Ok(detail.map(|x| (x, gm, dm)))
            })
            .map_err(|e| to_pyerr(&e))?;
        let Some((detail, gm, dm)) = detail else {
            return Ok(None);
        };
        let t = self.thresholds.len();
        let d_n = detail.dt.len();
        let g_n = gm.len();
        let iou = shaped(py, detail.ious, d_n, g_n)?;
        let mut entries = Vec::with_capacity(detail.imgs.len());
        for e in detail.imgs {
            let gt_ig: Vec<i64> = e.gt_ignore.iter().map(|&b| i64::from(b)).collect();
            let dt_ig = crate::convert::nd_array(py, (t, d_n), e.dt_ignore)?;
            entries.push((
                e.gt.iter().map(|&j| gm[j]).collect(),
                shaped(py, e.dt_matches, t, d_n)?,
                shaped(py, e.gt_matches, t, g_n)?,
                crate::convert::array_1d(py, gt_ig),
                dt_ig,
            ));
        }
        Ok(Some((
            detail.dt.iter().map(|&j| dm[j]).collect(),
            iou,
            entries,
        )))
    }

    /// pycocotools' `accumulate()`: `(precision, recall, scores)`. The index lists are
    /// pycocotools' (`k_list`, `a_list`, `i_list`: positions in the evaluation;
    /// `m_list`: maxDet values); `n_images`, `n_area_ranges`, `n_categories`: the sizes
    /// of the evaluation; `dims`: `[T, R, K, A, M]`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (*, k_list, a_list, m_list, i_list, n_images, n_area_ranges, n_categories, dims, rec_thrs, threads=None))]
    fn accumulate<'py>(
        &self,
        py: Python<'py>,
        k_list: Vec<usize>,
        a_list: Vec<usize>,
        m_list: Vec<i64>,
        i_list: Vec<usize>,
        n_images: usize,
        n_area_ranges: usize,
        n_categories: usize,
        dims: [usize; 5],
        rec_thrs: Vec<f64>,
        threads: Option<Int>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let threads = crate::errors::threads_arg(threads)?;
        let spec = sa1b_rle::eval::AccumulateSpec {
            k_list: &k_list,
            a_list: &a_list,
            m_list: &m_list,
            i_list: &i_list,
            i0: n_images,
            a0: n_area_ranges,
            k0: n_categories,
            dims,
            rec_thrs: &rec_thrs,
            threads,
        };
        let acc = py
            .detach(|| sa1b_rle::eval::accumulate(&self.ev, &spec))
            .map_err(|e| to_pyerr(&e))?;
        let [t, r, k, a, m] = dims;
        let five = |v: Vec<f64>| crate::convert::nd_array(py, (t, r, k, a, m), v);
        Ok((
            five(acc.precision)?,
            crate::convert::nd_array(py, (t, k, a, m), acc.recall)?,
            five(acc.scores)?,
        ))
    }
}

//! `sa1b_rle._core` functions behind `sa1b_rle.cocoeval` (the kernels are `sa1b_rle::eval`).

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sa1b_rle::eval::{coco_match as kernel, GroundTruths};

use crate::errors::to_pyerr;

/// `(dtMatches, gtMatches, dtIgnore)` (float64, `(T, D)`, `(T, G)`, `(T, D)`) of one image
/// and category: pycocotools' greedy matching on a `(D, G)` float64 IoU array.
#[pyfunction]
pub fn coco_match<'py>(
    py: Python<'py>,
    ious: PyReadonlyArray2<'py, f64>,
    gt_ids: PyReadonlyArray1<'py, f64>,
    gt_ignore: PyReadonlyArray1<'py, bool>,
    gt_crowd: PyReadonlyArray1<'py, bool>,
    dt_ids: PyReadonlyArray1<'py, f64>,
    thresholds: PyReadonlyArray1<'py, f64>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let contiguous = || PyValueError::new_err("coco_match needs contiguous arrays");
    let ious = ious.as_slice().map_err(|_| contiguous())?;
    let (gt_ids, gt_ignore) = (gt_ids.as_slice()?, gt_ignore.as_slice()?);
    let (gt_crowd, dt_ids, thresholds) = (
        gt_crowd.as_slice()?,
        dt_ids.as_slice()?,
        thresholds.as_slice()?,
    );
    let gt = GroundTruths {
        ids: gt_ids,
        ignore: gt_ignore,
        crowd: gt_crowd,
    };
    let m = py
        .detach(|| kernel(ious, gt, dt_ids, thresholds))
        .map_err(|e| to_pyerr(&e))?;
    let (t, d, g) = (thresholds.len(), dt_ids.len(), gt_ids.len());
    let shaped = |v: Vec<f64>, n: usize| -> PyResult<Bound<'py, PyAny>> {
        let a =
            Array2::from_shape_vec((t, n), v).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(a.into_pyarray(py).into_any())
    };
    Ok((
        shaped(m.dt_matches, d)?,
        shaped(m.gt_matches, g)?,
        shaped(m.dt_ignore, d)?,
    ))
}

/// COCO's `annToRLE` of polygon segmentations, one `(parts, h, w)` per annotation:
/// RLE dicts with bytes counts (see `sa1b_rle::polygon::coco_polygons`).
#[pyfunction]
pub fn coco_polygons_to_rles(
    py: Python<'_>,
    items: crate::convert::Seq<(crate::convert::Seq<crate::convert::Seq<f64>>, u64, u64)>,
) -> PyResult<Bound<'_, pyo3::types::PyList>> {
    let items: Vec<(Vec<Vec<f64>>, u64, u64)> = items
        .0
        .into_iter()
        .map(|(parts, h, w)| (parts.0.into_iter().map(|p| p.0).collect(), h, w))
        .collect();
    let work = items
        .iter()
        .flat_map(|(p, _, _)| p)
        .map(|p| p.len() * 200)
        .sum();
    let out = py
        .detach(|| {
            sa1b_rle::pool::map_range(sa1b_rle::pool::for_work(None, work), items.len(), |i| {
                let (parts, h, w) = &items[i];
                sa1b_rle::polygon::coco_polygons(parts, *h, *w)
                    .map(|r| (r.height(), r.width(), r.to_counts_string()))
                    .map_err(|e| e.at(i))
            })
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| to_pyerr(&e))?;
    crate::convert::rle_dicts(py, &out)
}

/// The per-image evaluation of a whole `COCOeval.evaluate()`, held in Rust.
#[pyclass(frozen, module = "sa1b_rle._core", name = "CocoEvaluation")]
pub struct PyCocoEvaluation {
    ev: sa1b_rle::eval::Evaluation,
    dt_score: Vec<f64>,
    thresholds: usize,
}

fn annotations(
    py: Python<'_>,
    (ids, area, score, crowd, ignore, offsets, geometry): AnnotationArrays<'_>,
    threads: Option<usize>,
) -> PyResult<sa1b_rle::eval::Annotations> {
    let geometry = if let Ok(boxes) = geometry.extract::<PyReadonlyArray2<'_, f64>>() {
        let v = boxes.as_array();
        if v.ncols() != 4 {
            return Err(PyValueError::new_err("boxes must have shape (N, 4)"));
        }
        sa1b_rle::eval::Geometry::Boxes(
            v.rows()
                .into_iter()
                .map(|r| [r[0], r[1], r[2], r[3]])
                .collect(),
        )
    } else {
        let raw = crate::convert::extract_rles(&geometry)?;
        let refs = crate::convert::rle_refs(&raw)?;
        py.detach(|| sa1b_rle::eval::Geometry::masks(&refs, threads))
            .map_err(|e| to_pyerr(&e))?
    };
    let offsets = offsets
        .as_slice()?
        .iter()
        .map(|&o| usize::try_from(o).map_err(|_| PyValueError::new_err("negative offset")))
        .collect::<PyResult<Vec<usize>>>()?;
    Ok(sa1b_rle::eval::Annotations {
        ids: ids.as_slice()?.to_vec(),
        area: area.as_slice()?.to_vec(),
        score: score.as_slice()?.to_vec(),
        crowd: crowd.as_slice()?.to_vec(),
        ignore: ignore.as_slice()?.to_vec(),
        geometry,
        offsets,
    })
}

/// One side's flattened annotations as Python hands them over: `(ids, area, score,
/// crowd, ignore, offsets, geometry)`.
type AnnotationArrays<'py> = (
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, bool>,
    PyReadonlyArray1<'py, bool>,
    PyReadonlyArray1<'py, i64>,
    Bound<'py, PyAny>,
);

/// pycocotools' `evaluate()` over flattened ground truths and detections (see
/// `sa1b_rle::eval::evaluate`): `gt` and `dt` are `(ids, area, score, crowd, ignore,
/// offsets, geometry)` with geometry a list of RLE dicts or an `(N, 4)` box array.
#[pyfunction]
#[pyo3(signature = (gt, dt, thresholds, area_rng, max_det, *, threads=None))]
#[allow(clippy::type_complexity)]
pub fn coco_evaluate<'py>(
    py: Python<'py>,
    gt: AnnotationArrays<'py>,
    dt: AnnotationArrays<'py>,
    thresholds: PyReadonlyArray1<'py, f64>,
    area_rng: PyReadonlyArray2<'py, f64>,
    max_det: usize,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoEvaluation> {
    let threads = crate::errors::threads_arg(threads)?;
    let g = annotations(py, gt, threads)?;
    let d = annotations(py, dt, threads)?;
    let thresholds = thresholds.as_slice()?.to_vec();
    let rng: Vec<[f64; 2]> = area_rng
        .as_array()
        .rows()
        .into_iter()
        .map(|r| [r[0], r[1]])
        .collect();
    let ev = py
        .detach(|| sa1b_rle::eval::evaluate(&g, &d, &thresholds, &rng, max_det, threads))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyCocoEvaluation {
        ev,
        dt_score: d.score,
        thresholds: thresholds.len(),
    })
}

#[pymethods]
impl PyCocoEvaluation {
    /// Entry `index` (group * A + area range): `(dt, gt, dtMatches, gtMatches, gtIgnore,
    /// dtIgnore)` (indices into the flattened annotations, arrays as pycocotools'), or
    /// None.
    #[allow(clippy::type_complexity)]
    fn entry<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<
        Option<(
            Vec<usize>,
            Vec<usize>,
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
        )>,
    > {
        let Some(Some(e)) = self.ev.imgs.get(index) else {
            return Ok(None);
        };
        let t = self.thresholds;
        let shaped = |v: Vec<f64>, n: usize| -> PyResult<Bound<'py, PyAny>> {
            let a = Array2::from_shape_vec((t, n), v)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(a.into_pyarray(py).into_any())
        };
        let (d, g) = (e.dt.len(), e.gt.len());
        let gt_ig: Vec<i64> = e.gt_ignore.iter().map(|&b| i64::from(b)).collect();
        let dt_ig = Array2::from_shape_vec((t, d), e.dt_ignore.clone())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Some((
            e.dt.clone(),
            e.gt.clone(),
            shaped(e.dt_matches.clone(), d)?,
            shaped(e.gt_matches.clone(), g)?,
            crate::convert::array_1d(py, gt_ig),
            dt_ig.into_pyarray(py).into_any(),
        )))
    }

    /// The IoU matrix of group `k` (`(D, G)` float64; empty when a side is).
    fn iou<'py>(&self, py: Python<'py>, k: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (Some(iou), Some(dts)) = (self.ev.ious.get(k), self.ev.sorted_dt.get(k)) else {
            return Ok(None);
        };
        if iou.is_empty() {
            return Ok(None);
        }
        let d = dts.len();
        let a = Array2::from_shape_vec((d, iou.len() / d), iou.clone())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Some(a.into_pyarray(py).into_any()))
    }

    /// pycocotools' `accumulate()`: `(precision, recall, scores)`.
    #[allow(clippy::too_many_arguments)]
    fn accumulate<'py>(
        &self,
        py: Python<'py>,
        k_list: Vec<usize>,
        a_list: Vec<usize>,
        m_list: Vec<usize>,
        i_list: Vec<usize>,
        i0: usize,
        a0: usize,
        k0: usize,
        dims: [usize; 5],
        rec_thrs: Vec<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let spec = sa1b_rle::eval::AccumulateSpec {
            k_list: &k_list,
            a_list: &a_list,
            m_list: &m_list,
            i_list: &i_list,
            i0,
            a0,
            k0,
            dims,
            rec_thrs: &rec_thrs,
            threads: None,
        };
        let acc = py.detach(|| sa1b_rle::eval::accumulate(&self.ev, &self.dt_score, &spec));
        let [t, r, k, a, m] = dims;
        let five = |v: Vec<f64>| -> PyResult<Bound<'py, PyAny>> {
            let x = numpy::ndarray::Array::from_shape_vec((t, r, k, a, m), v)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(x.into_pyarray(py).into_any())
        };
        let recall = numpy::ndarray::Array::from_shape_vec((t, k, a, m), acc.recall)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((
            five(acc.precision)?,
            recall.into_pyarray(py).into_any(),
            five(acc.scores)?,
        ))
    }
}

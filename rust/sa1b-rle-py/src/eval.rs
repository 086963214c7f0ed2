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

/// The evaluation of a whole `COCOeval.evaluate()`, held in Rust as `accumulate()`
/// reads it (see `sa1b_rle::eval::Evaluation`).
#[pyclass(frozen, module = "sa1b_rle._core", name = "CocoEvaluation")]
pub struct PyCocoEvaluation {
    ev: sa1b_rle::eval::Evaluation,
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

/// A side's geometry as extracted under the GIL: boxes, or the RLE dicts (kept
/// referenced, read in place while the GIL is released).
enum RawGeometry<'py> {
    Boxes(Vec<[f64; 4]>),
    Rles(Vec<crate::convert::RawRle<'py>>),
}

/// A side's arrays, extracted and checked (their lengths are checked against the
/// geometry by the core).
struct Side<'py> {
    ids: Vec<f64>,
    area: Vec<f64>,
    score: Vec<f64>,
    crowd: Vec<bool>,
    ignore: Vec<bool>,
    offsets: Vec<usize>,
    geometry: RawGeometry<'py>,
}

fn side(
    (ids, area, score, crowd, ignore, offsets, geometry): AnnotationArrays<'_>,
) -> PyResult<Side<'_>> {
    let geometry = if let Ok(boxes) = geometry.extract::<PyReadonlyArray2<'_, f64>>() {
        let v = boxes.as_array();
        if v.ncols() != 4 {
            return Err(PyValueError::new_err("boxes must have shape (N, 4)"));
        }
        RawGeometry::Boxes(
            v.rows()
                .into_iter()
                .map(|r| [r[0], r[1], r[2], r[3]])
                .collect(),
        )
    } else {
        RawGeometry::Rles(crate::convert::extract_rles(&geometry)?)
    };
    let offsets = offsets
        .as_slice()?
        .iter()
        .map(|&o| usize::try_from(o).map_err(|_| PyValueError::new_err("negative group offset")))
        .collect::<PyResult<Vec<usize>>>()?;
    Ok(Side {
        ids: ids.as_slice()?.to_vec(),
        area: area.as_slice()?.to_vec(),
        score: score.as_slice()?.to_vec(),
        crowd: crowd.as_slice()?.to_vec(),
        ignore: ignore.as_slice()?.to_vec(),
        offsets,
        geometry,
    })
}

impl Side<'_> {
    /// The core's view (RLEs borrowed from the extracted dicts).
    fn annotations(&self) -> PyResult<sa1b_rle::eval::Annotations<'_>> {
        let geometry = match &self.geometry {
            RawGeometry::Boxes(b) => sa1b_rle::eval::Geometry::Boxes(b.clone()),
            RawGeometry::Rles(r) => sa1b_rle::eval::Geometry::Masks(crate::convert::rle_refs(r)?),
        };
        Ok(sa1b_rle::eval::Annotations {
            ids: self.ids.clone(),
            area: self.area.clone(),
            score: self.score.clone(),
            crowd: self.crowd.clone(),
            ignore: self.ignore.clone(),
            geometry,
            offsets: self.offsets.clone(),
        })
    }
}

/// `(thresholds, area ranges)` as the core takes them.
fn thresholds_and_ranges(
    thresholds: &PyReadonlyArray1<'_, f64>,
    area_rng: &PyReadonlyArray2<'_, f64>,
) -> PyResult<(Vec<f64>, Vec<[f64; 2]>)> {
    let a = area_rng.as_array();
    if a.ncols() != 2 {
        return Err(PyValueError::new_err("area_rng must have shape (A, 2)"));
    }
    let rng = a.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    Ok((thresholds.as_array().to_vec(), rng))
}

/// pycocotools' `evaluate()` over flattened ground truths and detections (see
/// `sa1b_rle::eval::evaluate`): `gt` and `dt` are `(ids, area, score, crowd, ignore,
/// offsets, geometry)` with geometry a list of RLE dicts or an `(N, 4)` box array.
#[pyfunction]
#[pyo3(signature = (gt, dt, thresholds, area_rng, max_det, *, threads=None))]
pub fn coco_evaluate<'py>(
    py: Python<'py>,
    gt: AnnotationArrays<'py>,
    dt: AnnotationArrays<'py>,
    thresholds: PyReadonlyArray1<'py, f64>,
    area_rng: PyReadonlyArray2<'py, f64>,
    max_det: crate::errors::Int,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoEvaluation> {
    let threads = crate::errors::threads_arg(threads)?;
    let max_det = max_det.count("max_det", 0, usize::MAX)?;
    let (g, d) = (side(gt)?, side(dt)?);
    let (g, d) = (g.annotations()?, d.annotations()?);
    let (thresholds, rng) = thresholds_and_ranges(&thresholds, &area_rng)?;
    let params = sa1b_rle::eval::EvalParams {
        thresholds: &thresholds,
        area_rng: &rng,
        max_det,
    };
    let ev = py
        .detach(|| sa1b_rle::eval::evaluate(&g, &d, params, threads))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyCocoEvaluation { ev })
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

/// A group's `(dt, iou, entries)` (see [`coco_evaluate_group`]).
type GroupDetail<'py> = (Vec<usize>, Bound<'py, PyAny>, Vec<Entry<'py>>);

/// Everything pycocotools keeps of group `k` of flattened annotations (as
/// `coco_evaluate` takes them): `None` for a group without ground truths and
/// detections, else `(dt, iou, entries)`: the detections by score (indices into the
/// flattened detections), the `(D, G)` IoU matrix and one entry per area range,
/// `(gt, dtMatches, gtMatches, gtIgnore, dtIgnore)` (gt: indices into the flattened
/// ground truths, not ignored first; arrays as pycocotools').
#[pyfunction]
pub fn coco_evaluate_group<'py>(
    py: Python<'py>,
    gt: AnnotationArrays<'py>,
    dt: AnnotationArrays<'py>,
    k: crate::errors::Int,
    thresholds: PyReadonlyArray1<'py, f64>,
    area_rng: PyReadonlyArray2<'py, f64>,
    max_det: crate::errors::Int,
) -> PyResult<Option<GroupDetail<'py>>> {
    let max_det = max_det.count("max_det", 0, usize::MAX)?;
    let k = k.count("k", 0, usize::MAX)?;
    let (g, d) = (side(gt)?, side(dt)?);
    let (g, d) = (g.annotations()?, d.annotations()?);
    let (thresholds, rng) = thresholds_and_ranges(&thresholds, &area_rng)?;
    let params = sa1b_rle::eval::EvalParams {
        thresholds: &thresholds,
        area_rng: &rng,
        max_det,
    };
    let detail = py
        .detach(|| sa1b_rle::eval::evaluate_group(&g, &d, k, params))
        .map_err(|e| to_pyerr(&e))?;
    let Some(detail) = detail else {
        return Ok(None);
    };
    let t = thresholds.len();
    let shaped = |v: Vec<f64>, n: usize| -> PyResult<Bound<'py, PyAny>> {
        let a =
            Array2::from_shape_vec((t, n), v).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(a.into_pyarray(py).into_any())
    };
    let d_n = detail.dt.len();
    let g_n = detail.imgs.first().map_or(0, |e| e.gt.len());
    let iou = Array2::from_shape_vec((d_n, g_n), detail.ious)
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .into_pyarray(py)
        .into_any();
    let mut entries = Vec::with_capacity(detail.imgs.len());
    for e in detail.imgs {
        let gt_ig: Vec<i64> = e.gt_ignore.iter().map(|&b| i64::from(b)).collect();
        let dt_ig = Array2::from_shape_vec((t, d_n), e.dt_ignore)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        entries.push((
            e.gt,
            shaped(e.dt_matches, d_n)?,
            shaped(e.gt_matches, g_n)?,
            crate::convert::array_1d(py, gt_ig),
            dt_ig.into_pyarray(py).into_any(),
        ));
    }
    Ok(Some((detail.dt, iou, entries)))
}

#[pymethods]
impl PyCocoEvaluation {
    /// Bytes the evaluation holds.
    #[getter]
    fn nbytes(&self) -> usize {
        self.ev.heap_bytes()
    }

    /// pycocotools' `accumulate()`: `(precision, recall, scores)`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (k_list, a_list, m_list, i_list, i0, a0, k0, dims, rec_thrs, *, threads=None))]
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
        threads: Option<crate::errors::Int>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let threads = crate::errors::threads_arg(threads)?;
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
            threads,
        };
        let acc = py
            .detach(|| sa1b_rle::eval::accumulate(&self.ev, &spec))
            .map_err(|e| to_pyerr(&e))?;
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

/// `int(value) != 0` (pycocotools reads `iscrowd` with `int()`).
fn int_truth(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(i) = value.cast::<pyo3::types::PyInt>() {
        return i.is_truthy();
    }
    let builtins = pyo3::types::PyModule::import(value.py(), "builtins")?;
    builtins.getattr("int")?.call1((value,))?.is_truthy()
}

/// The columns `COCOeval` reads of annotation dicts, in one pass: `(id, area, score,
/// crowd, ignore, boxes)` (float64, float64, float64 (zeros for ground truths), bool
/// (`int(iscrowd) != 0`), bool (truth of `ignore`), `(N, 4)` float64 or None). Ground
/// truths (`gt`) give `iscrowd` and `ignore`, detections `score`; `boxes` reads `bbox`.
#[pyfunction]
#[pyo3(signature = (anns, *, gt, boxes))]
#[allow(clippy::type_complexity)]
pub fn coco_annotation_columns<'py>(
    py: Python<'py>,
    anns: &Bound<'py, pyo3::types::PyList>,
    gt: bool,
    boxes: bool,
) -> PyResult<(
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
)> {
    use pyo3::intern;
    let n = anns.len();
    let (mut ids, mut area, mut score) = (Vec::new(), Vec::new(), Vec::new());
    let (mut crowd, mut ignore, mut bbox) = (Vec::new(), Vec::new(), Vec::new());
    for v in [&mut ids, &mut area, &mut score] {
        v.try_reserve_exact(n)
            .map_err(|_| pyo3::exceptions::PyMemoryError::new_err("annotation columns"))?;
    }
    for ann in anns.iter() {
        let field = |key: &Bound<'py, pyo3::types::PyString>| ann.get_item(key);
        let id = field(intern!(py, "id"))?;
        let which = || {
            format!(
                "annotation id {}",
                id.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            )
        };
        let number = |key: &Bound<'py, pyo3::types::PyString>| -> PyResult<f64> {
            field(key)?.extract::<f64>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "{}: {} is not a number",
                    which(),
                    key
                ))
            })
        };
        ids.push(id.extract::<f64>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!("{}: id is not a number", which()))
        })?);
        area.push(number(intern!(py, "area"))?);
        if gt {
            score.push(0.0);
            crowd.push(int_truth(&field(intern!(py, "iscrowd"))?)?);
            ignore.push(field(intern!(py, "ignore"))?.is_truthy()?);
        } else {
            score.push(number(intern!(py, "score"))?);
            crowd.push(false);
            ignore.push(false);
        }
        if boxes {
            let b = field(intern!(py, "bbox"))?;
            let v: Vec<f64> = b.extract().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "{}: bbox is not a list of numbers",
                    which()
                ))
            })?;
            if v.len() != 4 {
                return Err(PyValueError::new_err(format!(
                    "{}: bbox has {} numbers, not 4",
                    which(),
                    v.len()
                )));
            }
            bbox.extend_from_slice(&v);
        }
    }
    let boxes = if boxes {
        let a = Array2::from_shape_vec((n, 4), bbox)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Some(a.into_pyarray(py).into_any())
    } else {
        None
    };
    Ok((
        crate::convert::array_1d(py, ids),
        crate::convert::array_1d(py, area),
        crate::convert::array_1d(py, score),
        crate::convert::array_1d(py, crowd),
        crate::convert::array_1d(py, ignore),
        boxes,
    ))
}

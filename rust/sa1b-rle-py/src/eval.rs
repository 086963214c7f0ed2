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

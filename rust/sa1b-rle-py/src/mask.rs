//! `sa1b_rle._core` functions behind `sa1b_rle.mask` (the pycocotools.mask API).

use numpy::ndarray::ShapeBuilder;
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use sa1b_rle::input::RleRef;
use sa1b_rle::{Error, Order, Rle, RleBatch};

use crate::convert::{array_1d, extract_rles, f_order_2d, rle_dict, rle_dicts, rle_refs, Seq};
use crate::errors::{dim_arg, to_pyerr, Int, RleError};

fn encoded(rles: &[Rle]) -> Vec<(u64, u64, Vec<u8>)> {
    rles.iter()
        .map(|r| (r.height(), r.width(), r.to_counts_string()))
        .collect()
}

/// `f(RLE views)` detached, for a list of RLE dicts: the one way from dicts to the core.
fn with_rles<'py, T: Send>(
    py: Python<'py>,
    rles: &Bound<'py, PyAny>,
    f: impl FnOnce(&[RleRef<'_>]) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let raw = extract_rles(rles)?;
    let refs = rle_refs(&raw)?;
    py.detach(|| f(&refs)).map_err(|e| to_pyerr(&e))
}

/// Encodes `n` masks of `height` x `width` held contiguously in `masks`: row-major
/// `(n, h, w)` (C order) or, with `column_major`, `(h, w, n)` Fortran order. Nonzero is
/// foreground. Returns a list of RLE dicts with bytes counts.
#[pyfunction]
#[pyo3(signature = (masks, height, width, n, *, column_major))]
pub fn encode_masks<'py>(
    py: Python<'py>,
    masks: PyReadonlyArrayDyn<'py, u8>,
    height: Int,
    width: Int,
    n: Int,
    column_major: bool,
) -> PyResult<Bound<'py, PyList>> {
    let (height, width) = (dim_arg(&height, "height")?, dim_arg(&width, "width")?);
    let n = n.count("n", 0, usize::MAX)?;
    let contiguous = if column_major {
        masks.is_fortran_contiguous()
    } else {
        masks.is_c_contiguous()
    };
    if !contiguous {
        return Err(PyValueError::new_err(
            "encode_masks needs a contiguous array in the stated order",
        ));
    }
    let data = masks.as_slice()?;
    let pixels = sa1b_rle::pixel_count(height, width).map_err(|e| to_pyerr(&e))? as usize;
    if pixels.checked_mul(n) != Some(data.len()) {
        return Err(to_pyerr(&Error::BufferSize {
            expected: pixels.saturating_mul(n),
            actual: data.len(),
        }));
    }
    let order = if column_major {
        Order::ColumnMajor
    } else {
        Order::RowMajor
    };
    let out = py
        .detach(|| -> Result<Vec<(u64, u64, Vec<u8>)>, Error> {
            let masks: Vec<&[u8]> = if pixels == 0 {
                vec![&[]; n]
            } else {
                data.chunks_exact(pixels).collect()
            };
            let batch = RleBatch::from_dense(height, width, &masks, order, None)?;
            Ok(batch
                .counts_strings(None)
                .into_iter()
                .map(|s| (height, width, s))
                .collect())
        })
        .map_err(|e| to_pyerr(&e))?;
    rle_dicts(py, &out)
}

/// Decodes a list of RLE dicts of one size into a Fortran-ordered `(h, w, n)` uint8 array.
#[pyfunction]
pub fn decode<'py>(py: Python<'py>, rles: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let raw = extract_rles(rles)?;
    if raw.is_empty() {
        return Err(RleError::new_err(
            "cannot decode an empty list: the mask size is unknown",
        ));
    }
    let refs = rle_refs(&raw)?;
    let (batch, buf) = py
        .detach(|| -> Result<_, Error> {
            let b = RleBatch::from_coco(&refs, None)?;
            let total =
                sa1b_rle::alloc::product(b.height() * b.width(), b.len() as u64, "decoded masks")?;
            let mut buf = sa1b_rle::alloc::zeroed(total, "decoded masks")?;
            b.decode_into_order(&mut buf, None, Order::ColumnMajor, true, None)?;
            Ok((b, buf))
        })
        .map_err(|e| to_pyerr(&e))?;
    let (h, w, n) = (batch.height() as usize, batch.width() as usize, batch.len());
    crate::convert::nd_array(py, (h, w, n).f(), buf)
}

/// Foreground pixel counts of a list of RLE dicts, as a uint32 array.
#[pyfunction]
pub fn area<'py>(py: Python<'py>, rles: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let areas = with_rles(py, rles, |refs| sa1b_rle::input::areas(refs, None))?;
    // Areas fit in u32: height * width was checked to.
    let a: Vec<u32> = areas.into_iter().map(|a| a as u32).collect();
    Ok(array_1d(py, a))
}

/// pycocotools' `toBbox`: an `(n, 4)` float64 array of `[x, y, w, h]`.
#[pyfunction]
pub fn to_bbox<'py>(py: Python<'py>, rles: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let boxes = with_rles(py, rles, |refs| sa1b_rle::input::bboxes(refs, None))?;
    crate::convert::rows_array(py, &boxes)
}

/// Union (or intersection) of a list of RLE dicts of one size, as one RLE dict.
#[pyfunction]
#[pyo3(signature = (rles, *, intersect))]
pub fn merge<'py>(
    py: Python<'py>,
    rles: &Bound<'py, PyAny>,
    intersect: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let r = with_rles(py, rles, |refs| sa1b_rle::merge_coco(refs, intersect))?;
    rle_dict(py, r.height(), r.width(), &r.to_counts_string())
}

/// IoU of RLE dicts, a Fortran-ordered `(n_dt, n_gt)` float64 array: the batch engine's
/// (the one IoU walk of `RleBatch.iou`), on the default thread count.
#[pyfunction]
pub fn iou_rle<'py>(
    py: Python<'py>,
    dt: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    iscrowd: Seq<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let iscrowd = iscrowd.0;
    // The same list on both sides is parsed once and passed as one batch (the core
    // then computes one triangle when there is no crowd).
    let same = dt.is(gt);
    let raw_dt = extract_rles(dt)?;
    let raw_gt = if same { Vec::new() } else { extract_rles(gt)? };
    let (refs_dt, refs_gt) = (rle_refs(&raw_dt)?, rle_refs(&raw_gt)?);
    let m = refs_dt.len();
    let n = if same { m } else { refs_gt.len() };
    let gt_refs = (!same).then_some(refs_gt.as_slice());
    let o = py
        .detach(|| sa1b_rle::coco_iou(&refs_dt, gt_refs, &iscrowd))
        .map_err(|e| iou_error(&e, m))?;
    f_order_2d(py, o, m, n)
}

/// Names the side of a failing iou operand: core indices count `dt` first, then `gt`.
/// A failed allocation (also inside an item) is a `MemoryError`.
fn iou_error(e: &Error, n_dt: usize) -> PyErr {
    let text = match e {
        Error::OutOfMemory { .. } => return to_pyerr(e),
        Error::Item { index, source } if *index >= n_dt => {
            format!("gt annotation {}: {source}", index - n_dt)
        }
        e => format!("dt {e}"),
    };
    if matches!(e.root(), Error::OutOfMemory { .. }) {
        pyo3::exceptions::PyMemoryError::new_err(text)
    } else {
        RleError::new_err(text)
    }
}

/// IoU of `(n, 4)` float64 box arrays, a Fortran-ordered `(n_dt, n_gt)` float64 array.
#[pyfunction]
pub fn iou_bbox<'py>(
    py: Python<'py>,
    dt: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    iscrowd: Seq<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let iscrowd = iscrowd.0;
    let d = crate::convert::boxes_arg(dt)?;
    let g = crate::convert::boxes_arg(gt)?;
    let (m, n) = (d.len(), g.len());
    let o = py
        .detach(|| sa1b_rle::bbox_iou(&d, &g, &iscrowd))
        .map_err(|e| to_pyerr(&e))?;
    f_order_2d(py, o, m, n)
}

/// Rasterises boxes (an `(n, 4)` float64 array) as pycocotools' `frBbox`.
#[pyfunction]
pub fn fr_bbox<'py>(
    py: Python<'py>,
    bb: &Bound<'py, PyAny>,
    h: Int,
    w: Int,
) -> PyResult<Bound<'py, PyList>> {
    let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
    let b = crate::convert::boxes_arg(bb)?;
    let out = py
        .detach(|| -> Result<Vec<(u64, u64, Vec<u8>)>, Error> {
            let rles = b
                .iter()
                .enumerate()
                .map(|(i, bb)| sa1b_rle::fr_bbox(*bb, h, w).map_err(|e| e.at(i)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(encoded(&rles))
        })
        .map_err(|e| to_pyerr(&e))?;
    rle_dicts(py, &out)
}

/// Rasterises polygons (a list of flat coordinate lists) as pycocotools' `frPoly`.
#[pyfunction]
pub fn fr_poly(
    py: Python<'_>,
    polys: Seq<Seq<f64>>,
    h: Int,
    w: Int,
) -> PyResult<Bound<'_, PyList>> {
    let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
    let polys: Vec<Vec<f64>> = polys.0.into_iter().map(|p| p.0).collect();
    let out = py
        .detach(|| -> Result<Vec<(u64, u64, Vec<u8>)>, Error> {
            let rles = polys
                .iter()
                .enumerate()
                .map(|(i, p)| sa1b_rle::polygon::fr_poly_cocoapi(p, h, w).map_err(|e| e.at(i)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(encoded(&rles))
        })
        .map_err(|e| to_pyerr(&e))?;
    rle_dicts(py, &out)
}

/// Compresses RLE dicts with list counts (each with its own size) into bytes counts.
#[pyfunction]
pub fn fr_uncompressed<'py>(
    py: Python<'py>,
    rles: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let out = with_rles(py, rles, |refs| {
        sa1b_rle::input::rles(refs, None).map(|r| encoded(&r))
    })?;
    rle_dicts(py, &out)
}

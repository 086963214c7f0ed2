//! Masks from model outputs: `RleBatch.from_logits` (its own `#[pymethods]` block) and
//! `stability_score`, reading float16, float32 or float64 scores in place.

use pyo3::prelude::*;

use crate::batch::PyRleBatch;
use crate::errors::{threads_arg, to_pyerr, Int};

/// Model outputs (logits or probabilities): float16, float32 or float64, `(N, H, W)` or
/// `(H, W)`, any array-like (CPU torch tensors too), as a C-contiguous array and its
/// `(n, h, w)`.
fn scores_arg<'py>(logits: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, [usize; 3])> {
    let np = logits.py().import("numpy")?;
    let a = np.call_method1("ascontiguousarray", (logits,))?;
    let kind: String = a.getattr("dtype")?.getattr("name")?.extract()?;
    if !matches!(kind.as_str(), "float16" | "float32" | "float64") {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "logits must be float16, float32 or float64, not {kind}"
        )));
    }
    let shape: Vec<usize> = a.getattr("shape")?.extract()?;
    let dims = match shape.as_slice() {
        [n, h, w] => [*n, *h, *w],
        [h, w] => [1, *h, *w],
        _ => {
            return Err(crate::convert::shape_error(
                "logits",
                "(N, H, W) or (H, W)",
                &shape,
            ))
        }
    };
    Ok((a, dims))
}

/// A threshold as numpy compares it with an array of `dtype` (cast to it first).
fn threshold_as(py: Python<'_>, dtype: &str, t: f64) -> PyResult<f64> {
    py.import("numpy")?
        .getattr(dtype)?
        .call1((t,))?
        .call_method0("item")?
        .extract()
}

/// A float16's value (its bits, as numpy stores it).
fn f16_value(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let man = f32::from(bits & 0x3ff);
    match exp {
        0 => sign * man * 2f32.powi(-24),
        31 if man == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + man / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// Calls `f` on the scores as a typed slice (float16 as its values in float32).
fn with_scores<R>(
    a: &Bound<'_, PyAny>,
    f32_fn: impl FnOnce(&[f32]) -> R,
    f64_fn: impl FnOnce(&[f64]) -> R,
    f16_fn: impl FnOnce(&[u16]) -> R,
) -> PyResult<R> {
    let kind: String = a.getattr("dtype")?.getattr("name")?.extract()?;
    Ok(match kind.as_str() {
        "float32" => {
            let arr: numpy::PyReadonlyArrayDyn<'_, f32> = a.extract()?;
            f32_fn(crate::convert::c_slice(&arr, "logits")?)
        }
        "float64" => {
            let arr: numpy::PyReadonlyArrayDyn<'_, f64> = a.extract()?;
            f64_fn(crate::convert::c_slice(&arr, "logits")?)
        }
        _ => {
            let view = a.call_method1("view", ("uint16",))?;
            let arr: numpy::PyReadonlyArrayDyn<'_, u16> = view.extract()?;
            f16_fn(crate::convert::c_slice(&arr, "logits")?)
        }
    })
}

/// segment-anything's `calculate_stability_score` of each mask's logits: the pixels
/// above `mask_threshold + offset` over those above `mask_threshold - offset` (float32,
/// NaN where none is), both counted in one pass.
#[pyfunction]
#[pyo3(signature = (logits, mask_threshold=0.0, offset=1.0, *, threads=None))]
pub fn stability_score<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    mask_threshold: f64,
    offset: f64,
    threads: Option<Int>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = threads_arg(threads)?;
    let (a, [_, h, w]) = scores_arg(logits)?;
    let kind: String = a.getattr("dtype")?.getattr("name")?.extract()?;
    let hi = threshold_as(py, &kind, mask_threshold + offset)?;
    let lo = threshold_as(py, &kind, mask_threshold - offset)?;
    let (h, w) = (h as u64, w as u64);
    let counts = with_scores(
        &a,
        |v| {
            let (hi, lo) = (hi as f32, lo as f32);
            py.detach(|| {
                sa1b_rle::RleBatch::count_above(h, w, v, move |x| x > hi, move |x| x > lo, threads)
            })
        },
        |v| {
            py.detach(|| {
                sa1b_rle::RleBatch::count_above(h, w, v, move |x| x > hi, move |x| x > lo, threads)
            })
        },
        |v| {
            let (hi, lo) = (hi as f32, lo as f32);
            py.detach(|| {
                sa1b_rle::RleBatch::count_above(
                    h,
                    w,
                    v,
                    move |x| f16_value(x) > hi,
                    move |x| f16_value(x) > lo,
                    threads,
                )
            })
        },
    )?
    .map_err(|e| to_pyerr(&e))?;
    // (int32 / int32 in torch: float32 of each, divided in float32.)
    let scores: Vec<f32> = counts.iter().map(|&(i, u)| i as f32 / u as f32).collect();
    Ok(crate::convert::array_1d(py, scores))
}

#[pymethods]
impl PyRleBatch {
    /// One mask per `(H, W)` of `logits` (`(N, H, W)` or `(H, W)`; float16, float32 or
    /// float64; numpy arrays or CPU torch tensors): `from_masks(logits > threshold)`
    /// without the boolean array, the threshold compared as numpy does (cast to the
    /// logits' dtype).
    #[staticmethod]
    #[pyo3(signature = (logits, threshold=0.0, *, threads=None))]
    fn from_logits(
        py: Python<'_>,
        logits: &Bound<'_, PyAny>,
        threshold: f64,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let threads = threads_arg(threads)?;
        let (a, [_, h, w]) = scores_arg(logits)?;
        let kind: String = a.getattr("dtype")?.getattr("name")?.extract()?;
        let t = threshold_as(py, &kind, threshold)?;
        let (h, w) = (h as u64, w as u64);
        let got = with_scores(
            &a,
            |v| {
                let t = t as f32;
                py.detach(|| sa1b_rle::RleBatch::from_scores(h, w, v, move |x| x > t, threads))
            },
            |v| py.detach(|| sa1b_rle::RleBatch::from_scores(h, w, v, move |x| x > t, threads)),
            |v| {
                let t = t as f32;
                py.detach(|| {
                    sa1b_rle::RleBatch::from_scores(h, w, v, move |x| f16_value(x) > t, threads)
                })
            },
        )?;
        got.map(PyRleBatch::wrap).map_err(|e| to_pyerr(&e))
    }
}

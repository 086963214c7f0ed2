//! `sa1b_rle._core` functions behind `sa1b_rle.kaggle` (the codec is `sa1b_rle::kaggle`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sa1b_rle::Order;

use crate::batch::PyRleBatch;
use crate::errors::{dim_arg, to_pyerr, Int};

fn order(column_major: bool) -> Order {
    if column_major {
        Order::ColumnMajor
    } else {
        Order::RowMajor
    }
}

/// A one-mask batch of a Kaggle string of an `h` x `w` mask.
#[pyfunction]
#[pyo3(signature = (text, h, w, *, column_major, one_indexed))]
pub fn kaggle_to_batch(
    py: Python<'_>,
    text: &str,
    h: Int,
    w: Int,
    column_major: bool,
    one_indexed: bool,
) -> PyResult<PyRleBatch> {
    let (h, w) = (dim_arg(&h, "height")?, dim_arg(&w, "width")?);
    let batch = py
        .detach(|| {
            let runs = sa1b_rle::kaggle::to_runs(text, h, w, order(column_major), one_indexed)?;
            sa1b_rle::RleBatch::from_runs(h, w, &[runs])
        })
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyRleBatch::wrap(batch))
}

/// The `(h, w)` uint8 C-contiguous mask of a Kaggle string.
#[pyfunction]
#[pyo3(signature = (text, h, w, *, column_major, one_indexed))]
pub fn kaggle_decode<'py>(
    py: Python<'py>,
    text: &str,
    h: Int,
    w: Int,
    column_major: bool,
    one_indexed: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w) = (dim_arg(&h, "height")?, dim_arg(&w, "width")?);
    let data = py
        .detach(|| sa1b_rle::kaggle::decode(text, h, w, order(column_major), one_indexed))
        .map_err(|e| to_pyerr(&e))?;
    crate::convert::nd_array(py, (h as usize, w as usize), data)
}

/// The Kaggle string of the one mask of `batch`.
#[pyfunction]
#[pyo3(signature = (batch, *, column_major, one_indexed))]
pub fn kaggle_encode(
    py: Python<'_>,
    batch: PyRef<'_, PyRleBatch>,
    column_major: bool,
    one_indexed: bool,
) -> PyResult<String> {
    let b = batch.inner();
    if b.len() != 1 {
        return Err(PyValueError::new_err(format!(
            "expected one mask, got a batch of {}",
            b.len()
        )));
    }
    py.detach(|| {
        sa1b_rle::kaggle::from_runs(
            b.runs(0),
            b.height(),
            b.width(),
            order(column_major),
            one_indexed,
        )
    })
    .map_err(|e| to_pyerr(&e))
}

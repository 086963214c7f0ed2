//! The one mapping from core errors to Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;
use sa1b_rle::Error;

create_exception!(
    _core,
    RleError,
    PyValueError,
    "Invalid RLE, polygon, box or mask (a ValueError); the message says what and where."
);

/// Converts a core error into `sa1b_rle.RleError` (a `ValueError`).
pub fn to_pyerr(e: &Error) -> PyErr {
    RleError::new_err(e.to_string())
}

//! The one mapping from core errors to Python exceptions, and the range check of integer
//! arguments.

use std::fmt;

use pyo3::create_exception;
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyInt;
use sa1b_rle::Error;

// Registered as `sa1b_rle.RleError`: where users see it, and where pickle finds it (so it
// crosses process boundaries, e.g. from a `multiprocessing` worker, as itself).
create_exception!(
    sa1b_rle,
    RleError,
    PyValueError,
    "Invalid RLE, polygon, box, mask or image (a ValueError); the message says what and where."
);

/// Converts a core error into its Python exception: `MemoryError` for an allocation that
/// failed, else `sa1b_rle.RleError` (a `ValueError`).
pub fn to_pyerr(e: &Error) -> PyErr {
    match e.root() {
        Error::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        // How to raise the limit, in Python's terms (the core names no argument).
        Error::LimitExceeded { what, .. } if what.contains("image pixels") => {
            RleError::new_err(format!(
                "{e} (pass max_pixels= or set {} to decode larger images)",
                sa1b_rle::images::MAX_PIXELS_VARIABLE
            ))
        }
        _ => RleError::new_err(e.to_string()),
    }
}

/// A Python integer argument of any size. Extraction never overflows (values beyond
/// `i64` are kept as their text), so the range check can name the parameter instead of
/// `PyO3` raising a bare `OverflowError`.
#[derive(Clone, Debug)]
pub struct Int {
    value: Option<i64>,
    text: String,
}

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<pyo3::types::PyFloat>() || !obj.hasattr("__index__")? {
            return Err(PyTypeError::new_err(format!(
                "expected an integer, not {}",
                obj.get_type().name()?
            )));
        }
        let i = obj.call_method0("__index__")?;
        let i = i.cast::<PyInt>()?;
        let value = i.extract::<i64>().ok();
        let text = match value {
            Some(v) => v.to_string(),
            None => i.str()?.to_string(),
        };
        Ok(Int { value, text })
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Int {
    /// The value if it lies in `lo..=hi`, else a `ValueError` naming `name`.
    pub fn in_range(&self, name: &str, lo: i64, hi: i64) -> PyResult<i64> {
        match self.value {
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(PyValueError::new_err(format!(
                "{name} must be in {lo}..={hi}, not {self}"
            ))),
        }
    }

    /// The value as a count in `lo..=hi`.
    pub fn count(&self, name: &str, lo: usize, hi: usize) -> PyResult<usize> {
        let clamp = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        self.in_range(name, clamp(lo), clamp(hi))
            .map(|v| v as usize)
    }

    /// The value as an `i64`, or a `ValueError` naming `name` when it does not fit.
    pub fn i64(&self, name: &str) -> PyResult<i64> {
        self.in_range(name, i64::MIN, i64::MAX)
    }
}

/// The index of `value` among `options`, else a `ValueError` naming `name` and listing
/// them (`name must be "a", "b" or "c", not 'x'`): the one wording of a choice argument.
pub fn choice(name: &str, value: &str, options: &[&str]) -> PyResult<usize> {
    if let Some(i) = options.iter().position(|&o| o == value) {
        return Ok(i);
    }
    let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    let listed = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    // (Quoted as Python's repr quotes plain text, as the Python modules' messages do.)
    let shown = if value
        .chars()
        .any(|c| c == '\'' || c == '\\' || c.is_control())
    {
        format!("{value:?}")
    } else {
        format!("'{value}'")
    };
    Err(PyValueError::new_err(format!(
        "{name} must be {listed}, not {shown}"
    )))
}

/// A `threads=` argument: `None` (the default) or a count in `1..=MAX_THREADS`.
pub fn threads_arg(threads: Option<Int>) -> PyResult<Option<usize>> {
    threads
        .map(|t| t.count("threads", 1, sa1b_rle::pool::MAX_THREADS))
        .transpose()
}

/// A mask height or width argument: a non-negative 63-bit count (a `ValueError` naming
/// it otherwise); whether height * width fits COCO's 32-bit counts is the core's check,
/// made where the size is used.
pub fn dim_arg(v: &Int, name: &str) -> PyResult<u64> {
    v.in_range(name, 0, i64::MAX).map(|n| n as u64)
}

/// The pixel limit of an image decode: the `max_pixels` argument (a positive count),
/// else the `SA1B_RLE_MAX_IMAGE_PIXELS` environment variable, else
/// [`sa1b_rle::images::DEFAULT_MAX_PIXELS`]. A bad value is a `ValueError` naming it.
pub fn max_pixels_arg(v: Option<&Int>) -> PyResult<u64> {
    if let Some(v) = v {
        return v.in_range("max_pixels", 1, i64::MAX).map(|n| n as u64);
    }
    sa1b_rle::images::max_pixels_setting().map_err(|text| {
        PyValueError::new_err(format!(
            "{} must be a positive pixel count, not {text:?}",
            sa1b_rle::images::MAX_PIXELS_VARIABLE
        ))
    })
}

//! Python objects <-> owned core inputs and outputs. Only conversion lives here.

use numpy::ndarray::{Array1, ShapeBuilder};
use numpy::IntoPyArray;
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use sa1b_rle::input::{Counts, RleRef};
use sa1b_rle::Error;

use crate::errors::{to_pyerr, RleError};

/// A numpy array of `v` in `shape` (C order, or Fortran order with `.f()`); a shape
/// that does not hold `v` (a bug, never the user's input) is a `ValueError` saying so.
pub fn nd_array<T, D, Sh>(py: Python<'_>, shape: Sh, v: Vec<T>) -> PyResult<Bound<'_, PyAny>>
where
    T: numpy::Element,
    D: numpy::ndarray::Dimension,
    Sh: Into<numpy::ndarray::StrideShape<D>>,
{
    numpy::ndarray::Array::from_shape_vec(shape, v)
        .map(|a| a.into_pyarray(py).into_any())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("internal shape error: {e}")))
}

/// The elements of a C-contiguous array argument, or a `ValueError` saying `what` must
/// be C-contiguous (the one check of every array read in place).
pub fn c_slice<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    a: &'a numpy::PyReadonlyArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("{what} must be C-contiguous"))
    })
}

/// [`c_slice`] of an array written in place.
pub fn c_slice_mut<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    a: &'a mut numpy::PyReadwriteArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a mut [T]> {
    a.as_slice_mut().map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("{what} must be C-contiguous"))
    })
}

/// An `(n, K)` array of rows (boxes: `K` = 4).
pub fn rows_array<'py, T: numpy::Element + Copy, const K: usize>(
    py: Python<'py>,
    rows: &[[T; K]],
) -> PyResult<Bound<'py, PyAny>> {
    nd_array(
        py,
        (rows.len(), K),
        rows.iter().flatten().copied().collect(),
    )
}

/// `[x, y, w, h]` or `[x0, y0, x1, y1]` boxes given as anything numpy reads as float64:
/// an `(n, 4)` array, or one box (or none) as a flat list of 4 (or 0) numbers; any other
/// shape is an `RleError` naming it. The one rule of every box argument.
pub fn boxes_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<[f64; 4]>> {
    let a = obj
        .py()
        .import("numpy")?
        .call_method1("asarray", (obj, "float64"))?;
    let a: numpy::PyReadonlyArrayDyn<'_, f64> = a.extract()?;
    let v = a.as_array();
    let shape = v.shape().to_vec();
    let ok = matches!(shape.as_slice(), [_, 4] | [0 | 4]);
    if !ok {
        // (An RleError, as pycocotools' frBbox users expect; worded as every shape.)
        let e = shape_error("boxes", "(n, 4)", &shape);
        return Err(RleError::new_err(e.value(obj.py()).to_string()));
    }
    let flat: Vec<f64> = v.iter().copied().collect();
    Ok(flat
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect())
}

/// The one wording of a wrong array shape: "`what` must have shape `expected`, not
/// (as Python prints the shape)".
pub fn shape_error(what: &str, expected: &str, got: &[usize]) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!(
        "{what} must have shape {expected}, not {}",
        shape_text(got)
    ))
}

/// A shape as Python prints a tuple: `(2, 3)`, `(5,)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A capacity to reserve for the items of `obj`: its reported length, but never more
/// than a small bound (a length reported by a Python object is not trusted: an object
/// whose `__len__` says 10**12 must not make an allocation the process cannot survive;
/// the vector grows as real items arrive).
pub fn capacity_hint(obj: &Bound<'_, PyAny>) -> usize {
    obj.len().unwrap_or(0).min(1 << 16)
}

/// A sequence argument extracted item by item, without trusting its reported length
/// (`PyO3`'s `Vec<T>` extraction pre-allocates `len()` items).
pub struct Seq<T>(pub Vec<T>);

impl<'a, 'py, T: for<'b> FromPyObject<'b, 'py>> FromPyObject<'a, 'py> for Seq<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err("expected a sequence, not a string"));
        }
        let mut out = Vec::with_capacity(capacity_hint(&obj));
        for item in obj.try_iter()? {
            out.push(item?.extract::<T>().map_err(Into::into)?);
        }
        Ok(Seq(out))
    }
}

/// The counts of one RLE dict, held so that parsing can run detached: a compressed
/// string is borrowed from its (immutable) `bytes` / `str` object, which this keeps alive.
pub enum RawCounts<'py> {
    /// A compressed counts string as `bytes`.
    Bytes(Bound<'py, PyBytes>),
    /// A compressed counts string as `str` (checked to be valid UTF-8 on extraction).
    Str(Bound<'py, PyString>),
    /// An uncompressed list of run lengths (copied: a list is mutable).
    Runs(Vec<u32>),
}

/// One RLE dict as extracted (not yet parsed).
pub struct RawRle<'py> {
    pub height: u64,
    pub width: u64,
    pub counts: RawCounts<'py>,
}

impl RawRle<'_> {
    /// The core's view of this RLE (borrowing its counts).
    pub fn as_ref(&self) -> PyResult<RleRef<'_>> {
        let counts = match &self.counts {
            RawCounts::Bytes(b) => Counts::Compressed(b.as_bytes()),
            RawCounts::Str(s) => Counts::Compressed(s.to_str()?.as_bytes()),
            RawCounts::Runs(r) => Counts::Runs(r),
        };
        Ok(RleRef {
            height: self.height,
            width: self.width,
            counts,
        })
    }
}

/// The core's views of extracted RLEs.
pub fn rle_refs<'a>(raw: &'a [RawRle<'_>]) -> PyResult<Vec<RleRef<'a>>> {
    raw.iter().map(RawRle::as_ref).collect()
}

fn value_error(index: usize, msg: &str) -> PyErr {
    RleError::new_err(format!("annotation {index}: {msg}"))
}

fn type_error(index: usize, msg: &str) -> PyErr {
    PyTypeError::new_err(format!("annotation {index}: {msg}"))
}

/// A non-negative size value (Python int or numpy integer, of any size: a huge one is
/// a `ValueError` saying so, not a `TypeError`).
fn extract_dim(v: &Bound<'_, PyAny>, index: usize, what: &str) -> PyResult<u64> {
    if let Ok(n) = v.extract::<u64>() {
        return Ok(n);
    }
    let Ok(n) = v.extract::<crate::errors::Int>() else {
        // A float size (`[6.0, 5.0]`, numpy float32) is truncated like `int()`, as
        // pycocotools' conversion to its unsigned size type does.
        if let Ok(f) = v.extract::<f64>() {
            let t = f.trunc();
            if !f.is_finite() {
                return Err(value_error(index, &format!("{what} is not finite ({f})")));
            }
            if t < 0.0 {
                return Err(value_error(index, &format!("{what} is negative ({f})")));
            }
            if t >= 2f64.powi(63) {
                return Err(value_error(index, &format!("{what} is too large ({f})")));
            }
            return Ok(t as u64);
        }
        return Err(type_error(index, &format!("{what} must be an integer")));
    };
    match n.i64(what) {
        Ok(k) if k < 0 => Err(value_error(index, &format!("{what} is negative ({n})"))),
        _ => Err(value_error(index, &format!("{what} is too large ({n})"))),
    }
}

/// `[height, width]` from a `size` entry.
pub fn extract_size(size: &Bound<'_, PyAny>, index: usize) -> PyResult<(u64, u64)> {
    if let Ok(list) = size.cast::<PyList>() {
        if list.len() == 2 {
            return Ok((
                extract_dim(&list.get_item(0)?, index, "height")?,
                extract_dim(&list.get_item(1)?, index, "width")?,
            ));
        }
    }
    if size.is_instance_of::<PyString>() || size.is_instance_of::<PyBytes>() {
        return Err(type_error(index, "'size' must be [height, width]"));
    }
    let len = size
        .len()
        .map_err(|_| type_error(index, "'size' must be [height, width]"))?;
    if len != 2 {
        return Err(value_error(
            index,
            &format!("'size' must have 2 entries [height, width], not {len}"),
        ));
    }
    Ok((
        extract_dim(&size.get_item(0)?, index, "height")?,
        extract_dim(&size.get_item(1)?, index, "width")?,
    ))
}

/// Uncompressed run lengths: integers (or integral floats, as numpy's uint32 cast accepts)
/// in 0..=2**32-1.
pub fn extract_run_list(counts: &Bound<'_, PyAny>, index: usize) -> PyResult<Vec<u32>> {
    let mut out = Vec::with_capacity(capacity_hint(counts));
    for (run, item) in counts.try_iter()?.enumerate() {
        let item = item?;
        let v: i128 = if let Ok(v) = item.extract::<i128>() {
            v
        } else if let Ok(f) = item.extract::<f64>() {
            if !f.is_finite() || f.fract() != 0.0 {
                return Err(value_error(
                    index,
                    &format!("run {run} of counts is not an integer ({f})"),
                ));
            }
            f as i128
        } else {
            return Err(type_error(
                index,
                &format!("run {run} of counts must be an integer"),
            ));
        };
        let v64 = i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
        if v < 0 {
            return Err(to_pyerr(
                &Error::NegativeRun {
                    run,
                    offset: 0,
                    value: v64,
                }
                .at(index),
            ));
        }
        let Ok(v) = u32::try_from(v) else {
            return Err(to_pyerr(
                &Error::RunOverflow {
                    run,
                    offset: 0,
                    value: v64,
                }
                .at(index),
            ));
        };
        out.push(v);
    }
    Ok(out)
}

fn get_key<'py>(
    obj: &Bound<'py, PyAny>,
    key: &Bound<'py, PyString>,
    index: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return d
            .get_item(key)?
            .ok_or_else(|| value_error(index, &format!("missing '{key}'")));
    }
    obj.get_item(key)
        .map_err(|_| type_error(index, &format!("expected an RLE dict with '{key}'")))
}

/// A counts string's UTF-8 text, or the error naming annotation `index` for one that has
/// none (a lone surrogate).
pub fn counts_text<'a>(s: &'a Bound<'_, PyString>, index: usize) -> PyResult<&'a str> {
    s.to_str().map_err(|_| {
        value_error(
            index,
            "counts is not valid text (a lone surrogate); compressed counts use only the \
             characters '0'..'o'",
        )
    })
}

/// One COCO RLE dict (`{'size': [h, w], 'counts': str | bytes | list}`) as owned data.
pub fn extract_rle<'py>(obj: &Bound<'py, PyAny>, index: usize) -> PyResult<RawRle<'py>> {
    let py = obj.py();
    let (height, width) = extract_size(&get_key(obj, intern!(py, "size"), index)?, index)?;
    let counts = get_key(obj, intern!(py, "counts"), index)?;
    let counts = if let Ok(b) = counts.cast::<PyBytes>() {
        RawCounts::Bytes(b.clone())
    } else if let Ok(s) = counts.cast::<PyString>() {
        counts_text(s, index)?;
        RawCounts::Str(s.clone())
    } else if counts.hasattr("__len__")? {
        // The size is checked first so that a huge declared size fails before any work.
        sa1b_rle::pixel_count(height, width).map_err(|e| to_pyerr(&e.at(index)))?;
        RawCounts::Runs(extract_run_list(&counts, index)?)
    } else {
        return Err(type_error(
            index,
            "'counts' must be str, bytes or a list of run lengths",
        ));
    };
    Ok(RawRle {
        height,
        width,
        counts,
    })
}

/// A list (or other sequence) of RLE dicts as owned data.
pub fn extract_rles<'py>(objs: &Bound<'py, PyAny>) -> PyResult<Vec<RawRle<'py>>> {
    if objs.is_instance_of::<PyDict>() || objs.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("expected a list of RLE dicts"));
    }
    let mut out = Vec::with_capacity(capacity_hint(objs));
    for (i, o) in objs.try_iter()?.enumerate() {
        out.push(extract_rle(&o?, i)?);
    }
    Ok(out)
}

/// `{'size': [h, w], 'counts': b'...'}` as pycocotools returns it.
pub fn rle_dict<'py>(
    py: Python<'py>,
    height: u64,
    width: u64,
    counts: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "size"), PyList::new(py, [height, width])?)?;
    d.set_item(intern!(py, "counts"), PyBytes::new(py, counts))?;
    Ok(d)
}

/// A list of RLE dicts from (height, width, counts string) triples.
pub fn rle_dicts<'py>(
    py: Python<'py>,
    encoded: &[(u64, u64, Vec<u8>)],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (h, w, s) in encoded {
        list.append(rle_dict(py, *h, *w, s)?)?;
    }
    Ok(list)
}

/// A Fortran-ordered `(rows, cols)` float64 array from column-major data.
pub fn f_order_2d(
    py: Python<'_>,
    data: Vec<f64>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyAny>> {
    nd_array(py, (rows, cols).f(), data)
}

/// A 1-D array owning `data`.
pub fn array_1d<T: numpy::Element>(py: Python<'_>, data: Vec<T>) -> Bound<'_, PyAny> {
    Array1::from_vec(data).into_pyarray(py).into_any()
}

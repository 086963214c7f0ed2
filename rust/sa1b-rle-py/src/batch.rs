//! `sa1b_rle._core.RleBatch` and the thread-count functions: the batch engine's binding,
//! with the counts-buffer functions (Arrow-style buffers of counts strings, in and out).
//!
//! Over 400 lines: `RleBatch`'s constructors, conversions and engine methods (decode,
//! IoU, NMS, pickling) kept in one `#[pymethods]` block; its operations on runs (set
//! operations, geometry) are a second block in `ops.rs` (`PyO3`'s `multiple-pymethods`).

use numpy::ndarray::{ArrayView2, Axis};
use numpy::{PyArray3, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PySlice, PyString, PyTuple};
use sa1b_rle::{Error, Order};
use std::sync::Arc;

use crate::convert::{array_1d, extract_rles, rle_refs, Seq};
use crate::errors::{dim_arg, threads_arg, to_pyerr, Int};

/// N masks of one size (H, W), parsed once and held in Rust.
#[pyclass(frozen, module = "sa1b_rle._core", name = "RleBatch")]
pub struct PyRleBatch {
    /// Shared with the `Sa1bImage` it may come from (the batch is immutable).
    inner: Arc<sa1b_rle::RleBatch>,
}

impl PyRleBatch {
    pub(crate) fn wrap(inner: sa1b_rle::RleBatch) -> Self {
        PyRleBatch {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn shared(inner: Arc<sa1b_rle::RleBatch>) -> Self {
        PyRleBatch { inner }
    }

    pub(crate) fn inner(&self) -> &sa1b_rle::RleBatch {
        &self.inner
    }

    /// [`PyRleBatch::from_coco`] with a checked thread count.
    pub(crate) fn of_coco(
        py: Python<'_>,
        rles: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let raw = extract_rles(rles)?;
        let refs = rle_refs(&raw)?;
        let inner = py
            .detach(|| sa1b_rle::RleBatch::from_coco(&refs, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok(Self::wrap(inner))
    }
}

/// Indices into a batch of `len` masks from a Python int sequence or numpy array
/// (negative ones count from the end).
pub(crate) fn extract_indices(obj: &Bound<'_, PyAny>, len: usize) -> PyResult<Vec<usize>> {
    let np = obj.py().import("numpy")?;
    let a = np.call_method1("asarray", (obj,))?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind == "b" {
        let flags = a.call_method1("ravel", ())?;
        let n: usize = flags.len()?;
        if n != len {
            return Err(PyIndexError::new_err(format!(
                "boolean index has {n} entries for a batch of {len} masks"
            )));
        }
        let nz = np.call_method1("flatnonzero", (flags,))?;
        return nz.call_method0("tolist")?.extract();
    }
    if a.getattr("size")?.extract::<usize>()? == 0 {
        return Ok(Vec::new());
    }
    if kind == "O" && a.getattr("ndim")?.extract::<usize>()? == 1 {
        // Python ints beyond 64 bits (numpy keeps them as objects): out of range.
        let items = a.call_method0("tolist")?;
        let mut out = Vec::with_capacity(crate::convert::capacity_hint(&items));
        for item in items.try_iter()? {
            let i: Int = item?.extract().map_err(|_| {
                PyTypeError::new_err(
                    "indices must be integers (or a boolean mask of the batch's length)",
                )
            })?;
            let Ok(i) = i.i64("index") else {
                return Err(PyIndexError::new_err(format!(
                    "index {i} is out of range for a batch of {len} masks"
                )));
            };
            out.push(normalize_index(i128::from(i), len)?);
        }
        return Ok(out);
    }
    if kind != "i" && kind != "u" {
        return Err(PyTypeError::new_err(
            "indices must be integers (or a boolean mask of the batch's length)",
        ));
    }
    if a.getattr("ndim")?.extract::<usize>()? != 1 {
        return Err(PyIndexError::new_err("indices must be one-dimensional"));
    }
    let raw: Vec<i128> = a.call_method0("tolist")?.extract()?;
    raw.into_iter().map(|i| normalize_index(i, len)).collect()
}

/// [`sa1b_rle::resolve_index`] as an `IndexError`.
fn normalize_index(i: i128, len: usize) -> PyResult<usize> {
    sa1b_rle::resolve_index(i, len).ok_or_else(|| {
        PyIndexError::new_err(format!(
            "index {i} is out of range for a batch of {len} masks"
        ))
    })
}

/// Truthiness of each entry (`iscrowd` lists of bools or 0/1 ints).
fn extract_flags(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<bool>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    obj.try_iter()?.map(|x| x?.is_truthy()).collect()
}

/// A uint8 array of masks: a bool or uint8 array as it is (no copy), another numeric one
/// as `!= 0` (as `mask.encode`); `TypeError` for other dtypes.
fn as_u8_array<'py>(arr: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<u8>>> {
    let np = arr.py().import("numpy")?;
    let a = if arr.is_instance(&np.getattr("ndarray")?)? {
        arr.clone()
    } else {
        np.call_method1("asarray", (arr,))?
    };
    let dtype = a.getattr("dtype")?;
    let name: String = dtype.getattr("name")?.extract()?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    // As `mask.encode`: uint8 and bool as they are, any other number nonzero = foreground.
    let a = match (name.as_str(), kind.as_str()) {
        ("uint8", _) => a,
        ("bool", _) => a.call_method1("view", ("uint8",))?,
        (_, "i" | "u" | "f" | "c") => np
            .call_method1("not_equal", (&a, 0))?
            .call_method1("view", ("uint8",))?,
        (other, _) => {
            return Err(PyTypeError::new_err(format!(
                "masks must be a numeric or bool array, not {other}"
            )))
        }
    };
    Ok(a.cast_into::<PyArrayDyn<u8>>()?)
}

#[pymethods]
impl PyRleBatch {
    /// A batch from COCO RLE dicts (`counts` as str, bytes or a list of run lengths).
    #[staticmethod]
    #[pyo3(signature = (rles, *, threads=None))]
    fn from_coco(py: Python<'_>, rles: &Bound<'_, PyAny>, threads: Option<Int>) -> PyResult<Self> {
        Self::of_coco(py, rles, threads_arg(threads)?)
    }

    /// A batch from compressed counts strings (str or bytes), all of size (h, w).
    #[staticmethod]
    #[pyo3(signature = (counts, h, w, *, threads=None))]
    fn from_strings(
        py: Python<'_>,
        counts: &Bound<'_, PyAny>,
        h: Int,
        w: Int,
        threads: Option<Int>,
    ) -> PyResult<Self> {
        let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
        let threads = threads_arg(threads)?;
        if counts.is_instance_of::<PyString>() || counts.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(
                "from_strings expects a list of counts strings, not one string",
            ));
        }
        // The strings are held (immutable bytes / str objects) and read in place.
        let mut held = Vec::with_capacity(crate::convert::capacity_hint(counts));
        for s in counts.try_iter()? {
            held.push(s?);
        }
        let mut views: Vec<&[u8]> = Vec::with_capacity(held.len());
        for (i, s) in held.iter().enumerate() {
            if let Ok(b) = s.cast::<PyBytes>() {
                views.push(b.as_bytes());
            } else if let Ok(t) = s.cast::<PyString>() {
                views.push(crate::convert::counts_text(t, i)?.as_bytes());
            } else {
                return Err(PyTypeError::new_err(format!(
                    "annotation {i}: counts must be str or bytes"
                )));
            }
        }
        let inner = py
            .detach(|| sa1b_rle::RleBatch::from_counts_strings(h, w, &views, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok(Self::wrap(inner))
    }

    /// Encodes masks: an (N, H, W) or (H, W) array of any numeric or bool dtype in any
    /// memory order (nonzero is foreground, as in `mask.encode`), in parallel.
    #[staticmethod]
    #[pyo3(signature = (masks, *, threads=None))]
    fn from_masks(
        py: Python<'_>,
        masks: &Bound<'_, PyAny>,
        threads: Option<Int>,
    ) -> PyResult<Self> {
        let threads = threads_arg(threads)?;
        let arr = as_u8_array(masks)?;
        let arr = match arr.ndim() {
            2 => arr.call_method1("reshape", ((1, arr.shape()[0], arr.shape()[1]),))?,
            3 => arr.into_any(),
            _ => {
                return Err(crate::convert::shape_error(
                    "masks",
                    "(N, H, W) or (H, W)",
                    arr.shape(),
                ))
            }
        };
        let arr = arr.cast_into::<PyArrayDyn<u8>>()?;
        let (n, h, w) = (arr.shape()[0], arr.shape()[1], arr.shape()[2]);
        let readonly = arr.readonly();
        let view = readonly.as_array();
        let encode = |slices: Vec<&[u8]>, order| {
            py.detach(|| {
                sa1b_rle::RleBatch::from_dense(h as u64, w as u64, &slices, order, threads)
            })
            .map_err(|e| to_pyerr(&e))
        };
        // Each mask contiguous row-major or column-major (e.g. a transposed pycocotools
        // decode) is read in place; anything else is copied once to C order.
        let strides = view.strides();
        if let Some(order) = Order::of_strides(h, w, strides[1], strides[2]) {
            let slices = (0..n)
                .map(|i| {
                    let m: ArrayView2<'_, u8> =
                        view.index_axis(Axis(0), i).into_dimensionality().ok()?;
                    match order {
                        Order::RowMajor => m.to_slice(),
                        Order::ColumnMajor => m.reversed_axes().to_slice(),
                    }
                })
                .collect::<Option<Vec<&[u8]>>>();
            if let Some(slices) = slices {
                return Ok(Self::wrap(encode(slices, order)?));
            }
        }
        let copy = py
            .import("numpy")?
            .call_method1("ascontiguousarray", (&arr,))?
            .cast_into::<PyArrayDyn<u8>>()?;
        let ro = copy.readonly();
        let data = ro.as_slice()?;
        let pixels = h * w;
        let slices: Vec<&[u8]> = (0..n)
            .map(|i| &data[i * pixels..(i + 1) * pixels])
            .collect();
        Ok(Self::wrap(encode(slices, Order::RowMajor)?))
    }

    /// One mask per entry of `polys` (a list of flat polygons, merged as COCO does).
    #[staticmethod]
    #[pyo3(signature = (polys, h, w, *, threads=None))]
    fn from_polygons(
        py: Python<'_>,
        polys: &Bound<'_, PyAny>,
        h: Int,
        w: Int,
        threads: Option<Int>,
    ) -> PyResult<Self> {
        let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
        let threads = threads_arg(threads)?;
        let polys: Seq<Seq<Seq<f64>>> = polys.extract().map_err(|_| {
            PyTypeError::new_err(
                "polys must hold one entry per mask, each a list of flat polygons \
                 [x0, y0, x1, y1, ...] (COCO's polygon segmentation)",
            )
        })?;
        let polys: Vec<Vec<Vec<f64>>> = polys
            .0
            .into_iter()
            .map(|m| m.0.into_iter().map(|p| p.0).collect())
            .collect();
        let inner = py
            .detach(|| sa1b_rle::RleBatch::from_polygons(h, w, &polys, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok(Self::wrap(inner))
    }

    /// One mask per box `[x, y, w, h]` of an (N, 4) array-like.
    #[staticmethod]
    #[pyo3(signature = (boxes, h, w, *, threads=None))]
    fn from_boxes(
        py: Python<'_>,
        boxes: &Bound<'_, PyAny>,
        h: Int,
        w: Int,
        threads: Option<Int>,
    ) -> PyResult<Self> {
        let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
        let threads = threads_arg(threads)?;
        let bx = crate::convert::boxes_arg(boxes)?;
        let inner = py
            .detach(|| sa1b_rle::RleBatch::from_boxes(h, w, &bx, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok(Self::wrap(inner))
    }

    /// (N, H, W).
    #[getter]
    fn shape(&self) -> (usize, u64, u64) {
        (self.inner.len(), self.inner.height(), self.inner.width())
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let (n, h, w) = self.shape();
        format!("RleBatch(n={n}, height={h}, width={w})")
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyRleBatch>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    /// A one-mask batch for an int; a batch of the selected masks for a slice, an
    /// integer sequence/array or a boolean mask.
    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let len = self.inner.len();
        let indices: Vec<usize> =
            if key.is_instance_of::<PyInt>() && !key.is_instance_of::<pyo3::types::PyBool>() {
                vec![normalize_index(key.extract::<i128>()?, len)?]
            } else if let Some(i) = scalar_index(key) {
                // A numpy integer scalar or 0-d integer array: as a Python int.
                vec![normalize_index(i, len)?]
            } else if let Ok(s) = key.cast::<PySlice>() {
                let ix = s.indices(len as isize)?;
                (0..ix.slicelength)
                    .map(|k| (ix.start + k as isize * ix.step) as usize)
                    .collect()
            } else {
                extract_indices(key, len)?
            };
        Ok(Self::wrap(
            self.inner.select(&indices).map_err(|e| to_pyerr(&e))?,
        ))
    }

    /// Foreground pixels per mask, int64 (N,).
    #[pyo3(signature = (*, threads=None))]
    fn area<'py>(&self, py: Python<'py>, threads: Option<Int>) -> PyResult<Bound<'py, PyAny>> {
        let threads = threads_arg(threads)?;
        let a: Vec<i64> = py
            .detach(|| self.inner.area(threads))
            .into_iter()
            .map(|a| a as i64)
            .collect();
        Ok(array_1d(py, a))
    }

    /// pycocotools' toBbox `[x, y, w, h]` per mask, float64 (N, 4).
    #[pyo3(signature = (*, threads=None))]
    fn bbox<'py>(&self, py: Python<'py>, threads: Option<Int>) -> PyResult<Bound<'py, PyAny>> {
        let threads = threads_arg(threads)?;
        let boxes = py.detach(|| self.inner.bbox(threads));
        crate::convert::rows_array(py, &boxes)
    }

    /// Decodes into (n, H, W) uint8, C-contiguous: a new array, or `out`.
    #[pyo3(signature = (*, out=None, indices=None, threads=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        out: Option<&Bound<'py, PyAny>>,
        indices: Option<&Bound<'py, PyAny>>,
        threads: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = threads_arg(threads)?;
        let b = &self.inner;
        let indices = match indices.filter(|i| !i.is_none()) {
            Some(ix) => Some(extract_indices(ix, b.len())?),
            None => None,
        };
        let n = indices.as_ref().map_or(b.len(), Vec::len);
        let (h, w) = (b.height() as usize, b.width() as usize);
        if let Some(out) = out.filter(|o| !o.is_none()) {
            let Ok(arr) = out.cast::<PyArray3<u8>>() else {
                return Err(PyTypeError::new_err(format!(
                    "out must be a uint8 numpy array of shape ({n}, {h}, {w})"
                )));
            };
            if arr.shape() != [n, h, w] {
                let want = format!("({n}, {h}, {w})");
                return Err(crate::convert::shape_error("out", &want, arr.shape()));
            }
            let mut rw = arr
                .try_readwrite()
                .map_err(|e| PyValueError::new_err(format!("out is not writeable: {e}")))?;
            let slice = crate::convert::c_slice_mut(&mut rw, "out")?;
            py.detach(|| b.decode_into(slice, indices.as_deref(), false, threads))
                .map_err(|e| to_pyerr(&e))?;
            return Ok(out.clone());
        }
        let total = n
            .checked_mul(h * w)
            .ok_or_else(|| PyMemoryError::new_err("decoded masks would not fit in memory"))?;
        let buf = py
            .detach(|| -> Option<Result<Vec<u8>, Error>> {
                let mut buf = sa1b_rle::zeroed_buffer(total)?;
                Some(
                    b.decode_into(&mut buf, indices.as_deref(), true, threads)
                        .map(|()| buf),
                )
            })
            .ok_or_else(|| {
                PyMemoryError::new_err(format!(
                    "cannot allocate {total} bytes for {n} decoded {h}x{w} masks"
                ))
            })?
            .map_err(|e| to_pyerr(&e))?;
        crate::convert::nd_array(py, (n, h, w), buf)
    }

    /// IoU with `other` (ground truth), float64 (N, M), as pycocotools' iou.
    #[pyo3(signature = (other, *, iscrowd=None, threads=None))]
    fn iou<'py>(
        slf: &Bound<'py, Self>,
        other: &Bound<'py, PyAny>,
        iscrowd: Option<&Bound<'py, PyAny>>,
        threads: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let threads = threads_arg(threads)?;
        let given = iscrowd.is_some_and(|c| !c.is_none());
        let crowd = extract_flags(iscrowd)?;
        // The ground truth may also be a list of COCO RLE dicts (none: an (N, 0) result).
        let converted;
        let other = if let Ok(b) = other.cast::<PyRleBatch>() {
            b.clone()
        } else {
            let mut g = Self::of_coco(py, other, threads)?;
            if g.inner.is_empty() {
                let (h, w) = (slf.get().inner.height(), slf.get().inner.width());
                g = Self::wrap(sa1b_rle::RleBatch::new(h, w).map_err(|e| to_pyerr(&e))?);
            }
            converted = Bound::new(py, g)?;
            converted
        };
        // An iscrowd that is given has one flag per ground truth (as mask.iou requires);
        // None means no crowd.
        if given && crowd.len() != other.get().inner.len() {
            return Err(to_pyerr(&Error::ArgumentLength {
                what: "iscrowd",
                per: "ground-truth mask",
                expected: other.get().inner.len(),
                actual: crowd.len(),
            }));
        }
        let (d, g) = (&slf.get().inner, &other.get().inner);
        let o = py
            .detach(|| d.iou(g, &crowd, threads))
            .map_err(|e| to_pyerr(&e))?;
        crate::convert::nd_array(py, (d.len(), g.len()), o)
    }

    /// Greedy mask NMS: int64 indices of the masks kept, highest score first (ties:
    /// lower index first); a mask is dropped when its IoU with one kept is above
    /// `iou_threshold`; at most `max_keep`.
    #[pyo3(signature = (scores, iou_threshold, *, max_keep=None, threads=None))]
    fn nms<'py>(
        &self,
        py: Python<'py>,
        scores: &Bound<'py, PyAny>,
        iou_threshold: f64,
        max_keep: Option<Int>,
        threads: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = threads_arg(threads)?;
        let (scores, max_keep) = nms_args(scores, iou_threshold, max_keep)?;
        let kept = py
            .detach(|| self.inner.nms(&scores, iou_threshold, max_keep, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok(array_1d(py, kept.into_iter().map(|i| i as i64).collect()))
    }

    /// The union (or intersection) of all masks, as a one-mask batch.
    #[pyo3(signature = (*, intersect=false))]
    fn merge(&self, py: Python<'_>, intersect: bool) -> Self {
        Self::wrap(py.detach(|| self.inner.merge(intersect)))
    }

    /// Each mask's inner boundary band, as boundary-iou-api's `mask_to_boundary`.
    #[pyo3(signature = (dilation_ratio=0.02, *, threads=None))]
    fn boundary(
        &self,
        py: Python<'_>,
        dilation_ratio: f64,
        threads: Option<Int>,
    ) -> PyResult<Self> {
        let threads = threads_arg(threads)?;
        if !dilation_ratio.is_finite() {
            return Err(PyValueError::new_err(format!(
                "dilation_ratio must be a finite number, not {dilation_ratio}"
            )));
        }
        py.detach(|| self.inner.boundary(dilation_ratio, threads))
            .map(Self::wrap)
            .map_err(|e| to_pyerr(&e))
    }

    /// JSON-ready COCO RLE dicts: `{"size": [H, W], "counts": str}` (or bytes, as
    /// pycocotools returns, with `counts="bytes"`).
    #[pyo3(signature = (*, counts="str", threads=None))]
    fn to_coco<'py>(
        &self,
        py: Python<'py>,
        counts: &str,
        threads: Option<Int>,
    ) -> PyResult<Bound<'py, PyList>> {
        let as_bytes = crate::errors::choice("counts", counts, &["str", "bytes"])? == 1;
        let threads = threads_arg(threads)?;
        let strings = py.detach(|| self.inner.counts_strings(threads));
        let (h, w) = (self.inner.height(), self.inner.width());
        let list = PyList::empty(py);
        for s in &strings {
            let d = PyDict::new(py);
            d.set_item(pyo3::intern!(py, "size"), PyList::new(py, [h, w])?)?;
            if as_bytes {
                d.set_item(pyo3::intern!(py, "counts"), PyBytes::new(py, s))?;
            } else {
                // Counts strings are ASCII ('0'..'o').
                let text =
                    std::str::from_utf8(s).map_err(|e| PyValueError::new_err(e.to_string()))?;
                d.set_item(pyo3::intern!(py, "counts"), PyString::new(py, text))?;
            }
            list.append(d)?;
        }
        Ok(list)
    }

    /// Pickling: the counts strings as "offsets + data" buffers (see `CountsBuffers`).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let b = &slf.get().inner;
        let buf = py.detach(|| b.counts_buffers(None));
        let ctor = slf.get_type().getattr("_from_pickle")?;
        let args = (
            b.height(),
            b.width(),
            PyBytes::new(py, &buf.offsets_le_bytes()),
            PyBytes::new(py, &buf.data),
        );
        PyTuple::new(py, [ctor.into_any(), args.into_pyobject(py)?.into_any()])
    }

    /// Inverse of `__reduce__` (validates everything, as any constructor).
    #[staticmethod]
    fn _from_pickle(py: Python<'_>, h: Int, w: Int, offsets: &[u8], data: &[u8]) -> PyResult<Self> {
        let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
        let inner = py
            .detach(|| {
                let offsets = sa1b_rle::CountsBuffers::offsets_from_le_bytes(offsets)?;
                sa1b_rle::RleBatch::from_counts_buffers(h, w, &offsets, data, None)
            })
            .map_err(|e| to_pyerr(&e))?;
        Ok(Self::wrap(inner))
    }
}

/// The scores (as float64) and `max_keep` of an NMS call, checked.
pub(crate) fn nms_args(
    scores: &Bound<'_, PyAny>,
    iou_threshold: f64,
    max_keep: Option<Int>,
) -> PyResult<(Vec<f64>, Option<usize>)> {
    if iou_threshold.is_nan() {
        return Err(PyValueError::new_err(
            "iou_threshold must be a number, not NaN",
        ));
    }
    let max_keep = max_keep
        .map(|m| m.count("max_keep", 0, usize::MAX))
        .transpose()?;
    let a = scores
        .py()
        .import("numpy")?
        .call_method1("asarray", (scores, "float64"))?;
    let a: numpy::PyReadonlyArrayDyn<'_, f64> = a.extract()?;
    if a.ndim() != 1 {
        return Err(crate::convert::shape_error(
            "scores",
            "(n,) (one-dimensional)",
            a.shape(),
        ));
    }
    Ok((a.as_array().iter().copied().collect(), max_keep))
}

/// Greedy NMS of `[x0, y0, x1, y1]` boxes with torchvision's IoU (SAM's post-processing):
/// int64 indices kept, highest score first.
#[pyfunction]
#[pyo3(signature = (boxes, scores, iou_threshold, *, max_keep=None))]
pub fn box_nms<'py>(
    py: Python<'py>,
    boxes: &Bound<'py, PyAny>,
    scores: &Bound<'py, PyAny>,
    iou_threshold: f64,
    max_keep: Option<Int>,
) -> PyResult<Bound<'py, PyAny>> {
    let (scores, max_keep) = nms_args(scores, iou_threshold, max_keep)?;
    let bx = crate::convert::boxes_arg(boxes)?;
    // Signals (Ctrl-C) are looked at every few thousand candidates, with the GIL taken
    // back for the look; the handler's exception (KeyboardInterrupt) is raised.
    let mut signal: Option<PyErr> = None;
    let kept = py.detach(|| {
        sa1b_rle::box_nms_checked(&bx, &scores, iou_threshold, max_keep, || {
            // (The method itself does not fit: its lifetime is not general enough.)
            #[allow(clippy::redundant_closure_for_method_calls)]
            let checked = Python::attach(|py| py.check_signals());
            signal = checked.err();
            signal.is_some()
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    let kept = kept.map_err(|e| to_pyerr(&e))?;
    Ok(array_1d(py, kept.into_iter().map(|i| i as i64).collect()))
}

/// Sets the default thread count of batch operations in this process (0: back to the
/// default).
#[pyfunction]
pub fn set_num_threads(n: Int) -> PyResult<()> {
    sa1b_rle::pool::set_num_threads(n.count("n", 0, sa1b_rle::pool::MAX_THREADS)?);
    Ok(())
}

/// What is wrong with `SA1B_RLE_NUM_THREADS`, if it is set to something other than a
/// thread count (it is then ignored); the package warns about it at import.
#[pyfunction]
pub fn threads_env_problem() -> Option<String> {
    sa1b_rle::pool::env_problem()
}

/// The most threads one call may use (`threads=` and `set_num_threads` above it are
/// refused).
#[pyfunction]
pub fn max_threads() -> usize {
    sa1b_rle::pool::MAX_THREADS
}

/// The thread count a batch operation without `threads=` uses.
#[pyfunction]
pub fn get_num_threads() -> usize {
    sa1b_rle::pool::num_threads(None)
}

/// `key.__index__()` for an integer-like object that is not a bool, a list or an array
/// of one dimension or more (numpy integer scalars, 0-d integer arrays), as Python's
/// sequences index with it; None otherwise.
fn scalar_index(key: &Bound<'_, PyAny>) -> Option<i128> {
    if key.is_instance_of::<pyo3::types::PyBool>()
        || key.is_instance_of::<pyo3::types::PyList>()
        || key.is_instance_of::<pyo3::types::PyTuple>()
        || key
            .getattr("ndim")
            .and_then(|d| d.extract::<usize>())
            .is_ok_and(|d| d > 0)
    {
        return None;
    }
    // The numpy bool scalar has no integer meaning here (as for Python's lists).
    if key
        .get_type()
        .name()
        .is_ok_and(|n| n == "bool" || n == "bool_")
    {
        return None;
    }
    key.call_method0("__index__").ok()?.extract::<i128>().ok()
}

/// The run lengths of a compressed counts string of an `h` x `w` mask (validated).
#[pyfunction]
pub fn counts_to_runs(counts: &[u8], h: Int, w: Int) -> PyResult<Vec<u32>> {
    let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
    sa1b_rle::Rle::from_counts_str(h, w, counts)
        .map(sa1b_rle::Rle::into_counts)
        .map_err(|e| to_pyerr(&e))
}

/// The compressed counts strings of a batch as Arrow-style buffers: `(offsets, data)`,
/// int64 `(n + 1,)` and uint8, string `k` being `data[offsets[k]:offsets[k + 1]]`.
#[pyfunction]
#[pyo3(signature = (batch, threads=None))]
pub fn counts_buffers<'py>(
    py: Python<'py>,
    batch: PyRef<'py, PyRleBatch>,
    threads: Option<Int>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let b = batch.inner();
    let threads = threads_arg(threads)?;
    let buf = py.detach(|| b.counts_buffers(threads));
    Ok((array_1d(py, buf.offsets), array_1d(py, buf.data)))
}

/// A batch from Arrow-style counts buffers (see `counts_buffers`), every string
/// validated (errors name its index).
#[pyfunction]
#[pyo3(signature = (offsets, data, h, w, threads=None))]
pub fn batch_from_counts_buffers(
    py: Python<'_>,
    offsets: numpy::PyReadonlyArray1<'_, i64>,
    data: numpy::PyReadonlyArray1<'_, u8>,
    h: Int,
    w: Int,
    threads: Option<Int>,
) -> PyResult<PyRleBatch> {
    let (height, width) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
    let threads = threads_arg(threads)?;
    let offsets = crate::convert::c_slice(&offsets, "offsets")?;
    let data = crate::convert::c_slice(&data, "data")?;
    let batch = py
        .detach(|| sa1b_rle::RleBatch::from_counts_buffers(height, width, offsets, data, threads))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyRleBatch::wrap(batch))
}

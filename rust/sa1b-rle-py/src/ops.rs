//! `RleBatch`'s operations on runs (set operations, geometry, measures): a second
//! `#[pymethods]` block of the class (`PyO3`'s `multiple-pymethods`), each a call into
//! `sa1b_rle::RleBatch` with the GIL released.

use pyo3::prelude::*;
use sa1b_rle::ops::{SetOp, Shape};
use sa1b_rle::{Geometry, Morphology};

use crate::batch::PyRleBatch;
use crate::errors::{threads_arg, to_pyerr, Int};

impl PyRleBatch {
    fn set_op(&self, py: Python<'_>, other: &PyRleBatch, op: SetOp) -> PyResult<PyRleBatch> {
        let (a, b) = (self.inner(), other.inner());
        py.detach(|| a.combine(b, op, None))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }

    fn transform(&self, py: Python<'_>, g: Geometry, threads: Option<Int>) -> PyResult<PyRleBatch> {
        let threads = threads_arg(threads)?;
        let b = self.inner();
        py.detach(|| b.geometry(g, threads))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }
}

impl PyRleBatch {
    fn morph(
        &self,
        py: Python<'_>,
        op: Morphology,
        radius: &Int,
        shape: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let threads = threads_arg(threads)?;
        let radius = radius.in_range("radius", 0, i64::from(u32::MAX))? as u64;
        let shapes = [Shape::Square, Shape::Cross, Shape::Disk];
        let shape = shapes[crate::errors::choice("shape", shape, &["square", "cross", "disk"])?];
        let b = self.inner();
        py.detach(|| b.morphology(op, radius, shape, threads))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }
}

/// A `connectivity=` argument: 8 (the default) or 4; whether it is 8.
fn eight_arg(connectivity: Option<Int>) -> PyResult<bool> {
    match connectivity
        .as_ref()
        .map(|c| c.in_range("connectivity", 4, 8))
    {
        None | Some(Ok(8)) => Ok(true),
        Some(Ok(4)) => Ok(false),
        Some(_) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "connectivity must be 4 or 8, not {}",
            connectivity.map_or(String::new(), |c| c.to_string())
        ))),
    }
}

/// A non-negative size argument (a `ValueError` naming it otherwise).
fn size_arg(v: &Int, name: &str) -> PyResult<u64> {
    v.in_range(name, 0, i64::from(u32::MAX)).map(|n| n as u64)
}

#[pymethods]
impl PyRleBatch {
    /// `a | b` mask by mask (a one-mask batch broadcasts).
    fn __or__(&self, py: Python<'_>, other: PyRef<'_, PyRleBatch>) -> PyResult<PyRleBatch> {
        self.set_op(py, &other, SetOp::Or)
    }

    /// `a & b`.
    fn __and__(&self, py: Python<'_>, other: PyRef<'_, PyRleBatch>) -> PyResult<PyRleBatch> {
        self.set_op(py, &other, SetOp::And)
    }

    /// `a ^ b`.
    fn __xor__(&self, py: Python<'_>, other: PyRef<'_, PyRleBatch>) -> PyResult<PyRleBatch> {
        self.set_op(py, &other, SetOp::Xor)
    }

    /// `a - b`: in `a` and not in `b`.
    fn __sub__(&self, py: Python<'_>, other: PyRef<'_, PyRleBatch>) -> PyResult<PyRleBatch> {
        self.set_op(py, &other, SetOp::AndNot)
    }

    /// `~a`: each mask's complement.
    fn __invert__(&self, py: Python<'_>) -> PyResult<PyRleBatch> {
        let b = self.inner();
        py.detach(|| b.invert(None))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }

    /// Rows reversed (numpy's `flipud` of each mask).
    #[pyo3(signature = (*, threads=None))]
    fn flipud(&self, py: Python<'_>, threads: Option<Int>) -> PyResult<PyRleBatch> {
        self.transform(py, Geometry::FlipUd, threads)
    }

    /// Columns reversed (numpy's `fliplr`).
    #[pyo3(signature = (*, threads=None))]
    fn fliplr(&self, py: Python<'_>, threads: Option<Int>) -> PyResult<PyRleBatch> {
        self.transform(py, Geometry::FlipLr, threads)
    }

    /// Rows and columns exchanged: `(N, W, H)`.
    #[pyo3(signature = (*, threads=None))]
    fn transpose(&self, py: Python<'_>, threads: Option<Int>) -> PyResult<PyRleBatch> {
        self.transform(py, Geometry::Transpose, threads)
    }

    /// numpy's `rot90(masks, k, axes=(1, 2))`.
    #[pyo3(signature = (k=None, *, threads=None))]
    fn rot90(&self, py: Python<'_>, k: Option<Int>, threads: Option<Int>) -> PyResult<PyRleBatch> {
        let k = k.map_or(Ok(1), |k| k.i64("k"))?;
        self.transform(py, Geometry::Rot90(k), threads)
    }

    /// The box at column `x`, row `y`, `w` columns by `h` rows (inside the image).
    #[pyo3(signature = (x, y, w, h, *, threads=None))]
    fn crop(
        &self,
        py: Python<'_>,
        x: Int,
        y: Int,
        w: Int,
        h: Int,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let b = [
            size_arg(&x, "x")?,
            size_arg(&y, "y")?,
            size_arg(&w, "w")?,
            size_arg(&h, "h")?,
        ];
        self.transform(py, Geometry::Crop(b), threads)
    }

    /// Background rows and columns added around each mask.
    #[pyo3(signature = (top=None, bottom=None, left=None, right=None, *, threads=None))]
    fn pad(
        &self,
        py: Python<'_>,
        top: Option<Int>,
        bottom: Option<Int>,
        left: Option<Int>,
        right: Option<Int>,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let side = |v: Option<Int>, name: &str| v.map_or(Ok(0), |v| size_arg(&v, name));
        let p = [
            side(top, "top")?,
            side(bottom, "bottom")?,
            side(left, "left")?,
            side(right, "right")?,
        ];
        self.transform(py, Geometry::Pad(p), threads)
    }

    /// Content moved `dy` rows down and `dx` columns right (background entering).
    #[pyo3(signature = (dy, dx, *, threads=None))]
    fn shift(
        &self,
        py: Python<'_>,
        dy: Int,
        dx: Int,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let g = Geometry::Shift {
            dy: dy.i64("dy")?,
            dx: dx.i64("dx")?,
        };
        self.transform(py, g, threads)
    }

    /// Each mask resized to `h x w` by nearest neighbour: `mode="nearest"` takes source
    /// index `floor(i * in / out)`, `"nearest-exact"` `floor((i + 0.5) * in / out)`
    /// (torch's modes, in exact integer arithmetic).
    #[pyo3(signature = (h, w, mode="nearest", *, threads=None))]
    fn resize(
        &self,
        py: Python<'_>,
        h: Int,
        w: Int,
        mode: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let modes = [
            sa1b_rle::ops::Resize::Nearest,
            sa1b_rle::ops::Resize::NearestExact,
        ];
        let mode = modes[crate::errors::choice("mode", mode, &["nearest", "nearest-exact"])?];
        let g = Geometry::Resize {
            height: h.in_range("h", 1, i64::from(u32::MAX))? as u64,
            width: w.in_range("w", 1, i64::from(u32::MAX))? as u64,
            mode,
        };
        self.transform(py, g, threads)
    }

    /// Each mask dilated by `OpenCV`'s `(2r+1)` structuring element (`shape`: `"square"`,
    /// `"cross"` or `"disk"`), pixels outside the image counting as background.
    #[pyo3(signature = (radius, shape="square", *, threads=None))]
    fn dilate(
        &self,
        py: Python<'_>,
        radius: Int,
        shape: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        self.morph(py, Morphology::Dilate, &radius, shape, threads)
    }

    /// Each mask eroded (see `dilate`).
    #[pyo3(signature = (radius, shape="square", *, threads=None))]
    fn erode(
        &self,
        py: Python<'_>,
        radius: Int,
        shape: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        self.morph(py, Morphology::Erode, &radius, shape, threads)
    }

    /// Each mask opened: eroded, then dilated.
    #[pyo3(signature = (radius, shape="square", *, threads=None))]
    fn opening(
        &self,
        py: Python<'_>,
        radius: Int,
        shape: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        self.morph(py, Morphology::Open, &radius, shape, threads)
    }

    /// Each mask closed: dilated, then eroded.
    #[pyo3(signature = (radius, shape="square", *, threads=None))]
    fn closing(
        &self,
        py: Python<'_>,
        radius: Int,
        shape: &str,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        self.morph(py, Morphology::Close, &radius, shape, threads)
    }

    /// Every connected component of every mask: `(RleBatch, owners int64 (K,))`, each
    /// mask's components in `OpenCV`'s label order (first pixel in a row-major scan).
    #[pyo3(signature = (connectivity=None, *, threads=None))]
    fn components<'py>(
        &self,
        py: Python<'py>,
        connectivity: Option<Int>,
        threads: Option<Int>,
    ) -> PyResult<(PyRleBatch, Bound<'py, PyAny>)> {
        let eight = eight_arg(connectivity)?;
        let threads = threads_arg(threads)?;
        let b = self.inner();
        let (batch, owners) = py
            .detach(|| b.components(eight, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok((
            PyRleBatch::wrap(batch),
            crate::convert::array_1d(py, owners),
        ))
    }

    /// Each mask's largest connected component (ties: the first in label order).
    #[pyo3(signature = (connectivity=None, *, threads=None))]
    fn largest_component(
        &self,
        py: Python<'_>,
        connectivity: Option<Int>,
        threads: Option<Int>,
    ) -> PyResult<PyRleBatch> {
        let eight = eight_arg(connectivity)?;
        let threads = threads_arg(threads)?;
        let b = self.inner();
        py.detach(|| b.largest_component(eight, threads))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }

    /// segment-anything's `remove_small_regions` mask by mask: `(RleBatch, changed bool
    /// (N,))`.
    #[pyo3(signature = (area_thresh, mode="islands", *, threads=None))]
    fn remove_small_regions<'py>(
        &self,
        py: Python<'py>,
        area_thresh: f64,
        mode: &str,
        threads: Option<Int>,
    ) -> PyResult<(PyRleBatch, Bound<'py, PyAny>)> {
        if area_thresh.is_nan() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "area_thresh must be a number, not NaN",
            ));
        }
        let holes = crate::errors::choice("mode", mode, &["islands", "holes"])? == 1;
        let threads = threads_arg(threads)?;
        let b = self.inner();
        let (batch, changed) = py
            .detach(|| b.remove_small_regions(area_thresh, holes, threads))
            .map_err(|e| to_pyerr(&e))?;
        Ok((
            PyRleBatch::wrap(batch),
            crate::convert::array_1d(py, changed),
        ))
    }

    /// Each mask with its holes filled (`scipy.ndimage.binary_fill_holes`).
    #[pyo3(signature = (*, threads=None))]
    fn fill_holes(&self, py: Python<'_>, threads: Option<Int>) -> PyResult<PyRleBatch> {
        let threads = threads_arg(threads)?;
        let b = self.inner();
        py.detach(|| b.fill_holes(threads))
            .map(PyRleBatch::wrap)
            .map_err(|e| to_pyerr(&e))
    }

    /// Each mask's centroid `[x, y]` (float64 `(N, 2)`, NaN for an empty mask).
    #[pyo3(signature = (*, threads=None))]
    fn centroid<'py>(&self, py: Python<'py>, threads: Option<Int>) -> PyResult<Bound<'py, PyAny>> {
        let threads = threads_arg(threads)?;
        let b = self.inner();
        let got = py.detach(|| b.centroid(threads));
        let rows: Vec<[f64; 2]> = got
            .into_iter()
            .map(|c| c.unwrap_or([f64::NAN, f64::NAN]))
            .collect();
        crate::convert::rows_array(py, &rows)
    }
}

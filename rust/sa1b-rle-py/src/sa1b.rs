//! `sa1b_rle._core.Sa1bImage` and the SA-1B file parser: the binding of `sa1b_rle::sa1b`.

use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use sa1b_rle::sa1b::{parse, Columns, Filter, Problem, Sa1bImage};

use crate::batch::PyRleBatch;
use crate::convert::array_1d;
use crate::errors::{threads_arg, to_pyerr, Int};

/// The annotations of one SA-1B image, held in Rust as one array per field.
#[pyclass(frozen, module = "sa1b_rle._core", name = "Sa1bImage")]
pub struct PySa1bImage {
    inner: Sa1bImage,
    masks: Py<PyRleBatch>,
}

impl PySa1bImage {
    fn wrap(py: Python<'_>, inner: Sa1bImage) -> PyResult<Self> {
        let masks = Py::new(py, PyRleBatch::shared(std::sync::Arc::clone(&inner.masks)))?;
        Ok(PySa1bImage { inner, masks })
    }
}

/// An `(n, k)` float64 array from rows.
fn rows<'py, const K: usize>(py: Python<'py>, v: &[[f64; K]]) -> PyResult<Bound<'py, PyAny>> {
    crate::convert::rows_array(py, v)
}

#[pymethods]
impl PySa1bImage {
    #[getter]
    fn image_id(&self) -> i64 {
        self.inner.image_id
    }

    #[getter]
    fn width(&self) -> u64 {
        self.inner.width
    }

    #[getter]
    fn height(&self) -> u64 {
        self.inner.height
    }

    #[getter]
    fn file_name(&self) -> &str {
        &self.inner.file_name
    }

    /// Annotation ids, int64 `(n,)`.
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        array_1d(py, self.inner.ids.clone())
    }

    /// The masks as an `RleBatch` of `(n, height, width)`.
    #[getter]
    fn masks(&self, py: Python<'_>) -> Py<PyRleBatch> {
        self.masks.clone_ref(py)
    }

    /// Stored boxes `[x, y, w, h]`, float64 `(n, 4)`.
    #[getter]
    fn bbox<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rows(py, &self.inner.bbox)
    }

    /// Stored areas, int64 `(n,)`.
    #[getter]
    fn area<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        array_1d(py, self.inner.area.clone())
    }

    #[getter]
    fn predicted_iou<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        array_1d(py, self.inner.predicted_iou.clone())
    }

    #[getter]
    fn stability_score<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        array_1d(py, self.inner.stability_score.clone())
    }

    /// Each annotation's point `[x, y]`, float64 `(n, 2)`.
    #[getter]
    fn point_coords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rows(py, &self.inner.point_coords)
    }

    /// Crop boxes `[x, y, w, h]`, float64 `(n, 4)`.
    #[getter]
    fn crop_box<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rows(py, &self.inner.crop_box)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Sa1bImage(image_id={}, file_name={:?}, {} annotations of {}x{})",
            self.inner.image_id,
            self.inner.file_name,
            self.inner.len(),
            self.inner.height,
            self.inner.width
        )
    }

    /// The annotations passing every given threshold (inclusive), as a new `Sa1bImage`.
    #[pyo3(signature = (*, min_predicted_iou=None, min_stability_score=None, min_area=None, max_area=None))]
    fn filter(
        &self,
        py: Python<'_>,
        min_predicted_iou: Option<f64>,
        min_stability_score: Option<f64>,
        min_area: Option<Int>,
        max_area: Option<Int>,
    ) -> PyResult<PySa1bImage> {
        let f = filter_arg(min_predicted_iou, min_stability_score, min_area, max_area)?;
        let keep = self.inner.filter(&f);
        let picked = self.inner.select(&keep).map_err(|e| to_pyerr(&e))?;
        PySa1bImage::wrap(py, picked)
    }

    /// The annotations at `indices` (ints, negative from the end), as a new `Sa1bImage`.
    fn select(&self, py: Python<'_>, indices: &Bound<'_, PyAny>) -> PyResult<PySa1bImage> {
        let ix = crate::batch::extract_indices(indices, self.inner.len())?;
        let picked = self.inner.select(&ix).map_err(|e| to_pyerr(&e))?;
        PySa1bImage::wrap(py, picked)
    }

    /// The masks decoded to `(n, height, width)` uint8 (as `RleBatch.decode`).
    #[pyo3(signature = (*, indices=None, out=None, threads=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        indices: Option<Bound<'py, PyAny>>,
        out: Option<Bound<'py, PyAny>>,
        threads: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("indices", indices)?;
        kwargs.set_item("out", out)?;
        kwargs.set_item("threads", threads)?;
        self.masks.bind(py).call_method("decode", (), Some(&kwargs))
    }

    /// The annotations as COCO instance annotations: JSON objects separated by commas,
    /// ids from `first_id` (for `sa1b.to_coco`).
    fn _coco_annotations_json<'py>(
        &self,
        py: Python<'py>,
        first_id: i64,
        category_id: i64,
    ) -> Bound<'py, pyo3::types::PyBytes> {
        let mut out = Vec::new();
        py.detach(|| {
            self.inner
                .write_coco_annotations(&mut out, first_id, category_id);
        });
        pyo3::types::PyBytes::new(py, &out)
    }

    /// The image as an SA-1B annotation file (JSON bytes), counts as pycocotools'
    /// canonical strings.
    fn to_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let out = py.detach(|| self.inner.to_json());
        PyBytes::new(py, &out)
    }

    /// The file's JSON structure (`{"image": ..., "annotations": [...]}`) as Python
    /// objects (`json.loads(self.to_json())`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.to_json(py),))
    }

    /// Pickles as its SA-1B file, which unpickling parses (and checks) again.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let ctor = slf.get_type().getattr("_from_json")?;
        let args = PyTuple::new(py, [slf.get().to_json(py)])?;
        PyTuple::new(py, [ctor, args.into_any()])
    }

    /// Inverse of `__reduce__`: the image of an SA-1B file's bytes (a `RleError` naming
    /// the first problem if they do not make one).
    #[staticmethod]
    fn _from_json(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let (image, problems) = py.detach(|| parse(data, "<pickled Sa1bImage>", false));
        match image {
            Some(i) => PySa1bImage::wrap(py, i),
            None => Err(crate::errors::RleError::new_err(
                problems.first().map_or_else(
                    || "corrupt Sa1bImage pickle".to_string(),
                    ToString::to_string,
                ),
            )),
        }
    }
}

/// One problem as `(file, index, id, field, code, message)`.
type ProblemTuple = (
    String,
    Option<usize>,
    Option<i64>,
    String,
    &'static str,
    String,
);

fn tuples(problems: Vec<Problem>) -> Vec<ProblemTuple> {
    problems
        .into_iter()
        .map(|p| (p.file, p.index, p.id, p.field, p.code.as_str(), p.message))
        .collect()
}

/// Parses an SA-1B annotation file's bytes: `(image or None, problems)`; the image is
/// None when the structure does not allow building it. `check` adds the content checks.
#[pyfunction]
#[pyo3(signature = (data, file, check))]
pub fn sa1b_parse(
    py: Python<'_>,
    data: &[u8],
    file: &str,
    check: bool,
) -> PyResult<(Option<PySa1bImage>, Vec<ProblemTuple>)> {
    let (image, problems) = py.detach(|| parse(data, file, check));
    let image = image.map(|i| PySa1bImage::wrap(py, i)).transpose()?;
    Ok((image, tuples(problems)))
}

/// The thresholds of a quality filter, checked.
fn filter_arg(
    min_predicted_iou: Option<f64>,
    min_stability_score: Option<f64>,
    min_area: Option<Int>,
    max_area: Option<Int>,
) -> PyResult<Filter> {
    Ok(Filter {
        min_predicted_iou,
        min_stability_score,
        min_area: min_area.map(|a| a.i64("min_area")).transpose()?,
        max_area: max_area.map(|a| a.i64("max_area")).transpose()?,
    })
}

/// Which rows of score and area columns pass the thresholds (`Sa1bImage.filter`'s rule,
/// for Ray's batches): a bool array. A column a given threshold reads must be given,
/// all of one length.
#[pyfunction]
#[pyo3(signature = (predicted_iou, stability_score, area, *, min_predicted_iou=None, min_stability_score=None, min_area=None, max_area=None))]
#[allow(clippy::too_many_arguments)]
pub fn filter_keep<'py>(
    py: Python<'py>,
    predicted_iou: Option<numpy::PyReadonlyArray1<'py, f64>>,
    stability_score: Option<numpy::PyReadonlyArray1<'py, f64>>,
    area: Option<numpy::PyReadonlyArray1<'py, i64>>,
    min_predicted_iou: Option<f64>,
    min_stability_score: Option<f64>,
    min_area: Option<Int>,
    max_area: Option<Int>,
) -> PyResult<Bound<'py, PyAny>> {
    let f = filter_arg(min_predicted_iou, min_stability_score, min_area, max_area)?;
    for (name, given, needed) in [
        (
            "predicted_iou",
            predicted_iou.is_some(),
            f.min_predicted_iou.is_some(),
        ),
        (
            "stability_score",
            stability_score.is_some(),
            f.min_stability_score.is_some(),
        ),
        (
            "area",
            area.is_some(),
            f.min_area.is_some() || f.max_area.is_some(),
        ),
    ] {
        if needed && !given {
            return Err(PyValueError::new_err(format!(
                "no {name} column to filter by"
            )));
        }
    }
    let p = predicted_iou.as_ref().map(|c| c.as_array());
    let s = stability_score.as_ref().map(|c| c.as_array());
    let a = area.as_ref().map(|a| a.as_array());
    let lens = [p.map(|c| c.len()), s.map(|c| c.len()), a.map(|c| c.len())];
    let n = lens.iter().flatten().copied().max().unwrap_or(0);
    if lens.iter().flatten().any(|&l| l != n) {
        return Err(PyValueError::new_err(format!(
            "the columns differ in length: {lens:?} (predicted_iou, stability_score, area)"
        )));
    }
    let keep: Vec<bool> = (0..n)
        .map(|i| {
            f.keeps(
                p.map_or(f64::NAN, |c| c[i]),
                s.map_or(f64::NAN, |c| c[i]),
                a.map_or(0, |c| c[i]),
            )
        })
        .collect();
    Ok(keep.into_pyarray(py).into_any())
}

/// The rows of SA-1B images as one numpy array per column (see `Columns`): `counts`
/// (uint8) and `counts_offsets` (int64, rows + 1) are Arrow binary buffers.
#[pyfunction]
#[pyo3(signature = (images, threads=None))]
pub fn sa1b_columns<'py>(
    py: Python<'py>,
    images: Vec<PyRef<'py, PySa1bImage>>,
    threads: Option<Int>,
) -> PyResult<Bound<'py, PyDict>> {
    let refs: Vec<&Sa1bImage> = images.iter().map(|i| &i.inner).collect();
    let threads = threads_arg(threads)?;
    let c = py.detach(|| Columns::of(&refs, threads));
    let d = PyDict::new(py);
    let [bx, by, bw, bh] = c.bbox;
    let [px, py_] = c.point;
    let [cx, cy, cw, ch] = c.crop_box;
    d.set_item("image_id", array_1d(py, c.image_id))?;
    d.set_item("id", array_1d(py, c.id))?;
    d.set_item("height", array_1d(py, c.height))?;
    d.set_item("width", array_1d(py, c.width))?;
    d.set_item("counts_offsets", array_1d(py, c.counts.offsets))?;
    d.set_item("counts", array_1d(py, c.counts.data))?;
    for (name, col) in [
        ("bbox_x", bx),
        ("bbox_y", by),
        ("bbox_w", bw),
        ("bbox_h", bh),
    ] {
        d.set_item(name, array_1d(py, col))?;
    }
    d.set_item("area", array_1d(py, c.area))?;
    d.set_item("predicted_iou", array_1d(py, c.predicted_iou))?;
    d.set_item("stability_score", array_1d(py, c.stability_score))?;
    d.set_item("point_x", array_1d(py, px))?;
    d.set_item("point_y", array_1d(py, py_))?;
    for (name, col) in [
        ("crop_x", cx),
        ("crop_y", cy),
        ("crop_w", cw),
        ("crop_h", ch),
    ] {
        d.set_item(name, array_1d(py, col))?;
    }
    Ok(d)
}

/// What is wrong with an SA-1B image `file_name` (not a bare file name), if anything.
#[pyfunction]
pub fn file_name_problem(name: &str) -> Option<String> {
    sa1b_rle::sa1b::file_name_problem(name)
}

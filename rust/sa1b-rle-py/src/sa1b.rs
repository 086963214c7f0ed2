//! `sa1b_rle._core.Sa1bImage` and the SA-1B file parser: the binding of `sa1b_rle::sa1b`.

use numpy::ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyReadonlyArray3, PyReadwriteArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use sa1b_rle::sa1b::{parse, Columns, Filter, Problem, Sa1bImage};

use crate::batch::PyRleBatch;
use crate::convert::array_1d;
use crate::errors::{dim_arg, max_pixels_arg, threads_arg, to_pyerr, Int};

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
    let flat: Vec<f64> = v.iter().flatten().copied().collect();
    let a = Array2::from_shape_vec((v.len(), K), flat)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
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
        let f = Filter {
            min_predicted_iou,
            min_stability_score,
            min_area: min_area.map(|a| a.i64("min_area")).transpose()?,
            max_area: max_area.map(|a| a.i64("max_area")).transpose()?,
        };
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
        .map(|p| (p.file, p.index, p.id, p.field, p.code, p.message))
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

/// Decodes a JPEG or PNG to an `(H, W, 3)` uint8 RGB array.
#[pyfunction]
#[pyo3(signature = (data, *, max_pixels=None))]
pub fn read_image_rgb<'py>(
    py: Python<'py>,
    data: &[u8],
    max_pixels: Option<Int>,
) -> PyResult<Bound<'py, PyAny>> {
    let max_pixels = max_pixels_arg(max_pixels.as_ref())?;
    let (rgb, h, w) = py
        .detach(|| sa1b_rle::overlay::read_rgb(data, max_pixels))
        .map_err(|e| to_pyerr(&e))?;
    let a = Array3::from_shape_vec((h as usize, w as usize, 3), rgb)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// Encodes an `(H, W, 3)` uint8 array as PNG bytes.
#[pyfunction]
pub fn encode_png<'py>(
    py: Python<'py>,
    rgb: PyReadonlyArray3<'py, u8>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let shape = rgb.shape().to_vec();
    if shape[2] != 3 {
        return Err(PyValueError::new_err(format!(
            "expected an (H, W, 3) RGB array, got shape {shape:?}"
        )));
    }
    let data = rgb.as_array().iter().copied().collect::<Vec<u8>>();
    let png = py
        .detach(|| sa1b_rle::images::write_png(&data, shape[0] as u64, shape[1] as u64))
        .map_err(|e| to_pyerr(&e))?;
    Ok(pyo3::types::PyBytes::new(py, &png))
}

/// Draws the masks over an `(H, W, 3)` uint8 C-contiguous RGB array, in place.
#[pyfunction]
pub fn draw_masks(
    py: Python<'_>,
    mut rgb: PyReadwriteArray3<'_, u8>,
    masks: PyRef<'_, PyRleBatch>,
    alpha: f32,
) -> PyResult<()> {
    let b = masks.inner();
    let shape = rgb.shape().to_vec();
    if shape != [b.height() as usize, b.width() as usize, 3] {
        return Err(PyValueError::new_err(format!(
            "the image has shape {shape:?}; the masks need ({}, {}, 3)",
            b.height(),
            b.width()
        )));
    }
    let slice = rgb
        .as_slice_mut()
        .map_err(|_| PyValueError::new_err("the image array must be C-contiguous"))?;
    py.detach(|| sa1b_rle::overlay::draw_masks(slice, b, alpha))
        .map_err(|e| to_pyerr(&e))
}

/// `(values, RleBatch)` of a 2-D label array (C or Fortran contiguous): one mask per value
/// other than `background`, ascending.
fn labels_of<'py, T: numpy::Element + Copy + Into<i64>>(
    py: Python<'py>,
    arr: &numpy::PyReadonlyArray2<'py, T>,
    background: i64,
) -> PyResult<(Bound<'py, PyAny>, PyRleBatch)> {
    let (h, w) = (arr.shape()[0] as u64, arr.shape()[1] as u64);
    let row_major = arr.is_c_contiguous();
    let data = arr
        .as_slice()
        .map_err(|_| PyValueError::new_err("the label array must be C or Fortran contiguous"))?;
    let (values, batch) = py
        .detach(|| {
            sa1b_rle::labels::masks_of_labels(h, w, row_major, background, |i| data[i].into())
        })
        .map_err(|e| to_pyerr(&e))?;
    Ok((array_1d(py, values), PyRleBatch::wrap(batch)))
}

/// One mask per instance value of a 2-D integer label array (uint8, uint16, uint32,
/// int8, int16, int32 or int64; C or Fortran contiguous): `(values, RleBatch)`.
#[pyfunction]
pub fn labels_from_array<'py>(
    py: Python<'py>,
    arr: &Bound<'py, PyAny>,
    background: Int,
) -> PyResult<(Bound<'py, PyAny>, PyRleBatch)> {
    use numpy::PyReadonlyArray2 as A;
    let background = background.i64("background")?;
    if let Ok(a) = arr.extract::<A<'py, u8>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, u16>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, u32>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, i8>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, i16>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, i32>>() {
        return labels_of(py, &a, background);
    }
    if let Ok(a) = arr.extract::<A<'py, i64>>() {
        return labels_of(py, &a, background);
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "label arrays must be 2-D of an integer type (uint8/16/32, int8/16/32/64)",
    ))
}

/// One mask per colour of an `(H, W, 3)` uint8 C-contiguous RGB label array (colour
/// code `r << 16 | g << 8 | b`): `(codes, RleBatch)`.
#[pyfunction]
pub fn labels_from_rgb<'py>(
    py: Python<'py>,
    rgb: numpy::PyReadonlyArray3<'py, u8>,
    background: Int,
) -> PyResult<(Bound<'py, PyAny>, PyRleBatch)> {
    let background = background.i64("background")?;
    let (h, w) = (rgb.shape()[0] as u64, rgb.shape()[1] as u64);
    if rgb.shape()[2] != 3 {
        return Err(PyValueError::new_err(
            "RGB label arrays have shape (H, W, 3)",
        ));
    }
    let data = rgb
        .as_slice()
        .map_err(|_| PyValueError::new_err("the RGB array must be C-contiguous"))?;
    let code = |i: usize| {
        i64::from(data[3 * i]) << 16 | i64::from(data[3 * i + 1]) << 8 | i64::from(data[3 * i + 2])
    };
    let (values, batch) = py
        .detach(|| sa1b_rle::labels::masks_of_labels(h, w, true, background, code))
        .map_err(|e| to_pyerr(&e))?;
    Ok((array_1d(py, values), PyRleBatch::wrap(batch)))
}

/// One mask per value of a PNG label image (grey, palette indices, or 8-bit RGB/RGBA
/// colour codes), decoded without colour conversion: `(values, RleBatch)`.
#[pyfunction]
#[pyo3(signature = (data, background, *, max_pixels=None))]
pub fn labels_from_png<'py>(
    py: Python<'py>,
    data: &[u8],
    background: Int,
    max_pixels: Option<Int>,
) -> PyResult<(Bound<'py, PyAny>, PyRleBatch)> {
    let background = background.i64("background")?;
    let max_pixels = max_pixels_arg(max_pixels.as_ref())?;
    let (values, batch) = py
        .detach(|| sa1b_rle::labels::read_png_labels(data, max_pixels)?.masks(background))
        .map_err(|e| to_pyerr(&e))?;
    Ok((array_1d(py, values), PyRleBatch::wrap(batch)))
}

/// The pixel values of a PNG label image, `(H, W)` int64 (for checking against other
/// decoders).
#[pyfunction]
#[pyo3(signature = (data, *, max_pixels=None))]
pub fn png_label_values<'py>(
    py: Python<'py>,
    data: &[u8],
    max_pixels: Option<Int>,
) -> PyResult<Bound<'py, PyAny>> {
    // The pixel limit as every image decode reads it (argument, environment, default).
    let max_pixels = max_pixels_arg(max_pixels.as_ref())?;
    let (h, w, values) = py
        .detach(|| {
            let img = sa1b_rle::labels::read_png_labels(data, max_pixels)?;
            let (h, w) = (img.height as usize, img.width as usize);
            let mut values: Vec<i64> = sa1b_rle::alloc::with_capacity(h * w, "label values")?;
            values.extend((0..h * w).map(|i| img.value(i)));
            Ok::<_, sa1b_rle::Error>((h, w, values))
        })
        .map_err(|e| to_pyerr(&e))?;
    let a =
        Array2::from_shape_vec((h, w), values).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// The run lengths of a compressed counts string of an `h` x `w` mask (validated).
#[pyfunction]
pub fn counts_to_runs(counts: &[u8], h: Int, w: Int) -> PyResult<Vec<u32>> {
    let (h, w) = (dim_arg(&h, "h")?, dim_arg(&w, "w")?);
    sa1b_rle::Rle::from_counts_str(h, w, counts)
        .map(sa1b_rle::Rle::into_counts)
        .map_err(|e| to_pyerr(&e))
}

/// The binary mask of an image file's bytes (PNG or JPEG): grey level (Pillow's luma
/// for colour) `> threshold`, or `<= threshold` with `invert`; small components dropped.
#[pyfunction]
#[pyo3(signature = (data, threshold, invert, min_component_area, *, max_pixels=None))]
pub fn mask_from_image_bytes(
    py: Python<'_>,
    data: &[u8],
    threshold: Int,
    invert: bool,
    min_component_area: Int,
    max_pixels: Option<Int>,
) -> PyResult<PyRleBatch> {
    let threshold = threshold.i64("threshold")?;
    let min_component_area = min_component_area.count("min_component_area", 0, usize::MAX)?;
    let max_pixels = max_pixels_arg(max_pixels.as_ref())?;
    let batch = py
        .detach(|| {
            sa1b_rle::labels::mask_of_image(data, threshold, invert, min_component_area, max_pixels)
        })
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyRleBatch::wrap(batch))
}

/// A one-mask batch of a 2-D uint8 binary array (nonzero = foreground, any memory
/// order), small components dropped.
#[pyfunction]
pub fn mask_from_binary_array(
    py: Python<'_>,
    mask: numpy::PyReadonlyArray2<'_, u8>,
    min_component_area: Int,
) -> PyResult<PyRleBatch> {
    let min_component_area = min_component_area.count("min_component_area", 0, usize::MAX)?;
    let (h, w) = (mask.shape()[0], mask.shape()[1]);
    let data: Vec<u8> = mask.as_array().iter().copied().collect();
    let batch = py
        .detach(|| sa1b_rle::labels::mask_of_binary(data, h as u64, w as u64, min_component_area))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyRleBatch::wrap(batch))
}

/// Grey levels of an `(H, W, 3)` uint8 C-contiguous RGB array, as Pillow's `convert("L")`.
#[pyfunction]
pub fn rgb_to_luma<'py>(
    py: Python<'py>,
    rgb: PyReadonlyArray3<'py, u8>,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
    let data = rgb
        .as_slice()
        .map_err(|_| PyValueError::new_err("the RGB array must be C-contiguous"))?;
    let grey = sa1b_rle::labels::luma(data);
    let a =
        Array2::from_shape_vec((h, w), grey).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// COCO polygons of a 2-D uint8 mask (nonzero = foreground): one flat list per
/// 4-connected piece, holes bridged in (see `sa1b_rle.to_polygons`).
#[pyfunction]
pub fn polygons_of_mask(
    py: Python<'_>,
    mask: numpy::PyReadonlyArray2<'_, u8>,
    tolerance: f64,
) -> PyResult<Vec<Vec<f64>>> {
    let (h, w) = (mask.shape()[0], mask.shape()[1]);
    let data: Vec<u8> = mask.as_array().iter().copied().collect();
    py.detach(|| sa1b_rle::contours::mask_to_polygons(&data, h, w, tolerance))
        .map_err(|e| to_pyerr(&e))
}

/// `(height, width)` of a JPEG or PNG from its header (the pixels are not decoded).
#[pyfunction]
pub fn image_size(data: &[u8]) -> PyResult<(u64, u64)> {
    sa1b_rle::images::dimensions(data).map_err(|e| to_pyerr(&e))
}

/// COCO polygons of mask `index` of a batch (see `sa1b_rle.to_polygons`), traced in the
/// mask's box.
#[pyfunction]
pub fn batch_polygons(
    py: Python<'_>,
    batch: PyRef<'_, PyRleBatch>,
    index: Int,
    tolerance: f64,
) -> PyResult<Vec<Vec<f64>>> {
    let b = batch.inner();
    let index = index.count("index", 0, b.len().saturating_sub(1))?;
    py.detach(|| sa1b_rle::contours::batch_polygons(b, index, tolerance))
        .map_err(|e| to_pyerr(&e))
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
#[pyo3(signature = (offsets, data, height, width, threads=None))]
pub fn batch_from_counts_buffers(
    py: Python<'_>,
    offsets: numpy::PyReadonlyArray1<'_, i64>,
    data: numpy::PyReadonlyArray1<'_, u8>,
    height: Int,
    width: Int,
    threads: Option<Int>,
) -> PyResult<PyRleBatch> {
    let (height, width) = (dim_arg(&height, "height")?, dim_arg(&width, "width")?);
    let threads = threads_arg(threads)?;
    let offsets = offsets
        .as_slice()
        .map_err(|_| PyValueError::new_err("offsets must be contiguous"))?;
    let data = data
        .as_slice()
        .map_err(|_| PyValueError::new_err("data must be contiguous"))?;
    let batch = py
        .detach(|| sa1b_rle::RleBatch::from_counts_buffers(height, width, offsets, data, threads))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyRleBatch::wrap(batch))
}

/// What is wrong with an SA-1B image `file_name` (not a bare file name), if anything.
#[pyfunction]
pub fn file_name_problem(name: &str) -> Option<String> {
    sa1b_rle::sa1b::file_name_problem(name)
}

/// The pixel limit of image decoding without `max_pixels=`: `SA1B_RLE_MAX_IMAGE_PIXELS`,
/// else the default (Pillow's).
#[pyfunction]
pub fn default_max_pixels() -> PyResult<u64> {
    max_pixels_arg(None)
}

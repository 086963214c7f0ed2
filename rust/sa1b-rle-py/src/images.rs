//! Images, label maps and overlays: JPEG/PNG decoding and encoding, label maps and
//! binary masks from images and arrays, masks drawn over an image, and polygon tracing
//! (the binding of `sa1b_rle::images`, `labels`, `overlay` and `contours`).

use numpy::{PyReadonlyArray3, PyReadwriteArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::batch::PyRleBatch;
use crate::convert::{array_1d, nd_array};
use crate::errors::{max_pixels_arg, to_pyerr, Int};

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
    nd_array(py, (h as usize, w as usize, 3), rgb)
}

/// Encodes an `(H, W, 3)` uint8 array as PNG bytes.
#[pyfunction]
pub fn encode_png<'py>(
    py: Python<'py>,
    rgb: PyReadonlyArray3<'py, u8>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let shape = rgb.shape().to_vec();
    if shape[2] != 3 {
        return Err(crate::convert::shape_error(
            "the RGB array",
            "(H, W, 3)",
            &shape,
        ));
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
        let want = format!("({}, {}, 3) (the masks' size)", b.height(), b.width());
        return Err(crate::convert::shape_error("the image", &want, &shape));
    }
    let slice = crate::convert::c_slice_mut(&mut rgb, "the image array")?;
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
        return Err(crate::convert::shape_error(
            "an RGB label array",
            "(H, W, 3)",
            rgb.shape(),
        ));
    }
    let data = crate::convert::c_slice(&rgb, "the RGB array")?;
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
    nd_array(py, (h, w), values)
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
    let data = crate::convert::c_slice(&rgb, "the RGB array")?;
    let grey = sa1b_rle::labels::luma(data);
    nd_array(py, (h, w), grey)
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

/// The pixel limit of image decoding without `max_pixels=`: `SA1B_RLE_MAX_IMAGE_PIXELS`,
/// else the default (Pillow's).
#[pyfunction]
pub fn default_max_pixels() -> PyResult<u64> {
    max_pixels_arg(None)
}

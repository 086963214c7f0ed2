//! `sa1b_rle._core.CocoColumns`: a COCO dataset or results as columns (see
//! `sa1b_rle::coco`), parsed from JSON bytes or read from annotation dicts.
//!
//! Over 400 lines: `CocoColumns`' methods are one `#[pymethods]` block (see `batch.rs`),
//! and reading annotation dicts field by field is most of the rest.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};
use sa1b_rle::coco::{
    AnnotationColumns, Dataset, Images, Record, ResultKind, Scalar, Segmentation,
};

use crate::errors::{to_pyerr, Int};

/// A dataset's columns (frozen: evaluation shares them across threads).
#[pyclass(frozen, module = "sa1b_rle._core", name = "CocoColumns")]
pub struct PyCocoColumns {
    pub data: Arc<Dataset>,
    kind: Option<ResultKind>,
}

fn kind_name(k: ResultKind) -> &'static str {
    match k {
        ResultKind::Caption => "caption",
        ResultKind::Boxes => "bbox",
        ResultKind::Segmentation => "segmentation",
        ResultKind::Keypoints => "keypoints",
        ResultKind::Plain => "plain",
    }
}

#[pymethods]
impl PyCocoColumns {
    /// Number of annotations.
    #[getter]
    fn n_annotations(&self) -> usize {
        self.data.annotations.len()
    }

    /// Number of images.
    #[getter]
    fn n_images(&self) -> usize {
        self.data.images.len()
    }

    /// Why the columns do not hold every value exactly (None: they do).
    #[getter]
    fn atypical(&self) -> Option<String> {
        self.data
            .atypical
            .clone()
            .or_else(|| self.data.annotations.atypical.clone())
    }

    /// Which top-level tables the document has: `(images, annotations, categories)`.
    #[getter]
    fn tables(&self) -> (bool, bool, bool) {
        let d = &self.data;
        (d.has_images, d.has_annotations, d.has_categories)
    }

    /// For results: the `loadRes` branch taken (`"bbox"`, `"segmentation"`,
    /// `"keypoints"`, `"caption"`, `"plain"`); None for a dataset.
    #[getter]
    fn result_kind(&self) -> Option<&'static str> {
        self.kind.map(kind_name)
    }

    /// The JSON document the columns were parsed from (empty for columns read from
    /// dicts).
    fn source<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data.annotations.source)
    }

    /// The images' ids (int64, file order).
    fn image_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::convert::array_1d(py, self.data.images.id.clone())
    }

    /// The categories' ids (int64, file order).
    fn category_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::convert::array_1d(py, self.data.categories.id.clone())
    }

    /// The categories' names (None where not a string).
    fn category_names(&self) -> Vec<Option<String>> {
        self.data.categories.name.clone()
    }

    /// The categories' LVIS `frequency` (None where absent or not a string).
    fn category_frequencies(&self) -> Vec<Option<String>> {
        self.data.categories.frequency.clone()
    }

    /// An LVIS list of each image (`which`: 0 `neg_category_ids`, 1
    /// `not_exhaustive_category_ids`): `(values float64, starts int64, ends int64,
    /// present bool)` per image in file order (`present` false where the image has none
    /// or not a list of numbers); None when no image has it.
    #[allow(clippy::type_complexity)]
    fn image_category_lists<'py>(
        &self,
        py: Python<'py>,
        which: Int,
    ) -> PyResult<
        Option<(
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
        )>,
    > {
        let images = &self.data.images;
        let column = &images.lvis_lists[which.count("which", 0, 1)?];
        if column.is_empty() {
            return Ok(None);
        }
        let range = |i: usize| column.get(i).copied().flatten();
        let n = images.len();
        let starts: Vec<i64> = (0..n).map(|i| range(i).map_or(0, |r| r.0 as i64)).collect();
        let ends: Vec<i64> = (0..n).map(|i| range(i).map_or(0, |r| r.1 as i64)).collect();
        let present: Vec<bool> = (0..n).map(|i| range(i).is_some()).collect();
        Ok(Some((
            crate::convert::array_1d(py, images.category_lists.clone()),
            crate::convert::array_1d(py, starts),
            crate::convert::array_1d(py, ends),
            crate::convert::array_1d(py, present),
        )))
    }

    /// The first of the annotations' image ids that is not an image of `dataset`, if any
    /// (what `loadRes` refuses: pycocotools' "Results do not correspond to current coco
    /// set").
    fn unknown_image_id(&self, dataset: &PyCocoColumns) -> Option<i64> {
        let known: std::collections::HashSet<i64> =
            dataset.data.images.id.iter().copied().collect();
        self.data
            .annotations
            .image_id
            .iter()
            .copied()
            .find(|i| !known.contains(i))
    }

    /// The annotations' `(id, image_id, category_id)` (int64), `area`, `score`
    /// (float64) and `bbox` (float64 (N, 4)).
    #[allow(clippy::type_complexity)]
    fn annotation_arrays<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
        Bound<'py, PyAny>,
    )> {
        let a = &self.data.annotations;
        let boxes = crate::convert::rows_array(py, &a.bbox)?;
        Ok((
            crate::convert::array_1d(py, a.id.clone()),
            crate::convert::array_1d(py, a.image_id.clone()),
            crate::convert::array_1d(py, a.category_id.clone()),
            crate::convert::array_1d(py, a.area.clone()),
            crate::convert::array_1d(py, a.score.clone()),
            boxes,
        ))
    }

    /// pycocotools' `getAnnIds` on the columns: the ids of the annotations on `img_ids`
    /// (None: all, in file order), of `cat_ids`, with area strictly inside `area_rng`
    /// and `iscrowd` equal to `iscrowd`, as int64.
    #[pyo3(signature = (*, img_ids, cat_ids, area_rng, iscrowd))]
    fn ann_ids<'py>(
        &self,
        py: Python<'py>,
        img_ids: Option<Vec<i64>>,
        cat_ids: Option<Vec<i64>>,
        area_rng: Option<(f64, f64)>,
        iscrowd: Option<f64>,
    ) -> Bound<'py, PyAny> {
        let a = &self.data.annotations;
        let mut idx = match &img_ids {
            Some(ids) if !ids.is_empty() => sa1b_rle::eval::select(a, ids, None),
            _ => (0..a.len()).collect(),
        };
        // select() maps each index to the last annotation of its id: the ids are equal.
        if let Some(cats) = cat_ids.filter(|c| !c.is_empty()) {
            let wanted: std::collections::HashSet<i64> = cats.into_iter().collect();
            idx.retain(|&i| {
                a.has(i, sa1b_rle::coco::flag::CATEGORY_KEY) && wanted.contains(&a.category_id[i])
            });
        }
        if let Some((lo, hi)) = area_rng {
            idx.retain(|&i| lo < a.area[i] && a.area[i] < hi);
        }
        if let Some(c) = iscrowd {
            idx.retain(|&i| {
                let v = if a.has(i, sa1b_rle::coco::flag::CROWD_INT) {
                    1.0
                } else {
                    0.0
                };
                v == c
            });
        }
        crate::convert::array_1d(py, idx.iter().map(|&i| a.id[i]).collect::<Vec<i64>>())
    }

    /// The image id of every annotation of category `cat` (pycocotools' `catToImgs`
    /// entry), file order.
    fn images_of_category<'py>(&self, py: Python<'py>, cat: i64) -> Bound<'py, PyAny> {
        let a = &self.data.annotations;
        let v: Vec<i64> = (0..a.len())
            .filter(|&i| a.has(i, sa1b_rle::coco::flag::CATEGORY_KEY) && a.category_id[i] == cat)
            .map(|i| a.image_id[i])
            .collect();
        crate::convert::array_1d(py, v)
    }

    /// The values `loadRes` adds to result dicts, per result: `(id, area, bbox or None,
    /// iscrowd set)`, as lists (for completing the dicts when they are read).
    #[allow(clippy::type_complexity)]
    fn derived<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Vec<i64>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let a = &self.data.annotations;
        let boxes = crate::convert::rows_array(py, &a.bbox)?;
        Ok((
            a.id.clone(),
            crate::convert::array_1d(py, a.area.clone()),
            boxes,
        ))
    }
}

/// Parses a COCO dataset (JSON bytes) into columns, detached.
#[pyfunction]
pub fn coco_parse_dataset(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<PyCocoColumns> {
    dataset_columns(py, data.as_bytes().to_vec(), Some(1))
}

fn dataset_columns(
    py: Python<'_>,
    data: Vec<u8>,
    threads: Option<usize>,
) -> PyResult<PyCocoColumns> {
    let d = py
        .detach(|| sa1b_rle::coco::parse_dataset_with(data, threads))
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyCocoColumns {
        data: Arc::new(d),
        kind: None,
    })
}

/// The bytes of a file, read detached (an `OSError` naming it).
fn read_file(py: Python<'_>, path: &std::path::Path) -> PyResult<Vec<u8>> {
    py.detach(|| std::fs::read(path)).map_err(|e| {
        let text = format!("{}: {e}", path.display());
        match e.kind() {
            std::io::ErrorKind::NotFound => pyo3::exceptions::PyFileNotFoundError::new_err(text),
            std::io::ErrorKind::PermissionDenied => {
                pyo3::exceptions::PyPermissionError::new_err(text)
            }
            std::io::ErrorKind::IsADirectory => {
                pyo3::exceptions::PyIsADirectoryError::new_err(text)
            }
            _ => pyo3::exceptions::PyOSError::new_err(text),
        }
    })
}

/// Reads and parses a COCO dataset file into columns (the file read once, in Rust; the
/// columns keep its bytes, from which `source()` gives them back).
#[pyfunction]
#[pyo3(signature = (path, *, threads=None))]
pub fn coco_read_dataset(
    py: Python<'_>,
    path: std::path::PathBuf,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoColumns> {
    let threads = crate::errors::threads_arg(threads)?;
    let data = read_file(py, &path)?;
    dataset_columns(py, data, threads)
}

/// Reads and parses a results file (as `coco_parse_results`).
#[pyfunction]
#[pyo3(signature = (path, *, threads=None))]
pub fn coco_read_results(
    py: Python<'_>,
    path: std::path::PathBuf,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoColumns> {
    let threads = crate::errors::threads_arg(threads)?;
    let data = read_file(py, &path)?;
    results_columns(py, data, threads)
}

fn results_columns(
    py: Python<'_>,
    data: Vec<u8>,
    threads: Option<usize>,
) -> PyResult<PyCocoColumns> {
    let (cols, kind) = py
        .detach(|| -> sa1b_rle::Result<_> {
            let mut cols = sa1b_rle::coco::parse_results_with(data, threads)?;
            let kind = cols.derive_results(threads)?;
            Ok((cols, kind))
        })
        .map_err(|e| to_pyerr(&e))?;
    Ok(PyCocoColumns {
        data: Arc::new(Dataset {
            annotations: cols,
            ..Dataset::default()
        }),
        kind: Some(kind),
    })
}

/// Parses a results file (JSON bytes: a list of result objects) into columns and
/// completes them as `loadRes` does (ids, area, bbox, iscrowd).
#[pyfunction]
#[pyo3(signature = (data, *, threads=None))]
pub fn coco_parse_results(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoColumns> {
    let threads = crate::errors::threads_arg(threads)?;
    results_columns(py, data.as_bytes().to_vec(), threads)
}

/// Reads annotation dicts (and image dicts) into columns: `anns` as pycocotools holds
/// them (after `_prepare` or not), `images` for the polygons' sizes. Ids that are not
/// integers become keys through `keys` (a dict shared with the ids of the parameters),
/// so that equal ids are equal keys as in a Python dict. `results`: complete them as
/// `loadRes` does (ids from 1, area, bbox).
#[pyfunction]
#[pyo3(signature = (anns, images, *, keys, results=false, threads=None))]
pub fn coco_columns_from_dicts(
    py: Python<'_>,
    anns: &Bound<'_, PyList>,
    images: Option<&Bound<'_, PyList>>,
    keys: &Bound<'_, PyDict>,
    results: bool,
    threads: Option<crate::errors::Int>,
) -> PyResult<PyCocoColumns> {
    let threads = crate::errors::threads_arg(threads)?;
    let mut cols = AnnotationColumns::default();
    for (index, ann) in anns.iter().enumerate() {
        let ann = ann
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err(format!("annotation {index} is not a dict")))?;
        let rec = read_annotation(py, ann, &mut cols, keys)?;
        cols.push(&rec, !results).map_err(|e| to_pyerr(&e))?;
    }
    let mut d = Dataset::default();
    if let Some(images) = images {
        d.images = read_images(py, images, keys, &mut d.atypical)?;
    }
    let kind = if results {
        Some(
            py.detach(|| cols.derive_results(threads))
                .map_err(|e| to_pyerr(&e))?,
        )
    } else {
        None
    };
    d.annotations = cols;
    Ok(PyCocoColumns {
        data: Arc::new(d),
        kind,
    })
}

/// Integer keys of ids (`keys` interns the others; see `coco_columns_from_dicts`).
#[pyfunction]
pub fn coco_keys(values: &Bound<'_, PyAny>, keys: &Bound<'_, PyDict>) -> PyResult<Vec<i64>> {
    let mut out = Vec::with_capacity(crate::convert::capacity_hint(values));
    for v in values.try_iter()? {
        out.push(key_of(&v?, keys)?);
    }
    Ok(out)
}

/// The first key given to an id that is not an integer (below any real-world id).
const INTERNED: i64 = -(1 << 62);

fn key_of(v: &Bound<'_, PyAny>, keys: &Bound<'_, PyDict>) -> PyResult<i64> {
    // Python and numpy integers (and bools, equal to 0 and 1 as keys).
    if !v.is_instance_of::<PyFloat>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(i);
        }
    }
    if let Some(k) = scalar(v).key() {
        return Ok(k);
    }
    if let Some(k) = keys.get_item(v)? {
        return k.extract();
    }
    let k = INTERNED - keys.len() as i64;
    keys.set_item(v, k)?;
    Ok(k)
}

/// A Python value as the columns read it.
fn scalar(v: &Bound<'_, PyAny>) -> Scalar {
    if v.is_instance_of::<PyBool>() {
        return Scalar::Bool(v.is_truthy().unwrap_or(false));
    }
    if v.is_instance_of::<PyInt>() {
        return v
            .extract::<i64>()
            .map_or_else(|_| Scalar::Other, Scalar::Int);
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Scalar::Float(f.value());
    }
    if v.is_none() || v.is_instance_of::<PyString>() || v.is_instance_of::<PyList>() {
        return Scalar::Other;
    }
    // numpy scalars.
    if v.hasattr("__index__").unwrap_or(false) {
        if let Ok(i) = v.extract::<i64>() {
            return Scalar::Int(i);
        }
    }
    v.extract::<f64>().map_or(Scalar::Other, Scalar::Float)
}

fn numbers(v: &Bound<'_, PyAny>, out: &mut Vec<f64>) -> Result<(usize, usize), ()> {
    let start = out.len();
    if v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyDict>()
    {
        return Err(());
    }
    let Ok(it) = v.try_iter() else {
        return Err(());
    };
    for x in it {
        if let Some(Some(f)) = x.ok().map(|x| scalar(&x).number()) {
            out.push(f);
        } else {
            out.truncate(start);
            return Err(());
        }
    }
    Ok((start, out.len()))
}

fn read_annotation<'py>(
    py: Python<'py>,
    ann: &Bound<'py, PyDict>,
    cols: &mut AnnotationColumns,
    keys: &Bound<'py, PyDict>,
) -> PyResult<Record> {
    let get = |k: &Bound<'py, PyString>| -> PyResult<Option<Bound<'py, PyAny>>> { ann.get_item(k) };
    let mut rec = Record::default();
    let key_field = |k: &Bound<'py, PyString>| -> PyResult<Scalar> {
        Ok(match get(k)? {
            None => Scalar::Missing,
            Some(v) => Scalar::Int(key_of(&v, keys)?),
        })
    };
    let number = |k: &Bound<'py, PyString>| -> PyResult<Scalar> {
        Ok(get(k)?.map_or(Scalar::Missing, |v| scalar(&v)))
    };
    rec.id = match get(intern!(py, "id"))? {
        None => Scalar::Missing,
        Some(v) => match scalar(&v) {
            s @ (Scalar::Int(_) | Scalar::Bool(_)) => s,
            Scalar::Float(f) if f.fract() == 0.0 => Scalar::Float(f),
            _ => Scalar::Other,
        },
    };
    rec.image_id = key_field(intern!(py, "image_id"))?;
    rec.category_id = key_field(intern!(py, "category_id"))?;
    rec.area = number(intern!(py, "area"))?;
    rec.iscrowd = number(intern!(py, "iscrowd"))?;
    rec.score = number(intern!(py, "score"))?;
    rec.num_keypoints = number(intern!(py, "num_keypoints"))?;
    if let Some(b) = get(intern!(py, "bbox"))? {
        let mut v = Vec::new();
        let got = numbers(&b, &mut v);
        rec.bbox_empty = matches!(got, Ok((0, 0)));
        rec.bbox = Some(match (got, v.as_slice()) {
            (Ok(_), &[x, y, w, h]) => Ok([x, y, w, h]),
            _ => Err(()),
        });
    }
    if let Some(k) = get(intern!(py, "keypoints"))? {
        rec.keypoints = Some(numbers(&k, &mut cols.keypoint_values));
    }
    rec.caption = get(intern!(py, "caption"))?.is_some();
    if let Some(s) = get(intern!(py, "segmentation"))? {
        rec.segmentation = segmentation(py, &s, cols)?;
    }
    Ok(rec)
}

fn segmentation(
    py: Python<'_>,
    s: &Bound<'_, PyAny>,
    cols: &mut AnnotationColumns,
) -> PyResult<Segmentation> {
    if let Ok(d) = s.cast::<PyDict>() {
        let size = match d.get_item(intern!(py, "size"))? {
            Some(v) => {
                let mut xs = Vec::new();
                match numbers(&v, &mut xs) {
                    Ok(_) if xs.len() == 2 && xs.iter().all(|x| x.fract() == 0.0 && *x >= 0.0) => {
                        Some([xs[0] as u64, xs[1] as u64])
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let Some([height, width]) = size else {
            return Ok(Segmentation::Other);
        };
        let Some(c) = d.get_item(intern!(py, "counts"))? else {
            return Ok(Segmentation::Other);
        };
        let bytes: Option<Vec<u8>> = if let Ok(b) = c.cast::<PyBytes>() {
            Some(b.as_bytes().to_vec())
        } else if let Ok(t) = c.cast::<PyString>() {
            Some(t.to_str()?.as_bytes().to_vec())
        } else {
            None
        };
        if let Some(b) = bytes {
            let start = cols.counts_bytes.len();
            cols.counts_bytes.extend_from_slice(&b);
            return Ok(Segmentation::Compressed {
                in_source: false,
                height,
                width,
                start,
                end: cols.counts_bytes.len(),
            });
        }
        let start = cols.runs.len();
        if let Ok(it) = c.try_iter() {
            for x in it {
                match scalar(&x?) {
                    Scalar::Int(v) if (0..=i64::from(u32::MAX)).contains(&v) => {
                        cols.runs.push(v as u32);
                    }
                    _ => {
                        cols.runs.truncate(start);
                        return Ok(Segmentation::Other);
                    }
                }
            }
            return Ok(Segmentation::Runs {
                height,
                width,
                start,
                end: cols.runs.len(),
            });
        }
        return Ok(Segmentation::Other);
    }
    if let Ok(l) = s.cast::<PyList>() {
        let first = cols.parts.len();
        for part in l.iter() {
            if let Ok(r) = numbers(&part, &mut cols.coords) {
                cols.parts.push(r);
            } else {
                cols.parts.truncate(first);
                return Ok(Segmentation::Other);
            }
        }
        return Ok(Segmentation::Polygons {
            first,
            count: cols.parts.len() - first,
        });
    }
    Ok(Segmentation::Other)
}

fn read_images(
    py: Python<'_>,
    images: &Bound<'_, PyList>,
    keys: &Bound<'_, PyDict>,
    atypical: &mut Option<String>,
) -> PyResult<Images> {
    let mut out = Images::default();
    for (index, img) in images.iter().enumerate() {
        let img = img
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err(format!("image {index} is not a dict")))?;
        let Some(id) = img.get_item(intern!(py, "id"))? else {
            return Err(PyTypeError::new_err(format!("image {index} has no id")));
        };
        let dim = |k: &Bound<'_, PyString>| -> PyResult<Option<Scalar>> {
            Ok(img.get_item(k)?.map(|v| scalar(&v)))
        };
        let size = match (dim(intern!(py, "height"))?, dim(intern!(py, "width"))?) {
            (Some(Scalar::Int(h)), Some(Scalar::Int(w))) if h >= 0 && w >= 0 => {
                Some([h as u64, w as u64])
            }
            (None, _) | (_, None) => None,
            _ => {
                if atypical.is_none() {
                    *atypical = Some(format!(
                        "image {index}: height or width is not a non-negative integer"
                    ));
                }
                None
            }
        };
        out.id.push(key_of(&id, keys)?);
        out.size.push(size);
    }
    Ok(out)
}

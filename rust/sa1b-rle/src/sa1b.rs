//! SA-1B per-image annotation files, parsed into columns and validated.
//!
//! A file is `{"image": {"image_id", "width", "height", "file_name"}, "annotations":
//! [{"id", "segmentation": {"size": [h, w], "counts": str}, "bbox": [x, y, w, h], "area",
//! "predicted_iou", "stability_score", "point_coords": [[x, y]], "crop_box": [x, y, w,
//! h]}]}`. [`parse`] reads one into an [`Sa1bImage`] (one array per field, the masks as
//! an [`RleBatch`]) and lists every [`Problem`] it finds, each naming the file, the
//! annotation (index and id), the field and what is wrong. Bad content is never a panic:
//! at SA-1B scale it is the normal case.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::batch::{CountsBuffers, RleBatch};
use crate::rle::Rle;

/// One thing wrong with an annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file (a path, or a description such as `<bytes>`).
    pub file: String,
    /// The annotation's index in `annotations` (`None` for the file or its `image`).
    pub index: Option<usize>,
    /// The annotation's id, when it has a readable one.
    pub id: Option<i64>,
    /// The JSON path of the field, e.g. `annotations[3].bbox` or `image.width`.
    pub field: String,
    /// What kind of problem.
    pub code: Code,
    /// What is wrong.
    pub message: String,
}

/// The kinds of [`Problem`], named as reports show them ([`Code::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The file is not valid JSON.
    Json,
    /// A required key is missing.
    Missing,
    /// A value of the wrong type or shape.
    Type,
    /// A mask's size is not the image's.
    Size,
    /// An invalid RLE.
    Counts,
    /// The stored area differs from the mask's.
    Area,
    /// The stored box differs from the mask's.
    Bbox,
    /// A score outside `[0, 1]`.
    Range,
    /// A point or crop box outside the image.
    Outside,
    /// An annotation id given twice.
    Duplicate,
    /// `image.file_name` is not a bare file name.
    FileName,
}

impl Code {
    /// The name reports use: `json`, `missing`, `type`, `size`, `counts`, `area`,
    /// `bbox`, `range`, `outside`, `duplicate`, `file_name`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Json => "json",
            Code::Missing => "missing",
            Code::Type => "type",
            Code::Size => "size",
            Code::Counts => "counts",
            Code::Area => "area",
            Code::Bbox => "bbox",
            Code::Range => "range",
            Code::Outside => "outside",
            Code::Duplicate => "duplicate",
            Code::FileName => "file_name",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Problem {
    /// Whether it prevents building the image (the others are wrong values).
    #[must_use]
    pub fn is_structural(&self) -> bool {
        matches!(
            self.code,
            Code::Json | Code::Missing | Code::Type | Code::Size | Code::Counts
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        match (self.index, self.id) {
            (Some(i), Some(id)) => write!(f, "annotation {i} (id {id}): ")?,
            (Some(i), None) => write!(f, "annotation {i}: ")?,
            _ => {}
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// The annotations of one SA-1B image, one entry per mask in every column.
#[derive(Debug, Clone)]
pub struct Sa1bImage {
    /// `image.image_id`.
    pub image_id: i64,
    /// `image.width`.
    pub width: u64,
    /// `image.height`.
    pub height: u64,
    /// `image.file_name`.
    pub file_name: String,
    /// Annotation ids.
    pub ids: Vec<i64>,
    /// The masks, `height x width` each (shared: a Python `RleBatch` holds the same
    /// buffer).
    pub masks: Arc<RleBatch>,
    /// Stored boxes `[x, y, w, h]`.
    pub bbox: Vec<[f64; 4]>,
    /// Stored areas.
    pub area: Vec<i64>,
    /// `predicted_iou`.
    pub predicted_iou: Vec<f64>,
    /// `stability_score`.
    pub stability_score: Vec<f64>,
    /// The (first and only) point of `point_coords`, `[x, y]`.
    pub point_coords: Vec<[f64; 2]>,
    /// `crop_box` `[x, y, w, h]`.
    pub crop_box: Vec<[f64; 4]>,
}

impl Sa1bImage {
    /// Number of annotations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no annotations.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The annotations at `indices`, in that order.
    ///
    /// # Errors
    /// [`crate::Error::IndexOutOfRange`] for an index past the end.
    pub fn select(&self, indices: &[usize]) -> crate::Result<Sa1bImage> {
        let masks = Arc::new(self.masks.select(indices)?);
        let pick = |v: &[f64]| indices.iter().map(|&i| v[i]).collect();
        Ok(Sa1bImage {
            image_id: self.image_id,
            width: self.width,
            height: self.height,
            file_name: self.file_name.clone(),
            ids: indices.iter().map(|&i| self.ids[i]).collect(),
            masks,
            bbox: indices.iter().map(|&i| self.bbox[i]).collect(),
            area: indices.iter().map(|&i| self.area[i]).collect(),
            predicted_iou: pick(&self.predicted_iou),
            stability_score: pick(&self.stability_score),
            point_coords: indices.iter().map(|&i| self.point_coords[i]).collect(),
            crop_box: indices.iter().map(|&i| self.crop_box[i]).collect(),
        })
    }

    /// Indices of the annotations that pass every given threshold (inclusive bounds;
    /// NaN scores pass no score threshold).
    #[must_use]
    pub fn filter(&self, f: &Filter) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| f.keeps(self.predicted_iou[i], self.stability_score[i], self.area[i]))
            .collect()
    }
}

impl Sa1bImage {
    /// Appends the annotations as COCO instance annotations, JSON objects separated by
    /// commas (no brackets): ids `first_id, first_id + 1, ...` (the SA-1B id is kept as
    /// `sa1b_id`), `category_id`, `iscrowd` 0, the segmentation as `{"size": [h, w],
    /// "counts": str}`, the stored `area` and `bbox`, and SA-1B's other fields as they
    /// are.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::sa1b::parse;
    /// let json = br#"{"image": {"image_id": 7, "width": 3, "height": 2, "file_name": "a.jpg"},
    ///   "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "213"},
    ///   "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9, "stability_score": 0.95,
    ///   "point_coords": [[1.5, 0.5]], "crop_box": [0, 0, 3, 2]}]}"#;
    /// let image = parse(json, "a.json", true).0.unwrap();
    /// let mut out = Vec::new();
    /// image.write_coco_annotations(&mut out, 10, 1);
    /// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    /// assert_eq!(v["id"], 10);
    /// assert_eq!(v["segmentation"]["counts"], "213");
    /// ```
    pub fn write_coco_annotations(&self, out: &mut Vec<u8>, first_id: i64, category_id: i64) {
        let counts = self.masks.counts_strings(None);
        for (i, c) in counts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let ann = CocoAnnotation {
                id: first_id + i as i64,
                image_id: self.image_id,
                category_id,
                iscrowd: 0,
                segmentation: CocoRle {
                    size: [self.height, self.width],
                    // Counts strings are ASCII ('0'..='o').
                    counts: std::str::from_utf8(c).unwrap_or_default(),
                },
                area: self.area[i],
                bbox: self.bbox[i],
                predicted_iou: self.predicted_iou[i],
                stability_score: self.stability_score[i],
                point_coords: [self.point_coords[i]],
                crop_box: self.crop_box[i],
                sa1b_id: self.ids[i],
            };
            // Writing to a Vec cannot fail, and every field serialises.
            let _ = serde_json::to_writer(&mut *out, &ann);
        }
    }
}

impl Sa1bImage {
    /// The image as an SA-1B annotation file (`{"image": ..., "annotations": [...]}`),
    /// counts re-encoded from the runs (pycocotools' canonical strings): what
    /// [`parse`] reads back to an equal image. Pickling and `to_dict` use it.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::sa1b::parse;
    /// let json = br#"{"image": {"image_id": 7, "width": 3, "height": 2, "file_name": "a.jpg"},
    ///   "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "213"},
    ///   "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9, "stability_score": 0.95,
    ///   "point_coords": [[1.5, 0.5]], "crop_box": [0, 0, 3, 2]}]}"#;
    /// let image = parse(json, "a.json", true).0.unwrap();
    /// let again = parse(&image.to_json(), "again.json", true).0.unwrap();
    /// assert_eq!(again.to_json(), image.to_json());
    /// assert_eq!(again.masks, image.masks);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let counts = self.masks.counts_strings(None);
        let doc = Sa1bDoc {
            image: Sa1bImageInfo {
                image_id: self.image_id,
                width: self.width,
                height: self.height,
                file_name: &self.file_name,
            },
            annotations: counts
                .iter()
                .enumerate()
                .map(|(i, c)| Sa1bAnnotation {
                    id: self.ids[i],
                    segmentation: CocoRle {
                        size: [self.height, self.width],
                        // Counts strings are ASCII ('0'..='o').
                        counts: std::str::from_utf8(c).unwrap_or_default(),
                    },
                    bbox: self.bbox[i],
                    area: self.area[i],
                    predicted_iou: self.predicted_iou[i],
                    stability_score: self.stability_score[i],
                    point_coords: [self.point_coords[i]],
                    crop_box: self.crop_box[i],
                })
                .collect(),
        };
        // Every field serialises (and the parser only admits finite floats).
        serde_json::to_vec(&doc).unwrap_or_default()
    }
}

/// An SA-1B annotation file as [`Sa1bImage::to_json`] writes it.
#[derive(serde::Serialize)]
struct Sa1bDoc<'a> {
    image: Sa1bImageInfo<'a>,
    annotations: Vec<Sa1bAnnotation<'a>>,
}

/// The `image` object of an SA-1B file.
#[derive(serde::Serialize)]
struct Sa1bImageInfo<'a> {
    image_id: i64,
    width: u64,
    height: u64,
    file_name: &'a str,
}

/// One annotation of an SA-1B file.
#[derive(serde::Serialize)]
struct Sa1bAnnotation<'a> {
    id: i64,
    segmentation: CocoRle<'a>,
    bbox: [f64; 4],
    area: i64,
    predicted_iou: f64,
    stability_score: f64,
    point_coords: [[f64; 2]; 1],
    crop_box: [f64; 4],
}

/// One COCO instance annotation as `to_coco` writes it (fields in this order).
#[derive(serde::Serialize)]
struct CocoAnnotation<'a> {
    id: i64,
    image_id: i64,
    category_id: i64,
    iscrowd: u8,
    segmentation: CocoRle<'a>,
    area: i64,
    bbox: [f64; 4],
    predicted_iou: f64,
    stability_score: f64,
    point_coords: [[f64; 2]; 1],
    crop_box: [f64; 4],
    sa1b_id: i64,
}

/// A compressed COCO RLE: `{"size": [h, w], "counts": str}`.
#[derive(serde::Serialize)]
struct CocoRle<'a> {
    size: [u64; 2],
    counts: &'a str,
}

/// Quality and size thresholds for [`Sa1bImage::filter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Keep `predicted_iou >= this`.
    pub min_predicted_iou: Option<f64>,
    /// Keep `stability_score >= this`.
    pub min_stability_score: Option<f64>,
    /// Keep `area >= this`.
    pub min_area: Option<i64>,
    /// Keep `area <= this`.
    pub max_area: Option<i64>,
}

impl Filter {
    /// Whether a mask with these scores and area passes every given threshold: the one
    /// rule of every quality filter (inclusive bounds; a NaN score passes no score
    /// threshold).
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::sa1b::Filter;
    /// let f = Filter { min_predicted_iou: Some(0.8), max_area: Some(100), ..Filter::default() };
    /// assert!(f.keeps(0.8, f64::NAN, 100));
    /// assert!(!f.keeps(f64::NAN, 1.0, 10) && !f.keeps(0.9, 1.0, 101));
    /// ```
    #[must_use]
    pub fn keeps(&self, predicted_iou: f64, stability_score: f64, area: i64) -> bool {
        self.min_predicted_iou.is_none_or(|t| predicted_iou >= t)
            && self
                .min_stability_score
                .is_none_or(|t| stability_score >= t)
            && self.min_area.is_none_or(|t| area >= t)
            && self.max_area.is_none_or(|t| area <= t)
    }
}

/// The annotations of several images as one column per field, one row per mask (the
/// layout of an Arrow table).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// The image's `image_id`, repeated for each of its masks.
    pub image_id: Vec<i64>,
    /// Annotation ids.
    pub id: Vec<i64>,
    /// The image's height.
    pub height: Vec<i64>,
    /// The image's width.
    pub width: Vec<i64>,
    /// The compressed counts strings, `rows + 1` offsets from 0 into their bytes.
    pub counts: CountsBuffers,
    /// Stored boxes, one column per coordinate `x, y, w, h`.
    pub bbox: [Vec<f64>; 4],
    /// Stored areas.
    pub area: Vec<i64>,
    /// `predicted_iou`.
    pub predicted_iou: Vec<f64>,
    /// `stability_score`.
    pub stability_score: Vec<f64>,
    /// The point, `x` and `y`.
    pub point: [Vec<f64>; 2],
    /// `crop_box`, `x, y, w, h`.
    pub crop_box: [Vec<f64>; 4],
}

impl Columns {
    /// The rows of `images`, in order; counts strings are written by up to `threads`
    /// threads per image.
    ///
    /// # Examples
    /// ```
    /// let doc = br#"{"image": {"image_id": 7, "width": 2, "height": 2, "file_name": "a.jpg"},
    ///   "annotations": [{"id": 1, "segmentation": {"size": [2, 2], "counts": "04"},
    ///   "bbox": [0, 0, 2, 2], "area": 4, "predicted_iou": 0.9, "stability_score": 0.95,
    ///   "point_coords": [[1, 1]], "crop_box": [0, 0, 2, 2]}]}"#;
    /// let (image, _) = sa1b_rle::sa1b::parse(doc, "a.json", false);
    /// let cols = sa1b_rle::sa1b::Columns::of(&[&image.unwrap()], Some(1));
    /// assert_eq!(cols.image_id, [7]);
    /// assert_eq!(cols.counts.offsets, [0, 2]);
    /// assert_eq!(cols.counts.data, b"04");
    /// assert_eq!(cols.bbox[2], [2.0]);
    /// ```
    #[must_use]
    pub fn of(images: &[&Sa1bImage], threads: Option<usize>) -> Columns {
        let rows: usize = images.iter().map(|i| i.len()).sum();
        let mut c = Columns {
            counts: CountsBuffers::new(),
            ..Columns::default()
        };
        c.counts.offsets.reserve(rows);
        for img in images {
            let n = img.len();
            c.image_id.extend(std::iter::repeat_n(img.image_id, n));
            c.id.extend_from_slice(&img.ids);
            // Sizes come from the file as non-negative i64s.
            c.height.extend(std::iter::repeat_n(img.height as i64, n));
            c.width.extend(std::iter::repeat_n(img.width as i64, n));
            c.counts.extend(&img.masks.counts_buffers(threads));
            for k in 0..4 {
                c.bbox[k].extend(img.bbox.iter().map(|b| b[k]));
                c.crop_box[k].extend(img.crop_box.iter().map(|b| b[k]));
            }
            for k in 0..2 {
                c.point[k].extend(img.point_coords.iter().map(|p| p[k]));
            }
            c.area.extend_from_slice(&img.area);
            c.predicted_iou.extend_from_slice(&img.predicted_iou);
            c.stability_score.extend_from_slice(&img.stability_score);
        }
        c
    }
}

/// Parses an annotation file.
///
/// Returns the image when the file's structure allows building it (every key present
/// with the right type, every mask of the image's size with valid counts), and every
/// problem found. With `check` the contents are checked as well: stored area and box
/// against the mask's, scores in `[0, 1]`, point and crop box inside the image, ids
/// unique; without it only what building needs is checked.
///
/// # Examples
/// ```
/// use sa1b_rle::sa1b::parse;
/// let json = br#"{"image": {"image_id": 7, "width": 3, "height": 2, "file_name": "sa_7.jpg"},
///   "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "213"},
///   "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9, "stability_score": 0.95,
///   "point_coords": [[1.5, 0.5]], "crop_box": [0, 0, 3, 2]}]}"#;
/// let (image, problems) = parse(json, "sa_7.json", true);
/// assert!(problems.is_empty());
/// let image = image.unwrap();
/// assert_eq!((image.image_id, image.len()), (7, 1));
/// assert_eq!(image.masks.area(None), vec![1]);
///
/// let (_, problems) = parse(&json[..40], "cut.json", true);
/// assert!(problems[0].to_string().starts_with("cut.json: invalid JSON"));
/// ```
#[must_use]
pub fn parse(data: &[u8], file: &str, check: bool) -> (Option<Sa1bImage>, Vec<Problem>) {
    if let Some(image) = fast::parse(data, check) {
        return (Some(image), Vec::new());
    }
    parse_reporting(data, file, check)
}

/// [`parse`] value by value, recording every problem (the path of files the fast typed
/// parse does not take).
fn parse_reporting(data: &[u8], file: &str, check: bool) -> (Option<Sa1bImage>, Vec<Problem>) {
    let mut p = Problems {
        file,
        list: Vec::new(),
    };
    let root: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            // serde_json gives a 1-based line and column; at the end of the data, where a
            // truncated file stops, the position is the end.
            let offset = if e.is_eof() {
                data.len()
            } else {
                byte_offset(data, e.line(), e.column())
            };
            let message = format!("invalid JSON at byte {offset}: {e}");
            p.file_level("", Code::Json, message);
            return (None, p.list);
        }
    };
    let Some(root) = root.as_object() else {
        p.file_level("", Code::Type, "the file is not a JSON object".into());
        return (None, p.list);
    };
    let image = read_image(root, check, &mut p);
    let Some(anns) = field(root, "annotations", "", None, &mut p) else {
        return (None, p.list);
    };
    let Some(anns) = anns.as_array() else {
        p.file_level(
            "annotations",
            Code::Type,
            format!("expected a list, got {}", kind(anns)),
        );
        return (None, p.list);
    };
    let Some((image_id, width, height, file_name)) = image else {
        // Without the image's size no mask can be checked; list the rest anyway.
        for (i, a) in anns.iter().enumerate() {
            let _ = read_annotation(a, i, None, check, &mut p);
        }
        return (None, p.list);
    };
    let mut masks = match RleBatch::new(height, width) {
        Ok(b) => b,
        Err(e) => {
            p.file_level("image", Code::Size, e.to_string());
            return (None, p.list);
        }
    };
    let mut out = Sa1bImage {
        image_id,
        width,
        height,
        file_name,
        ids: Vec::with_capacity(anns.len()),
        // Empty until the annotations are read (a cheap clone).
        masks: Arc::new(masks.clone()),
        bbox: Vec::with_capacity(anns.len()),
        area: Vec::with_capacity(anns.len()),
        predicted_iou: Vec::with_capacity(anns.len()),
        stability_score: Vec::with_capacity(anns.len()),
        point_coords: Vec::with_capacity(anns.len()),
        crop_box: Vec::with_capacity(anns.len()),
    };
    let mut complete = true;
    let mut first_of_id: HashMap<i64, usize> = HashMap::new();
    for (i, a) in anns.iter().enumerate() {
        let Some(ann) = read_annotation(a, i, Some((height, width)), check, &mut p) else {
            complete = false;
            continue;
        };
        if check {
            if let Some(&j) = first_of_id.get(&ann.id) {
                p.add(
                    Some(i),
                    Some(ann.id),
                    &format!("annotations[{i}].id"),
                    Code::Duplicate,
                    format!("duplicate id (also annotation {j})"),
                );
            } else {
                first_of_id.insert(ann.id, i);
            }
        }
        if !complete {
            continue;
        }
        // The mask was validated against the image's size when it was read.
        if let Err(e) = masks.push_runs(ann.mask.counts()) {
            let at = format!("annotations[{i}].segmentation");
            p.add(Some(i), Some(ann.id), &at, Code::Counts, e.to_string());
            complete = false;
            continue;
        }
        out.ids.push(ann.id);
        out.bbox.push(ann.bbox);
        out.area.push(ann.area);
        out.predicted_iou.push(ann.predicted_iou);
        out.stability_score.push(ann.stability_score);
        out.point_coords.push(ann.point);
        out.crop_box.push(ann.crop_box);
    }
    out.masks = Arc::new(masks);
    (complete.then_some(out), p.list)
}

/// The fast path of [`parse`]: a typed parse that borrows the counts strings from the
/// input, for files without any problem. `None` sends the file to the reporting path.
mod fast {
    use std::borrow::Cow;
    use std::collections::HashSet;

    use serde::Deserialize;

    use super::Sa1bImage;
    use crate::batch::RleBatch;

    #[derive(Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        image: Image<'a>,
        #[serde(borrow)]
        annotations: Vec<Annotation<'a>>,
    }

    // The field names are the file format's.
    #[allow(clippy::struct_field_names)]
    #[derive(Deserialize)]
    struct Image<'a> {
        image_id: i64,
        width: u64,
        height: u64,
        #[serde(borrow)]
        file_name: Cow<'a, str>,
    }

    #[derive(Deserialize)]
    struct Annotation<'a> {
        id: i64,
        #[serde(borrow)]
        segmentation: Segmentation<'a>,
        bbox: [f64; 4],
        area: i64,
        predicted_iou: f64,
        stability_score: f64,
        point_coords: Vec<[f64; 2]>,
        crop_box: [f64; 4],
    }

    #[derive(Deserialize)]
    struct Segmentation<'a> {
        size: [u64; 2],
        #[serde(borrow)]
        counts: Cow<'a, str>,
    }

    pub(super) fn parse(data: &[u8], check: bool) -> Option<Sa1bImage> {
        let doc: Doc<'_> = serde_json::from_slice(data).ok()?;
        let (h, w) = (doc.image.height, doc.image.width);
        let anns = &doc.annotations;
        if anns
            .iter()
            .any(|a| a.segmentation.size != [h, w] || a.point_coords.len() != 1)
        {
            return None;
        }
        let strings: Vec<&[u8]> = anns
            .iter()
            .map(|a| a.segmentation.counts.as_bytes())
            .collect();
        let masks = RleBatch::from_counts_strings(h, w, &strings, None).ok()?;
        let image = Sa1bImage {
            image_id: doc.image.image_id,
            width: w,
            height: h,
            file_name: doc.image.file_name.into_owned(),
            ids: anns.iter().map(|a| a.id).collect(),
            bbox: anns.iter().map(|a| a.bbox).collect(),
            area: anns.iter().map(|a| a.area).collect(),
            predicted_iou: anns.iter().map(|a| a.predicted_iou).collect(),
            stability_score: anns.iter().map(|a| a.stability_score).collect(),
            point_coords: anns.iter().map(|a| a.point_coords[0]).collect(),
            crop_box: anns.iter().map(|a| a.crop_box).collect(),
            masks: std::sync::Arc::new(masks),
        };
        if check && !content_ok(&image) {
            return None;
        }
        Some(image)
    }

    /// The content checks of the reporting path, all passing.
    fn content_ok(img: &Sa1bImage) -> bool {
        if super::file_name_problem(&img.file_name).is_some() {
            return false;
        }
        let areas = img.masks.area(None);
        let boxes = img.masks.bbox(None);
        let size = Some((img.height, img.width));
        let mut ids = HashSet::with_capacity(img.len());
        (0..img.len()).all(|i| {
            let fields = super::Fields {
                area: Some(img.area[i]),
                bbox: Some(img.bbox[i]),
                predicted_iou: Some(img.predicted_iou[i]),
                stability_score: Some(img.stability_score[i]),
                point: Some(img.point_coords[i]),
                crop_box: Some(img.crop_box[i]),
            };
            let mut ok = true;
            fields.violations(Some((areas[i], boxes[i])), size, |_| ok = false);
            ok && ids.insert(img.ids[i])
        })
    }
}

/// The stored fields of one annotation that the content rules look at (`None`: missing
/// or of the wrong type, already reported).
struct Fields {
    area: Option<i64>,
    bbox: Option<[f64; 4]>,
    predicted_iou: Option<f64>,
    stability_score: Option<f64>,
    point: Option<[f64; 2]>,
    crop_box: Option<[f64; 4]>,
}

/// A content rule an annotation breaks.
enum Violation {
    /// The stored area is not the mask's.
    Area { stored: i64, actual: u64 },
    /// The stored box is not the mask's.
    Bbox { stored: [f64; 4], actual: [f64; 4] },
    /// A score outside [0, 1].
    Range { key: &'static str, value: f64 },
    /// The point is outside the image.
    Point { at: [f64; 2], w: f64, h: f64 },
    /// The crop box is not inside the image.
    CropBox { b: [f64; 4], w: f64, h: f64 },
}

impl Violation {
    fn key(&self) -> &'static str {
        match self {
            Violation::Area { .. } => "area",
            Violation::Bbox { .. } => "bbox",
            Violation::Range { key, .. } => key,
            Violation::Point { .. } => "point_coords",
            Violation::CropBox { .. } => "crop_box",
        }
    }

    fn code(&self) -> Code {
        match self {
            Violation::Area { .. } => Code::Area,
            Violation::Bbox { .. } => Code::Bbox,
            Violation::Range { .. } => Code::Range,
            Violation::Point { .. } | Violation::CropBox { .. } => Code::Outside,
        }
    }

    fn message(&self) -> String {
        match self {
            Violation::Area { stored, actual } => {
                format!("{stored} differs from the mask's area {actual}")
            }
            Violation::Bbox { stored, actual } => {
                format!("{stored:?} differs from the mask's box {actual:?}")
            }
            Violation::Range { value, .. } => format!("{value} is outside [0, 1]"),
            Violation::Point { at: [x, y], w, h } => {
                format!("[{x}, {y}] is outside the {w}x{h} image")
            }
            Violation::CropBox {
                b: [x, y, bw, bh],
                w,
                h,
            } => {
                format!("[{x}, {y}, {bw}, {bh}] is not inside the {w}x{h} image")
            }
        }
    }
}

impl Fields {
    /// The one statement of SA-1B's content rules (both parse paths use it): calls `f`
    /// with each rule these fields break, given the mask's `(area, bbox)` and the image's
    /// `(height, width)` when known.
    fn violations(
        &self,
        measured: Option<(u64, [f64; 4])>,
        size: Option<(u64, u64)>,
        mut f: impl FnMut(Violation),
    ) {
        if let (Some((actual, _)), Some(stored)) = (measured, self.area) {
            if u64::try_from(stored).ok() != Some(actual) {
                f(Violation::Area { stored, actual });
            }
        }
        if let (Some((_, actual)), Some(stored)) = (measured, self.bbox) {
            if stored != actual {
                f(Violation::Bbox { stored, actual });
            }
        }
        for (key, x) in [
            ("predicted_iou", self.predicted_iou),
            ("stability_score", self.stability_score),
        ] {
            if let Some(value) = x {
                if !(0.0..=1.0).contains(&value) {
                    f(Violation::Range { key, value });
                }
            }
        }
        let Some((h, w)) = size else { return };
        let (h, w) = (h as f64, w as f64);
        if let Some([x, y]) = self.point {
            if !(0.0..=w).contains(&x) || !(0.0..=h).contains(&y) {
                f(Violation::Point { at: [x, y], w, h });
            }
        }
        if let Some(b @ [x, y, bw, bh]) = self.crop_box {
            let inside =
                x >= 0.0 && y >= 0.0 && bw >= 0.0 && bh >= 0.0 && x + bw <= w && y + bh <= h;
            if !inside {
                f(Violation::CropBox { b, w, h });
            }
        }
    }
}

/// The problems found so far in one file.
struct Problems<'a> {
    file: &'a str,
    list: Vec<Problem>,
}

impl Problems<'_> {
    fn add(
        &mut self,
        index: Option<usize>,
        id: Option<i64>,
        field: &str,
        code: Code,
        message: String,
    ) {
        self.list.push(Problem {
            file: self.file.to_string(),
            index,
            id,
            field: field.to_string(),
            code,
            message,
        });
    }

    fn file_level(&mut self, field: &str, code: Code, message: String) {
        self.add(None, None, field, code, message);
    }
}

/// The byte offset of a 1-based line and column (`serde_json`'s error position).
fn byte_offset(data: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (k, l) in data.split(|&b| b == b'\n').enumerate() {
        if k + 1 == line {
            return offset + column.saturating_sub(1).min(l.len());
        }
        offset += l.len() + 1;
    }
    data.len()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `obj[key]`, or a "missing" problem at `path.key`.
fn field<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    path: &str,
    at: Option<(usize, Option<i64>)>,
    p: &mut Problems<'_>,
) -> Option<&'v Value> {
    let v = obj.get(key);
    if v.is_none() {
        let name = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        p.add(
            at.map(|a| a.0),
            at.and_then(|a| a.1),
            &name,
            Code::Missing,
            "missing".into(),
        );
    }
    v
}

/// What is wrong with an image's `file_name`, if anything: it must be a bare file name
/// (readers join it onto the annotation file's directory), so no path separator, no
/// `.` or `..`, no NUL and not empty.
///
/// # Examples
/// ```
/// use sa1b_rle::sa1b::file_name_problem;
/// assert_eq!(file_name_problem("sa_1.jpg"), None);
/// assert!(file_name_problem("../etc/passwd").is_some());
/// assert!(file_name_problem("/dev/zero").is_some());
/// ```
#[must_use]
pub fn file_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty; expected the image's file name".into());
    }
    if name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
        return Some(format!(
            "{name:?} is not a bare file name (no directories, '..' or separators)"
        ));
    }
    None
}

/// Reads `image`: `(image_id, width, height, file_name)`; with `check`, a `file_name`
/// that is not a bare name is a problem too.
fn read_image(
    root: &Map<String, Value>,
    check: bool,
    p: &mut Problems<'_>,
) -> Option<(i64, u64, u64, String)> {
    let image = field(root, "image", "", None, p)?;
    let Some(image) = image.as_object() else {
        p.file_level(
            "image",
            Code::Type,
            format!("expected an object, got {}", kind(image)),
        );
        return None;
    };
    let int = |key: &str, p: &mut Problems<'_>| -> Option<i64> {
        let v = field(image, key, "image", None, p)?;
        let n = v.as_i64();
        if n.is_none() {
            let message = format!("expected an integer, got {}", describe(v));
            p.file_level(&format!("image.{key}"), Code::Type, message);
        }
        n
    };
    let image_id = int("image_id", p);
    let size = |key: &str, p: &mut Problems<'_>| -> Option<u64> {
        let n = int(key, p)?;
        if n < 0 {
            p.file_level(
                &format!("image.{key}"),
                Code::Type,
                format!("must not be negative, got {n}"),
            );
            return None;
        }
        Some(n as u64)
    };
    let width = size("width", p);
    let height = size("height", p);
    let file_name = field(image, "file_name", "image", None, p).and_then(|v| {
        let s = v.as_str().map(str::to_string);
        if s.is_none() {
            p.file_level(
                "image.file_name",
                Code::Type,
                format!("expected a string, got {}", kind(v)),
            );
        }
        if let Some(message) = s.as_deref().filter(|_| check).and_then(file_name_problem) {
            p.file_level("image.file_name", Code::FileName, message);
        }
        s
    });
    Some((image_id?, width?, height?, file_name?))
}

/// A value for messages: the number itself, else its kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        _ => kind(v).to_string(),
    }
}

/// One annotation's fields, read and (with `check`) checked.
struct Annotation {
    id: i64,
    mask: Rle,
    bbox: [f64; 4],
    area: i64,
    predicted_iou: f64,
    stability_score: f64,
    point: [f64; 2],
    crop_box: [f64; 4],
}

/// Reads annotation `i`; `size` is the image's `(height, width)` (`None` when the image
/// could not be read: then the mask is only parsed). Every problem is recorded; `None`
/// when a field needed to build the image is missing or unusable.
#[allow(clippy::too_many_lines)]
fn read_annotation(
    a: &Value,
    i: usize,
    size: Option<(u64, u64)>,
    check: bool,
    p: &mut Problems<'_>,
) -> Option<Annotation> {
    let path = format!("annotations[{i}]");
    let Some(a) = a.as_object() else {
        p.add(
            Some(i),
            None,
            &path,
            Code::Type,
            format!("expected an object, got {}", kind(a)),
        );
        return None;
    };
    let id = a.get("id").and_then(Value::as_i64);
    let at = Some((i, id));
    let before = p.list.len();
    let add = |p: &mut Problems<'_>, key: &str, code: Code, message: String| {
        p.add(Some(i), id, &format!("{path}.{key}"), code, message);
    };
    if let Some(v) = field(a, "id", &path, at, p) {
        if id.is_none() {
            add(
                p,
                "id",
                Code::Type,
                format!("expected an integer, got {}", describe(v)),
            );
        }
    }
    let number = |key: &str, p: &mut Problems<'_>| -> Option<f64> {
        let v = field(a, key, &path, at, p)?;
        let x = v.as_f64();
        if x.is_none() {
            add(
                p,
                key,
                Code::Type,
                format!("expected a number, got {}", kind(v)),
            );
        }
        x
    };
    let numbers = |key: &str, n: usize, v: &Value, p: &mut Problems<'_>| -> Option<Vec<f64>> {
        let xs: Option<Vec<f64>> = v
            .as_array()
            .filter(|l| l.len() == n)
            .and_then(|l| l.iter().map(Value::as_f64).collect());
        if xs.is_none() {
            add(
                p,
                key,
                Code::Type,
                format!("expected a list of {n} numbers, got {}", short(v)),
            );
        }
        xs
    };
    let four = |key: &str, p: &mut Problems<'_>| -> Option<[f64; 4]> {
        let v = field(a, key, &path, at, p)?;
        let xs = numbers(key, 4, v, p)?;
        Some([xs[0], xs[1], xs[2], xs[3]])
    };
    let bbox = four("bbox", p);
    let crop_box = four("crop_box", p);
    let predicted_iou = number("predicted_iou", p);
    let stability_score = number("stability_score", p);
    let area = field(a, "area", &path, at, p).and_then(|v| {
        let n = v.as_i64();
        if n.is_none() {
            add(
                p,
                "area",
                Code::Type,
                format!("expected an integer, got {}", describe(v)),
            );
        }
        n
    });
    let point = field(a, "point_coords", &path, at, p).and_then(|v| {
        if let Some([pt]) = v.as_array().map(Vec::as_slice) {
            return numbers("point_coords[0]", 2, pt, p).map(|xs| [xs[0], xs[1]]);
        }
        let message = format!("expected a list of one [x, y] point, got {}", short(v));
        add(p, "point_coords", Code::Type, message);
        None
    });
    let mask = read_mask(a, &path, at, size, p);

    if check {
        let fields = Fields {
            area,
            bbox,
            predicted_iou,
            stability_score,
            point,
            crop_box,
        };
        let measured = mask.as_ref().map(|m| (m.area(), m.bbox()));
        fields.violations(measured, size, |v| add(p, v.key(), v.code(), v.message()));
    }
    let structural_ok = !p.list[before..].iter().any(Problem::is_structural);
    if !structural_ok {
        return None;
    }
    Some(Annotation {
        id: id?,
        mask: mask?,
        bbox: bbox?,
        area: area?,
        predicted_iou: predicted_iou?,
        stability_score: stability_score?,
        point: point?,
        crop_box: crop_box?,
    })
}

/// A short rendering of a value for messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        let mut end = 57;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

/// Reads `segmentation` (`size` and `counts`, compressed or a list of runs), checking its
/// size against the image's.
fn read_mask(
    a: &Map<String, Value>,
    path: &str,
    at: Option<(usize, Option<i64>)>,
    image: Option<(u64, u64)>,
    p: &mut Problems<'_>,
) -> Option<Rle> {
    let (i, id) = (at.map(|a| a.0), at.and_then(|a| a.1));
    let seg_path = format!("{path}.segmentation");
    let seg = field(a, "segmentation", path, at, p)?;
    let Some(seg) = seg.as_object() else {
        p.add(
            i,
            id,
            &seg_path,
            Code::Type,
            format!("expected an object, got {}", kind(seg)),
        );
        return None;
    };
    let size = field(seg, "size", &seg_path, at, p)?;
    let hw: Option<Vec<u64>> = size
        .as_array()
        .filter(|l| l.len() == 2)
        .and_then(|l| l.iter().map(Value::as_u64).collect());
    let Some(hw) = hw else {
        let message = format!("expected [height, width], got {}", short(size));
        p.add(i, id, &format!("{seg_path}.size"), Code::Type, message);
        return None;
    };
    let (h, w) = (hw[0], hw[1]);
    if let Some((ih, iw)) = image {
        if (h, w) != (ih, iw) {
            p.add(
                i,
                id,
                &format!("{seg_path}.size"),
                Code::Size,
                format!("[{h}, {w}] is not the image's [height, width] [{ih}, {iw}]"),
            );
            return None;
        }
    }
    let counts = field(seg, "counts", &seg_path, at, p)?;
    let rle = match counts {
        Value::String(s) => Rle::from_counts_str(h, w, s.as_bytes()),
        Value::Array(l) => {
            let runs: Option<Vec<u32>> = l
                .iter()
                .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect();
            let Some(runs) = runs else {
                let message = "expected a string or a list of run lengths".into();
                p.add(i, id, &format!("{seg_path}.counts"), Code::Type, message);
                return None;
            };
            Rle::new(h, w, runs)
        }
        other => {
            p.add(
                i,
                id,
                &format!("{seg_path}.counts"),
                Code::Type,
                format!(
                    "expected a string or a list of run lengths, got {}",
                    kind(other)
                ),
            );
            return None;
        }
    };
    match rle {
        Ok(r) => Some(r),
        Err(e) => {
            p.add(
                i,
                id,
                &format!("{seg_path}.counts"),
                Code::Counts,
                e.to_string(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(id: i64, counts: &str) -> String {
        format!(
            r#"{{"id": {id}, "segmentation": {{"size": [2, 3], "counts": "{counts}"}},
            "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9, "stability_score": 0.95,
            "point_coords": [[1.5, 0.5]], "crop_box": [0, 0, 3, 2]}}"#
        )
    }

    fn file(anns: &[String]) -> String {
        format!(
            r#"{{"image": {{"image_id": 7, "width": 3, "height": 2, "file_name": "sa_7.jpg"}},
            "annotations": [{}]}}"#,
            anns.join(",")
        )
    }

    #[test]
    fn a_good_file() {
        let (img, problems) = parse(file(&[ann(1, "213"), ann(2, "213")]).as_bytes(), "f", true);
        assert_eq!(problems, vec![]);
        let img = img.unwrap();
        assert_eq!(img.ids, vec![1, 2]);
        assert_eq!(img.point_coords, vec![[1.5, 0.5]; 2]);
        assert_eq!(img.select(&[1]).unwrap().ids, vec![2]);
    }

    #[test]
    fn problems_name_the_annotation_and_field() {
        let bad = ann(5, "213").replace("\"area\": 1", "\"area\": 2");
        let (img, problems) = parse(
            file(&[ann(1, "213"), bad, ann(1, "213")]).as_bytes(),
            "f",
            true,
        );
        assert!(img.is_some(), "content problems do not prevent building");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "f: annotation 1 (id 5): annotations[1].area: 2 differs from the mask's area 1",
                "f: annotation 2 (id 1): annotations[2].id: duplicate id (also annotation 0)",
            ]
        );
        let (img, problems) = parse(file(&[ann(1, "21x")]).as_bytes(), "f", false);
        assert!(img.is_none());
        assert_eq!(problems[0].field, "annotations[0].segmentation.counts");
        assert_eq!(problems[0].id, Some(1));
    }

    #[test]
    fn the_fast_path_takes_exactly_the_files_without_problems() {
        let good = file(&[ann(1, "213"), ann(2, "213"), ann(3, "12")]);
        let mut variants = vec![good.clone()];
        for (from, to) in [
            ("\"area\": 1", "\"area\": 2"),
            ("\"area\": 1", "\"area\": 1.0"),
            ("\"id\": 2", "\"id\": 1"),
            ("0.95", "1.5"),
            ("[[1.5, 0.5]]", "[[1.5, 0.5], [1.0, 1.0]]"),
            ("[[1.5, 0.5]]", "[[4, 0.5]]"),
            ("[0, 0, 3, 2]", "[0, 0, 3, 3]"),
            ("[1, 0, 1, 1]", "[1, 0, 1, 2]"),
            ("\"size\": [2, 3]", "\"size\": [3, 2]"),
            ("\"213\"", "[2, 1, 3]"),
            ("\"width\": 3", "\"width\": -3"),
            ("\"sa_7.jpg\"", "7"),
        ] {
            variants.push(good.replacen(from, to, 1));
        }
        // And random byte flips.
        let mut rng = crate::test_support::Xorshift::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..400 {
            let mut v = good.clone().into_bytes();
            for _ in 0..3 {
                let seed = rng.next_u64();
                let at = (seed % v.len() as u64) as usize;
                let alphabet = b"0123456789[]{},.:\"-e aeiou";
                v[at] = alphabet[(seed >> 40) as usize % alphabet.len()];
            }
            variants.push(String::from_utf8_lossy(&v).into_owned());
        }
        for text in &variants {
            for check in [true, false] {
                let fast = fast::parse(text.as_bytes(), check);
                let (slow, problems) = parse_reporting(text.as_bytes(), "f", check);
                assert_eq!(
                    fast.is_some(),
                    problems.is_empty() && slow.is_some(),
                    "{text}"
                );
                if let (Some(a), Some(b)) = (fast, slow) {
                    assert_eq!((a.ids, a.bbox, a.area), (b.ids, b.bbox, b.area));
                    assert_eq!(a.masks, b.masks);
                }
            }
        }
    }

    #[test]
    fn truncated_json_gives_the_byte_offset() {
        let text = file(&[ann(1, "213")]);
        let (_, problems) = parse(&text.as_bytes()[..100], "cut", true);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.starts_with("invalid JSON at byte 100:"),
            "{}",
            problems[0]
        );
    }
}

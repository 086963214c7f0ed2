//! COCO datasets (instances and keypoints) and detection results held as columns: one
//! vector per field, the segmentations in flat buffers, so that evaluation reads them
//! without a Python object per annotation.
//!
//! [`parse_dataset`] reads a COCO JSON document (`{"images", "annotations",
//! "categories", ...}`) and [`parse_results`] a results file (a list of result objects);
//! a front end that holds annotations in another form fills an [`AnnotationColumns`]
//! with [`AnnotationColumns::push`]. [`Dataset::derive_results`] completes results as
//! pycocotools' `loadRes` does (ids, `iscrowd`, `area`, `bbox`).
//!
//! Values are kept as JSON gives them: a value that the columns cannot hold exactly as
//! Python would see it (an id that is a string or a fraction, an image size that is not
//! a non-negative integer, ...) makes the dataset [`Dataset::atypical`], and its user
//! reads the JSON the general way instead.
//!
//! ```
//! let doc = br#"{"images": [{"id": 1, "height": 4, "width": 5}],
//!                "annotations": [{"id": 7, "image_id": 1, "category_id": 2, "area": 3.5,
//!                                 "iscrowd": 0, "bbox": [0, 0, 2, 2],
//!                                 "segmentation": [[0, 0, 2, 0, 2, 2]]}],
//!                "categories": [{"id": 2, "name": "dog"}]}"#;
//! let d = sa1b_rle::coco::parse_dataset(doc).unwrap();
//! assert_eq!(d.annotations.len(), 1);
//! assert_eq!(d.annotations.id[0], 7);
//! assert_eq!(d.images.size[0], Some([4, 5]));
//! assert_eq!(d.categories.name[0].as_deref(), Some("dog"));
//! assert!(d.atypical.is_none());
//! ```

mod fast;
mod json;
mod split;

pub use json::{parse_dataset, parse_dataset_with, parse_results, parse_results_with};

use crate::error::{Error, Result};
use crate::input::RleRef;
use crate::rle::Rle;

/// A JSON scalar as read: what the columns make of a field.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Scalar {
    /// The field is absent.
    #[default]
    Missing,
    /// An integer (that fits `i64`).
    Int(i64),
    /// A number with a fraction or exponent (or an integer past `i64`).
    Float(f64),
    /// `true` / `false` (Python's `True == 1`).
    Bool(bool),
    /// `null`, a string, a list or an object.
    Other,
}

impl Scalar {
    /// The number as Python arithmetic sees it (`True` is 1), if it is one.
    #[must_use]
    pub fn number(self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(i as f64),
            Scalar::Float(f) => Some(f),
            Scalar::Bool(b) => Some(f64::from(u8::from(b))),
            Scalar::Missing | Scalar::Other => None,
        }
    }

    /// The value as a dictionary key equal to Python's (`1`, `1.0` and `True` are one
    /// key), if it is an integer.
    #[must_use]
    pub fn key(self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(i),
            Scalar::Bool(b) => Some(i64::from(b)),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(f as i64),
            _ => None,
        }
    }
}

/// The images of a dataset.
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// `id`.
    pub id: Vec<i64>,
    /// `[height, width]`, if both are non-negative integers.
    pub size: Vec<Option<[u64; 2]>>,
    /// LVIS: `neg_category_ids` and `not_exhaustive_category_ids`, each image's a range
    /// of [`Images::category_lists`] (`None`: absent, or not a list of numbers; empty
    /// when the document has neither anywhere).
    pub lvis_lists: [Vec<Option<(usize, usize)>>; 2],
    /// The numbers of those lists, one after the other.
    pub category_lists: Vec<f64>,
}

impl Images {
    /// The number of images.
    #[must_use]
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
}

/// The categories of a dataset.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    /// `id`.
    pub id: Vec<i64>,
    /// `name`, if it is a string.
    pub name: Vec<Option<String>>,
    /// LVIS: `frequency`, if it is a string.
    pub frequency: Vec<Option<String>>,
}

/// How an annotation's `segmentation` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Segmentation {
    /// No `segmentation` field.
    #[default]
    Missing,
    /// A list of parts (polygons, or boxes when the first part has 4 numbers):
    /// `parts[first..first + count]` of [`AnnotationColumns::parts`].
    Polygons {
        /// The first part.
        first: usize,
        /// The number of parts.
        count: usize,
    },
    /// A list of parts as JSON text, `source[start..end]` of
    /// [`AnnotationColumns::source`] (parsed when rasterised).
    PolygonText {
        /// Byte range.
        start: usize,
        /// See `start`.
        end: usize,
    },
    /// An RLE dict as JSON text, `source[start..end]` (read when needed).
    RleText {
        /// Byte range.
        start: usize,
        /// See `start`.
        end: usize,
    },
    /// `{"size": [h, w], "counts": str}`: `counts_bytes[start..end]`, or
    /// `source[start..end]` when `in_source`.
    Compressed {
        /// Whether the range is in `source` (a string without escapes, read in place).
        in_source: bool,
        /// `size`.
        height: u64,
        /// `size`.
        width: u64,
        /// Byte range in [`AnnotationColumns::counts_bytes`].
        start: usize,
        /// See `start`.
        end: usize,
    },
    /// `{"size": [h, w], "counts": [runs]}`: `runs[start..end]`.
    Runs {
        /// `size`.
        height: u64,
        /// `size`.
        width: u64,
        /// Range in [`AnnotationColumns::runs`].
        start: usize,
        /// See `start`.
        end: usize,
    },
    /// A value of another shape.
    Other,
}

/// Field-presence bits of [`AnnotationColumns::flags`].
pub mod flag {
    /// `area` is a number.
    pub const AREA: u16 = 1;
    /// `score` is a number.
    pub const SCORE: u16 = 1 << 1;
    /// `iscrowd` is present and a number.
    pub const ISCROWD: u16 = 1 << 2;
    /// `int(iscrowd) != 0`.
    pub const CROWD_INT: u16 = 1 << 3;
    /// `bool(iscrowd)`.
    pub const CROWD_TRUTHY: u16 = 1 << 4;
    /// `bbox` is a list of 4 numbers.
    pub const BBOX: u16 = 1 << 5;
    /// `bbox` is present (any value).
    pub const BBOX_KEY: u16 = 1 << 6;
    /// `bbox == []`.
    pub const BBOX_EMPTY: u16 = 1 << 7;
    /// `num_keypoints` is a number.
    pub const NUM_KEYPOINTS: u16 = 1 << 8;
    /// `keypoints` is a list of numbers.
    pub const KEYPOINTS: u16 = 1 << 9;
    /// `keypoints` is present (any value).
    pub const KEYPOINTS_KEY: u16 = 1 << 10;
    /// `caption` is present.
    pub const CAPTION_KEY: u16 = 1 << 11;
    /// `category_id` is present.
    pub const CATEGORY_KEY: u16 = 1 << 12;
}

/// One annotation as a front end hands it to [`AnnotationColumns::push`]: the scalar
/// fields as read, the list fields already appended to the columns' buffers.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// `id`.
    pub id: Scalar,
    /// `image_id`.
    pub image_id: Scalar,
    /// `category_id`.
    pub category_id: Scalar,
    /// `area`.
    pub area: Scalar,
    /// `iscrowd`.
    pub iscrowd: Scalar,
    /// `score`.
    pub score: Scalar,
    /// `num_keypoints`.
    pub num_keypoints: Scalar,
    /// `bbox`: `None` when absent, `Some(Err(()))` when not 4 numbers (`Some(Err(()))`
    /// with `bbox_empty` for `[]`).
    pub bbox: Option<std::result::Result<[f64; 4], ()>>,
    /// `bbox == []`.
    pub bbox_empty: bool,
    /// `segmentation`.
    pub segmentation: Segmentation,
    /// `keypoints`: a range of [`AnnotationColumns::keypoint_values`], or `Err(())` for
    /// another value.
    pub keypoints: Option<std::result::Result<(usize, usize), ()>>,
    /// Whether `caption` is present.
    pub caption: bool,
}

/// The annotations of a dataset (or the results of a detector), one entry per
/// annotation in file order.
#[derive(Debug, Clone, Default)]
pub struct AnnotationColumns {
    /// `id` (a key: see [`Scalar::key`]).
    pub id: Vec<i64>,
    /// `image_id`.
    pub image_id: Vec<i64>,
    /// `category_id` (0 when absent: see [`flag::CATEGORY_KEY`]).
    pub category_id: Vec<i64>,
    /// `area` (see [`flag::AREA`]).
    pub area: Vec<f64>,
    /// `score` (see [`flag::SCORE`]).
    pub score: Vec<f64>,
    /// `bbox` (see [`flag::BBOX`]).
    pub bbox: Vec<[f64; 4]>,
    /// `num_keypoints` (see [`flag::NUM_KEYPOINTS`]).
    pub num_keypoints: Vec<f64>,
    /// Presence and `iscrowd` bits ([`flag`]).
    pub flags: Vec<u16>,
    /// `segmentation`.
    pub segmentation: Vec<Segmentation>,
    /// `keypoints`: a range of `keypoint_values` (empty when absent).
    pub keypoints: Vec<(usize, usize)>,
    /// Polygon parts: ranges of `coords`.
    pub parts: Vec<(usize, usize)>,
    /// Polygon coordinates, all parts one after the other.
    pub coords: Vec<f64>,
    /// The JSON document the columns were parsed from (empty for columns filled by
    /// [`AnnotationColumns::push`] alone): polygon lists and counts strings without
    /// escapes are ranges of it.
    pub source: Vec<u8>,
    /// The address of the document while it is parsed (to turn borrowed slices into
    /// ranges of `source`).
    pub(crate) parsing: usize,
    /// Compressed counts strings, one after the other.
    pub counts_bytes: Vec<u8>,
    /// Uncompressed run lengths, one list after the other.
    pub runs: Vec<u32>,
    /// Keypoint values (`x, y, v` triples), one list after the other.
    pub keypoint_values: Vec<f64>,
    /// Why the columns do not hold every value exactly (the first such value).
    pub atypical: Option<String>,
}

impl AnnotationColumns {
    /// The number of annotations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Whether annotation `i` has every bit of `bits`.
    #[must_use]
    pub fn has(&self, i: usize, bits: u16) -> bool {
        self.flags[i] & bits == bits
    }

    fn note(&mut self, index: usize, what: &str) {
        if self.atypical.is_none() {
            self.atypical = Some(format!("annotation {index}: {what}"));
        }
    }

    /// Appends one annotation (its list fields already in the buffers). `needs_ids`:
    /// whether `id` and `image_id` must be present (a dataset's annotations; results get
    /// ids from their position).
    ///
    /// # Errors
    /// [`Error::Dataset`] when a required id is missing; [`Error::OutOfMemory`].
    pub fn push(&mut self, rec: &Record, needs_ids: bool) -> Result<()> {
        let index = self.len();
        let what = |field: &str| -> Error {
            Error::Dataset {
                message: format!("annotation {index} has no {field}"),
            }
        };
        let key = |s: Scalar, field: &str, cols: &mut Self| -> Result<i64> {
            match s {
                Scalar::Missing if needs_ids || field == "image_id" => Err(what(field)),
                Scalar::Missing => Ok(0),
                s => Ok(s.key().unwrap_or_else(|| {
                    cols.note(index, &format!("{field} is not an integer"));
                    0
                })),
            }
        };
        let id = key(rec.id, "id", self)?;
        let image_id = key(rec.image_id, "image_id", self)?;
        let category_id = match rec.category_id {
            Scalar::Missing => 0,
            s => key(s, "category_id", self)?,
        };
        let mut flags = 0u16;
        let mut number = |s: Scalar, bit: u16, field: &str, cols: &mut Self| -> f64 {
            match s {
                Scalar::Missing => 0.0,
                s => {
                    if let Some(v) = s.number() {
                        flags |= bit;
                        v
                    } else {
                        cols.note(index, &format!("{field} is not a number"));
                        0.0
                    }
                }
            }
        };
        let area = number(rec.area, flag::AREA, "area", self);
        let score = number(rec.score, flag::SCORE, "score", self);
        let num_keypoints = number(
            rec.num_keypoints,
            flag::NUM_KEYPOINTS,
            "num_keypoints",
            self,
        );
        match crowd_flags(rec.iscrowd) {
            Some(bits) => flags |= bits,
            None => self.note(index, "iscrowd is neither 0 nor 1"),
        }
        let bbox = match rec.bbox {
            None => [0.0; 4],
            Some(Ok(b)) => {
                flags |= flag::BBOX | flag::BBOX_KEY;
                b
            }
            Some(Err(())) => {
                flags |= flag::BBOX_KEY;
                if rec.bbox_empty {
                    flags |= flag::BBOX_EMPTY;
                } else {
                    self.note(index, "bbox is not a list of 4 numbers");
                }
                [0.0; 4]
            }
        };
        let keypoints = match rec.keypoints {
            None => (0, 0),
            Some(Ok(r)) => {
                flags |= flag::KEYPOINTS | flag::KEYPOINTS_KEY;
                r
            }
            Some(Err(())) => {
                flags |= flag::KEYPOINTS_KEY;
                self.note(index, "keypoints is not a list of numbers");
                (0, 0)
            }
        };
        if rec.segmentation == Segmentation::Other {
            self.note(index, "segmentation is neither polygons nor an RLE");
        }
        if rec.caption {
            flags |= flag::CAPTION_KEY;
        }
        if rec.category_id != Scalar::Missing {
            flags |= flag::CATEGORY_KEY;
        }
        for v in [&mut self.id, &mut self.image_id, &mut self.category_id] {
            crate::alloc::grow(v, 1, "annotation columns")?;
        }
        self.id.push(id);
        self.image_id.push(image_id);
        self.category_id.push(category_id);
        self.area.push(area);
        self.score.push(score);
        self.bbox.push(bbox);
        self.num_keypoints.push(num_keypoints);
        self.flags.push(flags);
        self.segmentation.push(rec.segmentation);
        self.keypoints.push(keypoints);
        Ok(())
    }

    /// The keypoint values of annotation `i` (empty when it has none).
    #[must_use]
    pub fn keypoints_of(&self, i: usize) -> &[f64] {
        let (a, b) = self.keypoints[i];
        &self.keypoint_values[a..b]
    }

    /// Annotation `i`'s segmentation as a shape to rasterise, with its image's size
    /// `image` for polygons (pycocotools' `annToRLE`).
    ///
    /// # Errors
    /// [`Error::Dataset`] when there is no segmentation, it has another shape, or
    /// polygons have no image size.
    pub fn shape(&self, i: usize, image: Option<[u64; 2]>) -> Result<Shape<'_>> {
        match self.segmentation[i] {
            Segmentation::Compressed {
                in_source,
                height,
                width,
                start,
                end,
            } => {
                let buf = if in_source {
                    &self.source
                } else {
                    &self.counts_bytes
                };
                Ok(Shape::Rle(RleRef::compressed(
                    height,
                    width,
                    &buf[start..end],
                )))
            }
            Segmentation::Runs {
                height,
                width,
                start,
                end,
            } => Ok(Shape::Rle(RleRef {
                height,
                width,
                counts: crate::input::Counts::Runs(&self.runs[start..end]),
            })),
            Segmentation::Polygons { first, count } => {
                let [height, width] = image_size(image)?;
                Ok(Shape::Polygons {
                    parts: self.parts[first..first + count]
                        .iter()
                        .map(|&(a, b)| &self.coords[a..b])
                        .collect(),
                    height,
                    width,
                })
            }
            Segmentation::PolygonText { start, end } => {
                let [height, width] = image_size(image)?;
                Ok(Shape::PolygonText {
                    text: &self.source[start..end],
                    height,
                    width,
                })
            }
            Segmentation::RleText { start, end } => Ok(Shape::RleText {
                text: &self.source[start..end],
                source: &self.source,
            }),
            Segmentation::Missing => Err(Error::Dataset {
                message: "it has no segmentation".into(),
            }),
            Segmentation::Other => Err(Error::Dataset {
                message: "its segmentation is neither polygons nor an RLE".into(),
            }),
        }
    }
}

fn image_size(image: Option<[u64; 2]>) -> Result<[u64; 2]> {
    image.ok_or_else(|| Error::Dataset {
        message: "its image has no integer height and width".into(),
    })
}

/// Skips JSON whitespace from `i`.
fn skip_space(text: &[u8], i: &mut usize) {
    while *i < text.len() && text[*i].is_ascii_whitespace() {
        *i += 1;
    }
}

/// Powers of ten exact in a double.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal (`-12.375`: optional minus, digits, optional fraction; no exponent)
/// whose digits fit a double exactly, converted with one correctly rounded division
/// (Clinger's fast path: the same double as any correct parser); None otherwise.
fn fast_decimal(t: &[u8]) -> Option<f64> {
    let (neg, digits) = match t.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, t),
    };
    let (mut m, mut n, mut frac, mut dot) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(c - b'0');
                n += 1;
                if dot {
                    frac += 1;
                }
                if n > 15 {
                    return None;
                }
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if n == 0 || frac > 22 {
        return None;
    }
    // m < 10**15 < 2**53: exact; so is 10**frac; the quotient is correctly rounded.
    let v = m as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// A JSON list of numbers (`[1, 2.5, -3e2]`) starting at `text[*i]`, appended to `out`
/// (`*i` then just past it). Numbers are read as Python's `float()` reads them (the
/// nearest double). `Err(())` (with `out` as it was) when it is not such a list.
pub(crate) fn parse_number_list(
    text: &[u8],
    i: &mut usize,
    out: &mut Vec<f64>,
) -> std::result::Result<(), ()> {
    let start = out.len();
    let fail = |out: &mut Vec<f64>| {
        out.truncate(start);
        Err(())
    };
    skip_space(text, i);
    if text.get(*i) != Some(&b'[') {
        return fail(out);
    }
    *i += 1;
    skip_space(text, i);
    if text.get(*i) == Some(&b']') {
        *i += 1;
        return Ok(());
    }
    loop {
        skip_space(text, i);
        let from = *i;
        while *i < text.len() && matches!(text[*i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        {
            *i += 1;
        }
        let v = if let Some(v) = fast_decimal(&text[from..*i]) {
            v
        } else {
            // SAFETY: the token is made of the ASCII bytes matched above: valid UTF-8.
            let token = unsafe { std::str::from_utf8_unchecked(&text[from..*i]) };
            let Ok(v) = token.parse::<f64>() else {
                return fail(out);
            };
            v
        };
        if out.try_reserve(1).is_err() {
            return fail(out);
        }
        out.push(v);
        skip_space(text, i);
        match text.get(*i) {
            Some(b',') => *i += 1,
            Some(b']') => {
                *i += 1;
                return Ok(());
            }
            _ => return fail(out),
        }
    }
}

/// The parts of a JSON list of lists of numbers (`[[x, y, ...], ...]`), appended to
/// `coords` with their ranges in `parts`.
///
/// # Errors
/// [`Error::Dataset`] when the text is not such a list.
fn parse_polygon_text(
    text: &[u8],
    coords: &mut Vec<f64>,
    parts: &mut Vec<(usize, usize)>,
) -> Result<()> {
    let bad = || Error::Dataset {
        message: "its segmentation is neither polygons (lists of numbers) nor an RLE".into(),
    };
    let mut i = 0;
    skip_space(text, &mut i);
    if text.get(i) != Some(&b'[') {
        return Err(bad());
    }
    i += 1;
    skip_space(text, &mut i);
    if text.get(i) == Some(&b']') {
        return Ok(());
    }
    loop {
        let start = coords.len();
        parse_number_list(text, &mut i, coords).map_err(|()| bad())?;
        crate::alloc::grow(parts, 1, "polygon parts")?;
        parts.push((start, coords.len()));
        skip_space(text, &mut i);
        match text.get(i) {
            Some(b',') => i += 1,
            Some(b']') => return Ok(()),
            _ => return Err(bad()),
        }
    }
}

/// The `iscrowd` bits of a value (`int(v) != 0`, `bool(v)`), or None for a value other
/// than 0 and 1 (`false` and `true`): the columns keep two bits, and such values are
/// read the general way (`getAnnIds(iscrowd=...)` compares the values themselves).
fn crowd_flags(s: Scalar) -> Option<u16> {
    let both = flag::CROWD_INT | flag::CROWD_TRUTHY;
    match s {
        Scalar::Missing => Some(0),
        Scalar::Int(0) | Scalar::Bool(false) | Scalar::Float(0.0) => Some(flag::ISCROWD),
        Scalar::Int(1) | Scalar::Bool(true) | Scalar::Float(1.0) => Some(flag::ISCROWD | both),
        _ => None,
    }
}

/// `np.min` / `np.max` of the `x` and `y` values of `x, y, v` keypoints (NaN
/// propagating): `(area, [x0, y0, x1 - x0, y1 - y0])` as pycocotools' `loadRes`.
fn keypoint_extent(kp: &[f64]) -> (f64, [f64; 4]) {
    let extent = |offset: usize| {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for &v in kp.iter().skip(offset).step_by(3) {
            if v.is_nan() {
                return (f64::NAN, f64::NAN);
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    };
    let ((x0, x1), (y0, y1)) = (extent(0), extent(1));
    ((x1 - x0) * (y1 - y0), [x0, y0, x1 - x0, y1 - y0])
}

/// A segmentation to rasterise: an RLE as given, or the parts of a polygon list with the
/// image's size.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape<'a> {
    /// A compressed or uncompressed RLE (its own size).
    Rle(RleRef<'a>),
    /// An RLE dict as JSON text (a range of `source`), read when rasterised.
    RleText {
        /// `{"size": [h, w], "counts": ...}`.
        text: &'a [u8],
        /// The document `text` is part of.
        source: &'a [u8],
    },
    /// As [`Shape::Polygons`], the parts given as JSON text.
    PolygonText {
        /// `[[x, y, ...], ...]`.
        text: &'a [u8],
        /// The image's height.
        height: u64,
        /// The image's width.
        width: u64,
    },
    /// pycocotools' `merge(frPyObjects(parts, h, w))`: boxes when the first part has 4
    /// numbers, else polygons.
    Polygons {
        /// The parts.
        parts: Vec<&'a [f64]>,
        /// The image's height.
        height: u64,
        /// The image's width.
        width: u64,
    },
}

impl Shape<'_> {
    /// The validated runs appended to `out` (cleared first), and the mask's `(height,
    /// width)`.
    ///
    /// # Errors
    /// The RLE's errors ([`RleRef::runs_into`]); for polygons, those of rasterisation,
    /// and [`Error::Dataset`] for a list pycocotools cannot read (empty, a first part of
    /// fewer than 4 numbers, a box list with a part that is not a box) or an RLE dict
    /// without an integer size and counts.
    pub fn runs_into(&self, out: &mut Vec<u32>) -> Result<(u64, u64)> {
        out.clear();
        match self {
            Shape::Rle(r) => r.runs_into(out).map(|()| r.size()),
            Shape::RleText { text, source } => {
                let mut cols = AnnotationColumns::default();
                let start = text.as_ptr() as usize - source.as_ptr() as usize;
                // (The text is a range of `source`: read it there, counts in place.)
                let seg = read_text(&mut cols, source, start, start + text.len());
                cols.segmentation.push(seg);
                let counts;
                let rle = match seg {
                    Segmentation::Compressed {
                        in_source,
                        height,
                        width,
                        start,
                        end,
                    } => {
                        counts = if in_source {
                            &source[start..end]
                        } else {
                            &cols.counts_bytes[start..end]
                        };
                        RleRef::compressed(height, width, counts)
                    }
                    Segmentation::Runs {
                        height,
                        width,
                        start,
                        end,
                    } => RleRef {
                        height,
                        width,
                        counts: crate::input::Counts::Runs(&cols.runs[start..end]),
                    },
                    _ => {
                        return Err(Error::Dataset {
                            message: "its segmentation is neither polygons nor an RLE \
                                      ({\"size\": [h, w], \"counts\": ...})"
                                .into(),
                        })
                    }
                };
                rle.runs_into(out).map(|()| rle.size())
            }
            shape => {
                let rle = shape.to_rle()?;
                crate::alloc::reserve(out, rle.counts().len(), "run lengths")?;
                out.extend_from_slice(rle.counts());
                Ok((rle.height(), rle.width()))
            }
        }
    }

    /// The shape as an [`Rle`].
    ///
    /// # Errors
    /// As [`Shape::runs_into`].
    pub fn to_rle(&self) -> Result<Rle> {
        match self {
            Shape::Rle(r) => r.to_rle(),
            Shape::RleText { .. } => {
                let mut runs = Vec::new();
                let (h, w) = self.runs_into(&mut runs)?;
                Ok(Rle::from_parts_unchecked(h, w, runs))
            }
            Shape::Polygons {
                parts,
                height,
                width,
            } => polygons_rle(parts, *height, *width),
            Shape::PolygonText {
                text,
                height,
                width,
            } => {
                let (mut coords, mut ranges) = (Vec::new(), Vec::new());
                parse_polygon_text(text, &mut coords, &mut ranges)?;
                let parts: Vec<&[f64]> = ranges.iter().map(|&(a, b)| &coords[a..b]).collect();
                polygons_rle(&parts, *height, *width)
            }
        }
    }
}

/// An RLE dict's text, `source[start..end]`, read into `cols` (see
/// `json::read_rle_text`).
fn read_text(
    cols: &mut AnnotationColumns,
    source: &[u8],
    start: usize,
    end: usize,
) -> Segmentation {
    json::read_rle_in(cols, source, start, end)
}

/// pycocotools' `merge(frPyObjects(parts, h, w))` of a list of parts.
fn polygons_rle(parts: &[&[f64]], height: u64, width: u64) -> Result<Rle> {
    let Some(first) = parts.first() else {
        return Err(Error::Dataset {
            message: "its segmentation is an empty list (pycocotools cannot read it)".into(),
        });
    };
    match first.len() {
        4 => {
            let rles = parts
                .iter()
                .enumerate()
                .map(|(i, p)| match *p {
                    [x, y, w, h] => crate::polygon::fr_bbox([*x, *y, *w, *h], height, width)
                        .map_err(|e| e.at(i)),
                    _ => Err(Error::Dataset {
                        message: format!(
                            "its first part has 4 numbers, so pycocotools reads the parts \
                             as [x, y, w, h] boxes, but part {i} has {}",
                            p.len()
                        ),
                    }),
                })
                .collect::<Result<Vec<Rle>>>()?;
            crate::merge::merge(&rles, false)
        }
        n if n > 4 => crate::polygon::coco_polygons(parts, height, width),
        n => Err(Error::Dataset {
            message: format!("its first polygon has {n} numbers (pycocotools needs more than 4)"),
        }),
    }
}

/// A COCO dataset (or results) as columns.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// `images`.
    pub images: Images,
    /// `annotations`.
    pub annotations: AnnotationColumns,
    /// `categories`.
    pub categories: Categories,
    /// Which top-level keys the document has.
    pub has_images: bool,
    /// See `has_images`.
    pub has_annotations: bool,
    /// See `has_images`.
    pub has_categories: bool,
    /// Why the columns do not hold every value exactly (the first such value), if so.
    pub atypical: Option<String>,
}

impl Dataset {
    /// Whether every value is held exactly.
    #[must_use]
    pub fn is_typical(&self) -> bool {
        self.atypical.is_none() && self.annotations.atypical.is_none()
    }
}

/// How `loadRes` completed results: which branch of pycocotools' `loadRes` applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// The first result has `caption`.
    Caption,
    /// The first result has a non-empty `bbox`: `area = w * h`.
    Boxes,
    /// The first result has `segmentation`: area and (missing) bbox of the RLE.
    Segmentation,
    /// The first result has `keypoints`: area and bbox of the points' extent.
    Keypoints,
    /// None of these (or no results): nothing derived.
    Plain,
}

impl AnnotationColumns {
    /// The branch of pycocotools' `loadRes` these results take (by the first one).
    #[must_use]
    pub fn result_kind(&self) -> ResultKind {
        if self.is_empty() {
            return ResultKind::Plain;
        }
        if self.has(0, flag::CAPTION_KEY) {
            ResultKind::Caption
        } else if self.has(0, flag::BBOX_KEY) && !self.has(0, flag::BBOX_EMPTY) {
            ResultKind::Boxes
        } else if self.segmentation[0] != Segmentation::Missing {
            ResultKind::Segmentation
        } else if self.has(0, flag::KEYPOINTS_KEY) {
            ResultKind::Keypoints
        } else {
            ResultKind::Plain
        }
    }

    /// pycocotools' `loadRes` completion of results, in place: ids `1..=N`, and by
    /// [`ResultKind`]: boxes: `area = w * h`, `iscrowd = 0`; segmentation: `area` and
    /// (when absent) `bbox` of the RLE, `iscrowd = 0`; keypoints: `area` and `bbox` of
    /// the points' extent. Parallel on `threads`.
    ///
    /// # Errors
    /// [`Error::ResultItem`] (the result's index) for a result missing what its branch
    /// reads or with an invalid RLE.
    pub fn derive_results(&mut self, threads: Option<usize>) -> Result<ResultKind> {
        let kind = self.result_kind();
        let n = self.len();
        let at = |index: usize, e: Error| Error::ResultItem {
            index,
            source: Box::new(e),
        };
        for (i, id) in self.id.iter_mut().enumerate() {
            *id = i as i64 + 1;
        }
        match kind {
            ResultKind::Caption | ResultKind::Plain => {}
            ResultKind::Boxes => {
                for i in 0..n {
                    if !self.has(i, flag::BBOX) {
                        return Err(at(i, missing("bbox (4 numbers)")));
                    }
                    let b = self.bbox[i];
                    self.area[i] = b[2] * b[3];
                    self.flags[i] = (self.flags[i] | flag::AREA | flag::ISCROWD)
                        & !(flag::CROWD_INT | flag::CROWD_TRUTHY);
                }
            }
            ResultKind::Segmentation => {
                // (RLEs kept as the document's text count by their length.)
                let text: usize = self
                    .segmentation
                    .iter()
                    .map(|s| match *s {
                        Segmentation::RleText { start, end } => end - start,
                        _ => 0,
                    })
                    .sum();
                let work = self.counts_bytes.len() + self.runs.len() + text;
                let got = crate::pool::map_blocks(
                    crate::pool::for_work(threads, work),
                    n,
                    |range| -> Result<Vec<(u64, [f64; 4])>> {
                        let mut out = Vec::with_capacity(range.len());
                        let mut scratch = Vec::new();
                        for i in range {
                            let shape = self.shape(i, None).map_err(|e| at(i, e))?;
                            if !matches!(shape, Shape::Rle(_) | Shape::RleText { .. }) {
                                return Err(at(
                                    i,
                                    Error::Dataset {
                                        message: "a segmentation result must be an RLE \
                                                  (pycocotools reads only RLEs here)"
                                            .into(),
                                    },
                                ));
                            }
                            let (h, w) = shape.runs_into(&mut scratch).map_err(|e| at(i, e))?;
                            let area = crate::rle::run_sums(&scratch).1;
                            out.push((area, crate::rle::bbox_of_runs(h, w, &scratch)));
                        }
                        Ok(out)
                    },
                );
                let mut i = 0;
                for part in got {
                    for (area, bbox) in part? {
                        self.area[i] = area as f64;
                        if !self.has(i, flag::BBOX_KEY) {
                            self.bbox[i] = bbox;
                            self.flags[i] |= flag::BBOX | flag::BBOX_KEY;
                        }
                        self.flags[i] = (self.flags[i] | flag::AREA | flag::ISCROWD)
                            & !(flag::CROWD_INT | flag::CROWD_TRUTHY);
                        i += 1;
                    }
                }
            }
            ResultKind::Keypoints => {
                for i in 0..n {
                    let kp = self.keypoints_of(i);
                    if !self.has(i, flag::KEYPOINTS) || kp.len() < 2 {
                        return Err(at(i, missing("keypoints (a list of x, y, v numbers)")));
                    }
                    (self.area[i], self.bbox[i]) = keypoint_extent(kp);
                    self.flags[i] |= flag::AREA | flag::BBOX | flag::BBOX_KEY;
                }
            }
        }
        Ok(kind)
    }
}

fn missing(what: &str) -> Error {
    Error::Dataset {
        message: format!("no {what}"),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod number_tests {
    use super::fast_decimal;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_decimals_equal_std(m in 0u64..10u64.pow(15), frac in 0usize..16, neg: bool) {
            let digits = m.to_string();
            let text = if frac == 0 || frac >= digits.len() {
                format!("{}{digits}", if neg { "-" } else { "" })
            } else {
                let (a, b) = digits.split_at(digits.len() - frac);
                format!("{}{a}.{b}", if neg { "-" } else { "" })
            };
            let want: f64 = text.parse().unwrap();
            prop_assert_eq!(fast_decimal(text.as_bytes()).map(f64::to_bits), Some(want.to_bits()));
        }
    }

    #[test]
    fn other_forms_fall_back() {
        for t in ["1e5", "", "-", "1.2.3", "12345678901234567", "+1"] {
            assert!(fast_decimal(t.as_bytes()).is_none(), "{t}");
        }
        assert_eq!(
            fast_decimal(b"-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(fast_decimal(b"0.1"), Some(0.1));
    }
}

//! From columns to the evaluation's groups, as pycocotools' `_prepare` forms them: the
//! annotations of the evaluated images (and categories), grouped by image and category
//! in the parameters' order, each group in load order.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::{Annotations, Geometry};
use crate::coco::{flag, AnnotationColumns, Images};
use crate::error::{Error, Result};

/// A hasher for integer ids (a multiplicative hash: ids are not chosen by an adversary
/// who could gain from collisions, and `SipHash` costs more than the lookups it serves).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = (i as u64 ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by ids.
pub(crate) type IdMap<V> = HashMap<i64, V, BuildHasherDefault<IdHasher>>;

/// What the IoU is computed on (pycocotools' `iouType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IouKind {
    /// Masks.
    Segm,
    /// Boxes.
    Bbox,
    /// Keypoints (OKS).
    Keypoints,
}

/// Which side of the evaluation a set of annotations is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The ground truth (`cocoGt`).
    GroundTruth,
    /// The detections (`cocoDt`).
    Detections,
}

/// Whose rules decide the ground truths' crowd and ignore flags and the detections'
/// ignore flags.
#[derive(Debug, Clone, Copy)]
pub enum Rules<'a> {
    /// pycocotools': a ground truth is a crowd (and ignored) by `iscrowd`, for keypoints
    /// also ignored without labelled points.
    Coco,
    /// lvis-api's: no crowds, no ground truth ignored; a detection whose category is not
    /// exhaustively annotated in its image (`not_exhaustive`, per annotation of the
    /// columns) is ignored when unmatched.
    Lvis {
        /// Per annotation of the detection columns.
        not_exhaustive: &'a [bool],
    },
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::GroundTruth => "ground truth",
            Side::Detections => "detection",
        }
    }
}

/// pycocotools' `loadAnns(getAnnIds(imgIds=img_ids, catIds=cat_ids))` on columns, as
/// indices: for each image of `img_ids` in order, its annotations in file order (all
/// annotations when `img_ids` is empty), those of `cat_ids` when it is given, each
/// replaced by the last annotation with its id (the `anns` table keeps the last).
///
/// # Examples
/// ```
/// use sa1b_rle::coco::parse_dataset;
/// use sa1b_rle::eval::select;
/// let d = parse_dataset(br#"{"annotations": [
///     {"id": 1, "image_id": 5, "category_id": 1}, {"id": 2, "image_id": 4, "category_id": 2},
///     {"id": 3, "image_id": 5, "category_id": 2}]}"#).unwrap();
/// assert_eq!(select(&d.annotations, &[4, 5], Some(&[2])), [1, 2]);
/// assert_eq!(select(&d.annotations, &[5, 4], None), [0, 2, 1]);
/// ```
#[must_use]
pub fn select(cols: &AnnotationColumns, img_ids: &[i64], cat_ids: Option<&[i64]>) -> Vec<usize> {
    let n = cols.len();
    let mut pos: IdMap<u32> = IdMap::default();
    let unique = img_ids
        .iter()
        .enumerate()
        .all(|(p, &i)| pos.insert(i, p as u32).is_none());
    let mut out: Vec<usize> = if img_ids.is_empty() {
        (0..n).collect()
    } else if unique {
        // Each image's annotations in file order, images in the order asked: a stable
        // counting sort by the image's position.
        let mut count = vec![0usize; img_ids.len() + 1];
        let at: Vec<u32> = cols
            .image_id
            .iter()
            .map(|i| pos.get(i).copied().unwrap_or(u32::MAX))
            .collect();
        for &p in &at {
            if p != u32::MAX {
                count[p as usize + 1] += 1;
            }
        }
        for p in 0..img_ids.len() {
            count[p + 1] += count[p];
        }
        let mut out = vec![0usize; count[img_ids.len()]];
        for (i, &p) in at.iter().enumerate() {
            if p != u32::MAX {
                out[count[p as usize]] = i;
                count[p as usize] += 1;
            }
        }
        out
    } else {
        let mut by_image: IdMap<Vec<usize>> = IdMap::default();
        for (i, &img) in cols.image_id.iter().enumerate() {
            by_image.entry(img).or_default().push(i);
        }
        img_ids
            .iter()
            .filter_map(|img| by_image.get(img))
            .flatten()
            .copied()
            .collect()
    };
    if let Some(cats) = cat_ids.filter(|c| !c.is_empty()) {
        let wanted: HashSet<i64, BuildHasherDefault<IdHasher>> = cats.iter().copied().collect();
        out.retain(|&i| cols.has(i, flag::CATEGORY_KEY) && wanted.contains(&cols.category_id[i]));
    }
    // loadAnns: the `anns` table keeps the last annotation of each id.
    let mut last: IdMap<usize> = IdMap::default();
    last.reserve(n);
    let mut repeated = false;
    for (i, &id) in cols.id.iter().enumerate() {
        repeated |= last.insert(id, i).is_some();
    }
    if repeated {
        for i in &mut out {
            *i = last[&cols.id[*i]];
        }
    }
    out
}

/// pycocotools' grouping of `members` (indices of annotations, in load order) into
/// `_gts`/`_dts` lists as `evaluateImg` reads them: `(order, offsets)`, group `k` being
/// `order[offsets[k]..offsets[k + 1]]`. With `use_cats`, group `i * K + k` is image
/// `img_ids[i]` and category `cat_ids[k]` (`K = cat_ids.len()`, ids unique); without,
/// group `i` is image `img_ids[i]`'s annotations of each category of `cat_ids` in turn
/// (a category listed twice gives its annotations twice, as pycocotools does).
/// Annotations of other images or categories are in no group.
///
/// # Errors
/// [`Error::OutOfMemory`].
///
/// # Examples
/// ```
/// use sa1b_rle::eval::group;
/// // Annotations on images [5, 4, 5] of categories [1, 2, 2].
/// let (order, offsets) = group(&[5, 4, 5], &[1, 2, 2], &[0, 1, 2], &[4, 5], &[1, 2], true).unwrap();
/// assert_eq!(order, [1, 0, 2]);
/// assert_eq!(offsets, [0, 0, 1, 2, 3]);
/// ```
pub fn group(
    image_id: &[i64],
    category_id: &[i64],
    members: &[usize],
    img_ids: &[i64],
    cat_ids: &[i64],
    use_cats: bool,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let img_pos: IdMap<usize> = img_ids.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut cat_pos: IdMap<usize> = IdMap::default();
    for (p, &c) in cat_ids.iter().enumerate() {
        cat_pos.entry(c).or_insert(p);
    }
    let k_n = if use_cats { cat_ids.len() } else { 1 };
    let groups = img_ids.len().saturating_mul(k_n);
    // Stable counting sort of (image, first position of the category) buckets.
    let buckets = img_ids.len().saturating_mul(cat_ids.len());
    let mut count = crate::alloc::zeroed::<usize>(buckets + 1, "evaluation groups")?;
    let mut key = crate::alloc::with_capacity::<usize>(members.len(), "evaluation groups")?;
    for &m in members {
        let b = match (img_pos.get(&image_id[m]), cat_pos.get(&category_id[m])) {
            (Some(&i), Some(&k)) => i * cat_ids.len() + k,
            _ => usize::MAX,
        };
        key.push(b);
        if b != usize::MAX {
            count[b + 1] += 1;
        }
    }
    for b in 0..buckets {
        count[b + 1] += count[b];
    }
    let starts = count.clone();
    let mut sorted = crate::alloc::zeroed::<usize>(count[buckets], "evaluation groups")?;
    for (&m, &b) in members.iter().zip(&key) {
        if b != usize::MAX {
            sorted[count[b]] = m;
            count[b] += 1;
        }
    }
    if use_cats {
        // Categories are unique: the buckets are the groups.
        return Ok((sorted, starts));
    }
    // One group per image: its buckets in the order of cat_ids (repeats included).
    let mut order = Vec::new();
    let mut offsets = crate::alloc::with_capacity::<usize>(groups + 1, "evaluation groups")?;
    offsets.push(0);
    for i in 0..img_ids.len() {
        for &c in cat_ids {
            let b = i * cat_ids.len() + cat_pos[&c];
            let part = &sorted[starts[b]..starts[b + 1]];
            crate::alloc::reserve(&mut order, part.len(), "evaluation groups")?;
            order.extend_from_slice(part);
        }
        offsets.push(order.len());
    }
    Ok((order, offsets))
}

/// The annotations `order` of `cols` as the evaluation reads them (`offsets` from
/// [`group`]): ids, areas, scores (detections), `iscrowd` and `ignore` (ground truths:
/// crowd, or for keypoints also `num_keypoints == 0`), and the geometry of `kind`
/// (polygons with their image's size from `images`).
///
/// # Errors
/// [`Error::Annotation`] naming the annotation's id for a field the evaluation needs
/// that is missing or unreadable (pycocotools fails on it too).
pub fn gather<'a>(
    cols: &'a AnnotationColumns,
    images: &Images,
    order: &[usize],
    offsets: std::borrow::Cow<'a, [usize]>,
    kind: IouKind,
    side: Side,
    rules: Rules<'_>,
) -> Result<Annotations<'a>> {
    let n = order.len();
    if let Rules::Lvis { not_exhaustive } = rules {
        if side == Side::Detections && not_exhaustive.len() != cols.len() {
            return Err(Error::Inconsistent {
                message: format!(
                    "{} not-exhaustive flags for {} detections",
                    not_exhaustive.len(),
                    cols.len()
                ),
            });
        }
    }
    let gt = side == Side::GroundTruth;
    let fail = |i: usize, message: String| Error::Annotation {
        what: side.name(),
        id: cols.id[i] as f64,
        source: Box::new(Error::Dataset { message }),
    };
    let need = |i: usize, bit: u16, field: &str| -> Result<()> {
        if cols.has(i, bit) {
            Ok(())
        } else {
            Err(fail(i, format!("no {field}")))
        }
    };
    let mut out = Annotations {
        ids: crate::alloc::with_capacity(n, "evaluation columns")?,
        area: crate::alloc::with_capacity(n, "evaluation columns")?,
        score: crate::alloc::with_capacity(n, "evaluation columns")?,
        crowd: crate::alloc::with_capacity(n, "evaluation columns")?,
        ignore: crate::alloc::with_capacity(n, "evaluation columns")?,
        geometry: match kind {
            IouKind::Segm => Geometry::Masks(crate::alloc::with_capacity(n, "evaluation shapes")?),
            IouKind::Bbox => Geometry::Boxes(crate::alloc::with_capacity(n, "evaluation boxes")?),
            IouKind::Keypoints => Geometry::Keypoints {
                points: crate::alloc::with_capacity(n, "evaluation keypoints")?,
                // (Only the ground truths' are read.)
                boxes: crate::alloc::with_capacity(if gt { n } else { 0 }, "evaluation keypoints")?,
            },
        },
        offsets,
        image_size: Vec::new(),
    };
    let sizes: IdMap<Option<[u64; 2]>> = if kind == IouKind::Segm {
        images
            .id
            .iter()
            .copied()
            .zip(images.size.iter().copied())
            .collect()
    } else {
        IdMap::default()
    };
    for &i in order {
        need(i, flag::AREA, "area (a number)")?;
        out.ids.push(cols.id[i] as f64);
        out.area.push(cols.area[i]);
        let (score, crowd, ignore) = flags_of(cols, i, kind, gt, rules, need)?;
        out.score.push(score);
        out.crowd.push(crowd);
        out.ignore.push(ignore);
        match &mut out.geometry {
            Geometry::Masks(m) => {
                let size = match sizes.get(&cols.image_id[i]) {
                    Some(&s) => s,
                    None if matches!(
                        cols.segmentation[i],
                        crate::coco::Segmentation::Polygons { .. }
                            | crate::coco::Segmentation::PolygonText { .. }
                    ) =>
                    {
                        return Err(fail(i, "its image is not in the dataset".into()));
                    }
                    None => None,
                };
                out.image_size.push(size.map(|[h, w]| (h, w)));
                m.push(cols.shape(i, size).map_err(|e| fail(i, e.to_string()))?);
            }
            Geometry::Boxes(b) => {
                need(i, flag::BBOX, "bbox (4 numbers)")?;
                b.push(cols.bbox[i]);
            }
            Geometry::Keypoints { points, boxes } => {
                need(i, flag::KEYPOINTS, "keypoints")?;
                points.push(cols.keypoints_of(i));
                if gt {
                    need(i, flag::BBOX, "bbox (4 numbers)")?;
                    boxes.push(cols.bbox[i]);
                }
            }
        }
    }
    Ok(out)
}

/// Annotation `i`'s `(score, crowd, ignore)` as the evaluation reads them under `rules`
/// (`need` checks that a field is present).
fn flags_of(
    cols: &AnnotationColumns,
    i: usize,
    kind: IouKind,
    gt: bool,
    rules: Rules<'_>,
    need: impl Fn(usize, u16, &str) -> Result<()>,
) -> Result<(f64, bool, bool)> {
    Ok(match (gt, rules) {
        (true, Rules::Coco) => {
            need(i, flag::ISCROWD, "iscrowd")?;
            let mut ignore = cols.has(i, flag::CROWD_TRUTHY);
            if kind == IouKind::Keypoints {
                need(i, flag::NUM_KEYPOINTS, "num_keypoints")?;
                ignore |= cols.num_keypoints[i] == 0.0;
            }
            (0.0, cols.has(i, flag::CROWD_INT), ignore)
        }
        (true, Rules::Lvis { .. }) => (0.0, false, false),
        (false, rules) => {
            need(i, flag::SCORE, "score (a number)")?;
            let ignore = match rules {
                Rules::Coco => false,
                Rules::Lvis { not_exhaustive } => not_exhaustive[i],
            };
            (cols.score[i], false, ignore)
        }
    })
}

//! COCO JSON straight into columns: serde visitors that push each annotation's fields
//! into [`AnnotationColumns`] as they are read, with no tree of values in between.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{AnnotationColumns, Categories, Dataset, Images, Record, Scalar, Segmentation};
use crate::error::{Error, Result};

/// Parses a COCO dataset document (`{"images": [...], "annotations": [...],
/// "categories": [...], ...}`; other keys are skipped) into columns.
///
/// # Errors
/// [`Error::Dataset`] naming the byte offset for malformed JSON, a document that is not
/// an object, a table that is not a list, an entry that is not an object or lacks its
/// `id` (annotations: `id` and `image_id`), with the entry's index;
/// [`Error::OutOfMemory`].
///
/// # Examples
/// ```
/// use sa1b_rle::coco::parse_dataset;
/// assert!(parse_dataset(b"[]").unwrap_err().to_string().contains("not a JSON object"));
/// let e = parse_dataset(br#"{"annotations": [{"id": 1}]}"#).unwrap_err();
/// assert!(e.to_string().contains("annotation 0 has no image_id"), "{e}");
/// ```
pub fn parse_dataset(data: &[u8]) -> Result<Dataset> {
    parse_dataset_with(data.to_vec(), Some(1))
}

/// [`parse_dataset`] of a document the columns then keep (as
/// [`AnnotationColumns::source`]) without copying it, on `threads` threads (the process
/// default when None): a large document's annotations are parsed in blocks side by side.
///
/// # Errors
/// As [`parse_dataset`].
pub fn parse_dataset_with(data: Vec<u8>, threads: Option<usize>) -> Result<Dataset> {
    if let Some(split) = parallel_split(&data, threads) {
        // The rest of the document (images, categories, ...) with an empty list.
        let (a, b) = split.list;
        let mut rest = Vec::new();
        crate::alloc::reserve(&mut rest, data.len() - (b - a) + 2, "dataset")?;
        rest.extend_from_slice(&data[..a]);
        rest.extend_from_slice(b"[]");
        rest.extend_from_slice(&data[b..]);
        let mut out = Dataset::default();
        if parse(&rest, Top { out: &mut out }).is_ok() {
            if let Some(cols) = parse_elements(&data, &split, true, threads) {
                out.annotations = cols;
                out.annotations.source = data;
                return Ok(out);
            }
        }
    }
    let mut out = Dataset::default();
    out.annotations.parsing = data.as_ptr() as usize;
    reserve_keypoints(&mut out.annotations, &data);
    parse(&data, Top { out: &mut out })?;
    let cols = &mut out.annotations;
    cols.parsing = 0;
    cols.source = data;
    Ok(out)
}

/// Parses a results document (a list of result objects, as a detector writes them:
/// `image_id`, `category_id`, `score` and `bbox`, `segmentation` or `keypoints`) into
/// columns (ids are not read: [`AnnotationColumns::derive_results`] numbers them).
///
/// # Errors
/// As [`parse_dataset`]; a document that is not a list; a result without `image_id`.
///
/// # Examples
/// ```
/// use sa1b_rle::coco::parse_results;
/// let r = parse_results(br#"[{"image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]"#).unwrap();
/// assert_eq!(r.image_id, [3]);
/// assert_eq!(r.bbox[0], [1.0, 2.0, 3.0, 4.0]);
/// ```
pub fn parse_results(data: &[u8]) -> Result<AnnotationColumns> {
    parse_results_with(data.to_vec(), Some(1))
}

/// [`parse_results`] of a document the columns then keep without copying it, on
/// `threads` threads (the process default when None).
///
/// # Errors
/// As [`parse_results`].
pub fn parse_results_with(data: Vec<u8>, threads: Option<usize>) -> Result<AnnotationColumns> {
    // (On one thread too: results are flat objects, which the fast path reads quicker
    // than serde; a dataset's polygons are not.)
    if data.len() >= PARALLEL_BYTES {
        let open = super::split::skip_space(&data, 0);
        if data.get(open) == Some(&b'[') {
            let t = crate::pool::num_threads(threads);
            if let Some((mut cols, end)) = parse_list_blocks(&data, open + 1, false, t) {
                if super::split::skip_space(&data, end) == data.len() {
                    cols.source = data;
                    return Ok(cols);
                }
            }
        }
    }
    parse_results_one_pass(data)
}

/// [`parse_results_with`] by serde in one pass (the reference the blocks are tested
/// against, and the parse that reports errors with their place).
pub(super) fn parse_results_one_pass(data: Vec<u8>) -> Result<AnnotationColumns> {
    let mut out = AnnotationColumns {
        parsing: data.as_ptr() as usize,
        ..AnnotationColumns::default()
    };
    reserve_keypoints(&mut out, &data);
    parse(
        &data,
        TableSeed::<Anns> {
            out: &mut out,
            ids: false,
            name: "results",
        },
    )?;
    out.parsing = 0;
    out.source = data;
    Ok(out)
}

/// Reserves room for the keypoints of a document (or part) with any: a quarter of a
/// value per byte, address space only until written (growing the buffer by doubling
/// instead, its copies and fresh pages took a third of the parse). Best effort: a
/// failed reservation leaves the buffer to grow as it needs. Judged on the first MiB
/// (a whole-document search cost a millisecond on large RLE files without keypoints).
fn reserve_keypoints(cols: &mut AnnotationColumns, data: &[u8]) {
    let head = &data[..data.len().min(1 << 20)];
    if memchr::memmem::find(head, b"\"keypoints\"").is_some() {
        let _ = cols.keypoint_values.try_reserve(data.len() / 4);
    }
}

/// Documents below this size are parsed in one pass by serde.
const PARALLEL_BYTES: usize = 1 << 20;

/// The split of a dataset document worth parsing in blocks (by the fast path, on the
/// threads side by side), if any: one of at least [`PARALLEL_BYTES`], mostly numbers,
/// with two threads or more to parse it.
pub(super) fn parallel_split(data: &[u8], threads: Option<usize>) -> Option<super::split::Split> {
    if data.len() < PARALLEL_BYTES || crate::pool::num_threads(threads) < 2 {
        return None;
    }
    // Worth it for numbers (polygons, keypoints, boxes); a document of mostly RLE counts
    // strings (read later, if at all) is quicker in one pass than scanned and split.
    // Judged on 64 KiB from the middle (in the largest table).
    let mid = data.len() / 2;
    let sample = &data[mid..(mid + (1 << 16)).min(data.len())];
    let numeric = sample
        .iter()
        .filter(|c| matches!(c, b'0'..=b'9' | b'.' | b',' | b'-' | b' ' | b'\n'))
        .count();
    if numeric * 10 < sample.len() * 6 {
        return None;
    }
    super::split::dataset(data)
}

/// The elements of `split` parsed in blocks side by side and joined; None on any error
/// (the one-pass parse then reports it with its place).
fn parse_elements(
    data: &[u8],
    split: &super::split::Split,
    ids: bool,
    threads: Option<usize>,
) -> Option<AnnotationColumns> {
    let t = crate::pool::num_threads(threads);
    // Four blocks per thread (one on one thread): the first block's columns are the
    // output (room reserved for the whole list), the others are copied into them one by
    // one and dropped.
    let blocks = super::split::blocks(&split.elements, if t == 1 { 1 } else { t * 4 });
    // Each block's columns made here (see `block_columns`).
    let made = blocks
        .iter()
        .map(|r| {
            let bytes = match (r.clone().next(), r.clone().last()) {
                (Some(a), Some(b)) => split.elements[b].1 - split.elements[a].0,
                _ => 0,
            };
            super::split::block_columns(data, bytes).map(|c| std::sync::Mutex::new(Some(c)))
        })
        .collect::<Option<Vec<_>>>()?;
    let parts = crate::pool::map_range(Some(t), blocks.len(), |b| {
        let mut cols = made[b].lock().ok()?.take()?;
        if let (Some(first), Some(last)) = (blocks[b].clone().next(), blocks[b].clone().last()) {
            // The first block's room is for the whole list's keypoints.
            let from = if b == 0 {
                split.list.0
            } else {
                split.elements[first].0
            };
            let to = if b == 0 {
                split.list.1
            } else {
                split.elements[last].1
            };
            reserve_keypoints(&mut cols, &data[from..to]);
        }
        for index in blocks[b].clone() {
            let (s, e) = split.elements[index];
            if !super::fast::entry(&mut cols, &data[s..e], s, ids)
                && !serde_entry(&mut cols, &data[s..e], index, ids)
            {
                return None;
            }
        }
        Some(cols)
    });
    join(parts.into_iter().collect::<Option<Vec<_>>>()?.into_iter())
}

/// The annotation objects of the list whose elements start at `data[from]` (just past
/// its `[`), parsed in blocks side by side on `threads` threads with no scan first, and
/// the offset past the list's `]`; None on any error or doubt (the one-pass parse then
/// decides).
///
/// Blocks start at [`super::split::guesses`], which may be wrong (inside a string or a
/// nested value). Each block's parse runs until the first element at or past the next
/// guess. The blocks are then chained from the first, which starts at a known element:
/// where a block's parse lands on another block's guess, that guess is an element and its
/// block is right; where it lands elsewhere (past a wrong guess), the parse goes on from
/// there, on this thread, to the next guess.
pub(super) fn parse_list_blocks(
    data: &[u8],
    from: usize,
    ids: bool,
    threads: usize,
) -> Option<(AnnotationColumns, usize)> {
    let first = super::split::skip_space(data, from);
    if data.get(first) != Some(&b'{') {
        return None;
    }
    let n = if threads == 1 { 1 } else { threads * 4 };
    let mut starts = vec![first];
    starts.extend(super::split::guesses(data, first, n));
    // Each block's columns made here (see `block_columns`).
    let made = (0..starts.len())
        .map(|b| {
            let end = starts.get(b + 1).copied().unwrap_or(data.len());
            let cols = super::split::block_columns(data, end - starts[b])?;
            Some(std::sync::Mutex::new(Some(cols)))
        })
        .collect::<Option<Vec<_>>>()?;
    let mut parts = crate::pool::map_range(Some(threads), starts.len(), |b| {
        let cols = made[b].lock().ok()?.take()?;
        walk(cols, data, starts[b], starts.get(b + 1).copied(), ids)
    });
    let mut chain = Vec::with_capacity(parts.len());
    let mut next = parts[0].take()?;
    let end = loop {
        let (cols, landing) = next;
        chain.push(cols);
        match landing {
            Landing::End(end) => break end,
            Landing::At(s) => {
                next = match starts.binary_search(&s) {
                    Ok(b) => parts[b].take()?,
                    Err(b) => {
                        let until = starts.get(b).copied();
                        let bytes = until.unwrap_or(data.len()) - s;
                        walk(
                            super::split::block_columns(data, bytes)?,
                            data,
                            s,
                            until,
                            ids,
                        )?
                    }
                };
            }
        }
    };
    Some((join(chain.into_iter())?, end))
}

/// Where a block's parse stopped.
enum Landing {
    /// At the start of the first element at or past the block's end.
    At(usize),
    /// Past the list's closing `]`.
    End(usize),
}

/// The elements from `data[s]` (an element's start) up to the first at or past `until`
/// (to the list's end when None) read into `cols` (empty); None on any error.
fn walk(
    mut cols: AnnotationColumns,
    data: &[u8],
    mut s: usize,
    until: Option<usize>,
    ids: bool,
) -> Option<(AnnotationColumns, Landing)> {
    reserve_keypoints(&mut cols, &data[s..until.unwrap_or(data.len())]);
    loop {
        let end = if let Some(end) = super::fast::entry_at(&mut cols, data, s, ids) {
            end
        } else {
            let end = super::split::value_end(data, s)?;
            let index = cols.len();
            if !serde_entry(&mut cols, &data[s..end], index, ids) {
                return None;
            }
            end
        };
        let j = super::split::skip_space(data, end);
        match data.get(j)? {
            b',' => {
                s = super::split::skip_space(data, j + 1);
                if until.is_some_and(|u| s >= u) {
                    return Some((cols, Landing::At(s)));
                }
            }
            b']' => return Some((cols, Landing::End(j + 1))),
            _ => return None,
        }
    }
}

/// Blocks' columns joined in order (None if an allocation fails).
fn join(parts: impl Iterator<Item = AnnotationColumns>) -> Option<AnnotationColumns> {
    let mut parts = parts;
    let mut out = parts.next().unwrap_or_default();
    let rest: Vec<AnnotationColumns> = parts.collect();
    if !super::split::reserve_for(&mut out, &rest) {
        return None;
    }
    for p in rest {
        super::split::append(&mut out, p);
    }
    out.parsing = 0;
    Some(out)
}

/// Annotation `index`, the object `element` (a slice of the document `cols` is
/// parsing), read into `cols` by serde; false on any error.
pub(super) fn serde_entry(
    cols: &mut AnnotationColumns,
    element: &[u8],
    index: usize,
    ids: bool,
) -> bool {
    let mut de = serde_json::Deserializer::from_slice(element);
    EntrySeed {
        table: cols,
        index,
        ids,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .is_ok()
}

fn parse<'de, S: DeserializeSeed<'de, Value = ()>>(data: &'de [u8], seed: S) -> Result<()> {
    let mut de = serde_json::Deserializer::from_slice(data);
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| {
            let offset = byte_offset(data, e.line(), e.column());
            let msg = e.to_string();
            // A failed allocation is reported as one (see `oom`).
            if msg.starts_with(OOM) {
                return Error::OutOfMemory {
                    what: "dataset columns",
                    bytes: u64::MAX,
                };
            }
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            Error::Dataset {
                message: format!(
                    "{msg} (line {}, column {}, byte offset {offset})",
                    e.line(),
                    e.column()
                ),
            }
        })
}

const OOM: &str = "out of memory: ";

fn byte_offset(data: &[u8], line: usize, column: usize) -> usize {
    let start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', data)
            .nth(line - 2)
            .map_or(data.len(), |p| p + 1)
    };
    (start + column.saturating_sub(1)).min(data.len())
}

fn oom<E: de::Error>(e: &Error) -> E {
    E::custom(format!("{OOM}{e}"))
}

/// The `visit_*` methods of a visitor for the kinds of value it does not read: each
/// gives `$other` (lists and objects consumed): `numbers` (integers, floats, booleans),
/// `unit` (null), `str`, `seq`, `map`.
macro_rules! other_kinds {
    ($de:lifetime, $other:expr; $($kind:ident),*) => { $( other_kinds!(@$kind $de, $other); )* };
    (@numbers $de:lifetime, $other:expr) => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
    (@unit $de:lifetime, $other:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
    (@str $de:lifetime, $other:expr) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
    (@seq $de:lifetime, $other:expr) => {
        fn visit_seq<A: SeqAccess<$de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
            while s.next_element::<IgnoredAny>()?.is_some() {}
            Ok($other)
        }
    };
    (@map $de:lifetime, $other:expr) => {
        fn visit_map<A: MapAccess<$de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($other)
        }
    };
}

/// The top-level object of a dataset.
struct Top<'a> {
    out: &'a mut Dataset,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (a COCO dataset: images, annotations, categories)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(
            "the document is a list, not a JSON object: a COCO dataset has images, \
             annotations and categories (a list is a results file)",
        ))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            let out = &mut *self.out;
            match key {
                Key::Images => {
                    out.images = Images::default();
                    out.has_images = true;
                    map.next_value_seed(TableSeed::<ImagesTable> {
                        out: &mut ImagesTable {
                            images: &mut out.images,
                            atypical: &mut out.atypical,
                        },
                        ids: true,
                        name: "images",
                    })?;
                }
                Key::Annotations => {
                    out.annotations = AnnotationColumns {
                        parsing: out.annotations.parsing,
                        ..AnnotationColumns::default()
                    };
                    out.has_annotations = true;
                    map.next_value_seed(TableSeed::<Anns> {
                        out: &mut out.annotations,
                        ids: true,
                        name: "annotations",
                    })?;
                }
                Key::Categories => {
                    out.categories = Categories::default();
                    out.has_categories = true;
                    map.next_value_seed(TableSeed::<CategoriesTable> {
                        out: &mut CategoriesTable {
                            categories: &mut out.categories,
                            atypical: &mut out.atypical,
                        },
                        ids: true,
                        name: "categories",
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The keys the columns read (of the document, an entry or an RLE).
enum Key {
    Images,
    Annotations,
    Categories,
    Id,
    ImageId,
    CategoryId,
    Area,
    Iscrowd,
    Score,
    Bbox,
    Segmentation,
    Keypoints,
    NumKeypoints,
    Caption,
    Height,
    Width,
    Name,
    Size,
    Counts,
    NegCategoryIds,
    NotExhaustiveCategoryIds,
    Frequency,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(match s {
                    "images" => Key::Images,
                    "annotations" => Key::Annotations,
                    "categories" => Key::Categories,
                    "id" => Key::Id,
                    "image_id" => Key::ImageId,
                    "category_id" => Key::CategoryId,
                    "area" => Key::Area,
                    "iscrowd" => Key::Iscrowd,
                    "score" => Key::Score,
                    "bbox" => Key::Bbox,
                    "segmentation" => Key::Segmentation,
                    "keypoints" => Key::Keypoints,
                    "num_keypoints" => Key::NumKeypoints,
                    "caption" => Key::Caption,
                    "height" => Key::Height,
                    "width" => Key::Width,
                    "name" => Key::Name,
                    "size" => Key::Size,
                    "counts" => Key::Counts,
                    "neg_category_ids" => Key::NegCategoryIds,
                    "not_exhaustive_category_ids" => Key::NotExhaustiveCategoryIds,
                    "frequency" => Key::Frequency,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A scalar field.
struct ScalarDe(Scalar);

impl<'de> de::Deserialize<'de> for ScalarDe {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            other_kinds!('de, Scalar::Other; unit, str, seq, map);
        }
        d.deserialize_any(V).map(ScalarDe)
    }
}

/// A list of numbers appended to `out`: `Ok(range)`, or `Err(())` (nothing kept) when
/// the value is not a list of numbers.
struct Numbers<'a> {
    out: &'a mut Vec<f64>,
}

impl<'de> DeserializeSeed<'de> for Numbers<'_> {
    type Value = std::result::Result<(usize, usize), ()>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Numbers<'_> {
    type Value = std::result::Result<(usize, usize), ()>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of numbers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let start = self.out.len();
        let mut ok = true;
        while let Some(ScalarDe(v)) = s.next_element()? {
            match v.number() {
                Some(x) if ok => {
                    crate::alloc::grow(self.out, 1, "coordinates").map_err(|e| oom(&e))?;
                    self.out.push(x);
                }
                _ => ok = false,
            }
        }
        if ok {
            Ok(Ok((start, self.out.len())))
        } else {
            self.out.truncate(start);
            Ok(Err(()))
        }
    }
    other_kinds!('de, Err(()); numbers, unit, str, map);
}

/// An RLE's JSON text (`{"size": [h, w], "counts": ...}`, a range of `source`) read as
/// [`Segmentation::Compressed`] (counts in place when they have no escapes, else in
/// `counts_bytes`) or [`Segmentation::Runs`] of `cols` ([`Segmentation::Other`] for
/// another value).
pub(super) fn read_rle_in(
    cols: &mut AnnotationColumns,
    source: &[u8],
    start: usize,
    end: usize,
) -> Segmentation {
    cols.parsing = source.as_ptr() as usize;
    let mut de = serde_json::Deserializer::from_slice(&source[start..end]);
    let got = SegmSeed { cols: &mut *cols }.deserialize(&mut de);
    cols.parsing = 0;
    got.unwrap_or(Segmentation::Other)
}

/// An RLE dict (`{"size": [h, w], "counts": ...}`; another value is
/// [`Segmentation::Other`]).
struct SegmSeed<'a> {
    cols: &'a mut AnnotationColumns,
}

impl<'de> DeserializeSeed<'de> for SegmSeed<'_> {
    type Value = Segmentation;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Segmentation, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SegmSeed<'_> {
    type Value = Segmentation;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("polygons or an RLE")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Segmentation, A::Error> {
        let mut size: Option<[u64; 2]> = None;
        let mut size_seen = false;
        let mut counts: Option<std::result::Result<Segmentation, ()>> = None;
        while let Some(key) = m.next_key::<Key>()? {
            match key {
                Key::Size => {
                    size_seen = true;
                    let mut v = Vec::new();
                    size = match m.next_value_seed(Numbers { out: &mut v })? {
                        Ok(_)
                            if v.len() == 2 && v.iter().all(|x| x.fract() == 0.0 && *x >= 0.0) =>
                        {
                            Some([v[0] as u64, v[1] as u64])
                        }
                        _ => None,
                    };
                }
                Key::Counts => {
                    counts = Some(m.next_value_seed(CountsSeed { cols: self.cols })?);
                }
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        let _ = size_seen;
        Ok(match (size, counts) {
            (Some([height, width]), Some(Ok(c))) => match c {
                Segmentation::Compressed {
                    in_source,
                    start,
                    end,
                    ..
                } => Segmentation::Compressed {
                    in_source,
                    height,
                    width,
                    start,
                    end,
                },
                Segmentation::Runs { start, end, .. } => Segmentation::Runs {
                    height,
                    width,
                    start,
                    end,
                },
                other => other,
            },
            _ => Segmentation::Other,
        })
    }
    other_kinds!('de, Segmentation::Other; numbers, unit, str, seq);
}

/// An RLE's `counts`: a string (compressed) or a list of non-negative integers below
/// 2**32 (runs); sizes are filled in by the caller.
struct CountsSeed<'a> {
    cols: &'a mut AnnotationColumns,
}

impl<'de> DeserializeSeed<'de> for CountsSeed<'_> {
    type Value = std::result::Result<Segmentation, ()>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountsSeed<'_> {
    type Value = std::result::Result<Segmentation, ()>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RLE counts")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        // In place: a range of the document.
        let start = (s.as_ptr() as usize).wrapping_sub(self.cols.parsing);
        if self.cols.parsing == 0 || start > isize::MAX as usize {
            return self.visit_str(s);
        }
        Ok(Ok(Segmentation::Compressed {
            in_source: true,
            height: 0,
            width: 0,
            start,
            end: start + s.len(),
        }))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        let start = self.cols.counts_bytes.len();
        crate::alloc::grow(&mut self.cols.counts_bytes, s.len(), "counts strings")
            .map_err(|e| oom(&e))?;
        self.cols.counts_bytes.extend_from_slice(s.as_bytes());
        Ok(Ok(Segmentation::Compressed {
            in_source: false,
            height: 0,
            width: 0,
            start,
            end: self.cols.counts_bytes.len(),
        }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let start = self.cols.runs.len();
        let mut ok = true;
        while let Some(ScalarDe(v)) = s.next_element()? {
            match v {
                Scalar::Int(x) if ok && (0..=i64::from(u32::MAX)).contains(&x) => {
                    crate::alloc::grow(&mut self.cols.runs, 1, "run lengths")
                        .map_err(|e| oom(&e))?;
                    self.cols.runs.push(x as u32);
                }
                _ => ok = false,
            }
        }
        if ok {
            Ok(Ok(Segmentation::Runs {
                height: 0,
                width: 0,
                start,
                end: self.cols.runs.len(),
            }))
        } else {
            self.cols.runs.truncate(start);
            Ok(Err(()))
        }
    }
    other_kinds!('de, Err(()); numbers, unit, map);
}

/// What a table (`images`, `annotations`, `categories`, a results list) reads each of
/// its entries into.
trait Table {
    /// One entry (`index` in the table); `ids`: whether ids are required.
    fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        map: A,
        index: usize,
        ids: bool,
    ) -> Result<(), A::Error>;
    /// What an entry is called in messages.
    const ENTRY: &'static str;
}

struct TableSeed<'a, T> {
    out: &'a mut T,
    ids: bool,
    name: &'static str,
}

impl<'de, T: Table> DeserializeSeed<'de> for TableSeed<'_, T> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Table> Visitor<'de> for TableSeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to be a list of objects", self.name)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        let mut index = 0;
        while s
            .next_element_seed(EntrySeed {
                table: &mut *self.out,
                index,
                ids: self.ids,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
}

struct EntrySeed<'a, T> {
    table: &'a mut T,
    index: usize,
    ids: bool,
}

impl<'de, T: Table> DeserializeSeed<'de> for EntrySeed<'_, T> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Table> Visitor<'de> for EntrySeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} to be an object", T::ENTRY, self.index)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.table.entry(map, self.index, self.ids)
    }
}

/// Annotations (or results).
type Anns = AnnotationColumns;

impl Table for AnnotationColumns {
    const ENTRY: &'static str = "annotation";
    fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        _index: usize,
        ids: bool,
    ) -> Result<(), A::Error> {
        let mut rec = Record::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => rec.id = map.next_value::<ScalarDe>()?.0,
                Key::ImageId => rec.image_id = map.next_value::<ScalarDe>()?.0,
                Key::CategoryId => rec.category_id = map.next_value::<ScalarDe>()?.0,
                Key::Area => rec.area = map.next_value::<ScalarDe>()?.0,
                Key::Iscrowd => rec.iscrowd = map.next_value::<ScalarDe>()?.0,
                Key::Score => rec.score = map.next_value::<ScalarDe>()?.0,
                Key::NumKeypoints => rec.num_keypoints = map.next_value::<ScalarDe>()?.0,
                Key::Bbox => {
                    let mut v = Vec::new();
                    let got = map.next_value_seed(Numbers { out: &mut v })?;
                    rec.bbox_empty = matches!(got, Ok((0, 0)));
                    rec.bbox = Some(match (got, v.as_slice()) {
                        (Ok(_), &[x, y, w, h]) => Ok([x, y, w, h]),
                        _ => Err(()),
                    });
                }
                Key::Segmentation => {
                    // Polygons are kept as their JSON text, parsed when rasterised (an
                    // evaluation of boxes or keypoints never reads them); RLEs are read.
                    let raw: &serde_json::value::RawValue = map.next_value()?;
                    let text = raw.get().as_bytes();
                    // A range of the document (kept as the columns' source).
                    let start = (text.as_ptr() as usize).wrapping_sub(self.parsing);
                    let end = start + text.len();
                    rec.segmentation = match text.first() {
                        Some(b'[') => Segmentation::PolygonText { start, end },
                        // An RLE is read when needed too (a box evaluation never
                        // does): by `AnnotationColumns::shape`.
                        Some(b'{') => Segmentation::RleText { start, end },
                        _ => Segmentation::Other,
                    };
                }
                Key::Keypoints => {
                    // Read from the value's text: std's float parsing is correctly
                    // rounded and several times faster than serde_json's exact path.
                    let got = map.next_value_seed(Numbers {
                        out: &mut self.keypoint_values,
                    })?;
                    rec.keypoints = Some(got);
                }
                Key::Caption => {
                    rec.caption = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.push(&rec, ids).map_err(|e| match e {
            Error::OutOfMemory { .. } => oom(&e),
            e => de::Error::custom(e),
        })
    }
}

struct ImagesTable<'a> {
    images: &'a mut Images,
    atypical: &'a mut Option<String>,
}

impl Table for ImagesTable<'_> {
    const ENTRY: &'static str = "image";
    fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        index: usize,
        _ids: bool,
    ) -> Result<(), A::Error> {
        let (mut id, mut h, mut w) = (Scalar::Missing, Scalar::Missing, Scalar::Missing);
        let mut lists: [Option<(usize, usize)>; 2] = [None, None];
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => id = map.next_value::<ScalarDe>()?.0,
                Key::Height => h = map.next_value::<ScalarDe>()?.0,
                Key::Width => w = map.next_value::<ScalarDe>()?.0,
                Key::NegCategoryIds | Key::NotExhaustiveCategoryIds => {
                    let which = usize::from(matches!(key, Key::NotExhaustiveCategoryIds));
                    let got = map.next_value_seed(Numbers {
                        out: &mut self.images.category_lists,
                    })?;
                    lists[which] = got.ok();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let n = self.images.id.len();
        for (column, got) in self.images.lvis_lists.iter_mut().zip(lists) {
            if got.is_some() && column.len() < n {
                // The first image with the list: the earlier ones have none.
                column.resize(n, None);
            }
            if got.is_some() || !column.is_empty() {
                crate::alloc::grow(column, 1, "image columns").map_err(|e| oom(&e))?;
                column.push(got);
            }
        }
        let mut note = |what: &str| {
            if self.atypical.is_none() {
                *self.atypical = Some(format!("image {index}: {what}"));
            }
        };
        let key = match id {
            Scalar::Missing => {
                return Err(de::Error::custom(format!("image {index} has no id")));
            }
            s => s.key().unwrap_or_else(|| {
                note("id is not an integer");
                0
            }),
        };
        let size = match (h, w) {
            (Scalar::Int(h), Scalar::Int(w)) if h >= 0 && w >= 0 => Some([h as u64, w as u64]),
            (Scalar::Missing, _) | (_, Scalar::Missing) => None,
            _ => {
                note("height or width is not a non-negative integer");
                None
            }
        };
        crate::alloc::grow(&mut self.images.id, 1, "image columns").map_err(|e| oom(&e))?;
        self.images.id.push(key);
        self.images.size.push(size);
        Ok(())
    }
}

struct CategoriesTable<'a> {
    categories: &'a mut Categories,
    atypical: &'a mut Option<String>,
}

impl Table for CategoriesTable<'_> {
    const ENTRY: &'static str = "category";
    fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        index: usize,
        _ids: bool,
    ) -> Result<(), A::Error> {
        let mut id = Scalar::Missing;
        let (mut name, mut frequency) = (None, None);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => id = map.next_value::<ScalarDe>()?.0,
                Key::Name => name = map.next_value::<NameDe>()?.0,
                Key::Frequency => frequency = map.next_value::<NameDe>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let key = match id {
            Scalar::Missing => {
                return Err(de::Error::custom(format!("category {index} has no id")));
            }
            s => s.key().unwrap_or_else(|| {
                if self.atypical.is_none() {
                    *self.atypical = Some(format!("category {index}: id is not an integer"));
                }
                0
            }),
        };
        self.categories.id.push(key);
        self.categories.name.push(name);
        self.categories.frequency.push(frequency);
        Ok(())
    }
}

/// A string, or `None` for another value.
struct NameDe(Option<String>);

impl<'de> de::Deserialize<'de> for NameDe {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Some(s.to_owned()))
            }
            other_kinds!('de, None; numbers, unit, seq, map);
        }
        d.deserialize_any(V).map(NameDe)
    }
}

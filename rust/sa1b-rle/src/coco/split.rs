//! Parsing a large document's annotation list on several threads: a structural scan
//! finds where each annotation object starts and ends (strings and nesting only, no
//! value read), or blocks start at guessed element starts that the parse confirms
//! (results lists, whose counts strings make the scan slow); the objects are parsed in
//! blocks side by side, and the blocks' columns are joined. Any doubt (a malformed
//! document, a key given twice, a wrong guess) falls back to the one-pass parse, which
//! reports errors with their exact place.

use super::{AnnotationColumns, Segmentation};

/// Where the value of a top-level key and the elements of a list lie.
pub(super) struct Split {
    /// The `annotations` list: its bytes.
    pub list: (usize, usize),
    /// Each element's bytes.
    pub elements: Vec<(usize, usize)>,
}

pub(super) fn skip_space(d: &[u8], mut i: usize) -> usize {
    while i < d.len() && matches!(d[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string starting at `d[i] == b'"'` (just past its closing quote).
fn string_end(d: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', d.get(j..)?)?;
        if d[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
    }
}

/// The end of the value starting at `d[i]`.
pub(super) fn value_end(d: &[u8], i: usize) -> Option<usize> {
    match *d.get(i)? {
        b'"' => string_end(d, i),
        b'{' | b'[' => {
            // The structural bytes found by two linear memchr scans (quotes and
            // brackets, braces), merged; events inside strings skipped.
            let hay = &d[i..];
            let mut a = memchr::memchr3_iter(b'"', b'[', b']', hay).peekable();
            let mut b = memchr::memchr2_iter(b'{', b'}', hay).peekable();
            let (mut depth, mut past) = (0usize, 0usize);
            loop {
                while a.peek().is_some_and(|&p| p < past) {
                    a.next();
                }
                while b.peek().is_some_and(|&p| p < past) {
                    b.next();
                }
                let p = match (a.peek(), b.peek()) {
                    (Some(&x), Some(&y)) if x < y => a.next()?,
                    (_, Some(_)) => b.next()?,
                    (Some(_), None) => a.next()?,
                    (None, None) => return None,
                };
                match hay[p] {
                    b'"' => past = string_end(hay, p)?,
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + p + 1);
                        }
                    }
                }
            }
        }
        _ => {
            let mut j = i;
            while j < d.len() && !matches!(d[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The elements of the list starting at `d[i] == b'['`, and its end.
fn list_elements(d: &[u8], i: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    if d.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut j = skip_space(d, i + 1);
    if d.get(j) == Some(&b']') {
        return Some((out, j + 1));
    }
    loop {
        let end = value_end(d, j)?;
        out.push((j, end));
        j = skip_space(d, end);
        match d.get(j)? {
            b',' => j = skip_space(d, j + 1),
            b']' => return Some((out, j + 1)),
            _ => return None,
        }
    }
}

/// The `annotations` list of a dataset document (None when the scan is in doubt).
pub(super) fn dataset(d: &[u8]) -> Option<Split> {
    let mut i = skip_space(d, 0);
    if d.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(d, i + 1);
    let mut found: Option<Split> = None;
    loop {
        if d.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(d, i)?;
        let key = &d[i + 1..key_end - 1];
        i = skip_space(d, key_end);
        if d.get(i) != Some(&b':') {
            return None;
        }
        i = skip_space(d, i + 1);
        if key == b"annotations" {
            if found.is_some() {
                return None; // given twice: the one-pass parse decides
            }
            let (elements, end) = list_elements(d, i)?;
            found = Some(Split {
                list: (i, end),
                elements,
            });
            i = end;
        } else if key.contains(&b'\\') {
            return None;
        } else {
            i = value_end(d, i)?;
        }
        i = skip_space(d, i);
        match d.get(i)? {
            b',' => i = skip_space(d, i + 1),
            b'}' => break,
            _ => return None,
        }
    }
    (skip_space(d, i + 1) == d.len()).then_some(found).flatten()
}

/// Where blocks of the list whose first element starts at `d[first]` may start: up to
/// `n - 1` offsets spread evenly after it, each moved on to the next `{` that follows a
/// `}` and a `,` (whitespace between). Each is only a guess (the bytes may sit inside a
/// string or a nested list): a block is known to start an element when the parse of the
/// block before it, itself known, lands there (see `json::parse_list_blocks`).
pub(super) fn guesses(d: &[u8], first: usize, n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let len = d.len().saturating_sub(first);
    for k in 1..n {
        let mut at = first + len / n * k;
        if out.last().is_some_and(|&g| at <= g) {
            continue;
        }
        while let Some(q) = d.get(at..).and_then(|rest| memchr::memchr(b'{', rest)) {
            let q = at + q;
            let before = |mut i: usize| {
                while i > 0 && matches!(d[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
                    i -= 1;
                }
                i.checked_sub(1)
            };
            if let Some(c) = before(q).filter(|&c| d[c] == b',') {
                if before(c).is_some_and(|b| d[b] == b'}') {
                    out.push(q);
                    break;
                }
            }
            at = q + 1;
        }
    }
    out
}

/// Empty columns for a block of `bytes` bytes of a document being parsed (`data`),
/// made on the calling thread with room in every column: a block parsed on a pool
/// thread then grows them where they were made (glibc reallocates a chunk in the arena
/// it came from), so what the blocks held, freed when they are joined, returns to the
/// calling thread's heap instead of staying with the pool thread's arena (0.75 MB of a
/// 2 MB keypoints file). `None` when an allocation fails.
pub(super) fn block_columns(data: &[u8], bytes: usize) -> Option<AnnotationColumns> {
    // (Room for about one annotation per 512 bytes; more grows, in place where it can.)
    let n = (bytes / 512).max(1);
    let mut c = AnnotationColumns {
        parsing: data.as_ptr() as usize,
        ..AnnotationColumns::default()
    };
    macro_rules! room {
        ($($field:ident: $n:expr),*) => {
            $( c.$field.try_reserve_exact($n).ok()?; )*
        };
    }
    room!(id: n, image_id: n, category_id: n, area: n, score: n, bbox: n,
          num_keypoints: n, flags: n, segmentation: n, keypoints: n, parts: 1, coords: 1,
          counts_bytes: 1, runs: 1, keypoint_values: 1);
    Some(c)
}

/// Blocks of consecutive elements of about equal bytes, `n` of them at most.
pub(super) fn blocks(elements: &[(usize, usize)], n: usize) -> Vec<std::ops::Range<usize>> {
    let total: usize = elements.iter().map(|(a, b)| b - a).sum();
    let per = total.div_ceil(n.max(1)).max(1);
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (k, (a, b)) in elements.iter().enumerate() {
        size += b - a;
        if size >= per {
            out.push(start..k + 1);
            start = k + 1;
            size = 0;
        }
    }
    if start < elements.len() {
        out.push(start..elements.len());
    }
    out
}

/// Reserves room in `out` for the columns of the later blocks `rest` (each column grows
/// once, not once per block); false if an allocation fails.
pub(super) fn reserve_for(out: &mut AnnotationColumns, rest: &[AnnotationColumns]) -> bool {
    macro_rules! reserve {
        ($($field:ident),*) => {
            $(
                let more: usize = rest.iter().map(|b| b.$field.len()).sum();
                if out.$field.try_reserve(more).is_err() {
                    return false;
                }
            )*
        };
    }
    reserve!(
        id,
        image_id,
        category_id,
        area,
        score,
        bbox,
        num_keypoints,
        flags,
        segmentation,
        keypoints,
        parts,
        coords,
        counts_bytes,
        runs,
        keypoint_values
    );
    true
}

/// Appends the columns of a later block to `out`, moving its ranges into `out`'s
/// buffers (ranges of the source document stay as they are).
pub(super) fn append(out: &mut AnnotationColumns, mut b: AnnotationColumns) {
    let (parts0, coords0) = (out.parts.len(), out.coords.len());
    let (counts0, runs0, kp0) = (
        out.counts_bytes.len(),
        out.runs.len(),
        out.keypoint_values.len(),
    );
    if out.atypical.is_none() {
        // (Its index counted from the block's first annotation.)
        out.atypical = b.atypical.take().map(|m| shift_index(&m, out.len()));
    }
    out.id.append(&mut b.id);
    out.image_id.append(&mut b.image_id);
    out.category_id.append(&mut b.category_id);
    out.area.append(&mut b.area);
    out.score.append(&mut b.score);
    out.bbox.append(&mut b.bbox);
    out.num_keypoints.append(&mut b.num_keypoints);
    out.flags.append(&mut b.flags);
    out.segmentation
        .extend(b.segmentation.iter().map(|s| match *s {
            Segmentation::Polygons { first, count } => Segmentation::Polygons {
                first: first + parts0,
                count,
            },
            Segmentation::Compressed {
                in_source: false,
                height,
                width,
                start,
                end,
            } => Segmentation::Compressed {
                in_source: false,
                height,
                width,
                start: start + counts0,
                end: end + counts0,
            },
            Segmentation::Runs {
                height,
                width,
                start,
                end,
            } => Segmentation::Runs {
                height,
                width,
                start: start + runs0,
                end: end + runs0,
            },
            other => other,
        }));
    out.keypoints.extend(b.keypoints.iter().map(
        |&(a, e)| {
            if a == e {
                (0, 0)
            } else {
                (a + kp0, e + kp0)
            }
        },
    ));
    out.parts
        .extend(b.parts.iter().map(|&(a, e)| (a + coords0, e + coords0)));
    out.coords.append(&mut b.coords);
    out.counts_bytes.append(&mut b.counts_bytes);
    out.runs.append(&mut b.runs);
    out.keypoint_values.append(&mut b.keypoint_values);
}

/// An `annotation {index}: ...` note of a block with its index moved on by `by`.
fn shift_index(note: &str, by: usize) -> String {
    note.strip_prefix("annotation ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(i, what)| {
            Some(format!(
                "annotation {}:{what}",
                i.parse::<usize>().ok()? + by
            ))
        })
        .unwrap_or_else(|| note.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_annotations_list() {
        let d = br#" {"images": [{"id": 1, "s": "a]\"}"}], "annotations" : [ {"id": 1, "x": [1, [2]]} ,{"id": "}"}], "z": null } "#;
        let s = dataset(d).unwrap();
        let text = |(a, b): (usize, usize)| std::str::from_utf8(&d[a..b]).unwrap();
        assert_eq!(s.elements.len(), 2);
        assert_eq!(text(s.elements[0]), r#"{"id": 1, "x": [1, [2]]}"#);
        assert_eq!(text(s.elements[1]), r#"{"id": "}"}"#);
        assert!(text(s.list).starts_with('[') && text(s.list).ends_with(']'));
        // In doubt: a key twice, trailing bytes, a truncated document.
        assert!(dataset(br#"{"annotations": [], "annotations": []}"#).is_none());
        assert!(dataset(br#"{"annotations": []} x"#).is_none());
        assert!(dataset(br#"{"annotations": [{"id": 1}"#).is_none());
        // Guesses: a `{` after `}` and `,`, wherever it is (strings included).
        let d = br#"[{"a": 1}, {"b": "}, {"}, {"c": [{}, {}]}]"#;
        let g = guesses(d, 1, 8);
        assert!(g.iter().all(|&q| d[q] == b'{'), "{g:?}");
        // (21 inside a string, 37 inside a nested list: parsing rejects those.)
        assert_eq!(g, [11, 21, 26, 37]);
        assert_eq!(
            shift_index("annotation 3: id is odd", 10),
            "annotation 13: id is odd"
        );
        assert_eq!(
            blocks(&[(0, 10), (10, 20), (20, 30), (30, 40)], 2),
            [0..2, 2..4]
        );
    }
}

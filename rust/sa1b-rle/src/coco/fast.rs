//! A fast path for one annotation object of a split document ([`super::split`]): the
//! common shapes (keys without escapes, plain numbers, lists of numbers, polygons and RLE
//! dicts kept as text) read in one strict pass, several times quicker than serde's
//! visitors. It accepts only what is valid JSON and gives what the serde path gives
//! (the same [`Record`], pushed by the same [`AnnotationColumns::push`]); on anything
//! else (an escape, an exponent, `-0`, a very long integer, deep nesting, a key given
//! twice, a record `push` refuses) it declines, leaving the columns as they were, and
//! the element is read by serde.

use super::{AnnotationColumns, Record, Scalar, Segmentation, POW10};

/// Nesting deeper than this is left to serde (whose limit is 128).
const MAX_DEPTH: usize = 100;

/// Reads the annotation object `d[start..end]` (`start` its offset in the document, for
/// segmentation ranges) into `cols`; false (nothing changed) when it declines.
pub(super) fn entry(cols: &mut AnnotationColumns, d: &[u8], start: usize, ids: bool) -> bool {
    read(cols, Parser { d, i: 0, start }, ids, true).is_some()
}

/// Reads the annotation object starting at `doc[at]` (`doc` the whole document) into
/// `cols`: the offset just past it, or None (nothing changed) when it declines.
pub(super) fn entry_at(
    cols: &mut AnnotationColumns,
    doc: &[u8],
    at: usize,
    ids: bool,
) -> Option<usize> {
    read(
        cols,
        Parser {
            d: doc,
            i: at,
            start: 0,
        },
        ids,
        false,
    )
}

/// One object read by `p` into `cols` (`whole`: it must end the parser's bytes): where
/// it ends, or None (nothing changed).
fn read(cols: &mut AnnotationColumns, mut p: Parser<'_>, ids: bool, whole: bool) -> Option<usize> {
    let kept = cols.keypoint_values.len();
    let noted = cols.atypical.is_some();
    let mut rec = Record::default();
    let ok = p.object(&mut rec, &mut cols.keypoint_values).is_some()
        && (!whole || p.ws_end() == p.d.len())
        && cols.push(&rec, ids).is_ok();
    if !ok {
        cols.keypoint_values.truncate(kept);
        // (A refused record may have been noted as atypical.)
        if !noted {
            cols.atypical = None;
        }
        return None;
    }
    Some(p.i)
}

/// The keys a record reads (bits of the set seen, to decline a repeated one).
#[derive(Clone, Copy)]
enum Field {
    Id = 0,
    ImageId,
    CategoryId,
    Area,
    Iscrowd,
    Score,
    NumKeypoints,
    Bbox,
    Segmentation,
    Keypoints,
    Caption,
}

fn field(key: &[u8]) -> Option<Field> {
    Some(match key {
        b"id" => Field::Id,
        b"image_id" => Field::ImageId,
        b"category_id" => Field::CategoryId,
        b"area" => Field::Area,
        b"iscrowd" => Field::Iscrowd,
        b"score" => Field::Score,
        b"num_keypoints" => Field::NumKeypoints,
        b"bbox" => Field::Bbox,
        b"segmentation" => Field::Segmentation,
        b"keypoints" => Field::Keypoints,
        b"caption" => Field::Caption,
        _ => return None,
    })
}

/// Where a string's scan must stop in `s`: the first `"`, `\\`, control character
/// (below 0x20) or non-ASCII byte, found eight bytes at a time (one pass over counts
/// strings, which are long and hold a `\\` every few dozen bytes).
fn string_stop(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of every byte below `n` (n <= 0x80), exact up to the first such
    // byte: a borrow only marks bytes after it.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w;
    let mut chunks = s.chunks_exact(8);
    for (k, chunk) in chunks.by_ref().enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let hits = (below(quote, 1) | below(slash, 1) | below(w, 0x20) | w) & HIGH;
        if hits != 0 {
            return Some(k * 8 + (hits.trailing_zeros() / 8) as usize);
        }
    }
    let rest = chunks.remainder();
    let at = rest
        .iter()
        .position(|&c| matches!(c, b'"' | b'\\' | 0..0x20 | 0x80..))?;
    Some(s.len() - rest.len() + at)
}

struct Parser<'a> {
    d: &'a [u8],
    i: usize,
    /// The offset of `d` in the document.
    start: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.d.len() && matches!(self.d[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn ws_end(&mut self) -> usize {
        self.ws();
        self.i
    }

    fn peek(&self) -> Option<u8> {
        self.d.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// After an element of a list or object: true past the closing `close`, false past a
    /// comma (another element follows); None for anything else.
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let c = self.peek()?;
        if c != b',' && c != close {
            return None;
        }
        self.i += 1;
        Some(c == close)
    }

    /// Just inside an opening bracket or brace: true (and past it) if `close` follows.
    fn empty(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let closed = self.peek()? == close;
        if closed {
            self.i += 1;
        }
        Some(closed)
    }

    /// A string (valid UTF-8, no control characters; escapes other than `\u`): its
    /// bytes as written.
    fn string(&mut self) -> Option<&[u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let from = self.i + 1;
        let mut j = from;
        let mut ascii = true;
        loop {
            j += string_stop(self.d.get(j..)?)?;
            match self.d[j] {
                b'"' => break,
                // `\u` (and its surrogate rules) is left to serde.
                b'\\' => {
                    if !matches!(
                        self.d.get(j + 1)?,
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't'
                    ) {
                        return None;
                    }
                    j += 2;
                }
                0..0x20 => return None,
                _ => {
                    ascii = false;
                    j += 1;
                }
            }
        }
        let s = &self.d[from..j];
        if !ascii {
            std::str::from_utf8(s).ok()?;
        }
        self.i = j + 1;
        Some(s)
    }

    /// A number in JSON's grammar, as serde reads it; declines exponents, `-0`, integers
    /// of more than 18 digits and numbers of more than 300 bytes.
    fn number(&mut self) -> Option<Scalar> {
        let d = self.d;
        let from = self.i;
        let mut j = from;
        let neg = d.get(j) == Some(&b'-');
        if neg {
            j += 1;
        }
        // The digits as one integer `m` (while it fits) and how many follow the dot.
        let (mut m, mut digits) = (0u64, 0usize);
        let int_from = j;
        match d.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => {
                while let Some(&c @ b'0'..=b'9') = d.get(j) {
                    m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                    j += 1;
                }
            }
            _ => return None,
        }
        digits += j - int_from;
        let mut frac = None;
        if d.get(j) == Some(&b'.') {
            j += 1;
            let frac_from = j;
            while let Some(&c @ b'0'..=b'9') = d.get(j) {
                m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                j += 1;
            }
            if j == frac_from {
                return None;
            }
            frac = Some(j - frac_from);
            digits += j - frac_from;
        }
        if matches!(d.get(j), Some(b'e' | b'E')) || j - from > 300 {
            return None;
        }
        self.i = j;
        let Some(frac) = frac else {
            // An integer: `m` is exact below 19 digits.
            if digits > 18 || (neg && m == 0) {
                return None;
            }
            let v = i64::try_from(m).ok()?;
            return Some(Scalar::Int(if neg { -v } else { v }));
        };
        // Clinger's fast path: `m` and `10**frac` exact in a double, one correctly
        // rounded division (the double any correct parser gives).
        let v = if digits <= 19 && m < 1 << 53 && frac < POW10.len() {
            m as f64 / POW10[frac]
        } else {
            // SAFETY: ASCII digits, a sign and a dot.
            let text = unsafe { std::str::from_utf8_unchecked(&d[from..j]) };
            // Correctly rounded, as serde's (`float_roundtrip`).
            return text.parse::<f64>().ok().map(Scalar::Float);
        };
        Some(Scalar::Float(if neg { -v } else { v }))
    }

    /// Skips a number in JSON's grammar (exponents included), reading no value.
    fn skip_number(&mut self) -> Option<()> {
        let d = self.d;
        let mut j = self.i;
        let digits = |mut j: usize| {
            while j < d.len() && d[j].is_ascii_digit() {
                j += 1;
            }
            j
        };
        if d.get(j) == Some(&b'-') {
            j += 1;
        }
        match d.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => j = digits(j + 1),
            _ => return None,
        }
        if d.get(j) == Some(&b'.') {
            let k = digits(j + 1);
            if k == j + 1 {
                return None;
            }
            j = k;
        }
        if matches!(d.get(j), Some(b'e' | b'E')) {
            j += 1;
            if matches!(d.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let k = digits(j);
            if k == j {
                return None;
            }
            j = k;
        }
        self.i = j;
        Some(())
    }

    /// A scalar field's value: a number, `true`/`false`, or another value (`Other`).
    fn scalar(&mut self) -> Option<Scalar> {
        self.ws();
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b't' | b'f' => {
                let v = self.peek()? == b't';
                self.literal()?;
                Some(Scalar::Bool(v))
            }
            _ => {
                self.skip(0)?;
                Some(Scalar::Other)
            }
        }
    }

    fn literal(&mut self) -> Option<()> {
        let rest = self.d.get(self.i..)?;
        let len = [&b"true"[..], b"false", b"null"]
            .into_iter()
            .find(|w| rest.starts_with(w))?
            .len();
        self.i += len;
        Some(())
    }

    /// Skips any JSON value, checking it.
    fn skip(&mut self, depth: usize) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' | b'f' | b'n' => self.literal(),
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                if self.empty(b']')? {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.next_or_close(b']')? {
                        return Some(());
                    }
                }
            }
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                if self.empty(b'}')? {
                    return Some(());
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.eat(b':')?;
                    self.skip(depth + 1)?;
                    if self.next_or_close(b'}')? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }

    /// A list read as the serde path's `Numbers`: `Ok(range)` of what was appended to
    /// `out` when every element is a number or a boolean, `Err(())` (nothing kept) for a
    /// list with another element or another value.
    fn numbers(&mut self, out: &mut Vec<f64>) -> Option<std::result::Result<(usize, usize), ()>> {
        self.ws();
        let start = out.len();
        if self.peek()? != b'[' {
            // A lone number is read as serde reads it (an out-of-range one, `1e400`, is
            // an error there): declined unless plain.
            self.scalar()?;
            return Some(Err(()));
        }
        self.i += 1;
        if self.empty(b']')? {
            return Some(Ok((start, start)));
        }
        let mut ok = true;
        loop {
            let v = self.scalar()?;
            match v.number() {
                Some(x) if ok => {
                    if out.len() == out.capacity() {
                        crate::alloc::grow(out, 1, "coordinates").ok()?;
                    }
                    out.push(x);
                }
                _ => ok = false,
            }
            if self.next_or_close(b']')? {
                break;
            }
        }
        if ok {
            Some(Ok((start, out.len())))
        } else {
            out.truncate(start);
            Some(Err(()))
        }
    }

    /// An annotation object into `rec` (keypoints appended to `keypoints`).
    fn object(&mut self, rec: &mut Record, keypoints: &mut Vec<f64>) -> Option<()> {
        self.eat(b'{')?;
        if self.empty(b'}')? {
            return Some(());
        }
        let mut seen = 0u32;
        loop {
            self.ws();
            let key = field(self.string()?);
            self.eat(b':')?;
            if let Some(f) = key {
                let bit = 1u32 << f as u32;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                self.value(f, rec, keypoints)?;
            } else {
                self.skip(0)?;
            }
            if self.next_or_close(b'}')? {
                return Some(());
            }
        }
    }

    fn value(&mut self, f: Field, rec: &mut Record, keypoints: &mut Vec<f64>) -> Option<()> {
        match f {
            Field::Id => rec.id = self.scalar()?,
            Field::ImageId => rec.image_id = self.scalar()?,
            Field::CategoryId => rec.category_id = self.scalar()?,
            Field::Area => rec.area = self.scalar()?,
            Field::Iscrowd => rec.iscrowd = self.scalar()?,
            Field::Score => rec.score = self.scalar()?,
            Field::NumKeypoints => rec.num_keypoints = self.scalar()?,
            Field::Bbox => {
                let mut v = Vec::new();
                let got = self.numbers(&mut v)?;
                rec.bbox_empty = matches!(got, Ok((0, 0)));
                rec.bbox = Some(match (got, v.as_slice()) {
                    (Ok(_), &[x, y, w, h]) => Ok([x, y, w, h]),
                    _ => Err(()),
                });
            }
            Field::Segmentation => {
                self.ws();
                let from = self.i;
                self.skip(0)?;
                let (start, end) = (self.start + from, self.start + self.i);
                rec.segmentation = match self.d[from] {
                    b'[' => Segmentation::PolygonText { start, end },
                    b'{' => Segmentation::RleText { start, end },
                    _ => Segmentation::Other,
                };
            }
            Field::Keypoints => rec.keypoints = Some(self.numbers(keypoints)?),
            Field::Caption => {
                rec.caption = true;
                self.skip(0)?;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::serde_entry;
    use super::{entry, string_stop, AnnotationColumns};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The eight-bytes-at-a-time stop equals a byte-by-byte search (stops placed
        /// anywhere, several in a word, none at all).
        #[test]
        fn string_stop_is_the_first_stop(
            text in proptest::collection::vec(
                prop_oneof![8 => 0x20u8..0x80, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => any::<u8>()],
                0..40,
            ),
        ) {
            let want = text
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c));
            prop_assert_eq!(string_stop(&text), want);
        }
    }

    /// A JSON-ish scalar token: valid and invalid numbers, literals, strings.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => any::<i64>().prop_map(|v| v.to_string()),
            1 => any::<u64>().prop_map(|v| v.to_string()),
            3 => (0u32..1000).prop_map(|v| v.to_string()),
            2 => any::<f64>().prop_map(|v| format!("{v:?}")),
            3 => (-1e6f64..1e6).prop_map(|v| format!("{v:?}")),
            3 => (-1e6f64..1e6, 0usize..20).prop_map(|(v, p)| format!("{v:.p$}")),
            3 => (0u64..10u64.pow(17), 0u32..25).prop_map(|(m, f)| {
                let s = m.to_string();
                let f = (f as usize).min(s.len().saturating_sub(1));
                let (a, b) = s.split_at(s.len() - f);
                if b.is_empty() { a.to_string() } else { format!("{a}.{b}") }
            }),
            2 => proptest::sample::select(vec![
                "-0", "0", "-0.0", "0.0", "05", "1.", ".5", "-", "1e5", "1E-3", "-1.5e+2",
                "1e400", "12345678901234567890123", "9223372036854775807",
                "9223372036854775808", "-9223372036854775808", "18446744073709551616",
                "0.1000000000000000055511151231257827", "123456789012345678.5", "true",
                "false", "null", "tru", "nul", "\"abc\"", "\"a\\\"b\"", "\"\\u00e9\"",
                "\"\u{e9}\"", "\"\u{1}\"", "\"x", "+1", "0x10", "NaN", "Infinity", "[]", "{}",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        token().prop_recursive(4, 40, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec((key(), inner), 0..4).prop_map(|v| {
                    let m: Vec<String> = v.into_iter().map(|(k, x)| format!("{k}: {x}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            "\"id\"",
            "\"image_id\"",
            "\"category_id\"",
            "\"area\"",
            "\"iscrowd\"",
            "\"score\"",
            "\"num_keypoints\"",
            "\"bbox\"",
            "\"segmentation\"",
            "\"keypoints\"",
            "\"caption\"",
            "\"size\"",
            "\"counts\"",
            "\"name\"",
            "\"image\\u005fid\"",
            "\"\u{e9}\"",
            "id",
            "\"id\"",
            "\"image_id\"",
            "\"category_id\"",
            "\"area\"",
            "\"score\"",
            "\"bbox\"",
            "\"segmentation\"",
            "\"keypoints\"",
        ])
        .prop_map(str::to_string)
    }

    /// Typical values of each field, so that most objects are complete.
    fn field_value(key: &str) -> BoxedStrategy<String> {
        let numbers = proptest::collection::vec(token(), 0..6)
            .prop_map(|v| format!("[{}]", v.join(",")))
            .boxed();
        match key {
            "\"bbox\"" | "\"keypoints\"" => prop_oneof![3 => numbers, 1 => value()].boxed(),
            "\"segmentation\"" => prop_oneof![
                proptest::collection::vec(numbers, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
                value().prop_map(|c| format!("{{\"size\": [4, 5], \"counts\": {c}}}")),
                value(),
            ]
            .boxed(),
            _ => prop_oneof![3 => (1i64..100).prop_map(|v| v.to_string()), 1 => value()].boxed(),
        }
    }

    fn object() -> impl Strategy<Value = String> {
        let member = key().prop_flat_map(|k| (Just(k.clone()), field_value(&k)));
        let space = proptest::sample::select(vec!["", " ", "\n\t", "\r\n  "]);
        (
            proptest::collection::vec((member, space.clone()), 0..10),
            space,
            proptest::bool::weighted(0.05),
            proptest::bool::weighted(0.8),
        )
            .prop_map(|(members, sp, trailing, image)| {
                let mut m: Vec<String> = members
                    .into_iter()
                    .map(|((k, v), s)| format!("{s}{k}{s}:{s}{v}{s}"))
                    .collect();
                if image {
                    m.insert(0, "\"image_id\": 7".into());
                }
                format!("{{{sp}{}{}}}", m.join(","), if trailing { "," } else { "" })
            })
    }

    fn columns(text: &[u8]) -> AnnotationColumns {
        AnnotationColumns {
            parsing: text.as_ptr() as usize,
            ..AnnotationColumns::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// What the fast path accepts, serde accepts with the same columns; what it
        /// declines it leaves untouched.
        #[test]
        fn fast_path_equals_serde(text in object(), ids: bool) {
            let mut fast = columns(text.as_bytes());
            let accepted = entry(&mut fast, text.as_bytes(), 0, ids);
            let mut slow = columns(text.as_bytes());
            let parsed = serde_entry(&mut slow, text.as_bytes(), 0, ids);
            if accepted {
                prop_assert!(parsed, "serde rejects {}", text);
                prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{}", text);
            } else {
                prop_assert_eq!(format!("{fast:?}"), format!("{:?}", columns(text.as_bytes())));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Byte mutations of typical objects (fuzzing the fast path against serde):
        /// whatever it accepts, serde accepts with the same columns.
        #[test]
        fn mutated_objects_agree_with_serde(
            which in 0usize..TYPICAL.len(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
        ) {
            let mut bytes = TYPICAL[which].as_bytes().to_vec();
            for (at, b, kind) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 => bytes.insert(at, b),
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ if at < bytes.len() => bytes[at] = b,
                    _ => {}
                }
            }
            let mut fast = columns(&bytes);
            let accepted = entry(&mut fast, &bytes, 0, false);
            let mut slow = columns(&bytes);
            let parsed = serde_entry(&mut slow, &bytes, 0, false);
            if accepted {
                prop_assert!(parsed);
                prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
            }
        }
    }

    const TYPICAL: [&str; 3] = [
        r#"{"image_id": 1, "category_id": 2, "bbox": [1.5, 2, 3.25, 4], "score": 0.9}"#,
        r#"{"id": 3, "image_id": 1, "category_id": 1, "area": 23799.73, "iscrowd": 0,
            "keypoints": [217.1, 261.0, 2, 0, 0, 0], "num_keypoints": 1,
            "bbox": [213.86, 78.06, 117.37, 337.97],
            "segmentation": [[213.86175656486557, 78.05717907578627, 331.2, 78.0]]}"#,
        r#"{"image_id": 1, "category_id": 2, "score": 0.5,
            "segmentation": {"size": [4, 5], "counts": "0:1O1N\\4"}}"#,
    ];

    /// A lone number where a list is expected: serde reads it (and rejects `1e400`, out
    /// of range), so the fast path declines what it cannot read the same way (found by
    /// the proptest above in CI).
    #[test]
    fn lone_numbers_in_list_fields_agree_with_serde() {
        for field in ["keypoints", "bbox", "segmentation", "area", "score", "foo"] {
            for value in ["1e400", "-1e400", "1e5", "7", "-0", "1.5"] {
                let text = format!(r#"{{"image_id": 7, "{field}": {value}}}"#);
                let mut fast = columns(text.as_bytes());
                let accepted = entry(&mut fast, text.as_bytes(), 0, false);
                let mut slow = columns(text.as_bytes());
                let parsed = serde_entry(&mut slow, text.as_bytes(), 0, false);
                if accepted {
                    assert!(parsed, "serde rejects {text}");
                    assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text}");
                }
            }
        }
    }

    #[test]
    fn typical_objects_take_the_fast_path() {
        for text in TYPICAL {
            let mut c = columns(text.as_bytes());
            assert!(entry(&mut c, text.as_bytes(), 0, false), "{text}");
        }
    }
}

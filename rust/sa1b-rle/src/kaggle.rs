//! The Kaggle run-length dialect: `"start length start length ..."`, the positions where
//! runs of foreground start and their lengths, counted row by row ([`Order::RowMajor`],
//! Kaggle's usual) or column by column ([`Order::ColumnMajor`], COCO's), from 1 or 0.
//!
//! Converting between a row-major string and COCO's column-major runs transposes the
//! runs with a sweep over one line of the mask at a time (a bit set of the lines that
//! are foreground at the current position), never a dense mask.

use crate::alloc;
use crate::encode::Order;
use crate::error::{Error, Result};
use crate::rle::pixel_count;

/// Positions and lengths beyond this are refused (as Python's reference did).
const MAX_VALUE: u64 = 1 << 62;

fn invalid(message: String) -> Error {
    Error::Kaggle { message }
}

/// The validated 0-based foreground runs `(start, length)` of a Kaggle string over
/// `pixels` positions: ASCII digits only, pairs, runs not empty, inside the mask, sorted
/// and not overlapping (touching is allowed).
///
/// # Errors
/// [`Error::Kaggle`] naming the token or run at fault.
///
/// # Examples
/// ```
/// use sa1b_rle::kaggle::parse;
/// assert_eq!(parse("2 2 6 1", 6, true).unwrap(), [(1, 2), (5, 1)]);
/// assert!(parse("5 4 7 2", 24, true).unwrap_err().to_string().contains("run 1"));
/// ```
pub fn parse(text: &str, pixels: u64, one_indexed: bool) -> Result<Vec<(u64, u64)>> {
    let mut values: Vec<u64> = Vec::new();
    for (k, t) in text.split_whitespace().enumerate() {
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!(
                "token {k} ('{t}') is not a non-negative integer"
            )));
        }
        match t.parse::<u64>() {
            Ok(v) if v <= MAX_VALUE => {
                alloc::reserve(&mut values, 1, "Kaggle runs")?;
                values.push(v);
            }
            _ => return Err(invalid("a position or length is out of range".into())),
        }
    }
    if values.len() % 2 == 1 {
        return Err(invalid(format!(
            "{} numbers: expected 'start length' pairs (an even count)",
            values.len()
        )));
    }
    let (pairs, _) = values.as_chunks::<2>();
    let offset = u64::from(one_indexed);
    if let Some(k) = pairs.iter().position(|&[s, _]| s < offset) {
        return Err(invalid(format!(
            "run {k} starts at {}, before the first pixel",
            pairs[k][0]
        )));
    }
    if let Some(k) = pairs.iter().position(|&[_, n]| n == 0) {
        return Err(invalid(format!(
            "run {k} has length 0: runs must not be empty"
        )));
    }
    let runs: Vec<(u64, u64)> = pairs.iter().map(|&[s, n]| (s - offset, n)).collect();
    if let Some(k) = runs.iter().position(|&(s, n)| s + n > pixels) {
        let [s, n] = pairs[k];
        return Err(invalid(format!(
            "run {k} ({s} {n}) ends past the last of {pixels} pixels"
        )));
    }
    if let Some(k) = runs.windows(2).position(|w| w[1].0 < w[0].0 + w[0].1) {
        return Err(invalid(format!(
            "run {} starts before the end of run {k} (unsorted or overlapping)",
            k + 1
        )));
    }
    Ok(runs)
}

/// Alternating background / foreground run lengths (from a background run) of validated
/// foreground runs over `pixels` positions.
fn runs_of(pairs: &[(u64, u64)], pixels: u64) -> Result<Vec<u32>> {
    let mut runs = alloc::with_capacity(2 * pairs.len() + 1, "run lengths")?;
    let mut pos = 0u64;
    for &(s, n) in pairs {
        // Touching runs join (their gap is 0).
        if s == pos && !runs.is_empty() {
            let last = runs.len() - 1;
            runs[last] += n as u32;
        } else {
            runs.extend_from_slice(&[(s - pos) as u32, n as u32]);
        }
        pos = s + n;
    }
    if pos < pixels || runs.is_empty() {
        runs.push((pixels - pos) as u32);
    }
    Ok(runs)
}

/// Runs of a mask stored as `lines` lines of `line_len` pixels, re-counted in the other
/// order (line offset major): a row-major mask's runs become column-major ones and back.
fn transpose(runs: &[u32], lines: usize, line_len: usize) -> Result<Vec<u32>> {
    // The offsets where each line turns foreground or background, bucketed by offset.
    let mut count = alloc::zeroed::<usize>(line_len + 2, "a transposition")?;
    let mut pieces = Vec::new();
    let mut pos = 0usize;
    for (k, &r) in runs.iter().enumerate() {
        let end = pos + r as usize;
        if k % 2 == 1 {
            let mut p = pos;
            while p < end {
                let (line, from) = (p / line_len, p % line_len);
                let to = (from + (end - p)).min(line_len);
                alloc::reserve(&mut pieces, 1, "a transposition")?;
                pieces.push((line, from, to));
                count[from + 1] += 1;
                count[to + 1] += 1;
                p += to - from;
            }
        }
        pos = end;
    }
    for i in 1..count.len() {
        count[i] += count[i - 1];
    }
    let mut toggles = alloc::zeroed::<usize>(2 * pieces.len(), "a transposition")?;
    for &(line, from, to) in &pieces {
        for at in [from, to] {
            toggles[count[at]] = line;
            count[at] += 1;
        }
    }
    // Sweep the offsets; after the toggles of offset `o`, `on` holds the lines that are
    // foreground there, which is output line `o`.
    let words = lines.div_ceil(64);
    let mut on = alloc::zeroed::<u64>(words, "a transposition")?;
    let mut out = alloc::with_capacity(runs.len() + 1, "run lengths")?;
    let (mut value, mut length) = (false, 0u32);
    let mut next = 0;
    for &bucket_end in &count[..line_len] {
        // Bucket `o` now ends where bucket `o + 1` started (`count` was advanced).
        while next < bucket_end {
            let line = toggles[next];
            on[line / 64] ^= 1 << (line % 64);
            next += 1;
        }
        for (wi, &word) in on.iter().enumerate() {
            let bits = (lines - 64 * wi).min(64) as u32;
            let mut at = 0u32;
            while at < bits {
                let differs = if value { !word } else { word } >> at;
                let stop = if differs == 0 {
                    bits
                } else {
                    (at + differs.trailing_zeros()).min(bits)
                };
                length += stop - at;
                at = stop;
                if at < bits {
                    alloc::reserve(&mut out, 1, "run lengths")?;
                    out.push(length);
                    (value, length) = (!value, 0);
                }
            }
        }
    }
    out.push(length);
    Ok(out)
}

/// COCO's (column-major) runs of a Kaggle string of a `height` x `width` mask whose
/// positions count in `order`.
///
/// # Errors
/// [`Error::SizeTooLarge`], [`Error::Kaggle`], [`Error::OutOfMemory`].
///
/// # Examples
/// ```
/// use sa1b_rle::{kaggle, Order};
/// // Row-major "2 2 6 1" of a 2x3 mask: [[0, 1, 1], [0, 0, 1]].
/// assert_eq!(kaggle::to_runs("2 2 6 1", 2, 3, Order::RowMajor, true).unwrap(), [2, 1, 1, 2]);
/// assert_eq!(kaggle::to_runs("3 1 5 2", 2, 3, Order::ColumnMajor, true).unwrap(), [2, 1, 1, 2]);
/// ```
pub fn to_runs(
    text: &str,
    height: u64,
    width: u64,
    order: Order,
    one_indexed: bool,
) -> Result<Vec<u32>> {
    let pixels = pixel_count(height, width)?;
    let runs = runs_of(&parse(text, pixels, one_indexed)?, pixels)?;
    match order {
        Order::ColumnMajor => Ok(runs),
        Order::RowMajor if pixels == 0 => Ok(runs),
        Order::RowMajor => transpose(&runs, height as usize, width as usize),
    }
}

/// The Kaggle string of a mask given by COCO's (column-major, validated) runs, positions
/// counted in `order`.
///
/// # Errors
/// [`Error::OutOfMemory`].
///
/// # Examples
/// ```
/// use sa1b_rle::{kaggle, Order};
/// assert_eq!(kaggle::from_runs(&[2, 1, 1, 2], 2, 3, Order::RowMajor, true).unwrap(), "2 2 6 1");
/// assert_eq!(kaggle::from_runs(&[2, 1, 1, 2], 2, 3, Order::ColumnMajor, false).unwrap(), "2 1 4 2");
/// ```
pub fn from_runs(
    runs: &[u32],
    height: u64,
    width: u64,
    order: Order,
    one_indexed: bool,
) -> Result<String> {
    let transposed;
    let runs = match order {
        Order::RowMajor if height * width > 0 => {
            transposed = transpose(runs, width as usize, height as usize)?;
            &transposed
        }
        _ => runs,
    };
    let mut text: Vec<u8> = Vec::new();
    let mut pos = u64::from(one_indexed);
    for (k, &r) in runs.iter().enumerate() {
        if k % 2 == 1 && r > 0 {
            alloc::reserve(&mut text, 32, "a Kaggle string")?;
            if !text.is_empty() {
                text.push(b' ');
            }
            text.extend_from_slice(format!("{pos} {r}").as_bytes());
        }
        pos += u64::from(r);
    }
    // Digits and spaces only.
    Ok(String::from_utf8(text).unwrap_or_default())
}

/// The row-major `height * width` bytes (1 = foreground) of a Kaggle string whose
/// positions count in `order`.
///
/// # Errors
/// As [`to_runs`].
///
/// # Examples
/// ```
/// use sa1b_rle::{kaggle, Order};
/// assert_eq!(kaggle::decode("2 2 6 1", 2, 3, Order::RowMajor, true).unwrap(), [0, 1, 1, 0, 0, 1]);
/// ```
pub fn decode(
    text: &str,
    height: u64,
    width: u64,
    order: Order,
    one_indexed: bool,
) -> Result<Vec<u8>> {
    let pixels = pixel_count(height, width)?;
    let pairs = parse(text, pixels, one_indexed)?;
    let mut out = alloc::zeroed::<u8>(pixels as usize, "a decoded mask")?;
    match order {
        Order::RowMajor => {
            for (s, n) in pairs {
                out[s as usize..(s + n) as usize].fill(1);
            }
        }
        Order::ColumnMajor => {
            let runs = runs_of(&pairs, pixels)?;
            crate::decode::decode_row_major_into(
                height as usize,
                width as usize,
                &runs,
                &mut out,
                true,
            )?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposition_matches_a_dense_transpose() {
        let mut rnd = crate::test_support::rng(5);
        for _ in 0..500 {
            let (h, w) = (1 + rnd(9) as usize, 1 + rnd(9) as usize);
            let dense: Vec<bool> = (0..h * w).map(|_| rnd(3) == 0).collect();
            let runs_of_dense = |px: &mut dyn Iterator<Item = bool>| {
                let (mut runs, mut v, mut n) = (vec![], false, 0u32);
                for p in px {
                    if p != v {
                        runs.push(n);
                        (v, n) = (p, 0);
                    }
                    n += 1;
                }
                runs.push(n);
                runs
            };
            // `dense` row-major (h lines of w); its column-major runs.
            let row = runs_of_dense(&mut dense.iter().copied());
            let col = runs_of_dense(
                &mut (0..w)
                    .flat_map(|x| (0..h).map(move |y| (x, y)))
                    .map(|(x, y)| dense[y * w + x]),
            );
            assert_eq!(transpose(&row, h, w).unwrap(), col);
            assert_eq!(transpose(&col, w, h).unwrap(), row);
        }
    }
}

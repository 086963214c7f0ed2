//! Instance label images (each object has its own value) to one RLE per value, in one
//! pass over the pixels.

use std::collections::HashMap;

use crate::batch::RleBatch;
use crate::error::{Error, Result};
use crate::rle::pixel_count;

/// The RLE runs of one value being built: alternating background and foreground,
/// background first; `end` is the pixel after its last foreground run.
#[derive(Default)]
struct Runs {
    runs: Vec<u32>,
    end: u64,
}

impl Runs {
    #[inline]
    fn add(&mut self, start: u64, len: u64) {
        if self.end == start && !self.runs.is_empty() {
            if let Some(last) = self.runs.last_mut() {
                *last += len as u32;
            }
        } else {
            self.runs.push((start - self.end) as u32);
            self.runs.push(len as u32);
        }
        self.end = start + len;
    }
}

/// One mask per value of a label image other than `background`: the values in ascending
/// order and a batch with the mask of each, in the same order. Each mask equals
/// pycocotools' `encode(label == v)`.
///
/// `value(i)` gives pixel `i` of the `height x width` image in the order given by
/// `row_major` (`i = y * width + x` if true, else `i = x * height + y`). The image is
/// read once, column by column (the RLE order); no mask is ever held dense.
///
/// # Errors
/// [`Error::SizeTooLarge`] for an image of 2**32 pixels or more.
///
/// # Examples
/// ```
/// use sa1b_rle::labels::masks_of_labels;
/// // 2x3, row-major: values 0 (background), 4 and 9.
/// let label = [4, 4, 0, 9, 0, 0];
/// let (values, masks) = masks_of_labels(2, 3, true, 0, |i| label[i]).unwrap();
/// assert_eq!(values, vec![4, 9]);
/// assert_eq!(masks.runs(0), &[0, 1, 1, 1, 3]); // column-major: (0,0), (0,1)
/// assert_eq!(masks.runs(1), &[1, 1, 4]);
/// ```
pub fn masks_of_labels(
    height: u64,
    width: u64,
    row_major: bool,
    background: i64,
    value: impl Fn(usize) -> i64,
) -> Result<(Vec<i64>, RleBatch)> {
    let total = pixel_count(height, width)?;
    let (h, w) = (height as usize, width as usize);
    let mut table: HashMap<i64, Runs> = HashMap::new();
    // Segments of equal values along the column-major scan, carried across columns.
    let (mut cur, mut start) = (background, 0u64);
    let mut pos = 0u64;
    // The last value looked up, and its runs (instances mostly continue where they were).
    for x in 0..w {
        for y in 0..h {
            let i = if row_major { y * w + x } else { x * h + y };
            let v = value(i);
            if v != cur {
                if cur != background {
                    table.entry(cur).or_default().add(start, pos - start);
                }
                cur = v;
                start = pos;
            }
            pos += 1;
        }
    }
    if cur != background && pos > start {
        table.entry(cur).or_default().add(start, pos - start);
    }
    let mut values: Vec<i64> = table.keys().copied().collect();
    values.sort_unstable();
    let mut batch = RleBatch::new(height, width)?;
    for v in &values {
        if let Some(r) = table.get_mut(v) {
            if r.end < total {
                r.runs.push((total - r.end) as u32);
            }
            batch.push_runs(&r.runs)?;
        }
    }
    Ok((values, batch))
}

/// A label image decoded from a PNG: one value per pixel, row-major.
pub struct LabelImage {
    /// Rows.
    pub height: u64,
    /// Columns.
    pub width: u64,
    /// Pixel values: grey levels (8 or 16 bit), palette indices, or RGB colours as
    /// `r << 16 | g << 8 | b` (the alpha of RGBA is ignored).
    pub values: Vec<i64>,
}

/// Decodes a PNG label image without any colour conversion: 1-16-bit grey, palette
/// indices (not their colours), 8-bit RGB or RGBA as colour codes.
///
/// # Errors
/// [`Error::Image`] for data that is not a PNG, truncated or corrupt, larger than the
/// decoding limit, or of a kind with no label meaning here (grey with alpha, 16-bit
/// colour).
pub fn read_png_labels(data: &[u8]) -> Result<LabelImage> {
    use png::{BitDepth, ColorType, Transformations};
    let err = |m: String| Error::Image { message: m };
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(data),
        png::Limits {
            bytes: crate::overlay::MAX_DECODED_BYTES as usize,
        },
    );
    decoder.set_transformations(Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| err(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| err("the PNG is too large".into()))?;
    let mut buf = vec![0u8; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let line = frame.line_size;
    let (color, depth) = (frame.color_type, frame.bit_depth);
    let mut values = Vec::with_capacity(w * h);
    for row in buf.chunks(line).take(h) {
        match (color, depth) {
            (ColorType::Grayscale | ColorType::Indexed, BitDepth::Sixteen) => values.extend(
                row[..2 * w]
                    .chunks_exact(2)
                    .map(|p| i64::from(u16::from_be_bytes([p[0], p[1]]))),
            ),
            (ColorType::Grayscale | ColorType::Indexed, BitDepth::Eight) => {
                values.extend(row[..w].iter().map(|&b| i64::from(b)));
            }
            (ColorType::Grayscale | ColorType::Indexed, d) => {
                let bits = d as usize;
                let mask = (1u8 << bits) - 1;
                values.extend((0..w).map(|x| {
                    let (byte, shift) = (x * bits / 8, 8 - bits - (x * bits) % 8);
                    i64::from((row[byte] >> shift) & mask)
                }));
            }
            (ColorType::Rgb | ColorType::Rgba, BitDepth::Eight) => {
                let step = if color == ColorType::Rgb { 3 } else { 4 };
                values.extend(
                    row[..step * w]
                        .chunks_exact(step)
                        .map(|p| i64::from(p[0]) << 16 | i64::from(p[1]) << 8 | i64::from(p[2])),
                );
            }
            (c, d) => {
                return Err(err(format!(
                "{c:?} PNGs of {} bits are not label images (use grey, palette, or 8-bit RGB/RGBA)",
                d as u8
            )))
            }
        }
    }
    Ok(LabelImage {
        height: h as u64,
        width: w as u64,
        values,
    })
}

/// Clears the 8-connected foreground components of fewer than `min_area` pixels of a
/// row-major `height x width` mask (nonzero = foreground; cleared pixels become 0).
///
/// # Errors
/// [`Error::BufferSize`] when `mask` does not hold `height * width` bytes.
///
/// # Examples
/// ```
/// use sa1b_rle::labels::remove_small_components;
/// let mut m = [1, 0, 0, 1,
///              0, 0, 0, 1,
///              1, 0, 0, 1];
/// remove_small_components(&mut m, 3, 4, 2).unwrap();
/// assert_eq!(m, [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
/// ```
pub fn remove_small_components(
    mask: &mut [u8],
    height: usize,
    width: usize,
    min_area: usize,
) -> Result<()> {
    let (h, w) = (height, width);
    if mask.len() != h * w {
        return Err(Error::BufferSize {
            expected: h * w,
            actual: mask.len(),
        });
    }
    if min_area <= 1 {
        return Ok(());
    }
    // Component labels: 0 unvisited, then 1 (kept) or 2 (to clear) once a component is
    // measured; the stack holds the current component's pixels.
    let mut seen = vec![false; h * w];
    let mut stack: Vec<usize> = Vec::new();
    let mut component: Vec<usize> = Vec::new();
    for start in 0..h * w {
        if mask[start] == 0 || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        component.clear();
        while let Some(p) = stack.pop() {
            component.push(p);
            let (y, x) = (p / w, p % w);
            for dy in [-1i64, 0, 1] {
                for dx in [-1i64, 0, 1] {
                    let (ny, nx) = (y as i64 + dy, x as i64 + dx);
                    if (dy, dx) == (0, 0) || ny < 0 || nx < 0 || ny >= h as i64 || nx >= w as i64 {
                        continue;
                    }
                    let q = ny as usize * w + nx as usize;
                    if mask[q] != 0 && !seen[q] {
                        seen[q] = true;
                        stack.push(q);
                    }
                }
            }
        }
        if component.len() < min_area {
            for &p in &component {
                mask[p] = 0;
            }
        }
    }
    Ok(())
}

/// The grey level of each pixel of a row-major RGB image, as Pillow's `convert("L")`
/// (ITU-R 601-2 luma, rounded: `(r*19595 + g*38470 + b*7471 + 0x8000) >> 16`).
#[must_use]
pub fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            ((u32::from(p[0]) * 19595 + u32::from(p[1]) * 38470 + u32::from(p[2]) * 7471 + 0x8000)
                >> 16) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pycocotools' encode of `label == v` (column-major scan), the oracle.
    fn naive(h: usize, w: usize, label: &[i64], v: i64) -> Vec<u32> {
        let mut runs = vec![];
        let (mut cur, mut n) = (false, 0u32);
        for x in 0..w {
            for y in 0..h {
                let on = label[y * w + x] == v;
                if on != cur {
                    runs.push(n);
                    (cur, n) = (on, 0);
                }
                n += 1;
            }
        }
        runs.push(n);
        runs
    }

    #[test]
    fn every_value_equals_its_mask() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..300 {
            let (h, w) = (1 + rnd(20) as usize, 1 + rnd(20) as usize);
            let k = 1 + rnd([2, 5, 300][round % 3]) as i64;
            let label: Vec<i64> = (0..h * w).map(|_| rnd(k as u64) as i64 - 1).collect();
            for background in [0, -1, 7] {
                let (values, masks) =
                    masks_of_labels(h as u64, w as u64, true, background, |i| label[i]).unwrap();
                let mut want: Vec<i64> =
                    label.iter().copied().filter(|&v| v != background).collect();
                want.sort_unstable();
                want.dedup();
                assert_eq!(values, want);
                for (j, &v) in values.iter().enumerate() {
                    assert_eq!(masks.runs(j), naive(h, w, &label, v), "{h}x{w} value {v}");
                }
                // The same image given column-major.
                let col: Vec<i64> = (0..h * w).map(|i| label[(i % h) * w + i / h]).collect();
                let (v2, m2) =
                    masks_of_labels(h as u64, w as u64, false, background, |i| col[i]).unwrap();
                assert_eq!((v2, m2), (values, masks));
            }
        }
    }
}

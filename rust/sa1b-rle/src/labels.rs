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

#[cfg(feature = "images")]
/// A label image decoded from a PNG without colour conversion: its raw rows, read one
/// value per pixel by [`LabelImage::value`] (no per-pixel copy of the image).
pub struct LabelImage {
    /// Rows.
    pub height: u64,
    /// Columns.
    pub width: u64,
    kind: LabelKind,
    /// Bytes per row of `data`.
    line: usize,
    data: Vec<u8>,
}

/// How a label PNG's pixels are stored.
#[cfg(feature = "images")]
#[derive(Clone, Copy)]
enum LabelKind {
    /// 8-bit grey or palette index, one byte a pixel.
    Byte,
    /// 16-bit grey or palette index, big-endian.
    Wide,
    /// Grey or palette index of 1, 2 or 4 bits, packed from the high bit.
    Packed(usize),
    /// 8-bit RGB (3) or RGBA (4): the colour code `r << 16 | g << 8 | b`.
    Colour(usize),
}

#[cfg(feature = "images")]
impl LabelImage {
    /// The value of pixel `i` (`i = y * width + x`).
    #[inline]
    #[must_use]
    pub fn value(&self, i: usize) -> i64 {
        let d = &self.data;
        match self.kind {
            LabelKind::Byte => i64::from(d[i]),
            LabelKind::Wide => i64::from(u16::from_be_bytes([d[2 * i], d[2 * i + 1]])),
            LabelKind::Colour(step) => {
                let p = step * i;
                i64::from(d[p]) << 16 | i64::from(d[p + 1]) << 8 | i64::from(d[p + 2])
            }
            LabelKind::Packed(bits) => {
                let w = self.width as usize;
                let (y, x) = (i / w, i % w);
                let (byte, shift) = (x * bits / 8, 8 - bits - (x * bits) % 8);
                i64::from((d[y * self.line + byte] >> shift) & ((1u8 << bits) - 1))
            }
        }
    }

    /// One mask per value other than `background` (see [`masks_of_labels`]).
    ///
    /// # Errors
    /// Those of [`masks_of_labels`].
    pub fn masks(&self, background: i64) -> Result<(Vec<i64>, RleBatch)> {
        masks_of_labels(self.height, self.width, true, background, |i| self.value(i))
    }
}

/// Decodes a PNG label image without any colour conversion: 1-16-bit grey, palette
/// indices (not their colours), 8-bit RGB or RGBA as colour codes.
///
/// # Errors
/// [`Error::LimitExceeded`] when the PNG declares more than `max_pixels` pixels (checked
/// before decoding); [`Error::OutOfMemory`]; [`Error::Image`] for data that is not a PNG,
/// truncated or corrupt (chunk CRCs and the zlib checksum are verified), or of a kind
/// with no label meaning here (grey with alpha, 16-bit colour).
#[cfg(feature = "images")]
pub fn read_png_labels(data: &[u8], max_pixels: u64) -> Result<LabelImage> {
    use png::{BitDepth, ColorType, Transformations};
    let png = crate::images::decode_png(data, max_pixels, Transformations::IDENTITY)?;
    let kind = match (png.color, png.depth) {
        (ColorType::Grayscale | ColorType::Indexed, BitDepth::Sixteen) => LabelKind::Wide,
        (ColorType::Grayscale | ColorType::Indexed, BitDepth::Eight) => LabelKind::Byte,
        (ColorType::Grayscale | ColorType::Indexed, d) => LabelKind::Packed(d as usize),
        (ColorType::Rgb, BitDepth::Eight) => LabelKind::Colour(3),
        (ColorType::Rgba, BitDepth::Eight) => LabelKind::Colour(4),
        (c, d) => {
            return Err(Error::Image {
                message: format!(
                "{c:?} PNGs of {} bits are not label images (use grey, palette, or 8-bit RGB/RGBA)",
                d as u8
            ),
            })
        }
    };
    Ok(LabelImage {
        height: png.height,
        width: png.width,
        kind,
        line: png.line,
        data: png.data,
    })
}

/// The one-mask batch of a binary mask image (PNG or JPEG bytes): grey level (Pillow's
/// luma for colour) `> threshold` (`<= threshold` with `invert`), 8-connected components
/// of fewer than `min_component_area` pixels dropped. The decoded pixels are turned into
/// the mask in place: one image-sized buffer in all.
///
/// # Errors
/// Those of [`crate::images::decode`] (the pixel limit `max_pixels` first).
#[cfg(feature = "images")]
pub fn mask_of_image(
    data: &[u8],
    threshold: i64,
    invert: bool,
    min_component_area: usize,
    max_pixels: u64,
) -> Result<RleBatch> {
    let img = crate::images::decode(data, max_pixels)?;
    let (h, w) = (img.height, img.width);
    let mut mask = img.into_luma();
    for v in &mut mask {
        *v = u8::from((i64::from(*v) > threshold) != invert);
    }
    mask_of_binary(mask, h, w, min_component_area)
}

/// The one-mask batch of a row-major binary mask (nonzero = foreground) after clearing
/// its 8-connected components of fewer than `min_component_area` pixels.
///
/// # Errors
/// [`Error::BufferSize`] when `mask` is not `height * width` bytes; [`Error::OutOfMemory`].
pub fn mask_of_binary(
    mut mask: Vec<u8>,
    height: u64,
    width: u64,
    min_component_area: usize,
) -> Result<RleBatch> {
    remove_small_components(
        &mut mask,
        height as usize,
        width as usize,
        min_component_area,
    )?;
    let rle = crate::encode(&mask, height, width, crate::Order::RowMajor)?;
    RleBatch::from_rles(height, width, &[rle])
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
    if Some(mask.len()) != h.checked_mul(w) {
        return Err(Error::BufferSize {
            expected: h.saturating_mul(w),
            actual: mask.len(),
        });
    }
    if min_area <= 1 {
        return Ok(());
    }
    // Pixel indices are kept as u32 (as COCO's counts are).
    pixel_count(h as u64, w as u64)?;
    // States in the mask itself (no second image-sized buffer): 0 background, 1
    // foreground not yet visited, 2 visited. A component's pixels are remembered only
    // until it is known to be large enough; a small one is cleared from that list.
    for v in mask.iter_mut() {
        *v = u8::from(*v != 0);
    }
    let mut stack: Vec<u32> = Vec::new();
    let mut small: Vec<u32> = Vec::new();
    for start in 0..h * w {
        if mask[start] != 1 {
            continue;
        }
        mask[start] = 2;
        push(&mut stack, start as u32)?;
        small.clear();
        let mut size = 0usize;
        while let Some(p) = stack.pop() {
            let p = p as usize;
            size += 1;
            if size <= min_area {
                push(&mut small, p as u32)?;
            }
            let (y, x) = (p / w, p % w);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let q = ny * w + nx;
                    if mask[q] == 1 {
                        mask[q] = 2;
                        push(&mut stack, q as u32)?;
                    }
                }
            }
        }
        if size < min_area {
            for &p in &small {
                mask[p as usize] = 0;
            }
        }
    }
    for v in mask.iter_mut() {
        *v = u8::from(*v != 0);
    }
    Ok(())
}

/// Pushes with a fallible reservation (the stack of a flood fill grows with the image).
fn push(v: &mut Vec<u32>, x: u32) -> Result<()> {
    if v.len() == v.capacity() {
        crate::alloc::reserve(v, v.len().max(1024), "a component search")?;
    }
    v.push(x);
    Ok(())
}

/// The grey level of each pixel of a row-major RGB image, as Pillow's `convert("L")`
/// (ITU-R 601-2 luma, rounded: `(r*19595 + g*38470 + b*7471 + 0x8000) >> 16`).
#[must_use]
pub fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| crate::pixels::luma_of(p[0], p[1], p[2]))
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
        let mut rnd = crate::test_support::rng(0x2545_f491_4f6c_dd1du64);
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

//! Masks drawn over an image (and, with the `images` feature, decoding its photograph).

use crate::batch::RleBatch;
use crate::error::{Error, Result};
use crate::rle::for_each_column_piece;

#[cfg(feature = "images")]
pub use crate::images::write_png;

/// Decodes a JPEG or PNG (recognised by its bytes) to RGB: `(pixels, height, width)`,
/// row-major, 3 bytes a pixel.
///
/// # Errors
/// Those of [`crate::images::decode`] (pixel limit `max_pixels`, corrupt or truncated data),
/// and [`Error::OutOfMemory`] for the RGB buffer.
#[cfg(feature = "images")]
pub fn read_rgb(data: &[u8], max_pixels: u64) -> Result<(Vec<u8>, u64, u64)> {
    let d = crate::images::decode(data, max_pixels)?;
    let (h, w) = (d.height, d.width);
    Ok((d.into_rgb8()?, h, w))
}

/// A distinct, saturated colour for mask `i` (golden-angle hues).
#[must_use]
pub fn mask_color(i: usize) -> [u8; 3] {
    let hue = (i as f64 * 137.507_764) % 360.0;
    let (s, v) = (0.85, 0.95);
    let c = v * s;
    let x = c * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r, g, b].map(|t| ((t + m) * 255.0).round() as u8)
}

/// Draws every mask over row-major RGB pixels of the masks' size: each mask in its own
/// [`mask_color`], blended with weight `alpha` over its foreground, and its outline (the
/// foreground pixels with a background 4-neighbour) in the solid colour. Later masks
/// are drawn over earlier ones.
///
/// # Errors
/// [`Error::BufferSize`] when `rgb` is not `3 * height * width` bytes.
pub fn draw_masks(rgb: &mut [u8], masks: &RleBatch, alpha: f32) -> Result<()> {
    let (h, w) = (masks.height() as usize, masks.width() as usize);
    if rgb.len() != 3 * h * w {
        return Err(Error::BufferSize {
            expected: 3 * h * w,
            actual: rgb.len(),
        });
    }
    let alpha = alpha.clamp(0.0, 1.0);
    // One mask at a time in a column-major bitmap (the runs' order), reset after use.
    let mut on = vec![false; h * w];
    for i in 0..masks.len() {
        let color = mask_color(i).map(f32::from);
        let runs = masks.runs(i);
        let mut pieces = Vec::new();
        for_each_column_piece(h as u64, runs, |x, y0, y1| {
            let (x, y0, y1) = (x as usize, y0 as usize, y1 as usize);
            on[x * h + y0..x * h + y1].fill(true);
            pieces.push((x, y0, y1));
        });
        let fg = |x: usize, y: usize| on[x * h + y];
        for &(x, y0, y1) in &pieces {
            for y in y0..y1 {
                let edge = y == 0
                    || y + 1 == h
                    || x == 0
                    || x + 1 == w
                    || !fg(x, y - 1)
                    || !fg(x, y + 1)
                    || !fg(x - 1, y)
                    || !fg(x + 1, y);
                let px = &mut rgb[3 * (y * w + x)..3 * (y * w + x) + 3];
                for k in 0..3 {
                    px[k] = if edge {
                        color[k] as u8
                    } else {
                        (f32::from(px[k]) * (1.0 - alpha) + color[k] * alpha).round() as u8
                    };
                }
            }
        }
        for &(x, y0, y1) in &pieces {
            on[x * h + y0..x * h + y1].fill(false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_and_overlay() {
        // A 4x5 grey image with one 2x2 mask at rows 1-2, columns 1-2 (column-major runs).
        let (h, w) = (4u64, 5u64);
        let mut rgb = vec![100u8; (3 * h * w) as usize];
        let masks = RleBatch::from_runs(h, w, &[vec![5, 2, 2, 2, 9]]).unwrap();
        draw_masks(&mut rgb, &masks, 0.5).unwrap();
        let c = mask_color(0);
        // Every pixel of a 2x2 mask is on its outline: the solid colour.
        assert_eq!(&rgb[3 * (5 + 1)..3 * (5 + 1) + 3], &c);
        assert_eq!(&rgb[0..3], &[100, 100, 100]);
        #[cfg(feature = "images")]
        {
            let png = write_png(&rgb, h, w).unwrap();
            let (back, bh, bw) = read_rgb(&png, 100).unwrap();
            assert_eq!((back, bh, bw), (rgb, h, w));
            assert!(read_rgb(&png[..png.len() / 2], 100).is_err());
            assert!(read_rgb(b"not an image", 100).is_err());
        }
    }
}

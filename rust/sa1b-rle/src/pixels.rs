//! Pixel arithmetic shared by image decoding and mask images (no codec here).

/// Pillow's `convert("L")` luma of an RGB pixel (ITU-R 601-2, rounded:
/// `(r*19595 + g*38470 + b*7471 + 0x8000) >> 16`).
///
/// # Examples
/// ```
/// assert_eq!(sa1b_rle::pixels::luma_of(255, 255, 255), 255);
/// assert_eq!(sa1b_rle::pixels::luma_of(255, 0, 0), 76);
/// ```
#[inline]
#[must_use]
pub fn luma_of(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// A 16-bit sample scaled to 8 bits with rounding (`round(v * 255 / 65535)`, as the
/// `image` crate and Pillow's 16-bit conversions).
///
/// # Examples
/// ```
/// assert_eq!(sa1b_rle::pixels::u16_to_u8(65535), 255);
/// assert_eq!(sa1b_rle::pixels::u16_to_u8(128), 0);
/// assert_eq!(sa1b_rle::pixels::u16_to_u8(129), 1);
/// ```
#[inline]
#[must_use]
pub fn u16_to_u8(v: u16) -> u8 {
    ((u32::from(v) + 128) / 257) as u8
}

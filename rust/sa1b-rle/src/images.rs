//! Image decoding for masks, labels and overlays: the declared size is checked against a
//! pixel limit before the decoder allocates anything, the one pixel buffer is allocated
//! fallibly, and the data is verified (PNG chunk CRCs and zlib checksums; JPEG entropy
//! data must match its header, a truncated stream is an error, never grey filler).
//!
//! The pixel limit is in the spirit of Pillow's decompression-bomb guard: a 69-byte PNG
//! can declare 200000 x 200000 pixels, and a 332-byte JPEG 30000 x 30000.

use std::io::Cursor;

use crate::alloc;
use crate::error::{Error, Result};
use crate::pixels::{luma_of, u16_to_u8};

/// The default pixel limit: Pillow's (`2 * Image.MAX_IMAGE_PIXELS`, where Pillow stops
/// with `DecompressionBombError`). An SA-1B image has 3.4 million pixels.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;

/// The environment variable that sets the pixel limit of a decode without its own.
pub const MAX_PIXELS_VARIABLE: &str = "SA1B_RLE_MAX_IMAGE_PIXELS";

/// The pixel limit of a decode without its own: [`MAX_PIXELS_VARIABLE`] when set,
/// else [`DEFAULT_MAX_PIXELS`]; `Err` with the variable's text when it is not a positive
/// pixel count (the caller names the setting in its own terms).
///
/// # Errors
/// The variable's value, when it is not a positive integer.
pub fn max_pixels_setting() -> std::result::Result<u64, String> {
    match std::env::var_os(MAX_PIXELS_VARIABLE) {
        None => Ok(DEFAULT_MAX_PIXELS),
        Some(text) => {
            let text = text.to_string_lossy();
            match text.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(text.into_owned()),
            }
        }
    }
}

/// The pixel layout a decoder produced (8- or 16-bit big-endian samples).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Grey, 8 bits.
    L8,
    /// Grey and alpha, 8 bits.
    La8,
    /// RGB, 8 bits.
    Rgb8,
    /// RGBA, 8 bits.
    Rgba8,
    /// Grey, 16 bits.
    L16,
    /// Grey and alpha, 16 bits.
    La16,
    /// RGB, 16 bits.
    Rgb16,
    /// RGBA, 16 bits.
    Rgba16,
}

impl Layout {
    /// Samples per pixel.
    #[must_use]
    pub fn channels(self) -> usize {
        match self {
            Layout::L8 | Layout::L16 => 1,
            Layout::La8 | Layout::La16 => 2,
            Layout::Rgb8 | Layout::Rgb16 => 3,
            Layout::Rgba8 | Layout::Rgba16 => 4,
        }
    }

    /// Bytes per sample.
    #[must_use]
    pub fn sample_bytes(self) -> usize {
        match self {
            Layout::L8 | Layout::La8 | Layout::Rgb8 | Layout::Rgba8 => 1,
            _ => 2,
        }
    }
}

/// A decoded image: row-major pixels of `layout`, `height * width * bytes per pixel`.
#[derive(Debug)]
pub struct Decoded {
    /// Rows.
    pub height: u64,
    /// Columns.
    pub width: u64,
    /// The pixel layout of `data`.
    pub layout: Layout,
    /// The pixels.
    pub data: Vec<u8>,
}

fn image_error(e: impl std::fmt::Display) -> Error {
    Error::Image {
        message: e.to_string(),
    }
}

/// Checks a declared `height x width` against `max_pixels` (before any decoding).
///
/// # Errors
/// [`Error::LimitExceeded`] when the image has more pixels than the limit.
///
/// # Examples
/// ```
/// use sa1b_rle::images::check_pixels;
/// assert!(check_pixels(1500, 2250, 10_000_000).is_ok());
/// let e = check_pixels(200_000, 200_000, 10_000_000).unwrap_err();
/// assert!(e.to_string().contains("40000000000"));
/// ```
pub fn check_pixels(height: u64, width: u64, max_pixels: u64) -> Result<()> {
    let pixels = height.saturating_mul(width);
    if pixels > max_pixels {
        return Err(Error::LimitExceeded {
            what: "image pixels",
            value: pixels,
            limit: max_pixels,
        });
    }
    Ok(())
}

fn is_png(data: &[u8]) -> bool {
    data.starts_with(b"\x89PNG\r\n\x1a\n")
}

fn is_jpeg(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8])
}

/// `(height, width)` of a PNG or JPEG from its header, without decoding pixels.
///
/// # Errors
/// [`Error::Image`] for data that is neither, or whose header is corrupt.
pub fn dimensions(data: &[u8]) -> Result<(u64, u64)> {
    if is_png(data) {
        let mut d = png_decoder(data, u64::MAX);
        let info = d.read_header_info().map_err(png_error)?;
        return Ok((u64::from(info.height), u64::from(info.width)));
    }
    if is_jpeg(data) {
        let mut d = jpeg_decoder(data);
        d.decode_headers().map_err(jpeg_error)?;
        let info = d
            .info()
            .ok_or_else(|| image_error("JPEG: no frame header"))?;
        return Ok((u64::from(info.height), u64::from(info.width)));
    }
    Err(image_error("not a PNG or JPEG (unknown signature)"))
}

/// Decodes a PNG or JPEG (recognised by its bytes) in its own layout: palettes expanded
/// to RGB(A), grey of 1-4 bits to 8 bits, 16-bit samples kept.
///
/// # Errors
/// [`Error::LimitExceeded`] when the declared size has more than `max_pixels` pixels
/// (checked before decoding); [`Error::OutOfMemory`] when the pixel buffer cannot be
/// had; [`Error::Image`] for an unknown format or corrupt data (a PNG chunk CRC or zlib
/// checksum that does not match, truncated data, a JPEG whose entropy-coded data does
/// not match its header).
pub fn decode(data: &[u8], max_pixels: u64) -> Result<Decoded> {
    if is_png(data) {
        let png = decode_png(data, max_pixels, png::Transformations::EXPAND)?;
        let layout = match (png.color, png.depth) {
            (png::ColorType::Grayscale, png::BitDepth::Eight) => Layout::L8,
            (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => Layout::La8,
            (png::ColorType::Rgb, png::BitDepth::Eight) => Layout::Rgb8,
            (png::ColorType::Rgba, png::BitDepth::Eight) => Layout::Rgba8,
            (png::ColorType::Grayscale, png::BitDepth::Sixteen) => Layout::L16,
            (png::ColorType::GrayscaleAlpha, png::BitDepth::Sixteen) => Layout::La16,
            (png::ColorType::Rgb, png::BitDepth::Sixteen) => Layout::Rgb16,
            (png::ColorType::Rgba, png::BitDepth::Sixteen) => Layout::Rgba16,
            (c, d) => {
                return Err(image_error(format!(
                    "PNG: unsupported output {c:?} of {} bits",
                    d as u8
                )))
            }
        };
        return Ok(Decoded {
            height: png.height,
            width: png.width,
            layout,
            data: png.data,
        });
    }
    if is_jpeg(data) {
        return decode_jpeg(data, max_pixels);
    }
    Err(image_error("not a PNG or JPEG (unknown signature)"))
}

/// A PNG decoded with the given transformations: raw rows (`line` bytes each).
pub(crate) struct RawPng {
    pub height: u64,
    pub width: u64,
    pub color: png::ColorType,
    pub depth: png::BitDepth,
    pub line: usize,
    pub data: Vec<u8>,
}

#[allow(clippy::needless_pass_by_value)] // used as map_err(png_error)
fn png_error(e: png::DecodingError) -> Error {
    image_error(format!("PNG: {e}"))
}

fn png_decoder(data: &[u8], max_pixels: u64) -> png::Decoder<Cursor<&[u8]>> {
    // The decoder's own limit bounds its metadata allocations (text, ICC chunks); the
    // pixel buffer is ours, checked against `max_pixels` first.
    let bytes = usize::try_from(max_pixels.saturating_mul(8).saturating_add(64 << 20))
        .unwrap_or(usize::MAX);
    let mut d = png::Decoder::new_with_limits(Cursor::new(data), png::Limits { bytes });
    // Verify every chunk's CRC and the zlib stream's Adler-32 (png skips the latter by
    // default): corrupt data is an error, not a mask.
    d.ignore_checksums(false);
    d
}

/// Decodes a PNG's pixels after checking its declared size against `max_pixels`.
pub(crate) fn decode_png(
    data: &[u8],
    max_pixels: u64,
    transformations: png::Transformations,
) -> Result<RawPng> {
    let mut d = png_decoder(data, max_pixels);
    let info = d.read_header_info().map_err(png_error)?;
    let (height, width) = (u64::from(info.height), u64::from(info.width));
    check_pixels(height, width, max_pixels)?;
    d.set_transformations(transformations);
    let mut reader = d.read_info().map_err(png_error)?;
    if reader.info().is_animated() {
        return Err(image_error("PNG: animated PNGs are not mask images"));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| image_error("PNG: the image is too large"))?;
    let mut buf: Vec<u8> = alloc::zeroed(size, "the decoded image")?;
    let frame = reader.next_frame(&mut buf).map_err(png_error)?;
    // Reading on to the end of the image data checks the zlib stream's checksum.
    reader.finish().map_err(png_error)?;
    Ok(RawPng {
        height,
        width,
        color: frame.color_type,
        depth: frame.bit_depth,
        line: frame.line_size,
        data: buf,
    })
}

#[allow(clippy::needless_pass_by_value)] // used as map_err(jpeg_error)
fn jpeg_error(e: zune_jpeg::errors::DecodeErrors) -> Error {
    image_error(format!("JPEG: {e}"))
}

fn jpeg_decoder(
    data: &[u8],
) -> zune_jpeg::JpegDecoder<zune_jpeg::zune_core::bytestream::ZCursor<&[u8]>> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::options::DecoderOptions;
    // Strict: corrupt entropy-coded data, a premature end or a marker out of place is an
    // error instead of grey or noise filled in.
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options)
}

fn decode_jpeg(data: &[u8], max_pixels: u64) -> Result<Decoded> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    // The decoder fills a cut-off image with grey instead of failing: a JPEG must end
    // with its end-of-image marker (trailing zero padding aside).
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |k| k + 1);
    if !data[..end].ends_with(&[0xFF, 0xD9]) {
        return Err(image_error(
            "truncated JPEG (no end-of-image marker at the end of the data)",
        ));
    }
    let mut d = jpeg_decoder(data);
    d.decode_headers().map_err(jpeg_error)?;
    let info = d
        .info()
        .ok_or_else(|| image_error("JPEG: no frame header"))?;
    let (height, width) = (u64::from(info.height), u64::from(info.width));
    check_pixels(height, width, max_pixels)?;
    if !info.sof.is_progressive() {
        // The decoder reads an end-of-image marker met inside the entropy-coded data as
        // "the rest is zeros" and fills the image on, even in strict mode. Without the
        // final marker, running out of data before the last block is a strict-mode
        // error instead: data too short for the declared size is caught, and a complete
        // image decodes the same (the decoder stops after its last block). Progressive
        // JPEGs need the marker to end their scans.
        d = jpeg_decoder(&data[..end - 2]);
        d.decode_headers().map_err(jpeg_error)?;
    }
    let (out, layout) = match d.input_colorspace() {
        Some(ColorSpace::Luma) => (ColorSpace::Luma, Layout::L8),
        Some(ColorSpace::LumaA) => (ColorSpace::LumaA, Layout::La8),
        Some(ColorSpace::RGBA) => (ColorSpace::RGBA, Layout::Rgba8),
        _ => (ColorSpace::RGB, Layout::Rgb8),
    };
    let options = d.options().jpeg_set_out_colorspace(out);
    d.set_options(options);
    let size = d
        .output_buffer_size()
        .ok_or_else(|| image_error("JPEG: the image is too large"))?;
    let mut buf: Vec<u8> = alloc::zeroed(size, "the decoded image")?;
    d.decode_into(&mut buf).map_err(jpeg_error)?;
    Ok(Decoded {
        height,
        width,
        layout,
        data: buf,
    })
}

/// A big-endian 16-bit sample scaled to 8 bits.
#[inline]
fn to_u8(hi: u8, lo: u8) -> u8 {
    u16_to_u8(u16::from_be_bytes([hi, lo]))
}

impl Decoded {
    /// The grey level of every pixel (alpha ignored, 16-bit scaled to 8, colour by
    /// [`crate::pixels::luma_of`]), computed in place: the pixel buffer becomes the `height * width`
    /// grey image, no second full-size buffer.
    #[must_use]
    pub fn into_luma(self) -> Vec<u8> {
        let Decoded {
            layout, mut data, ..
        } = self;
        let step = layout.channels() * layout.sample_bytes();
        let n = data.len() / step;
        // Pixel i is read at i * step >= i before it is written at i.
        for i in 0..n {
            let p = i * step;
            data[i] = match layout {
                Layout::L8 | Layout::La8 => data[p],
                Layout::Rgb8 | Layout::Rgba8 => luma_of(data[p], data[p + 1], data[p + 2]),
                Layout::L16 | Layout::La16 => to_u8(data[p], data[p + 1]),
                Layout::Rgb16 | Layout::Rgba16 => luma_of(
                    to_u8(data[p], data[p + 1]),
                    to_u8(data[p + 2], data[p + 3]),
                    to_u8(data[p + 4], data[p + 5]),
                ),
            };
        }
        data.truncate(n);
        data
    }

    /// The pixels as 8-bit RGB (grey repeated, alpha dropped, 16-bit scaled), in place
    /// when they already are, else in one new buffer.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] when the RGB buffer cannot be had.
    pub fn into_rgb8(self) -> Result<Vec<u8>> {
        let Decoded { layout, data, .. } = self;
        if layout == Layout::Rgb8 {
            return Ok(data);
        }
        let step = layout.channels() * layout.sample_bytes();
        let n = data.len() / step;
        let mut out = alloc::with_capacity(3 * n, "the RGB image")?;
        for p in data.chunks_exact(step) {
            let rgb = match layout {
                Layout::L8 | Layout::La8 => [p[0]; 3],
                Layout::Rgb8 | Layout::Rgba8 => [p[0], p[1], p[2]],
                Layout::L16 | Layout::La16 => [to_u8(p[0], p[1]); 3],
                Layout::Rgb16 | Layout::Rgba16 => {
                    [to_u8(p[0], p[1]), to_u8(p[2], p[3]), to_u8(p[4], p[5])]
                }
            };
            out.extend_from_slice(&rgb);
        }
        Ok(out)
    }
}

/// Encodes row-major RGB pixels as a PNG.
///
/// # Errors
/// [`Error::BufferSize`] when `rgb` is not `3 * height * width` bytes; [`Error::Image`]
/// for sizes PNG cannot hold.
///
/// # Examples
/// ```
/// use sa1b_rle::images::{decode, write_png};
/// let png = write_png(&[255, 0, 0, 0, 0, 255], 1, 2).unwrap();
/// let back = decode(&png, 100).unwrap();
/// assert_eq!((back.height, back.width), (1, 2));
/// assert_eq!(back.into_rgb8().unwrap(), vec![255, 0, 0, 0, 0, 255]);
/// ```
pub fn write_png(rgb: &[u8], height: u64, width: u64) -> Result<Vec<u8>> {
    let expected = height
        .checked_mul(width)
        .and_then(|n| n.checked_mul(3))
        .and_then(|n| usize::try_from(n).ok());
    if expected != Some(rgb.len()) {
        return Err(Error::BufferSize {
            expected: expected.unwrap_or(usize::MAX),
            actual: rgb.len(),
        });
    }
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(image_error("PNG: the image is too large"));
    };
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        let mut writer = e
            .write_header()
            .map_err(|e| image_error(format!("PNG: {e}")))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| image_error(format!("PNG: {e}")))?;
        writer
            .finish()
            .map_err(|e| image_error(format!("PNG: {e}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_size_is_checked_before_decoding() {
        // A PNG header declaring 200000 x 200000 16-bit grey, and nothing else.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&200_000u32.to_be_bytes());
        ihdr.extend_from_slice(&200_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[16, 0, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        let e = decode(&png, DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{e}");
        assert_eq!(dimensions(&png).unwrap(), (200_000, 200_000));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn corrupt_png_data_is_an_error() {
        let rgb: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(37)).collect();
        let png = write_png(&rgb, 4, 4).unwrap();
        assert_eq!(decode(&png, 100).unwrap().into_rgb8().unwrap(), rgb);
        // Flip each byte after the signature in turn: every flip is caught (CRC, Adler-32
        // or a structural check), none decodes to other pixels.
        for k in 8..png.len() {
            let mut bad = png.clone();
            bad[k] ^= 0x01;
            if let Ok(d) = decode(&bad, 100) {
                assert_eq!(
                    d.into_rgb8().unwrap(),
                    rgb,
                    "byte {k} flipped decoded differently"
                );
            }
        }
    }

    #[test]
    fn luma_in_place_matches_rgb_then_luma() {
        let rgb: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8).collect();
        let d = Decoded {
            height: 10,
            width: 10,
            layout: Layout::Rgb8,
            data: rgb.clone(),
        };
        let want: Vec<u8> = rgb.chunks(3).map(|p| luma_of(p[0], p[1], p[2])).collect();
        assert_eq!(d.into_luma(), want);
    }
}

//! RLE -> dense binary mask (column-major, 0/1 bytes).

use crate::error::{Error, Result};
use crate::rle::{for_each_column_piece, Rle};

/// Writes the mask into `out` (column-major, `height * width` bytes, 1 = foreground).
///
/// With `out_is_zeroed` the caller promises `out` is all zeros and only the foreground
/// runs are written: on freshly allocated (lazily zeroed) memory this leaves background
/// pages untouched, which is most of the cost of a decode.
///
/// # Errors
/// [`Error::BufferSize`] when `out` does not have `height * width` bytes.
///
/// # Examples
/// ```
/// use sa1b_rle::{decode_into, Rle};
/// let r = Rle::new(2, 3, vec![2, 3, 1]).unwrap();
/// let mut out = [9u8; 6];
/// decode_into(&r, &mut out, false).unwrap();
/// assert_eq!(out, [0, 0, 1, 1, 1, 0]);
/// ```
pub fn decode_into(rle: &Rle, out: &mut [u8], out_is_zeroed: bool) -> Result<()> {
    let pixels = (rle.height() * rle.width()) as usize;
    if out.len() != pixels {
        return Err(Error::BufferSize {
            expected: pixels,
            actual: out.len(),
        });
    }
    decode_column_major_into(rle.counts(), out, out_is_zeroed);
    Ok(())
}

/// Writes validated runs into `out` in their own (column-major) order: `out` has exactly
/// the pixels the runs sum to.
pub(crate) fn decode_column_major_into(runs: &[u32], out: &mut [u8], out_is_zeroed: bool) {
    let mut pos = 0usize;
    for (j, &c) in runs.iter().enumerate() {
        let end = pos + c as usize;
        if j % 2 == 1 {
            out[pos..end].fill(1);
        } else if !out_is_zeroed {
            out[pos..end].fill(0);
        }
        pos = end;
    }
}

/// Bytes of output rows handled together by [`decode_row_major_into`]: a band this size
/// stays in the core's L2 cache while every column's foreground in it is written.
const BAND_BYTES: usize = 256 << 10;

/// Writes a mask given by validated runs (column-major, COCO's order) into `out` in
/// row-major order (`out[y * width + x]`, 1 = foreground), `height * width` bytes.
///
/// The rows are done in bands of about 256 KiB: each band is zeroed (unless
/// `out_is_zeroed`, when only the foreground is written and untouched pages stay
/// untouched) and then every column's foreground rows inside it are set, so each output
/// byte is written in cache, in one pass over the output.
///
/// # Errors
/// [`Error::BufferSize`] when `out` does not have `height * width` bytes.
pub(crate) fn decode_row_major_into(
    height: usize,
    width: usize,
    runs: &[u32],
    out: &mut [u8],
    out_is_zeroed: bool,
) -> Result<()> {
    let (h, w) = (height, width);
    if out.len() != h * w {
        return Err(Error::BufferSize {
            expected: h * w,
            actual: out.len(),
        });
    }
    if h == 0 || w == 0 {
        return Ok(());
    }
    // Foreground segments (column, first row, end row), in column order.
    let mut segments: Vec<(usize, usize, usize)> = Vec::with_capacity(runs.len() / 2 + 16);
    for_each_column_piece(h as u64, runs, |x, y0, y1| {
        segments.push((x as usize, y0 as usize, y1 as usize));
    });
    // Per column with foreground: its next segment and the end of its segments.
    let mut columns: Vec<(usize, usize, usize)> = Vec::new();
    for (k, &(x, _, _)) in segments.iter().enumerate() {
        match columns.last_mut() {
            Some(c) if c.0 == x => c.2 = k + 1,
            _ => columns.push((x, k, k + 1)),
        }
    }
    let band = (BAND_BYTES / w).clamp(1, h);
    // Eight neighbouring columns at a time are assembled row by row in a small tile (one
    // u64 per row, byte k = column 8g + k), so the output gets one 8-byte store per row
    // of the group instead of a store per pixel in a different cache line.
    let mut tile = vec![0u64; band];
    for r0 in (0..h).step_by(band) {
        let r1 = (r0 + band).min(h);
        let rows = &mut out[r0 * w..r1 * w];
        if !out_is_zeroed {
            rows.fill(0);
        }
        let mut k = 0;
        while k < columns.len() {
            let group = columns[k].0 / 8;
            let (mut lo, mut hi) = (r1, r0);
            while k < columns.len() && columns[k].0 / 8 == group {
                let (x, next, end) = &mut columns[k];
                let bit = 1u64 << (8 * (*x % 8));
                while *next < *end {
                    let (_, y0, y1) = segments[*next];
                    if y0 >= r1 {
                        break;
                    }
                    let (a, b) = (y0.max(r0), y1.min(r1));
                    lo = lo.min(a);
                    hi = hi.max(b);
                    for t in &mut tile[a - r0..b - r0] {
                        *t |= bit;
                    }
                    if y1 > r1 {
                        break;
                    }
                    *next += 1;
                }
                k += 1;
            }
            let x0 = group * 8;
            let n = (w - x0).min(8);
            for r in lo..hi {
                let t = std::mem::take(&mut tile[r - r0]);
                if t != 0 {
                    let at = (r - r0) * w + x0;
                    if n == 8 {
                        // A fixed-size copy: one 8-byte store (a variable one calls memcpy).
                        rows[at..at + 8].copy_from_slice(&t.to_le_bytes());
                    } else {
                        rows[at..at + n].copy_from_slice(&t.to_le_bytes()[..n]);
                    }
                }
            }
        }
    }
    Ok(())
}

/// A zero-filled buffer of `len` bytes for decoding into, or `None` when the memory
/// cannot be had (so a huge request is an error for the caller to report, not an abort).
///
/// [`crate::alloc::zeroed`]: large zeroed allocations come from the kernel as untouched
/// pages (advised to be huge pages on Linux), so only the pages a decode writes (and the
/// reader later reads) are ever faulted in.
///
/// # Examples
/// ```
/// let buf = sa1b_rle::zeroed_buffer(10).unwrap();
/// assert_eq!(buf, vec![0u8; 10]);
/// assert!(sa1b_rle::zeroed_buffer(usize::MAX).is_none());
/// ```
#[must_use]
pub fn zeroed_buffer(len: usize) -> Option<Vec<u8>> {
    crate::alloc::zeroed(len, "decoded masks").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{encode, Order};

    #[test]
    fn round_trip_with_zero_runs() {
        let r = Rle::new(3, 3, vec![0, 2, 0, 3, 4]).unwrap();
        let mut a = vec![7u8; 9];
        decode_into(&r, &mut a, false).unwrap();
        let mut b = zeroed_buffer(9).unwrap();
        decode_into(&r, &mut b, true).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, [1, 1, 1, 1, 1, 0, 0, 0, 0]);
        let back = encode(&a, 3, 3, Order::ColumnMajor).unwrap();
        assert_eq!(back.counts(), &[0, 5, 4]);
    }

    #[test]
    fn row_major_is_the_transpose_of_column_major() {
        // Masks of many shapes (incl. runs spanning columns, zero runs, tall and wide
        // images that make bands of one row or of the whole image), against the
        // column-major decode transposed, on zeroed and on dirty buffers.
        let mut rnd = crate::test_support::rng(0x9e37_79b9_7f4a_7c15u64);
        for (h, w) in [
            (1, 1),
            (1, 7),
            (7, 1),
            (5, 3),
            (64, 300),
            (3, 100_000),
            (300_000, 2),
        ] {
            for round in 0..20 {
                let pixels = h * w;
                let mut runs = vec![];
                let mut left = pixels;
                while left > 0 {
                    let cap = if round % 3 == 0 {
                        2 * h as u64
                    } else {
                        left as u64
                    };
                    let r = (rnd(cap + 1) as usize).min(left);
                    runs.push(r as u32);
                    left -= r;
                }
                let rle = Rle::new(h as u64, w as u64, runs.clone()).unwrap();
                let mut col = vec![0u8; pixels];
                decode_into(&rle, &mut col, true).unwrap();
                let mut want = vec![0u8; pixels];
                for x in 0..w {
                    for y in 0..h {
                        want[y * w + x] = col[x * h + y];
                    }
                }
                let mut zeroed = vec![0u8; pixels];
                decode_row_major_into(h, w, &runs, &mut zeroed, true).unwrap();
                assert_eq!(zeroed, want, "{h}x{w} {runs:?}");
                let mut dirty = vec![7u8; pixels];
                decode_row_major_into(h, w, &runs, &mut dirty, false).unwrap();
                assert_eq!(dirty, want);
            }
        }
        assert!(decode_row_major_into(2, 2, &[4], &mut [0; 3], false).is_err());
    }

    #[test]
    fn huge_buffer_is_zero() {
        let b = zeroed_buffer(5 << 20).unwrap();
        assert!(b.iter().all(|&v| v == 0));
    }
}

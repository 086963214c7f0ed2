//! Binary mask -> RLE. Any nonzero byte is foreground.

use crate::error::{Error, Result};
use crate::rle::{pixel_count, Rle};

/// Memory order of a dense 2-D mask buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Row-major (C order): pixel `(y, x)` at `y * width + x`.
    RowMajor,
    /// Column-major (Fortran order, COCO's pixel order): pixel `(y, x)` at `x * height + y`.
    ColumnMajor,
}

impl Order {
    /// The order in which an `height x width` mask held with element strides
    /// `(row_stride, col_stride)` is one contiguous slice, row-major preferred; `None`
    /// when it is neither (copy it first). An axis of length 1 constrains nothing, as in
    /// numpy's contiguity flags.
    ///
    /// ```
    /// use sa1b_rle::Order;
    /// assert_eq!(Order::of_strides(3, 4, 4, 1), Some(Order::RowMajor));
    /// assert_eq!(Order::of_strides(3, 4, 1, 3), Some(Order::ColumnMajor));
    /// assert_eq!(Order::of_strides(3, 4, 8, 2), None);
    /// assert_eq!(Order::of_strides(1, 4, 99, 1), Some(Order::RowMajor));
    /// ```
    #[must_use]
    pub fn of_strides(
        height: usize,
        width: usize,
        row_stride: isize,
        col_stride: isize,
    ) -> Option<Order> {
        let dense = |outer: usize, inner: usize, outer_stride: isize, inner_stride: isize| {
            (inner <= 1 || inner_stride == 1)
                && (outer <= 1 || isize::try_from(inner).ok() == Some(outer_stride))
        };
        if dense(height, width, row_stride, col_stride) {
            Some(Order::RowMajor)
        } else if dense(width, height, col_stride, row_stride) {
            Some(Order::ColumnMajor)
        } else {
            None
        }
    }
}

/// Width of the blocks scanned before looking at single bytes: a cache line, which the
/// compiler reads as a few vector registers OR-ed together.
const BLOCK: usize = 64;

/// Encodes one dense mask of `height` x `width` bytes (any nonzero byte is foreground).
///
/// pycocotools starts a new run whenever the byte value changes, so its output is only
/// meaningful for 0/1 input; for 0/1 (and bool) input this is byte-identical to it.
///
/// # Errors
/// [`Error::SizeTooLarge`] or [`Error::BufferSize`] when `data` does not hold
/// `height * width` bytes.
///
/// # Examples
/// ```
/// use sa1b_rle::{encode, Order};
/// // 2x3, row-major: [[0, 1, 1], [0, 7, 0]]
/// let r = encode(&[0, 1, 1, 0, 7, 0], 2, 3, Order::RowMajor).unwrap();
/// assert_eq!(r.counts(), &[2, 3, 1]);
/// let r = encode(&[0, 0, 1, 7, 1, 0], 2, 3, Order::ColumnMajor).unwrap();
/// assert_eq!(r.counts(), &[2, 3, 1]);
/// ```
pub fn encode(data: &[u8], height: u64, width: u64, order: Order) -> Result<Rle> {
    let pixels = pixel_count(height, width)?;
    if data.len() as u64 != pixels {
        return Err(Error::BufferSize {
            expected: pixels as usize,
            actual: data.len(),
        });
    }
    let counts = match order {
        Order::ColumnMajor => runs_column_major(data),
        Order::RowMajor => runs_row_major(data, height as usize, width as usize),
    };
    Ok(Rle::from_parts_unchecked(height, width, counts))
}

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// Whether two `BLOCK`-byte slices are identical (word-wise, vectorised).
fn blocks_equal(a: &[u8], b: &[u8]) -> bool {
    (0..BLOCK / 8).fold(0u64, |acc, k| acc | (word(&a[k * 8..]) ^ word(&b[k * 8..]))) == 0
}

/// How far ahead of a long scan to prefetch. The hardware prefetchers stop at 4 KiB page
/// boundaries; asking for the line a page or two ahead keeps the memory system busy across
/// them (a plain read of a large buffer measured ~9.5 GB/s here, ~12-14 GB/s with this).
const PREFETCH_AHEAD: usize = 4096;

/// Hints that the cache line at `data[at]` (if inside `data`) will be read soon.
#[inline]
fn prefetch(data: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = data.get(at) {
        // SAFETY: a prefetch only hints the cache; `b` is a valid reference anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(b).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, at);
}

/// Index of the first nonzero byte at or after `from`, or `data.len()`.
fn next_nonzero(data: &[u8], from: usize) -> usize {
    let n = data.len();
    let mut i = from;
    // 64 bytes a step: eight words OR-ed together (vectorised), one branch.
    while i + BLOCK <= n {
        prefetch(data, i + PREFETCH_AHEAD);
        let b = &data[i..i + BLOCK];
        let acc = (0..BLOCK / 8).fold(0u64, |a, k| a | word(&b[k * 8..]));
        if acc != 0 {
            break;
        }
        i += BLOCK;
    }
    while i + 8 <= n {
        let w = word(&data[i..]);
        if w != 0 {
            return i + (w.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    data[i..].iter().position(|&b| b != 0).map_or(n, |p| i + p)
}

/// Index of the first zero byte at or after `from`, or `data.len()`.
fn next_zero(data: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let n = data.len();
    let mut i = from;
    // 64 bytes a step while no byte is zero (a word has a zero byte iff
    // (w - 0x01..) & !w & 0x80.. is nonzero), prefetching as `next_nonzero` does.
    while i + BLOCK <= n {
        prefetch(data, i + PREFETCH_AHEAD);
        let b = &data[i..i + BLOCK];
        let zeros = (0..BLOCK / 8).fold(0u64, |a, k| {
            let w = word(&b[k * 8..]);
            a | (w.wrapping_sub(ONES) & !w & HIGHS)
        });
        if zeros != 0 {
            break;
        }
        i += BLOCK;
    }
    memchr::memchr(0, &data[i..]).map_or(n, |p| i + p)
}

/// Runs of a column-major buffer: one scan, skipping whole chunks inside a run.
fn runs_column_major(data: &[u8]) -> Vec<u32> {
    let mut counts = Vec::new();
    let mut pos = 0usize;
    let mut foreground = false;
    loop {
        let next = if foreground {
            next_zero(data, pos)
        } else {
            next_nonzero(data, pos)
        };
        counts.push((next - pos) as u32);
        if next == data.len() {
            return counts;
        }
        pos = next;
        foreground = !foreground;
    }
}

/// Runs of a row-major buffer without transposing it: see [`RowFlips`].
fn runs_row_major(data: &[u8], h: usize, w: usize) -> Vec<u32> {
    if h == 0 || w == 0 {
        return vec![0];
    }
    let mut flips = RowFlips::new(w);
    for y in 1..h {
        flips.row(y, &data[(y - 1) * w..y * w], &data[y * w..(y + 1) * w]);
    }
    flips.finish(h, &data[..w], &data[(h - 1) * w..])
}

/// The runs of a row-major mask of `width` columns given row by row (nonzero bytes are
/// foreground): each row compared with the one above records the columns where the value
/// flips (sparse: about two per object per row), then the flips are bucketed by column,
/// which is COCO's run order. Only two rows need to exist at a time.
pub(crate) struct RowFlips {
    /// Flips inside columns: `(x, y)` with `y >= 1`.
    flips: Vec<(u32, u32)>,
    per_column: Vec<u32>,
}

impl RowFlips {
    pub(crate) fn new(width: usize) -> RowFlips {
        RowFlips {
            flips: Vec::new(),
            per_column: vec![0; width],
        }
    }

    /// Row `y >= 1` after row `y - 1` (`above`).
    pub(crate) fn row(&mut self, y: usize, above: &[u8], row: &[u8]) {
        for (c, (a, b)) in above.chunks(BLOCK).zip(row.chunks(BLOCK)).enumerate() {
            // Identical bytes cannot flip; only blocks that differ are looked at closely.
            if a.len() == BLOCK && blocks_equal(a, b) {
                continue;
            }
            for (k, (&p, &q)) in a.iter().zip(b).enumerate() {
                if (p != 0) != (q != 0) {
                    let x = c * BLOCK + k;
                    self.flips.push((x as u32, y as u32));
                    self.per_column[x] += 1;
                }
            }
        }
    }

    /// The runs of the `h`-row mask whose rows were given, from its first and last rows.
    pub(crate) fn finish(mut self, h: usize, first_row: &[u8], last_row: &[u8]) -> Vec<u32> {
        let w = self.per_column.len();
        let per_column = &mut self.per_column;
        // Flips at the top of a column: against the bottom pixel of the previous column
        // (column-major order runs on from one column into the next).
        let mut top_flip = vec![false; w];
        for x in 0..w {
            let before = x > 0 && last_row[x - 1] != 0;
            if (first_row[x] != 0) != before {
                top_flip[x] = true;
                per_column[x] += 1;
            }
        }
        // Bucket by column (stable: rows stay in increasing order).
        let mut start = Vec::with_capacity(w + 1);
        let mut total = 0usize;
        for &n in per_column.iter() {
            start.push(total);
            total += n as usize;
        }
        start.push(total);
        let mut cursor = start.clone();
        let mut rows = vec![0u32; total];
        for (x, &top) in top_flip.iter().enumerate() {
            if top {
                rows[cursor[x]] = 0;
                cursor[x] += 1;
            }
        }
        for &(x, y) in &self.flips {
            let x = x as usize;
            rows[cursor[x]] = y;
            cursor[x] += 1;
        }
        let mut counts = Vec::with_capacity(total + 1);
        let mut last = 0u64;
        for x in 0..w {
            for &y in &rows[start[x]..start[x + 1]] {
                let p = (x * h) as u64 + u64::from(y);
                counts.push((p - last) as u32);
                last = p;
            }
        }
        counts.push(((h * w) as u64 - last) as u32);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8], h: usize, w: usize, order: Order) -> Vec<u32> {
        let mut counts = vec![];
        let (mut prev, mut run) = (false, 0u32);
        for x in 0..w {
            for y in 0..h {
                let v = match order {
                    Order::RowMajor => data[y * w + x],
                    Order::ColumnMajor => data[x * h + y],
                } != 0;
                if v != prev {
                    counts.push(run);
                    run = 0;
                    prev = v;
                }
                run += 1;
            }
        }
        counts.push(run);
        counts
    }

    #[test]
    fn matches_naive_on_patterns() {
        let mut seed = 12345u64;
        for &(h, w) in &[(1, 1), (1, 70), (70, 1), (3, 3), (33, 65), (64, 31)] {
            for density in [0u64, 1, 10, 50, 90, 100] {
                let data: Vec<u8> = (0..h * w)
                    .map(|_| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        u8::from((seed >> 33) % 100 < density) * ((seed >> 20) as u8 | 1)
                    })
                    .collect();
                for order in [Order::RowMajor, Order::ColumnMajor] {
                    let r = encode(&data, h as u64, w as u64, order).unwrap();
                    assert_eq!(r.counts(), naive(&data, h, w, order), "{h}x{w} {order:?}");
                }
            }
        }
    }

    #[test]
    fn empty_and_full() {
        assert_eq!(encode(&[], 0, 5, Order::RowMajor).unwrap().counts(), &[0]);
        assert_eq!(
            encode(&[], 0, 0, Order::ColumnMajor).unwrap().counts(),
            &[0]
        );
        assert_eq!(
            encode(&[1; 6], 2, 3, Order::RowMajor).unwrap().counts(),
            &[0, 6]
        );
        assert_eq!(
            encode(&[0; 6], 2, 3, Order::ColumnMajor).unwrap().counts(),
            &[6]
        );
    }

    #[test]
    fn wrong_buffer_size() {
        assert_eq!(
            encode(&[0; 5], 2, 3, Order::RowMajor),
            Err(Error::BufferSize {
                expected: 6,
                actual: 5
            })
        );
    }
}

//! RLE -> dense binary mask (column-major, 0/1 bytes).

use crate::error::{Error, Result};
use crate::rle::Rle;

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
    let mut pos = 0usize;
    for (j, &c) in rle.counts().iter().enumerate() {
        let end = pos + c as usize;
        if j % 2 == 1 {
            out[pos..end].fill(1);
        } else if !out_is_zeroed {
            out[pos..end].fill(0);
        }
        pos = end;
    }
    Ok(())
}

/// A zero-filled buffer of `len` bytes for decoding into, or `None` when the memory
/// cannot be had (so a huge request is an error for the caller to report, not an abort).
///
/// Large zeroed allocations come from the kernel as untouched pages, so only the pages a
/// decode writes (and the reader later reads) are ever faulted in. On Linux the buffer's
/// 2 MiB-aligned interior is advised to use transparent huge pages, which cuts the page
/// faults of a full-image decode by a factor of 512.
///
/// # Examples
/// ```
/// let buf = sa1b_rle::zeroed_buffer(10).unwrap();
/// assert_eq!(buf, vec![0u8; 10]);
/// assert!(sa1b_rle::zeroed_buffer(usize::MAX).is_none());
/// ```
#[must_use]
pub fn zeroed_buffer(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was just allocated by the global allocator with the layout of a
    // `[u8]` of `len` bytes (as `Box<[u8]>` uses), and `alloc_zeroed` initialised them all.
    let boxed: Box<[u8]> = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    let buf = boxed.into_vec();
    advise_huge_pages(&buf);
    Some(buf)
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(buf: &[u8]) {
    const HUGE: usize = 2 << 20;
    if buf.len() < 2 * HUGE {
        return;
    }
    let addr = buf.as_ptr() as usize;
    let start = addr.next_multiple_of(HUGE);
    let end = (addr + buf.len()) / HUGE * HUGE;
    if end > start {
        // SAFETY: [start, end) lies inside `buf`'s allocation and is page aligned;
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never their
        // contents, and failure (e.g. THP disabled) is harmless, so the result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_buf: &[u8]) {}

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
    fn huge_buffer_is_zero() {
        let b = zeroed_buffer(5 << 20).unwrap();
        assert!(b.iter().all(|&v| v == 0));
    }
}

//! Allocations whose size comes from input: fallible, so that a request the machine cannot
//! meet is an [`Error::OutOfMemory`] for the caller to report, never an abort.
//!
//! Rust's ordinary `vec![0; n]` and `Vec::with_capacity(n)` abort the whole process when
//! the allocator says no (under an address-space limit, or past what the kernel will
//! overcommit). Every buffer sized by a count, a dimension or a product of them goes
//! through this module instead.

use crate::error::{Error, Result};

/// Plain numbers whose all-zero bytes are the value zero (so a zeroed allocation is a
/// valid vector of them).
pub trait Zeroable: Copy + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! zeroable {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Zeroable for $t {}
    )*};
}
zeroable!(u8, u16, u32, u64, usize, i32, i64, f32, f64);

fn out_of_memory<T>(len: usize, what: &'static str) -> Error {
    Error::OutOfMemory {
        what,
        bytes: (len as u128 * std::mem::size_of::<T>() as u128).min(u128::from(u64::MAX)) as u64,
    }
}

/// A vector of `len` zeros, or [`Error::OutOfMemory`] naming `what` it was for.
///
/// Large zeroed allocations come from the kernel as untouched pages (`calloc`), so only
/// the pages that are written are ever faulted in.
///
/// # Errors
/// [`Error::OutOfMemory`] when the allocation fails or its size overflows.
///
/// # Examples
/// ```
/// let v: Vec<u64> = sa1b_rle::alloc::zeroed(3, "an example").unwrap();
/// assert_eq!(v, vec![0, 0, 0]);
/// let e = sa1b_rle::alloc::zeroed::<f64>(usize::MAX / 4, "an IoU matrix").unwrap_err();
/// assert!(e.to_string().contains("an IoU matrix"));
/// ```
pub fn zeroed<T: Zeroable>(len: usize, what: &'static str) -> Result<Vec<T>> {
    if len == 0 || std::mem::size_of::<T>() == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| out_of_memory::<T>(len, what))?;
    // SAFETY: `layout` has a non-zero size (len > 0 and T is not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(out_of_memory::<T>(len, what));
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[T; len]`
    // (the layout `Box<[T]>` uses), and all-zero bytes are a valid `T` (`Zeroable`), so
    // all `len` elements are initialised.
    let boxed: Box<[T]> = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    advise_huge_pages(ptr as usize, layout.size());
    Ok(boxed.into_vec())
}

/// Asks Linux to back the 2 MiB-aligned interior of a large fresh allocation with
/// transparent huge pages: its pages come from the kernel untouched, and a decode that
/// writes them faults 512 times less often.
#[cfg(target_os = "linux")]
fn advise_huge_pages(addr: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    let start = addr.next_multiple_of(HUGE);
    let end = (addr + len) / HUGE * HUGE;
    if end > start {
        // SAFETY: [start, end) lies inside the allocation and is page aligned;
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never their
        // contents, and failure (e.g. THP disabled) is harmless, so the result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_addr: usize, _len: usize) {}

/// An empty vector with room for `len` items, or [`Error::OutOfMemory`].
///
/// # Errors
/// [`Error::OutOfMemory`] when the allocation fails or its size overflows.
///
/// # Examples
/// ```
/// let v: Vec<u32> = sa1b_rle::alloc::with_capacity(10, "runs").unwrap();
/// assert!(v.capacity() >= 10 && v.is_empty());
/// assert!(sa1b_rle::alloc::with_capacity::<u32>(usize::MAX, "runs").is_err());
/// ```
pub fn with_capacity<T>(len: usize, what: &'static str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, len, what)?;
    Ok(v)
}

/// Makes room for `more` items in `v`, or [`Error::OutOfMemory`].
///
/// # Errors
/// [`Error::OutOfMemory`] when the allocation fails or its size overflows.
pub fn reserve<T>(v: &mut Vec<T>, more: usize, what: &'static str) -> Result<()> {
    v.try_reserve_exact(more)
        .map_err(|_| out_of_memory::<T>(v.len().saturating_add(more), what))
}

/// Makes room for `more` items in a growing `v` (amortised: the capacity at least
/// doubles, as `push` does), or [`Error::OutOfMemory`]. For vectors filled item by item;
/// [`reserve`] is for a size known up front.
///
/// # Errors
/// [`Error::OutOfMemory`] when the allocation fails or its size overflows.
///
/// # Examples
/// ```
/// let mut v: Vec<u8> = Vec::new();
/// for i in 0..100 {
///     sa1b_rle::alloc::grow(&mut v, 1, "bytes").unwrap();
///     v.push(i);
/// }
/// assert!(v.capacity() < 200);
/// ```
pub fn grow<T>(v: &mut Vec<T>, more: usize, what: &'static str) -> Result<()> {
    v.try_reserve(more)
        .map_err(|_| out_of_memory::<T>(v.len().saturating_add(more), what))
}

/// `a * b` as a `usize` element count, or [`Error::OutOfMemory`] (the product cannot be
/// allocated if it does not even fit the address space).
///
/// # Errors
/// [`Error::OutOfMemory`] on overflow.
pub fn product(a: u64, b: u64, what: &'static str) -> Result<usize> {
    a.checked_mul(b)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(Error::OutOfMemory {
            what,
            bytes: u64::MAX,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_requests_are_errors_not_aborts() {
        for len in [usize::MAX, usize::MAX / 8, 1 << 60] {
            assert!(matches!(
                zeroed::<u64>(len, "x"),
                Err(Error::OutOfMemory { what: "x", .. })
            ));
            assert!(with_capacity::<u64>(len, "x").is_err());
        }
        assert!(product(u64::MAX, 2, "x").is_err());
        assert_eq!(product(3, 4, "x").unwrap(), 12);
        let v: Vec<f64> = zeroed(1000, "x").unwrap();
        assert!(v.iter().all(|&x| x == 0.0));
    }
}

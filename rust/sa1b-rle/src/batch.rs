//! Many masks of one size, parsed once into one columnar buffer of runs, with the batch
//! operations (decode, IoU matrix, area, bbox, merge, counts strings) run in parallel on
//! the process-local pool ([`crate::pool`]).

use crate::column_iou;
use crate::counts::write_counts;
use crate::decode::{decode_column_major_into, decode_row_major_into};
use crate::encode::{encode, Order};
use crate::error::{Error, Result};
use crate::input::RleRef;
use crate::iou::IouMask;
use crate::merge::merge_runs;
use crate::ops::Components;
use crate::polygon::{fr_bbox, fr_poly};
use crate::pool;
use crate::rle::{area_of_runs, bbox_of_runs, pixel_count, Rle};

/// Up to this many (detection, ground truth) pairs an IoU matrix is computed pair by
/// pair (measured: a 2x1 call 8 us against 12 us for the column walk; the walk wins from
/// about 20x20 masks on).
const SMALL_IOU_PAIRS: usize = 256;

/// `N` masks of one size `(height, width)`: mask `i`'s runs (COCO's column-major run
/// lengths, alternating background and foreground, summing to `height * width`) are
/// `runs[offsets[i]..offsets[i + 1]]` of one shared buffer.
///
/// Every constructor validates its input, so every mask of a batch is a valid RLE.
///
/// # Examples
/// ```
/// use sa1b_rle::RleBatch;
/// let b = RleBatch::from_counts_strings(3, 4, &[b"42102".as_slice(), b"<"], None).unwrap();
/// assert_eq!(b.len(), 2);
/// assert_eq!(b.area(None), vec![4, 0]);
/// let mut out = vec![0u8; 2 * 3 * 4];
/// b.decode_into(&mut out, None, false, None).unwrap();
/// assert_eq!(&out[..12], &[0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0]); // row-major
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RleBatch {
    height: u64,
    width: u64,
    offsets: Vec<usize>,
    runs: Vec<u32>,
}

/// Position `index` of a sequence of `len` items by Python's rule: a negative index
/// counts from the end; None when it falls outside.
///
/// ```
/// use sa1b_rle::resolve_index;
/// assert_eq!(resolve_index(-1, 3), Some(2));
/// assert_eq!(resolve_index(3, 3), None);
/// assert_eq!(resolve_index(-4, 3), None);
/// ```
#[must_use]
pub fn resolve_index(index: i128, len: usize) -> Option<usize> {
    let len = i128::try_from(len).ok()?;
    let j = if index < 0 { index + len } else { index };
    (0..len).contains(&j).then_some(j as usize)
}

/// `out[k] = above(row[k])` for a row of scores, in the widest vectors the CPU has
/// (AVX2 where present, checked at run time: twice the SSE2 baseline's compares, which
/// bounded `from_logits`).
fn threshold_row<T: Copy>(out: &mut [u8], row: &[T], above: &impl Fn(T) -> bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { threshold_row_avx2(out, row, above) };
        return;
    }
    threshold_row_plain(out, row, above);
}

// (Always inlined: into `threshold_row_avx2` it must be, to be compiled with AVX2.)
#[allow(clippy::inline_always)]
#[inline(always)]
fn threshold_row_plain<T: Copy>(out: &mut [u8], row: &[T], above: &impl Fn(T) -> bool) {
    for (m, &v) in out.iter_mut().zip(row) {
        *m = u8::from(above(v));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn threshold_row_avx2<T: Copy>(out: &mut [u8], row: &[T], above: &impl Fn(T) -> bool) {
    threshold_row_plain(out, row, above);
}

impl RleBatch {
    /// An empty batch of masks of `height` x `width`.
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`] when `height * width` does not fit in 32 bits.
    pub fn new(height: u64, width: u64) -> Result<RleBatch> {
        pixel_count(height, width)?;
        Ok(RleBatch {
            height,
            width,
            offsets: vec![0],
            runs: Vec::new(),
        })
    }

    /// Appends a mask given by its run lengths.
    ///
    /// # Errors
    /// As [`Rle::new`]: [`Error::EmptyCounts`], [`Error::CountsSumMismatch`].
    pub fn push_runs(&mut self, runs: &[u32]) -> Result<()> {
        crate::rle::check_runs(self.height * self.width, runs)?;
        self.push_unchecked(runs);
        Ok(())
    }

    fn push_unchecked(&mut self, runs: &[u32]) {
        self.runs.extend_from_slice(runs);
        self.offsets.push(self.runs.len());
    }

    /// Appends one mask whose validated runs `append` adds to the end of the buffer
    /// (leaving it unchanged on error).
    pub(crate) fn push_with(
        &mut self,
        append: impl FnOnce(&mut Vec<u32>) -> Result<()>,
    ) -> Result<()> {
        crate::alloc::reserve(&mut self.offsets, 1, "mask offsets")?;
        append(&mut self.runs)?;
        self.offsets.push(self.runs.len());
        Ok(())
    }

    /// Appends masks of validated runs held back to back in `runs`, mask `k` ending at
    /// `ends[k]`.
    pub(crate) fn push_many(&mut self, runs: &[u32], ends: &[usize]) -> Result<()> {
        crate::alloc::reserve(&mut self.runs, runs.len(), "run lengths")?;
        crate::alloc::reserve(&mut self.offsets, ends.len(), "mask offsets")?;
        let base = self.runs.len();
        self.runs.extend_from_slice(runs);
        self.offsets.extend(ends.iter().map(|&e| base + e));
        Ok(())
    }

    /// Appends a block of masks made side by side ([`RleBatch::push_many`]'s layout); a
    /// batch without masks takes the block's buffer as its own (no copy: a fresh copy
    /// of a large result faults its pages in again).
    pub(crate) fn append_block(&mut self, runs: Vec<u32>, ends: &[usize]) -> Result<()> {
        if self.offsets.len() > 1 {
            return self.push_many(&runs, ends);
        }
        self.runs = runs;
        crate::alloc::reserve(&mut self.offsets, ends.len(), "mask offsets")?;
        self.offsets.extend_from_slice(ends);
        Ok(())
    }

    /// A batch of the given masks, which must all have size `height` x `width`.
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`], or [`Error::SizeMismatch`] wrapped with the index of the
    /// first mask of another size.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::{Rle, RleBatch};
    /// let r = Rle::new(2, 2, vec![1, 3]).unwrap();
    /// let b = RleBatch::from_rles(2, 2, &[r.clone(), r]).unwrap();
    /// assert_eq!(b.rle(1).unwrap().counts(), &[1, 3]);
    /// ```
    pub fn from_rles(height: u64, width: u64, rles: &[Rle]) -> Result<RleBatch> {
        let mut b = RleBatch::new(height, width)?;
        b.runs.reserve(rles.iter().map(|r| r.counts().len()).sum());
        for (i, r) in rles.iter().enumerate() {
            if r.size() != (height, width) {
                return Err(Error::SizeMismatch {
                    expected: (height, width),
                    actual: r.size(),
                }
                .at(i));
            }
            b.push_unchecked(r.counts());
        }
        Ok(b)
    }

    /// Parses compressed counts strings (one per mask) in parallel.
    ///
    /// # Errors
    /// The first bad string's error (see [`Rle::from_counts_str`]), wrapped with its index.
    pub fn from_counts_strings(
        height: u64,
        width: u64,
        strings: &[&[u8]],
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        let items: Vec<RleRef<'_>> = strings
            .iter()
            .map(|s| RleRef::compressed(height, width, s))
            .collect();
        if items.is_empty() {
            return RleBatch::new(height, width);
        }
        RleBatch::from_coco(&items, threads)
    }

    /// Encodes dense masks of `height * width` bytes each (any nonzero byte is
    /// foreground) in parallel, each in the given memory order.
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`], or [`Error::BufferSize`] wrapped with the index of a
    /// mask of the wrong length.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::{Order, RleBatch};
    /// let masks = [[0u8, 1, 1, 0].as_slice(), &[1, 1, 1, 1]];
    /// let b = RleBatch::from_dense(2, 2, &masks, Order::RowMajor, None).unwrap();
    /// assert_eq!(b.runs(0), &[1, 2, 1]);
    /// assert_eq!(b.runs(1), &[0, 4]);
    /// ```
    pub fn from_dense(
        height: u64,
        width: u64,
        masks: &[&[u8]],
        order: Order,
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        let work = masks.len() * (height * width) as usize / 8;
        let encoded = pool::map_range(pool::for_work(threads, work), masks.len(), |i| {
            encode(masks[i], height, width, order).map_err(|e| e.at(i))
        });
        Self::collect(height, width, encoded)
    }

    /// One mask per `height x width` block of `scores` (row-major, mask after mask):
    /// foreground where `above(score)`, thresholded into a reused per-thread buffer of one
    /// mask (never a boolean array of all of them), in parallel.
    ///
    /// # Errors
    /// [`Error::BufferSize`] when `scores` is not a whole number of masks;
    /// [`Error::SizeTooLarge`].
    pub fn from_scores<T: Copy + Sync>(
        height: u64,
        width: u64,
        scores: &[T],
        above: impl Fn(T) -> bool + Sync,
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        let pixels = pixel_count(height, width)? as usize;
        let n = scores.len().checked_div(pixels).unwrap_or(0);
        if n * pixels != scores.len() {
            return Err(Error::BufferSize {
                expected: n.saturating_add(1) * pixels,
                actual: scores.len(),
            });
        }
        let work = scores.len() / 4;
        let (h, w) = (height as usize, width as usize);
        let blocks = pool::map_blocks(pool::for_work(threads, work), n, |range| {
            // Two thresholded rows at a time (and the first): the row-major encoder
            // compares each row with the one above.
            let mut rows = [Vec::new(), Vec::new(), Vec::new()];
            for r in &mut rows {
                crate::alloc::reserve(r, w, "logit rows")?;
                r.resize(w, 0);
            }
            let [mut first, mut prev, mut row] = rows;
            let threshold = |out: &mut [u8], y: usize, mask: &[T]| {
                threshold_row(out, &mask[y * w..(y + 1) * w], &above);
            };
            let (mut runs, mut ends) = (Vec::new(), Vec::new());
            for i in range {
                let mask = &scores[i * pixels..(i + 1) * pixels];
                let mut flips = crate::encode::RowFlips::new(w);
                threshold(&mut first, 0, mask);
                prev.copy_from_slice(&first);
                for y in 1..h {
                    threshold(&mut row, y, mask);
                    flips.row(y, &prev, &row);
                    std::mem::swap(&mut prev, &mut row);
                }
                let counts = flips.finish(h, &first, &prev);
                crate::alloc::reserve(&mut runs, counts.len(), "run lengths")?;
                runs.extend_from_slice(&counts);
                ends.push(runs.len());
            }
            Ok::<_, Error>((runs, ends))
        });
        let mut out = RleBatch::new(height, width)?;
        for block in blocks {
            let (runs, ends) = block?;
            out.append_block(runs, &ends)?;
        }
        Ok(out)
    }

    /// Per `height x width` block of `scores`: how many are `above_hi` and how many
    /// `above_lo` (segment-anything's stability score is their ratio), in one pass.
    ///
    /// # Errors
    /// [`Error::BufferSize`] when `scores` is not a whole number of masks.
    pub fn count_above<T: Copy + Sync>(
        height: u64,
        width: u64,
        scores: &[T],
        above_hi: impl Fn(T) -> bool + Sync,
        above_lo: impl Fn(T) -> bool + Sync,
        threads: Option<usize>,
    ) -> Result<Vec<(u64, u64)>> {
        let pixels = pixel_count(height, width)? as usize;
        let n = scores.len().checked_div(pixels).unwrap_or(0);
        if n * pixels != scores.len() {
            return Err(Error::BufferSize {
                expected: n.saturating_add(1) * pixels,
                actual: scores.len(),
            });
        }
        Ok(pool::map_range(
            pool::for_work(threads, scores.len() / 4),
            n,
            |i| {
                scores[i * pixels..(i + 1) * pixels]
                    .iter()
                    .fold((0u64, 0u64), |(a, b), &v| {
                        (a + u64::from(above_hi(v)), b + u64::from(above_lo(v)))
                    })
            },
        ))
    }

    /// Rasterises one mask per entry of `polygons` (each a list of flat polygons
    /// `[x0, y0, x1, y1, ...]`, merged as COCO's `annToRLE` merges the parts), in
    /// parallel. A mask with no polygon is empty.
    ///
    /// # Errors
    /// The first bad polygon's error (see [`fr_poly`]), wrapped with its mask's index.
    pub fn from_polygons(
        height: u64,
        width: u64,
        polygons: &[Vec<Vec<f64>>],
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        pixel_count(height, width)?;
        let work = polygons.iter().flatten().map(|p| p.len() * 200).sum();
        let masks = pool::map_range(pool::for_work(threads, work), polygons.len(), |i| {
            let parts = polygons[i]
                .iter()
                .map(|p| fr_poly(p, height, width))
                .collect::<Result<Vec<Rle>>>()
                .map_err(|e| e.at(i))?;
            match merge_runs(&parts.iter().map(Rle::counts).collect::<Vec<_>>(), false) {
                Some(runs) => Ok(Rle::from_parts_unchecked(height, width, runs)),
                None => Rle::zeros(height, width),
            }
        });
        Self::collect(height, width, masks)
    }

    /// Rasterises boxes `[x, y, w, h]` as pycocotools' `frBbox`, in parallel.
    ///
    /// # Errors
    /// The first bad box's error (see [`fr_bbox`]), wrapped with its index.
    pub fn from_boxes(
        height: u64,
        width: u64,
        boxes: &[[f64; 4]],
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        pixel_count(height, width)?;
        let masks = pool::map_range(
            pool::for_work(threads, boxes.len() * 2000),
            boxes.len(),
            |i| fr_bbox(boxes[i], height, width).map_err(|e| e.at(i)),
        );
        Self::collect(height, width, masks)
    }

    fn collect(height: u64, width: u64, masks: Vec<Result<Rle>>) -> Result<RleBatch> {
        let masks = masks.into_iter().collect::<Result<Vec<Rle>>>()?;
        RleBatch::from_rles(height, width, &masks)
    }

    /// Number of masks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the batch has no masks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows of every mask.
    #[must_use]
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Columns of every mask.
    #[must_use]
    pub fn width(&self) -> u64 {
        self.width
    }

    /// The run lengths of mask `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    #[must_use]
    pub fn runs(&self, i: usize) -> &[u32] {
        &self.runs[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The masks as the lower-level kernels read them.
    pub(crate) fn masks(&self) -> crate::rle::Masks<'_> {
        crate::rle::Masks {
            height: self.height,
            width: self.width,
            offsets: &self.offsets,
            runs: &self.runs,
        }
    }

    /// Total number of runs held.
    #[must_use]
    pub fn total_runs(&self) -> usize {
        self.runs.len()
    }

    /// Mask `i` as an [`Rle`].
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`].
    pub fn rle(&self, i: usize) -> Result<Rle> {
        self.check_index(i)?;
        Ok(Rle::from_parts_unchecked(
            self.height,
            self.width,
            self.runs(i).to_vec(),
        ))
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i < self.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange {
                index: i,
                len: self.len(),
            })
        }
    }

    /// A new batch of the masks at `indices`, in that order (repeats allowed).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for the first index past the end.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// let b = RleBatch::from_counts_strings(1, 3, &[b"03".as_slice(), b"3", b"12"], None).unwrap();
    /// let s = b.select(&[2, 0]).unwrap();
    /// assert_eq!((s.runs(0), s.runs(1)), (&[1u32, 2][..], &[0u32, 3][..]));
    /// assert!(b.select(&[3]).is_err());
    /// ```
    pub fn select(&self, indices: &[usize]) -> Result<RleBatch> {
        let mut b = RleBatch::new(self.height, self.width)?;
        for &i in indices {
            self.check_index(i)?;
        }
        b.runs
            .reserve(indices.iter().map(|&i| self.runs(i).len()).sum());
        for &i in indices {
            b.push_unchecked(self.runs(i));
        }
        Ok(b)
    }

    /// Appends all masks of `other` (same size).
    ///
    /// # Errors
    /// [`Error::SizeMismatch`].
    pub fn extend(&mut self, other: &RleBatch) -> Result<()> {
        if (other.height, other.width) != (self.height, self.width) {
            return Err(Error::SizeMismatch {
                expected: (self.height, self.width),
                actual: (other.height, other.width),
            });
        }
        for i in 0..other.len() {
            self.push_unchecked(other.runs(i));
        }
        Ok(())
    }

    /// Foreground pixels of every mask.
    #[must_use]
    pub fn area(&self, threads: Option<usize>) -> Vec<u64> {
        pool::map_range(
            pool::for_work(threads, self.runs.len() / 8),
            self.len(),
            |i| area_of_runs(self.runs(i)),
        )
    }

    /// pycocotools' `toBbox` `[x, y, w, h]` of every mask.
    #[must_use]
    pub fn bbox(&self, threads: Option<usize>) -> Vec<[f64; 4]> {
        pool::map_range(pool::for_work(threads, self.runs.len()), self.len(), |i| {
            bbox_of_runs(self.height, self.width, self.runs(i))
        })
    }

    /// The compressed counts string of every mask (pycocotools' bytes).
    #[must_use]
    pub fn counts_strings(&self, threads: Option<usize>) -> Vec<Vec<u8>> {
        pool::map_range(
            pool::for_work(threads, 2 * self.runs.len()),
            self.len(),
            |i| write_counts(self.runs(i)),
        )
    }

    /// Decodes the masks at `indices` (all masks for `None`) into `out`, row-major
    /// `(n, height, width)` bytes (1 = foreground), one mask per thread at a time.
    ///
    /// With `out_is_zeroed` the caller promises `out` is all zeros (e.g. fresh zeroed
    /// pages): only foreground bytes are written.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], or [`Error::BufferSize`] when `out` does not hold
    /// `n * height * width` bytes.
    pub fn decode_into(
        &self,
        out: &mut [u8],
        indices: Option<&[usize]>,
        out_is_zeroed: bool,
        threads: Option<usize>,
    ) -> Result<()> {
        self.decode_into_order(out, indices, Order::RowMajor, out_is_zeroed, threads)
    }

    /// [`RleBatch::decode_into`] with each mask in the given memory order: row-major
    /// (`out[k][y][x]`, the `(n, h, w)` C-order array) or column-major (`out[k][x][y]`,
    /// pycocotools' Fortran-ordered `(h, w, n)` array).
    ///
    /// # Errors
    /// As [`RleBatch::decode_into`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::{Order, RleBatch};
    /// let b = RleBatch::from_runs(2, 2, &[vec![1, 1, 2]]).unwrap();
    /// let mut out = [9u8; 4];
    /// b.decode_into_order(&mut out, None, Order::ColumnMajor, false, None).unwrap();
    /// assert_eq!(out, [0, 1, 0, 0]);
    /// ```
    pub fn decode_into_order(
        &self,
        out: &mut [u8],
        indices: Option<&[usize]>,
        order: Order,
        out_is_zeroed: bool,
        threads: Option<usize>,
    ) -> Result<()> {
        if let Some(ix) = indices {
            for &i in ix {
                self.check_index(i)?;
            }
        }
        let count = indices.map_or(self.len(), <[usize]>::len);
        let mask = |k: usize| indices.map_or(k, |ix| ix[k]);
        let (h, w) = (self.height as usize, self.width as usize);
        let per_mask = h * w;
        if out.len() != count * per_mask {
            return Err(Error::BufferSize {
                expected: count * per_mask,
                actual: out.len(),
            });
        }
        if per_mask == 0 {
            return Ok(());
        }
        let mut slots: Vec<&mut [u8]> = out.chunks_mut(per_mask).collect();
        let work = count * per_mask / 8;
        pool::for_each_mut(pool::for_work(threads, work), &mut slots, |k, slot| {
            let runs = self.runs(mask(k));
            match order {
                // The slot has the size checked above, so this cannot fail.
                Order::RowMajor => drop(decode_row_major_into(h, w, runs, slot, out_is_zeroed)),
                Order::ColumnMajor => decode_column_major_into(runs, slot, out_is_zeroed),
            }
        });
        Ok(())
    }

    /// IoU of every mask of `self` (detections, rows) with every mask of `gt` (columns),
    /// row-major `(self.len(), gt.len())`, bit-identical to pycocotools' `iou(dt, gt,
    /// iscrowd)` (whose array is the same matrix). `iscrowd` is empty (no crowd) or has
    /// one flag per ground truth. Rows are split across threads.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] or [`Error::ArgumentLength`]; [`Error::OutOfMemory`] when
    /// the matrix (and the per-thread partial counts) cannot be allocated.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// let dt = RleBatch::from_runs(10, 10, &[vec![0, 50, 50]]).unwrap();
    /// let gt = RleBatch::from_runs(10, 10, &[vec![0, 100], vec![100]]).unwrap();
    /// assert_eq!(dt.iou(&gt, &[], None).unwrap(), vec![0.5, 0.0]);
    /// assert_eq!(dt.iou(&gt, &[true, false], None).unwrap(), vec![1.0, 0.0]);
    /// ```
    pub fn iou(&self, gt: &RleBatch, iscrowd: &[bool], threads: Option<usize>) -> Result<Vec<f64>> {
        if (gt.height, gt.width) != (self.height, self.width) {
            return Err(Error::SizeMismatch {
                expected: (self.height, self.width),
                actual: (gt.height, gt.width),
            });
        }
        if !iscrowd.is_empty() && iscrowd.len() != gt.len() {
            return Err(Error::ArgumentLength {
                what: "iscrowd",
                per: "ground-truth mask",
                expected: gt.len(),
                actual: iscrowd.len(),
            });
        }
        let symmetric = std::ptr::eq(self, gt) && !iscrowd.contains(&true);
        if self.len() * gt.len() <= SMALL_IOU_PAIRS {
            return self.iou_by_pairs(gt, iscrowd, symmetric);
        }
        self.iou_by_columns(gt, iscrowd, symmetric, threads)
    }

    /// The IoU matrix pair by pair, each pair's boxes first (COCO evaluation's per image
    /// and category calls of a few masks: a walk over the image's columns would cost
    /// more than the pairs). The same values as [`RleBatch::iou_by_columns`].
    fn iou_by_pairs(&self, gt: &RleBatch, iscrowd: &[bool], symmetric: bool) -> Result<Vec<f64>> {
        let (h, w) = (self.height, self.width);
        let prepare = |b: &RleBatch| -> Vec<IouMask> {
            (0..b.len())
                .map(|i| IouMask::from_runs(h, w, b.runs(i)))
                .collect()
        };
        let d = prepare(self);
        let g = if symmetric { Vec::new() } else { prepare(gt) };
        crate::iou::pairs_row_major(&d, if symmetric { &d } else { &g }, h, iscrowd, symmetric)
    }

    /// The IoU matrix from the intersections counted by one walk over the columns
    /// (see `column_iou`); pycocotools' values, since pairs that do not intersect have 0
    /// either way.
    fn iou_by_columns(
        &self,
        gt: &RleBatch,
        iscrowd: &[bool],
        symmetric: bool,
        threads: Option<usize>,
    ) -> Result<Vec<f64>> {
        let (n, m) = (self.len(), gt.len());
        // The result first: a matrix that cannot be had fails before any work.
        let mut out = crate::iou::result_matrix(n, m)?;
        let mut inter = column_iou::intersections(self.masks(), gt.masks(), symmetric, threads)?;
        let da = self.area(threads);
        let ga = if symmetric {
            Vec::new()
        } else {
            gt.area(threads)
        };
        let ga = if symmetric { &da } else { &ga };
        if symmetric {
            for i in 0..n {
                inter[i * n + i] = da[i];
            }
        }
        for i in 0..n {
            for j in 0..m {
                let x = inter[i * m + j];
                if x == 0 || (symmetric && j > i) {
                    continue;
                }
                let crowd = iscrowd.get(j).copied().unwrap_or(false);
                out[i * m + j] = crate::iou::iou_of(x, da[i], ga[j], crowd);
            }
        }
        if symmetric {
            for i in 0..n {
                for j in i + 1..n {
                    out[i * n + j] = out[j * n + i];
                }
            }
        }
        Ok(out)
    }

    /// The union (or intersection) of all masks, folded as pycocotools' `merge`, as a
    /// one-mask batch. The union of no masks is empty, their intersection full.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// let b = RleBatch::from_runs(1, 6, &[vec![0, 2, 4], vec![1, 2, 3]]).unwrap();
    /// assert_eq!(b.merge(false).runs(0), &[0, 3, 3]);
    /// assert_eq!(b.merge(true).runs(0), &[1, 1, 4]);
    /// ```
    #[must_use]
    pub fn merge(&self, intersect: bool) -> RleBatch {
        let pixels = (self.height * self.width) as u32;
        let lists: Vec<&[u32]> = (0..self.len()).map(|i| self.runs(i)).collect();
        let runs = merge_runs(&lists, intersect).unwrap_or_else(|| {
            if intersect {
                vec![0, pixels]
            } else {
                vec![pixels]
            }
        });
        let mut b = RleBatch {
            height: self.height,
            width: self.width,
            offsets: vec![0],
            runs: Vec::new(),
        };
        b.push_unchecked(&runs);
        b
    }

    /// Each mask's inner boundary band as boundary-iou-api's `mask_to_boundary` gives
    /// it at `dilation_ratio` (see [`crate::boundary`]), in parallel, from the runs.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// // A full 5x5 mask keeps its outer ring (d = max(1, round(0.02 * 7.07)) = 1).
    /// let b = RleBatch::from_runs(5, 5, &[vec![0, 25]]).unwrap();
    /// assert_eq!(b.boundary(0.02, None).unwrap().area(None), [16]);
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a ratio that is not finite; [`Error::OutOfMemory`].
    pub fn boundary(&self, dilation_ratio: f64, threads: Option<usize>) -> Result<RleBatch> {
        let d = crate::boundary::dilation(self.height, self.width, dilation_ratio)?;
        let (h, w) = (self.height, self.width);
        self.map_masks(h, w, threads, |i, s, out| {
            crate::boundary::boundary_runs(h, w, self.runs(i), d, s, out)
        })
    }

    /// A batch of `height x width` masks, mask `i` written by `f(i, scratch, out)` into
    /// `out`, in parallel blocks; the result is validated before it is returned.
    pub(crate) fn map_masks(
        &self,
        height: u64,
        width: u64,
        threads: Option<usize>,
        f: impl Fn(usize, &mut crate::boundary::Scratch, &mut Vec<u32>) -> Result<()> + Sync,
    ) -> Result<RleBatch> {
        self.map_masks_with(height, width, threads, |i, s, (), out| f(i, s, out))
    }

    /// [`RleBatch::map_masks`] with a `T` of each block's own, reused from mask to mask.
    pub(crate) fn map_masks_with<T: Default>(
        &self,
        height: u64,
        width: u64,
        threads: Option<usize>,
        f: impl Fn(usize, &mut crate::boundary::Scratch, &mut T, &mut Vec<u32>) -> Result<()> + Sync,
    ) -> Result<RleBatch> {
        pixel_count(height, width)?;
        let n = self.len();
        let work = self.total_runs() * 20 + n * (width as usize);
        let threads = pool::for_work(threads, work);
        let blocks = pool::map_blocks_with(threads, n, |range, state: &mut (_, T, _)| {
            let (scratch, own, one) = state;
            let (mut runs, mut ends) = (Vec::new(), Vec::new());
            // The input's size as a first guess (growth reallocates and faults in pages).
            let guess = self.offsets[range.end] - self.offsets[range.start] + 2 * range.len();
            crate::alloc::reserve(&mut runs, guess, "run lengths")?;
            crate::alloc::reserve(&mut ends, range.len(), "mask offsets")?;
            for i in range {
                f(i, scratch, own, one).map_err(|e| e.at(i))?;
                crate::alloc::reserve(&mut runs, one.len(), "run lengths")?;
                runs.extend_from_slice(one);
                ends.push(runs.len());
            }
            Ok::<_, Error>((runs, ends))
        });
        let mut out = RleBatch::new(height, width)?;
        for block in blocks {
            let (runs, ends) = block?;
            out.append_block(runs, &ends)?;
        }
        Ok(out)
    }

    /// `op` of this batch's masks with `other`'s, mask by mask (a batch of one mask on
    /// either side is paired with every mask of the other).
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] for masks of another size; [`Error::ArgumentLength`] for
    /// lengths that do not broadcast.
    pub fn combine(
        &self,
        other: &RleBatch,
        op: crate::ops::SetOp,
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        if (self.height, self.width) != (other.height, other.width) {
            return Err(Error::SizeMismatch {
                expected: (self.height, self.width),
                actual: (other.height, other.width),
            });
        }
        let (n, m) = (self.len(), other.len());
        if n != m && n != 1 && m != 1 {
            return Err(Error::Inconsistent {
                message: format!("batches of {n} and {m} masks do not broadcast (one of them must have 1 mask or both the same number)"),
            });
        }
        let pixels = self.height * self.width;
        let pick = |len: usize, i: usize| if len == 1 { 0 } else { i };
        let (h, w) = (self.height, self.width);
        let driver = if n >= m { self } else { other };
        driver.map_masks(h, w, threads, |i, _, out| {
            crate::ops::combine(
                self.runs(pick(n, i)),
                other.runs(pick(m, i)),
                pixels,
                op,
                out,
            )
        })
    }

    /// Each mask's complement.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn invert(&self, threads: Option<usize>) -> Result<RleBatch> {
        let pixels = self.height * self.width;
        self.map_masks(self.height, self.width, threads, |i, _, out| {
            crate::ops::invert(self.runs(i), pixels, out);
            Ok(())
        })
    }

    /// A geometric transform of every mask (see [`Geometry`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a crop box outside the image; [`Error::SizeTooLarge`]
    /// for a result over 2**32 - 1 pixels; [`Error::OutOfMemory`].
    pub fn geometry(&self, g: Geometry, threads: Option<usize>) -> Result<RleBatch> {
        use crate::ops::{crop, flip_columns, flip_rows, pad, rot90, shift, transpose};
        let (h, w) = (self.height, self.width);
        let (h2, w2) = match g {
            Geometry::FlipUd | Geometry::FlipLr | Geometry::Shift { .. } => (h, w),
            Geometry::Transpose => (w, h),
            Geometry::Rot90(k) => {
                if k.rem_euclid(2) == 0 {
                    (h, w)
                } else {
                    (w, h)
                }
            }
            Geometry::Crop([x, y, cw, ch]) => {
                if x.checked_add(cw).is_none_or(|e| e > w)
                    || y.checked_add(ch).is_none_or(|e| e > h)
                {
                    return Err(Error::InvalidArgument {
                        message: format!(
                            "the crop box (x {x}, y {y}, w {cw}, h {ch}) is not inside the \
                             {w}x{h} (WxH) image"
                        ),
                    });
                }
                (ch, cw)
            }
            Geometry::Resize { height, width, .. } => {
                if height == 0 || width == 0 {
                    return Err(Error::InvalidArgument {
                        message: format!(
                            "cannot resize to {width}x{height} (WxH): both must be at least 1"
                        ),
                    });
                }
                (height, width)
            }
            Geometry::Pad([t, b, l, r]) => {
                let add = |a: u64, x: u64, y: u64| a.checked_add(x).and_then(|v| v.checked_add(y));
                match (add(h, t, b), add(w, l, r)) {
                    (Some(h2), Some(w2)) => (h2, w2),
                    _ => {
                        return Err(Error::SizeTooLarge {
                            height: u64::MAX,
                            width: u64::MAX,
                        })
                    }
                }
            }
        };
        self.map_masks(h2, w2, threads, |i, s, out| {
            let runs = self.runs(i);
            match g {
                Geometry::FlipUd => flip_rows(h, w, runs, s, out),
                Geometry::FlipLr => flip_columns(h, w, runs, s, out),
                Geometry::Transpose => transpose(h, w, runs, s, out),
                Geometry::Crop(b) => crop(h, w, runs, b, s, out),
                Geometry::Pad(p) => pad(h, w, runs, p, s, out),
                Geometry::Shift { dy, dx } => shift(h, w, runs, dy, dx, s, out),
                Geometry::Resize { mode, .. } => {
                    crate::ops::resize(h, w, runs, (h2, w2), mode, s, out);
                }
                Geometry::Rot90(k) => rot90(h, w, runs, k, s, out),
            }
            Ok(())
        })
    }

    /// Each mask dilated, eroded, opened (erosion then dilation) or closed (dilation
    /// then erosion) by `OpenCV`'s `(2r+1)` structuring element `shape`, pixels outside
    /// the image counting as background at every step (see [`crate::ops::morph`]).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn morphology(
        &self,
        op: Morphology,
        radius: u64,
        shape: crate::ops::Shape,
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        let (h, w) = (self.height, self.width);
        let steps: &[bool] = match op {
            Morphology::Dilate => &[true],
            Morphology::Erode => &[false],
            Morphology::Open => &[false, true],
            Morphology::Close => &[true, false],
        };
        self.map_masks(h, w, threads, |i, s, out| {
            let mut src = std::mem::take(&mut s.spare2);
            src.clear();
            src.extend_from_slice(self.runs(i));
            for &dilate in steps {
                crate::ops::morph(h, w, &src, radius, shape, dilate, s, out)?;
                std::mem::swap(&mut src, out);
            }
            std::mem::swap(&mut src, out);
            s.spare2 = src;
            Ok(())
        })
    }

    /// Every connected component of every mask (`eight`: 8-connectivity, else 4), each
    /// mask's in `OpenCV`'s label order (by first pixel in a row-major scan), with the
    /// index of the mask each comes from.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn components(&self, eight: bool, threads: Option<usize>) -> Result<(RleBatch, Vec<i64>)> {
        let (h, w) = (self.height, self.width);
        let work = self.total_runs() * 20;
        let threads = pool::for_work(threads, work);
        let blocks = pool::map_blocks_with(threads, self.len(), |range, state| {
            let (c, one): &mut (Components, Vec<u32>) = state;
            let (mut runs, mut ends, mut owners) = (Vec::new(), Vec::new(), Vec::new());
            // (Each component is a whole mask: twice the input's runs as a first guess.)
            let guess = 2 * (self.offsets[range.end] - self.offsets[range.start]);
            crate::alloc::reserve(&mut runs, guess, "run lengths")?;
            for i in range {
                c.label(h, self.runs(i), eight);
                if c.len() == 1 {
                    // One component: the mask itself.
                    crate::ops::canonical(self.runs(i), h * w, one);
                    crate::alloc::reserve(&mut runs, one.len(), "run lengths")?;
                    runs.extend_from_slice(one);
                    ends.push(runs.len());
                } else {
                    c.each(h, w, &mut runs, &mut ends);
                }
                owners.resize(ends.len(), i as i64);
            }
            Ok::<_, Error>((runs, ends, owners))
        });
        let mut out = RleBatch::new(h, w)?;
        let mut owners = Vec::new();
        for block in blocks {
            let (runs, ends, own) = block?;
            out.append_block(runs, &ends)?;
            owners.extend(own);
        }
        Ok((out, owners))
    }

    /// Each mask's largest connected component (ties: the first in label order; an empty
    /// mask stays empty).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn largest_component(&self, eight: bool, threads: Option<usize>) -> Result<RleBatch> {
        let (h, w) = (self.height, self.width);
        self.map_masks_with(h, w, threads, |i, _, c: &mut Components, out| {
            c.label_unordered(h, self.runs(i), eight);
            if c.len() <= 1 {
                // One component (or none): the mask itself.
                crate::ops::canonical(self.runs(i), h * w, out);
                return Ok(());
            }
            let best = c.first_largest(h, eight);
            c.union(h, w, |k| Some(k) == best, out);
            Ok(())
        })
    }

    /// segment-anything's `remove_small_regions` of each mask: with `holes`, the
    /// 8-connected components of the background smaller than `area_thresh` filled, else
    /// the mask's components smaller than it removed (all of them small: the largest
    /// kept); with whether anything was small (SAM's `changed`).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn remove_small_regions(
        &self,
        area_thresh: f64,
        holes: bool,
        threads: Option<usize>,
    ) -> Result<(RleBatch, Vec<bool>)> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (h, w) = (self.height, self.width);
        let changed: Vec<AtomicBool> = (0..self.len()).map(|_| AtomicBool::new(false)).collect();
        // Holes: the background labelled in the columns it can have holes in, when a
        // whole column (`h` pixels) is not small (see `hole_background`).
        let whole = (h as f64) < area_thresh;
        let out = self.map_masks_with(h, w, threads, |i, s, c: &mut Components, out| {
            let (mut canon, mut back) =
                (std::mem::take(&mut s.spare), std::mem::take(&mut s.spare2));
            let (runs, window) = if holes {
                let window =
                    crate::ops::hole_background(h, w, self.runs(i), whole, &mut canon, &mut back);
                (&back[..], window)
            } else {
                (self.runs(i), (0, w))
            };
            c.label_unordered(h, runs, true);
            let small = |k: usize| (c.areas[k] as f64) < area_thresh;
            if (0..c.len()).any(small) {
                changed[i].store(true, Ordering::Relaxed);
                if holes {
                    // The mask and its small holes.
                    let mut filled = Vec::new();
                    c.union(h, window.1, small, &mut filled);
                    crate::ops::widen(h, w, window, &mut filled);
                    crate::ops::combine(self.runs(i), &filled, h * w, crate::ops::SetOp::Or, out)?;
                } else if (0..c.len()).all(small) {
                    // Every island small: SAM keeps the largest (the first of equals).
                    let best = c.first_largest(h, true);
                    c.union(h, w, |k| Some(k) == best, out);
                } else {
                    c.union(h, w, |k| !small(k), out);
                }
            } else {
                crate::ops::canonical(self.runs(i), h * w, out);
            }
            (s.spare, s.spare2) = (canon, back);
            Ok(())
        })?;
        Ok((
            out,
            changed.into_iter().map(AtomicBool::into_inner).collect(),
        ))
    }

    /// Each mask with its holes filled: the 4-connected background components that do
    /// not touch the border (`scipy.ndimage.binary_fill_holes`).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    pub fn fill_holes(&self, threads: Option<usize>) -> Result<RleBatch> {
        let (h, w) = (self.height, self.width);
        self.map_masks_with(h, w, threads, |i, s, c: &mut Components, out| {
            // (Components reaching the side columns of the window touch the border.)
            let (mut canon, mut back) =
                (std::mem::take(&mut s.spare), std::mem::take(&mut s.spare2));
            let window =
                crate::ops::hole_background(h, w, self.runs(i), false, &mut canon, &mut back);
            c.label_unordered(h, &back, false);
            let mut inside = Vec::new();
            let border = c.touching_border(h, window.1);
            c.union(h, window.1, |k| !border[k], &mut inside);
            crate::ops::widen(h, w, window, &mut inside);
            crate::ops::combine(self.runs(i), &inside, h * w, crate::ops::SetOp::Or, out)?;
            (s.spare, s.spare2) = (canon, back);
            Ok(())
        })
    }

    /// Each mask's centroid `[x, y]` (the mean of its pixels' column and row indices),
    /// `None` for an empty mask.
    #[must_use]
    pub fn centroid(&self, threads: Option<usize>) -> Vec<Option<[f64; 2]>> {
        let work = self.total_runs();
        pool::map_range(pool::for_work(threads, work), self.len(), |i| {
            crate::ops::centroid(self.height, self.runs(i))
        })
    }

    /// A batch from run lists (validated as [`RleBatch::push_runs`]).
    ///
    /// # Errors
    /// [`Error::SizeTooLarge`], or the first bad list's error wrapped with its index.
    pub fn from_runs(height: u64, width: u64, runs: &[Vec<u32>]) -> Result<RleBatch> {
        let mut b = RleBatch::new(height, width)?;
        for (i, r) in runs.iter().enumerate() {
            b.push_runs(r).map_err(|e| e.at(i))?;
        }
        Ok(b)
    }
}

/// A morphological operation (see [`RleBatch::morphology`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Morphology {
    /// Dilation.
    Dilate,
    /// Erosion.
    Erode,
    /// Erosion, then dilation.
    Open,
    /// Dilation, then erosion.
    Close,
}

/// A geometric transform of masks (see [`RleBatch::geometry`]); numpy's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// Rows reversed (`flipud`).
    FlipUd,
    /// Columns reversed (`fliplr`).
    FlipLr,
    /// Rows and columns exchanged: `(H, W)` becomes `(W, H)`.
    Transpose,
    /// numpy's `rot90(m, k)` (counter-clockwise quarter turns; any integer).
    Rot90(i64),
    /// The box `[x, y, w, h]` (inside the image).
    Crop([u64; 4]),
    /// Background added: `[top, bottom, left, right]`.
    Pad([u64; 4]),
    /// Resized to `height x width` (both at least 1) by `mode`.
    Resize {
        /// Output rows.
        height: u64,
        /// Output columns.
        width: u64,
        /// Which source pixel each output pixel takes.
        mode: crate::ops::Resize,
    },
    /// Content moved `dy` rows down and `dx` columns right; background enters.
    Shift {
        /// Rows.
        dy: i64,
        /// Columns.
        dx: i64,
    },
}

/// IoU of every detection mask with every ground-truth mask, as pycocotools' `iou`.
///
/// Layout as in [`crate::bbox_iou`]: entry `g * dt.len() + d`. Pairs whose boxes do not overlap
/// are exactly 0.0 without looking at their runs.
///
/// # Errors
/// [`crate::Error::SizeMismatch`] when the masks do not all have one size (pycocotools
/// returns -1 for such pairs), wrapped in [`crate::Error::Item`] whose index counts `dt`
/// first, then `gt` (index `dt.len() + j` is `gt[j]`).
///
/// # Examples
/// ```
/// use sa1b_rle::{mask_iou, Rle};
/// let dt = [Rle::new(10, 10, vec![0, 50, 50]).unwrap()];
/// let gt = [Rle::new(10, 10, vec![0, 100]).unwrap()];
/// assert_eq!(mask_iou(&dt, &gt, &[]).unwrap(), vec![0.5]);
/// assert_eq!(mask_iou(&dt, &gt, &[true]).unwrap(), vec![1.0]);
/// ```
pub fn mask_iou(dt: &[Rle], gt: &[Rle], iscrowd: &[bool]) -> Result<Vec<f64>> {
    let Some((height, width)) = crate::rle::common_size_of(dt.iter().chain(gt).map(Rle::size))?
    else {
        return Ok(Vec::new());
    };
    // The one IoU engine: the batch's (row-major by detection), laid out as cocoapi's.
    let d = RleBatch::from_rles(height, width, dt)?;
    let g = RleBatch::from_rles(height, width, gt)?;
    gt_major(&d.iou(&g, iscrowd, None)?, dt.len(), gt.len())
}

/// [`mask_iou`] of COCO inputs (compressed counts or runs, validated as
/// [`RleBatch::from_coco`] does), `gt: None` being `dt` itself: parsed once, and one
/// triangle computed when nothing is crowd. pycocotools' `iou(rles, rles, iscrowd)`.
///
/// # Errors
/// As [`mask_iou`], and the errors of [`RleBatch::from_coco`], wrapped in
/// [`crate::Error::Item`] whose index counts `dt` first, then `gt`.
///
/// # Examples
/// ```
/// use sa1b_rle::input::RleRef;
/// // A 2x2 block and an empty mask (IoU 0, also with itself).
/// let dt = [RleRef::compressed(3, 4, b"42102"), RleRef::compressed(3, 4, b"<")];
/// assert_eq!(sa1b_rle::coco_iou(&dt, None, &[]).unwrap(), [1.0, 0.0, 0.0, 0.0]);
/// ```
pub fn coco_iou(
    dt: &[RleRef<'_>],
    gt: Option<&[RleRef<'_>]>,
    iscrowd: &[bool],
) -> Result<Vec<f64>> {
    let (n, m) = (dt.len(), gt.map_or(dt.len(), <[_]>::len));
    let sizes = dt.iter().chain(gt.unwrap_or_default()).map(RleRef::size);
    if crate::rle::common_size_of(sizes)?.is_none() {
        return Ok(Vec::new());
    }
    let d = RleBatch::from_coco(dt, None)?;
    let rows = match gt {
        None => d.iou(&d, iscrowd, None)?,
        Some(gt) => {
            let g = RleBatch::from_coco(gt, None).map_err(|e| match e {
                Error::Item { index, source } => Error::Item {
                    index: index + n,
                    source,
                },
                e => e,
            })?;
            d.iou(&g, iscrowd, None)?
        }
    };
    gt_major(&rows, n, m)
}

/// A row-major `(n, m)` matrix (by detection) as pycocotools lays it out: entry
/// `j * n + i`.
fn gt_major(rows: &[f64], n: usize, m: usize) -> Result<Vec<f64>> {
    let mut out = crate::iou::result_matrix(n, m)?;
    for (i, row) in rows.chunks_exact(m.max(1)).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[j * n + i] = v;
        }
    }
    Ok(out)
}

/// Compressed counts strings end to end, string `k` being
/// `data[offsets[k]..offsets[k + 1]]` (`offsets[0] == 0`): Arrow's binary layout, the
/// SA-1B columns' counts and the pickle format of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountsBuffers {
    /// `n + 1` offsets into `data`.
    pub offsets: Vec<i64>,
    /// The strings.
    pub data: Vec<u8>,
}

impl CountsBuffers {
    /// Empty buffers (no strings).
    #[must_use]
    pub fn new() -> CountsBuffers {
        CountsBuffers {
            offsets: vec![0],
            data: Vec::new(),
        }
    }

    /// Appends the strings of another batch's buffers.
    pub fn extend(&mut self, other: &CountsBuffers) {
        let base = self.data.len() as i64;
        self.data.extend_from_slice(&other.data);
        self.offsets
            .extend(other.offsets.iter().skip(1).map(|&o| base + o));
    }

    /// The strings, each checked to lie inside `data`.
    ///
    /// # Errors
    /// [`Error::InvalidOffsets`] naming the first string whose offsets are wrong.
    pub fn strings<'a>(offsets: &[i64], data: &'a [u8]) -> Result<Vec<&'a [u8]>> {
        let mut out = crate::alloc::with_capacity(offsets.len().saturating_sub(1), "strings")?;
        for (index, pair) in offsets.windows(2).enumerate() {
            let (start, end) = (pair[0], pair[1]);
            if start < 0 || end < start || end as u64 > data.len() as u64 {
                return Err(Error::InvalidOffsets {
                    index,
                    start,
                    end,
                    len: data.len(),
                });
            }
            out.push(&data[start as usize..end as usize]);
        }
        Ok(out)
    }

    /// The offsets as little-endian int64 bytes (the pickle form).
    #[must_use]
    pub fn offsets_le_bytes(&self) -> Vec<u8> {
        self.offsets.iter().flat_map(|o| o.to_le_bytes()).collect()
    }

    /// Offsets from their little-endian int64 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidOffsets`] when the length is not a multiple of 8.
    pub fn offsets_from_le_bytes(bytes: &[u8]) -> Result<Vec<i64>> {
        let (words, rest) = bytes.as_chunks::<8>();
        if !rest.is_empty() {
            return Err(Error::InvalidOffsets {
                index: usize::MAX,
                start: 0,
                end: 0,
                len: bytes.len(),
            });
        }
        Ok(words.iter().map(|w| i64::from_le_bytes(*w)).collect())
    }
}

impl RleBatch {
    /// The compressed counts strings of every mask as one [`CountsBuffers`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::RleBatch;
    /// let b = RleBatch::from_runs(3, 4, &[vec![4, 2, 1, 2, 3], vec![12]]).unwrap();
    /// let buf = b.counts_buffers(None);
    /// assert_eq!((buf.offsets.as_slice(), buf.data.as_slice()), (&[0, 5, 6][..], &b"42102<"[..]));
    /// let back = RleBatch::from_counts_buffers(3, 4, &buf.offsets, &buf.data, None).unwrap();
    /// assert_eq!(back, b);
    /// ```
    #[must_use]
    pub fn counts_buffers(&self, threads: Option<usize>) -> CountsBuffers {
        let strings = self.counts_strings(threads);
        let mut out = CountsBuffers {
            offsets: Vec::with_capacity(strings.len() + 1),
            data: Vec::with_capacity(strings.iter().map(Vec::len).sum()),
        };
        out.offsets.push(0);
        for s in &strings {
            out.data.extend_from_slice(s);
            out.offsets.push(out.data.len() as i64);
        }
        out
    }

    /// A batch of masks of `height` x `width` from [`CountsBuffers`]' parts, every string
    /// validated.
    ///
    /// # Errors
    /// [`Error::InvalidOffsets`], or the first bad string's error wrapped with its index.
    pub fn from_counts_buffers(
        height: u64,
        width: u64,
        offsets: &[i64],
        data: &[u8],
        threads: Option<usize>,
    ) -> Result<RleBatch> {
        let strings = CountsBuffers::strings(offsets, data)?;
        RleBatch::from_counts_strings(height, width, &strings, threads)
    }

    /// A batch of COCO RLEs of one size, parsed once into the batch's buffer (in parallel
    /// for large inputs). No RLEs give an empty 0x0 batch.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] at the first RLE of another size; otherwise the first bad
    /// RLE's error (see [`RleRef::runs_into`]), wrapped with its index.
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::input::{Counts, RleRef};
    /// use sa1b_rle::RleBatch;
    /// let rles = [
    ///     RleRef::compressed(3, 4, b"42102"),
    ///     RleRef { height: 3, width: 4, counts: Counts::Runs(&[12]) },
    /// ];
    /// let b = RleBatch::from_coco(&rles, None).unwrap();
    /// assert_eq!(b.area(None), [4, 0]);
    /// ```
    pub fn from_coco(items: &[RleRef<'_>], threads: Option<usize>) -> Result<RleBatch> {
        let (height, width) = crate::input::common_size(items)?.unwrap_or((0, 0));
        let mut b = RleBatch::new(height, width)?;
        let work = items.iter().map(|r| r.counts.work()).sum();
        let threads = pool::for_work(threads, work);
        if pool::num_threads(threads) == 1 {
            for (i, r) in items.iter().enumerate() {
                b.push_with(|runs| r.runs_into(runs)).map_err(|e| e.at(i))?;
            }
            return Ok(b);
        }
        let parts = pool::map_blocks(threads, items.len(), |range| {
            let mut runs = Vec::new();
            let mut ends = Vec::new();
            for i in range {
                items[i].runs_into(&mut runs).map_err(|e| e.at(i))?;
                ends.push(runs.len());
            }
            Ok::<_, Error>((runs, ends))
        });
        for part in parts {
            let (runs, ends) = part?;
            b.push_many(&runs, &ends)?;
        }
        Ok(b)
    }
}

/// pycocotools' `merge`: the union (or intersection) of RLEs of one size. No RLEs give
/// the 0x0 mask with no runs; one RLE gives itself (its runs unchanged).
///
/// # Errors
/// As [`RleBatch::from_coco`].
///
/// # Examples
/// ```
/// use sa1b_rle::{input::RleRef, merge_coco};
/// let rles = [RleRef::compressed(1, 6, b"024"), RleRef::compressed(1, 6, b"123")];
/// assert_eq!(merge_coco(&rles, false).unwrap().counts(), &[0, 3, 3]);
/// assert_eq!(merge_coco(&[], false).unwrap().size(), (0, 0));
/// ```
pub fn merge_coco(items: &[RleRef<'_>], intersect: bool) -> Result<Rle> {
    if items.is_empty() {
        return Ok(Rle::from_parts_unchecked(0, 0, Vec::new()));
    }
    RleBatch::from_coco(items, None)?.merge(intersect).rle(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_matrices_by_pairs_equal_the_column_walk() {
        let mut rnd = crate::test_support::rng(0x5ca1_ab1e_0000_0001);
        for round in 0..300 {
            let (h, w) = (1 + rnd(30), 1 + rnd(30));
            let (nd, ng) = (rnd(12) as usize, rnd(12) as usize);
            let dt = crate::test_support::random_batch(&mut rnd, h, w, nd);
            let gt = crate::test_support::random_batch(&mut rnd, h, w, ng);
            let crowd: Vec<bool> = (0..ng).map(|_| rnd(3) == 0).collect();
            for c in [&[][..], &crowd[..]] {
                let by_pairs = dt.iou_by_pairs(&gt, c, false).unwrap();
                let by_columns = dt.iou_by_columns(&gt, c, false, Some(1)).unwrap();
                assert_eq!(by_pairs, by_columns, "round {round}");
            }
            let by_pairs = dt.iou_by_pairs(&dt, &[], true).unwrap();
            let by_columns = dt.iou_by_columns(&dt, &[], true, Some(1)).unwrap();
            assert_eq!(by_pairs, by_columns, "round {round} (symmetric)");
        }
    }

    fn sample() -> RleBatch {
        let masks: Vec<Vec<u8>> = (0..9u8)
            .map(|k| {
                (0..12 * 7)
                    .map(|p| u8::from((p * 7 + usize::from(k) * 5) % 11 < 4))
                    .collect()
            })
            .collect();
        let views: Vec<&[u8]> = masks.iter().map(Vec::as_slice).collect();
        RleBatch::from_dense(12, 7, &views, Order::ColumnMajor, Some(1)).unwrap()
    }

    #[test]
    fn results_do_not_depend_on_threads() {
        let b = sample();
        let base_iou = b.iou(&b, &[], Some(1)).unwrap();
        let base_decode = {
            let mut o = vec![0u8; b.len() * 84];
            b.decode_into(&mut o, None, false, Some(1)).unwrap();
            o
        };
        for t in [2, 3, 8] {
            assert_eq!(b.iou(&b, &[], Some(t)).unwrap(), base_iou);
            let mut o = vec![5u8; b.len() * 84];
            b.decode_into(&mut o, None, false, Some(t)).unwrap();
            assert_eq!(o, base_decode);
            assert_eq!(b.area(Some(t)), b.area(Some(1)));
            assert_eq!(b.counts_strings(Some(t)), b.counts_strings(Some(1)));
        }
    }

    #[test]
    fn symmetric_iou_equals_the_general_one() {
        let b = sample();
        let copy = b.clone();
        assert_eq!(
            b.iou(&b, &[], Some(2)).unwrap(),
            b.iou(&copy, &[], Some(2)).unwrap()
        );
        let crowd: Vec<bool> = (0..b.len()).map(|i| i % 3 == 0).collect();
        assert_eq!(
            b.iou(&b, &crowd, None).unwrap(),
            b.iou_by_columns(&copy, &crowd, false, Some(1)).unwrap()
        );
    }

    #[test]
    fn errors_name_the_item() {
        let e = RleBatch::from_counts_strings(2, 2, &[b"4".as_slice(), b"3"], None).unwrap_err();
        assert!(matches!(e, Error::Item { index: 1, .. }));
        let b = sample();
        assert!(b.iou(&b, &[true], None).is_err());
        let other = RleBatch::new(3, 3).unwrap();
        assert!(b.iou(&other, &[], None).is_err());
        assert!(b
            .decode_into(&mut [0; 84], Some(&[9]), false, None)
            .is_err());
        assert!(b
            .decode_into(&mut [0; 83], Some(&[0]), false, None)
            .is_err());
    }

    #[test]
    fn merge_of_none() {
        let b = RleBatch::new(2, 2).unwrap();
        assert_eq!(b.merge(false).runs(0), &[4]);
        assert_eq!(b.merge(true).runs(0), &[0, 4]);
    }
}

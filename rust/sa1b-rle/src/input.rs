//! RLEs as COCO writes them (a size and counts: a compressed string or a list of runs),
//! borrowed from wherever they live, and the one way from them into the engine: parse
//! and validate once, into one buffer.
//!
//! The drop-in `mask` functions and `RleBatch::from_coco` (which builds on this module)
//! all come in through here, so a counts string is checked by exactly one set of rules.

use crate::alloc;
use crate::counts::parse_counts_into;
use crate::error::Result;
use crate::pool;
use crate::rle::{bbox_of_runs, check_runs, check_total, pixel_count, run_sums, Rle};

/// The counts of one RLE as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts<'a> {
    /// A compressed counts string (pycocotools' `bytes`, or the `str` of a JSON file).
    Compressed(&'a [u8]),
    /// Uncompressed run lengths (COCO's crowd annotations).
    Runs(&'a [u32]),
}

impl Counts<'_> {
    /// Rough work units (characters or runs) of parsing these counts.
    pub(crate) fn work(&self) -> usize {
        match self {
            Counts::Compressed(s) => s.len(),
            Counts::Runs(r) => r.len(),
        }
    }
}

/// One RLE as given: `{"size": [height, width], "counts": ...}`, not yet validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RleRef<'a> {
    pub height: u64,
    pub width: u64,
    pub counts: Counts<'a>,
}

impl<'a> RleRef<'a> {
    /// An RLE with a compressed counts string.
    #[must_use]
    pub fn compressed(height: u64, width: u64, counts: &'a [u8]) -> Self {
        RleRef {
            height,
            width,
            counts: Counts::Compressed(counts),
        }
    }

    /// `(height, width)`.
    #[must_use]
    pub fn size(&self) -> (u64, u64) {
        (self.height, self.width)
    }

    /// Appends the validated runs to `out`: the counts string parsed, the runs checked to
    /// sum to `height * width`. On error `out` is left as it was.
    ///
    /// # Errors
    /// [`crate::Error::SizeTooLarge`], the parse errors of [`crate::counts::parse_counts`],
    /// [`crate::Error::EmptyCounts`], [`crate::Error::CountsSumMismatch`], [`crate::Error::OutOfMemory`].
    ///
    /// # Examples
    /// ```
    /// use sa1b_rle::input::RleRef;
    /// let mut runs = Vec::new();
    /// RleRef::compressed(3, 4, b"42102").runs_into(&mut runs).unwrap();
    /// assert_eq!(runs, [4, 2, 1, 2, 3]);
    /// assert!(RleRef::compressed(3, 5, b"42102").runs_into(&mut runs).is_err());
    /// assert_eq!(runs.len(), 5);
    /// ```
    pub fn runs_into(&self, out: &mut Vec<u32>) -> Result<()> {
        let pixels = pixel_count(self.height, self.width)?;
        let base = out.len();
        self.unchecked_runs_into(out)?;
        check_runs(pixels, &out[base..]).inspect_err(|_| out.truncate(base))
    }

    /// The runs appended to `out`, not yet checked against the size.
    pub(crate) fn unchecked_runs_into(&self, out: &mut Vec<u32>) -> Result<()> {
        match self.counts {
            Counts::Compressed(s) => parse_counts_into(s, out),
            Counts::Runs(r) => {
                alloc::reserve(out, r.len(), "run lengths")?;
                out.extend_from_slice(r);
                Ok(())
            }
        }
    }

    /// The validated runs, in `scratch` (cleared first).
    fn runs<'s>(&self, scratch: &'s mut Vec<u32>) -> Result<&'s [u32]> {
        scratch.clear();
        self.runs_into(scratch)?;
        Ok(scratch)
    }

    /// This RLE parsed and validated.
    ///
    /// # Errors
    /// As [`RleRef::runs_into`].
    pub fn to_rle(&self) -> Result<Rle> {
        let mut runs = Vec::new();
        self.runs_into(&mut runs)?;
        Ok(Rle::from_parts_unchecked(self.height, self.width, runs))
    }
}

/// `f(item, scratch)` for every item, in order, on the pool for large inputs; each
/// thread gives `f` one buffer to parse into, reused from item to item. Errors are
/// wrapped with the item's index.
fn map_each<T: Send>(
    items: &[RleRef<'_>],
    threads: Option<usize>,
    f: impl Fn(&RleRef<'_>, &mut Vec<u32>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let work = items.iter().map(|r| r.counts.work()).sum();
    pool::map_blocks_with(
        pool::for_work(threads, work),
        items.len(),
        |range, scratch: &mut Vec<u32>| {
            range
                .map(|i| f(&items[i], scratch).map_err(|e| e.at(i)))
                .collect::<Vec<_>>()
        },
    )
    .into_iter()
    .flatten()
    .collect()
}

/// Foreground pixel counts (pycocotools' `area`), each RLE of its own size.
///
/// # Errors
/// The first bad RLE's error (see [`RleRef::runs_into`]), wrapped with its index.
///
/// # Examples
/// ```
/// use sa1b_rle::input::{areas, RleRef};
/// let rles = [RleRef::compressed(3, 4, b"42102"), RleRef::compressed(1, 2, b"02")];
/// assert_eq!(areas(&rles, None).unwrap(), [4, 2]);
/// ```
pub fn areas(items: &[RleRef<'_>], threads: Option<usize>) -> Result<Vec<u64>> {
    map_each(items, threads, |r, runs| {
        // One pass for the check (all runs) and the area (foreground runs).
        let pixels = pixel_count(r.height, r.width)?;
        runs.clear();
        r.unchecked_runs_into(runs)?;
        let (total, area) = run_sums(runs);
        check_total(pixels, runs.len(), total)?;
        Ok(area)
    })
}

/// pycocotools' `toBbox` `[x, y, w, h]`, each RLE of its own size.
///
/// # Errors
/// As [`areas`].
pub fn bboxes(items: &[RleRef<'_>], threads: Option<usize>) -> Result<Vec<[f64; 4]>> {
    map_each(items, threads, |r, scratch| {
        r.runs(scratch)
            .map(|runs| bbox_of_runs(r.height, r.width, runs))
    })
}

/// Each RLE parsed and validated on its own (each of its own size).
///
/// # Errors
/// As [`areas`].
pub fn rles(items: &[RleRef<'_>], threads: Option<usize>) -> Result<Vec<Rle>> {
    map_each(items, threads, |r, scratch| {
        r.runs(scratch)
            .map(|runs| Rle::from_parts_unchecked(r.height, r.width, runs.to_vec()))
    })
}

/// The one size of `items` (`None` for none).
///
/// # Errors
/// [`crate::Error::SizeMismatch`] wrapped with the index of the first RLE of another size.
pub fn common_size(items: &[RleRef<'_>]) -> Result<Option<(u64, u64)>> {
    crate::rle::common_size_of(items.iter().map(RleRef::size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RleBatch;
    use crate::error::Error;
    use crate::test_support::{random_batch, rng};

    #[test]
    fn every_path_agrees_with_the_batch() {
        let mut rnd = rng(41);
        let b = random_batch(&mut rnd, 300, 200, 60);
        let strings = b.counts_strings(None);
        // Enough characters (> pool::MIN_PARALLEL_WORK) for the parallel parse too.
        let copies = pool::MIN_PARALLEL_WORK / strings.iter().map(Vec::len).sum::<usize>() + 1;
        let refs: Vec<RleRef<'_>> = (0..copies)
            .flat_map(|_| strings.iter().map(|s| RleRef::compressed(300, 200, s)))
            .collect();
        let (areas1, bboxes1) = (b.area(None), b.bbox(None));
        for threads in [Some(1), Some(2)] {
            let all = RleBatch::from_coco(&refs, threads).unwrap();
            assert_eq!(all.len(), refs.len());
            for i in [0, 59, 60, refs.len() - 1] {
                assert_eq!(all.runs(i), b.runs(i % 60));
            }
            assert_eq!(areas(&refs, threads).unwrap()[..60], areas1[..]);
            assert_eq!(bboxes(&refs, threads).unwrap()[..60], bboxes1[..]);
        }
        // Runs given as a list, and errors naming the item.
        let runs: Vec<u32> = b.runs(3).to_vec();
        let mixed = [
            refs[0],
            RleRef {
                height: 300,
                width: 200,
                counts: Counts::Runs(&runs),
            },
        ];
        assert_eq!(rles(&mixed, None).unwrap()[1].counts(), b.runs(3));
        let bad = [refs[0], RleRef::compressed(300, 200, b"0!")];
        for e in [
            areas(&bad, None).unwrap_err(),
            bboxes(&bad, None).unwrap_err(),
            RleBatch::from_coco(&bad, None).unwrap_err(),
        ] {
            assert!(matches!(e, Error::Item { index: 1, .. }), "{e}");
        }
        let other_size = [refs[0], RleRef::compressed(3, 4, b"42102")];
        assert_eq!(areas(&other_size, None).unwrap()[1], 4);
        assert!(RleBatch::from_coco(&other_size, None).is_err());
    }
}

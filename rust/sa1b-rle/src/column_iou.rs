//! The intersections behind a batch's IoU matrix, by one walk over the image's columns.
//!
//! Runs are column-major, so every mask is a cursor that moves forward through its
//! foreground runs as the walk moves right. At each column, each side (detections and
//! ground truth) lists the row ranges its masks have there; every detection range is then
//! met with every ground-truth range of the column (eight or sixteen at once in vector
//! lanes), adding the rows they share to the pair's intersection. A column holding several
//! hundred ranges on a side is instead sorted by row and swept, so the work stays the
//! ranges plus the overlapping pairs. No index of the whole batch is built: the memory is
//! the cursors, one column's ranges and the `n x m` counts.
//!
//! Pairs of masks that share no column (or no row in one) keep an intersection of 0, which
//! is what pycocotools' box pre-filter gives them: masks that intersect have overlapping
//! boxes. The walk splits into column ranges, one per thread, each summing into its own
//! matrix.

use crate::alloc;
use crate::arch::{add, Ranges, Scratch, PAD};
use crate::error::Result;
use crate::pool;
use crate::rle::Masks;
use std::sync::atomic::{AtomicU64, Ordering};

/// One foreground row range `[start, end)` of mask `mask` in some column.
#[derive(Debug, Clone, Copy)]
struct Segment {
    mask: u32,
    start: u32,
    end: u32,
}

/// A mask's position in its run list: the current non-empty foreground run covers
/// pixels `start..end` (column-major indices) and is `runs[k]`.
struct Cursor<'a> {
    runs: &'a [u32],
    k: usize,
    start: u64,
    end: u64,
    mask: u32,
}

impl<'a> Cursor<'a> {
    /// A cursor on the first non-empty foreground run ending after pixel `from`, or `None`
    /// when the mask has none.
    fn new(runs: &'a [u32], mask: u32, from: u64) -> Option<Cursor<'a>> {
        let mut c = Cursor {
            runs,
            k: usize::MAX,
            start: 0,
            end: 0,
            mask,
        };
        // Skip whole blocks of 32 runs ending at or before `from` (summed in vector
        // lanes: the bulk of a mask before a later part's first column), then step.
        let mut pos = 0u64;
        let mut k = 1;
        while k + 31 < runs.len() {
            let block: u64 = runs[k - 1..k + 31].iter().map(|&c| u64::from(c)).sum();
            if pos + block > from {
                break;
            }
            pos += block;
            k += 32;
        }
        while k < runs.len() {
            let next = pos + u64::from(runs[k - 1]) + u64::from(runs[k]);
            if next > from && runs[k] > 0 {
                c.k = k;
                c.start = pos + u64::from(runs[k - 1]);
                c.end = next;
                return Some(c);
            }
            pos = next;
            k += 2;
        }
        None
    }

    /// Moves to the next non-empty foreground run; `false` at the end of the list.
    #[inline]
    fn advance(&mut self) -> bool {
        let runs = self.runs;
        let mut k = self.k + 2;
        let mut pos = self.end;
        while k < runs.len() {
            let start = pos + u64::from(runs[k - 1]);
            let end = start + u64::from(runs[k]);
            if end > start {
                (self.k, self.start, self.end) = (k, start, end);
                return true;
            }
            pos = end;
            k += 2;
        }
        false
    }
}

/// One side of the walk over a range of columns: masks not yet reached (by first pixel,
/// last first), masks under way, and the ranges of the current column.
struct Side<'a> {
    pending: Vec<Cursor<'a>>,
    active: Vec<Cursor<'a>>,
    /// The current column's ranges (the first `len`), as parallel arrays followed by
    /// [`PAD`] empty ranges (`0..0`, which overlap nothing).
    starts: Vec<i32>,
    ends: Vec<i32>,
    masks: Vec<u32>,
    len: usize,
}

impl<'a> Side<'a> {
    /// The kernels' view of the ranges.
    pub(crate) fn ranges(&self) -> Ranges<'_> {
        Ranges {
            starts: &self.starts,
            ends: &self.ends,
            masks: &self.masks,
            len: self.len,
        }
    }

    fn new(b: Masks<'a>, from: u64, to: u64) -> Side<'a> {
        let mut pending: Vec<Cursor<'a>> = (0..b.len())
            .filter_map(|i| Cursor::new(b.runs(i), i as u32, from))
            .filter(|c| c.start < to)
            .collect();
        pending.sort_unstable_by_key(|c| std::cmp::Reverse(c.start));
        Side {
            pending,
            active: Vec::new(),
            starts: Vec::new(),
            ends: Vec::new(),
            masks: Vec::new(),
            len: 0,
        }
    }

    /// The first pixel this side still has (`u64::MAX` when done).
    fn next_pixel(&self) -> u64 {
        let a = self
            .active
            .iter()
            .map(|c| c.start)
            .min()
            .unwrap_or(u64::MAX);
        a.min(self.pending.last().map_or(u64::MAX, |c| c.start))
    }

    /// Lists the ranges of the column covering pixels `lo..lo + h`, moving the cursors
    /// past it; returns the first pixel after the column that this side has.
    fn column(&mut self, lo: u64, h: u64) -> u64 {
        let hi = lo + h;
        while self.pending.last().is_some_and(|c| c.start < hi) {
            if let Some(c) = self.pending.pop() {
                self.active.push(c);
            }
        }
        let mut next = self.pending.last().map_or(u64::MAX, |c| c.start);
        let mut len = 0;
        let mut i = 0;
        while i < self.active.len() {
            let c = &mut self.active[i];
            let mut live = true;
            while c.start < hi {
                if len + PAD >= self.starts.len() {
                    let more = 2 * self.starts.len() + 64;
                    self.starts.resize(more, 0);
                    self.ends.resize(more, 0);
                    self.masks.resize(more, 0);
                }
                self.starts[len] = (c.start.max(lo) - lo) as i32;
                self.ends[len] = (c.end.min(hi) - lo) as i32;
                self.masks[len] = c.mask;
                len += 1;
                if c.end > hi {
                    break;
                }
                if !c.advance() {
                    live = false;
                    break;
                }
            }
            if live {
                next = next.min(c.start.max(hi));
                i += 1;
            } else {
                self.active.swap_remove(i);
            }
        }
        self.len = len;
        // Empty ranges after the list, so that vector loads of whole chunks see nothing.
        if self.starts.len() < len + PAD {
            self.starts.resize(len + PAD, 0);
            self.ends.resize(len + PAD, 0);
            self.masks.resize(len + PAD, 0);
        }
        self.starts[len..len + PAD].fill(0);
        self.ends[len..len + PAD].fill(0);
        self.masks[len..len + PAD].fill(0);
        next
    }

    fn segments(&self) -> Vec<Segment> {
        (0..self.len)
            .map(|k| Segment {
                mask: self.masks[k],
                start: self.starts[k] as u32,
                end: self.ends[k] as u32,
            })
            .collect()
    }
}

/// The intersection (in pixels) of every detection `i` with every ground truth `j`, at
/// `[i * m + j]`; for `symmetric` (the batch with itself) only the lower triangle
/// (`j < i`), the rest 0. The first and last columns holding foreground bound the walk.
pub(crate) fn intersections(
    dt: Masks<'_>,
    gt: Masks<'_>,
    symmetric: bool,
    threads: Option<usize>,
) -> Result<Vec<u64>> {
    let (n, m) = (dt.len(), gt.len());
    let h = dt.height();
    let len = alloc::product(n as u64, m as u64, "IoU intersections")?;
    if h == 0 || n == 0 || m == 0 {
        return alloc::zeroed(len, "IoU intersections");
    }
    // About 8 ns a run here (SA-1B-like masks, one thread); in `pool::for_work`'s units.
    let runs = dt.total_runs() + if symmetric { 0 } else { gt.total_runs() };
    let work = 8 * runs + n * m / 4;
    let t = match pool::for_work(threads, work) {
        Some(1) => 1,
        t => pool::num_threads(t),
    };
    if t == 2 {
        return shared_by_two(dt, gt, symmetric);
    }
    in_parts(dt, gt, symmetric, t, t)
}

/// [`intersections`] with the columns split into `parts` equal ranges, on `t` threads
/// (one partial matrix per part: parts are never more than threads).
fn in_parts(
    dt: Masks<'_>,
    gt: Masks<'_>,
    symmetric: bool,
    t: usize,
    parts: usize,
) -> Result<Vec<u64>> {
    let (n, m) = (dt.len(), gt.len());
    let (h, w) = (dt.height(), dt.width());
    let span = w.div_ceil(parts as u64).max(1);
    let partial = pool::map_range(Some(t), parts, |k| {
        let c0 = (k as u64 * span).min(w);
        let c1 = (c0 + span).min(w);
        let mut inter = alloc::zeroed(n * m, "IoU intersections")?;
        Walker::new(dt, gt, symmetric, c0 * h, c1 * h).run_to(c1 * h, &mut inter);
        Ok(inter)
    });
    sum(partial, n * m)
}

/// [`intersections`] on the calling thread and one pool thread, split where they meet:
/// the calling thread walks from the left in chunks of columns; the pool thread, once
/// it is awake, takes the right half of the columns not yet claimed. A pool thread that
/// wakes late (hundreds of microseconds on a virtual machine) still takes half of what
/// is left, and one that wakes after the end takes nothing.
fn shared_by_two(dt: Masks<'_>, gt: Masks<'_>, symmetric: bool) -> Result<Vec<u64>> {
    let (n, m) = (dt.len(), gt.len());
    let (h, w) = (dt.height(), dt.width());
    let Ok(w32) = u32::try_from(w) else {
        return in_parts(dt, gt, symmetric, 2, 2);
    };
    // Claimed columns `0..next` (low half) of the columns `0..limit` (high half) left to
    // the calling thread.
    let pack = |next: u32, limit: u32| u64::from(limit) << 32 | u64::from(next);
    let unpack = |v: u64| (v as u32, (v >> 32) as u32);
    let frontier = AtomicU64::new(pack(0, w32));
    let partial = pool::map_range(Some(2), 2, |k| {
        let mut inter = alloc::zeroed(n * m, "IoU intersections")?;
        if k == 0 {
            let mut walker = Walker::new(dt, gt, symmetric, 0, w * h);
            let mut v = frontier.load(Ordering::Acquire);
            loop {
                let (next, limit) = unpack(v);
                if next >= limit {
                    break;
                }
                let end = next.saturating_add(CHUNK).min(limit);
                match frontier.compare_exchange_weak(
                    v,
                    pack(end, limit),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        walker.run_to(u64::from(end) * h, &mut inter);
                        v = frontier.load(Ordering::Acquire);
                    }
                    Err(now) => v = now,
                }
            }
        } else {
            let mut v = frontier.load(Ordering::Acquire);
            loop {
                let (next, limit) = unpack(v);
                let mid = next + (limit.saturating_sub(next)) / 2;
                if mid <= next {
                    break;
                }
                match frontier.compare_exchange_weak(
                    v,
                    pack(next, mid),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        let (from, to) = (u64::from(mid) * h, u64::from(limit) * h);
                        Walker::new(dt, gt, symmetric, from, to).run_to(to, &mut inter);
                        break;
                    }
                    Err(now) => v = now,
                }
            }
        }
        Ok(inter)
    });
    sum(partial, n * m)
}

/// Columns the calling thread claims at a time in [`shared_by_two`].
const CHUNK: u32 = 16;

fn sum(partial: Vec<Result<Vec<u64>>>, len: usize) -> Result<Vec<u64>> {
    let mut parts = partial.into_iter();
    let mut inter = match parts.next() {
        Some(p) => p?,
        None => alloc::zeroed(len, "IoU intersections")?,
    };
    for p in parts {
        for (x, y) in inter.iter_mut().zip(&p?) {
            *x += y;
        }
    }
    Ok(inter)
}

/// The walk over the columns from a starting pixel (a column's first), continued in
/// steps by [`Walker::run_to`].
struct Walker<'a> {
    d: Side<'a>,
    g: Option<Side<'a>>,
    h: u64,
    n: usize,
    m: usize,
    at: u64,
    pairs: PairKernel,
    scratch: Scratch,
}

impl<'a> Walker<'a> {
    /// Starts at pixel `from`, for columns before pixel `to` (masks first reached at or
    /// after `to` are left out).
    fn new(dt: Masks<'a>, gt: Masks<'a>, symmetric: bool, from: u64, to: u64) -> Walker<'a> {
        let (n, m) = (dt.len(), gt.len());
        let d = Side::new(dt, from, to);
        let g = (!symmetric).then(|| Side::new(gt, from, to));
        // A run crossing into the first column starts before it: begin at `from`.
        let first_g = g.as_ref().map_or(u64::MAX, Side::next_pixel);
        let at = d.next_pixel().min(first_g).max(from);
        let pairs = if u32::try_from(n * m).is_ok() {
            pair_kernel()
        } else {
            pairs_scalar
        };
        Walker {
            d,
            g,
            h: dt.height(),
            n,
            m,
            at,
            pairs,
            scratch: Scratch::default(),
        }
    }

    /// Adds to `inter` the intersections in the columns from the current one up to pixel
    /// `to` (a column's first).
    fn run_to(&mut self, to: u64, inter: &mut [u64]) {
        let (h, n, m, pairs) = (self.h, self.n, self.m, self.pairs);
        let (d, scratch) = (&mut self.d, &mut self.scratch);
        while self.at < to {
            let at = self.at;
            let lo = at - at % h;
            let next_d = d.column(lo, h);
            if let Some(g) = self.g.as_mut() {
                let next_g = g.column(lo, h);
                if d.len > 0 && g.len > 0 {
                    if d.len * g.len > CROWDED * (d.len + g.len) {
                        let (mut ds, mut gs) = (d.segments(), g.segments());
                        ds.sort_unstable_by_key(|s| s.start);
                        gs.sort_unstable_by_key(|s| s.start);
                        sweep(&ds, &gs, inter, m);
                    } else {
                        pairs(d, g, inter, m, false, scratch);
                    }
                }
                self.at = next_d.min(next_g);
            } else {
                if d.len > 1 {
                    if d.len > 2 * CROWDED {
                        let mut ds = d.segments();
                        ds.sort_unstable_by_key(|s| s.start);
                        sweep_self(&ds, inter, n);
                    } else {
                        pairs(d, d, inter, n, true, scratch);
                    }
                }
                self.at = next_d;
            }
        }
    }
}

/// A column whose pairs of ranges outnumber its ranges by this factor is sorted and
/// swept rather than met pair by pair (vector lanes test a pair in well under a
/// nanosecond; the sweep costs some tens per range).
const CROWDED: usize = 256;

type PairKernel = fn(&Side<'_>, &Side<'_>, &mut [u64], usize, bool, &mut Scratch);

/// The vector kernel this CPU runs, else the scalar one.
fn pair_kernel() -> PairKernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return |d, g, inter, m, lower, s| unsafe {
                crate::arch::avx512::iou::pairs(&d.ranges(), &g.ranges(), inter, m, lower, s);
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return |d, g, inter, m, lower, _| unsafe {
                crate::arch::avx2::iou::pairs(&d.ranges(), &g.ranges(), inter, m, lower);
            };
        }
    }
    pairs_scalar
}

/// Adds the rows every range of `d` shares with every range of `g` to
/// `inter[d.mask * m + g.mask]`; with `lower` (`d` and `g` the same list) each pair of
/// ranges once, into `inter[max * m + min]` of the two masks.
fn pairs_scalar(
    d: &Side<'_>,
    g: &Side<'_>,
    inter: &mut [u64],
    m: usize,
    lower: bool,
    _: &mut Scratch,
) {
    for a in 0..d.len {
        let (s, e, dm) = (d.starts[a], d.ends[a], d.masks[a] as usize);
        let upto = if lower { a } else { g.len };
        for b in 0..upto {
            let rows = e.min(g.ends[b]) - s.max(g.starts[b]);
            if rows > 0 {
                add(inter, dm, g.masks[b] as usize, m, lower, rows);
            }
        }
    }
}

/// Drops the ranges of `open` that end before `s` starts (the sweep has passed them) and
/// yields each remaining one with the rows it shares with `s` (all start at or before
/// `s`, so every one overlaps it).
fn overlapping(open: &mut Vec<Segment>, s: Segment) -> impl Iterator<Item = (Segment, u64)> + '_ {
    open.retain(|t| t.end > s.start);
    open.iter()
        .map(move |t| (*t, u64::from(s.end.min(t.end) - s.start)))
}

/// Adds to `inter[i * m + j]` the rows shared by every detection range of `ds` (mask i)
/// and ground-truth range of `gs` (mask j) of one column, both in row order: a sweep
/// keeping the ranges still open on each side, so the work is the ranges plus the
/// overlapping pairs.
fn sweep(ds: &[Segment], gs: &[Segment], inter: &mut [u64], m: usize) {
    let (mut active_d, mut active_g) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < ds.len() || j < gs.len() {
        if j >= gs.len() || (i < ds.len() && ds[i].start <= gs[j].start) {
            let s = ds[i];
            i += 1;
            for (t, rows) in overlapping(&mut active_g, s) {
                inter[s.mask as usize * m + t.mask as usize] += rows;
            }
            active_d.push(s);
        } else {
            let t = gs[j];
            j += 1;
            for (s, rows) in overlapping(&mut active_d, t) {
                inter[s.mask as usize * m + t.mask as usize] += rows;
            }
            active_g.push(t);
        }
    }
}

/// [`sweep`] of one list with itself, for the lower triangle (`inter[i * n + j]`, i > j;
/// ranges of one mask never overlap).
fn sweep_self(ds: &[Segment], inter: &mut [u64], n: usize) {
    let mut active = Vec::new();
    for &s in ds {
        for (t, rows) in overlapping(&mut active, s) {
            let (i, j) = (s.mask.max(t.mask) as usize, s.mask.min(t.mask) as usize);
            inter[i * n + j] += rows;
        }
        active.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RleBatch;

    /// Pixel-by-pixel intersections of two batches (the oracle).
    fn dense(dt: &RleBatch, gt: &RleBatch, symmetric: bool) -> Vec<u64> {
        let px = |b: &RleBatch, i: usize| {
            let mut v = Vec::new();
            let mut val = false;
            for &c in b.runs(i) {
                v.extend(std::iter::repeat_n(val, c as usize));
                val = !val;
            }
            v
        };
        let (n, m) = (dt.len(), gt.len());
        let mut out = vec![0; n * m];
        for i in 0..n {
            for j in 0..m {
                if symmetric && j >= i {
                    continue;
                }
                let (a, b) = (px(dt, i), px(gt, j));
                out[i * m + j] = a.iter().zip(&b).filter(|(x, y)| **x && **y).count() as u64;
            }
        }
        out
    }

    /// Random masks of random boxes, some with runs crossing columns, some crowding one
    /// column with hundreds of ranges (the sorted sweep's case).

    #[test]
    fn intersections_equal_the_dense_count() {
        let mut rnd = crate::test_support::rng(0x1234_5678_9abc_def1u64);
        for round in 0..60 {
            let (h, w) = match round % 3 {
                0 => (1 + rnd(8), 1 + rnd(8)),
                1 => (600, 3),
                _ => (1 + rnd(60), 1 + rnd(60)),
            };
            let (nd, ng) = (1 + rnd(30) as usize, 1 + rnd(30) as usize);
            let dt = crate::test_support::random_batch(&mut rnd, h, w, nd);
            let gt = crate::test_support::random_batch(&mut rnd, h, w, ng);
            let (want, want_self) = (dense(&dt, &gt, false), dense(&dt, &dt, true));
            assert_eq!(
                intersections(dt.masks(), gt.masks(), false, None).unwrap(),
                want
            );
            assert_eq!(
                intersections(dt.masks(), dt.masks(), true, None).unwrap(),
                want_self
            );
            // Column ranges with runs crossing their borders, on one and more threads.
            assert_eq!(shared_by_two(dt.masks(), gt.masks(), false).unwrap(), want);
            assert_eq!(
                shared_by_two(dt.masks(), dt.masks(), true).unwrap(),
                want_self
            );
            for (t, parts) in [(1, 1), (1, 3), (2, 2), (3, 7)] {
                let got = in_parts(dt.masks(), gt.masks(), false, t, parts).unwrap();
                assert_eq!(got, want, "{h}x{w} round {round}, {parts} parts");
                let got = in_parts(dt.masks(), dt.masks(), true, t, parts).unwrap();
                assert_eq!(
                    got, want_self,
                    "{h}x{w} round {round}, {parts} parts (self)"
                );
            }
        }
    }

    #[test]
    fn every_kernel_agrees_with_the_sweep() {
        let mut rnd = crate::test_support::rng(0x0fed_cba9_8765_4321u64);
        for _ in 0..300 {
            let side = |rnd: &mut dyn FnMut(u64) -> u64, masks: u64| {
                let len = rnd(70) as usize;
                let mut s = Side {
                    pending: vec![],
                    active: vec![],
                    starts: vec![],
                    ends: vec![],
                    masks: vec![],
                    len,
                };
                for _ in 0..len {
                    let a = rnd(100) as i32;
                    s.starts.push(a);
                    s.ends.push(a + 1 + rnd(30) as i32);
                    s.masks.push(rnd(masks) as u32);
                }
                s.starts.resize(len + PAD, 0);
                s.ends.resize(len + PAD, 0);
                s.masks.resize(len + PAD, 0);
                s
            };
            let (d, g) = (side(&mut rnd, 7), side(&mut rnd, 5));
            let mut want = vec![0u64; 7 * 5];
            let (mut ds, mut gs) = (d.segments(), g.segments());
            ds.sort_unstable_by_key(|s| s.start);
            gs.sort_unstable_by_key(|s| s.start);
            sweep(&ds, &gs, &mut want, 5);
            let mut kernels: Vec<PairKernel> = vec![pairs_scalar, pair_kernel()];
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2.
                kernels.push(|d, g, i, m, l, _| unsafe {
                    crate::arch::avx2::iou::pairs(&d.ranges(), &g.ranges(), i, m, l);
                });
            }
            for k in &kernels {
                let mut got = vec![0u64; 7 * 5];
                k(&d, &g, &mut got, 5, false, &mut Scratch::default());
                assert_eq!(got, want);
            }
        }
    }
}

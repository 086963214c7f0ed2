//! pycocotools' `accumulate()` on an [`Evaluation`]: precision, recall and scores per
//! threshold, recall threshold, category, area range and maxDet.

use super::{by_score_desc, Evaluation, FALSE_POSITIVE, TRUE_POSITIVE};
use crate::error::{Error, Result};

/// The accumulated `precision` (T, R, K, A, M), `recall` (T, K, A, M) and `scores`
/// (T, R, K, A, M), C order, -1 where not set.
pub struct Accumulated {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub scores: Vec<f64>,
}

/// What [`accumulate`] reads: pycocotools' index lists (`k_list`, `a_list`, `m_list`
/// as maxDet values, `i_list`), the evaluated sizes `i0`, `a0`, `k0` (images, area
/// ranges, categories of the evaluation) and `dims = [T, R, K, A, M]`.
pub struct AccumulateSpec<'a> {
    pub k_list: &'a [usize],
    pub a_list: &'a [usize],
    /// maxDet values, as Python slice ends (negative: that many from the end).
    pub m_list: &'a [i64],
    pub i_list: &'a [usize],
    pub i0: usize,
    pub a0: usize,
    pub k0: usize,
    pub dims: [usize; 5],
    pub rec_thrs: &'a [f64],
    /// Threads (categories are accumulated side by side).
    pub threads: Option<usize>,
}

/// pycocotools' `accumulate()` on an [`Evaluation`] (entry `n` of its `evalImgs` list is
/// group `(n % i0) * k0 + n / (a0 * i0)` at area range `(n / i0) % a0`). Thresholds
/// past those evaluated stay -1.
///
/// # Errors
/// [`Error::IndexOutOfRange`] for an index list entry outside the evaluation,
/// [`Error::Inconsistent`] for `rec_thrs` not of length `R`, [`Error::OutOfMemory`].
pub fn accumulate(ev: &Evaluation, s: &AccumulateSpec<'_>) -> Result<Accumulated> {
    let [t_n, r_n, k_n, a_n, m_n] = s.dims;
    let groups = ev.groups();
    let check = |list: &[usize], len: usize| match list.iter().find(|&&x| x >= len) {
        Some(&index) => Err(Error::IndexOutOfRange { index, len }),
        None => Ok(()),
    };
    check(s.k_list, s.k0)?;
    check(s.a_list, ev.areas.min(s.a0))?;
    check(s.i_list, s.i0)?;
    if s.i0.checked_mul(s.k0) != Some(groups) {
        return Err(Error::Inconsistent {
            message: format!(
                "{} evaluated images x {} categories, but {groups} groups were evaluated",
                s.i0, s.k0
            ),
        });
    }
    for (what, len, want) in [
        ("recall thresholds", s.rec_thrs.len(), r_n),
        ("categories", s.k_list.len(), k_n),
        ("area ranges", s.a_list.len(), a_n),
        ("max detections", s.m_list.len(), m_n),
    ] {
        if len != want {
            return Err(Error::Inconsistent {
                message: format!("{what} has {len} entries, expected {want}"),
            });
        }
    }
    let cells = cell_count(&[t_n, r_n, k_n, a_n, m_n])?;
    // (Each category's share, allocated by the workers, is then in range too.)
    cell_count(&[t_n, r_n, a_n, m_n])?;
    // Lazily zeroed pages: every cell is written by its category (`Cells::put`).
    let mut out = Accumulated {
        precision: crate::alloc::zeroed(cells, "accumulated precision")?,
        recall: crate::alloc::zeroed(cell_count(&[t_n, k_n, a_n, m_n])?, "accumulated recall")?,
        scores: crate::alloc::zeroed(cells, "accumulated scores")?,
    };
    // Per (maxDet, area range, threshold): a pass over the detections and one over the
    // recall thresholds, a few ns a step.
    let passes = s.m_list.len() * s.a_list.len() * t_n;
    let work = (ev.scores.len() + s.k_list.len() * r_n) * passes * 10;
    // Categories side by side (each writes only its own cells).
    // Each category's entries in one pass over the evaluation, when i_list rises (as
    // pycocotools builds it): the entries of a category are then in i_list's order.
    let by_category = if s.i_list.windows(2).all(|w| w[0] < w[1]) {
        let mut wanted = vec![false; s.i0];
        for &i in s.i_list {
            wanted[i] = true;
        }
        let mut lists = vec![Vec::new(); s.k0];
        for (j, &g) in ev.present.iter().enumerate() {
            if wanted[g / s.k0] {
                lists[g % s.k0].push(j);
            }
        }
        Some(lists)
    } else {
        None
    };
    let cells_out = Cells::new(&mut out, s.dims);
    let threads = crate::pool::for_work(s.threads, work);
    let orders = crate::pool::map_range(threads, s.k_list.len(), |k| {
        category_order(ev, s, by_category.as_deref(), k)
    })
    .into_iter()
    .collect::<Result<Vec<CategoryOrder>>>()?;
    // One task per category: its cells of one (threshold, recall threshold) are then
    // written together (tasks per (category, area range) scattered them in runs of
    // maxDets across the whole array, a fifth of the time).
    let done = crate::pool::map_range(threads, s.k_list.len(), |k| {
        accumulate_category(ev, s, &orders[k], &cells_out, k)
    });
    done.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(out)
}

/// The output arrays, written by the categories side by side: category `k` writes only
/// the cells whose category index is `k`.
struct Cells {
    precision: *mut f64,
    recall: *mut f64,
    scores: *mut f64,
    len: usize,
    recall_len: usize,
    dims: [usize; 5],
}

// SAFETY: the pointers are to the `Vec`s of an `Accumulated` that outlives every use
// (`accumulate` holds it mutably borrowed while the categories run and touches it only
// after they are done); writes are bounds-checked and each cell is written by the one
// task of its category, so no two threads write the same cell and none reads one.
unsafe impl Sync for Cells {}

impl Cells {
    fn new(out: &mut Accumulated, dims: [usize; 5]) -> Self {
        Cells {
            precision: out.precision.as_mut_ptr(),
            recall: out.recall.as_mut_ptr(),
            scores: out.scores.as_mut_ptr(),
            len: out.precision.len().min(out.scores.len()),
            recall_len: out.recall.len(),
            dims,
        }
    }

    /// Category `k`'s cells from its `(T, R, A, M)` precision and scores and `(T, A, M)`
    /// recall.
    fn put(&self, k: usize, part: &Accumulated) {
        let [t_n, r_n, k_n, a_n, m_n] = self.dims;
        let run = a_n * m_n;
        assert!(
            part.precision.len() == t_n * r_n * run && part.scores.len() == part.precision.len()
        );
        assert!(part.recall.len() == t_n * run);
        let copy = |from: &[f64], to: *mut f64, at: usize, len: usize| {
            assert!(
                at + run <= len && from.len() >= run,
                "accumulated cell out of range"
            );
            // SAFETY: in bounds (checked); see `unsafe impl Sync for Cells`.
            unsafe { std::ptr::copy_nonoverlapping(from.as_ptr(), to.add(at), run) };
        };
        for t in 0..t_n {
            copy(
                &part.recall[t * run..],
                self.recall,
                (t * k_n + k) * run,
                self.recall_len,
            );
            for r in 0..r_n {
                let at = ((t * r_n + r) * k_n + k) * run;
                let from = (t * r_n + r) * run;
                copy(&part.precision[from..], self.precision, at, self.len);
                copy(&part.scores[from..], self.scores, at, self.len);
            }
        }
    }
}

/// pycocotools' precision and score at each recall threshold, from the true positives
/// `tps` (`(position, precision)`, in order; turned into the precision envelope in
/// place) of `nd` detections against `npig` ground truths: `set(ri, precision, score)`
/// for each threshold `ri`, zeros from the first threshold past the last recall on.
///
/// numpy's `searchsorted(rc, thr, 'left')` is the first position whose recall reaches
/// `thr`: position 0 for `thr <= 0`, else the true positive that reaches it (NaN: past
/// the end). The envelope there is the highest precision at a true positive at or after
/// it (position 0, if not a true positive, has precision 0).
fn curve_at(
    tps: &mut [(usize, f64)],
    nd: usize,
    npig: f64,
    score: &dyn Fn(usize) -> f64,
    rec_thrs: &[f64],
    rising: bool,
    mut set: impl FnMut(usize, f64, f64),
) {
    for i in (1..tps.len()).rev() {
        if tps[i].1 > tps[i - 1].1 {
            tps[i - 1].1 = tps[i].1;
        }
    }
    // Recall at the k-th true positive: (k + 1) / npig (the cumulative sum, divided).
    let recall = |k: usize| (k + 1) as f64 / npig;
    let mut walk = 0;
    for (ri, &thr) in rec_thrs.iter().enumerate() {
        let found = if thr.is_nan() {
            None
        } else if thr <= 0.0 {
            // Position 0: the envelope is the best precision of all (0 without any).
            (nd > 0).then(|| (0, tps.first().map_or(0.0, |x| x.1)))
        } else {
            let k = if rising {
                while walk < tps.len() && recall(walk) < thr {
                    walk += 1;
                }
                walk
            } else {
                (0..tps.len())
                    .collect::<Vec<_>>()
                    .partition_point(|&k| recall(k) < thr)
            };
            tps.get(k).copied()
        };
        let Some((pos, precision)) = found else {
            // pycocotools stops at the first threshold past the last recall.
            for rj in ri..rec_thrs.len() {
                set(rj, 0.0, 0.0);
            }
            break;
        };
        set(ri, precision, score(pos));
    }
}

/// The length of `list[0:end]` for a list of `len` items (Python's slice).
pub(super) fn slice_end(len: usize, end: i64) -> usize {
    if end >= 0 {
        len.min(usize::try_from(end).unwrap_or(usize::MAX))
    } else {
        len.saturating_sub(usize::try_from(end.unsigned_abs()).unwrap_or(usize::MAX))
    }
}

/// The product of `dims`, or [`Error::OutOfMemory`] if it overflows.
fn cell_count(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(Error::OutOfMemory {
            what: "accumulated precision",
            bytes: u64::MAX,
        })
}

/// A category's detections in pycocotools' accumulation order: every detection of the
/// category, each image's in score order one after the other, then stably by score,
/// highest first. Sorted once: each maxDet's order is this one without the detections
/// past it (pycocotools sorts each maxDet's concatenation, in which they keep their
/// relative positions).
struct CategoryOrder {
    /// The category's non-empty groups, as entries, in the order of `i_list`.
    groups: Vec<usize>,
    /// For each maxDet of `m_list`: the detections (indices into the evaluation's), by
    /// score, without those past it in their image.
    orders: Vec<Vec<usize>>,
}

fn category_order(
    ev: &Evaluation,
    s: &AccumulateSpec<'_>,
    by_category: Option<&[Vec<usize>]>,
    k: usize,
) -> Result<CategoryOrder> {
    let kk = s.k_list[k];
    let groups: Vec<usize> = match by_category {
        Some(lists) => lists[kk].clone(),
        None => s
            .i_list
            .iter()
            .filter_map(|&i| ev.entry(i * s.k0 + kk))
            .collect(),
    };
    // (detection, its rank in its group, its group's size)
    let mut cols: Vec<(usize, usize, usize)> = Vec::new();
    for &g in &groups {
        let (from, to) = (ev.dt_offsets[g], ev.dt_offsets[g + 1]);
        crate::alloc::reserve(&mut cols, to - from, "accumulated detections")?;
        cols.extend((from..to).map(|d| (d, d - from, to - from)));
    }
    let scores: Vec<f64> = cols.iter().map(|&(d, ..)| ev.scores[d]).collect();
    let sorted = by_score_desc(0..cols.len(), &scores);
    let orders = s
        .m_list
        .iter()
        .map(|&max_det| {
            sorted
                .iter()
                .map(|&o| cols[o])
                .filter(|&(_, rank, len)| rank < slice_end(len, max_det))
                .map(|(d, ..)| d)
                .collect()
        })
        .collect();
    Ok(CategoryOrder { groups, orders })
}

/// pycocotools' accumulation of category `k` (its [`CategoryOrder`] `c`), for every area
/// range, maxDet and threshold, written into `cells`.
fn accumulate_category(
    ev: &Evaluation,
    s: &AccumulateSpec<'_>,
    c: &CategoryOrder,
    cells: &Cells,
    k: usize,
) -> Result<()> {
    let [t_n, r_n, _, a_n, m_n] = s.dims;
    let filled = |n: usize| -> Result<Vec<f64>> {
        let mut v = crate::alloc::with_capacity(n, "accumulated precision")?;
        v.resize(n, -1.0);
        Ok(v)
    };
    // The category's cells: `[t][r][a][m]` and `[t][a][m]`.
    let mut out = Accumulated {
        precision: filled(t_n * r_n * a_n * m_n)?,
        recall: filled(t_n * a_n * m_n)?,
        scores: filled(t_n * r_n * a_n * m_n)?,
    };
    let t_run = t_n.min(ev.thresholds);
    // Per threshold, the true positives in order: (position, precision there).
    let most = c.orders.iter().map(Vec::len).max().unwrap_or(0);
    let mut tps: Vec<Vec<(usize, f64)>> = Vec::with_capacity(t_run);
    for _ in 0..t_run {
        tps.push(crate::alloc::with_capacity(
            most,
            "accumulated true positives",
        )?);
    }
    for a in 0..a_n {
        accumulate_area(ev, s, c, &mut tps, &mut out, a);
    }
    cells.put(k, &out);
    Ok(())
}

/// [`accumulate_category`] at area range `a` (index into `a_list`), into the category's
/// cells `out`, with `tps` as scratch.
fn accumulate_area(
    ev: &Evaluation,
    s: &AccumulateSpec<'_>,
    c: &CategoryOrder,
    tps: &mut [Vec<(usize, f64)>],
    out: &mut Accumulated,
    a: usize,
) {
    let [_, r_n, _, a_n, m_n] = s.dims;
    let (a_ev, t_ev) = (ev.areas, ev.thresholds);
    let a0 = s.a_list[a];
    let eps = f64::EPSILON; // np.spacing(1)
    let rising = s.rec_thrs.windows(2).all(|w| w[0] <= w[1]);
    let t_run = tps.len();
    let npig: usize = c
        .groups
        .iter()
        .map(|&g| ev.npig[g * a_ev + a0] as usize)
        .sum();
    if npig == 0 {
        return;
    }
    let npig = npig as f64;
    // Cell (t, r, m) of this area range, and (t, m) of recall.
    let cell = |t: usize, r: usize, m: usize| ((t * r_n + r) * a_n + a) * m_n + m;
    let recall_cell = |t: usize, m: usize| (t * a_n + a) * m_n + m;
    // Recall only rises at the true positives and precision only falls between them, so
    // the curve at the recall thresholds is read from them alone.
    for (m, order) in c.orders.iter().enumerate() {
        let nd = order.len();
        // The same order as an earlier maxDet's (most categories have no image with more
        // detections than the smaller maxDet): the same cells.
        if let Some(same) = (0..m).find(|&j| c.orders[j] == *order) {
            for t in 0..t_run {
                out.recall[recall_cell(t, m)] = out.recall[recall_cell(t, same)];
                for ri in 0..r_n {
                    out.precision[cell(t, ri, m)] = out.precision[cell(t, ri, same)];
                    out.scores[cell(t, ri, m)] = out.scores[cell(t, ri, same)];
                }
            }
            continue;
        }
        for list in tps.iter_mut() {
            list.clear();
        }
        // One pass over the detections for every threshold at once (pycocotools'
        // cumulative sums of true and false positives).
        let (mut tp, mut fp) = (vec![0.0f64; t_run], vec![0.0f64; t_run]);
        for (pos, &d) in order.iter().enumerate() {
            let at = (d * a_ev + a0) * t_ev;
            for (t, &outcome) in ev.outcome[at..at + t_run].iter().enumerate() {
                match outcome {
                    TRUE_POSITIVE => {
                        tp[t] += 1.0;
                        tps[t].push((pos, tp[t] / (fp[t] + tp[t] + eps)));
                    }
                    FALSE_POSITIVE => fp[t] += 1.0,
                    _ => {}
                }
            }
        }
        for (t, list) in tps.iter_mut().enumerate() {
            out.recall[recall_cell(t, m)] = if nd > 0 { tp[t] / npig } else { 0.0 };
            let score = |pos: usize| ev.scores[order[pos]];
            curve_at(list, nd, npig, &score, s.rec_thrs, rising, |ri, p, sc| {
                out.precision[cell(t, ri, m)] = p;
                out.scores[cell(t, ri, m)] = sc;
            });
        }
    }
}

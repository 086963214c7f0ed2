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
/// [`Error::ArgumentLength`] for `rec_thrs` not of length `R`, [`Error::OutOfMemory`].
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
        return Err(Error::ArgumentLength {
            what: "evaluated images x categories",
            expected: groups,
            actual: s.i0.saturating_mul(s.k0),
        });
    }
    for (what, len, want) in [
        ("recall thresholds", s.rec_thrs.len(), r_n),
        ("categories", s.k_list.len(), k_n),
        ("area ranges", s.a_list.len(), a_n),
        ("max detections", s.m_list.len(), m_n),
    ] {
        if len != want {
            return Err(Error::ArgumentLength {
                what,
                expected: want,
                actual: len,
            });
        }
    }
    let cells = cell_count(&[t_n, r_n, k_n, a_n, m_n])?;
    // (Each category's share, allocated by the workers, is then in range too.)
    cell_count(&[t_n, r_n, a_n, m_n])?;
    let filled = |n: usize| -> Result<Vec<f64>> {
        let mut v = crate::alloc::with_capacity(n, "accumulated precision")?;
        v.resize(n, -1.0);
        Ok(v)
    };
    let mut out = Accumulated {
        precision: filled(cells)?,
        recall: filled(cell_count(&[t_n, k_n, a_n, m_n])?)?,
        scores: filled(cells)?,
    };
    let work = ev.scores.len() * s.m_list.len() * ev.thresholds;
    // Categories side by side (each writes only its own cells).
    let parts = crate::pool::map_range(
        crate::pool::for_work(s.threads, work),
        s.k_list.len(),
        |k| accumulate_category(ev, s, k),
    );
    for (k, part) in parts.into_iter().enumerate() {
        let part = part?;
        for t in 0..t_n {
            for a in 0..a_n {
                for m in 0..m_n {
                    out.recall[((t * k_n + k) * a_n + a) * m_n + m] =
                        part.recall[(t * a_n + a) * m_n + m];
                    for r in 0..r_n {
                        let from = ((t * r_n + r) * a_n + a) * m_n + m;
                        let to = (((t * r_n + r) * k_n + k) * a_n + a) * m_n + m;
                        out.precision[to] = part.precision[from];
                        out.scores[to] = part.scores[from];
                    }
                }
            }
        }
    }
    Ok(out)
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

/// [`accumulate`] of the `k`-th category of `k_list`: its cells, `(T, R, A, M)` and
/// `(T, A, M)`.
fn accumulate_category(ev: &Evaluation, s: &AccumulateSpec<'_>, k: usize) -> Result<Accumulated> {
    let [t_n, r_n, _, a_n, m_n] = s.dims;
    let mut out = Accumulated {
        precision: crate::alloc::zeroed(t_n * r_n * a_n * m_n, "accumulated precision")?,
        recall: crate::alloc::zeroed(t_n * a_n * m_n, "accumulated recall")?,
        scores: crate::alloc::zeroed(t_n * r_n * a_n * m_n, "accumulated scores")?,
    };
    for v in [&mut out.precision, &mut out.recall, &mut out.scores] {
        v.fill(-1.0);
    }
    let (a_ev, t_ev) = (ev.areas, ev.thresholds);
    let kk = s.k_list[k];
    // The category's non-empty groups, as entries (empty ones add nothing).
    let groups: Vec<usize> = s
        .i_list
        .iter()
        .filter_map(|&i| ev.entry(i * s.k0 + kk))
        .collect();
    let eps = f64::EPSILON; // np.spacing(1)
                            // Every detection of the category, each image's in score order one after the other,
                            // then stably by score, highest first: (entry, detection) pairs. Sorted once: each
                            // maxDet's order is this one without the detections past it (pycocotools sorts
                            // each maxDet's concatenation, in which they keep their relative positions).
    let mut cols: Vec<(usize, usize)> = Vec::new();
    for &g in &groups {
        let d = ev.dt_offsets[g + 1] - ev.dt_offsets[g];
        crate::alloc::reserve(&mut cols, d, "accumulated detections")?;
        cols.extend((0..d).map(|c| (g, c)));
    }
    let all_scores: Vec<f64> = cols
        .iter()
        .map(|&(g, c)| ev.scores[ev.dt_offsets[g] + c])
        .collect();
    let sorted = by_score_desc(0..cols.len(), &all_scores);
    let mut rc = Vec::with_capacity(sorted.len());
    let mut pr = Vec::with_capacity(sorted.len());
    for (m, &max_det) in s.m_list.iter().enumerate() {
        let order: Vec<usize> = sorted
            .iter()
            .copied()
            .filter(|&o| {
                let g = cols[o].0;
                cols[o].1 < slice_end(ev.dt_offsets[g + 1] - ev.dt_offsets[g], max_det)
            })
            .collect();
        let nd = order.len();
        for (a, &a0) in s.a_list.iter().enumerate() {
            let npig: usize = groups
                .iter()
                .map(|&g| ev.npig[g * a_ev + a0] as usize)
                .sum();
            if npig == 0 {
                continue;
            }
            for t in 0..t_n.min(t_ev) {
                let (mut tp, mut fp) = (0.0f64, 0.0f64);
                rc.clear();
                pr.clear();
                for &o in &order {
                    let (g, c) = cols[o];
                    let (start, d) = (ev.dt_offsets[g], ev.dt_offsets[g + 1] - ev.dt_offsets[g]);
                    match ev.outcome[a_ev * t_ev * start + (a0 * t_ev + t) * d + c] {
                        TRUE_POSITIVE => tp += 1.0,
                        FALSE_POSITIVE => fp += 1.0,
                        _ => {}
                    }
                    rc.push(tp / npig as f64);
                    pr.push(tp / (fp + tp + eps));
                }
                out.recall[(t * a_n + a) * m_n + m] = if nd > 0 { rc[nd - 1] } else { 0.0 };
                for i in (1..nd).rev() {
                    if pr[i] > pr[i - 1] {
                        pr[i - 1] = pr[i];
                    }
                }
                for (ri, &thr) in s.rec_thrs.iter().enumerate() {
                    let at = ((t * r_n + ri) * a_n + a) * m_n + m;
                    // numpy's searchsorted puts NaN past every recall.
                    let pi = if thr.is_nan() {
                        nd
                    } else {
                        rc.partition_point(|&x| x < thr)
                    };
                    // pycocotools stops at the first threshold past the last recall.
                    if pi >= nd {
                        for rj in ri..r_n {
                            let at = ((t * r_n + rj) * a_n + a) * m_n + m;
                            out.precision[at] = 0.0;
                            out.scores[at] = 0.0;
                        }
                        break;
                    }
                    out.precision[at] = pr[pi];
                    out.scores[at] = all_scores[order[pi]];
                }
            }
        }
    }
    Ok(out)
}

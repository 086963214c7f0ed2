//! What [`super::evaluate`] keeps of a group, computed without pycocotools' per-entry
//! arrays: each detection's outcome (true positive, false positive, ignored) per area
//! range and threshold, and the count of ground truths not ignored per area range. The
//! same matching as [`super::coco_match`] (tested against each other through the
//! differential tests: `evalImgs` is built by the other path), with every buffer reused
//! from group to group.

use super::{
    best_match, by_score_desc, group_ious, Annotations, EvalParams, FALSE_POSITIVE, IGNORED,
    TRUE_POSITIVE,
};
use crate::error::Result;

/// Buffers reused across the groups of one thread.
#[derive(Default)]
pub(super) struct Scratch {
    runs: Vec<u32>,
    /// Per area range: its ground truths' ignore flags (`[a][g]`).
    ignore: Vec<bool>,
    order: Vec<usize>,
    /// Per detection, the ground truths it may match (`candidates[ends[d-1]..ends[d]]`).
    candidates: Vec<usize>,
    candidate_ends: Vec<usize>,
    taken: Vec<bool>,
    /// Per area range and threshold: each detection's match (`[a][t][d]`: the matched
    /// ground truth's id, 0 for none) and whether that one is ignored.
    matched: Vec<f64>,
    matched_ignored: Vec<bool>,
}

/// Group `k`'s detections (by score, cut to `max_det`) appended to `scores` and their
/// outcomes (`[d][a][t]`) to `outcome`, its counts of ground truths not ignored (`[a]`)
/// to `npig`; false for a group without ground truths and detections (nothing added).
///
/// # Errors
/// As [`super::evaluate`].
#[allow(clippy::too_many_arguments)]
pub(super) fn group_outcomes(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    k: usize,
    params: EvalParams<'_>,
    s: &mut Scratch,
    scores: &mut Vec<f64>,
    outcome: &mut Vec<u8>,
    npig: &mut Vec<u32>,
) -> Result<bool> {
    let (a_n, t_n) = (params.area_rng.len(), params.thresholds.len());
    let (g0, g) = (gt.offsets[k], gt.offsets[k + 1] - gt.offsets[k]);
    let d_all = dt.offsets[k + 1] - dt.offsets[k];
    if d_all == 0 && g == 0 {
        return Ok(false);
    }
    let mut dts = by_score_desc(dt.offsets[k]..dt.offsets[k + 1], &dt.score);
    dts.truncate(super::accumulate::slice_end(dts.len(), params.max_det));
    let d = dts.len();
    let gts: Vec<usize> = (g0..g0 + g).collect();
    let ious = if params.no_ious || d == 0 || g == 0 {
        Vec::new()
    } else {
        group_ious(gt, dt, &gts, &dts, params, &mut s.runs)?
    };
    crate::alloc::reserve(scores, d, "evaluation scores")?;
    scores.extend(dts.iter().map(|&i| dt.score[i]));
    let base = outcome.len();
    crate::alloc::reserve(outcome, d * a_n * t_n, "evaluation outcomes")?;
    outcome.resize(base + d * a_n * t_n, FALSE_POSITIVE);
    crate::alloc::reserve(npig, a_n, "evaluation counts")?;
    s.ignore.clear();
    for rng in params.area_rng {
        let outside = |area: f64| area < rng[0] || area > rng[1];
        s.ignore
            .extend((g0..g0 + g).map(|i| gt.ignore[i] || outside(gt.area[i])));
    }
    s.matched.clear();
    s.matched.resize(a_n * t_n * d, 0.0);
    s.matched_ignored.clear();
    s.matched_ignored.resize(a_n * t_n * d, false);
    for (a, rng) in params.area_rng.iter().enumerate() {
        let ignore = &s.ignore[a * g..(a + 1) * g];
        npig.push(u32::try_from(ignore.iter().filter(|&&x| !x).count()).unwrap_or(u32::MAX));
        // The matches depend on the area range only through the ignore flags: an earlier
        // range with the same flags (most groups have one or two ground truths, so two
        // patterns at most) has them already.
        let same = (0..a).find(|&b| s.ignore[b * g..(b + 1) * g] == *ignore);
        let source = match same {
            Some(b) => b,
            None if ious.is_empty() => a,
            None => {
                match_range(gt, dt, &gts, &dts, &ious, params.thresholds, a, s);
                a
            }
        };
        let outside = |area: f64| area < rng[0] || area > rng[1];
        for ti in 0..t_n {
            let at = (source * t_n + ti) * d;
            for di in 0..d {
                let matched = s.matched[at + di];
                let i = dts[di];
                let cell = if s.matched_ignored[at + di]
                    || (matched == 0.0 && (outside(dt.area[i]) || dt.ignore[i]))
                {
                    IGNORED
                } else if matched == 0.0 {
                    FALSE_POSITIVE
                } else {
                    TRUE_POSITIVE
                };
                outcome[base + (di * a_n + a) * t_n + ti] = cell;
            }
        }
    }
    Ok(true)
}

/// pycocotools' greedy matching of the detections `dts` (by score) to the ground truths
/// `gts` at every threshold, with the ignore flags of area range `a`, into `s.matched`
/// and `s.matched_ignored` at `[a][t]`.
#[allow(clippy::too_many_arguments)]
fn match_range(
    gt: &Annotations<'_>,
    dt: &Annotations<'_>,
    gts: &[usize],
    dts: &[usize],
    ious: &[f64],
    thresholds: &[f64],
    a: usize,
    s: &mut Scratch,
) {
    let (d, g, t_n) = (dts.len(), gts.len(), thresholds.len());
    let ignore = &s.ignore[a * g..(a + 1) * g];
    // Not ignored first, stably (numpy's mergesort of the 0/1 flags).
    s.order.clear();
    s.order.extend((0..g).filter(|&j| !ignore[j]));
    s.order.extend((0..g).filter(|&j| ignore[j]));
    // Each detection's candidates: the ground truths (in that order) whose IoU passes the
    // lowest threshold, usually none or one. The others are never chosen at any
    // threshold, and leaving them out moves no stop of `best_match` (the ignored ones all
    // come after the regular ones, so its stop at the first ignored one after a regular
    // choice leaves out only ignored ones either way).
    let lowest = thresholds
        .iter()
        .map(|&t| if t.is_nan() { t } else { t.min(1.0 - 1e-10) })
        .reduce(|x, y| {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else {
                x.min(y)
            }
        })
        .unwrap_or(f64::NAN);
    s.candidates.clear();
    s.candidate_ends.clear();
    for di in 0..d {
        let row = &ious[di * g..(di + 1) * g];
        // `best_match`'s own test (`row < best` skips), so NaNs pass as there.
        s.candidates.extend(
            s.order
                .iter()
                .copied()
                .filter(|&gi| row[gi].partial_cmp(&lowest) != Some(std::cmp::Ordering::Less)),
        );
        s.candidate_ends.push(s.candidates.len());
    }
    for (ti, &thr) in thresholds.iter().enumerate() {
        let at = (a * t_n + ti) * d;
        s.taken.clear();
        s.taken.resize(g, false);
        for di in 0..d {
            let row = &ious[di * g..(di + 1) * g];
            let from = if di == 0 { 0 } else { s.candidate_ends[di - 1] };
            let m = best_match(
                row,
                s.candidates[from..s.candidate_ends[di]].iter().copied(),
                thr,
                |gi| s.taken[gi],
                |gi| gt.crowd[gts[gi]],
                |gi| ignore[gi],
            );
            if let Some(m) = m {
                s.matched_ignored[at + di] = ignore[m];
                s.matched[at + di] = gt.ids[gts[m]];
                // pycocotools marks the ground truth with the detection's id and tests
                // `> 0`.
                if dt.ids[dts[di]] > 0.0 {
                    s.taken[m] = true;
                }
            }
        }
    }
}

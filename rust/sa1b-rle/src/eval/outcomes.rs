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
    ignore: Vec<bool>,
    order: Vec<usize>,
    taken: Vec<bool>,
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
    let gts: Vec<usize> = (gt.offsets[k]..gt.offsets[k + 1]).collect();
    let mut dts = by_score_desc(dt.offsets[k]..dt.offsets[k + 1], &dt.score);
    dts.truncate(super::accumulate::slice_end(dts.len(), params.max_det));
    let (d, g) = (dts.len(), gts.len());
    if d == 0 && g == 0 {
        return Ok(false);
    }
    let ious = if params.no_ious || d == 0 || g == 0 {
        Vec::new()
    } else {
        group_ious(gt, dt, &gts, &dts, params.sigmas, &mut s.runs)?
    };
    crate::alloc::reserve(scores, d, "evaluation scores")?;
    scores.extend(dts.iter().map(|&i| dt.score[i]));
    let base = outcome.len();
    crate::alloc::reserve(outcome, d * a_n * t_n, "evaluation outcomes")?;
    outcome.resize(base + d * a_n * t_n, FALSE_POSITIVE);
    crate::alloc::reserve(npig, a_n, "evaluation counts")?;
    for (a, rng) in params.area_rng.iter().enumerate() {
        let outside = |area: f64| area < rng[0] || area > rng[1];
        s.ignore.clear();
        s.ignore
            .extend(gts.iter().map(|&i| gt.ignore[i] || outside(gt.area[i])));
        // Not ignored first, stably (numpy's mergesort of the 0/1 flags).
        s.order.clear();
        s.order.extend((0..g).filter(|&j| !s.ignore[j]));
        let kept = s.order.len();
        s.order.extend((0..g).filter(|&j| s.ignore[j]));
        npig.push(u32::try_from(kept).unwrap_or(u32::MAX));
        for (ti, &thr) in params.thresholds.iter().enumerate() {
            s.matched.clear();
            s.matched.resize(d, 0.0);
            s.matched_ignored.clear();
            s.matched_ignored.resize(d, false);
            if !ious.is_empty() {
                s.taken.clear();
                s.taken.resize(g, false);
                for di in 0..d {
                    let row = &ious[di * g..(di + 1) * g];
                    let m = best_match(
                        row,
                        s.order.iter().copied(),
                        thr,
                        |gi| s.taken[gi],
                        |gi| gt.crowd[gts[gi]],
                        |gi| s.ignore[gi],
                    );
                    if let Some(m) = m {
                        s.matched_ignored[di] = s.ignore[m];
                        s.matched[di] = gt.ids[gts[m]];
                        // pycocotools marks the ground truth with the detection's id and
                        // tests `> 0`.
                        if dt.ids[dts[di]] > 0.0 {
                            s.taken[m] = true;
                        }
                    }
                }
            }
            for di in 0..d {
                let matched = s.matched[di];
                let cell = if s.matched_ignored[di] || (matched == 0.0 && outside(dt.area[dts[di]]))
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
